//! Personnel changes: refused then approved with staffing changing only on approval, bad
//! requests refused with nothing changed, and the purchaser's two-week manager replacement.

use reqwest::StatusCode;
use serde_json::json;

use super::*;

/// The administrator's read of staff member `id`.
async fn staff_member(app: &TestApp, id: i64) -> Value {
    let path = format!("/api/v1/staff/{id}");
    app.get_json_expect(&app.admin_token, &path, StatusCode::OK)
        .await
}

/// Decides personnel change `id` with `body` as `token`, expecting `want`: the answer.
async fn decide(app: &TestApp, token: &str, id: i64, body: &Value, want: StatusCode) -> Value {
    let path = format!("/api/v1/personnel-changes/{id}/decision");
    app.post_expect(token, &path, body, want).await
}

#[tokio::test]
async fn a_change_refused_then_approved_moves_the_staffing_only_on_approval() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let sys = created_id(
        &app,
        &app.admin_token,
        "/api/v1/systems",
        &json!({"name": "测试系统（演示）"}),
    )
    .await;
    let leaving = member(
        &app,
        json!({"name": "调出工程师（演示）", "team_role": "om_engineer", "key_staff": "yes",
               "years_experience": 5}),
    )
    .await;
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/staff/{leaving}/certificates"),
        &json!({"name": "信息系统运行管理员", "expires_on": "2027-12-31"}),
        StatusCode::CREATED,
    )
    .await;
    let slot = created_id(
        &app,
        &app.admin_token,
        "/api/v1/assignments",
        &json!({"system_id": sys, "duty": "om_engineer", "staff_id": leaving}),
    )
    .await;
    let joining =
        json!({"name": "调入工程师（演示）", "team_role": "om_engineer", "years_experience": 6});
    let certs = json!([{"name": "信息系统运行管理员", "expires_on": "2028-06-30"}]);
    let body = json!({"leaving_staff_id": leaving, "joining": joining,
                      "joining_certificates": certs, "reason": "原成员调往其他项目"});
    let staff_before = app.total("/api/v1/staff").await;

    // The contractor files; the purchaser is told in-app.
    let c1 = app
        .post_expect(&mt, "/api/v1/personnel-changes", &body, StatusCode::CREATED)
        .await;
    assert_eq!(c1["status"], "requested");
    assert_eq!(c1["less_qualified"], false, "{c1}");
    let id1 = c1["id"].as_i64().unwrap();
    let msgs = app
        .get_json_expect(&st, "/api/v1/me/messages", StatusCode::OK)
        .await;
    assert!(
        each(&msgs["items"]).any(|m| m["event"] == "personnel_change.requested"),
        "{msgs}"
    );
    // The written request travels with it as a file (PDF, JPEG or PNG only).
    let (s, v) = attach(&app, &mt, id1, "申请书.pdf", PDF).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = attach(&app, &mt, id1, "申请书.exe", b"MZ").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let g = app
        .get_json_expect(
            &st,
            &format!("/api/v1/personnel-changes/{id1}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(g["files"].as_array().unwrap().len(), 1, "{g}");
    let r = app.get(&st, g["files"][0]["url"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    // A second request for the same member is refused while the first is pending.
    let (s, v) = app.post(&mt, "/api/v1/personnel-changes", &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["leaving_staff_id"]);

    // The contractor cannot decide its own request; nothing changes.
    let (s, _) = app
        .post(
            &mt,
            &format!("/api/v1/personnel-changes/{id1}/decision"),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .post(
            &st,
            &format!("/api/v1/personnel-changes/{id1}/decision"),
            &json!({"decision": "refuse"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refusal says why: {v}"
    );
    assert_eq!(slot_holder(&app, slot).await, json!(leaving));

    // Refused: the team stays as it was.
    let r = decide(
        &app,
        &st,
        id1,
        &json!({"decision": "refuse", "comment": "项目关键期，暂不同意调整"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["status"], "refused");
    assert_eq!(slot_holder(&app, slot).await, json!(leaving));
    assert_eq!(app.total("/api/v1/staff").await, staff_before);
    let l = staff_member(&app, leaving).await;
    assert_eq!(l["status"], "active");
    assert_eq!(l["certificates"].as_array().unwrap().len(), 1, "{l}");
    let (s, _) = app
        .post(
            &st,
            &format!("/api/v1/personnel-changes/{id1}/decision"),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a decided change stays decided");
    let (s, _) = attach(&app, &mt, id1, "补充.pdf", PDF).await;
    assert_eq!(s, StatusCode::CONFLICT, "no files once decided");

    // Filed again and approved: the slot moves, the leaving member is marked left, the
    // joining member exists with the key-staff flag and the certificates.
    let id2 = created_id(&app, &mt, "/api/v1/personnel-changes", &body).await;
    let a = decide(
        &app,
        &st,
        id2,
        &json!({"decision": "approve", "comment": "同意"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(a["status"], "approved");
    let new_id = a["joining_staff_id"]
        .as_i64()
        .expect("joining member created");
    assert_eq!(slot_holder(&app, slot).await, json!(new_id));
    assert_eq!(app.total("/api/v1/staff").await, staff_before + 1);
    let l = staff_member(&app, leaving).await;
    assert_eq!(l["status"], "left");
    assert_eq!(l["left_on"], "2025-03-03");
    let n = staff_member(&app, new_id).await;
    assert_eq!(n["key_staff"], "yes");
    assert_eq!(n["status"], "active");
    assert_eq!(n["certificates"][0]["name"], "信息系统运行管理员");
    // An approved change covers the key member leaving.
    assert_eq!(
        check(&app, &mt, "key_staff_unchanged").await["state"],
        "met"
    );

    // The manager is told of the decision; the audit log holds each step.
    let msgs = app
        .get_json_expect(&mt, "/api/v1/me/messages", StatusCode::OK)
        .await;
    assert!(
        each(&msgs["items"]).any(|m| m["event"] == "personnel_change.decided"),
        "{msgs}"
    );
    let audit = app
        .get_json_expect(
            &st,
            "/api/v1/audit-events?entity_type=personnel_changes&limit=50",
            StatusCode::OK,
        )
        .await;
    let actions: Vec<&str> = each(&audit["items"])
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "create").count(),
        2,
        "{actions:?}"
    );
    assert!(
        actions.contains(&"refuse") && actions.contains(&"approve"),
        "{actions:?}"
    );
    let list = app
        .get_json_expect(
            &st,
            "/api/v1/personnel-changes?status=approved",
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["total"], 1);
    let list = app
        .get_json_expect(
            &st,
            "/api/v1/personnel-changes?q=调入工程师",
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn bad_change_requests_are_refused_and_a_less_qualified_member_needs_a_justification() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let out = member(
        &app,
        json!({"name": "资深工程师（演示）", "years_experience": 10}),
    )
    .await;
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/staff/{out}/certificates"),
        &json!({"name": "OCP"}),
        StatusCode::CREATED,
    )
    .await;
    let junior = member(
        &app,
        json!({"name": "初级工程师（演示）", "years_experience": 2}),
    )
    .await;
    let before = app.audit_count().await;
    for (who, body, code, want) in [
        (
            &mt,
            json!({"leaving_staff_id": out, "joining_staff_id": junior}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["reason"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["justification", "reason"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": 9999, "joining_staff_id": junior, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["leaving_staff_id"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["joining_staff_id"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "joining_staff_id": out, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["joining_staff_id"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "joining": {"phone": "abc"}, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["joining.name", "joining.phone"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "x", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["extra"],
        ),
        (
            &mt,
            json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["justification"],
        ),
        (
            &et,
            json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "x"}),
            StatusCode::FORBIDDEN,
            vec![],
        ),
        (
            &st,
            json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "x"}),
            StatusCode::FORBIDDEN,
            vec![],
        ),
    ] {
        let (s, v) = app.post(who, "/api/v1/personnel-changes", &body).await;
        assert_eq!(s, code, "{body}: {v}");
        if !want.is_empty() {
            assert_eq!(fields(&v), want, "{body}: {v}");
        }
    }
    assert_eq!(count_changes(&app).await, 0);
    assert_eq!(app.audit_count().await, before);
    let (s, v) = app
        .post(
            &mt,
            "/api/v1/personnel-changes",
            &json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = v["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("从业年限 2 年") && msg.contains("OCP"),
        "{msg}"
    );
    let c = app
        .post_expect(
            &mt,
            "/api/v1/personnel-changes",
            &json!({"leaving_staff_id": out, "joining_staff_id": junior, "reason": "原成员离职",
                    "justification": "已安排原成员交接两周，并由技术负责人指导"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(c["less_qualified"], true);
    assert_eq!(
        c["comparison"]["shortfalls"].as_array().unwrap().len(),
        2,
        "{c}"
    );
    let (s, _) = app.get_json(&mt, "/api/v1/personnel-changes/abc").await;
    assert!(s.is_client_error(), "{s}");
    let (s, _) = app.get_json(&mt, "/api/v1/personnel-changes/999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_manager_replacement_asked_by_the_purchaser_is_due_in_two_weeks() {
    let app = app().await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let pm = member(
        &app,
        json!({"name": "项目经理甲（演示）", "team_role": "project_manager",
                                  "pm_years": 4, "key_staff": "yes"}),
    )
    .await;
    let eng = member(&app, json!({"name": "工程师（演示）"})).await;
    assert_eq!(
        check(&app, &st, "manager_replacement").await["state"],
        "met"
    );
    // Only the purchaser asks, and only about the manager.
    let (s, _) = app
        .post(
            &mt,
            "/api/v1/personnel-changes",
            &json!({"kind": "purchaser_request", "leaving_staff_id": pm, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .post(
            &st,
            "/api/v1/personnel-changes",
            &json!({"kind": "purchaser_request", "leaving_staff_id": eng, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let c = app
        .post_expect(
            &st,
            "/api/v1/personnel-changes",
            &json!({"kind": "purchaser_request", "leaving_staff_id": pm, "reason": "项目经理不能胜任"}),
            StatusCode::CREATED,
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["due_at"], "2025-03-17T01:00:00Z");
    assert_eq!(c["overdue"], false);
    assert_eq!(
        check(&app, &st, "manager_replacement").await["state"],
        "at_risk"
    );
    // Nothing to approve until the contractor nominates.
    let (s, _) = app
        .post(
            &st,
            &format!("/api/v1/personnel-changes/{id}/decision"),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let n = app
        .post_expect(
            &mt,
            &format!("/api/v1/personnel-changes/{id}/nominate"),
            &json!({"joining": {"name": "项目经理乙（演示）", "pm_years": 6}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(n["joining"]["fields"]["name"], "项目经理乙（演示）");
    // Two weeks pass: overdue, broken.
    let st = advance(&app, 15, "jia").await;
    let g = app
        .get_json_expect(
            &st,
            &format!("/api/v1/personnel-changes/{id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(g["overdue"], true);
    let c = check(&app, &st, "manager_replacement").await;
    assert_eq!(c["state"], "broken", "{c}");
    assert_eq!(c["evidence"]["requests"][0]["overdue"], true);
    let a = decide(
        &app,
        &st,
        id,
        &json!({"decision": "approve"}),
        StatusCode::OK,
    )
    .await;
    let new_pm = a["joining_staff_id"].as_i64().unwrap();
    let c = check(&app, &st, "manager_experience").await;
    assert_eq!(c["state"], "met");
    assert_eq!(c["evidence"]["managers"][0]["id"], new_pm);
    // Replaced late: the record says so.
    assert_eq!(
        check(&app, &st, "manager_replacement").await["state"],
        "broken"
    );
}
