//! The acceptance package (验收资料包): what goes into the ZIP and under which names. Pure:
//! the deliverables with their instances come in as facts; out come the paths in the ZIP
//! (safe, bounded and unique), the index workbook's rows, the list of what is missing or
//! not accepted (never skipped), the `SHA256SUMS` text and the summary counts per area.

use std::collections::HashSet;

/// Longest path segment in the ZIP, in characters (file systems allow 255 bytes; three
/// bytes a Chinese character).
pub const MAX_SEGMENT_CHARS: usize = 60;

/// Which service period the package covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The O&M service period: infrastructure and systems.
    Om,
    /// The operations period: the operations lines.
    Operations,
    All,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "om" => Some(Scope::Om),
            "operations" => Some(Scope::Operations),
            "" | "all" => Some(Scope::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Om => "om",
            Scope::Operations => "operations",
            Scope::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Om => "运维服务期",
            Scope::Operations => "运营服务期",
            Scope::All => "全部服务期",
        }
    }

    /// Whether a deliverable of `area` (`infrastructure`, `systems`, `operations`) is in.
    pub fn includes(self, area: &str) -> bool {
        match self {
            Scope::Om => area != "operations",
            Scope::Operations => area == "operations",
            Scope::All => true,
        }
    }
}

/// The accepted version of an instance.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedFile {
    pub file_name: String,
    pub sha256: String,
    /// Where the file is kept, relative to the data directory.
    pub stored_path: String,
}

/// One instance of a deliverable.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceFact {
    pub key: String,
    pub label: String,
    pub due_date: String,
    /// `pending`, `submitted`, `accepted`, `returned` or `overdue`.
    pub status: String,
    pub status_label: String,
    /// Its latest version when the instance is accepted.
    pub accepted: Option<AcceptedFile>,
}

/// One deliverable with its instances over the service period.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverableFact {
    pub section: String,
    pub name: String,
    pub area: String,
    pub area_label: String,
    pub cadence_label: String,
    pub instances: Vec<InstanceFact>,
}

/// A file of the package taken from the data directory.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedFile {
    /// The path in the ZIP.
    pub path: String,
    pub stored_path: String,
    pub sha256: String,
}

/// One row of the index sheet.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRow {
    pub section: String,
    pub name: String,
    pub area: String,
    pub cadence: String,
    pub due: usize,
    pub accepted: usize,
    pub open: usize,
    /// The open instances: `label（status）`, joined.
    pub open_items: String,
    /// The paths in the ZIP, one a line.
    pub files: String,
    /// Their SHA-256, one a line, in the same order.
    pub checksums: String,
}

/// An instance that is not accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenRow {
    pub section: String,
    pub name: String,
    pub area: String,
    pub label: String,
    pub due_date: String,
    pub status_label: String,
}

/// Counts of one area.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AreaSummary {
    pub area: String,
    pub area_label: String,
    pub deliverables: usize,
    pub due: usize,
    pub accepted: usize,
    pub open: usize,
}

/// Everything the package is made of, before the files are read.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    pub index: Vec<IndexRow>,
    pub open: Vec<OpenRow>,
    pub summary: Vec<AreaSummary>,
}

/// One path segment made safe: no separators, control or reserved characters, no leading
/// or trailing dots or spaces (so never `.` or `..`), not empty, at most
/// [`MAX_SEGMENT_CHARS`] characters (a file keeps its extension).
pub fn segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let reserved = format!("_{trimmed}");
    let base = if trimmed.is_empty() {
        "_"
    } else if windows_reserved(trimmed) {
        reserved.as_str()
    } else {
        trimmed
    };
    if base.chars().count() <= MAX_SEGMENT_CHARS {
        return base.to_string();
    }
    let ext = base
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= 8);
    let out = match ext {
        Some(e) => {
            let keep = MAX_SEGMENT_CHARS - e.chars().count() - 1;
            let stem: String = base.chars().take(keep).collect();
            format!(
                "{}.{e}",
                stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace())
            )
        }
        None => base.chars().take(MAX_SEGMENT_CHARS).collect(),
    };
    let out = out.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if out.is_empty() {
        "_".into()
    } else {
        out.to_string()
    }
}

/// A name Windows keeps for a device (`CON`, `nul.txt`, `COM1` …), whatever the extension.
fn windows_reserved(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit())
}

/// Hands out paths that are unique in the ZIP (case-insensitively, as Windows sees them).
#[derive(Default)]
pub struct Namer {
    used: HashSet<String>,
}

impl Namer {
    /// Reserves a path already taken (the index, the reports, `SHA256SUMS`).
    pub fn reserve(&mut self, path: &str) {
        self.used.insert(path.to_lowercase());
    }

    /// `dirs/name`, each part made safe, with ` (2)`, ` (3)` … before the extension when
    /// the path is taken.
    pub fn unique(&mut self, dirs: &[&str], name: &str) -> String {
        let prefix: String = dirs.iter().map(|d| format!("{}/", segment(d))).collect();
        let name = segment(name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() && !e.is_empty() => (s.to_string(), format!(".{e}")),
            _ => (name.clone(), String::new()),
        };
        let mut n = 1;
        loop {
            let candidate = if n == 1 {
                name.clone()
            } else {
                let suffix = format!(" ({n}){ext}");
                let keep = MAX_SEGMENT_CHARS.saturating_sub(suffix.chars().count());
                let s: String = stem.chars().take(keep).collect();
                segment(&format!("{s}{suffix}"))
            };
            let path = format!("{prefix}{candidate}");
            if self.used.insert(path.to_lowercase()) {
                return path;
            }
            n += 1;
        }
    }
}

/// The package's plan: a path for every accepted instance's file (`area/section name/key
/// file`), the index rows, the open instances and the counts per area. `reserved` are the
/// paths of the generated documents at the root.
pub fn plan(items: &[DeliverableFact], reserved: &[&str]) -> Plan {
    let mut namer = Namer::default();
    for r in reserved {
        namer.reserve(r);
    }
    let mut files = Vec::new();
    let mut index = Vec::new();
    let mut open = Vec::new();
    let mut summary: Vec<AreaSummary> = Vec::new();
    for d in items {
        let folder = format!("{} {}", d.section.trim(), d.name.trim());
        let mut paths = Vec::new();
        let mut sums = Vec::new();
        let mut open_items = Vec::new();
        for i in &d.instances {
            match &i.accepted {
                Some(f) => {
                    let path = namer.unique(
                        &[&d.area_label, &folder],
                        &format!("{} {}", i.key, f.file_name),
                    );
                    paths.push(path.clone());
                    sums.push(f.sha256.clone());
                    files.push(PlannedFile {
                        path,
                        stored_path: f.stored_path.clone(),
                        sha256: f.sha256.clone(),
                    });
                }
                None => {
                    open_items.push(format!("{}（{}）", i.label, i.status_label));
                    open.push(OpenRow {
                        section: d.section.clone(),
                        name: d.name.clone(),
                        area: d.area_label.clone(),
                        label: i.label.clone(),
                        due_date: i.due_date.clone(),
                        status_label: i.status_label.clone(),
                    });
                }
            }
        }
        let accepted = paths.len();
        index.push(IndexRow {
            section: d.section.clone(),
            name: d.name.clone(),
            area: d.area_label.clone(),
            cadence: d.cadence_label.clone(),
            due: d.instances.len(),
            accepted,
            open: d.instances.len() - accepted,
            open_items: open_items.join("；"),
            files: paths.join("\n"),
            checksums: sums.join("\n"),
        });
        let pos = match summary.iter().position(|s| s.area == d.area) {
            Some(p) => p,
            None => {
                summary.push(AreaSummary {
                    area: d.area.clone(),
                    area_label: d.area_label.clone(),
                    ..Default::default()
                });
                summary.len() - 1
            }
        };
        let s = &mut summary[pos];
        s.deliverables += 1;
        s.due += d.instances.len();
        s.accepted += accepted;
        s.open += d.instances.len() - accepted;
    }
    Plan {
        files,
        index,
        open,
        summary,
    }
}

/// `SHA256SUMS` in the format `sha256sum -c` reads: `hex  path`, one a line.
pub fn sha256sums(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(path, hex)| format!("{hex}  {path}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inst(key: &str, status: &str, file: Option<&str>) -> InstanceFact {
        InstanceFact {
            key: key.into(),
            label: format!("{key} 期"),
            due_date: "2024-10-12".into(),
            status: status.into(),
            status_label: status.into(),
            accepted: file.map(|f| AcceptedFile {
                file_name: f.into(),
                sha256: "ab".repeat(32),
                stored_path: format!("deliverables/{f}"),
            }),
        }
    }

    fn item(
        section: &str,
        name: &str,
        area: &str,
        instances: Vec<InstanceFact>,
    ) -> DeliverableFact {
        DeliverableFact {
            section: section.into(),
            name: name.into(),
            area: area.into(),
            area_label: format!("{area}-label"),
            cadence_label: "每月".into(),
            instances,
        }
    }

    #[test]
    fn segments_are_safe() {
        assert_eq!(segment(".."), "_");
        assert_eq!(segment("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(segment("a\\b/c"), "a_b_c");
        assert_eq!(segment("  报告.docx  "), "报告.docx");
        assert_eq!(segment(""), "_");
        assert_eq!(segment("con.docx"), "_con.docx");
        assert_eq!(segment("COM1"), "_COM1");
        assert_eq!(segment("COMMENT.docx"), "COMMENT.docx");
        let long = format!("{}.docx", "长".repeat(100));
        let s = segment(&long);
        assert_eq!(s.chars().count(), MAX_SEGMENT_CHARS);
        assert!(s.ends_with(".docx"));
    }

    #[test]
    fn the_plan_lists_files_open_instances_and_counts() {
        let items = vec![
            item(
                "4.1.1",
                "月度巡检报告",
                "infrastructure",
                vec![
                    inst("2024-09", "accepted", Some("巡检.docx")),
                    inst("2024-10", "returned", None),
                    inst("2024-11", "overdue", None),
                ],
            ),
            item(
                "4.1.1",
                "月度巡检报告",
                "infrastructure",
                vec![inst("2024-09", "accepted", Some("巡检.docx"))],
            ),
            item("4.2.8", "月报", "operations", vec![]),
        ];
        let p = plan(&items, &["交付物清单.xlsx"]);
        assert_eq!(
            p.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            [
                "infrastructure-label/4.1.1 月度巡检报告/2024-09 巡检.docx",
                "infrastructure-label/4.1.1 月度巡检报告/2024-09 巡检 (2).docx"
            ]
        );
        assert_eq!(p.index[0].due, 3);
        assert_eq!(p.index[0].accepted, 1);
        assert_eq!(p.index[0].open, 2);
        assert_eq!(
            p.index[0].open_items,
            "2024-10 期（returned）；2024-11 期（overdue）"
        );
        assert_eq!(p.open.len(), 2);
        assert_eq!(p.summary.len(), 2);
        assert_eq!(
            (
                p.summary[0].deliverables,
                p.summary[0].due,
                p.summary[0].accepted,
                p.summary[0].open
            ),
            (2, 4, 2, 2)
        );
        assert_eq!(p.summary[1].due, 0);
    }

    #[test]
    fn sums_have_the_sha256sum_format() {
        let s = sha256sums(&[("a/b.docx".into(), "00ff".into())]);
        assert_eq!(s, "00ff  a/b.docx\n");
    }

    #[test]
    fn scopes_pick_the_areas() {
        assert!(Scope::Om.includes("systems") && !Scope::Om.includes("operations"));
        assert!(
            Scope::Operations.includes("operations")
                && !Scope::Operations.includes("infrastructure")
        );
        assert_eq!(Scope::parse(""), Some(Scope::All));
        assert_eq!(Scope::parse("x"), None);
    }

    proptest! {
        #[test]
        fn names_are_always_safe_and_unique(
            names in proptest::collection::vec(("\\PC{0,80}", "\\PC{0,80}", "\\PC{0,120}"), 1..30)
        ) {
            let mut namer = Namer::default();
            namer.reserve("SHA256SUMS");
            let mut seen = HashSet::new();
            for (a, b, f) in &names {
                let p = namer.unique(&[a, b], f);
                prop_assert!(seen.insert(p.to_lowercase()), "duplicate {p}");
                let parts: Vec<&str> = p.split('/').collect();
                prop_assert_eq!(parts.len(), 3);
                for s in parts {
                    prop_assert!(!s.is_empty() && s != "." && s != "..");
                    prop_assert!(s.chars().count() <= MAX_SEGMENT_CHARS);
                    prop_assert!(!s.contains('\\') && !s.chars().any(char::is_control));
                    prop_assert!(!windows_reserved(s), "reserved {s}");
                }
            }
        }
    }
}
