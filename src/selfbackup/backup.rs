//! `yunwei backup --out FILE`: the archive written from a consistent snapshot.

use std::io::{Read, Write};
use std::path::Path;

use super::{
    FORMAT, FORMAT_VERSION, FileEntry, Hashing, MANIFEST, Manifest, TableEntry, backend_name,
    db_url, file_entry_name, list_files, table_entry_name,
};
use crate::config::Config;
use crate::store::{Backend, snapshot};

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub tables: usize,
    pub rows: i64,
    pub files: usize,
    pub bytes: u64,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
