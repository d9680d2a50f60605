//! Backup oversight (issue 14): policies from the seed's data sets, their rules and roles,
//! the report URL shown once and re-issued.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn demo() -> TestApp {
    demo_at(bj(2025, 11, 3, 9, 0)).await
}

const GB: i64 = 1 << 30;

#[tokio::test]
async fn the_demo_has_one_policy_per_data_set_of_the_seed() {
    let app = demo().await;
    let t = &app.admin_token;
    let v = app
        .get_json_expect(t, "/api/v1/backup-policies?limit=100", StatusCode::OK)
        .await;
    assert_eq!(v["total"], 29, "{v}");
    let items = v["items"].as_array().unwrap();
    // Every full backup's expected maximum is 150 % of its data set's volume: the sum
    // gives back the seed's 41,901 GB.
    let max_sum: i64 = items
        .iter()
        .map(|p| p["expected_max_bytes"].as_i64().unwrap())
        .sum();
    assert_eq!(max_sum, 41_901 * GB * 3 / 2);
    let mobile: Vec<&Value> = items
        .iter()
        .filter(|p| p["system_code"] == "4.1.2.5")
        .collect();
    assert_eq!(mobile.len(), 3);
    let mut sizes: Vec<i64> = mobile
        .iter()
        .map(|p| p["expected_max_bytes"].as_i64().unwrap() * 2 / 3 / GB)
        .collect();
    sizes.sort();
    assert_eq!(sizes, [1, 300, 1500]);
    for p in items {
        assert_eq!(p["schedule"], "0 2 * * *");
        assert!(p["description"].as_str().unwrap().starts_with("演示数据"));
        assert!(p["note"].as_str().unwrap().contains("未规定备份计划"));
        // The token is never shown again.
        assert!(p.get("report_token").is_none() && p.get("report_url").is_none());
    }
    // Filters.
    let sid = system_id_by(&app, "code", "4.1.2.5").await;
    assert_eq!(
        app.total(&format!("/api/v1/backup-policies?system_id={sid}"))
            .await,
        3
    );
    assert_eq!(app.total("/api/v1/backup-policies?q=OBD").await, 1);
    assert_eq!(app.total("/api/v1/backup-policies?q=4.1.2.18").await, 1);
    let page = app
        .get_json_expect(
            t,
            "/api/v1/backup-policies?limit=10&offset=20",
            StatusCode::OK,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn a_policy_is_created_checked_changed_and_deleted_by_its_roles() {
    let app = demo().await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let (_, at) = app.user_with_role("jianli", "auditor").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let sid = system_id_by(&app, "code", "4.1.2.25").await;
    let body = json!({
        "system_id": sid, "data_set": "审计附件", "scope": "files", "method": "incremental",
        "schedule": "30 1 * * 1-5", "target": "offsite", "location": "灾备机房 NAS",
        "encrypted": true, "checksum_required": true, "drill_cadence": "half_yearly",
    });
    // The purchaser, 监理 and requesters may not write.
    for tok in [&st, &at, &rt] {
        let (s, _) = app.post(tok, "/api/v1/backup-policies", &body).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let before = app.audit_count().await;
    let p = app
        .post_expect(&et, "/api/v1/backup-policies", &body, StatusCode::CREATED)
        .await;
    assert_eq!(app.audit_count().await, before + 1);
    let id = p["id"].as_i64().unwrap();
    let token = p["report_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);
    assert_eq!(
        p["report_url"],
        format!("/api/v1/backup-runs/report/{token}")
    );
    // Defaults: grace, retention, shrink; an incremental backup up to the system's 100 GB.
    assert_eq!(p["grace_minutes"], 60);
    assert_eq!(p["retention_days"], 30);
    assert_eq!(p["shrink_percent"], 30);
    assert_eq!(p["expected_min_bytes"], Value::Null);
    assert_eq!(p["expected_max_bytes"], 100 * GB);
    assert_eq!(p["encrypted"], true);
    assert_eq!(p["drill_cadence_label"], "每半年");
    // The hash is stored, never the token.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM backup_policies WHERE id = $1")
        .bind(id)
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored.len(), 64);
    // Readers see it; requesters do not.
    for tok in [&st, &at] {
        let v = app
            .get_json_expect(
                tok,
                &format!("/api/v1/backup-policies/{id}"),
                StatusCode::OK,
            )
            .await;
        assert_eq!(v["data_set"], "审计附件");
        assert!(v.get("report_token").is_none());
    }
    let (s, _) = app
        .get_json(&rt, &format!("/api/v1/backup-policies/{id}"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get_json(&rt, "/api/v1/backup-policies").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The same data set twice is refused.
    let (s, v) = app.post(&et, "/api/v1/backup-policies", &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["data_set"]);
    // Every problem at once, nothing stored.
    let n = app.total("/api/v1/backup-policies").await;
    let (s, v) = app
        .post(
            &et,
            "/api/v1/backup-policies",
            &json!({
                "system_id": 999_999, "data_set": " ", "scope": "database", "method": "full",
                "schedule": "0 25 * * *", "target": "offsite", "retention_days": 0,
                "expected_min_bytes": 10, "expected_max_bytes": 5,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        fields(&v),
        [
            "data_set",
            "expected_max_bytes",
            "location",
            "retention_days",
            "schedule",
            "system_id"
        ]
    );
    let msg = v["error"]["details"].to_string();
    assert!(
        msg.contains("小时") && msg.contains("系统 999999 不存在"),
        "{msg}"
    );
    let (s, v) = app
        .post(
            &et,
            "/api/v1/backup-policies",
            &json!({"system_id": sid, "data_set": "x", "scope": "disk", "method": "full",
                "schedule": "@daily", "target": "local"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["scope"]);
    let (s, v) = app
        .post(
            &et,
            "/api/v1/backup-policies",
            &json!({"system_id": sid, "data_set": "x", "scope": "files", "method": "full",
                "schedule": "@daily", "target": "local", "colour": "red"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["colour"]);
    assert_eq!(app.total("/api/v1/backup-policies").await, n);

    // A change is checked as a whole and audited with before and after.
    let path = format!("/api/v1/backup-policies/{id}");
    let (s, v) = app.patch(&et, &path, &json!({"location": null})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["location"]);
    let (s, _) = app.patch(&st, &path, &json!({"retention_days": 7})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let before = app.audit_count().await;
    let v = app
        .patch_expect(
            &et,
            &path,
            &json!({"retention_days": 7, "expected_min_bytes": 1000, "shrink_percent": 50}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["retention_days"], 7);
    assert_eq!(v["expected_min_bytes"], 1000);
    assert_eq!(v["expected_max_bytes"], 100 * GB);
    assert_eq!(v["schedule"], "30 1 * * 1-5");
    assert_eq!(app.audit_count().await, before + 1);
    let (_, audit) = app
        .get_json(
            &at,
            &format!("/api/v1/audit-events?entity_type=backup_policies&entity_id={id}"),
        )
        .await;
    let update = audit["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"))
        .iter()
        .find(|e| e["action"] == "update")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(update["before"]["retention_days"], 30);
    assert_eq!(update["after"]["retention_days"], 7);

    // Re-issuing the URL gives a new token, shown once.
    let (s, _) = app
        .post(&st, &format!("{path}/report-url"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = app
        .post_expect(
            &et,
            &format!("{path}/report-url"),
            &json!({}),
            StatusCode::OK,
        )
        .await;
    let token2 = v["report_token"].as_str().unwrap();
    assert_ne!(token2, token);
    let stored2: String =
        sqlx::query_scalar("SELECT token_hash FROM backup_policies WHERE id = $1")
            .bind(id)
            .fetch_one(app.ctx.store.pool())
            .await
            .unwrap();
    assert_ne!(stored2, stored);

    // Deleted by a writer only.
    assert_eq!(app.delete(&st, &path).await, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&et, &path).await, StatusCode::NO_CONTENT);
    let (s, _) = app.get_json(&et, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&et, &path).await, StatusCode::NOT_FOUND);
}

/// A policy of `code`'s system with a daily 02:00 full backup of 1–10 GB; its id and token.
async fn policy(app: &TestApp, code: &str, name: &str) -> (i64, String) {
    let sid = system_id_by(app, "code", code).await;
    backup_policy(
        app,
        &json!({"system_id": sid, "data_set": name, "scope": "database", "method": "full",
                "schedule": "0 2 * * *", "target": "local", "checksum_required": true,
                "expected_min_bytes": GB, "expected_max_bytes": 10 * GB}),
    )
    .await
}

#[tokio::test]
async fn a_job_reports_through_its_url_and_a_start_pairs_with_its_end() {
    let app = demo().await;
    let (id, token) = policy(&app, "4.1.2.25", "审计库").await;
    let (other, other_token) = policy(&app, "4.1.2.24", "资金库").await;
    let audit = app.audit_count().await;
    // No login; the token authenticates.
    let (s, start) = report_backup_run(&app, &token, &json!({"status": "start"})).await;
    assert_eq!(s, StatusCode::OK, "{start}");
    assert_eq!(start["status"], "running");
    assert_eq!(start["policy_id"], id);
    app.clock.advance(chrono::Duration::minutes(20));
    let log = format!("{}done", "x".repeat(15_000));
    let (s, end) = report_backup_run(
        &app,
        &token,
        &json!({"status": "success", "size_bytes": 3 * GB, "checksum": "sha256:abc",
            "location": "/backup/audit.dump", "log_tail": log}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{end}");
    assert_eq!(end["id"], start["id"], "the end pairs with the start");
    assert_eq!(end["status"], "success");
    assert_eq!(end["size_bytes"], 3 * GB);
    assert_eq!(end["duration_seconds"], 1200.0);
    let tail = end["log_tail"].as_str().unwrap();
    assert!(
        tail.ends_with("done") && tail.contains("已截去前"),
        "{tail}"
    );
    assert!(tail.len() < 8 * 1024 + 100);
    // Reports are not audited (the runs are their own record).
    assert_eq!(app.audit_count().await, audit);
    // An end without a start is a run of its own, begun `duration_seconds` before.
    let (s, fail) = report_backup_run(
        &app,
        &other_token,
        &json!({"status": "fail", "duration_seconds": 60, "log_tail": "pg_dump: error"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(fail["policy_id"], other);
    assert_eq!(fail["status"], "fail");

    // A wrong or malformed token, or bad values, change nothing.
    let n = app.total("/api/v1/backup-runs").await;
    assert_eq!(n, 2);
    for bad in ["0".repeat(64), "nope".into()] {
        let (s, _) = report_backup_run(&app, &bad, &json!({"status": "start"})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = report_backup_run(&app, &token, &json!({"status": "done"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["status"]);
    let (s, v) = report_backup_run(
        &app,
        &token,
        &json!({"status": "success", "size_bytes": -1}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["size_bytes"]);
    assert_eq!(app.total("/api/v1/backup-runs").await, n);
    // A re-issued URL replaces the old one.
    let v = app
        .post_expect(
            &app.admin_token,
            &format!("/api/v1/backup-policies/{id}/report-url"),
            &json!({}),
            StatusCode::OK,
        )
        .await;
    let (s, _) = report_backup_run(&app, &token, &json!({"status": "start"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = report_backup_run(
        &app,
        v["report_token"].as_str().unwrap(),
        &json!({"status": "start"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A policy with runs is evidence: it cannot be deleted.
    assert_eq!(
        app.delete(&app.admin_token, &format!("/api/v1/backup-policies/{id}"))
            .await,
        StatusCode::CONFLICT
    );

    // The list and its filters.
    assert_eq!(
        app.total(&format!("/api/v1/backup-runs?policy_id={id}"))
            .await,
        2
    );
    let sid = system_id_by(&app, "code", "4.1.2.24").await;
    assert_eq!(
        app.total(&format!("/api/v1/backup-runs?system_id={sid}"))
            .await,
        1
    );
    assert_eq!(app.total("/api/v1/backup-runs?status=success").await, 1);
    assert_eq!(app.total("/api/v1/backup-runs?status=running").await, 1);
    assert_eq!(app.total("/api/v1/backup-runs?from=2025-11-04").await, 0);
    assert_eq!(
        app.total("/api/v1/backup-runs?from=2025-11-03&to=2025-11-03")
            .await,
        3
    );
    let (s, v) = app
        .get_json(&app.admin_token, "/api/v1/backup-runs?status=ok")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["status"]);
}

#[tokio::test]
async fn runs_recorded_by_hand_are_checked_audited_and_read_by_the_purchaser() {
    let app = demo().await;
    let (id, _) = policy(&app, "4.1.2.25", "审计库").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let body = json!({"policy_id": id, "status": "success", "started_at": "2025-11-02T02:00:00+08:00",
        "size_bytes": 2 * GB, "duration_seconds": 600, "checksum": "md5:1", "note": "磁带备份，手工登记"});
    for tok in [&st, &rt] {
        let (s, _) = app.post(tok, "/api/v1/backup-runs", &body).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let audit = app.audit_count().await;
    let v = app
        .post_expect(&et, "/api/v1/backup-runs", &body, StatusCode::CREATED)
        .await;
    assert_eq!(v["source"], "manual");
    assert_eq!(v["started_at"], "2025-11-01T18:00:00Z");
    assert_eq!(v["finished_at"], "2025-11-01T18:10:00Z");
    assert_eq!(app.audit_count().await, audit + 1);
    // Every problem at once, nothing stored.
    let (s, v) = app
        .post(
            &et,
            "/api/v1/backup-runs",
            &json!({"policy_id": 999_999, "status": "running", "started_at": "yesterday",
                "size_bytes": -5}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields(&v),
        ["policy_id", "size_bytes", "started_at", "status"]
    );
    let (s, v) = app
        .post(
            &et,
            "/api/v1/backup-runs",
            &json!({"policy_id": id, "status": "success", "started_at": "2030-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["started_at"]);
    assert_eq!(app.audit_count().await, audit + 1);
    // The purchaser reads; requesters do not.
    let v = app
        .get_json_expect(&st, "/api/v1/backup-runs", StatusCode::OK)
        .await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["note"], "磁带备份，手工登记");
    let (s, _) = app.get_json(&rt, "/api/v1/backup-runs").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn each_run_carries_its_flags() {
    let app = demo().await;
    let (id, token) = policy(&app, "4.1.2.25", "审计库").await;
    let mut got = Vec::new();
    for body in [
        json!({"status": "success", "size_bytes": 5 * GB, "checksum": "a"}),
        json!({"status": "success", "size_bytes": 3 * GB, "checksum": "b"}),
        json!({"status": "success", "size_bytes": GB / 2, "checksum": "c"}),
        json!({"status": "success", "size_bytes": 20 * GB, "checksum": "d"}),
        json!({"status": "success", "size_bytes": 4 * GB}),
        json!({"status": "fail", "log_tail": "disk full"}),
        json!({"status": "start"}),
    ] {
        // Minutes apart: the admin's session stays open (30 idle minutes).
        app.clock.advance(chrono::Duration::minutes(4));
        let (s, v) = report_backup_run(&app, &token, &body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        got.push(v["flags"].clone());
    }
    assert_eq!(
        got,
        [
            json!([]),
            // 3 GB is 40 % below the last good 5 GB.
            json!(["shrunk"]),
            // Below the expected 1 GB, and 83 % below the last good (3 GB: within the
            // range with a checksum).
            json!(["too_small", "shrunk"]),
            json!(["too_large"]),
            json!(["no_checksum"]),
            json!(["failed"]),
            json!([]),
        ]
    );
    // The list shows the same flags, latest first.
    let v = app
        .get_json_expect(
            &app.admin_token,
            &format!("/api/v1/backup-runs?policy_id={id}"),
            StatusCode::OK,
        )
        .await;
    let listed: Vec<Value> = each(&v["items"])
        .rev()
        .map(|r| r["flags"].clone())
        .collect();
    assert_eq!(listed, got);
    assert_eq!(v["items"][1]["flag_labels"], json!(["备份失败"]));
}

#[tokio::test]
async fn coverage_counts_expected_succeeded_failed_and_missed_runs() {
    let app = demo().await;
    let (_, _) = app.user_with_role("jia", "supervisor").await;
    let (id, token) = policy(&app, "4.1.2.25", "审计库").await;
    // December: the 1st and 5th in time, nothing on the 2nd, a failure on the 3rd, the
    // 4th's success after the 03:00 deadline.
    for (day, h, mi, status) in [
        (1, 2, 10, "success"),
        (3, 2, 5, "fail"),
        (4, 3, 30, "success"),
        (5, 2, 20, "success"),
    ] {
        app.clock.set(bj(2025, 12, day, h, mi));
        let (s, v) = report_backup_run(
            &app,
            &token,
            &json!({"status": status, "size_bytes": 2 * GB, "checksum": "x"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    app.clock.set(bj(2025, 12, 6, 0, 0));
    let t = app.login_ok("jia", "Changed#Pass2").await;
    let v = app
        .get_json_expect(&t, "/api/v1/backups/coverage?month=2025-12", StatusCode::OK)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 30, "29 demo + 1");
    let c = each(&v["items"]).find(|i| i["policy_id"] == id).unwrap();
    assert_eq!(c["expected"], 31);
    assert_eq!(c["due"], 5);
    assert_eq!(c["succeeded"], 3);
    assert_eq!(c["failed"], 1);
    assert_eq!(c["missed"], 3);
    assert_eq!(
        c["missed_at"],
        json!([
            "2025-12-01T18:00:00Z",
            "2025-12-02T18:00:00Z",
            "2025-12-03T18:00:00Z"
        ])
    );
    assert_eq!(c["success_rate"], 0.4);
    assert_eq!(c["last_good_run"]["started_at"], "2025-12-04T18:20:00Z");
    // The demo's policies have no runs: every due slot missed.
    let demo = each(&v["items"]).find(|i| i["policy_id"] != id).unwrap();
    assert_eq!(
        (demo["due"].clone(), demo["missed"].clone()),
        (json!(5), json!(5))
    );
    assert_eq!(demo["success_rate"], 0.0);
    // November, before the runs: nothing succeeded, and the slots count from the
    // policies' creation (3 November, 09:00): the 4th to the 30th.
    let v = app
        .get_json_expect(&t, "/api/v1/backups/coverage?month=2025-11", StatusCode::OK)
        .await;
    assert!(each(&v["items"]).all(|i| i["succeeded"] == 0));
    assert!(each(&v["items"]).all(|i| i["expected"] == 27));
    for bad in ["2025-13", "2025", "x"] {
        let (s, v) = app
            .get_json(&t, &format!("/api/v1/backups/coverage?month={bad}"))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["month"]);
    }
    let (s, _) = app.get_json(&t, "/api/v1/backups/coverage").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_public_report_url_is_throttled_per_client_address_tokens_guessed_or_not() {
    let app = demo().await;
    let body = json!({"status": "start"});
    for i in 0..yunwei::gate::BACKUP_REPORT_LIMIT {
        let (s, v) = report_backup_run(&app, &format!("guess{i}"), &body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
    let r = app
        .client
        .post(app.url("/api/v1/backup-runs/report/guess-again"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "too_many_requests");
    // A minute later the address may report again.
    app.clock.advance(chrono::Duration::seconds(61));
    let (s, _) = report_backup_run(&app, "guess-later", &body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
