//! The layers point one way (DESIGN.md, "Architecture"): web, jobs and the CLI call
//! services, services call the store, the store calls the domain, and the domain is pure.
//! This test reads every file under `src/`, finds the paths it names (`use crate::…`,
//! `crate::…`, `super::…` resolved to the crate's top-level module, and the `axum` and
//! `sqlx` crates), skipping comments, string literals and `#[cfg(test)]` items, and fails
//! listing each forbidden reference as `file:line`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The service modules: one folder or file per capability.
const SERVICES: &[&str] = &[
    "accounts",
    "desk",
    "holidays",
    "inspect",
    "inventory",
    "monitor",
    "notify",
    "report",
    "transfer",
];

/// Layers above the services.
const EDGES: &[&str] = &["web", "jobs", "cli", "demo", "app"];

/// What the files of a layer may not name, with the reason shown on failure.
fn forbidden(layer: &str) -> Vec<(&'static str, &'static str)> {
    let mut f: Vec<(&'static str, &'static str)> = Vec::new();
    match layer {
        "domain" => {
            for m in ["axum", "sqlx"] {
                f.push((m, "the domain is pure: no HTTP, no SQL"));
            }
            for m in ["crate::config", "crate::error", "crate::store"] {
                f.push((
                    m,
                    "the domain is pure: no configuration, HTTP errors or storage",
                ));
            }
            for m in SERVICES.iter().chain(EDGES) {
                f.push((
                    leak(format!("crate::{m}")),
                    "the domain is the bottom layer",
                ));
            }
        }
        "store" => {
            f.push((
                "crate::config",
                "the store takes its settings as `ConnectOptions`",
            ));
            for m in SERVICES.iter().chain(EDGES) {
                f.push((
                    leak(format!("crate::{m}")),
                    "the store serves the services, never calls them",
                ));
            }
        }
        "service" => {
            for m in ["crate::web", "crate::jobs", "crate::cli", "crate::demo"] {
                f.push((
                    m,
                    "services are called by web, jobs and the CLI, never the reverse",
                ));
            }
        }
        "jobs" => {
            for m in ["crate::web", "crate::cli"] {
                f.push((m, "jobs call services, not the HTTP edge or the CLI"));
            }
        }
        _ => {}
    }
    f
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The layer of a file, from its path under `src/`.
fn layer_of(rel: &Path) -> &'static str {
    let first = rel
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    let top = first.strip_suffix(".rs").unwrap_or(first);
    match top {
        "domain" => "domain",
        "store" => "store",
        "jobs" => "jobs",
        t if SERVICES.contains(&t) => "service",
        _ => "other",
    }
}

/// The module path of a file: `src/domain/monitor/spec.rs` → `domain::monitor::spec`,
/// `src/store/mod.rs` → `store`, `src/lib.rs` → the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        if !["mod", "lib", "main"].contains(&stem.as_str()) {
            parts.push(stem);
        }
    }
    parts
}

/// Blanks comments, string, byte-string, raw-string and char literals, keeping line
/// breaks so that line numbers stay right.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if !prev_ident && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) && {
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            c.get(j) == Some(&'"')
        } {
            // Raw string: r"…", r#"…"#, br"…".
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &c[i..j.min(c.len())] {
                blank(&mut out, ch);
            }
            i = j;
        } else if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'); otherwise a lifetime.
            let end = if c.get(i + 1) == Some(&'\\') {
                (i + 3..(i + 12).min(c.len())).find(|&j| c[j] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    for &ch in &c[i..=e] {
                        blank(&mut out, ch);
                    }
                    i = e + 1;
                }
                None => {
                    out.push(c[i]);
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Open,
    Close,
    Comma,
    Semi,
    Other(char),
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[s..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((
                match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    ';' => Tok::Semi,
                    o => Tok::Other(o),
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

/// Drops `#[cfg(test)]` items: the attribute, any further attributes, and the item up to
/// its closing brace or semicolon. Returns the remaining tokens and the names of
/// out-of-line test modules (`#[cfg(test)] mod tests;`).
fn drop_test_items(toks: Vec<(Tok, usize)>) -> (Vec<(Tok, usize)>, Vec<String>) {
    let is = |t: &[(Tok, usize)], i: usize, want: &[Tok]| {
        want.iter()
            .enumerate()
            .all(|(k, w)| t.get(i + k).map(|x| &x.0) == Some(w))
    };
    let cfg_test = [
        Tok::Other('#'),
        Tok::Other('['),
        Tok::Ident("cfg".into()),
        Tok::Other('('),
        Tok::Ident("test".into()),
        Tok::Other(')'),
        Tok::Other(']'),
    ];
    let mut out = Vec::new();
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !is(&toks, i, &cfg_test) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        i += cfg_test.len();
        // Further attributes.
        while is(&toks, i, &[Tok::Other('#'), Tok::Other('[')]) {
            let mut depth = 0;
            while i < toks.len() {
                match toks[i].0 {
                    Tok::Other('[') => depth += 1,
                    Tok::Other(']') => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        if let (Some((Tok::Ident(m), _)), Some((Tok::Ident(name), _)), Some((Tok::Semi, _))) =
            (toks.get(i), toks.get(i + 1), toks.get(i + 2))
            && m == "mod"
        {
            test_mods.push(name.clone());
        }
        let mut depth = 0;
        while i < toks.len() {
            match toks[i].0 {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                Tok::Semi if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    (out, test_mods)
}

/// Every path the code names, as (`crate::<top module>` or an external crate, line).
/// `super::` and `self::` are resolved against the file's module path; a group
/// (`use crate::{a::x, b}`) yields each of its members.
fn references(code: &str, module: &[String]) -> (Vec<(String, usize)>, Vec<String>) {
    let (toks, test_mods) = drop_test_items(tokens(code));
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let mut refs = Vec::new();
    for i in 0..toks.len() {
        let Some(root) = ident(i) else { continue };
        if i > 0 && toks[i - 1].0 == Tok::Path {
            continue; // not the start of a path
        }
        if toks.get(i + 1).map(|t| &t.0) != Some(&Tok::Path) {
            continue;
        }
        let line = toks[i].1;
        if ["axum", "sqlx"].contains(&root) {
            refs.push((root.to_string(), line));
            continue;
        }
        // The module the path starts from, and the token after its last `::`.
        let (base, mut j): (Vec<String>, usize) = match root {
            "crate" => (Vec::new(), i + 2),
            "self" => (module.to_vec(), i + 2),
            "super" => {
                let mut base = module.to_vec();
                base.pop();
                let mut j = i + 2;
                while ident(j) == Some("super") && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::Path)
                {
                    base.pop();
                    j += 2;
                }
                (base, j)
            }
            _ => continue,
        };
        if let Some(top) = base.first() {
            refs.push((format!("crate::{top}"), line));
            continue;
        }
        // At the crate root: the next segment, or each member of a group.
        let mut firsts = Vec::new();
        if toks.get(j).map(|t| &t.0) == Some(&Tok::Open) {
            let mut depth = 0;
            let mut expect = true;
            while j < toks.len() {
                match &toks[j].0 {
                    Tok::Open => {
                        depth += 1;
                        expect = depth == 1;
                    }
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Comma if depth == 1 => expect = true,
                    Tok::Ident(s) if expect && depth == 1 => {
                        firsts.push((s.clone(), toks[j].1));
                        expect = false;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else if let Some(s) = ident(j) {
            firsts.push((s.to_string(), toks[j].1));
        }
        for (s, l) in firsts {
            // Items the crate root re-exports.
            let top = match s.as_str() {
                "Ctx" => "ctx".to_string(),
                "Application" => "app".to_string(),
                "Clock" => "clock".to_string(),
                "Config" => "config".to_string(),
                _ => s,
            };
            refs.push((format!("crate::{top}"), l));
        }
    }
    (refs, test_mods)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every forbidden reference in the tree under `src`, as `file:line: …`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // Files that are test modules of another file (`#[cfg(test)] mod tests;`).
    let mut test_files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut found = Vec::new();
    let mut parsed = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap().to_path_buf();
        let text = std::fs::read_to_string(f).unwrap();
        let module = module_path(&rel);
        let (refs, test_mods) = references(&strip(&text), &module);
        let dir = if ["mod.rs", "lib.rs", "main.rs"]
            .contains(&f.file_name().and_then(|n| n.to_str()).unwrap_or_default())
        {
            f.parent().unwrap().to_path_buf()
        } else {
            f.with_extension("")
        };
        for m in test_mods {
            test_files.insert(dir.join(format!("{m}.rs")));
            test_files.insert(dir.join(&m).join("mod.rs"));
        }
        parsed.push((f.clone(), rel, refs));
    }
    for (f, rel, refs) in parsed {
        if test_files.contains(&f) {
            continue;
        }
        let rules = forbidden(layer_of(&rel));
        for (r, line) in refs {
            for (bad, why) in &rules {
                if r == *bad {
                    found.push(format!("src/{}:{line}: uses {r} ({why})", rel.display()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn no_layer_names_a_layer_above_it_and_the_domain_is_pure() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let v = violations(&src);
    assert!(
        v.is_empty(),
        "{} forbidden reference(s) between layers:\n{}",
        v.len(),
        v.join("\n")
    );
}

/// Runs the checker on a small tree written to a temporary directory.
fn check_tree(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    violations(dir.path())
}

#[test]
fn a_use_in_the_domain_of_the_store_or_of_axum_is_reported_with_its_line() {
    let v = check_tree(&[(
        "domain/tickets.rs",
        "use serde::Serialize;\nuse crate::store::Store;\nfn f() { let _ = axum::Json(1); }\n",
    )]);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        v[0].starts_with("src/domain/tickets.rs:2: uses crate::store"),
        "{v:?}"
    );
    assert!(
        v[1].starts_with("src/domain/tickets.rs:3: uses axum"),
        "{v:?}"
    );
}

#[test]
fn groups_super_paths_and_root_reexports_are_resolved() {
    let v = check_tree(&[
        (
            "store/desk.rs",
            "use crate::{domain::FieldError, web::AppState};\n",
        ),
        ("store/mod.rs", "pub mod desk;\n"),
        (
            "domain/monitor/spec.rs",
            "use super::super::super::error::AppError;\nuse super::super::text;\n",
        ),
        (
            "desk.rs",
            "use crate::Ctx;\nfn f() { crate::web::ui::x(); }\n",
        ),
    ]);
    assert_eq!(
        v,
        vec![
            "src/desk.rs:2: uses crate::web (services are called by web, jobs and the CLI, never the reverse)",
            "src/domain/monitor/spec.rs:1: uses crate::error (the domain is pure: no configuration, HTTP errors or storage)",
            "src/store/desk.rs:1: uses crate::web (the store serves the services, never calls them)",
        ]
    );
}

#[test]
fn comments_strings_and_test_code_are_not_read() {
    let v = check_tree(&[
        (
            "domain/text.rs",
            "//! Not `crate::store`.\n/* crate::web */\nconst S: &str = \"crate::error::X\";\n\
             const R: &str = r#\"sqlx::query\"#;\nfn f<'a>(c: char) -> bool { c == '\"' }\n\
             #[cfg(test)]\nmod tests {\n    use crate::store::Store;\n}\n\
             #[cfg(test)]\nmod more;\n",
        ),
        ("domain/text/more.rs", "use crate::store::Store;\n"),
        ("jobs/sla.rs", "use crate::desk;\n"),
    ]);
    assert!(v.is_empty(), "{v:?}");
}
