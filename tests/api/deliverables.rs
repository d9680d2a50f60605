//! The deliverables register (issue 13, item 2): the seed's documents, instances due on the
//! working calendar over National Day, generated and uploaded versions, review by the
//! purchaser or 监理 with notification, the contractor unable to accept, overdue alerts, bad
//! input refused with nothing changed, the audit records and the calendar page.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::contract::{audits_of, bj, deliverable, instances, messages, upload};
use crate::helpers::*;

#[tokio::test]
async fn the_register_holds_every_document_the_seed_names_and_filters_them() {
    let app = demo_at(bj(2024, 10, 14, 9)).await;
    assert_eq!(app.total("/api/v1/deliverables").await, 70);
    assert_eq!(
        app.total("/api/v1/deliverables?area=infrastructure").await,
        4
    );
    assert_eq!(app.total("/api/v1/deliverables?area=systems").await, 4);
    assert_eq!(
        app.total("/api/v1/deliverables?cadence=at_acceptance")
            .await,
        7
    );
    let oa = deliverable(&app, "4.2.8", "月报").await;
    assert_eq!(oa["report_kind"], "line_monthly");
    assert_eq!(oa["due_label"], "期末后5个工作日内");
    let line = oa["line_id"].as_i64().unwrap();
    assert_eq!(
        app.total(&format!("/api/v1/deliverables?line_id={line}"))
            .await,
        3
    );
    assert_eq!(app.total("/api/v1/deliverables?q=维护规范").await, 2);
    let spec = deliverable(&app, "4.1.1", "维护规范").await;
    assert_eq!(spec["source"], "upload");
    assert!(spec["outline"].as_str().unwrap().contains("总则"));
    let (s, v) = app
        .get_json(&app.admin_token, "/api/v1/deliverables?cadence=weekly")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn instances_fall_due_on_working_days_around_national_day_and_turn_overdue_with_the_clock() {
    let app = demo_at(bj(2024, 10, 11, 9)).await;
    // O&M month 2024-09 (22–30 September): 5 working days after the 30th skip 1–7 October
    // and land on Saturday 12 October, a make-up working day.
    let m = deliverable(&app, "4.1.1", "月度巡检报告").await;
    let id = m["id"].as_i64().unwrap();
    let all = instances(&app, id, "").await;
    assert_eq!(all.len(), 13);
    assert_eq!(
        (
            &all[0]["key"],
            &all[0]["period_from"],
            &all[0]["period_to"],
            &all[0]["due_date"]
        ),
        (
            &json!("2024-09"),
            &json!("2024-09-22"),
            &json!("2024-09-30"),
            &json!("2024-10-12")
        )
    );
    assert_eq!(all[0]["status"], "pending");
    // September 2025 ends with the service on Sunday the 21st: due Friday the 26th.
    assert_eq!(
        (&all[12]["key"], &all[12]["due_date"]),
        (&json!("2025-09"), &json!("2025-09-26"))
    );
    // The operations period ends on Tuesday 23 September 2025; Sunday the 28th is a
    // make-up working day: due Monday the 29th.
    let oa = deliverable(&app, "4.2.8", "月报").await;
    let ops = instances(&app, oa["id"].as_i64().unwrap(), "").await;
    assert_eq!(ops[0]["period_from"], "2024-09-24");
    assert_eq!(
        (&ops[12]["key"], &ops[12]["due_date"]),
        (&json!("2025-09"), &json!("2025-09-29"))
    );
    // October 2024 closes on Thursday the 31st: due Thursday 7 November.
    let oct = instances(&app, id, "?from=2024-11-01&to=2024-11-30").await;
    assert_eq!(oct.len(), 1);
    assert_eq!(
        (&oct[0]["key"], &oct[0]["due_date"]),
        (&json!("2024-10"), &json!("2024-11-07"))
    );
    // Quarterly and yearly instances.
    let cycle = instances(
        &app,
        deliverable(&app, "4.1.1", "周期巡检报告").await["id"]
            .as_i64()
            .unwrap(),
        "",
    )
    .await;
    let keys: Vec<&str> = cycle.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
    );
    assert_eq!(cycle[0]["due_date"], "2024-10-12");
    // A rule in calendar days ignores the holiday.
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let d = app
        .post_expect(
            &mgr,
            "/api/v1/deliverables",
            &json!({"section": "4.1.1", "name": "机房巡检周报", "area": "infrastructure", "cadence": "monthly",
                    "due": {"anchor": "period_end", "days": 3, "working": false}}),
            StatusCode::CREATED,
        )
        .await;
    let c = instances(&app, d["id"].as_i64().unwrap(), "?to=2024-10-31").await;
    assert_eq!(
        (&c[0]["due_date"], &c[0]["status"]),
        (&json!("2024-10-03"), &json!("overdue"))
    );
    // A per-event deliverable has the instances of its events, any date in the period.
    let ev_id = created_id(&app, &mgr, "/api/v1/deliverables", &json!({"section": "4.1.2", "name": "故障原因报告", "area": "systems", "cadence": "per_event",
                    "due": {"anchor": "period_end", "days": 2, "working": true}})).await;
    assert!(instances(&app, ev_id, "").await.is_empty());
    let (_, eng) = app.user_with_role("gongchengshi", "engineer").await;
    let (s, v) = upload(
        &app,
        &eng,
        &format!("/api/v1/deliverables/{ev_id}/instances/2024-09-30/versions"),
        "故障报告.pdf",
        b"%PDF-1.7 report".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let e = instances(&app, ev_id, "").await;
    assert_eq!(e.len(), 1);
    assert_eq!(
        (&e[0]["key"], &e[0]["due_date"], &e[0]["status"]),
        (
            &json!("2024-09-30"),
            &json!("2024-10-09"),
            &json!("submitted")
        )
    );
    let (s, _) = upload(
        &app,
        &eng,
        &format!("/api/v1/deliverables/{ev_id}/instances/2023-01-01/versions"),
        "故障报告.pdf",
        b"%PDF-1.7 report".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The clock moves past 12 October: the September report is overdue.
    assert_eq!(instances(&app, id, "").await[0]["status"], "pending");
    app.clock.set(bj(2024, 10, 13, 9));
    assert_eq!(instances(&app, id, "").await[0]["status"], "overdue");
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    let (s, v) = app
        .get_json(
            &token,
            &format!("/api/v1/deliverables/{id}/instances?from=10/1"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn a_generated_version_is_returned_then_an_upload_accepted_and_the_contractor_cannot_accept()
{
    let app = demo_at(bj(2024, 10, 8, 9)).await;
    let (op_id, op) = app.user_with_role("yunying", "operator").await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let (_, aud) = app.user_with_role("jianli", "auditor").await;
    let d = deliverable(&app, "4.2.8", "技术支持表").await;
    let id = d["id"].as_i64().unwrap();
    let base = format!("/api/v1/deliverables/{id}/instances/2024-09");
    let audits = audits_of(&app, "deliverables").await;
    // The purchaser does not submit; the operator generates from the report kind.
    let (s, _) = app
        .post(&sup, &format!("{base}/versions"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = app
        .post_expect(
            &op,
            &format!("{base}/versions"),
            &json!({"format": "xlsx"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        (v["version"].as_i64(), v["status"].as_str()),
        (Some(1), Some("submitted"))
    );
    let file = app.get(&sup, &format!("{base}/versions/1/file")).await;
    assert_eq!(file.status(), StatusCode::OK);
    let bytes = file.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let digest = yunwei::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert_eq!(v["sha256"], digest);
    // The contractor cannot accept its own deliverable.
    for t in [&op, &mgr, &app.admin_token] {
        let (s, e) = app
            .post(t, &format!("{base}/review"), &json!({"decision": "accept"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    }
    // A return needs a comment; without one nothing changes.
    let (s, e) = app
        .post(
            &sup,
            &format!("{base}/review"),
            &json!({"decision": "return"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(fields(&e), ["comment"]);
    let (s, e) = app
        .post(
            &sup,
            &format!("{base}/review"),
            &json!({"decision": "maybe"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let i = app.get_json_expect(&sup, &base, StatusCode::OK).await;
    assert_eq!(i["status"], "submitted");
    let r = app
        .post_expect(
            &sup,
            &format!("{base}/review"),
            &json!({"decision": "return", "comment": "缺少 9 月 30 日的记录"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(r["status"], "returned");
    assert!(
        messages(&app, &op)
            .await
            .iter()
            .any(|m| m.contains("退回修改"))
    );
    // The operator uploads a corrected file; 监理 accepts it.
    let mut docx = b"PK\x03\x04".to_vec();
    docx.extend_from_slice(&[0u8; 64]);
    let (s, u) = upload(
        &app,
        &op,
        &format!("{base}/versions"),
        "技术支持表-修订.docx",
        docx.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["version"], 2);
    let r = app
        .post_expect(
            &aud,
            &format!("{base}/review"),
            &json!({"decision": "accept", "comment": "同意"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(r["status"], "accepted");
    let actions: Vec<&str> = each(&r["history"])
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "returned", "submitted", "accepted"]);
    let versions = r["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["submitted_by"], op_id);
    assert_eq!(versions[1]["source"], "upload");
    assert_eq!(versions[0]["source"], "report");
    assert!(
        messages(&app, &op)
            .await
            .iter()
            .any(|m| m.contains("验收通过"))
    );
    let listed = instances(&app, id, "?to=2024-10-31").await;
    assert_eq!(listed[0]["status"], "accepted");
    // Accepted is final: no new version, no second review, and the refused file is not
    // left on disk.
    let stored = stored_files(&app.data_dir.join("deliverables"));
    assert!(!stored.is_empty());
    let (s, e) = upload(
        &app,
        &op,
        &format!("{base}/versions"),
        "again.pdf",
        b"%PDF-1.4 x".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(stored_files(&app.data_dir.join("deliverables")), stored);
    let (s, _) = app
        .post(
            &sup,
            &format!("{base}/review"),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Two submissions and two reviews, each audited with before and after.
    assert_eq!(audits_of(&app, "deliverables").await, audits + 4);
}

#[tokio::test]
async fn bad_uploads_and_bad_deliverables_are_refused_and_change_nothing() {
    let app = demo_at(bj(2024, 10, 8, 9)).await;
    let (_, op) = app.user_with_role("yunying", "operator").await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let spec = deliverable(&app, "4.1.1", "维护规范").await;
    let base = format!("/api/v1/deliverables/{}/instances/once", spec["id"]);
    let audits = app.audit_count().await;
    let (s, e) = upload(
        &app,
        &op,
        &format!("{base}/versions"),
        "规范.txt",
        "文本".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");
    let (s, e) = upload(
        &app,
        &op,
        &format!("{base}/versions"),
        "规范.pdf",
        b"not a pdf".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");
    let (s, e) = upload(&app, &op, &format!("{base}/versions"), "规范.pdf", vec![]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // An uploaded-only document cannot be generated; an unknown instance is not found.
    let (s, e) = app.post(&op, &format!("{base}/versions"), &json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .post(
            &op,
            &format!(
                "/api/v1/deliverables/{}/instances/2031-01/versions",
                spec["id"]
            ),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = app
        .post(&op, &format!("{base}/versions"), &json!({"format": "pdf"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let i = app.get_json_expect(&op, &base, StatusCode::OK).await;
    assert_eq!(
        (
            i["status"].as_str(),
            i["versions"].as_array().unwrap().len()
        ),
        (Some("pending"), 0)
    );
    // The register: every problem named at once.
    let (s, e) = app
        .post(
            &mgr,
            "/api/v1/deliverables",
            &json!({"section": "四.2", "name": "", "area": "operations",
              "cadence": "monthly", "due": {"anchor": "period_end", "days": 500, "working": true},
              "report_kind": "weekly_magic"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        fields(&e),
        ["due.days", "line_id", "name", "report_kind", "section"]
    );
    let (s, e) = app
        .post(
            &mgr,
            "/api/v1/deliverables",
            &json!({"section": "4.1.1", "name": "x", "area": "infrastructure",
              "cadence": "daily", "due": {"anchor": "period_end", "days": 5, "working": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = app
        .patch(
            &mgr,
            &format!("/api/v1/deliverables/{}", spec["id"]),
            &json!({"colour": "red"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .patch(
            &op,
            &format!("/api/v1/deliverables/{}", spec["id"]),
            &json!({"name": "改名"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.total("/api/v1/deliverables").await, 70);
    assert_eq!(app.audit_count().await, audits);
    // A good edit is audited.
    let v = app
        .patch_expect(
            &mgr,
            &format!("/api/v1/deliverables/{}", spec["id"]),
            &json!({"due": {"anchor": "period_start", "days": 30, "working": true}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["due_label"], "期初后30个工作日内");
    assert_eq!(app.audit_count().await, audits + 1);
}

#[tokio::test]
async fn an_overdue_instance_alerts_the_managers_once() {
    let app = demo_at(bj(2024, 10, 12, 9)).await;
    app.user_with_role("jingli", "manager").await;
    let (_, op) = app.user_with_role("yunying", "operator").await;
    // Submitted in time: never overdue.
    let oa = deliverable(&app, "4.2.8", "技术支持表").await;
    app.post_expect(
        &op,
        &format!(
            "/api/v1/deliverables/{}/instances/2024-09/versions",
            oa["id"]
        ),
        &json!({"format": "xlsx"}),
        StatusCode::CREATED,
    )
    .await;
    // The 12th is the last day for September's monthly documents: nothing is overdue yet.
    let n = yunwei::contract::deliverables::alert_overdue(&app.ctx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    app.clock.advance(Duration::days(2));
    let mgr = app.login_ok("jingli", "Changed#Pass2").await;
    let op = app.login_ok("yunying", "Changed#Pass2").await;
    let n = yunwei::contract::deliverables::alert_overdue(&app.ctx)
        .await
        .unwrap();
    // Every September monthly and 2024-Q3 quarterly instance but the submitted one.
    assert!(n > 30, "{n}");
    let msgs = messages(&app, &mgr).await;
    assert!(
        msgs.iter()
            .any(|m| m.contains("交付物逾期") && m.contains("月度巡检报告")),
        "{msgs:?}"
    );
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("办公自动化系统运营服务技术支持表")),
        "{msgs:?}"
    );
    assert!(
        messages(&app, &op)
            .await
            .iter()
            .all(|m| !m.contains("交付物逾期"))
    );
    // Once per instance.
    assert_eq!(
        yunwei::contract::deliverables::alert_overdue(&app.ctx)
            .await
            .unwrap(),
        0
    );
    assert_eq!(messages(&app, &mgr).await.len(), msgs.len());
}

#[tokio::test]
async fn the_calendar_page_shows_what_is_due_this_week_and_month() {
    let app = demo_at(bj(2024, 10, 9, 9)).await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&cookie, "/deliverables").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("交付物日历"));
    assert!(
        html.contains("本周到期（2024-10-07 至 2024-10-13）"),
        "{html}"
    );
    assert!(html.contains("《月度巡检报告》"));
    assert!(html.contains("2024-10-12"));
    assert!(html.contains("待提交"));
    assert!(html.contains("交付物日历</a>"), "navigation");
}

#[tokio::test]
async fn every_generated_kind_makes_a_version_of_its_first_instance() {
    let app = demo_at(bj(2024, 10, 8, 9)).await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let all = app
        .get_json_expect(&mgr, "/api/v1/deliverables?limit=500", StatusCode::OK)
        .await;
    let mut seen = std::collections::BTreeSet::new();
    for d in all["items"].as_array().unwrap() {
        let Some(kind) = d["report_kind"].as_str() else {
            continue;
        };
        if !seen.insert(kind.to_string()) {
            continue;
        }
        let first = &instances(&app, d["id"].as_i64().unwrap(), "").await[0];
        let path = format!(
            "/api/v1/deliverables/{}/instances/{}/versions",
            d["id"],
            first["key"].as_str().unwrap()
        );
        let (s, v) = app.post(&mgr, &path, &json!({})).await;
        if kind == "inspection_cycle" {
            // The cycle report is of one inspection plan, which the demo has none of.
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {v}");
            assert!(v.to_string().contains("plan_id"), "{kind}: {v}");
        } else {
            assert_eq!(s, StatusCode::CREATED, "{kind} {}: {v}", d["name"]);
            assert_eq!(v["status"], "submitted");
        }
    }
    assert_eq!(seen.len(), 9, "{seen:?}");
}

#[tokio::test]
async fn an_authored_document_has_a_docx_template_of_its_outline() {
    let app = demo_at(bj(2024, 10, 8, 9)).await;
    let spec = deliverable(&app, "4.1.1", "维护规范").await;
    let r = app
        .get(
            &app.admin_token,
            &format!("/api/v1/deliverables/{}/template", spec["id"]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let want = [
        "省生态环境厅基础设施维护规范",
        "编写模板",
        "总则",
        "备份与恢复",
        "考核与改进",
    ];
    if let Some(text) = read_back(&bytes, "docx") {
        for w in want {
            assert!(text.contains(w), "{w}: {text}");
        }
        assert!(text.contains("一、总则"), "numbered once: {text}");
        assert!(
            text.contains("title=省生态环境厅基础设施维护规范"),
            "{text}"
        );
    }
    if let Some(pdf) = via_libreoffice(&bytes, "docx") {
        for w in want {
            assert!(pdf.contains(w), "{w}: {pdf}");
        }
        assert!(pdf.contains("2024-09-22 至 2025-09-21"), "{pdf}");
    }
    // A generated report has no outline to write to.
    let table = deliverable(&app, "4.2.8", "技术支持表").await;
    let (s, v) = app
        .get_json(
            &app.admin_token,
            &format!("/api/v1/deliverables/{}/template", table["id"]),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

/// The files stored under `dir`, recursively.
fn stored_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(stored_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
