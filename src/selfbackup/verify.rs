//! Checking an archive whole before a restore touches anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use super::restore::{RestoreError, bad};
use super::{
    FORMAT, FORMAT_VERSION, Hashing, MANIFEST, MAX_COLUMNS, MAX_ENTRIES, MAX_MANIFEST_BYTES,
    MAX_TABLES, Manifest, file_entry_name, safe_ident, safe_rel_path, table_entry_name,
};

pub(super) type Archive = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
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
