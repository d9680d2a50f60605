//! The demo data before going live: a "演示数据" banner and tags while demo rows exist,
//! `GET /api/v1/demo`, and the admin's removal (`DELETE /api/v1/demo`, the /demo page)
//! in one transaction that leaves the contract's real data, the records entered since and
//! an intact audit chain.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A fixed "now" for the history: a Monday morning in Beijing.
fn now() -> chrono::DateTime<chrono::Utc> {
    bj(2025, 3, 17, 9, 30)
}

async fn demo_with_history() -> TestApp {
    spawn_with(Options {
        demo: true,
        demo_days: 5,
        start: Some(now()),
        ..Options::default()
    })
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn first_demo(app: &TestApp, tbl: &str) -> i64 {
    count(
        app,
        &format!("SELECT COALESCE(MIN(row_id), 0) FROM demo_items WHERE tbl = '{tbl}'"),
    )
    .await
}

async fn delete_demo(app: &TestApp, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app
        .client
        .delete(app.url("/api/v1/demo"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("delete demo");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

const CONFIRM: &str = "删除演示数据";

/// The tables whose real rows a removal must leave, with a query counting them.
const REAL: &[&str] = &[
    "SELECT COUNT(*) FROM systems",
    "SELECT COUNT(*) FROM sites",
    "SELECT COUNT(*) FROM assets",
    "SELECT COUNT(*) FROM assignments",
    "SELECT COUNT(*) FROM backup_policies",
    "SELECT COUNT(*) FROM service_lines",
    "SELECT COUNT(*) FROM inspection_templates",
    "SELECT COUNT(*) FROM contract_record",
    "SELECT COUNT(*) FROM deliverables",
    "SELECT COUNT(*) FROM settings WHERE key <> 'demo.history'",
];

#[tokio::test]
async fn demo_records_are_tagged_and_the_admin_removes_them_leaving_the_real_data() {
    let app = demo_with_history().await;
    let admin = app.admin_token.clone();

    // The status: loaded, with the generation's summary and the rows per table.
    let st = app
        .get_json_expect(&admin, "/api/v1/demo", StatusCode::OK)
        .await;
    assert_eq!(st["loaded"], json!(true), "{st}");
    assert!(st["generated_at"].is_string(), "{st}");
    assert_eq!(st["summary"]["days"], json!(5), "{st}");
    let counts = st["counts"].as_array().expect("counts");
    let rows_of = |t: &str| {
        counts
            .iter()
            .find(|c| c["table"] == json!(t))
            .and_then(|c| c["rows"].as_i64())
            .unwrap_or(0)
    };
    assert!(rows_of("tickets") > 0 && rows_of("users") > 0 && rows_of("monitors") > 0);

    // Real people, after the demo.
    let (_, mgr) = named_user(&app, "real_pm", "真实经理", "manager").await;
    let (_, sup) = named_user(&app, "real_sup", "甲方代表", "supervisor").await;
    let (eng_id, eng) = named_user(&app, "real_eng", "真实工程师", "engineer").await;
    let (_, req) = named_user(&app, "real_user", "真实报障人", "requester").await;
    app.get_json_expect(&mgr, "/api/v1/demo", StatusCode::OK)
        .await;
    app.get_json_expect(&sup, "/api/v1/demo", StatusCode::OK)
        .await;
    app.get_json_expect(&eng, "/api/v1/demo", StatusCode::FORBIDDEN)
        .await;

    // A real ticket, reported after the demo: the slot's (demo) engineer gets it.
    let real = app
        .post_expect(
            &req,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": "上线后真实报障", "system_id": 1, "impact": "low", "urgency": "low"}),
            StatusCode::CREATED,
        )
        .await;
    let real_id = real["id"].as_i64().unwrap();
    let real_number = real["number"].as_str().unwrap().to_string();
    let assignee = real["assignee_id"]
        .as_i64()
        .expect("assigned from the slot");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM demo_items WHERE tbl = 'users' AND row_id = {assignee}")
        )
        .await,
        1,
        "the slot's engineer is a demo account"
    );

    // The banner on every page while demo rows exist; the admin gets the removal link.
    let admin_page = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let mgr_page = app.page_cookie("real_pm", NAMED_USER_PASSWORD).await;
    let (s, home) = app.page(&admin_page, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("class=\"demobanner\"") && home.contains("本系统含模拟生成的演示数据"));
    assert!(home.contains("href=\"/demo\""), "admin link");
    let (_, home) = app.page(&mgr_page, "/").await;
    assert!(home.contains("class=\"demobanner\""));
    assert!(
        !home.contains("href=\"/demo\""),
        "no removal link for the manager"
    );

    // The tag on demo records, not on the real ticket.
    let demo_ticket = first_demo(&app, "tickets").await;
    let (s, html) = app
        .page(&admin_page, &format!("/tickets/{demo_ticket}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"demo-tag\""), "demo ticket is tagged");
    let (s, html) = app.page(&admin_page, &format!("/tickets/{real_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !html.contains("id=\"demo-tag\""),
        "real ticket is not tagged"
    );
    let (_, list) = app.page(&admin_page, "/tickets?limit=100").await;
    assert!(
        list.contains("class=\"demotag\""),
        "the list tags demo tickets"
    );
    for (tbl, path) in [
        ("monitors", "/monitors"),
        ("staff", "/staff"),
        ("users", "/users"),
    ] {
        let id = first_demo(&app, tbl).await;
        let (s, html) = app.page(&admin_page, &format!("{path}/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{path}/{id}");
        assert!(html.contains("id=\"demo-tag\""), "{path}/{id} is tagged");
    }
    let task = first_demo(&app, "inspection_tasks").await;
    if task > 0 {
        let (s, html) = app
            .page(&admin_page, &format!("/inspections/tasks/{task}"))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("id=\"demo-tag\""),
            "inspection task is tagged"
        );
    }

    // Lists without a detail page tag their demo rows.
    assert!(first_demo(&app, "backup_runs").await > 0);
    let (s, html) = app.page(&admin_page, "/backups").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("class=\"demotag\""), "backup runs are tagged");
    let record = first_demo(&app, "work_records").await;
    let line = count(
        &app,
        &format!("SELECT line_id FROM work_records WHERE id = {record}"),
    )
    .await;
    let (s, html) = app
        .page(&admin_page, &format!("/operations/lines/{line}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("class=\"demotag\""),
        "work records are tagged"
    );

    // Only the admin removes, and only when confirmed.
    let before_audit = app.audit_count().await;
    let (s, v) = delete_demo(&app, &mgr, Some(json!({"confirm": CONFIRM}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = delete_demo(&app, &admin, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(error_message(&v).contains(CONFIRM), "{v}");
    let (s, v) = delete_demo(&app, &admin, Some(json!({"confirm": "yes"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, html) = post_form(&app, &admin_page, "/demo", &[("confirm", "删除")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请确认删除"), "the page shows the refusal");

    // Real open work in a demo account's hands blocks the removal, naming it.
    let (s, v) = delete_demo(&app, &admin, Some(json!({"confirm": CONFIRM}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let msg = error_message(&v);
    assert!(msg.contains(&real_number) && msg.contains("改派"), "{msg}");
    assert_eq!(app.audit_count().await, before_audit, "nothing was written");
    assert!(count(&app, "SELECT COUNT(*) FROM demo_items").await > 0);

    // Reassigned to a real engineer, with a comment on its timeline.
    let (s, v) = app
        .post(
            &mgr,
            &format!("/api/v1/tickets/{real_id}/actions"),
            &json!({"action": "assign", "assignee_id": eng_id, "reason": "演示人员即将删除"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.post_expect(
        &eng,
        &format!("/api/v1/tickets/{real_id}/comments"),
        &json!({"body": "已联系用户"}),
        StatusCode::CREATED,
    )
    .await;
    // A service line whose operations staff mix a demo operator and a real one.
    let (op_id, _) = named_user(&app, "real_op", "真实运营", "operator").await;
    let demo_op = count(&app, "SELECT id FROM users WHERE username = 'demo_ops01'").await;
    let line = app
        .get_json_expect(&admin, "/api/v1/service-lines?limit=1", StatusCode::OK)
        .await["items"][0]["id"]
        .as_i64()
        .unwrap();
    app.patch_expect(
        &admin,
        &format!("/api/v1/service-lines/{line}"),
        &json!({"staff_ids": [demo_op, op_id]}),
        StatusCode::OK,
    )
    .await;
    let events_before = app
        .get_json_expect(
            &admin,
            &format!("/api/v1/tickets/{real_id}/events"),
            StatusCode::OK,
        )
        .await;
    let real_tickets = count(
        &app,
        "SELECT COUNT(*) FROM tickets WHERE id NOT IN (SELECT row_id FROM demo_items WHERE tbl = 'tickets')",
    )
    .await;
    assert_eq!(real_tickets, 1);
    let real_users = count(
        &app,
        "SELECT COUNT(*) FROM users WHERE id NOT IN (SELECT row_id FROM demo_items WHERE tbl = 'users')",
    )
    .await;
    let mut kept = Vec::new();
    for q in REAL {
        kept.push(count(&app, q).await);
    }

    // The marked rows, table by table, to look for after the removal.
    let mut marked_ids = Vec::new();
    for t in yunwei::store::demo::DEMO_TABLES {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT row_id FROM demo_items WHERE tbl = '{t}'"
        )))
        .fetch_all(app.ctx.store.pool())
        .await
        .unwrap();
        marked_ids.push((*t, ids));
    }

    // The removal.
    let audit_before_removal = app.audit_count().await;
    let (s, v) = delete_demo(&app, &admin, Some(json!({"confirm": CONFIRM}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let marked: i64 = each(&v["marked"])
        .map(|c| c["rows"].as_i64().unwrap())
        .sum();
    assert!(marked > 100, "{v}");

    assert_eq!(count(&app, "SELECT COUNT(*) FROM demo_items").await, 0);
    for (t, ids) in &marked_ids {
        for chunk in ids.chunks(500) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let q = format!("SELECT COUNT(*) FROM {t} WHERE id IN ({})", list.join(","));
            assert_eq!(count(&app, &q).await, 0, "demo rows of {t} remain");
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, real_users);
    for q in [
        "SELECT COUNT(*) FROM monitors",
        "SELECT COUNT(*) FROM monitor_results",
        "SELECT COUNT(*) FROM monitor_rollups",
        "SELECT COUNT(*) FROM alerts",
        "SELECT COUNT(*) FROM staff",
        "SELECT COUNT(*) FROM backup_runs",
        "SELECT COUNT(*) FROM work_records",
        "SELECT COUNT(*) FROM inspection_tasks",
        "SELECT COUNT(*) FROM duty_shifts",
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username LIKE 'demo%'",
        "SELECT COUNT(*) FROM assignments WHERE staff_id IS NOT NULL",
        "SELECT COUNT(*) FROM settings WHERE key = 'demo.history'",
        "SELECT COUNT(*) FROM ticket_events WHERE ticket_id NOT IN (SELECT id FROM tickets)",
        "SELECT COUNT(*) FROM user_messages WHERE ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT id FROM tickets)",
        "SELECT COUNT(*) FROM notification_outbox WHERE ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT id FROM tickets)",
    ] {
        assert_eq!(count(&app, q).await, 0, "{q}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM search_docs WHERE kind = 'ticket'"
        )
        .await,
        1
    );
    for (q, n) in REAL.iter().zip(&kept) {
        assert_eq!(count(&app, q).await, *n, "{q}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM systems").await, 27);

    let l = app
        .get_json_expect(
            &admin,
            &format!("/api/v1/service-lines/{line}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        l["staff_ids"],
        json!([op_id]),
        "the demo operator left the line"
    );

    // The real ticket and its timeline survive.
    let t = app
        .get_json_expect(
            &admin,
            &format!("/api/v1/tickets/{real_id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(t["assignee_id"], json!(eng_id));
    let events = app
        .get_json_expect(
            &admin,
            &format!("/api/v1/tickets/{real_id}/events"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(events, events_before);

    // One audit record, and the chain still verifies.
    assert_eq!(app.audit_count().await, audit_before_removal + 1);
    let last: (String, String) =
        sqlx::query_as("SELECT action, entity_type FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_one(app.ctx.store.pool())
            .await
            .unwrap();
    assert_eq!(last, ("demo.remove".to_string(), "demo".to_string()));
    assert_audit_log_intact(&app);

    // Nothing marked any more: no banner, every page renders.
    let st = app
        .get_json_expect(&admin, "/api/v1/demo", StatusCode::OK)
        .await;
    assert_eq!(st["loaded"], json!(false), "{st}");
    assert_eq!(st["counts"], json!([]));
    for path in [
        "/",
        "/desk",
        "/tickets",
        "/monitors",
        "/alerts",
        "/duty",
        "/screen",
        "/systems",
        "/staff",
        "/assignments",
        "/team",
        "/inspections",
        "/reports",
        "/operations",
        "/backups",
        "/deliverables",
        "/users",
        "/demo",
    ] {
        let (s, html) = app.page(&admin_page, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            !html.contains("class=\"demobanner\""),
            "{path} still has the banner"
        );
    }
    let (s, html) = app.page(&admin_page, &format!("/tickets/{real_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("已联系用户"));
    for path in ["/", "/tickets", "/desk"] {
        let (s, html) = app.page(&mgr_page, path).await;
        assert_eq!(s, StatusCode::OK, "manager {path}");
        assert!(!html.contains("class=\"demobanner\""));
    }
    // Once gone, there is nothing to remove.
    let (s, v) = delete_demo(&app, &admin, Some(json!({"confirm": CONFIRM}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

#[tokio::test]
async fn the_admin_page_removes_the_demo_data_after_the_typed_confirmation() {
    let app = demo_with_history().await;
    let admin_page = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&admin_page, "/demo").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"confirm\"") && html.contains(CONFIRM));
    // Other roles may look but not remove.
    let (_, _) = named_user(&app, "real_pm", "真实经理", "manager").await;
    let mgr_page = app.page_cookie("real_pm", NAMED_USER_PASSWORD).await;
    let (s, html) = app.page(&mgr_page, "/demo").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("name=\"confirm\""));
    let (s, _, _) = post_form(&app, &mgr_page, "/demo", &[("confirm", CONFIRM)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, eng) = named_user(&app, "real_eng", "真实工程师", "engineer").await;
    let _ = eng;
    let eng_page = app.page_cookie("real_eng", NAMED_USER_PASSWORD).await;
    let (s, _) = app.page(&eng_page, "/demo").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A real duty shift to come, given to a demo engineer, blocks the removal until it
    // goes to someone else; the page names it.
    let demo_eng = count(&app, "SELECT id FROM users WHERE username = 'demo_eng01'").await;
    let shift = app
        .post_expect(
            &app.admin_token,
            "/api/v1/duty-shifts",
            &json!({"user_id": demo_eng, "starts_at": "2025-03-20T09:00:00+08:00",
                    "ends_at": "2025-03-20T18:00:00+08:00", "role": "primary"}),
            StatusCode::CREATED,
        )
        .await;
    let (s, _, html) = post_form(&app, &admin_page, "/demo", &[("confirm", CONFIRM)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("值班") && html.contains("示例工程师01"),
        "{html}"
    );
    assert!(count(&app, "SELECT COUNT(*) FROM demo_items").await > 0);
    let id = shift["id"].as_i64().unwrap();
    let s = app
        .delete(&app.admin_token, &format!("/api/v1/duty-shifts/{id}"))
        .await;
    assert!(s.is_success(), "{s}");

    let (s, _, html) = post_form(&app, &admin_page, "/demo", &[("confirm", CONFIRM)]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("演示数据已删除"));
    assert!(
        !html.contains("class=\"demobanner\""),
        "the banner is gone at once"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM demo_items").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tickets").await, 0);
    let (_, home) = app.page(&admin_page, "/").await;
    assert!(!home.contains("class=\"demobanner\""));
    assert_audit_log_intact(&app);
    // The audit log reads the removal in Chinese.
    named_user(&app, "real_jianli", "监理", "auditor").await;
    let auditor = app.page_cookie("real_jianli", NAMED_USER_PASSWORD).await;
    let (s, html) = app.page(&auditor, "/audit?action=demo.remove").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("删除了全部演示数据"), "{html}");
}
