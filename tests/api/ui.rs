//! Pages over HTTP: login, forced password change, navigation by role, forms.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::*;

async fn page_login(app: &TestApp, user: &str, pw: &str) -> (StatusCode, String, String) {
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", user), ("password", pw), ("next", "/")])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let cookie = r
        .headers()
        .get(SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .unwrap_or_default();
    let loc = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, cookie, loc)
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn pages_need_a_session_and_the_login_page_is_chinese() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/assets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?next=/assets");
    let html = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("用户名") && html.contains("登录"));
    let (s, _, _) = page_login(&app, "admin", "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_inventory_page_renders_with_the_demo_data() {
    let app = spawn_demo().await;
    let (s, cookie, loc) = page_login(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc, "/");
    assert!(cookie.starts_with("yunwei_session="));
    let (s, html) = page(&app, &cookie, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("申报数量与实际清点") && html.contains("112") && html.contains("105"),
        "declared vs counted shown"
    );
    for path in [
        "/sites",
        "/assets",
        "/assets?category=network&sort=-quantity",
        "/assets?warranty=expired",
        "/systems",
        "/staff",
        "/assignments",
        "/systems/23",
        "/assets/1",
        "/sites/1",
        "/assets/new",
        "/systems/1/edit",
        "/users",
        "/users/new",
        "/users/1",
        "/tokens",
        "/password",
    ] {
        let (s, html) = page(&app, &cookie, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {html}");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{path}");
    }
    let (_, html) = page(&app, &cookie, "/systems?limit=50").await;
    assert_eq!(html.matches("<a href=\"/systems/").count(), 27);
    let (_, html) = page(&app, &cookie, "/systems/23").await;
    assert!(html.contains("数据库工程师") && html.contains("驻场") && html.contains("变更历史"));
    // The admin has no audit page.
    let (s, _) = page(&app, &cookie, "/audit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(&app, &cookie, "/no-such-page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_show_chinese_field_errors_and_save_valid_input() {
    let app = spawn_demo().await;
    let (_, cookie, _) = page_login(&app, "admin", ADMIN_PASSWORD).await;
    let r = app
        .client
        .post(app.url("/assets"))
        .header(COOKIE, &cookie)
        .form(&[("name", ""), ("category", "server"), ("quantity", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请填写名称") && html.contains("数量应为整数"),
        "{html}"
    );
    assert_eq!(app.total("/api/v1/assets").await, 55);
    let r = app
        .client
        .post(app.url("/assets"))
        .header(COOKIE, &cookie)
        .form(&[
            ("name", "新服务器"),
            ("category", "server"),
            ("quantity", "1"),
            ("warranty_until", "2030"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.total("/api/v1/assets").await, 56);
    // A form posted from another site is refused.
    let r = app
        .client
        .post(app.url("/assets"))
        .header(COOKIE, &cookie)
        .header("origin", "http://evil.example")
        .form(&[("name", "x"), ("category", "server")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The API does not accept the cookie for changes.
    let r = app
        .client
        .post(app.url("/api/v1/assets"))
        .header(COOKIE, &cookie)
        .json(&serde_json::json!({"name": "x", "category": "server"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.total("/api/v1/assets").await, 56);
}

#[tokio::test]
async fn a_user_who_must_change_the_password_is_sent_to_the_password_page() {
    let app = spawn_app().await;
    app.post(
        &app.admin_token,
        "/api/v1/users",
        &serde_json::json!({"username": "newbie", "role": "engineer", "password": "Initial#Pass1"}),
    )
    .await;
    let (_, cookie, loc) = page_login(&app, "newbie", "Initial#Pass1").await;
    assert_eq!(loc, "/password");
    let r = app
        .client
        .get(app.url("/assets"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/password");
    let r = app
        .client
        .post(app.url("/password"))
        .header(COOKIE, &cookie)
        .form(&[
            ("current_password", "Initial#Pass1"),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("至少需要 8 个字符"));
    let r = app
        .client
        .post(app.url("/password"))
        .header(COOKIE, &cookie)
        .form(&[
            ("current_password", "Initial#Pass1"),
            ("new_password", "Better#Pass9"),
            ("confirm_password", "Better#Pass9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, html) = page(&app, &cookie, "/assets").await;
    assert_eq!(s, StatusCode::OK);
    // Engineers see the inventory but not account management.
    assert!(!html.contains("href=\"/users\""));
}

#[tokio::test]
async fn a_requester_sees_only_the_systems_page() {
    let app = spawn_demo().await;
    app.user_with_role("citizen", "requester").await;
    let (_, cookie, _) = page_login(&app, "citizen", "Changed#Pass2").await;
    let (s, html) = page(&app, &cookie, "/systems").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("href=\"/assets\""));
    assert!(!html.contains("用户数"), "requesters do not see figures");
    for path in ["/assets", "/staff", "/systems/1", "/users", "/audit"] {
        let (s, _) = page(&app, &cookie, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn the_desk_pages_render_for_staff_and_the_portal_for_requesters() {
    let app = spawn_demo().await;
    app.user_with_role("citizen", "requester").await;
    let (_, rc, _) = page_login(&app, "citizen", "Changed#Pass2").await;
    let (s, html) = page(&app, &rc, "/tickets/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("我要报障") && html.contains("广东省生态环境厅办公自动化系统"));
    let r = app
        .client
        .post(app.url("/tickets"))
        .header(COOKIE, &rc)
        .form(&[("kind", "incident"), ("title", ""), ("system_id", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请填写标题") && html.contains("请选择出现问题的系统"),
        "{html}"
    );
    let r = app
        .client
        .post(app.url("/tickets"))
        .header(COOKIE, &rc)
        .form(&[
            ("kind", "incident"),
            ("title", "打不开"),
            ("system_id", "23"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[LOCATION].to_str().unwrap().to_string();
    let (s, html) = page(&app, &rc, &loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("SLA 计时") && html.contains("到场"), "{html}");
    let (_, html) = page(&app, &rc, "/tickets").await;
    assert!(html.contains("我的工单") && html.contains("打不开"));

    let (_, ac, _) = page_login(&app, "admin", ADMIN_PASSWORD).await;
    for path in [
        "/tickets",
        "/tickets/new",
        &loc,
        "/sla-policies",
        "/desk",
        "/desk?from=2025-01-01&to=2025-12-31",
        "/tickets?breached=true&kind=incident",
    ] {
        let (s, html) = page(&app, &ac, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {html}");
    }
    // A comment through the page, and an action refused with the reason shown.
    let id = loc
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .client
        .post(app.url(&format!("/tickets/{id}/comment")))
        .header(COOKIE, &ac)
        .form(&[("body", "已安排工程师")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .client
        .post(app.url(&format!("/tickets/{id}/action")))
        .header(COOKIE, &ac)
        .form(&[("action", "close")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("不能执行"));
}
