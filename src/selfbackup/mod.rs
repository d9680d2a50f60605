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

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::Backend;

mod backup;
mod restore;
mod verify;

pub use backup::{BackupSummary, backup};
pub use restore::{RestoreError, RestoreSummary, restore};
pub use verify::verify_archive;

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

fn db_url(c: &Config) -> String {
    crate::tls::database_url(&c.effective_database_url(), c.tls_ca_file.as_deref())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    }
}
