//! The contract record (issue 13, item 1): the seed's figures, the quality targets measured
//! from the records or answered as null with their reason, who may edit, bad input refused
//! with nothing changed, and the audit records. Also the helpers of `deliverables`.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An hour in Beijing as UTC (the contract's tests need no minutes).
pub(crate) fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    crate::helpers::bj(y, m, d, h, 0)
}

/// The deliverable of a section whose name contains `part`.
pub(crate) async fn deliverable(app: &TestApp, section: &str, part: &str) -> Value {
    let all = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/deliverables?limit=500",
            StatusCode::OK,
        )
        .await;
    each(&all["items"])
        .find(|d| d["section"] == section && d["name"].as_str().unwrap().contains(part))
        .cloned()
        .unwrap_or_else(|| panic!("no deliverable {section} {part}"))
}

pub(crate) async fn instances(app: &TestApp, id: i64, q: &str) -> Vec<Value> {
    // A fresh session: the tests move the clock past the idle timeout.
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    let v = app
        .get_json_expect(
            &token,
            &format!("/api/v1/deliverables/{id}/instances{q}"),
            StatusCode::OK,
        )
        .await;
    v["items"].as_array().unwrap().clone()
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = file_form(name, bytes);
    app.post_multipart(token, path, form).await
}

/// The audit records of one kind of entity.
pub(crate) async fn audits_of(app: &TestApp, entity: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE entity_type = $1")
        .bind(entity.to_string())
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap()
}

pub(crate) async fn messages(app: &TestApp, token: &str) -> Vec<String> {
    let v = app
        .get_json_expect(token, "/api/v1/me/messages?limit=100", StatusCode::OK)
        .await;
    each(&v["items"])
        .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn the_demo_contract_carries_the_seed_figures_and_reports_targets_without_data_as_null() {
    let app = demo_at(bj(2024, 10, 14, 9)).await;
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let c = app
        .get_json_expect(&sup, "/api/v1/contract?period=2024-10", StatusCode::OK)
        .await;
    assert_eq!(c["total_wan"], 1358.41);
    let amounts: Vec<f64> = each(&c["budget_lines"])
        .map(|b| b["amount_wan"].as_f64().unwrap())
        .collect();
    assert_eq!(amounts, [21.14, 392.76, 944.51]);
    let ms: Vec<(f64, f64)> = each(&c["milestones"])
        .map(|m| {
            (
                m["percent"].as_f64().unwrap(),
                m["amount_wan"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ms, [(60.0, 815.05), (30.0, 407.52), (10.0, 135.84)]);
    assert!(
        c["milestones"][1]["condition"]
            .as_str()
            .unwrap()
            .contains("8个月后")
    );
    assert_eq!(
        c["om_period"],
        json!({"from": "2024-09-22", "to": "2025-09-21"})
    );
    assert_eq!(
        c["operations_period"],
        json!({"from": "2024-09-24", "to": "2025-09-23"})
    );
    assert_eq!(c["parties"]["purchaser"], "广东省生态环境厅");
    let q = &c["quality"];
    assert_eq!(q["label"], "2024 年 10 月");
    let t = q["targets"].as_array().unwrap();
    let keys: Vec<&str> = t.iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "sla_compliance",
            "onsite_2h",
            "inspection_completion",
            "rectification",
            "satisfaction",
            "availability",
            "backup_success"
        ]
    );
    // No records yet: every measured value is null with its reason, never a made-up number.
    for x in t {
        assert!(x["measured_percent"].is_null(), "{x}");
        assert!(x["met"].is_null(), "{x}");
        assert!(!x["reason"].as_str().unwrap().is_empty(), "{x}");
    }
    let backup = t.iter().find(|x| x["key"] == "backup_success").unwrap();
    assert!(backup["reason"].as_str().unwrap().contains("备份"));
    // Requesters do not see the contract; a bad period is a 422.
    let (_, req) = app.user_with_role("baozhang", "requester").await;
    assert_eq!(
        app.get(&req, "/api/v1/contract").await.status(),
        StatusCode::FORBIDDEN
    );
    let (s, v) = app.get_json(&sup, "/api/v1/contract?period=2024-13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn the_satisfaction_target_is_measured_from_the_rated_work_records() {
    let app = demo_at(bj(2024, 10, 14, 9)).await;
    let lines = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/service-lines?limit=100",
            StatusCode::OK,
        )
        .await;
    let line = each(&lines["items"])
        .find(|l| l["code"] == "4.2.8")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    // Four support records rated by their requesters through the confirmation link.
    let anon = reqwest::Client::new();
    for (i, rating) in ["非常满意", "满意", "一般", "满意"].iter().enumerate() {
        let r = app
            .post_expect(
                &mgr,
                "/api/v1/work-records",
                &json!({"line_id": line, "type": "support", "summary": format!("咨询 {i}"),
                        "occurred_at": "2024-10-10 10:00", "channel": "电话",
                        "result": "已解决", "requester": "张三", "duration_minutes": 10}),
                StatusCode::CREATED,
            )
            .await;
        let link = app
            .post_expect(
                &mgr,
                &format!("/api/v1/work-records/{}/confirmation", r["id"]),
                &json!({}),
                StatusCode::CREATED,
            )
            .await;
        let path = link["path"].as_str().unwrap().to_string();
        let res = anon
            .post(app.url(&path))
            .form(&[("rating", *rating)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let c = app
        .get_json_expect(
            &mgr,
            "/api/v1/contract?from=2024-10-01&to=2024-10-31",
            StatusCode::OK,
        )
        .await;
    let sat = each(&c["quality"]["targets"])
        .find(|x| x["key"] == "satisfaction")
        .cloned()
        .unwrap();
    assert_eq!(sat["measured_percent"], 75.0, "{sat}");
    assert_eq!(sat["met"], false, "target 90 %: {sat}");
    // Another month has none of them.
    let c = app
        .get_json_expect(&mgr, "/api/v1/contract?period=2024-11", StatusCode::OK)
        .await;
    let sat = each(&c["quality"]["targets"])
        .find(|x| x["key"] == "satisfaction")
        .cloned()
        .unwrap();
    assert!(sat["measured_percent"].is_null());
}

#[tokio::test]
async fn only_the_purchaser_or_the_admin_edits_the_contract_and_each_edit_is_audited() {
    let app = demo_at(bj(2024, 10, 14, 9)).await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let (_, aud) = app.user_with_role("jianli", "auditor").await;
    let before = app
        .get_json_expect(&sup, "/api/v1/contract", StatusCode::OK)
        .await;
    let audits = app.audit_count().await;
    let body = json!({"parties": {"purchaser": "广东省生态环境厅", "contractor": "某某科技有限公司", "supervisor": "某监理公司"}});
    for t in [&mgr, &aud] {
        let (s, v) = app.patch(t, "/api/v1/contract", &body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    // Bad input: every problem named, nothing changed.
    let bad = json!({"milestones": [{"name": "首期款", "percent": 60, "condition": "签订后"},
                                     {"name": "尾款", "percent": 30, "condition": "验收后"}],
                     "om_period": {"from": "2025-09-21", "to": "2024-09-22"},
                     "quality_targets": [{"key": "availability", "target_percent": 120}]});
    let (s, v) = app.patch(&sup, "/api/v1/contract", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        fields(&v),
        [
            "milestones",
            "om_period.to",
            "quality_targets[0].target_percent"
        ]
    );
    assert!(v["error"]["details"].to_string().contains("100%"));
    let (s, v) = app
        .patch(&sup, "/api/v1/contract", &json!({"budget": 1}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .patch(
            &sup,
            "/api/v1/contract",
            &json!({"quality_targets": [{"key": "uptime", "target_percent": 99}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.audit_count().await, audits);
    let same = app
        .get_json_expect(&sup, "/api/v1/contract", StatusCode::OK)
        .await;
    assert_eq!(same["parties"], before["parties"]);
    assert_eq!(same["milestones"], before["milestones"]);
    // The purchaser's edit is stored and audited with before and after.
    let v = app
        .patch_expect(&sup, "/api/v1/contract", &body, StatusCode::OK)
        .await;
    assert_eq!(v["parties"]["contractor"], "某某科技有限公司");
    let v = app
        .patch_expect(
            &app.admin_token,
            "/api/v1/contract",
            &json!({"quality_targets": [{"key": "availability", "target_percent": 99.9, "note": "合同约定"}]}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["quality_targets"].as_array().unwrap().len(), 1);
    assert_eq!(app.audit_count().await, audits + 2);
    let ev = app
        .get_json_expect(&aud, "/api/v1/audit-events?limit=5", StatusCode::OK)
        .await;
    let e = each(&ev["items"])
        .find(|e| e["entity_type"] == "contract" && e["actor"] == "jiafang")
        .cloned()
        .unwrap_or_else(|| panic!("no contract audit event: {ev}"));
    assert_eq!(e["before"]["parties"]["contractor"], "", "{e}");
}

#[tokio::test]
async fn without_a_record_the_contract_asks_for_one_and_the_first_patch_must_give_it_whole() {
    let app = spawn_app().await;
    let (s, v) = app.get_json(&app.admin_token, "/api/v1/contract").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(error_message(&v).contains("尚未录入合同信息"));
    // No service periods: no due dates either.
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let d = app
        .post_expect(
            &mgr,
            "/api/v1/deliverables",
            &json!({"section": "4.1.1", "name": "月度巡检报告", "area": "infrastructure", "cadence": "monthly",
                    "due": {"anchor": "period_end", "days": 5, "working": true}, "report_kind": "inspection_monthly"}),
            StatusCode::CREATED,
        )
        .await;
    let (s, v) = app
        .get_json(&mgr, &format!("/api/v1/deliverables/{}/instances", d["id"]))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // A partial first record names every missing part.
    let (s, v) = app
        .patch(
            &app.admin_token,
            "/api/v1/contract",
            &json!({"project_name": "某项目"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        fields(&v),
        [
            "budget_lines",
            "milestones",
            "om_period.from",
            "operations_period.from",
            "parties.purchaser"
        ]
    );
    let (s, v) = app
        .patch(&app.admin_token, "/api/v1/contract", &json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let whole = json!({
        "project_name": "某项目", "parties": {"purchaser": "某厅"},
        "om_period": {"from": "2025-01-01", "to": "2025-12-31"},
        "operations_period": {"from": "2025-01-01", "to": "2025-12-31"},
        "budget_lines": [{"key": "all", "name": "全部", "amount_wan": 100.5}],
        "milestones": [{"name": "一次付清", "percent": 100, "condition": "验收后"}],
        "quality_targets": []});
    let v = app
        .patch_expect(&app.admin_token, "/api/v1/contract", &whole, StatusCode::OK)
        .await;
    assert_eq!(v["total_wan"], 100.5);
    assert_eq!(v["milestones"][0]["amount_wan"], 100.5);
    let i = app
        .get_json_expect(
            &mgr,
            &format!("/api/v1/deliverables/{}/instances", d["id"]),
            StatusCode::OK,
        )
        .await;
    assert_eq!(i["total"], 12);
    // New Year's Day 2026 is a holiday: December's report is due on 8 January.
    assert_eq!(i["items"][11]["due_date"], "2026-01-08");
}
