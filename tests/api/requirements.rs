//! Requirements and improvements (需求和功能改进清单): the life cycle with its role checks,
//! bad input refused with the field named and nothing stored, and the
//! 《系统业务需求和功能改进清单》 document with its counts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn demo() -> TestApp {
    demo_at(bj(2025, 11, 3, 9, 0)).await
}

async fn line_id(app: &TestApp, code: &str) -> i64 {
    line_by_code(app, code).await["id"].as_i64().unwrap()
}

async fn move_to(
    app: &TestApp,
    t: &str,
    id: i64,
    to: &str,
    reason: Option<&str>,
) -> (StatusCode, Value) {
    app.post(
        t,
        &format!("/api/v1/requirements/{id}/transition"),
        &json!({"to": to, "reason": reason}),
    )
    .await
}

#[tokio::test]
async fn a_requirement_goes_from_proposal_to_verification_with_its_roles_and_history() {
    let app = demo().await;
    let t = &app.admin_token;
    let (op, ot) = app.user_with_role("op", "operator").await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (rq, rt) = app.user_with_role("req", "requester").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let (_, at) = app.user_with_role("jl", "auditor").await;
    let l8 = line_id(&app, "4.2.8").await;
    let chg = created_id(&app, t, "/api/v1/tickets", &json!({"kind": "change", "change_type": "性能优化", "title": "增加导出功能", "system_id": 4})).await;

    // An operator proposes; an auditor may not.
    let body = json!({"system_id": 4, "line_id": l8, "source": "user", "title": "办件列表增加导出",
        "description": "地市希望导出本市办件", "priority": "high", "proposer_name": "李四",
        "proposer_org": "广州市生态环境局", "planned_date": "2025-12-31"});
    let (s, _) = app.post(&at, "/api/v1/requirements", &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = app
        .post_expect(&ot, "/api/v1/requirements", &body, StatusCode::CREATED)
        .await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(r["status"], "proposed");
    assert_eq!(r["created_by"], op);
    assert_eq!(r["line_code"], "4.2.8");
    assert_eq!(r["history"].as_array().unwrap().len(), 1, "{r}");
    // A requester proposes too, and sees only their own.
    let own_id = created_id(
        &app,
        &rt,
        "/api/v1/requirements",
        &json!({"source": "user", "title": "统计页面加载太慢", "priority": "low"}),
    )
    .await;
    let mine = app
        .get_json_expect(&rt, "/api/v1/requirements", StatusCode::OK)
        .await;
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["created_by"], rq);
    let (s, _) = app
        .get_json(&rt, &format!("/api/v1/requirements/{id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let all = app
        .get_json_expect(&st, "/api/v1/requirements", StatusCode::OK)
        .await;
    assert_eq!(all["total"], 2);
    // The proposer edits while it is proposed; someone else's proposal is not theirs.
    app.patch_expect(
        &ot,
        &format!("/api/v1/requirements/{id}"),
        &json!({"ticket_ids": [chg], "priority": "medium"}),
        StatusCode::OK,
    )
    .await;
    let (s, _) = app
        .patch(
            &et,
            &format!("/api/v1/requirements/{id}"),
            &json!({"priority": "low"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Only the manager (or admin) moves it through the work.
    let (s, _) = move_to(&app, &ot, id, "analysing", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = move_to(&app, &st, id, "analysing", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for to in TO_DELIVERY {
        let (s, v) = move_to(&app, &mt, id, to, None).await;
        assert_eq!(s, StatusCode::OK, "{to}: {v}");
        assert_eq!(v["status"], to);
    }
    // Once the work has moved on, the proposer no longer edits it.
    let (s, _) = app
        .patch(
            &ot,
            &format!("/api/v1/requirements/{id}"),
            &json!({"title": "改"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Verification: not the admin, not the operator; going back needs a reason.
    let (s, _) = move_to(&app, t, id, "verified", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = move_to(&app, &mt, id, "in_development", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), vec!["reason"]);
    let (s, _) = move_to(&app, &mt, id, "in_development", Some("验证发现导出缺少列")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = move_to(&app, &mt, id, "delivered", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = move_to(&app, &st, id, "verified", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 9, "{v}");
    assert_eq!(history[6]["to"], "in_development");
    assert_eq!(history[6]["reason"], "验证发现导出缺少列");
    assert_eq!(history[8]["by"], "jia");
    assert_eq!(v["ticket_ids"], json!([chg]));
    // Verified is final.
    let (s, v) = move_to(&app, &mt, id, "in_development", Some("再改")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), vec!["to"]);
    // 监理 verifies too; a rejection is final and needs its reason.
    let (s, v) = move_to(&app, &mt, own_id, "rejected", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), vec!["reason"]);
    let (s, _) = move_to(
        &app,
        &mt,
        own_id,
        "rejected",
        Some("属于网络问题，已转工单"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = move_to(&app, &at, own_id, "verified", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Filters.
    for (q, n) in [
        ("status=verified", 1),
        ("status=rejected", 1),
        ("status=proposed", 0),
        (&format!("line_id={l8}") as &str, 1),
        ("system_id=4", 1),
        ("source=user", 2),
        ("source=inspection", 0),
        ("q=导出", 1),
        ("from=2025-11-01&to=2025-11-30", 2),
        ("from=2025-12-01", 0),
    ] {
        let v = app
            .get_json_expect(&at, &format!("/api/v1/requirements?{q}"), StatusCode::OK)
            .await;
        assert_eq!(v["total"], n, "{q}: {v}");
    }
    for q in ["status=done", "source=boss", "line_id=x", "from=yesterday"] {
        let (s, v) = app
            .get_json(&at, &format!("/api/v1/requirements?{q}"))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }

    // Every write audited: 2 creations, 1 edit, 8 + 1 transitions.
    let audit = app
        .get_json_expect(
            &at,
            "/api/v1/audit-events?entity_type=requirements&limit=100",
            StatusCode::OK,
        )
        .await;
    assert_eq!(audit["total"], 2 + 1 + 8 + 1, "{audit}");
}

#[tokio::test]
async fn bad_requirements_are_refused_with_their_fields_and_nothing_is_stored() {
    let app = demo().await;
    let t = &app.admin_token;
    let inc = created_id(
        &app,
        t,
        "/api/v1/tickets",
        &json!({"kind": "incident", "title": "系统慢", "system_id": 4}),
    )
    .await;
    let audit = app.audit_count().await;
    let ok =
        json!({"source": "inspection", "title": "巡检发现磁盘告警阈值过低", "priority": "medium"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, want) in [
        (with("status", json!("verified")), vec!["status"]),
        (with("priority", json!("urgent")), vec!["priority"]),
        (with("source", json!("boss")), vec!["source"]),
        (with("title", json!("  ")), vec!["title"]),
        (with("ticket_ids", json!([999_999])), vec!["ticket_ids"]),
        (with("ticket_ids", json!([inc])), vec!["ticket_ids"]),
        (with("system_id", json!(9999)), vec!["system_id"]),
        (with("line_id", json!(9999)), vec!["line_id"]),
        (with("planned_date", json!("明年")), vec!["planned_date"]),
        (json!({"title": "x", "priority": "high"}), vec!["source"]),
    ] {
        let (s, v) = app.post(t, "/api/v1/requirements", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(fields(&v), want, "{body}: {v}");
    }
    // Several problems at once.
    let mut body = with("ticket_ids", json!([999_999]));
    body["system_id"] = json!(9999);
    body["planned_date"] = json!("2025/12/31");
    let (s, v) = app.post(t, "/api/v1/requirements", &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields(&v),
        vec!["planned_date", "system_id", "ticket_ids"],
        "{v}"
    );
    let msg = v.to_string();
    assert!(msg.contains("工单 999999 不存在"), "{msg}");
    assert_eq!(app.total("/api/v1/requirements").await, 0);
    assert_eq!(app.audit_count().await, audit);

    // A stored one: bad patches and transitions change nothing.
    let r = app
        .post_expect(t, "/api/v1/requirements", &ok, StatusCode::CREATED)
        .await;
    let id = r["id"].as_i64().unwrap();
    let audit = app.audit_count().await;
    for (body, want) in [
        (json!({"status": "approved"}), "status"),
        (json!({"ticket_ids": [inc]}), "ticket_ids"),
        (json!({"title": ""}), "title"),
    ] {
        let (s, v) = app
            .patch(t, &format!("/api/v1/requirements/{id}"), &body)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(fields(&v), vec![want], "{body}: {v}");
    }
    for (body, want) in [
        (json!({"to": "finished"}), "to"),
        (json!({"to": "approved"}), "to"),
        (json!({"to": "rejected"}), "reason"),
        (json!({"to": "analysing", "by": "me"}), "by"),
    ] {
        let (s, v) = app
            .post(t, &format!("/api/v1/requirements/{id}/transition"), &body)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(fields(&v), vec![want], "{body}: {v}");
    }
    let after = app
        .get_json_expect(t, &format!("/api/v1/requirements/{id}"), StatusCode::OK)
        .await;
    assert_eq!(after["status"], "proposed");
    assert_eq!(after["title"], r["title"]);
    assert_eq!(after["history"].as_array().unwrap().len(), 1);
    assert_eq!(app.audit_count().await, audit);
    let (s, _) = app.get_json(t, "/api/v1/requirements/99999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get_json(t, "/api/v1/requirements/abc").await;
    assert!(s.is_client_error(), "{s}");
}

#[tokio::test]
async fn the_requirements_list_document_has_the_table_and_the_counts_and_converts() {
    let app = demo().await;
    let t = &app.admin_token;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let l8 = line_id(&app, "4.2.8").await;
    let l4 = line_id(&app, "4.2.4").await;
    let mut ids = Vec::new();
    for (title, line) in [
        ("办件列表增加导出", l8),
        ("统计口径调整", l8),
        ("首页加载优化", l8),
        ("其他条线的需求", l4),
    ] {
        let r = app
            .post_expect(
                t,
                "/api/v1/requirements",
                &json!({"source": "user", "title": title, "priority": "high", "line_id": line,
                        "proposer_name": "王五", "proposer_org": "佛山市生态环境局"}),
                StatusCode::CREATED,
            )
            .await;
        ids.push(r["id"].as_i64().unwrap());
    }
    move_to(&app, &mt, ids[0], "analysing", None).await;
    let (s, _) = move_to(&app, &mt, ids[1], "rejected", Some("与省级平台重复")).await;
    assert_eq!(s, StatusCode::OK);

    // Bad parameters: unknown line, nothing stored.
    let v = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "requirements_list", "period": "2025-11", "format": "docx", "line_id": 9999}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["line_id"], "{v}");
    let v = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "requirements_list", "period": "2025-11", "format": "docx", "plan_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["plan_id"], "{v}");
    let v = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "docx", "line_id": l8}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["line_id"], "{v}");
    assert_eq!(app.total("/api/v1/reports").await, 0);

    for format in ["docx", "xlsx"] {
        let (r, bytes) = generate_report(&app, t, &json!({"kind": "requirements_list", "period": "2025-11", "format": format, "line_id": l8})).await;
        assert_eq!(r["kind"], "requirements_list");
        assert_eq!(r["params"]["line_id"], l8);
        assert!(bytes.starts_with(b"PK"));
        if let Some(text) = read_back(&bytes, format) {
            let needles: &[&str] = if format == "docx" {
                &[
                    "系统业务需求和功能改进清单",
                    "报告期间：2025 年 11 月",
                    "本期4.2.8",
                    "共有需求和功能改进事项 3 项，其中已提出 1 项，分析中 1 项，已驳回 1 项。",
                    "已提出|1",
                    "分析中|1",
                    "已驳回|1",
                    "已验证|0",
                    "合计|3",
                    "与省级平台重复",
                    "王五（佛山市生态环境局）",
                    "用户单位（签章）",
                    "title=系统业务需求和功能改进清单",
                ]
            } else {
                &[
                    "sheet=需求清单",
                    "sheet=状态统计",
                    "已提出|1",
                    "已驳回|1",
                    "合计|3",
                    "首页加载优化",
                ]
            };
            for n in needles {
                assert!(text.contains(n), "{format}: {n} missing in:\n{text}");
            }
            assert!(!text.contains("其他条线的需求"), "{text}");
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            // Table cells wrap in the PDF: look for short texts.
            for n in ["系统业务需求和功能改进清单", "已驳回", "王五"] {
                assert!(pdf.contains(n), "{format}: {n} missing in:\n{pdf}");
            }
        }
    }
    // All lines: four requirements.
    let (_, bytes) = generate_report(
        &app,
        t,
        &json!({"kind": "requirements_list", "period": "2025-11", "format": "xlsx"}),
    )
    .await;
    if let Some(text) = read_back(&bytes, "xlsx") {
        assert!(text.contains("合计|4"), "{text}");
        assert!(text.contains("其他条线的需求"), "{text}");
    }
}

#[tokio::test]
async fn the_reports_page_makes_the_requirements_list_of_a_line() {
    let app = demo().await;
    let l8 = line_id(&app, "4.2.8").await;
    app.post_expect(
        &app.admin_token,
        "/api/v1/requirements",
        &json!({"source": "supervisor", "title": "增加办件超期提醒", "priority": "high", "line_id": l8}),
        StatusCode::CREATED,
    )
    .await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, html) = app.page(&cookie, "/reports").await;
    assert!(html.contains("系统业务需求和功能改进清单"), "{html}");
    // The form sends every kind's fields; the scope of the inspection report is not the
    // list's and is left out.
    let l8s = l8.to_string();
    let form = vec![
        ("kind", "requirements_list"),
        ("period", "2025-11"),
        ("format", "xlsx"),
        ("scope", "infrastructure"),
        ("plan_id", ""),
        ("line_id", l8s.as_str()),
        ("system_id", ""),
    ];
    let r = app.page_post(&cookie, "/reports", &form).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/reports", StatusCode::OK)
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["kind"], "requirements_list");
    assert_eq!(list["items"][0]["params"]["line_id"], l8);
}
