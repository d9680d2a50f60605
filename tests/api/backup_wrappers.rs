//! The backup wrappers of `contrib/backup` (issue 14) run as subprocesses against the real
//! programs on loopback (pg_dump and PostgreSQL at 127.0.0.1:5432, mysqldump and MariaDB at
//! 127.0.0.1:3306, rsync and tar on temporary directories) and report to the real server
//! through a policy's report URL. A backup is listed as one successful run with the
//! artefact's size and sha256; a failing one as `fail` with the error in its log tail, the
//! script exiting non-zero. A missing program or server skips a test locally
//! ("SKIPPED: <prog> missing") and fails it in CI (YUNWEI_REQUIRE_PROBE_PEERS=1).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// The peers: the local PostgreSQL and MariaDB servers.
const PG_PEER: &str = "postgres://postgres@127.0.0.1:5432/test";
const MARIADB_PEER: &str = "mysql://root@127.0.0.1:3306/test";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/backup")
}

/// A peer is missing: the test is skipped, or fails in CI.
fn missing(what: &str) {
    assert!(
        std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
        "{what} is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
    );
    eprintln!("SKIPPED: {what} missing");
}

/// Whether the programs are all on the PATH (a missing one is reported by `missing`).
fn have(progs: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for prog in progs {
        if !std::env::split_paths(&path).any(|d| d.join(prog).is_file()) {
            missing(prog);
            return false;
        }
    }
    true
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test (or test process) uses.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros() % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("sha256:{:x}", Sha256::digest(&bytes))
}

fn size_of(path: &Path) -> i64 {
    i64::try_from(std::fs::metadata(path).unwrap().len()).unwrap()
}

/// The files of a directory whose names end with `suffix`, sorted.
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A daily policy with a checksum required and a size range of 1 byte to 1 GB: its id
/// and full report URL.
async fn policy(app: &TestApp, data_set: &str) -> (i64, String) {
    let sid = system_id_by(app, "code", "4.1.2.25").await;
    let p = app
        .post_expect(
            &app.admin_token,
            "/api/v1/backup-policies",
            &json!({"system_id": sid, "data_set": data_set, "scope": "database",
                "method": "full", "schedule": "0 2 * * *", "target": "local",
                "checksum_required": true, "expected_min_bytes": 1,
                "expected_max_bytes": 1 << 30}),
            StatusCode::CREATED,
        )
        .await;
    (
        p["id"].as_i64().unwrap(),
        app.url(p["report_url"].as_str().unwrap()),
    )
}

/// Runs a wrapper (`bash contrib/backup/<script> args`) with `env`, quick report retries
/// and none of the caller's backup variables.
async fn run(script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(scripts().join(script)).args(args);
    for k in [
        "YUNWEI_REPORT_URL",
        "YUNWEI_REPORT_JSON",
        "YUNWEI_REPORT_CURL_OPTS",
        "YUNWEI_LOG_FILE",
        "BACKUP_DIR",
        "BACKUP_KEEP",
        "BACKUP_NAME",
        "SOURCE_DIR",
        "RSYNC_TARGET",
        "RSYNC_MANIFEST",
        "RSYNC_MANIFEST_MODE",
        "PGDATABASE",
        "MYSQL_DATABASE",
        "MYSQL_PWD",
        "MYSQL_DEFAULTS_FILE",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("YUNWEI_REPORT_RETRIES", "1")
        .env("YUNWEI_REPORT_BACKOFF", "0")
        .env("YUNWEI_REPORT_TIMEOUT", "10")
        .env("YUNWEI_LOCATION_HOST", "backup-host");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} took over 2 minutes"))
        .unwrap_or_else(|e| panic!("run {script}: {e}"))
}

/// The policy's runs (with `status` when given), latest first.
async fn runs(app: &TestApp, policy_id: i64, status: Option<&str>) -> Vec<Value> {
    let mut path = format!("/api/v1/backup-runs?policy_id={policy_id}&limit=100");
    if let Some(s) = status {
        path.push_str(&format!("&status={s}"));
    }
    let v = app
        .get_json_expect(&app.admin_token, &path, StatusCode::OK)
        .await;
    v["items"].as_array().unwrap().clone()
}

/// Asserts that the wrapper succeeded and that its run, the policy's latest of `count`
/// (each start paired with its end), is a success with the artefact's size (or `size`),
/// sha256 and location (or `location`), and no flag. Answers the run.
async fn assert_success(
    app: &TestApp,
    policy_id: i64,
    out: &Output,
    artefact: &Path,
    (size, location): (Option<i64>, Option<&Path>),
    count: usize,
) -> Value {
    assert!(
        out.status.success(),
        "the wrapper failed ({:?}): {}",
        out.status,
        text(&out.stderr)
    );
    let all = runs(app, policy_id, None).await;
    assert_eq!(all.len(), count, "one run per backup: {all:?}");
    let r = &all[0];
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(r["source"], "report");
    assert_eq!(r["size_bytes"], size.unwrap_or_else(|| size_of(artefact)));
    assert_eq!(r["checksum"], sha256_of(artefact));
    assert_eq!(
        r["location"],
        format!("backup-host:{}", location.unwrap_or(artefact).display()),
        "{r}"
    );
    assert!(r["duration_seconds"].as_f64().unwrap() >= 0.0, "{r}");
    assert!(r["finished_at"].is_string(), "{r}");
    assert_eq!(r["flags"], json!([]), "{r}");
    assert!(r["log_tail"].as_str().unwrap().contains("done: "), "{r}");
    r.clone()
}

/// Asserts that the wrapper failed and that the policy's one failed run carries `needle`
/// in its log tail.
async fn assert_failure(app: &TestApp, policy_id: i64, out: &Output, needle: &str) {
    assert!(
        !out.status.success(),
        "the wrapper should fail: {}",
        text(&out.stderr)
    );
    let failed = runs(app, policy_id, Some("fail")).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let r = &failed[0];
    let tail = r["log_tail"].as_str().unwrap_or_default();
    assert!(
        tail.contains(needle),
        "{needle:?} not in the log tail: {tail}"
    );
    assert!(tail.contains("backup FAILED"), "{tail}");
    assert_eq!(r["flags"], json!(["failed"]));
    assert!(r["duration_seconds"].as_f64().is_some(), "{r}");
    // The start was paired with its failure: nothing is left running.
    assert!(runs(app, policy_id, Some("running")).await.is_empty());
    // The error is on the script's stderr too.
    assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
}

async fn demo() -> TestApp {
    demo_at(bj(2025, 11, 3, 9, 0)).await
}

/// The demo, a policy for `data_set` (its id and report URL) and a scratch directory.
async fn with_policy(data_set: &str) -> (TestApp, i64, String, tempfile::TempDir) {
    let app = demo().await;
    let (id, report_url) = policy(&app, data_set).await;
    (app, id, report_url, tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn pg_dump_wrapper_dumps_a_real_database_and_reports_it() {
    if !have(&["bash", "curl", "pg_dump", "pg_restore"]) {
        return;
    }
    use sqlx::Connection;
    let Ok(mut admin) = sqlx::PgConnection::connect(PG_PEER).await else {
        missing("PostgreSQL at 127.0.0.1:5432");
        return;
    };
    let db = unique("yunwei_test_wrap");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE wrap_items (id int PRIMARY KEY, name text NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO wrap_items SELECT g, '巡检记录 ' || g FROM generate_series(1, 500) g")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let (app, id, report_url, dir) = with_policy("pg_dump 包装脚本").await;
    let out_dir = dir.path().join("dumps");
    let out_s = out_dir.to_str().unwrap();
    let env = [
        ("YUNWEI_REPORT_URL", report_url.as_str()),
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", "5432"),
        ("PGUSER", "postgres"),
    ];
    let out = run("pg_dump.sh", &["-d", &db, "-o", out_s, "-k", "3"], &env).await;
    // Dropped before any assertion, so that a failing test leaves no database behind.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let dumps = files_in(&out_dir, ".dump");
    assert_eq!(dumps.len(), 1, "{dumps:?}: {}", text(&out.stderr));
    assert_success(&app, id, &out, &dumps[0], (None, None), 1).await;
    // A real custom-format dump of the table.
    let list = std::process::Command::new("pg_restore")
        .arg("--list")
        .arg(&dumps[0])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        text(&list.stdout).contains("TABLE public wrap_items"),
        "{}",
        text(&list.stdout)
    );

    // A database that does not exist: `fail` with pg_dump's error, no partial file left.
    let wrong = format!("{db}_missing");
    let out = run("pg_dump.sh", &["-d", &wrong, "-o", out_s], &env).await;
    assert_failure(
        &app,
        id,
        &out,
        &format!("database \"{wrong}\" does not exist"),
    )
    .await;
    assert_eq!(
        files_in(&out_dir, "").len(),
        1,
        "only the good dump is left"
    );
    assert_eq!(runs(&app, id, None).await.len(), 2);
}

#[tokio::test]
async fn mysqldump_wrapper_dumps_a_real_mariadb_database_and_reports_it() {
    if !have(&["bash", "curl", "mysqldump", "gzip"]) {
        return;
    }
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::MySqlConnection::connect(MARIADB_PEER).await else {
        missing("MariaDB at 127.0.0.1:3306 (root, no password)");
        return;
    };
    let db = unique("yunwei_wrap");
    for q in [
        format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"),
        format!(
            "CREATE TABLE {db}.wrap_items (id INT PRIMARY KEY, name VARCHAR(100)) ENGINE=InnoDB"
        ),
        format!("INSERT INTO {db}.wrap_items VALUES (1, '数据库备份'), (2, 'O''Brien'), (3, 'x')"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(q))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    let (app, id, report_url, dir) = with_policy("mysqldump 包装脚本").await;
    let out_dir = dir.path().join("dumps");
    let out_s = out_dir.to_str().unwrap();
    let env = [
        ("YUNWEI_REPORT_URL", report_url.as_str()),
        ("MYSQL_HOST", "127.0.0.1"),
        ("MYSQL_PORT", "3306"),
        ("MYSQL_USER", "root"),
    ];
    let out = run("mysqldump.sh", &["-d", &db, "-o", out_s], &env).await;
    // Dropped before any assertion, so that a failing test leaves no database behind.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let dumps = files_in(&out_dir, ".sql.gz");
    assert_eq!(dumps.len(), 1, "{dumps:?}: {}", text(&out.stderr));
    assert_success(&app, id, &out, &dumps[0], (None, None), 1).await;
    // A real dump of the table, gzip-compressed and complete.
    let mut sql = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&dumps[0]).unwrap())
        .read_to_string(&mut sql)
        .unwrap();
    assert!(sql.contains("CREATE TABLE `wrap_items`"), "{sql}");
    assert!(
        sql.contains("数据库备份") && sql.contains("O\\'Brien"),
        "{sql}"
    );
    assert!(sql.contains("Dump completed"), "{sql}");

    // A database that does not exist: `fail` with mysqldump's error.
    let wrong = format!("{db}_missing");
    let out = run("mysqldump.sh", &["-d", &wrong, "-o", out_s], &env).await;
    assert_failure(&app, id, &out, &format!("Unknown database '{wrong}'")).await;
    assert_eq!(
        files_in(&out_dir, "").len(),
        1,
        "only the good dump is left"
    );
}

/// `make_tree` under `dir`/data, and `dir`/archives for the archives (not made yet).
fn tree_and_archives(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("data");
    make_tree(&src);
    (src, dir.join("archives"))
}

/// A small tree: nested directories, a Chinese name, a file of 100 KB.
fn make_tree(root: &Path) -> i64 {
    std::fs::create_dir_all(root.join("附件/2025")).unwrap();
    std::fs::write(root.join("readme.txt"), "运维平台附件\n").unwrap();
    std::fs::write(root.join("附件/2025/合同.pdf"), vec![7u8; 100 * 1024]).unwrap();
    std::fs::write(root.join("附件/empty"), b"").unwrap();
    ("运维平台附件\n".len() + 100 * 1024) as i64
}

#[tokio::test]
async fn rsync_wrapper_mirrors_a_directory_and_reports_its_manifest() {
    if !have(&["bash", "curl", "rsync", "find", "sha256sum"]) {
        return;
    }
    let (app, id, report_url, dir) = with_policy("rsync 包装脚本").await;
    let src = dir.path().join("source");
    let total = make_tree(&src);
    let target = dir.path().join("mirror/attachments");
    let manifest = dir.path().join("mirror/attachments.manifest");
    let env = [("YUNWEI_REPORT_URL", report_url.as_str())];
    let (src_s, target_s) = (src.to_str().unwrap(), target.to_str().unwrap());
    let out = run("rsync.sh", &["-s", src_s, "-t", target_s], &env).await;
    let r = assert_success(
        &app,
        id,
        &out,
        &manifest,
        (Some(total), Some(target.as_path())),
        1,
    )
    .await;
    // The run's location is the target; the manifest lists every file with its size.
    assert_eq!(
        std::fs::read(target.join("附件/2025/合同.pdf")).unwrap(),
        vec![7u8; 100 * 1024]
    );
    let listed = std::fs::read_to_string(&manifest).unwrap();
    let rows: Vec<(&str, &str)> = listed
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0], f[1])
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("readme.txt", "19"),
            ("附件/2025/合同.pdf", "102400"),
            ("附件/empty", "0")
        ],
        "{listed}"
    );
    let tail = r["log_tail"].as_str().unwrap();
    assert!(tail.contains("Total transferred file size"), "{tail}");

    // Again with a file added and the manifest of sha256 sums: its own run.
    std::fs::write(src.join("新增.txt"), "增量").unwrap();
    let out = run(
        "rsync.sh",
        &["-s", src_s, "-t", target_s],
        &[
            ("YUNWEI_REPORT_URL", report_url.as_str()),
            ("RSYNC_MANIFEST_MODE", "sha256"),
        ],
    )
    .await;
    let total = total + "增量".len() as i64;
    assert_success(
        &app,
        id,
        &out,
        &manifest,
        (Some(total), Some(target.as_path())),
        2,
    )
    .await;
    let listed = std::fs::read_to_string(&manifest).unwrap();
    let readme = format!(
        "{:x}  ./readme.txt",
        Sha256::digest("运维平台附件\n".as_bytes())
    );
    assert!(listed.lines().any(|l| l == readme), "{listed}");
    assert_eq!(listed.lines().count(), 4, "{listed}");

    // A source that does not exist.
    let gone = dir.path().join("gone");
    let out = run(
        "rsync.sh",
        &["-s", gone.to_str().unwrap(), "-t", target_s],
        &env,
    )
    .await;
    assert_failure(
        &app,
        id,
        &out,
        &format!("does not exist: {}", gone.display()),
    )
    .await;
}

#[tokio::test]
async fn tar_wrapper_archives_a_directory_keeps_the_newest_and_reports_each() {
    if !have(&["bash", "curl", "tar", "gzip"]) {
        return;
    }
    let (app, id, report_url, dir) = with_policy("tar 包装脚本").await;
    let (src, out_dir) = tree_and_archives(dir.path());
    let (src_s, out_s) = (src.to_str().unwrap(), out_dir.to_str().unwrap());
    let env = [("YUNWEI_REPORT_URL", report_url.as_str())];
    // Three runs keeping two archives.
    let mut made = Vec::new();
    for n in 1..=3 {
        let out = run("tar.sh", &["-s", src_s, "-o", out_s, "-k", "2"], &env).await;
        let archives = files_in(&out_dir, ".tar.gz");
        let newest = archives.last().unwrap().clone();
        assert_success(&app, id, &out, &newest, (None, None), n).await;
        made.push(newest);
    }
    assert_eq!(files_in(&out_dir, ""), made[1..], "the oldest was removed");
    let list = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&made[2])
        .output()
        .unwrap();
    let names = text(&list.stdout);
    assert!(
        names.lines().any(|l| l == "data/附件/2025/合同.pdf"),
        "{names}"
    );

    let gone = dir.path().join("gone");
    let out = run("tar.sh", &["-s", gone.to_str().unwrap(), "-o", out_s], &env).await;
    assert_failure(
        &app,
        id,
        &out,
        &format!("does not exist: {}", gone.display()),
    )
    .await;
    assert_eq!(
        files_in(&out_dir, "").len(),
        2,
        "no partial archive is left"
    );
}

#[tokio::test]
async fn a_report_that_fails_never_fails_the_backup() {
    if !have(&["bash", "curl", "tar", "gzip"]) {
        return;
    }
    let (app, id, _, dir) = with_policy("上报失败").await;
    let (src, out_dir) = tree_and_archives(dir.path());
    let (src_s, out_s) = (src.to_str().unwrap(), out_dir.to_str().unwrap());
    let nobody = format!(
        "http://127.0.0.1:{}/api/v1/backup-runs/report/x",
        free_port()
    );
    let wrong_token = app.url(&format!("/api/v1/backup-runs/report/{}", "0".repeat(64)));
    for (url, said) in [
        (nobody.as_str(), "not reported after 2 attempts"),
        (wrong_token.as_str(), "report refused (HTTP 404)"),
        ("", "YUNWEI_REPORT_URL is not set"),
    ] {
        let out = run(
            "tar.sh",
            &["-s", src_s, "-o", out_s, "-k", "0"],
            &[("YUNWEI_REPORT_URL", url)],
        )
        .await;
        let err = text(&out.stderr);
        assert!(out.status.success(), "{url}: {err}");
        assert!(err.contains(said), "{url}: {err}");
    }
    assert_eq!(files_in(&out_dir, ".tar.gz").len(), 3);
    assert!(runs(&app, id, None).await.is_empty());
}

#[tokio::test]
async fn the_log_tail_is_sent_as_valid_json_by_every_encoder() {
    if !have(&["bash", "curl"]) {
        return;
    }
    let (app, id, report_url, dir) = with_policy("日志编码").await;
    // Over 4 KB: the tail is cut inside the run of 中 (3 bytes each); then quotes,
    // backslashes, a tab, a carriage return, control characters and an invalid byte.
    let mut log = "x".repeat(5000).into_bytes();
    log.extend("\n".as_bytes());
    log.extend("中".repeat(1400).as_bytes());
    log.extend(b"\nq\"uote\\back\ttab\rcr\x01ctl\x7f \xe4\xb8\xad\xe6\x96\x87 \xff end\n");
    let log_file = dir.path().join("job-output");
    std::fs::write(&log_file, &log).unwrap();
    let job = dir.path().join("job.sh");
    std::fs::write(
        &job,
        format!(
            "set -euo pipefail\n. '{}/yunwei-report.sh'\nyw_begin encoder\ncat \"$1\" >>\"$YW_LOG\"\nexit 3\n",
            scripts().display()
        ),
    )
    .unwrap();
    let mut encoders = vec!["sh"];
    for e in ["python3", "jq"] {
        if have(&[e]) {
            encoders.push(e);
        }
    }
    for (n, enc) in encoders.iter().enumerate() {
        let out = run(
            job.to_str().unwrap(),
            &[log_file.to_str().unwrap()],
            &[
                ("YUNWEI_REPORT_URL", report_url.as_str()),
                ("YUNWEI_REPORT_JSON", enc),
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(3), "{enc}: {}", text(&out.stderr));
        let failed = runs(&app, id, Some("fail")).await;
        assert_eq!(failed.len(), n + 1, "{enc}: {}", text(&out.stderr));
        let tail = failed[0]["log_tail"].as_str().unwrap();
        assert!(tail.starts_with("中中中"), "{enc}: {tail}");
        assert!(tail.len() <= 4096 + 2, "{enc}: {} bytes", tail.len());
        assert!(
            tail.contains("q\"uote\\back\ttab\rcrctl 中文 "),
            "{enc}: {tail:?}"
        );
        assert!(tail.contains(" end\n"), "{enc}: {tail:?}");
        assert!(
            tail.ends_with("backup FAILED (exit status 3)"),
            "{enc}: {tail:?}"
        );
    }
    assert_eq!(runs(&app, id, None).await.len(), encoders.len());
}
