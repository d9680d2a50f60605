//! Compliance checks: key staff removed without approval, documents nearing and passing
//! expiry, the manager's years and the rule values, the demo's honest state, the page.

use reqwest::StatusCode;
use serde_json::json;

use super::*;

/// Puts staff member `staff` into assignment `slot` as `token`, which must succeed.
async fn put_in_slot(app: &TestApp, token: &str, slot: i64, staff: i64) {
    let path = format!("/api/v1/assignments/{slot}");
    app.patch_expect(token, &path, &json!({"staff_id": staff}), StatusCode::OK)
        .await;
}

#[tokio::test]
async fn a_key_member_removed_without_approval_breaks_the_key_staff_rule() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let key = member(
        &app,
        json!({"name": "主要人员（演示）", "key_staff": "yes"}),
    )
    .await;
    assert_eq!(
        check(&app, &mt, "key_staff_unchanged").await["state"],
        "met"
    );
    // The staff API keeps its shape: a record read back is accepted as a patch.
    let mut whole = app
        .get_json_expect(&mt, &format!("/api/v1/staff/{key}"), StatusCode::OK)
        .await;
    assert_eq!(whole["certificates"], json!([]));
    whole["phone"] = json!("020-12345678");
    app.patch_expect(&mt, &format!("/api/v1/staff/{key}"), &whole, StatusCode::OK)
        .await;
    app.patch_expect(
        &mt,
        &format!("/api/v1/staff/{key}"),
        &json!({"status": "left"}),
        StatusCode::OK,
    )
    .await;
    let c = check(&app, &mt, "key_staff_unchanged").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(c["evidence"]["removed_without_approval"][0]["id"], key);
    assert_eq!(c["evidence"]["removed_without_approval"][0]["how"], "left");
}

#[tokio::test]
async fn a_key_member_replaced_in_their_slot_or_deleted_without_approval_breaks_the_rule() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let sys = created_id(
        &app,
        &mt,
        "/api/v1/systems",
        &json!({"name": "系统（演示）"}),
    )
    .await;
    let key = member(
        &app,
        json!({"name": "数据库工程师（演示）", "key_staff": "yes"}),
    )
    .await;
    let other = member(&app, json!({"name": "其他成员（演示）"})).await;
    let slot = created_id(
        &app,
        &mt,
        "/api/v1/assignments",
        &json!({"system_id": sys, "duty": "dba", "staff_id": key}),
    )
    .await;
    assert_eq!(
        check(&app, &mt, "key_staff_unchanged").await["state"],
        "met"
    );
    put_in_slot(&app, &mt, slot, other).await;
    let c = check(&app, &mt, "key_staff_unchanged").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(
        c["evidence"]["removed_without_approval"][0]["how"],
        "replaced"
    );
    // Back in the slot: nothing is wrong any more.
    put_in_slot(&app, &mt, slot, key).await;
    assert_eq!(
        check(&app, &mt, "key_staff_unchanged").await["state"],
        "met"
    );
    put_in_slot(&app, &mt, slot, other).await;
    assert_eq!(
        app.delete(&mt, &format!("/api/v1/staff/{key}")).await,
        StatusCode::NO_CONTENT
    );
    let c = check(&app, &mt, "key_staff_unchanged").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(
        c["evidence"]["removed_without_approval"][0]["how"],
        "deleted"
    );
}

#[tokio::test]
async fn compliance_states_flip_as_a_members_proof_nears_and_passes_expiry() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let m = member(&app, json!({"name": "成员（演示）"})).await;
    assert_eq!(
        check(&app, &mt, "member_documents").await["state"],
        "broken"
    );

    // Bad uploads are refused and store nothing: a PDF that is not one, a text file.
    for (name, bytes) in [("证明.pdf", &b"not a pdf"[..]), ("证明.txt", &b"text"[..])] {
        let (s, v) = upload(
            &app,
            &mt,
            m,
            "employment_proof",
            "2025-01-01",
            "2025-04-11",
            name,
            bytes,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
    }
    let (s, v) = upload(
        &app,
        &mt,
        m,
        "passport",
        "2025-01-01",
        "2024-04-11",
        "证明.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["kind", "valid_until"]);
    let (s, _) = upload(
        &app,
        &et,
        m,
        "employment_proof",
        "2025-01-01",
        "2025-04-11",
        "证明.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let docs = app
        .get_json_expect(&mt, &format!("/api/v1/staff/{m}/documents"), StatusCode::OK)
        .await;
    assert_eq!(docs["total"], 0);

    // Both documents valid for 39 more days: met.
    let (s, v) = upload(
        &app,
        &mt,
        m,
        "employment_proof",
        "2025-01-01",
        "2025-04-11",
        "社保证明.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = upload(
        &app,
        &mt,
        m,
        "confidentiality",
        "2025-01-01",
        "2025-12-31",
        "保密协议.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let c = check(&app, &mt, "member_documents").await;
    assert_eq!(c["state"], "met", "{c}");
    let url = v["url"].as_str().unwrap();
    let r = app.get(&mt, url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(app.get(&et, url).await.status(), StatusCode::FORBIDDEN);

    // Within 30 days of the proof's expiry: at risk; after it: broken.
    let mt = advance(&app, 10, "pm").await;
    let c = check(&app, &mt, "member_documents").await;
    assert_eq!(c["state"], "at_risk", "{c}");
    assert_eq!(
        c["evidence"]["members"][0]["employment_proof"]["state"],
        "at_risk"
    );
    let mt = advance(&app, 30, "pm").await;
    let c = check(&app, &mt, "member_documents").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(
        c["evidence"]["members"][0]["employment_proof"]["status"],
        "已过期"
    );
    assert_eq!(
        c["evidence"]["members"][0]["confidentiality"]["state"],
        "met"
    );
    // A renewed proof puts it right again.
    let (s, _) = upload(
        &app,
        &mt,
        m,
        "employment_proof",
        "2025-04-01",
        "2026-03-31",
        "社保证明2025.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(check(&app, &mt, "member_documents").await["state"], "met");
}

#[tokio::test]
async fn the_manager_needs_the_rules_years_of_project_management_and_rule_values_are_audited() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let c = check(&app, &mt, "manager_experience").await;
    assert_eq!(c["state"], "broken");
    let pm = member(
        &app,
        json!({"name": "项目经理（演示）", "team_role": "项目经理", "pm_years": 2}),
    )
    .await;
    let c = check(&app, &mt, "manager_experience").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(c["evidence"]["managers"][0]["pm_years"], 2);
    app.patch_expect(
        &mt,
        &format!("/api/v1/staff/{pm}"),
        &json!({"pm_years": 3}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(check(&app, &mt, "manager_experience").await["state"], "met");

    // Rule values: read by all team readers, changed by the manager, audited; bad values
    // and other roles change nothing.
    let r = app
        .get_json_expect(&et, "/api/v1/contract/compliance/rules", StatusCode::OK)
        .await;
    assert_eq!(
        r,
        json!({"min_team_size": 20, "manager_min_years": 3,
                         "document_warning_days": 30, "manager_replacement_days": 14})
    );
    let (s, _) = app
        .patch(
            &et,
            "/api/v1/contract/compliance/rules",
            &json!({"manager_min_years": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .patch(
            &st,
            "/api/v1/contract/compliance/rules",
            &json!({"manager_min_years": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let before = app.audit_count().await;
    let (s, v) = app
        .patch(
            &mt,
            "/api/v1/contract/compliance/rules",
            &json!({"manager_min_years": -1, "min_team_size": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["manager_min_years", "min_team_size"]);
    let (s, v) = app
        .patch(
            &mt,
            "/api/v1/contract/compliance/rules",
            &json!({"bogus": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.audit_count().await, before);
    let r = app
        .patch_expect(
            &mt,
            "/api/v1/contract/compliance/rules",
            &json!({"manager_min_years": 5, "min_team_size": 1}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(r["manager_min_years"], 5);
    assert_eq!(app.audit_count().await, before + 1);
    assert_eq!(
        check(&app, &mt, "manager_experience").await["state"],
        "broken"
    );
    assert_eq!(check(&app, &mt, "team_size").await["state"], "met");
}

#[tokio::test]
async fn the_demo_team_shows_broken_checks_because_no_members_are_recorded() {
    let app = spawn_demo().await;
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/contract/compliance",
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["state"], "broken");
    let size = each(&v["checks"])
        .find(|c| c["code"] == "team_size")
        .unwrap();
    assert!(
        size["details"].as_str().unwrap().contains("未登记团队成员"),
        "{size}"
    );
    let slots = each(&v["checks"])
        .find(|c| c["code"] == "staffing_slots")
        .unwrap();
    assert_eq!(slots["state"], "broken");
    assert!(
        slots["evidence"]["slots"].as_i64().unwrap() >= 56,
        "{slots}"
    );
    assert!(
        slots["evidence"]["on_site"].as_i64().unwrap() >= 2,
        "{slots}"
    );
}

#[tokio::test]
async fn the_team_page_shows_checks_members_and_changes_and_the_purchaser_decides_there() {
    use reqwest::header::COOKIE;
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    app.user_with_role("jia", "supervisor").await;
    let out = member(
        &app,
        json!({"name": "成员甲（演示）", "years_experience": 3}),
    )
    .await;
    let (s, _) = upload(
        &app,
        &mt,
        out,
        "confidentiality",
        "2025-01-01",
        "2025-03-20",
        "保密协议.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = created_id(&app, &mt, "/api/v1/personnel-changes", &json!({"leaving_staff_id": out, "joining": {"name": "成员乙（演示）", "years_experience": 4},
                    "reason": "家庭原因离职"})).await;
    let cookie = app.page_cookie("pm", "Changed#Pass2").await;
    let (s, html) = app.page(&cookie, "/team").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("服务团队成员不少于 20 人") && html.contains("成员甲（演示）"),
        "{html}"
    );
    assert!(
        html.contains("即将到期") && html.contains("家庭原因离职"),
        "{html}"
    );
    assert!(
        html.matches("团队合规").count() >= 3,
        "the navigation links the page"
    );
    assert!(
        !html.contains("/decision"),
        "the contractor gets no approve button"
    );

    let cookie = app.page_cookie("jia", "Changed#Pass2").await;
    let (_, html) = app.page(&cookie, "/team").await;
    assert!(
        html.contains(&format!("/team/changes/{id}/decision")),
        "{html}"
    );
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url(&format!("/team/changes/{id}/decision")))
            .header(COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let r = post(vec![("decision", "refuse"), ("comment", "")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("须填写审批意见"));
    let r = post(vec![("decision", "approve"), ("comment", "同意")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let g = app
        .get_json_expect(
            &mt,
            &format!("/api/v1/personnel-changes/{id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(g["status"], "approved");
}

#[tokio::test]
async fn the_manager_files_a_change_from_the_team_page_and_bad_input_changes_nothing() {
    use reqwest::header::COOKIE;
    let app = app().await;
    app.user_with_role("pm", "manager").await;
    let out = member(
        &app,
        json!({"name": "成员丁（演示）", "years_experience": 5}),
    )
    .await;
    let cookie = app.page_cookie("pm", "Changed#Pass2").await;
    let (_, html) = app.page(&cookie, "/team").await;
    assert!(html.contains("action=\"/team/changes\""), "{html}");
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/team/changes"))
            .header(COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let leaving = out.to_string();
    let r = post(vec![
        ("leaving_staff_id", leaving.clone()),
        ("joining_name", "成员戊（演示）".into()),
        ("joining_years", "3".into()),
        ("reason", "调岗".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("从业年限 3 年"));
    assert_eq!(count_changes(&app).await, 0);
    let r = post(vec![
        ("leaving_staff_id", leaving),
        ("joining_name", "成员戊（演示）".into()),
        ("joining_years", "6".into()),
        ("reason", "调岗".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/personnel-changes",
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(
        list["items"][0]["joining"]["fields"]["name"],
        "成员戊（演示）"
    );
    assert_eq!(list["items"][0]["status"], "requested");
}
