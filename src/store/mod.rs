//! All SQL lives under `store/`: one `Store` with one method per use case, on SQLite or
//! PostgreSQL through sqlx's `Any` driver (so each query is written once), plus the
//! migrations runner. Times are epoch milliseconds; booleans are 0/1.

pub mod audit;
pub mod backup;
pub mod backup_drills;
pub mod backup_runs;
pub mod cache;
pub mod cloud;
pub mod contract;
pub mod db;
pub mod demo;
pub mod desk;
pub mod entities;
pub mod homes;
pub mod inspect;
pub mod inventory;
pub mod lane;
pub mod lease;
pub mod lite;
pub mod monitor;
pub mod notify;
pub mod operations;
pub mod reports;
pub mod requirements;
pub mod screen;
pub mod search;
pub mod snapshot;
pub mod sql;
pub mod team;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use lane::{Conn, Tx};

use crate::domain::FieldError;

/// Which database a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names by its scheme; any other scheme is refused,
    /// naming the setting.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(format!(
                "YUNWEI_DATABASE_URL: unsupported scheme '{scheme}'; use sqlite:// or postgres://"
            ))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Backend(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Reads a missing row as `None` while keeping every other error: an existence check
/// must never take a failing query for "not found".
pub trait Optional<T> {
    fn optional(self) -> StoreResult<Option<T>>;
}

impl<T> Optional<T> for StoreResult<T> {
    fn optional(self) -> StoreResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Who is making a change, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system(what: &str) -> Self {
        Actor {
            user_id: None,
            name: format!("system:{what}"),
            ip: None,
        }
    }
}

/// The SLA policies and when they were read.
pub(crate) type CachedPolicies = (std::time::Instant, std::sync::Arc<desk::PolicySet>);

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's single writer (`lane`); `None` on PostgreSQL.
    lane: Option<std::sync::Arc<lane::Lane>>,
    /// When this process last recorded each API token's use.
    pub(crate) token_touches: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, i64>>>,
    /// SLA policies and the round-the-clock calendar's id, with the time they were read.
    pub(crate) policy_cache: std::sync::Arc<std::sync::Mutex<Option<CachedPolicies>>>,
    /// Read caches, bounded in bytes and by age (`cache::Caches`).
    pub(crate) caches: std::sync::Arc<cache::Caches>,
}

/// How long a request waits for a connection (or for SQLite's writer) before it is
/// answered 503 with `Retry-After`.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// What opening the database needs; `config::Config` converts into it, so
/// `Store::connect(&config)` reads the settings without the store depending on `config`.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `sqlite:…` or `postgres://…`.
    pub url: String,
    /// Created when the database is a SQLite file.
    pub data_dir: std::path::PathBuf,
    pub max_connections: u32,
    /// SQLite's `synchronous` on the writer connection (`FULL` or `NORMAL`).
    pub sqlite_synchronous: &'static str,
    /// Extra CA certificates for PostgreSQL over TLS (`crate::tls`).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Memory all read caches together may hold, in bytes.
    pub cache_max_bytes: usize,
}

/// Hides the password in `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
        && let Some((user, _)) = auth.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// The value of the setting `$1`.
const SETTING: &str = "SELECT value FROM settings WHERE key = $1";

impl Store {
    /// Opens the database named by the options (creating the SQLite file and data
    /// directory if needed) and runs the migrations.
    pub async fn connect(options: impl Into<ConnectOptions>) -> anyhow::Result<Store> {
        use anyhow::Context;
        let config: ConnectOptions = options.into();
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&config.url).map_err(anyhow::Error::msg)?;
        let mut url = config.url.clone();
        if backend == Backend::Sqlite {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        // PostgreSQL over TLS trusts the system roots plus `tls_ca_file` (`crate::tls`).
        let url = crate::tls::database_url(&url, config.tls_ca_file.as_deref());
        let opts = AnyConnectOptions::from_str(&url).context("invalid database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(1)
            // An SQLite reader keeps a page cache of its own (up to 2 MiB): close the ones a
            // burst opened once it is over. Reopening one costs a file open.
            .idle_timeout(match backend {
                Backend::Sqlite => Duration::from_secs(15),
                Backend::Postgres => Duration::from_secs(600),
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts.clone())
            .await
            .with_context(|| format!("cannot connect to {}", redact_url(&url)))?;
        let mut store = Store {
            pool,
            backend,
            lane: None,
            policy_cache: Default::default(),
            token_touches: Default::default(),
            caches: std::sync::Arc::new(cache::Caches::new(config.cache_max_bytes)),
        };
        store.migrate().await?;
        if backend == Backend::Sqlite {
            let sync = config.sqlite_synchronous;
            // temp_store = MEMORY: every write is a savepoint inside the group's transaction,
            // and SQLite keeps the pages a savepoint changes in a sub-journal so it can roll
            // back to it. Past 64 KiB that journal went to a temporary file, one pwrite per
            // page, which was most of the writer's system time (perf, docs/PERFORMANCE.md).
            // In memory it holds one write's changed pages at most: it is emptied when the
            // write's savepoint is released.
            store.lane = Some(
                lane::Lane::open(
                    &opts,
                    format!(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = {sync}; \
                         PRAGMA temp_store = MEMORY;"
                    ),
                    ACQUIRE_TIMEOUT,
                )
                .await
                .context("cannot open the SQLite writer connection")?,
            );
        }
        Ok(store)
    }

    /// The newest migration this build has for a backend (the schema a restore needs).
    pub fn latest_migration(backend: Backend) -> i64 {
        let m = match backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        m.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        use anyhow::Context;
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        m.run(self.pool())
            .await
            .context("database migration failed")?;
        Ok(())
    }

    /// The current row version of a table (bumped by triggers on every write).
    pub async fn row_version(&self, table: &str) -> StoreResult<i64> {
        Ok(db::maybe_value(
            self.pool(),
            "SELECT version FROM row_versions WHERE name = $1",
            table.to_string(),
        )
        .await?
        .unwrap_or(-1))
    }

    /// A cached ticket page for `key` built at `version`, if any and younger than
    /// `cache::PAGE_TTL`.
    pub fn cached_page(
        &self,
        key: &str,
        version: i64,
    ) -> Option<std::sync::Arc<Vec<desk::TicketRow>>> {
        let c = &self.caches;
        c.pages
            .get(key, c.now_ms())
            .filter(|(v, _)| *v == version && version >= 0)
            .map(|(_, rows)| rows)
    }

    pub fn cache_page(
        &self,
        key: String,
        version: i64,
        rows: std::sync::Arc<Vec<desk::TicketRow>>,
    ) {
        let c = &self.caches;
        c.pages.insert(key, (version, rows), c.now_ms());
    }

    /// The lock that lets one request at a time rebuild the page `key`.
    pub fn page_gate(&self, key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.caches.page_gate(key)
    }

    /// A cached total for `key` at `version`, if any.
    pub fn cached_count(&self, key: &str, version: i64) -> Option<i64> {
        let c = &self.caches;
        c.counts
            .get(key, c.now_ms())
            .filter(|(v, _)| *v == version && version >= 0)
            .map(|(_, n)| n)
    }

    pub fn cache_count(&self, key: String, version: i64, n: i64) {
        let c = &self.caches;
        c.counts.insert(key, (version, n), c.now_ms());
    }

    /// Drops expired entries from every cache; `clock_now_ms` is the application clock.
    pub fn sweep_caches(&self, clock_now_ms: i64) {
        self.caches.sweep(clock_now_ms);
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for reads and for work that holds no write transaction.
    ///
    /// A task that holds a [`Tx`] must do everything on it: reading through the pool then
    /// needs a second connection, and on PostgreSQL a burst of such requests starves the
    /// pool. Tests (debug builds) panic on it; release builds log it.
    pub fn pool(&self) -> &AnyPool {
        if lane::held() > 0 {
            debug_assert!(
                false,
                "pool used while this task holds a write transaction: use the transaction"
            );
            tracing::error!("pool used while this task holds a write transaction");
        }
        &self.pool
    }

    /// Begins a write transaction: on PostgreSQL an ordinary transaction on one pooled
    /// connection; on SQLite a savepoint on the single writer (`lane`), committed with
    /// the writers queued with it.
    pub async fn write_tx(&self) -> StoreResult<Tx> {
        match &self.lane {
            Some(l) => l.begin().await,
            None if self.backend == Backend::Postgres => {
                Tx::postgres(self.pool().acquire().await?).await
            }
            None => Ok(Tx::pool(self.pool().begin().await?)),
        }
    }

    /// SQLite's writer: (group commits, writes they acknowledged); `None` on PostgreSQL.
    pub fn writer_stats(&self) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        self.lane
            .as_ref()
            .map(|l| (l.stats.commits.load(Relaxed), l.stats.writers.load(Relaxed)))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(self.pool()).await.is_ok()
    }

    pub async fn close(&self) {
        if let Some(l) = &self.lane {
            l.flush_now().await;
        }
        self.pool.close().await;
    }

    pub async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        db::maybe_value(self.pool(), SETTING, key).await
    }

    pub async fn set_setting(&self, key: &str, value: &str, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        self.put_setting_in(&mut tx, key, value, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A setting's value and when it was last set.
    pub async fn setting_row(&self, key: &str) -> StoreResult<Option<(String, i64)>> {
        db::maybe(
            self.pool(),
            "SELECT value, updated_at FROM settings WHERE key = $1",
            key.to_string(),
        )
        .await
    }

    pub async fn setting_in(&self, tx: &mut Tx, key: &str) -> StoreResult<Option<String>> {
        db::maybe_value(&mut **tx, SETTING, key).await
    }

    pub async fn put_setting_in(
        &self,
        tx: &mut Tx,
        key: &str,
        value: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key.to_string(), value.to_string(), now_ms),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_setting_in(&self, tx: &mut Tx, key: &str) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "DELETE FROM settings WHERE key = $1",
            key.to_string(),
        )
        .await?;
        Ok(())
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(q: &str) -> String {
    let mut s = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Whether a database error is a uniqueness violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Whether a database error is a foreign-key violation.
pub fn is_fk_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_foreign_key_violation() || d.message().contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}
