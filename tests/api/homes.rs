//! A home per role at `/`: what each role sees first (black-box on both databases), and
//! in headless Chromium every role's home and the list cards on a phone (390×844).

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Driver;
use crate::helpers::*;

const PW: &str = NAMED_USER_PASSWORD;

async fn person(app: &TestApp, login: &str, name: &str, role: &str) -> (i64, String) {
    named_user(app, login, name, role).await
}

async fn ticket(app: &TestApp, token: &str, body: Value) -> Value {
    app.post_expect(token, "/api/v1/tickets", &body, StatusCode::CREATED)
        .await
}

/// A team with work: a manager, two engineers, an operator, the 甲方, the 监理 and a
/// requester; tickets of each kind, one assigned, one supervised, a shift on call now.
struct World {
    app: TestApp,
    numbers: Vec<String>,
}

async fn world() -> World {
    let app = spawn_demo().await;
    let (_, pm) = person(&app, "pm", "项目经理王", "manager").await;
    let (li, _) = person(&app, "li", "李工", "engineer").await;
    person(&app, "zhao", "赵工", "engineer").await;
    person(&app, "op", "运营钱", "operator").await;
    let (_, jia) = person(&app, "jia", "甲方孙", "supervisor").await;
    person(&app, "jianli", "监理周", "auditor").await;
    let (_, citizen) = person(&app, "citizen", "市局报障员", "requester").await;
    let mut numbers = Vec::new();
    let p1 = ticket(&app, &citizen, json!({"kind": "incident", "title": "办公自动化系统无法登录", "system_id": 1, "impact": "high", "urgency": "high"})).await;
    numbers.push(p1["number"].as_str().unwrap().to_string());
    let id = p1["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &pm,
            &format!("/api/v1/tickets/{id}/actions"),
            &json!({"action": "assign", "assignee_id": li}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &jia,
            &format!("/api/v1/tickets/{id}/actions"),
            &json!({"action": "supervise", "note": "请尽快恢复"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let q = ticket(
        &app,
        &pm,
        json!({"kind": "request", "title": "如何导出月报", "system_id": 5}),
    )
    .await;
    numbers.push(q["number"].as_str().unwrap().to_string());
    let now = app.clock.now();
    app.post_expect(
        &app.admin_token,
        "/api/v1/duty-shifts",
        &json!({"user_id": li, "starts_at": (now - Duration::hours(1)).to_rfc3339(),
               "ends_at": (now + Duration::hours(11)).to_rfc3339(), "note": "白班"}),
        StatusCode::CREATED,
    )
    .await;
    World { app, numbers }
}

#[tokio::test]
async fn each_role_lands_on_its_own_home() {
    let w = world().await;
    let app = &w.app;
    let (p1, request) = (&w.numbers[0], &w.numbers[1]);
    let home = |login: &'static str| async move {
        let c = if login == "admin" {
            app.page_cookie("admin", ADMIN_PASSWORD).await
        } else {
            app.page_cookie(login, PW).await
        };
        let (s, html) = app.page(&c, "/").await;
        assert_eq!(s, StatusCode::OK, "{login}");
        html.replace("&#x2f;", "/")
    };

    // Engineer: my tickets by SLA time left, today's inspections, overdue, my shift.
    let h = home("li").await;
    assert!(h.contains("data-home=\"engineer\""));
    assert!(h.contains("我的待办（按 SLA 剩余时间）") && h.contains(p1.as_str()));
    assert!(h.contains("剩 ") || h.contains("超时 "), "SLA time left");
    assert!(h.contains("今日巡检任务") && h.contains("正在值班"));
    assert!(!h.contains(request.as_str()), "only my tickets");

    // Manager: team load, SLA at risk, unassigned work, deliverables, quality.
    let h = home("pm").await;
    assert!(h.contains("data-home=\"manager\""));
    for part in [
        "团队负荷",
        "SLA 风险",
        "待分派",
        "即将到期的交付物",
        "质量目标",
        "李工",
    ] {
        assert!(h.contains(part), "manager home: {part}");
    }
    assert!(h.contains(request.as_str()), "the unassigned request");
    // The contract's quality targets, each measured this month against its target.
    for part in [
        "SLA 达标率",
        "系统可用率",
        "备份成功率",
        "巡检完成率",
        "目标 ≥ ",
        "每 5 分钟更新",
    ] {
        assert!(h.contains(part), "manager quality targets: {part}");
    }

    // 甲方: the 27 systems, open P1/P2, SLA this month, 督办, deliverables to review.
    let h = home("jia").await;
    assert!(h.contains("data-home=\"oversight\""));
    assert_eq!(h.matches("class=\"stile s-").count(), 27, "27 systems");
    for part in [
        "未解决 P1/P2",
        "本月 SLA 达成率",
        "督办情况",
        "请尽快恢复",
        "待审核交付物",
    ] {
        assert!(h.contains(part), "甲方 home: {part}");
    }
    assert!(h.contains(p1.as_str()));
    assert!(!h.contains("审计要点"), "the 甲方 has no audit highlights");

    // 监理: the same, read-only, plus the audit highlights.
    let h = home("jianli").await;
    assert!(h.contains("data-home=\"oversight\"") && h.contains("审计要点"));
    assert!(
        !h.contains("/tickets/new\""),
        "read-only: no new-ticket link"
    );

    // Requester: own reports with status and the big 报障 button.
    let h = home("citizen").await;
    assert!(h.contains("data-home=\"requester\"") && h.contains("id=\"report-fault\""));
    assert!(h.contains(p1.as_str()) && h.contains("badge st-"));
    assert!(!h.contains(request.as_str()) && !h.contains("欢迎使用运维平台"));

    // Operator: the service lines' work today — every line until they are put on one,
    // then only theirs.
    let h = home("op").await;
    assert!(h.contains("data-home=\"operator\"") && h.contains("各服务条线今日工作"));
    assert!(h.contains("id=\"lines-unassigned\""));
    let (a, b) = (
        line_by_code(app, "4.2.7").await,
        line_by_code(app, "4.2.8").await,
    );
    let op_id = app
        .get_json_expect(&app.admin_token, "/api/v1/users?limit=500", StatusCode::OK)
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["username"] == "op")
        .unwrap()["id"]
        .clone();
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/service-lines/{}", a["id"]),
        &json!({"staff_ids": [op_id]}),
        StatusCode::OK,
    )
    .await;
    let h = home("op").await;
    assert!(h.contains("我的服务条线今日工作") && !h.contains("id=\"lines-unassigned\""));
    let (an, bn) = (a["name"].as_str().unwrap(), b["name"].as_str().unwrap());
    assert!(
        h.contains(an) && !h.contains(bn),
        "only the operator's line"
    );

    // Admin: platform state above the inventory.
    let h = home("admin").await;
    assert!(h.contains("data-home=\"admin\"") && h.contains("平台状态"));
    assert!(
        h.contains("申报数量与实际清点"),
        "inventory kept for the admin"
    );
}

#[tokio::test]
async fn every_home_and_the_phone_cards_render_in_a_browser() {
    let w = world().await;
    let app = &w.app;
    let Some(d) = Driver::start().await else {
        return;
    };
    d.window_size(1280, 900).await;
    for (login, role) in [
        ("li", "engineer"),
        ("pm", "manager"),
        ("jia", "supervisor"),
        ("jianli", "auditor"),
        ("citizen", "requester"),
        ("op", "operator"),
    ] {
        d.sign_in(&app.base, login, PW).await;
        d.wait_text("#home", "").await;
        d.screenshot(&format!("home-{role}")).await;
        d.assert_no_csp_violations(&format!("{role} home")).await;
    }
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.screenshot("home-admin").await;

    // A phone: the ticket list turns into cards, one labelled field a line, and the page
    // fits the width.
    d.window_size(390, 844).await;
    d.sign_in(&app.base, "pm", PW).await;
    d.screenshot("home-manager-phone").await;
    d.goto(&app.url("/tickets")).await;
    let display = d
        .exec("return getComputedStyle(document.querySelector('#tickets tbody tr')).display")
        .await;
    assert_eq!(display, json!("block"), "rows are cards");
    let head = d
        .exec("return getComputedStyle(document.querySelector('#tickets thead')).display")
        .await;
    assert_eq!(head, json!("none"));
    let label = d
        .exec("return getComputedStyle(document.querySelector('#tickets tbody td[data-label]'), '::before').content")
        .await;
    assert_eq!(label, json!("\"编号\""));
    let fits = d
        .exec("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(fits, json!(true), "the ticket list fits the phone");
    d.screenshot("phone-ticket-cards").await;
    for path in ["/assets", "/systems", "/"] {
        d.goto(&app.url(path)).await;
        let fits = d
            .exec("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            .await;
        assert_eq!(fits, json!(true), "{path} fits the phone");
    }
    d.goto(&app.url("/assets")).await;
    d.screenshot("phone-asset-cards").await;
    d.quit().await;
}
