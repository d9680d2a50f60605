//! `yunwei restore FILE [--force]`: loading a verified archive into the configured
//! database and data directory.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use super::verify::{Archive, verify_archive};
use super::{
    FILE_DIRS, Hashing, KEY_FILE, MAX_LINE_BYTES, Manifest, TableEntry, db_url, file_entry_name,
    list_files, table_entry_name,
};
use crate::config::Config;
use crate::store::snapshot::TableSchema;
use crate::store::{Backend, Store, snapshot};

/// What a restore loaded.
#[derive(Debug)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    pub audit_records: i64,
}

/// Why a restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The archive is unreadable, corrupted or not ours; nothing was changed.
    #[error("{0}")]
    Archive(String),
    /// The target holds data and `--force` was not given; nothing was changed.
    #[error("{0}")]
    NotEmpty(String),
    /// The restored audit chain does not verify.
    #[error("{0}")]
    AuditBroken(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for RestoreError {
    fn from(e: crate::store::StoreError) -> Self {
        RestoreError::Other(anyhow::Error::from(e))
    }
}

pub(super) fn bad(m: impl Into<String>) -> RestoreError {
    RestoreError::Archive(m.into())
}

/// A failure once the target was touched (the rows' transaction is rolled back).
fn fail(m: impl Into<String>) -> RestoreError {
    RestoreError::Other(anyhow::anyhow!(m.into()))
}
/// The SQLite file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Whether the data directory holds stored files.
fn data_dir_has_files(data_dir: &Path) -> anyhow::Result<bool> {
    Ok(list_files(data_dir)?.iter().any(|p| p != KEY_FILE))
}

/// Whether the database holds data: any user or audit record (a started server has both).
async fn database_has_data(url: &str, backend: Backend) -> anyhow::Result<bool> {
    if backend == Backend::Sqlite {
        match sqlite_path(url) {
            Some(p) if !p.exists() => return Ok(false),
            _ => {}
        }
    }
    let mut conn = snapshot::connect_raw(url, false).await?;
    if !snapshot::has_schema(&mut conn, backend).await? {
        return Ok(false);
    }
    let tables = snapshot::tables(&mut conn, backend).await?;
    for t in ["users", "audit_events"] {
        if tables.iter().any(|s| s.name == t) && snapshot::count_rows(&mut conn, t).await? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `yunwei restore FILE [--force]`.
/// Restores `file` into the configured database and data directory (see the module
/// documentation); on success the restore itself is the audit trail's newest record, at
/// `now_ms`, and the whole chain has been verified.
pub async fn restore(
    c: &Config,
    file: &Path,
    force: bool,
    now_ms: i64,
) -> Result<RestoreSummary, RestoreError> {
    use anyhow::Context;
    // 1. The whole archive is checked before the target is looked at.
    let (mut z, manifest) = verify_archive(file)?;
    let origin = match manifest.backend.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => return Err(bad(format!("manifest: unknown backend {other:?}"))),
    };
    let want = Store::latest_migration(origin);
    if manifest.schema_version != want {
        return Err(bad(format!(
            "the backup's schema is migration {} of {}, this yunwei's is {want}: restore it with \
             the yunwei version that made it",
            manifest.schema_version, manifest.backend
        )));
    }
    let url = db_url(c);
    let backend = Backend::from_url(&url).map_err(|m| RestoreError::Other(anyhow::anyhow!(m)))?;

    // 2. The target must be empty, or emptied with --force.
    let db_data = database_has_data(&url, backend)
        .await
        .context("cannot open the target database")?;
    let dir_data = data_dir_has_files(&c.data_dir)?;
    if (db_data || dir_data) && !force {
        return Err(RestoreError::NotEmpty(format!(
            "the target is not empty ({}); restore only into an empty database and data \
             directory, or add --force to replace what is there",
            match (db_data, dir_data) {
                (true, true) => "database and data directory",
                (true, false) => "database",
                _ => "data directory",
            }
        )));
    }
    if force {
        match backend {
            Backend::Sqlite => {
                if let Some(p) = sqlite_path(&url) {
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let mut f = p.clone().into_os_string();
                        f.push(suffix);
                        match std::fs::remove_file(&f) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => {
                                return Err(anyhow::anyhow!(
                                    "cannot remove {}: {e}",
                                    PathBuf::from(f).display()
                                )
                                .into());
                            }
                        }
                    }
                }
            }
            Backend::Postgres => {
                let mut conn = snapshot::connect_raw(&url, false).await.context("target")?;
                snapshot::drop_postgres_schema(&mut conn)
                    .await
                    .context("emptying the target database")?;
            }
        }
        for d in FILE_DIRS {
            let p = c.data_dir.join(d);
            if p.exists() {
                std::fs::remove_dir_all(&p)
                    .with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    }

    // 3. The schema, by this build's migrations.
    let store = Store::connect(c)
        .await
        .context("preparing the target database")?;
    store.close().await;
    let mut conn = snapshot::connect_raw(&url, true).await.context("target")?;
    let target = snapshot::tables(&mut conn, backend).await?;
    let by_name: BTreeMap<&str, &TableSchema> =
        target.iter().map(|t| (t.name.as_str(), t)).collect();
    let archived: BTreeMap<&str, &TableEntry> = manifest
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    for t in &target {
        if !archived.contains_key(t.name.as_str()) {
            return Err(fail(format!("the backup has no table {}", t.name)));
        }
    }
    for t in &manifest.tables {
        let Some(s) = by_name.get(t.name.as_str()) else {
            return Err(fail(format!("this yunwei has no table {}", t.name)));
        };
        snapshot::Loader::new(s, &t.columns, backend).map_err(fail)?;
    }

    // 4. Files first: without rows naming them they are inert.
    for f in &manifest.files {
        let dest = c.data_dir.join(&f.path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let e = z
            .by_name(&file_entry_name(&f.path))
            .map_err(|e| fail(format!("{}: {e}", f.path)))?;
        let out = open_new(&dest, f.path == KEY_FILE)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        let mut w = Hashing::new(std::io::BufWriter::new(out));
        std::io::copy(&mut e.take(f.size + 1), &mut w)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        w.flush()
            .with_context(|| format!("cannot write {}", dest.display()))?;
        let (n, sha) = w.finish();
        if n != f.size || sha != f.sha256 {
            return Err(fail(format!("{}: changed while restoring", f.path)));
        }
    }

    // 5. The rows, in one transaction.
    snapshot::begin_load(&mut conn, backend).await?;
    let loaded = load_rows(&mut z, &manifest, &target, &mut conn, backend).await;
    match loaded {
        Ok(()) => snapshot::commit(&mut conn)
            .await
            .context("committing the restore")?,
        Err(e) => {
            snapshot::rollback(&mut conn).await;
            return Err(e);
        }
    }
    let _ = sqlx::Connection::close(conn).await;

    // 6. The audit chain, as `yunwei audit verify` checks it; then the restore is recorded
    //    at its end, and the chain checked again with it.
    let store = Store::connect(c).await.context("reopening the target")?;
    let v = store.verify_audit().await;
    let v = match v {
        Ok(crate::store::audit::Verification::Intact { .. }) => {
            let recorded = record_restore(&store, file, &manifest, now_ms).await;
            match recorded {
                Ok(()) => store.verify_audit().await,
                Err(e) => {
                    store.close().await;
                    return Err(e.into());
                }
            }
        }
        other => other,
    };
    store.close().await;
    match v.map_err(|e| anyhow::anyhow!("{e}"))? {
        crate::store::audit::Verification::Intact { records } => Ok(RestoreSummary {
            manifest,
            audit_records: records,
        }),
        crate::store::audit::Verification::Broken { seq, reason } => Err(
            RestoreError::AuditBroken(format!("audit chain broken at record {seq}: {reason}")),
        ),
    }
}

/// Appends the `restore` record: which archive, made where and when, with how much.
async fn record_restore(
    store: &Store,
    file: &Path,
    m: &Manifest,
    now_ms: i64,
) -> anyhow::Result<()> {
    let rows: i64 = m.tables.iter().map(|t| t.rows).sum();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let made = chrono::DateTime::from_timestamp_millis(m.created_at)
        .unwrap_or_default()
        .with_timezone(&crate::clock::beijing())
        .format("%Y-%m-%d %H:%M:%S");
    let tx = store.write_tx().await?;
    crate::store::audit::NewAuditEvent::about(
        "restore",
        "system",
        format!(
            "从备份 {name} 恢复数据（{} 于 {made} 生成，{} 张表 {rows} 行，{} 个文件）",
            backend_label(&m.backend),
            m.tables.len(),
            m.files.len()
        ),
    )
    .after(serde_json::json!({
        "archive": name, "backend": m.backend, "schema_version": m.schema_version,
        "created_at": crate::clock::rfc3339(m.created_at), "yunwei_version": m.yunwei_version,
        "tables": m.tables.len(), "rows": rows, "files": m.files.len(),
    }))
    .write_and_commit(tx, now_ms, &crate::store::Actor::system("restore"))
    .await?;
    Ok(())
}

fn backend_label(b: &str) -> &'static str {
    match b {
        "sqlite" => "SQLite",
        "postgres" => "PostgreSQL",
        _ => "未知数据库",
    }
}

fn open_new(path: &Path, private: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    o.open(path)
}

async fn load_rows(
    z: &mut Archive,
    manifest: &Manifest,
    target: &[TableSchema],
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
) -> Result<(), RestoreError> {
    snapshot::clear_tables(conn, target).await?;
    let archived: BTreeMap<&str, &TableEntry> = manifest
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let (kept, rest): (Vec<&TableSchema>, Vec<&TableSchema>) = target
        .iter()
        .partition(|t| snapshot::TRIGGER_KEPT.contains(&t.name.as_str()));
    let mut settled = false;
    for t in rest.into_iter().chain(kept) {
        if !settled && snapshot::TRIGGER_KEPT.contains(&t.name.as_str()) {
            snapshot::settle_triggers(conn, backend).await?;
            settled = true;
        }
        let Some(entry) = archived.get(t.name.as_str()) else {
            continue;
        };
        load_table(z, entry, t, conn, backend).await?;
    }
    if !settled {
        snapshot::settle_triggers(conn, backend).await?;
    }
    snapshot::reset_sequences(conn, backend).await?;
    Ok(())
}

async fn load_table(
    z: &mut Archive,
    entry: &TableEntry,
    t: &TableSchema,
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
) -> Result<(), RestoreError> {
    let name = table_entry_name(&entry.name);
    let started = std::time::Instant::now();
    let mut loader = snapshot::Loader::new(t, &entry.columns, backend).map_err(fail)?;
    // The zip entry borrows the archive; lines are read in chunks between awaits.
    let e = z.by_name(&name).map_err(|e| fail(format!("{name}: {e}")))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, Hashing::new(e.take(entry.size + 1)));
    let mut line = Vec::new();
    let mut lineno = 0u64;
    loop {
        line.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| fail(format!("{name}: {e}")))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        if n as u64 > MAX_LINE_BYTES {
            return Err(fail(format!("{name}: line {lineno} is too long")));
        }
        let row: Vec<serde_json::Value> = serde_json::from_slice(&line)
            .map_err(|e| fail(format!("{name}: line {lineno}: {e}")))?;
        loader.push(conn, row, n).await?;
    }
    loader.flush(conn).await?;
    let (n, sha) = r.into_inner().finish();
    if n != entry.size || sha != entry.sha256 {
        return Err(fail(format!("{name}: changed while restoring")));
    }
    if loader.rows != entry.rows {
        return Err(fail(format!(
            "{name}: {} rows, the manifest says {}",
            loader.rows, entry.rows
        )));
    }
    tracing::debug!(
        table = %entry.name,
        rows = loader.rows,
        ms = started.elapsed().as_millis() as u64,
        "restored"
    );
    Ok(())
}
