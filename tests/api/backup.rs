//! Backup oversight (issue 14): policies from the seed's data sets, their rules and roles,
//! the report URL shown once and re-issued.

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn bj(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    yunwei::clock::beijing()
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn demo() -> TestApp {
    spawn_with(Options {
        demo: true,
        start: Some(bj(2025, 11, 3, 9, 0)),
        ..Options::default()
    })
    .await
}

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    f.sort();
    f
}

const GB: i64 = 1 << 30;

async fn system_id(app: &TestApp, code: &str) -> i64 {
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/systems?limit=100",
            StatusCode::OK,
        )
        .await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == code)
        .and_then(|s| s["id"].as_i64())
        .unwrap_or_else(|| panic!("no system {code}"))
}

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
    let sid = system_id(&app, "4.1.2.5").await;
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
    let sid = system_id(&app, "4.1.2.25").await;
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
