//! Backup conditions become alerts and tickets (issue 14): a month of daily runs with a
//! missed, failed, too small, too large, shrunk and checksum-less one gives exactly one
//! alert and ticket each, each recovered by the next good run; the coverage and the
//! contract's backup target count the same month by hand; the missed-run watch alerts
//! within 5 s of the deadline.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yunwei::backup::alerts::{Watch, check_missed};

use crate::helpers::*;

const GB: i64 = 1 << 30;

/// A daily 02:00 full backup of 1–10 GB with a checksum required, grace 60 minutes.
async fn policy(app: &TestApp, code: &str) -> (i64, String) {
    let sid = system_id_by(app, "code", code).await;
    backup_policy(
        app,
        &json!({"system_id": sid, "data_set": "业务库", "scope": "database", "method": "full",
                "schedule": "0 2 * * *", "grace_minutes": 60, "target": "local",
                "checksum_required": true, "expected_min_bytes": GB,
                "expected_max_bytes": 10 * GB}),
    )
    .await
}

async fn report(app: &TestApp, token: &str, body: &Value) {
    let (s, v) = report_backup_run(app, token, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The backup alerts of policy `pid`, oldest first.
async fn backup_alerts(app: &TestApp, pid: i64) -> Vec<Value> {
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/alerts?source=backup&limit=100",
            StatusCode::OK,
        )
        .await;
    let prefix = format!("backup:{pid}:");
    let mut a: Vec<Value> = each(&v["items"])
        .filter(|a| a["dedup_key"].as_str().unwrap().starts_with(&prefix))
        .cloned()
        .collect();
    a.sort_by_key(|x| x["id"].as_i64());
    a
}

/// What happens on day `d` of November 2025.
#[derive(Clone, Copy)]
enum Day {
    Good(i64),
    Missed,
    Failed,
    /// A success without a checksum.
    NoSum(i64),
}

fn plan(d: u32) -> Day {
    use Day::*;
    match d {
        5 => Missed,
        10 | 11 => Failed,
        // Shrinking by less than 30 % a day is no alert.
        12 => Good(GB * 22 / 10),
        13 => Good(GB * 16 / 10),
        14 => Good(GB * 12 / 10),
        // Below the 1 GB minimum, but within 30 % of the 1.2 GB before: too small only.
        15 => Good(GB * 9 / 10),
        16 => Good(2 * GB),
        20 => Good(12 * GB),
        24 => Good(5 * GB),
        // 2 GB after 5 GB: shrunk by 60 %, but within the expected range.
        25 => Good(2 * GB),
        28 => NoSum(5 * GB),
        26.. => Good(5 * GB),
        _ => Good(3 * GB),
    }
}

#[tokio::test]
async fn a_month_of_runs_gives_one_alert_and_ticket_per_condition_and_each_recovers() {
    let mut app = demo_at(bj(2025, 11, 1, 0, 30)).await;
    let (pid, token) = policy(&app, "4.1.2.25").await;
    let mut watch = Watch::default();
    // Alerts open after each day: (day, key condition) as expected.
    let mut opened_on: Vec<(u32, String)> = Vec::new();
    for d in 1..=30u32 {
        app.clock.set(bj(2025, 11, d, 2, 0));
        match plan(d) {
            Day::Missed => {}
            Day::Failed => {
                report(&app, &token, &json!({"status": "start"})).await;
                app.clock.advance(chrono::Duration::minutes(5));
                report(
                    &app,
                    &token,
                    &json!({"status": "fail", "log_tail": "pg_dump: error: connection refused"}),
                )
                .await;
            }
            Day::Good(size) | Day::NoSum(size) => {
                report(&app, &token, &json!({"status": "start"})).await;
                app.clock.advance(chrono::Duration::minutes(20));
                let mut body = json!({"status": "success", "size_bytes": size,
                    "location": format!("/backup/{d}.dump")});
                if !matches!(plan(d), Day::NoSum(_)) {
                    body["checksum"] = json!(format!("sha256:{d:064}"));
                }
                report(&app, &token, &body).await;
            }
        }
        // The deadline (02:00 + 60 minutes), and half an hour later: one pass each.
        app.clock.set(bj(2025, 11, d, 3, 0));
        check_missed(&app.ctx, &mut watch).await.unwrap();
        app.clock.set(bj(2025, 11, d, 3, 30));
        check_missed(&app.ctx, &mut watch).await.unwrap();
        // The clock jumped past the idle timeout.
        app.admin_token = app.login_ok("admin", ADMIN_PASSWORD).await;
        if d == 5 || d == 6 {
            // A fresh watch (a restarted server) alerts nothing twice.
            check_missed(&app.ctx, &mut Watch::default()).await.unwrap();
        }
        for a in backup_alerts(&app, pid).await {
            let k = a["dedup_key"].as_str().unwrap().to_string();
            if !opened_on.iter().any(|(_, x)| *x == k) {
                opened_on.push((d, k));
            }
        }
        let open: Vec<String> = backup_alerts(&app, pid)
            .await
            .into_iter()
            .filter(|a| a["status"] != "resolved")
            .map(|a| a["dedup_key"].as_str().unwrap().to_string())
            .collect();
        let want: &[&str] = match d {
            5 => &["missed"],
            10 | 11 => &["failed"],
            15 => &["too_small"],
            20 => &["too_large"],
            25 => &["shrunk"],
            28 => &["no_checksum"],
            _ => &[],
        };
        let want: Vec<String> = want.iter().map(|c| format!("backup:{pid}:{c}")).collect();
        assert_eq!(open, want, "open alerts after day {d}");
    }
    let want: Vec<(u32, String)> = [
        (5, "missed"),
        (10, "failed"),
        (15, "too_small"),
        (20, "too_large"),
        (25, "shrunk"),
        (28, "no_checksum"),
    ]
    .iter()
    .map(|(d, c)| (*d, format!("backup:{pid}:{c}")))
    .collect();
    assert_eq!(opened_on, want, "one alert per condition");
    let alerts = backup_alerts(&app, pid).await;
    let sid = system_id_by(&app, "code", "4.1.2.25").await;
    for a in &alerts {
        // The two failed days are one episode: refired, not a second alert or ticket.
        assert_eq!(a["episodes"], 1, "{a}");
        assert_eq!(a["status"], "resolved", "{a}");
        assert_eq!(a["system_id"], sid);
        assert!(a["ticket_id"].as_i64().is_some(), "{a}");
    }
    let failed = alerts
        .iter()
        .find(|a| a["dedup_key"] == format!("backup:{pid}:failed"))
        .unwrap();
    assert_eq!(failed["fire_count"], 2, "{failed}");
    // One ticket each, in the system's name, saying what went wrong.
    let tickets: Vec<i64> = alerts
        .iter()
        .map(|a| a["ticket_id"].as_i64().unwrap())
        .collect();
    let mut distinct = tickets.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6);
    for (tid, a) in tickets.iter().zip(&alerts) {
        let t = app
            .get_json_expect(
                &app.admin_token,
                &format!("/api/v1/tickets/{tid}"),
                StatusCode::OK,
            )
            .await;
        assert_eq!(t["system_id"], sid, "{t}");
        assert_eq!(t["priority"], "P3");
        assert!(
            t["title"]
                .as_str()
                .unwrap()
                .contains(a["title"].as_str().unwrap()),
            "{t}"
        );
    }
    let missed = alerts
        .iter()
        .find(|a| a["dedup_key"] == format!("backup:{pid}:missed"))
        .unwrap();
    assert!(
        missed["title"]
            .as_str()
            .unwrap()
            .contains("备份未按计划执行"),
        "{missed}"
    );
    let failed_t = app
        .get_json_expect(
            &app.admin_token,
            &format!("/api/v1/tickets/{}", failed["ticket_id"]),
            StatusCode::OK,
        )
        .await;
    assert!(
        failed_t["description"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{failed_t}"
    );

    // The coverage counts the month as by hand: 30 slots, all due; 27 successes (the
    // flagged ones succeeded), 2 failures, and 3 slots without a success by the deadline.
    app.set_clock_relogin(bj(2025, 12, 1, 9, 0)).await;
    let v = backup_coverage(&app, "2025-11").await;
    let it = each(&v["items"]).find(|i| i["policy_id"] == pid).unwrap();
    assert_eq!(
        (
            &it["expected"],
            &it["due"],
            &it["succeeded"],
            &it["failed"],
            &it["missed"]
        ),
        (&json!(30), &json!(30), &json!(27), &json!(2), &json!(3)),
        "{it}"
    );
    assert_eq!(it["success_rate"], json!(27.0 / 30.0));
    // The contract's backup target over November: the demo's 29 data sets report nothing
    // (30 slots each, all missed) beside this policy's 27 of 30.
    let c = contract_for(&app, "2025-11").await;
    let b = each(&c["quality"]["targets"])
        .find(|x| x["key"] == "backup_success")
        .cloned()
        .unwrap();
    assert_eq!(b["measured_percent"], json!(3.0), "{b}");
    assert_eq!(b["basis"], "计划备份到期 900 次，按时成功 27 次");
}

#[tokio::test]
async fn a_run_recorded_by_hand_for_an_earlier_day_is_history_and_alerts_nothing() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let (pid, token) = policy(&app, "4.1.2.24").await;
    report(
        &app,
        &token,
        &json!({"status": "success", "size_bytes": 3 * GB, "checksum": "sha256:1"}),
    )
    .await;
    // A failure recorded by hand for the day before: older than the latest run.
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/backup-runs",
            &json!({"policy_id": pid, "status": "fail", "started_at": "2025-11-02T02:00:00+08:00",
                "duration_seconds": 60}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(v["status"], "fail");
    assert!(backup_alerts(&app, pid).await.is_empty());
    // A failure recorded now is the latest: it alerts.
    app.clock.advance(chrono::Duration::minutes(10));
    app.post_expect(
        &app.admin_token,
        "/api/v1/backup-runs",
        &json!({"policy_id": pid, "status": "fail", "started_at": "2025-11-03T09:05:00+08:00",
            "duration_seconds": 60}),
        StatusCode::CREATED,
    )
    .await;
    let a = backup_alerts(&app, pid).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["dedup_key"], format!("backup:{pid}:failed"));
}

#[tokio::test]
async fn the_watch_alerts_a_missed_run_within_5_seconds_of_its_deadline() {
    let mut app = spawn_with(Options {
        demo: true,
        start: Some(bj(2025, 11, 3, 1, 0)),
        monitoring: true,
        ..Options::default()
    })
    .await;
    let (pid, _) = policy(&app, "4.1.2.25").await;
    // Give the watch a pass before the deadline, then reach it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(backup_alerts(&app, pid).await.is_empty());
    app.clock.set(bj(2025, 11, 3, 3, 0));
    let t0 = std::time::Instant::now();
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    app.admin_token = token;
    let key = format!("backup:{pid}:missed");
    loop {
        if backup_alerts(&app, pid)
            .await
            .iter()
            .any(|a| a["dedup_key"] == key)
        {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "no missed-run alert 5 s after the deadline"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Exactly one alert for it, however many passes the watch made.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(backup_alerts(&app, pid).await.len(), 1);
}

fn self_backup_config(c: &mut yunwei::config::Config) {
    c.backup.self_policy_id = Some(1);
    c.backup.self_keep = 2;
    c.backup.self_dir = Some(c.data_dir.join("sb"));
}

#[tokio::test]
async fn the_scheduled_self_backup_keeps_the_newest_and_reports_into_its_policy() {
    use sha2::Digest;
    let app = demo_at_with(bj(2025, 11, 3, 3, 0), self_backup_config).await;
    // The demo's policy 1 expects a business system's size; yunwei's own is small.
    app.patch_expect(
        &app.admin_token,
        "/api/v1/backup-policies/1",
        &json!({"expected_min_bytes": 1024, "expected_max_bytes": GB}),
        StatusCode::OK,
    )
    .await;
    let dir = app.data_dir.join("sb");
    let mut last = None;
    for _ in 0..3 {
        let run = yunwei::backup::scheduled::run_once(&app.ctx)
            .await
            .unwrap()
            .expect("a run in policy 1");
        assert_eq!(run.policy_id, 1);
        assert_eq!(run.status, "success", "{:?}", run.log_tail);
        let file = std::path::PathBuf::from(run.location.clone().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(run.size_bytes, Some(bytes.len() as i64));
        assert_eq!(
            run.checksum.as_deref().unwrap(),
            format!("sha256:{}", hex_of(&sha2::Sha256::digest(&bytes)))
        );
        last = Some(file);
        app.clock.advance(chrono::Duration::minutes(1));
    }
    // Two kept, the newest among them; each restores (its archive verifies).
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let last = last.unwrap();
    assert!(last.ends_with(&names[1]));
    yunwei::selfbackup::verify_archive(&last).unwrap();
    assert!(backup_alerts(&app, 1).await.is_empty());
    // A backup that cannot be written is a failed run of the policy: it alerts.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a folder").unwrap();
    let run = yunwei::backup::scheduled::run_once(&app.ctx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "fail");
    assert!(!run.log_tail.clone().unwrap_or_default().is_empty());
    let a = backup_alerts(&app, 1).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["dedup_key"], "backup:1:failed");
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn builtin_self_backup_config(c: &mut yunwei::config::Config) {
    c.backup.self_schedule = "0 3 * * *".into();
    c.backup.self_keep = 2;
    c.backup.self_dir = Some(c.data_dir.join("sb"));
}

#[tokio::test]
async fn the_self_backup_reports_into_a_built_in_policy_that_alerts_when_a_run_is_missed() {
    let mut app = demo_at_with(bj(2025, 11, 3, 1, 0), builtin_self_backup_config).await;
    // The built-in policy is there from the start: the platform's own data, no system.
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/backup-policies?limit=200",
            StatusCode::OK,
        )
        .await;
    let builtin = items_where(&v, "builtin", "self");
    assert_eq!(builtin.len(), 1, "{v}");
    let p = builtin[0].clone();
    let pid = p["id"].as_i64().unwrap();
    assert!(p["system_id"].is_null(), "{p}");
    assert_eq!(p["system_name"], "运维平台（yunwei 自身）");
    assert_eq!(p["schedule"], "0 3 * * *");
    assert_eq!(p["checksum_required"], true);
    assert!(
        p["location"].as_str().unwrap().ends_with("sb"),
        "{}",
        p["location"]
    );
    // It is created once, audited as the system's act.
    let (_, auditor) = app.user_with_role("jianli", "auditor").await;
    let audit = app
        .get_json_expect(
            &auditor,
            &format!("/api/v1/audit-events?entity_type=backup_policies&entity_id={pid}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(audit["total"], 1, "{audit}");

    // A scheduled run reports into it, with its size and checksum.
    let run = yunwei::backup::scheduled::run_once(&app.ctx)
        .await
        .unwrap()
        .expect("a run in the built-in policy");
    assert_eq!(run.policy_id, pid);
    assert_eq!(run.status, "success", "{:?}", run.log_tail);
    assert!(run.checksum.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(run.system_name.as_deref(), Some("运维平台（yunwei 自身）"));
    assert!(backup_alerts(&app, pid).await.is_empty());

    // It cannot be deleted, but its expected size can be edited.
    let (status, body) = app
        .send_json(
            "DELETE",
            &app.admin_token,
            &format!("/api/v1/backup-policies/{pid}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(error_message(&body).contains("内置"));
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/backup-policies/{pid}"),
        &json!({"expected_min_bytes": 2048}),
        StatusCode::OK,
    )
    .await;

    // The next day's 03:00 run never comes: after the grace, a missed-run alert opens
    // a ticket that names the platform and carries no system.
    app.clock.advance(chrono::Duration::days(1));
    app.admin_token = app.login_ok("admin", ADMIN_PASSWORD).await;
    check_missed(&app.ctx, &mut Watch::default()).await.unwrap();
    let a = backup_alerts(&app, pid).await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["dedup_key"], format!("backup:{pid}:missed"));
    assert!(a[0]["system_id"].is_null(), "{}", a[0]);
    // Coverage lists it without counting it as one of the systems.
    let cov = backup_coverage(&app, "2025-11").await;
    let item = each(&cov["items"])
        .find(|i| i["policy_id"] == pid)
        .expect("the built-in policy in the coverage");
    assert!(item["system_id"].is_null());
    assert_eq!(item["missed"], 1, "{item}");
}
