//! Write transactions.
//!
//! A write request does all its work — validation reads, the rows it writes, SLA clocks,
//! timeline, audit, outbox — on one [`Tx`], and nothing else.
//!
//! - **PostgreSQL:** a `Tx` is a transaction on one pooled connection ([`Tx::postgres`]).
//!   It commits without waiting for the WAL flush (`synchronous_commit = off` for this
//!   transaction only), which releases its row locks at once, and then waits for the flush
//!   with a second, empty transaction that does wait (`SELECT txid_current()`) in the same
//!   round trip. `commit()` returns after that, so an acknowledged write is durable. Why:
//!   every write takes a few rows every other write takes too (the audit chain's head, the
//!   day's ticket counter, the tickets' row version) and holds them until its commit; had
//!   it held them through its own fsync, writes would run one fsync at a time. The empty
//!   transactions of concurrent writers share their fsyncs (PostgreSQL's group commit).
//!   Other sessions may see a write a moment before it is durable; a crash in that moment
//!   loses a write nobody was told had succeeded.
//! - **SQLite:** one process-wide writer connection, the *lane*, carries every write.
//!   Writers queue for it in FIFO order instead of fighting over SQLite's lock with
//!   busy-waits. Each `Tx` is a savepoint inside a shared outer transaction (the first
//!   writer of a group needs none: its work is the group's so far), and the
//!   writers queued together share one `COMMIT` (group commit). A writer's `commit()`
//!   returns only after the `COMMIT` that contains its savepoint has succeeded, so an
//!   acknowledged write is as durable as `synchronous` makes it; a writer whose work
//!   fails rolls back to its savepoint and takes nobody else's work with it. The lane's
//!   statements run on the writer's own task ([`LiteConn`]), not on a thread of sqlx's.
//!
//! While a request or job holds a `Tx`, reading through the pool is a bug (on PostgreSQL
//! it needs a second connection, and sixteen such requests starve a pool of sixteen).
//! [`Store::pool`](super::Store::pool) refuses it: the current task's open transactions
//! are counted in a task-local that the HTTP layer and the job runner set up.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::any::{AnyConnectOptions, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AssertSqlSafe, Execute, Executor, Transaction};
use sqlx_core::Either;
use sqlx_core::describe::Describe;
use sqlx_core::sql_str::SqlStr;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

use super::lite::LiteConn;
use super::{StoreError, StoreResult};

tokio::task_local! {
    /// How many write transactions the current task holds.
    static TX_DEPTH: Cell<u32>;
}

/// Runs `f` with the open-transaction count that [`Store::pool`](super::Store::pool)
/// checks. Requests and jobs run inside one.
pub async fn tracked<F: std::future::Future>(f: F) -> F::Output {
    TX_DEPTH.scope(Cell::new(0), f).await
}

/// How many write transactions the current task holds (0 outside [`tracked`]).
pub fn held() -> u32 {
    TX_DEPTH.try_with(|d| d.get()).unwrap_or(0)
}

/// Counts one open transaction in the current task while it lives.
struct Held;

impl Held {
    fn new() -> Held {
        let _ = TX_DEPTH.try_with(|d| d.set(d.get() + 1));
        Held
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = TX_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A write transaction: dereferences to the connection its statements run on.
pub struct Tx {
    /// `None` once committed.
    conn: Option<Conn>,
    /// PostgreSQL (see the module's notes): the statements held for the commit's round
    /// trip ([`Tx::run_at_commit`]), `;`-separated. Empty elsewhere.
    at_commit: String,
    _held: Held,
}

/// How long a new write group waits for SQLite's write lock when another connection holds
/// it (as long as the pool's readers wait: their `busy_timeout`).
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// How many bytes of statements a transaction holds for its commit before it runs those
/// it holds at once (a bulk job that audits every row should not build a statement of
/// megabytes).
const AT_COMMIT_MAX: usize = 256 * 1024;

/// The connection a write transaction's statements run on: `&mut **tx` in a store
/// function. An executor like sqlx's connections, over sqlx's `Any` types on either
/// database.
pub struct Conn(ConnKind);

enum ConnKind {
    /// An ordinary sqlx transaction.
    Pool(Transaction<'static, Any>),
    /// A pooled connection: a PostgreSQL write transaction in a [`Tx`], a read elsewhere.
    Pooled(PoolConnection<Any>),
    /// The SQLite writer, held: its statements run on the calling thread
    /// ([`LiteConn`]).
    Lane(OwnedMutexGuard<LaneState>, Arc<Lane>),
}

/// A connection of the pool, for a read that calls the same `*_in` function a write does.
impl From<PoolConnection<Any>> for Conn {
    fn from(c: PoolConnection<Any>) -> Conn {
        Conn(ConnKind::Pooled(c))
    }
}

/// Where a [`Conn`]'s statements go.
enum Target<'c> {
    Sqlx(&'c mut sqlx::AnyConnection),
    Lite(&'c mut LiteConn),
}

impl Conn {
    fn target(&mut self) -> Target<'_> {
        match &mut self.0 {
            ConnKind::Pool(t) => Target::Sqlx(t),
            ConnKind::Pooled(c) => Target::Sqlx(c),
            ConnKind::Lane(g, _) => Target::Lite(&mut g.conn),
        }
    }

    /// The database's name as sqlx gives it (`"PostgreSQL"`, `"SQLite"`).
    pub fn backend_name(&self) -> &str {
        match &self.0 {
            ConnKind::Pool(t) => t.backend_name(),
            ConnKind::Pooled(c) => c.backend_name(),
            ConnKind::Lane(..) => "SQLite",
        }
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Conn").field(&self.backend_name()).finish()
    }
}

impl<'c> Executor<'c> for &'c mut Conn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.target() {
            Target::Sqlx(c) => c.fetch_many(query),
            Target::Lite(c) => c.fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self.target() {
            Target::Sqlx(c) => c.fetch_optional(query),
            Target::Lite(c) => c.fetch_optional(query),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.target() {
            Target::Sqlx(c) => c.prepare_with(sql, parameters),
            Target::Lite(c) => c.prepare_with(sql, parameters),
        }
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.target() {
            Target::Sqlx(c) => c.describe(sql),
            Target::Lite(c) => c.describe(sql),
        }
    }
}

impl Tx {
    pub(crate) fn pool(t: Transaction<'static, Any>) -> Tx {
        Tx {
            conn: Some(Conn(ConnKind::Pool(t))),
            at_commit: String::new(),
            _held: Held::new(),
        }
    }

    /// Begins a PostgreSQL write transaction on `conn` (see the module's notes).
    pub(crate) async fn postgres(mut conn: PoolConnection<Any>) -> StoreResult<Tx> {
        if let Err(e) = sqlx::raw_sql("BEGIN; SET LOCAL synchronous_commit = off")
            .execute(&mut *conn)
            .await
        {
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(Tx {
            conn: Some(Conn(ConnKind::Pooled(conn))),
            at_commit: String::new(),
            _held: Held::new(),
        })
    }

    /// Runs `sql`, statements without parameters (literals from
    /// [`pg_lit`](super::sql::pg_lit)), as late as possible. On PostgreSQL that is in the
    /// commit's own round trip, just before `COMMIT`: the rows it locks (the audit chain's
    /// head, the day's ticket counter) are then held from the statement to the commit
    /// without a round trip to this process in between, whose next turn on a busy machine
    /// may be milliseconds away while every other writer waits. A failure there fails the
    /// commit. Elsewhere (SQLite, one writer) it runs now.
    pub async fn run_at_commit(&mut self, sql: String) -> StoreResult<()> {
        if let Some(Conn(ConnKind::Pooled(conn))) = &mut self.conn {
            let held = &mut self.at_commit;
            // Past the limit, what is held so far runs now, in order; the new statement is
            // held, so that the last one (a ticket's number draw) still answers the commit.
            if !held.is_empty() && held.len() + sql.len() > AT_COMMIT_MAX {
                sqlx::raw_sql(AssertSqlSafe(std::mem::take(held)))
                    .execute(&mut **conn)
                    .await?;
            }
            if !held.is_empty() {
                held.push_str("; ");
            }
            held.push_str(&sql);
            return Ok(());
        }
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    /// Commits and answers the text column `column` of the first row that a statement
    /// held by [`Tx::run_at_commit`] returned with one (on SQLite, where those statements
    /// ran at once, there is none: `None`).
    pub async fn commit_returning(mut self, column: &str) -> StoreResult<Option<String>> {
        if matches!(self.conn, Some(Conn(ConnKind::Pooled(_))))
            && let Some(Conn(ConnKind::Pooled(conn))) = self.conn.take()
        {
            let rows = commit_postgres(conn, std::mem::take(&mut self.at_commit)).await?;
            return Ok(rows.iter().find_map(|r| {
                use sqlx::Row;
                r.try_get::<String, _>(column).ok()
            }));
        }
        self.commit().await.map(|()| None)
    }

    /// Commits. On the SQLite lane this returns once the group commit that contains this
    /// transaction is durable, or with the error that made it fail.
    pub async fn commit(mut self) -> StoreResult<()> {
        let Some(Conn(conn)) = self.conn.take() else {
            return Ok(());
        };
        match conn {
            ConnKind::Pool(t) => {
                t.commit().await?;
                Ok(())
            }
            ConnKind::Pooled(conn) => commit_postgres(conn, std::mem::take(&mut self.at_commit))
                .await
                .map(|_| ()),
            ConnKind::Lane(mut g, lane) => {
                if lane.waiting.load(Ordering::SeqCst) == 0 || g.members + 1 >= lane.max_group {
                    // Nobody queued behind: release and commit in one call (either failing
                    // fails the whole group, as apart). In a task of its own, so that it
                    // runs to the end even when this future is dropped (a client that went
                    // away): had it stopped after SQLite committed but before the state
                    // said so, the next writer's commit would fail and report the group's
                    // committed writes as failed.
                    let sql = if g.savepoint {
                        "RELEASE w; COMMIT"
                    } else {
                        "COMMIT"
                    };
                    let done = tokio::spawn(async move {
                        g.dirty = false;
                        g.members += 1;
                        g.commit_group(sql).await
                    });
                    return done.await.unwrap_or_else(|e| {
                        Err(StoreError::Other(anyhow::anyhow!(
                            "the commit stopped: {e}"
                        )))
                    });
                }
                if g.savepoint
                    && let Err(e) = g.conn.execute("RELEASE w").await
                {
                    // The savepoint is gone (SQLite rolled the whole transaction back on
                    // an I/O error, say): the group fails and nobody is acknowledged.
                    g.abort(&e.to_string()).await;
                    return Err(e.into());
                }
                g.dirty = false;
                g.members += 1;
                // Others are queued: the last of them (or the flusher behind them) commits.
                let (tx, rx) = oneshot::channel();
                g.pending.push(tx);
                drop(g);
                lane.flush.notify_one();
                match rx.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(m)) => Err(StoreError::Other(anyhow::anyhow!(m))),
                    Err(_) => Err(StoreError::Other(anyhow::anyhow!(
                        "the writer stopped before committing"
                    ))),
                }
            }
        }
    }
}

/// Commits a PostgreSQL transaction on `conn` in one round trip: the statements `held` for
/// the commit, then `COMMIT`, which does not wait for the flush, then an empty transaction
/// that does (its commit record follows ours in the WAL). Answers the rows the statements
/// returned; on an error the connection is closed, which rolls the transaction back.
async fn commit_postgres(
    mut conn: PoolConnection<Any>,
    held: String,
) -> StoreResult<Vec<sqlx::any::AnyRow>> {
    let sql = if held.is_empty() {
        "COMMIT; SELECT txid_current()".to_string()
    } else {
        format!("{held}; COMMIT; SELECT txid_current()")
    };
    match sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
    {
        Ok(rows) => Ok(rows),
        Err(e) => {
            conn.close_on_drop();
            Err(e.into())
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        match self.conn.take().map(|c| c.0) {
            // A PostgreSQL transaction dropped without commit is rolled back before its
            // connection goes back to the pool (or the connection is closed, which rolls it
            // back too).
            Some(ConnKind::Pooled(mut conn)) => match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(async move {
                        if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
                            conn.close_on_drop();
                        }
                    });
                }
                Err(_) => conn.close_on_drop(),
            },
            // A lane transaction dropped without commit leaves its savepoint marked dirty;
            // the next writer or the flusher rolls it back before anything else runs.
            Some(ConnKind::Lane(g, lane)) => {
                drop(g);
                lane.flush.notify_one();
            }
            // sqlx rolls its own transaction back when dropped.
            Some(ConnKind::Pool(t)) => drop(t),
            None => {}
        }
    }
}

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match &self.conn {
            Some(c) => c,
            None => unreachable!("a finished transaction is not reachable"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("a finished transaction is not reachable"),
        }
    }
}

/// The SQLite writer.
pub(crate) struct Lane {
    state: Arc<Mutex<LaneState>>,
    /// Writers queued for the lane (counted before they queue, uncounted once they hold
    /// it or give up).
    waiting: AtomicUsize,
    /// Wakes the flusher, which commits a group whose last member left it open.
    flush: Notify,
    max_group: usize,
    acquire_timeout: Duration,
    /// Group commits made, and writers acknowledged by them.
    pub(crate) stats: Arc<LaneStats>,
}

/// What the writer has done since it opened.
#[derive(Debug, Default)]
pub struct LaneStats {
    pub commits: std::sync::atomic::AtomicU64,
    pub writers: std::sync::atomic::AtomicU64,
}

pub(crate) struct LaneState {
    conn: LiteConn,
    /// An outer transaction is open.
    outer: bool,
    /// The member holding the lane has not finished (or went away without finishing).
    dirty: bool,
    /// The member holding the lane works in a savepoint of its own. The first member of a
    /// group has none: the group holds nothing else yet, so undoing its work is rolling
    /// the group back, and SQLite does not copy every page it changes to a sub-journal.
    savepoint: bool,
    /// Members released into the open outer transaction.
    members: usize,
    /// Members waiting for the group's commit.
    pending: Vec<oneshot::Sender<Result<(), String>>>,
    stats: Arc<LaneStats>,
}

impl LaneState {
    /// Runs `sql` (a `COMMIT`, possibly after the last member's `RELEASE`) and tells
    /// everyone waiting on the group how it went.
    async fn commit_group(&mut self, sql: &'static str) -> StoreResult<()> {
        let r = self.conn.execute(sql).await;
        self.outer = false;
        let members = self.members as u64;
        self.members = 0;
        match r {
            Ok(_) => {
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.writers.fetch_add(members, Ordering::Relaxed);
                for p in self.pending.drain(..) {
                    let _ = p.send(Ok(()));
                }
                Ok(())
            }
            Err(e) => {
                let msg = format!("group commit failed: {e}");
                let _ = self.conn.execute("ROLLBACK").await;
                for p in self.pending.drain(..) {
                    let _ = p.send(Err(msg.clone()));
                }
                Err(e.into())
            }
        }
    }

    /// Rolls the whole group back and fails everyone waiting on it.
    async fn abort(&mut self, why: &str) {
        if self.outer {
            let _ = self.conn.execute("ROLLBACK").await;
        }
        self.outer = false;
        self.members = 0;
        self.dirty = false;
        let msg = format!("write group rolled back: {why}");
        for p in self.pending.drain(..) {
            let _ = p.send(Err(msg.clone()));
        }
    }

    /// Undoes the work a departed writer left unfinished.
    async fn recover(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if !self.savepoint {
            // The group's first member: the group is its work alone.
            self.abort("the writer went away").await;
            return;
        }
        let r = match self.conn.execute("ROLLBACK TO w").await {
            Ok(_) => self.conn.execute("RELEASE w").await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            self.abort(&e.to_string()).await;
        }
    }
}

struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Lane {
    /// Opens the writer connection with `pragmas` and starts its flusher.
    pub(crate) async fn open(
        opts: &AnyConnectOptions,
        pragmas: String,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Arc<Lane>> {
        // The file sqlx would open for these options, opened by the writer's own
        // connection (see `super::lite`).
        let file = <sqlx::sqlite::SqliteConnectOptions as sqlx::ConnectOptions>::from_url(
            &opts.database_url,
        )?
        .get_filename()
        .to_path_buf();
        let mut conn = LiteConn::open(&file, &pragmas)?;
        // The writer's statements run on the async threads: none may wait there for a lock
        // (see `begin`).
        conn.no_wait()?;
        let stats = Arc::new(LaneStats::default());
        let lane = Arc::new(Lane {
            state: Arc::new(Mutex::new(LaneState {
                conn,
                outer: false,
                dirty: false,
                savepoint: false,
                members: 0,
                pending: Vec::new(),
                stats: stats.clone(),
            })),
            stats,
            waiting: AtomicUsize::new(0),
            flush: Notify::new(),
            max_group: 64,
            acquire_timeout,
        });
        let weak = Arc::downgrade(&lane);
        tokio::spawn(async move {
            loop {
                let Some(l) = weak.upgrade() else { return };
                // Wake at least every second so the task notices when the lane is gone.
                let _ = tokio::time::timeout(Duration::from_secs(1), l.flush.notified()).await;
                let mut g = l.state.clone().lock_owned().await;
                g.recover().await;
                if g.outer {
                    let _ = g.commit_group("COMMIT").await;
                }
            }
        });
        Ok(lane)
    }

    /// Queues for the writer and opens a savepoint on it.
    pub(crate) async fn begin(self: &Arc<Self>) -> StoreResult<Tx> {
        if held() > 0 {
            // The lane is held by this very task: waiting for it would never end.
            debug_assert!(false, "nested write transaction on the SQLite lane");
            return Err(StoreError::Other(anyhow::anyhow!(
                "a write transaction was opened while this task already holds one"
            )));
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let queued = Queued(&self.waiting);
        let got = tokio::time::timeout(self.acquire_timeout, self.state.clone().lock_owned()).await;
        drop(queued);
        let mut g = got.map_err(|_| StoreError::Backend(sqlx::Error::PoolTimedOut))?;
        g.recover().await;
        // A savepoint when the group holds others' work; the group's transaction alone
        // when this writer opens it.
        let (sql, opens) = if g.outer {
            ("SAVEPOINT w", false)
        } else {
            ("BEGIN IMMEDIATE", true)
        };
        let mut r = g.conn.execute(sql).await.map(|_| ());
        if opens && r.as_ref().is_err_and(LiteConn::is_busy) {
            // Another connection holds SQLite's write lock (another process: the CLI, a
            // restore). The writer does not wait for it on this thread, which serves other
            // requests too: a blocking thread waits, up to `BUSY_WAIT`.
            let waited = tokio::task::spawn_blocking(move || {
                let r = g.conn.run_waiting(sql, BUSY_WAIT);
                (g, r)
            })
            .await;
            match waited {
                Ok((back, again)) => {
                    g = back;
                    r = again;
                }
                Err(e) => {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "waiting for SQLite's write lock stopped: {e}"
                    )));
                }
            }
        }
        if let Err(e) = r {
            g.abort(&e.to_string()).await;
            return Err(e.into());
        }
        g.outer = true;
        g.dirty = true;
        g.savepoint = !opens;
        Ok(Tx {
            conn: Some(Conn(ConnKind::Lane(g, self.clone()))),
            at_commit: String::new(),
            _held: Held::new(),
        })
    }

    /// Commits whatever group is open (at shutdown).
    pub(crate) async fn flush_now(&self) {
        let mut g = self.state.clone().lock_owned().await;
        g.recover().await;
        if g.outer {
            let _ = g.commit_group("COMMIT").await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::ConnectOptions;

    use super::*;

    async fn lane(dir: &std::path::Path) -> (Arc<Lane>, String) {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let opts = AnyConnectOptions::from_str(&url).unwrap();
        let lane = Lane::open(
            &opts,
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;".into(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let mut tx = lane.begin().await.unwrap();
        tx.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (lane, url)
    }

    async fn rows(url: &str) -> Vec<i64> {
        let mut c = AnyConnectOptions::from_str(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut c)
            .await
            .unwrap()
    }

    /// Writes the row `n` on `tx`.
    async fn insert(tx: &mut Tx, n: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(&mut **tx)
            .await
            .map(|_| ())
    }

    /// A commit whose caller goes away after its first poll (a client that disconnects)
    /// still finishes, and the next writer commits normally: both rows are there and
    /// nobody is told a committed write failed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_dropped_midway_finishes_and_the_next_writer_is_unaffected() {
        use std::future::Future;
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut tx = lane.begin().await.unwrap();
        insert(&mut tx, 1).await.unwrap();
        let mut commit = Box::pin(tx.commit());
        let first =
            std::future::poll_fn(|cx| std::task::Poll::Ready(commit.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "the commit waits for the database");
        // The database has committed by now; the caller never hears of it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(commit);
        let mut tx = lane.begin().await.unwrap();
        insert(&mut tx, 2).await.unwrap();
        tx.commit().await.expect("the next writer commits");
        assert_eq!(rows(&url).await, vec![1, 2]);
    }

    /// Sixty-four writers at once: the odd ones fail after writing, the even ones commit.
    /// Every acknowledged row is there (read through another connection, so committed),
    /// no failed writer's row is, and the writers shared commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writers_share_commits_and_a_failing_one_takes_nobody_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut tasks = Vec::new();
        for n in 0..64i64 {
            let lane = lane.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = lane.begin().await?;
                insert(&mut tx, n).await?;
                tokio::task::yield_now().await;
                if n % 2 == 1 {
                    // Dropped without commit: rolled back to its savepoint.
                    return Ok::<_, StoreError>(None);
                }
                tx.commit().await?;
                Ok(Some(n))
            }));
        }
        let mut acked = Vec::new();
        for t in tasks {
            if let Some(n) = t.await.unwrap().unwrap() {
                acked.push(n);
            }
        }
        acked.sort_unstable();
        assert_eq!(acked, (0..64).step_by(2).collect::<Vec<_>>());
        assert_eq!(rows(&url).await, acked);
        let commits = lane.stats.commits.load(Ordering::Relaxed);
        let writers = lane.stats.writers.load(Ordering::Relaxed);
        assert_eq!(writers, 33, "the table's creation and 32 rows");
        assert!(commits < writers, "{commits} commits for {writers} writers");
    }

    /// The first writer of a group has no savepoint of its own: when it goes away, its work
    /// is undone with the group's transaction, and the next writer starts clean.
    #[tokio::test]
    async fn a_first_writer_that_goes_away_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut tx = lane.begin().await.unwrap();
        insert(&mut tx, 1).await.unwrap();
        drop(tx);
        let mut tx = lane.begin().await.unwrap();
        insert(&mut tx, 2).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows(&url).await, vec![2]);
    }

    /// The writer's statements run on the calling thread, yet a long write (an import of
    /// thousands of rows) lets the thread's other tasks run while it goes on.
    #[tokio::test]
    async fn a_long_write_lets_other_tasks_of_its_thread_run() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                t.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        });
        let mut tx = lane.begin().await.unwrap();
        let before = ticks.load(Ordering::SeqCst);
        for n in 0..2000 {
            insert(&mut tx, n).await.unwrap();
        }
        let during = ticks.load(Ordering::SeqCst) - before;
        tx.commit().await.unwrap();
        ticker.abort();
        assert!(during > 0, "no other task ran during 2,000 statements");
        assert_eq!(rows(&url).await.len(), 2000);
    }

    /// `commit_returning` on the lane commits (its held statements ran at once, so there
    /// is no answer to return).
    #[tokio::test]
    async fn commit_returning_on_the_lane_commits_and_answers_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut tx = lane.begin().await.unwrap();
        insert(&mut tx, 3).await.unwrap();
        assert_eq!(tx.commit_returning("number").await.unwrap(), None);
        assert_eq!(rows(&url).await, vec![3]);
    }

    /// A writer whose statement fails (a duplicate key) is refused alone; the group's other
    /// members commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_error_rolls_back_only_its_own_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut a = lane.begin().await.unwrap();
        insert(&mut a, 1).await.unwrap();
        // Queue a second writer before the first commits, so they share the group.
        let l2 = lane.clone();
        let b = tokio::spawn(async move {
            let mut b = l2.begin().await.unwrap();
            let dup = insert(&mut b, 1).await;
            assert!(dup.is_err());
            drop(b);
            let mut c = l2.begin().await.unwrap();
            insert(&mut c, 2).await.unwrap();
            c.commit().await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        a.commit().await.unwrap();
        b.await.unwrap();
        assert_eq!(rows(&url).await, vec![1, 2]);
    }

    /// A task that holds a transaction and asks for another is refused at once (an error
    /// in release builds, a panic in debug builds), not left waiting for itself forever.
    #[tokio::test]
    async fn a_nested_transaction_is_refused_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, _) = lane(dir.path()).await;
        let l = lane.clone();
        let task = tokio::spawn(tracked(async move {
            let _a = l.begin().await.unwrap();
            assert_eq!(held(), 1);
            l.begin().await.is_err()
        }));
        let r = tokio::time::timeout(Duration::from_secs(3), task)
            .await
            .expect("a nested begin must not wait");
        match r {
            Ok(refused) => assert!(refused),
            Err(e) => assert!(e.is_panic()),
        }
        // The lane is usable afterwards.
        let mut tx = lane.begin().await.unwrap();
        tx.execute("INSERT INTO t (n) VALUES (7)").await.unwrap();
        tx.commit().await.unwrap();
    }

    /// While another connection holds SQLite's write lock, a new group waits for it off the
    /// async thread: on a single-threaded runtime the holder (a task of the same runtime)
    /// still runs, releases the lock, and the writer goes on.
    #[tokio::test]
    async fn a_write_lock_held_elsewhere_is_waited_for_off_the_async_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (lane, url) = lane(dir.path()).await;
        let mut other = AnyConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        other.execute("BEGIN IMMEDIATE").await.unwrap();
        let holder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            other.execute("COMMIT").await.unwrap();
        });
        let started = std::time::Instant::now();
        let mut tx = tokio::time::timeout(Duration::from_secs(5), lane.begin())
            .await
            .expect("the writer waits for the lock, not for its own thread")
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        insert(&mut tx, 5).await.unwrap();
        tx.commit().await.unwrap();
        holder.await.unwrap();
        assert_eq!(rows(&url).await, vec![5]);
    }

    /// A writer that cannot get the lane within the acquire timeout gets the pool-timeout
    /// error (answered 503 with Retry-After), and the lane serves the next writer once free.
    #[tokio::test]
    async fn a_writer_kept_waiting_past_the_timeout_gets_the_pool_timeout() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let opts = AnyConnectOptions::from_str(&url).unwrap();
        let lane = Lane::open(
            &opts,
            "PRAGMA journal_mode = WAL;".into(),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
        let holder = lane.begin().await.unwrap();
        let l = lane.clone();
        let waited = tokio::spawn(async move { l.begin().await.map(|_| ()) })
            .await
            .unwrap();
        assert!(
            matches!(waited, Err(StoreError::Backend(sqlx::Error::PoolTimedOut))),
            "{waited:?}"
        );
        holder.commit().await.unwrap();
        let tx = lane.begin().await.unwrap();
        tx.commit().await.unwrap();
    }
}
