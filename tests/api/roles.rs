//! Least privilege per role, on the API.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_admin_cannot_read_the_audit_log_but_the_auditor_and_supervisor_can() {
    let app = spawn_app().await;
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/audit-events",
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(error_code(&v), "forbidden");
    for role in ["auditor", "supervisor"] {
        let (_, t) = app.user_with_role(role, role).await;
        let (s, v) = app.get_json(&t, "/api/v1/audit-events?limit=5").await;
        assert_eq!(s, StatusCode::OK, "{role}");
        assert!(v["total"].as_i64().unwrap() > 0);
    }
}

#[tokio::test]
async fn supervisor_auditor_operator_and_requester_never_change_the_inventory() {
    let app = spawn_demo().await;
    let before = app.audit_count().await;
    for role in ["supervisor", "auditor", "operator", "requester"] {
        let (_, t) = app.user_with_role(&format!("u_{role}"), role).await;
        let after_login = app.audit_count().await;
        let (s, v) = app
            .post(
                &t,
                "/api/v1/assets",
                &json!({"name": "x", "category": "server"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}: {v}");
        let (s, _) = app
            .patch(
                &t,
                "/api/v1/systems/1",
                &json!({"url": "https://example.gov.cn"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(
            app.delete(&t, "/api/v1/assets/1").await,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        let r = app
            .client
            .post(app.url("/api/v1/assets/import"))
            .bearer_auth(&t)
            .header("content-type", "text/csv")
            .body("名称,类别\nx,服务器设备\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role}");
        // Nothing was written: no audit record beyond the login and password change.
        assert_eq!(app.audit_count().await, after_login, "{role}");
    }
    assert!(app.audit_count().await > before);
    assert_eq!(app.total("/api/v1/assets").await, 55);
}

#[tokio::test]
async fn a_requester_sees_only_the_names_of_systems_and_nothing_else_of_the_inventory() {
    let app = spawn_demo().await;
    let (_, t) = app.user_with_role("citizen", "requester").await;
    let v = app
        .get_json_expect(&t, "/api/v1/systems?limit=100", StatusCode::OK)
        .await;
    assert_eq!(v["total"], json!(27));
    let first = &v["items"][0];
    assert!(first["name"].is_string());
    assert!(
        first.get("users_count").is_none(),
        "requesters do not see figures: {first}"
    );
    for path in [
        "/api/v1/assets",
        "/api/v1/staff",
        "/api/v1/sites",
        "/api/v1/users",
        "/api/v1/inventory/summary",
        "/api/v1/assets/export?format=csv",
    ] {
        assert_eq!(
            app.get(&t, path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_engineer_edits_only_the_systems_assigned_to_them() {
    let app = spawn_demo().await;
    let (uid, t) = app.user_with_role("eng1", "engineer").await;
    let staff = app
        .post_expect(
            &app.admin_token,
            "/api/v1/staff",
            &json!({"name": "工程师甲", "position": "运维工程师", "level": "中级", "user_id": uid}),
            StatusCode::CREATED,
        )
        .await;
    // Fill system 1's O&M slot with this engineer.
    fill_slot(&app, 1, "om_engineer", &staff["id"]).await;

    app.patch_expect(
        &t,
        "/api/v1/systems/1",
        &json!({"url": "https://gz.example.gov.cn"}),
        StatusCode::OK,
    )
    .await;
    app.patch_expect(
        &t,
        "/api/v1/systems/2",
        &json!({"url": "https://other.example.gov.cn"}),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.post_expect(
        &t,
        "/api/v1/systems",
        &json!({"name": "新系统"}),
        StatusCode::FORBIDDEN,
    )
    .await;
    // Assets: only those the assigned system runs on.
    assert_eq!(
        app.client
            .put(app.url("/api/v1/systems/1/assets/50"))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    app.patch_expect(
        &t,
        "/api/v1/assets/50",
        &json!({"ip": "10.0.0.5"}),
        StatusCode::OK,
    )
    .await;
    app.patch_expect(
        &t,
        "/api/v1/assets/51",
        &json!({"ip": "10.0.0.6"}),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn only_the_admin_manages_accounts() {
    let app = spawn_app().await;
    let (_, t) = app.user_with_role("pm", "manager").await;
    assert_eq!(
        app.get(&t, "/api/v1/users").await.status(),
        StatusCode::FORBIDDEN
    );
    app.post_expect(
        &t,
        "/api/v1/users",
        &json!({"username": "x1", "role": "admin", "password": "Good#Pass11"}),
        StatusCode::FORBIDDEN,
    )
    .await;
    // Everyone may read their own account.
    assert_eq!(app.get(&t, "/api/v1/me").await.status(), StatusCode::OK);
}
