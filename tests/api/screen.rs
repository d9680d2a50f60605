//! The wall display (大屏) and its display links, and a system's 360° page (issue 15):
//! a link is made and revoked by admins only, opens the display with no login and no
//! session, keeps nobody's session alive and writes nothing; the display's figures are the
//! API's; a system's overview shows its open P1 and its down monitor.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::browser::Driver;
use crate::helpers::*;

async fn sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap()
}

async fn last_seen(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM sessions ORDER BY id")
        .fetch_all(app.ctx.store.pool())
        .await
        .unwrap()
}

async fn oa_system(app: &TestApp) -> i64 {
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/systems?limit=100",
            StatusCode::OK,
        )
        .await;
    each(&v["items"])
        .find(|s| {
            s["name"]
                .as_str()
                .unwrap_or_default()
                .contains("办公自动化")
        })
        .and_then(|s| s["id"].as_i64())
        .unwrap()
}

/// A TCP monitor of the system on a closed port, checked once: down.
async fn down_monitor(app: &TestApp, system_id: i64) -> i64 {
    let port = free_port();
    let id = created_id(
        app,
        &app.admin_token,
        "/api/v1/monitors",
        &json!({"name": "OA 数据库端口", "kind": "tcp", "target": format!("127.0.0.1:{port}"),
                    "system_id": system_id, "failures_before_down": 1}),
    )
    .await;
    let v = check_monitor(app, id).await;
    assert_eq!(v["state"], "down", "{v}");
    id
}

async fn incident(app: &TestApp, system_id: i64, title: &str, level: &str) -> Value {
    app.post_expect(
        &app.admin_token,
        "/api/v1/tickets",
        &json!({"kind": "incident", "title": title, "system_id": system_id, "impact": level, "urgency": level}),
        StatusCode::CREATED,
    )
    .await
}

async fn new_link(app: &TestApp) -> (i64, String) {
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/display-links",
            &json!({"name": "值班室大屏"}),
            StatusCode::CREATED,
        )
        .await;
    (
        v["id"].as_i64().unwrap(),
        v["url"].as_str().unwrap().to_string(),
    )
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn only_an_admin_creates_lists_and_revokes_display_links_and_each_is_audited() {
    let app = spawn_demo().await;
    let (_, eng) = app.user_with_role("eng1", "engineer").await;
    let (_, sup) = app.user_with_role("sup1", "supervisor").await;
    for t in [&eng, &sup] {
        let v = app
            .post_expect(
                t,
                "/api/v1/display-links",
                &json!({}),
                StatusCode::FORBIDDEN,
            )
            .await;
        assert_eq!(error_code(&v), "forbidden", "{v}");
        app.get_json_expect(t, "/api/v1/display-links", StatusCode::FORBIDDEN)
            .await;
    }
    // Unknown fields and an over-long name are refused in Chinese.
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/display-links",
            &json!({"name": "x", "token": "mine"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(v.to_string().contains("token"), "{v}");
    app.post_expect(
        &app.admin_token,
        "/api/v1/display-links",
        &json!({"name": "长".repeat(101)}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let audits = app.audit_count().await;
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/display-links",
            &json!({}),
            StatusCode::CREATED,
        )
        .await;
    let id = v["id"].as_i64().unwrap();
    let url = v["url"].as_str().unwrap();
    assert!(url.starts_with("/display/yd_") && url.len() > 60, "{v}");
    assert_eq!(v["name"], "大屏链接");
    assert_eq!(app.audit_count().await, audits + 1);
    // The token is stored hashed: neither the list nor the table holds it.
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/display-links", StatusCode::OK)
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert!(!list.to_string().contains(&token_of(url)), "{list}");
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM display_links")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap();
    assert_ne!(stored, token_of(url));
    assert_eq!(stored.len(), 64);

    assert_eq!(
        app.delete(&eng, &format!("/api/v1/display-links/{id}"))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&app.admin_token, &format!("/api/v1/display-links/{id}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.audit_count().await, audits + 2);
    assert_eq!(
        app.delete(&app.admin_token, &format!("/api/v1/display-links/{id}"))
            .await,
        StatusCode::NOT_FOUND
    );
    let (_, audit) = app
        .get_json(
            &app.login_ok("sup1", "Changed#Pass2").await,
            "/api/v1/audit-events?q=大屏展示链接",
        )
        .await;
    assert!(audit.to_string().contains("撤销大屏展示链接"), "{audit}");
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/display-links", StatusCode::OK)
        .await;
    assert_eq!(list["items"][0]["revoked"], true, "{list}");
}

#[tokio::test]
async fn a_display_link_opens_the_wall_without_login_or_session_and_stops_when_revoked() {
    let app = spawn_demo().await;
    let (id, url) = new_link(&app).await;
    let token = token_of(&url);
    let data = format!("/api/v1/display/{token}");
    // A signed-in browser that also opens the link: its session must not be kept alive.
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let before = sessions(&app).await;
    let seen = last_seen(&app).await;
    app.clock.advance(chrono::Duration::minutes(5));

    for (path, with_cookie) in [(&url, false), (&data, false), (&url, true), (&data, true)] {
        let mut req = app.client.get(app.url(path));
        if with_cookie {
            req = req.header(COOKIE, &cookie);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.headers().get(SET_COOKIE).is_none(), "{path} set a cookie");
        assert_eq!(
            r.headers().get("cache-control").unwrap(),
            "no-store",
            "{path}"
        );
        let body = r.text().await.unwrap();
        if path == &url {
            assert!(body.contains("政务信息化运维监控大屏"), "{body}");
            assert_eq!(body.matches("class=\"stile").count(), 27);
            assert!(!body.contains("返回平台"), "no way into the platform");
            assert!(body.contains(&token), "the page polls the link's data");
        } else {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["systems"].as_array().unwrap().len(), 27, "{v}");
            assert_eq!(v["link"]["id"], id);
        }
    }
    assert_eq!(sessions(&app).await, before, "no session was created");
    assert_eq!(last_seen(&app).await, seen, "no session was kept alive");

    // Read-only: nothing but the display answers to the link's token.
    let r = app
        .client
        .post(app.url(&data))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = app
        .post(
            &token,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get_json(&token, "/api/v1/tickets").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get_json(&token, "/api/v1/screen").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get_json(&token, "/api/v1/display-links").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(sessions(&app).await, before);

    // A made-up token is refused like a revoked one.
    let r = app.anon_get("/display/yd_00").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        app.delete(&app.admin_token, &format!("/api/v1/display-links/{id}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let r = app.anon_get(&url).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert!(r.text().await.unwrap().contains("展示链接无效或已撤销"));
    let (s, v) = app.get_json("", &data).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(error_code(&v), "unauthorized");
    assert_eq!(sessions(&app).await, before);
}

#[tokio::test]
async fn the_wall_figures_are_the_api_figures() {
    let app = spawn_demo().await;
    let oa = oa_system(&app).await;
    let m = down_monitor(&app, oa).await;
    // A second result ten minutes later: the monitor has a measured (non-null) availability.
    app.clock.advance(chrono::Duration::minutes(10));
    check_monitor(&app, m).await;
    incident(&app, oa, "OA 无法登录", "high").await;
    let other = if oa == 1 { 2 } else { 1 };
    incident(&app, other, "公文交换延迟", "medium").await;
    let (_, url) = new_link(&app).await;
    let (s, d) = app
        .get_json("", &format!("/api/v1/display/{}", token_of(&url)))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    // Open incidents by priority, as the ticket list counts them.
    let mut any = 0;
    for p in ["P1", "P2", "P3", "P4"] {
        let total = app
            .total(&format!(
                "/api/v1/tickets?kind=incident&open=true&priority={p}"
            ))
            .await;
        assert_eq!(d["incidents_open_by_priority"][p], total, "{p}: {d}");
        any += total;
    }
    assert!(any >= 2, "{d}");
    assert_eq!(
        d["tickets_open"],
        app.total("/api/v1/tickets?open=true").await
    );
    // SLA compliance this month, as the ticket statistics compute it.
    let stats = app
        .get_json_expect(&app.admin_token, "/api/v1/tickets/stats", StatusCode::OK)
        .await;
    assert_eq!(
        d["sla"]["compliance"], stats["total"]["sla_compliance"],
        "{stats}"
    );
    assert_eq!(d["sla"]["tickets"], stats["total"]["tickets"]);
    // Availability of the OA system, as its availability endpoint computes it.
    let now = app.clock.now_ms();
    let rfc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let a = app
        .get_json_expect(
            &app.admin_token,
            &format!(
                "/api/v1/systems/{oa}/availability?from={}&to={}",
                rfc(now - 30 * 86_400_000),
                rfc(now + 1)
            ),
            StatusCode::OK,
        )
        .await;
    let tile = each(&d["systems"]).find(|t| t["id"] == oa).unwrap().clone();
    assert!(a["availability"].is_number(), "{a}");
    assert_eq!(tile["availability_30d"], a["availability"], "{tile} {a}");
    // The only monitored system: the whole display's figure is its figure.
    assert_eq!(d["availability"]["days30"], a["availability"], "{d}");
    assert_eq!(tile["state"], "down", "{tile}");
    assert!(tile["open_p1p2"].as_i64().unwrap() >= 1, "{tile}");
    // A system without a monitor says what is known: its open incident, not 未监控.
    let t2 = each(&d["systems"]).find(|t| t["id"] == other).unwrap();
    assert_eq!(t2["monitors"], 0);
    assert!(
        matches!(t2["state"].as_str(), Some("incident" | "ticket")),
        "{t2}"
    );
    assert!(t2["label"].as_str().unwrap().contains("未接入监控"), "{t2}");
    // The machine room's readings say 未接入 where nothing is monitored.
    let room = &d["rooms"][0];
    assert!(room["readings"].to_string().contains("未接入"), "{room}");
    // The signed-in user's JSON is the same figures.
    let own = app
        .get_json_expect(&app.admin_token, "/api/v1/screen", StatusCode::OK)
        .await;
    assert_eq!(
        own["incidents_open_by_priority"],
        d["incidents_open_by_priority"]
    );
    let (_, rq) = app.user_with_role("citizen", "requester").await;
    app.get_json_expect(&rq, "/api/v1/screen", StatusCode::FORBIDDEN)
        .await;
}

#[tokio::test]
async fn a_system_overview_shows_its_open_p1_and_its_down_monitor() {
    let app = spawn_demo().await;
    let oa = oa_system(&app).await;
    down_monitor(&app, oa).await;
    let t = incident(&app, oa, "OA 无法登录", "high").await;
    assert_eq!(t["priority"], "P1", "{t}");
    let number = t["number"].as_str().unwrap();
    let o = app
        .get_json_expect(
            &app.admin_token,
            &format!("/api/v1/systems/{oa}/overview"),
            StatusCode::OK,
        )
        .await;
    let open = o["tickets"]["open"].as_array().unwrap();
    assert!(
        open.iter()
            .any(|x| x["number"] == number && x["priority"] == "P1"),
        "{o}"
    );
    assert_eq!(o["monitors_down"], 1, "{o}");
    assert_eq!(o["monitors"][0]["state"], "down");
    assert!(o["facts"]["users_count"].is_number(), "{o}");
    assert!(o["facts"]["posts"].as_i64().unwrap() >= 2, "{o}");
    assert!(o["availability"]["days30"].is_object(), "{o}");
    for k in [
        "assets",
        "inspections",
        "backups",
        "lines",
        "requirements",
        "deliverables",
    ] {
        assert!(o[k].is_array(), "{k}: {o}");
    }
    // The page shows both.
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&c, &format!("/systems/{oa}")).await;
    assert_eq!(s, StatusCode::OK);
    for needle in [
        "系统 360° 概览",
        number,
        "OA 数据库端口",
        "故障",
        "近 30 天可用率",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // A requester sees neither; an unknown system is 404.
    let (_, rq) = app.user_with_role("citizen", "requester").await;
    app.get_json_expect(
        &rq,
        &format!("/api/v1/systems/{oa}/overview"),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.get_json_expect(
        &app.admin_token,
        "/api/v1/systems/99999/overview",
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_wall_display_at_1920_by_1080_through_a_display_link_draws_its_charts_without_a_session()
 {
    let app = spawn_demo().await;
    let oa = oa_system(&app).await;
    down_monitor(&app, oa).await;
    incident(&app, oa, "OA 无法登录", "high").await;
    let (_, url) = new_link(&app).await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let before = sessions(&app).await;
    d.window_size(1920, 1080).await;
    d.goto(&app.url(&url)).await;
    d.wait_text("#system-tiles", "办公自动化").await;
    // Drawn by screen.js from the polled JSON, with the charts on canvases.
    let mut drawn = false;
    for _ in 0..60 {
        let v = d
            .exec("return [document.getElementById('wall').getAttribute('data-drawn'), document.querySelectorAll('#ch-trend canvas, #ch-incidents canvas, #ch-sla canvas, #ch-states canvas').length]")
            .await;
        if !v[0].is_null() && v[1].as_u64().unwrap_or(0) >= 4 {
            drawn = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(drawn, "the charts were drawn");
    assert_eq!(d.count("#system-tiles .stile").await, 27);
    assert_eq!(d.count("#system-tiles .stile.s-down").await, 1);
    assert_eq!(d.count("nav").await, 0, "no navigation");
    let size = d
        .exec("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight, window.innerWidth, window.innerHeight]")
        .await;
    assert!(
        size[0].as_i64() <= size[2].as_i64() && size[1].as_i64() <= size[3].as_i64(),
        "fits the screen: {size}"
    );
    let cookies = d.cmd(reqwest::Method::GET, "/cookie", json!({})).await;
    assert_eq!(cookies, json!([]), "no cookie was set");
    d.screenshot("screen-wall").await;
    d.assert_no_csp_violations("on the wall display").await;
    assert_eq!(sessions(&app).await, before, "no session was created");

    // The system's 360° page, signed in.
    d.window_size(1280, 900).await;
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.goto(&app.url(&format!("/systems/{oa}"))).await;
    d.wait_text("#system-360", "近 30 天可用率").await;
    d.wait_text("#sys-tickets", "OA 无法登录").await;
    d.wait_text("#sys-monitors", "故障").await;
    d.exec("document.getElementById('system-360').scrollIntoView(); return 1")
        .await;
    d.screenshot("system-360").await;
    d.exec("document.getElementById('sys-backups').scrollIntoView(); return 1")
        .await;
    d.screenshot("system-360-lower").await;
    d.assert_no_csp_violations("on the system page").await;
    // The admin's own wall display and the links page.
    d.window_size(1920, 1080).await;
    d.goto(&app.url("/screen")).await;
    d.wait_text("#system-tiles", "办公自动化").await;
    d.screenshot("screen-signed-in").await;
    d.goto(&app.url("/display-links")).await;
    d.wait_text("#display-links", "值班室大屏").await;
    d.assert_no_csp_violations("on the screen and links pages")
        .await;
    d.quit().await;
}

#[tokio::test]
async fn an_admin_creates_and_revokes_a_display_link_on_its_page_and_others_cannot() {
    let app = spawn_demo().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>, cookie: String| {
        let app = &app;
        async move { app.page_post(&cookie, path, &form).await }
    };
    let r = post(
        "/display-links",
        vec![("name", "机房大屏"), ("description", "")],
        c.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"new-link\""), "{html}");
    assert!(html.contains("机房大屏") && html.contains("有效"), "{html}");
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/display-links", StatusCode::OK)
        .await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["description"], Value::Null);
    let path: &'static str = Box::leak(format!("/display-links/{id}/revoke").into_boxed_str());
    let r = post(path, vec![], c.clone()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&c, "/display-links").await;
    assert!(html.contains("已撤销"), "{html}");
    // The navigation offers it to the admin only; other roles are refused.
    let (_, home) = app.page(&c, "/").await;
    assert!(home.contains("大屏展示链接"));
    app.user_with_role("mgr1", "manager").await;
    let mc = app.page_cookie("mgr1", "Changed#Pass2").await;
    let (s, _) = app.page(&mc, "/display-links").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = post("/display-links", vec![("name", "x")], mc.clone()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.total("/api/v1/display-links").await, 1);
}
