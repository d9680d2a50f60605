//! Pages over HTTP: login, forced password change, navigation by role, forms.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use reqwest::multipart::{Form, Part};

use crate::helpers::*;
use serde_json::json;

/// Posts the password page's form with `new` typed twice: the response.
async fn change_password(
    app: &TestApp,
    cookie: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    let form = [
        ("current_password", current),
        ("new_password", new),
        ("confirm_password", new),
    ];
    app.page_post(cookie, "/password", &form).await
}

/// The portal's incident form with a title and a system id, as typed.
fn incident_form(title: &str, system_id: &str) -> Form {
    Form::new()
        .text("kind", "incident")
        .text("title", title.to_string())
        .text("system_id", system_id.to_string())
}

#[tokio::test]
async fn pages_need_a_session_and_the_login_page_is_chinese() {
    let app = spawn_app().await;
    let r = app.anon_get("/assets").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?next=/assets");
    let html = app.anon_get("/login").await.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("用户名") && html.contains("登录"));
    let (s, _, _) = app.page_login("admin", "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_inventory_page_renders_with_the_demo_data() {
    let app = spawn_demo().await;
    let (s, cookie, loc) = app.page_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc, "/");
    assert!(cookie.starts_with("yunwei_session="));
    let (s, html) = app.page(&cookie, "/").await;
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
        let (s, html) = app.page(&cookie, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {html}");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{path}");
    }
    let (_, html) = app.page(&cookie, "/systems?limit=50").await;
    assert_eq!(html.matches("<a href=\"/systems/").count(), 27);
    let (_, html) = app.page(&cookie, "/systems/23").await;
    assert!(html.contains("数据库工程师") && html.contains("驻场") && html.contains("变更历史"));
    // The admin has no audit page.
    let (s, _) = app.page(&cookie, "/audit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.page(&cookie, "/no-such-page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_show_chinese_field_errors_and_save_valid_input() {
    let app = spawn_demo().await;
    let (_, cookie, _) = app.page_login("admin", ADMIN_PASSWORD).await;
    let r = app
        .page_post(
            &cookie,
            "/assets",
            &[("name", ""), ("category", "server"), ("quantity", "abc")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请填写名称") && html.contains("数量应为整数"),
        "{html}"
    );
    assert_eq!(app.total("/api/v1/assets").await, 55);
    let r = app
        .page_post(
            &cookie,
            "/assets",
            &[
                ("name", "新服务器"),
                ("category", "server"),
                ("quantity", "1"),
                ("warranty_until", "2030"),
            ],
        )
        .await;
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
    let (_, cookie, loc) = app.page_login("newbie", "Initial#Pass1").await;
    assert_eq!(loc, "/password");
    let r = app.page_get(&cookie, "/assets").await;
    assert_eq!(r.headers()[LOCATION], "/password");
    let r = change_password(&app, &cookie, "Initial#Pass1", "short").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("至少需要 8 个字符"));
    let r = change_password(&app, &cookie, "Initial#Pass1", "Better#Pass9").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, html) = app.page(&cookie, "/assets").await;
    assert_eq!(s, StatusCode::OK);
    // Engineers see the inventory but not account management.
    assert!(!html.contains("href=\"/users\""));
}

#[tokio::test]
async fn a_requester_sees_only_the_systems_page() {
    let app = spawn_demo().await;
    app.user_with_role("citizen", "requester").await;
    let (_, cookie, _) = app.page_login("citizen", "Changed#Pass2").await;
    let (s, html) = app.page(&cookie, "/systems").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("href=\"/assets\""));
    assert!(!html.contains("用户数"), "requesters do not see figures");
    for path in ["/assets", "/staff", "/systems/1", "/users", "/audit"] {
        let (s, _) = app.page(&cookie, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn the_desk_pages_render_for_staff_and_the_portal_for_requesters() {
    let app = spawn_demo().await;
    app.user_with_role("citizen", "requester").await;
    let (_, rc, _) = app.page_login("citizen", "Changed#Pass2").await;
    let (s, html) = app.page(&rc, "/tickets/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("我要报障") && html.contains("广东省生态环境厅办公自动化系统"));
    let r = app
        .post_multipart_page(&rc, "/tickets", incident_form("", ""))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请填写标题") && html.contains("请选择出现问题的系统"),
        "{html}"
    );
    let r = app
        .post_multipart_page(
            &rc,
            "/tickets",
            incident_form("打不开", "23").part(
                "files",
                Part::bytes(b"MZ\x90\x00".to_vec()).file_name("tool.exe"),
            ),
        )
        .await;
    // A file of a refused type sends the form back with the reason; no ticket is opened.
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("tool.exe") && html.contains("不支持的附件类型"),
        "{html}"
    );
    assert!(
        html.contains("打不开"),
        "the form keeps what was typed: {html}"
    );
    let (_, v) = app.get_json(&app.admin_token, "/api/v1/tickets").await;
    assert_eq!(v["total"], 0, "{v}");
    let r = app
        .post_multipart_page(
            &rc,
            "/tickets",
            incident_form("打不开", "23")
                .part(
                    "files",
                    Part::bytes("登录页报错 502\n".as_bytes().to_vec())
                        .file_name("报错截图说明.txt"),
                )
                .part("files", Part::bytes(Vec::new()).file_name("")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[LOCATION].to_str().unwrap().to_string();
    let (s, html) = app.page(&rc, &loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("SLA 计时") && html.contains("到场"), "{html}");
    assert!(
        html.contains("报错截图说明.txt"),
        "the attachment sent with the report is on the ticket: {html}"
    );
    let (_, html) = app.page(&rc, "/tickets").await;
    assert!(html.contains("我的工单") && html.contains("打不开"));

    let (_, ac, _) = app.page_login("admin", ADMIN_PASSWORD).await;
    for path in [
        "/tickets",
        "/tickets/new",
        &loc,
        "/sla-policies",
        "/desk",
        "/desk?from=2025-01-01&to=2025-12-31",
        "/tickets?breached=true&kind=incident",
    ] {
        let (s, html) = app.page(&ac, path).await;
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
        .page_post(
            &ac,
            &format!("/tickets/{id}/comment"),
            &[("body", "已安排工程师")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .page_post(
            &ac,
            &format!("/tickets/{id}/action"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("不能执行"));
}

#[tokio::test]
async fn the_holiday_calendar_is_shown_by_year_and_edited_in_the_page() {
    let app = spawn_demo().await;
    let (_, ac, _) = app.page_login("admin", ADMIN_PASSWORD).await;
    let (_, cals) = app.get_json(&app.admin_token, "/api/v1/calendars").await;
    let wh = each(&cals["items"])
        .find(|c| c["kind"] == "working_hours")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, html) = app.page(&ac, "/calendars").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("工作日历") && html.contains(&format!("/calendars/{wh}")));
    let (s, html) = app.page(&ac, &format!("/calendars/{wh}?year=2025")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    // National Day 2025 off, the make-up Saturday 2025-09-28 working.
    assert!(
        html.contains("2025-10-01") && html.contains("国庆节"),
        "{html}"
    );
    assert!(html.contains("data-date=\"2025-09-28\""));
    let (s, _) = app.page(&ac, &format!("/calendars/{wh}?year=abc")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let post = |cookie: String, form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            app.page_post(&cookie, &format!("/calendars/{wh}/days"), &form)
                .await
        }
    };
    // 31 December 2026 as the API reads it.
    let new_years_eve = || async {
        let path = format!("/api/v1/calendars/{wh}/days?from=2026-12-31&to=2026-12-31");
        app.get_json(&app.admin_token, &path).await.1
    };
    // No reason: refused with what to fix, nothing changed.
    let before = app.audit_count().await;
    let r = post(
        ac.clone(),
        vec![("date", "2026-12-31"), ("mode", "holiday"), ("reason", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请填写原因"));
    assert_eq!(app.audit_count().await, before);
    let r = post(
        ac.clone(),
        vec![
            ("date", "2026-12-31"),
            ("mode", "holiday"),
            ("reason", "厅里年终盘点停机"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let days = new_years_eve().await;
    assert_eq!(
        days["items"][0],
        json!({"date": "2026-12-31", "working": false, "reason": "厅里年终盘点停机"})
    );
    assert_eq!(app.audit_count().await, before + 1);
    // Back to the weekday rule.
    let r = post(
        ac.clone(),
        vec![("date", "2026-12-31"), ("mode", "default"), ("reason", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let days = new_years_eve().await;
    assert_eq!(days["items"][0]["working"], json!(true));
    // An auditor sees the calendar but cannot change it; a requester sees neither.
    app.user_with_role("jianli", "auditor").await;
    let (_, auc, _) = app.page_login("jianli", "Changed#Pass2").await;
    let (s, html) = app.page(&auc, &format!("/calendars/{wh}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("day-form"));
    let r = post(
        auc,
        vec![("date", "2026-12-30"), ("mode", "holiday"), ("reason", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.user_with_role("citizen", "requester").await;
    let (_, rc, _) = app.page_login("citizen", "Changed#Pass2").await;
    let (s, _) = app.page(&rc, "/calendars").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The message page and badge render for everyone.
    for c in [&ac, &rc] {
        let (s, html) = app.page(c, "/messages").await;
        assert_eq!(s, StatusCode::OK, "{html}");
        let (s, _) = app.page(c, "/messages/badge").await;
        assert_eq!(s, StatusCode::OK);
    }
}

/// Every page that changes something takes the same-origin check as an extractor: a form
/// posted from another site with a valid session is refused with 403 before the handler
/// runs, whatever the form holds, and nothing changes.
#[tokio::test]
async fn every_page_form_posted_from_another_site_is_refused_and_changes_nothing() {
    let app = spawn_demo().await;
    let (_, cookie, _) = app.page_login("admin", ADMIN_PASSWORD).await;
    let counts = [
        "/api/v1/assets",
        "/api/v1/systems",
        "/api/v1/users",
        "/api/v1/tickets",
        "/api/v1/monitors",
        "/api/v1/reports",
        "/api/v1/requirements",
    ];
    let mut before = Vec::new();
    for c in counts {
        before.push(app.total(c).await);
    }
    let forms = [
        "/logout",
        "/password",
        "/tokens",
        "/tokens/1/revoke",
        "/users",
        "/users/1",
        "/users/1/reset",
        "/demo",
        "/tickets",
        "/tickets/1/action",
        "/tickets/1/comment",
        "/tickets/1/attach",
        "/inspections/tasks/1",
        "/inspections/tasks/1/draft",
        "/inspections/tasks/1/photos",
        "/reports",
        "/reports/texts/om.overview",
        "/operations/lines/1/records",
        "/requirements",
        "/requirements/1/transition",
        "/cloud/import",
        "/team/changes",
        "/team/changes/1/decision",
        "/messages/read-all",
        "/messages/1/open",
        "/monitors",
        "/monitors/1/edit",
        "/monitors/1/action",
        "/alerts/1/action",
        "/display-links",
        "/display-links/1/revoke",
        "/calendars/1/days",
        "/calendars/1/import",
        "/calendars/1/import/confirm",
        "/assets",
        "/assets/1",
        "/assets/1/delete",
        "/assets/import",
    ];
    for path in forms {
        let r = app
            .client
            .post(app.url(path))
            .header(COOKIE, &cookie)
            .header("origin", "http://evil.example")
            .form(&[
                ("name", "x"),
                ("title", "x"),
                ("do", "close"),
                ("body", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    // The session still works (the cross-site logout did not end it) and nothing changed.
    let (s, _) = app.page(&cookie, "/").await;
    assert_eq!(s, StatusCode::OK);
    for (c, n) in counts.iter().zip(before) {
        assert_eq!(app.total(c).await, n, "{c}");
    }
}

/// List pages link to their previous and next pages and keep their filters in the links.
#[tokio::test]
async fn list_pages_link_to_the_next_and_previous_page_with_their_filters() {
    let app = spawn_demo().await;
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    for i in 0..3 {
        app.post_expect(
            &token,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": format!("翻页 {i}"), "system_id": 3, "source": "phone"}),
            StatusCode::CREATED,
        )
        .await;
    }
    let (_, cookie, _) = app.page_login("admin", ADMIN_PASSWORD).await;
    let (s, html) = app
        .page(&cookie, "/tickets?kind=incident&limit=1&offset=1")
        .await;
    assert_eq!(s, StatusCode::OK);
    let pager = html
        .split("class=\"pager\"")
        .nth(1)
        .and_then(|p| p.split("</nav>").next())
        .unwrap_or_else(|| panic!("no pager: {html}"));
    assert!(
        pager.contains("kind=incident")
            && pager.contains("offset=0\">上一页")
            && pager.contains("offset=2\">下一页"),
        "{pager}"
    );
    // The last page has no next link, the first no previous one.
    let (_, html) = app
        .page(&cookie, "/tickets?kind=incident&limit=1&offset=2")
        .await;
    assert!(html.contains("上一页") && !html.contains("下一页"));
    let (_, html) = app.page(&cookie, "/tickets?kind=incident&limit=1").await;
    assert!(!html.contains("上一页") && html.contains("下一页"));
}

/// Without a session, a page form posted from another site is sent to the login page like
/// any other signed-out post: the session is checked before the origin.
#[tokio::test]
async fn a_signed_out_post_from_another_site_goes_to_the_login_page() {
    let app = spawn_demo().await;
    for path in ["/logout", "/password", "/tickets", "/assets"] {
        let r = app
            .client
            .post(app.url(path))
            .header("origin", "http://evil.example")
            .form(&[("name", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "POST {path}");
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with("/login"), "POST {path} → {to}");
    }
}
