//! yunwei's own backup and restore (issue 14, part 5): `yunwei backup --out FILE` and
//! `yunwei restore FILE [--force]`.
//!
//! The archive is a ZIP (deflate) holding `manifest.json`, one JSON-lines file per table
//! (`db/<table>.jsonl`, one JSON array per row in the manifest's column order) read inside
//! one read transaction, and the data directory's stored files (`files/<path>`). The
//! manifest gives every entry's size and SHA-256. The export is logical, so an archive made
//! on SQLite restores on PostgreSQL and back.
//!
//! Restore treats the archive as hostile: entry counts and sizes are bounded before
//! anything is read, names are checked against the manifest (no other entry is accepted,
//! and no path leaves the data directory), and every checksum is verified before the
//! target is touched. Rows are loaded in one transaction; the audit chain is verified after.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::snapshot::{self, TableSchema};
use crate::store::{Backend, Store};

pub const FORMAT: &str = "yunwei-backup";
pub const FORMAT_VERSION: i64 = 1;
const MANIFEST: &str = "manifest.json";

/// The data directory's folders of stored files (attachments, photos, deliverable and
/// staff documents, backup evidence); reports are kept in the database.
pub const FILE_DIRS: &[&str] = &[
    "attachments",
    "inspection-photos",
    "deliverables",
    "staff",
    "personnel-changes",
    "backup-evidence",
];
/// The key that encrypts stored secrets (`notify::secrets`), when it is kept as a file.
pub const KEY_FILE: &str = "secret.key";

/// Limits on a hostile archive.
const MAX_ENTRIES: usize = 2_000_000;
const MAX_MANIFEST_BYTES: u64 = 256 << 20;
const MAX_TABLES: usize = 1_000;
const MAX_COLUMNS: usize = 1_000;
const MAX_LINE_BYTES: u64 = 256 << 20;
const MAX_PATH_BYTES: usize = 512;

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: i64,
    pub yunwei_version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration applied on the origin.
    pub schema_version: i64,
    pub created_at: i64,
    pub tables: Vec<TableEntry>,
    pub files: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: i64,
    pub size: u64,
    pub sha256: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the data directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

fn table_entry_name(t: &str) -> String {
    format!("db/{t}.jsonl")
}

fn file_entry_name(p: &str) -> String {
    format!("files/{p}")
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn hex(d: &[u8]) -> String {
    crate::store::audit::hex(d)
}

/// Counts and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            n: 0,
        }
    }
    fn finish(self) -> (u64, String) {
        (self.n, hex(&self.hash.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.hash.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.hash.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub tables: usize,
    pub rows: i64,
    pub files: usize,
    pub bytes: u64,
}

fn db_url(c: &Config) -> String {
    crate::tls::database_url(&c.effective_database_url(), c.tls_ca_file.as_deref())
}

/// `yunwei backup --out FILE`: a consistent snapshot while the server runs. Written to
/// a temporary file next to `out` and renamed when complete.
pub async fn backup(c: &Config, out: &Path, now_ms: i64) -> anyhow::Result<BackupSummary> {
    use anyhow::Context;
    let url = db_url(c);
    let backend = Backend::from_url(&url).map_err(anyhow::Error::msg)?;
    let mut conn = snapshot::connect_raw(&url, false)
        .await
        .context("cannot open the database")?;
    if !snapshot::has_schema(&mut conn, backend).await? {
        anyhow::bail!("the database has no yunwei schema: nothing to back up");
    }
    let tmp = {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".part{}", std::process::id()));
        out.with_file_name(name)
    };
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let result = async {
        let mut z = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        snapshot::begin_snapshot(&mut conn, backend).await?;
        let schema_version = snapshot::schema_version(&mut conn).await?;
        let schema = snapshot::tables(&mut conn, backend).await?;
        let mut tables = Vec::with_capacity(schema.len());
        let mut rows_total = 0;
        for t in &schema {
            z.start_file(table_entry_name(&t.name), options(6))?;
            let mut w = Hashing::new(&mut z);
            let rows = snapshot::export_table(&mut conn, t, |row| {
                serde_json::to_writer(&mut w, &row)?;
                w.write_all(b"\n")
            })
            .await
            .with_context(|| format!("reading table {}", t.name))?;
            let (size, sha256) = w.finish();
            rows_total += rows;
            tables.push(TableEntry {
                name: t.name.clone(),
                columns: t.columns.iter().map(|c| c.0.clone()).collect(),
                rows,
                size,
                sha256,
            });
        }
        // The files are listed while the snapshot is held: every file a row of it names
        // was written before that row was committed.
        let listed = list_files(&c.data_dir)?;
        snapshot::end_snapshot(&mut conn).await?;
        let mut files = Vec::with_capacity(listed.len());
        for rel in listed {
            let path = c.data_dir.join(&rel);
            let mut f = match std::fs::File::open(&path) {
                Ok(f) => f,
                // Removed since it was listed (a replaced photo or document).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
            };
            let opts = if compresses(&mut f)? {
                options(1)
            } else {
                stored()
            };
            z.start_file(file_entry_name(&rel), opts)?;
            let mut w = Hashing::new(&mut z);
            std::io::copy(&mut f, &mut w)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (size, sha256) = w.finish();
            files.push(FileEntry {
                path: rel,
                size,
                sha256,
            });
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            yunwei_version: env!("CARGO_PKG_VERSION").into(),
            backend: backend_name(backend).into(),
            schema_version,
            created_at: now_ms,
            tables,
            files,
        };
        z.start_file(MANIFEST, options(6))?;
        serde_json::to_writer_pretty(&mut z, &manifest)?;
        let w = z.finish()?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        let bytes = f.metadata()?.len();
        Ok::<_, anyhow::Error>(BackupSummary {
            tables: manifest.tables.len(),
            rows: rows_total,
            files: manifest.files.len(),
            bytes,
        })
    }
    .await;
    match result {
        Ok(s) => {
            std::fs::rename(&tmp, out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            Ok(s)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn options(level: i64) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(level))
        .large_file(true)
}

/// An entry kept as it is: scans, photos and office files are compressed already, and
/// deflating them again costs most of a backup's time for nothing.
fn stored() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true)
}

/// How much of a file is tried: compressed by less than a tenth, it is stored.
const SAMPLE_BYTES: usize = 64 << 10;

/// Whether deflate shrinks the file's first 64 KiB by a tenth or more; the file is read
/// from its start again afterwards.
fn compresses(f: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::Seek;
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    Read::by_ref(f)
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    Ok(deflates_well(&sample))
}

/// Whether `sample` deflates (level 1) to under 90 % of its size.
fn deflates_well(sample: &[u8]) -> bool {
    if sample.len() < 512 {
        return true;
    }
    let mut e = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(sample.len()),
        flate2::Compression::fast(),
    );
    if e.write_all(sample).is_err() {
        return true;
    }
    e.finish()
        .map(|out| out.len() * 10 < sample.len() * 9)
        .unwrap_or(true)
}

/// The stored files under the data directory, relative and sorted.
fn list_files(data_dir: &Path) -> anyhow::Result<Vec<String>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> anyhow::Result<()> {
        let rd = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", dir.display())),
        };
        for e in rd {
            let e = e?;
            let ty = e.file_type()?;
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let r = format!("{rel}/{name}");
            if ty.is_dir() {
                walk(&e.path(), &r, out)?;
            } else if ty.is_file() && safe_rel_path(&r) {
                out.push(r);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for d in FILE_DIRS {
        walk(&data_dir.join(d), d, &mut out)?;
    }
    if data_dir.join(KEY_FILE).is_file() {
        out.push(KEY_FILE.into());
    }
    out.sort();
    Ok(out)
}

/// A stored file's path: under one of `FILE_DIRS` (or the key file), plain components only.
pub fn safe_rel_path(p: &str) -> bool {
    if p == KEY_FILE {
        return true;
    }
    if p.is_empty() || p.len() > MAX_PATH_BYTES || p.contains('\\') || p.contains('\0') {
        return false;
    }
    let parts: Vec<&str> = p.split('/').collect();
    parts.len() >= 2
        && FILE_DIRS.contains(&parts[0])
        && parts.iter().all(|c| {
            !c.is_empty()
                && *c != "."
                && *c != ".."
                && c.chars().all(|ch| !ch.is_control() && ch != ':')
        })
}

fn safe_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

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

fn bad(m: impl Into<String>) -> RestoreError {
    RestoreError::Archive(m.into())
}

/// A failure once the target was touched (the rows' transaction is rolled back).
fn fail(m: impl Into<String>) -> RestoreError {
    RestoreError::Other(anyhow::anyhow!(m.into()))
}

type Archive = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

/// Opens the archive and checks it whole: the manifest, the entry names and every
/// entry's size and checksum. Reads stay within the manifest's declared sizes.
pub fn verify_archive(file: &Path) -> Result<(Archive, Manifest), RestoreError> {
    let f = std::fs::File::open(file)
        .map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
    let mut z = zip::ZipArchive::new(std::io::BufReader::new(f))
        .map_err(|e| bad(format!("not a yunwei backup (ZIP): {e}")))?;
    if z.len() > MAX_ENTRIES {
        return Err(bad(format!("too many entries ({})", z.len())));
    }
    let manifest: Manifest = {
        let e = z
            .by_name(MANIFEST)
            .map_err(|_| bad("not a yunwei backup: no manifest.json"))?;
        if e.size() > MAX_MANIFEST_BYTES {
            return Err(bad("manifest.json is too large"));
        }
        let mut buf = Vec::new();
        e.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("manifest.json: {e}")))?;
        serde_json::from_slice(&buf).map_err(|e| bad(format!("manifest.json: {e}")))?
    };
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "unsupported backup format {} {}",
            manifest.format, manifest.format_version
        )));
    }
    if manifest.tables.len() > MAX_TABLES || manifest.files.len() > MAX_ENTRIES {
        return Err(bad("manifest lists too many tables or files"));
    }
    let mut expected: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for t in &manifest.tables {
        if !safe_ident(&t.name)
            || t.columns.is_empty()
            || t.columns.len() > MAX_COLUMNS
            || !t.columns.iter().all(|c| safe_ident(c))
            || t.rows < 0
        {
            return Err(bad(format!("manifest: bad table entry {:?}", t.name)));
        }
        let cols: BTreeSet<&String> = t.columns.iter().collect();
        if cols.len() != t.columns.len() {
            return Err(bad(format!("manifest: table {} repeats a column", t.name)));
        }
        if expected
            .insert(table_entry_name(&t.name), (t.size, t.sha256.clone()))
            .is_some()
        {
            return Err(bad(format!("manifest: table {} listed twice", t.name)));
        }
    }
    for f in &manifest.files {
        if !safe_rel_path(&f.path) {
            return Err(bad(format!("manifest: unsafe file path {:?}", f.path)));
        }
        if expected
            .insert(file_entry_name(&f.path), (f.size, f.sha256.clone()))
            .is_some()
        {
            return Err(bad(format!("manifest: file {} listed twice", f.path)));
        }
    }
    if z.len() != expected.len() + 1 {
        return Err(bad(format!(
            "the archive has {} entries, the manifest lists {}",
            z.len(),
            expected.len() + 1
        )));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in 0..z.len() {
        let e = z.by_index(i).map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = e
            .name()
            .map_err(|e| bad(format!("entry {i}: {e}")))?
            .to_string();
        if !seen.insert(name.clone()) {
            return Err(bad(format!("entry {name:?} appears twice")));
        }
        if name == MANIFEST {
            continue;
        }
        let Some((size, sha)) = expected.get(&name) else {
            return Err(bad(format!("unexpected entry {name:?}")));
        };
        if e.size() != *size {
            return Err(bad(format!("{name}: size differs from the manifest")));
        }
        let mut h = Hashing::new(std::io::sink());
        std::io::copy(&mut e.take(size + 1), &mut h).map_err(|e| bad(format!("{name}: {e}")))?;
        let (n, got) = h.finish();
        if n != *size || got != *sha {
            return Err(bad(format!(
                "{name}: checksum mismatch (corrupted archive)"
            )));
        }
    }
    Ok((z, manifest))
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
    let mut tx = store.write_tx().await?;
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
    .write(&mut tx, now_ms, &crate::store::Actor::system("restore"))
    .await?;
    tx.commit().await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn incompressible_bytes_are_stored_and_text_is_deflated() {
        let text = "巡检记录：机房温度 22.5℃，湿度 45%，UPS 负载 38%。\n".repeat(2000);
        assert!(deflates_well(text.as_bytes()));
        // SplitMix64 output: as incompressible as a scan or a ZIP-based office file.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: Vec<u8> = (0..SAMPLE_BYTES / 8)
            .flat_map(|_| {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)).to_le_bytes()
            })
            .collect();
        assert!(!deflates_well(&noise));
        // Tiny files are not worth the test.
        assert!(deflates_well(&noise[..100]));
    }

    #[test]
    fn only_paths_under_the_stored_folders_are_accepted() {
        assert!(safe_rel_path("attachments/3/1-ab.bin"));
        assert!(safe_rel_path("backup-evidence/drill-1/x.pdf"));
        assert!(safe_rel_path(KEY_FILE));
        for bad in [
            "",
            "attachments",
            "/etc/passwd",
            "attachments/../../etc/passwd",
            "attachments/./x",
            "attachments//x",
            "attachments\\x",
            "other/x",
            "attachments/c:x",
        ] {
            assert!(!safe_rel_path(bad), "{bad}");
        }
    }

    proptest! {
        /// An accepted path, joined to a root, never leaves it: every component is a
        /// plain name and the first is one of the stored folders.
        #[test]
        fn an_accepted_path_stays_under_the_data_directory(p in "[a-z./\\\\:-]{0,40}") {
            if safe_rel_path(&p) && p != KEY_FILE {
                let joined = std::path::Path::new("/data").join(&p);
                prop_assert!(joined.starts_with("/data"));
                prop_assert!(std::path::Path::new(&p)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))));
                let under = FILE_DIRS.iter().any(|d| p.starts_with(&format!("{d}/")));
                prop_assert!(under);
            }
        }

        /// Arbitrary bytes, with or without a ZIP signature, are refused as an archive
        /// without a panic.
        #[test]
        fn arbitrary_bytes_are_not_an_archive(zip in any::<bool>(),
                                              body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("x.zip");
            let mut bytes = if zip { b"PK\x03\x04".to_vec() } else { Vec::new() };
            bytes.extend_from_slice(&body);
            std::fs::write(&f, &bytes).unwrap();
            prop_assert!(verify_archive(&f).is_err());
        }
    }
}
