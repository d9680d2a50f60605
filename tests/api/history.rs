//! Readable history: the audit log, its export and the ticket timeline name actions,
//! records and people in Chinese (the raw codes stay in the detail); every audit action
//! code the sources write has a phrase; and the small defects of issue 15 stay fixed.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PW: &str = NAMED_USER_PASSWORD;

/// An account with a display name, its API token and a page cookie.
async fn person(app: &TestApp, login: &str, name: &str, role: &str) -> (i64, String, String) {
    let (id, t) = named_user(app, login, name, role).await;
    let cookie = app.page_cookie(login, PW).await;
    (id, t, cookie)
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

async fn new_ticket(app: &TestApp, token: &str, kind: &str) -> Value {
    app.post_expect(
        token,
        "/api/v1/tickets",
        &json!({"kind": kind, "title": "统一身份认证登录失败", "system_id": 5}),
        StatusCode::CREATED,
    )
    .await
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    app.post(token, &format!("/api/v1/tickets/{id}/actions"), &body)
        .await
}

/// Assigns ticket `id` to the user `to` as `token`.
async fn assign(app: &TestApp, token: &str, id: i64, to: i64) -> (StatusCode, Value) {
    act(
        app,
        token,
        id,
        json!({"action": "assign", "assignee_id": to}),
    )
    .await
}

#[tokio::test]
async fn an_assignment_reads_as_who_gave_which_ticket_to_whom_in_the_audit_log_its_export_and_the_timeline()
 {
    let app = spawn_demo().await;
    let (_, wang, wang_page) = person(&app, "wang", "王工", "manager").await;
    let (li, _, _) = person(&app, "li", "李工", "engineer").await;
    let (_, _, jianli) = person(&app, "jianli", "监理张", "auditor").await;
    let t = new_ticket(&app, &wang, "request").await;
    let (id, number) = (t["id"].as_i64().unwrap(), t["number"].as_str().unwrap());
    let (s, v) = assign(&app, &wang, id, li).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let want = format!("王工 将工单 {number} 分派给 李工");
    let (s, html) = app.page(&jianli, "/audit").await;
    assert_eq!(s, StatusCode::OK);
    let html = unescape(&html);
    assert!(html.contains(&want), "audit page reads {want}");
    // The raw code stays in the detail; the columns are Chinese.
    assert!(html.contains("<code>ticket.assign</code>"));
    assert!(html.contains("<span title=\"ticket.assign\">分派</span>"));
    let (_, users) = app
        .page(&jianli, "/audit?action=create&entity_type=users")
        .await;
    let users = unescape(&users);
    let line = users
        .lines()
        .find(|l| l.contains("class=\"audit-text\""))
        .unwrap_or_default();
    assert!(
        users.contains("系统管理员 新建账号 wang"),
        "a new account reads in Chinese: {line}"
    );
    // The object column names the account; `users #id` only in the detail.
    assert!(users.contains("\">账号 wang</span>"), "{line}");

    // The export: the same sentence, and the codes in their own columns.
    let r = app
        .page_get(&jianli, "/audit/export?action=ticket.assign")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    assert!(csv.contains("经过") && csv.contains("操作代码"), "{csv}");
    assert!(
        csv.contains(&want) && csv.contains("ticket.assign"),
        "{csv}"
    );
    assert!(
        !csv.contains("新建账号"),
        "the export keeps the page's filters"
    );

    // The timeline names the people, not their ids.
    let (_, html) = app.page(&wang_page, &format!("/tickets/{id}")).await;
    let html = unescape(&html);
    assert!(html.contains("王工 将工单分派给 李工"), "timeline");
    assert!(!html.contains("用户 #"), "no user ids in the timeline");
    assert!(
        html.contains("title=\"assign\""),
        "raw step code in the detail"
    );
}

#[tokio::test]
async fn every_audit_action_code_written_by_the_sources_has_a_chinese_phrase() {
    use yunwei::domain::history::action_label;
    // Literal codes passed to the audit writers: `NewAuditEvent::of("x", ...)`,
    // `::about("x", ...)`, `action: "x".into()`, the inspection module's `audit(tx, now,
    // u, "x", "type", ...)`, and the ticket steps' `record_step(..., "x", ...)`.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root];
    let mut codes = std::collections::BTreeSet::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        // Unit tests make up codes of their own.
        let src = src.split("#[cfg(test)]").next().unwrap_or_default();
        let flat: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
        for start in [
            "NewAuditEvent::of(",
            "NewAuditEvent::about(",
            "action: \"",
            "record_step(",
            "add_alert_event(",
        ] {
            for (i, _) in flat.match_indices(start) {
                let rest = &flat[i + start.len()..];
                let lit = if start == "action: \"" {
                    rest.split('"').next()
                } else if start == "record_step(" {
                    // ctx, tx, u, t, "kind", ...
                    rest.split(',')
                        .nth(4)
                        .and_then(|a| a.trim().strip_prefix('"'))
                        .and_then(|a| a.split('"').next())
                } else if start == "add_alert_event(" {
                    None
                } else {
                    rest.trim_start()
                        .strip_prefix('"')
                        .and_then(|a| a.split('"').next())
                };
                if let Some(l) = lit
                    && !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                {
                    codes.insert(l.to_string());
                }
            }
            // The inspection module's helper: audit(tx, now, u, "code", "entity", ...).
            for (i, _) in flat.match_indices(" audit( &mut tx, now, u, \"") {
                let rest = &flat[i + " audit( &mut tx, now, u, \"".len()..];
                if let Some(l) = rest.split('"').next() {
                    codes.insert(l.to_string());
                }
            }
        }
        // Codes built at run time: ticket actions and alert actions.
        for dynamic in ["ticket.", "alert."] {
            for (i, _) in flat.match_indices(&format!("\"{dynamic}")) {
                let l: String = flat[i + 1..].chars().take_while(|c| *c != '"').collect();
                if l.len() > dynamic.len()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                    && !l.ends_with('.')
                    && (flat.contains(&format!("NewAuditEvent::of(\"{l}\"")) || {
                        let mut s = i.saturating_sub(200);
                        while !flat.is_char_boundary(s) {
                            s += 1;
                        }
                        flat[s..i].contains("audit(")
                    })
                {
                    codes.insert(l);
                }
            }
        }
    }
    assert!(
        codes.len() > 20 && codes.contains("create") && codes.contains("login_failed"),
        "the scan found the audit writers: {codes:?}"
    );
    let unknown: Vec<_> = codes.iter().filter(|c| action_label(c).is_none()).collect();
    assert!(
        unknown.is_empty(),
        "audit action codes without a Chinese phrase in domain::history::ACTIONS: {unknown:?}"
    );
    // Run-time codes: `ticket.<action>` for every lifecycle action, the alert actions.
    for a in [
        "assign",
        "start",
        "pend",
        "resume",
        "check_in",
        "resolve",
        "close",
        "reopen",
        "cancel",
        "supervise",
        "rate",
    ] {
        assert!(action_label(&format!("ticket.{a}")).is_some(), "ticket.{a}");
    }
    for a in [
        "alert.acknowledge",
        "alert.silence",
        "approve",
        "refuse",
        "link",
        "unlink",
    ] {
        assert!(action_label(a).is_some(), "{a}");
    }
}

#[tokio::test]
async fn the_small_defects_of_issue_15_stay_fixed() {
    let app = spawn_demo().await;
    let admin = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, html) = app.page(&admin, "/").await;
    // The admin account is called 系统管理员: the header does not say it twice.
    assert!(
        html.contains("<span class=\"who\">系统管理员</span>"),
        "header"
    );
    assert!(!html.contains("系统管理员（系统管理员）"));
    // 服务台 is one group in the navigation.
    assert_eq!(
        html.matches("<div class=\"navgroup\">服务台</div>").count(),
        1,
        "服务台 heading once"
    );
    // Thousands separators on the inventory figures (users served by the 27 systems).
    let users = html
        .split("服务用户约 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    assert!(users.contains(','), "users served: {users}");
    // An empty list says nothing about 第 0–0 条.
    let (s, html) = app.page(&admin, "/assets?q=没有这样的设备").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("没有符合条件的记录"));
    assert!(
        !html.contains("第 0–0 条") && !html.contains("第 0"),
        "empty pager"
    );

    // Status badges carry their status; the stylesheet colours each one.
    let (_, wang, wang_page) = person(&app, "wang", "王工", "manager").await;
    let (li, lit, li_page) = person(&app, "li", "李工", "engineer").await;
    let t = new_ticket(&app, &wang, "incident").await;
    let id = t["id"].as_i64().unwrap();
    let (_, html) = app.page(&wang_page, "/tickets").await;
    assert!(html.contains("badge st-new"), "list badge");
    let css_url = html
        .split("href=\"")
        .find(|s| s.starts_with("&#x2f;static&#x2f;app.") || s.starts_with("/static/app."))
        .map(|s| unescape(s.split('"').next().unwrap()))
        .unwrap();
    let css = app.anon_get(&css_url).await.text().await.unwrap();
    for st in [
        "new",
        "assigned",
        "in_progress",
        "pending",
        "resolved",
        "closed",
        "canceled",
    ] {
        assert!(css.contains(&format!(".badge.st-{st}")), "colour of {st}");
    }

    // 到场签到 is offered once: not after the check-in.
    assign(&app, &wang, id, li).await;
    let (_, html) = app.page(&li_page, &format!("/tickets/{id}")).await;
    assert!(html.contains("do-check-in") && html.contains("badge st-assigned"));
    let (s, v) = act(&app, &lit, id, json!({"action": "check_in"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, html) = app.page(&li_page, &format!("/tickets/{id}")).await;
    assert!(!html.contains("do-check-in"), "check-in offered again");
    assert!(html.contains("badge st-in_progress"));
    // The resolve form's times cannot be later than now...
    assert!(
        html.contains("id=\"fr_recovered_at\" max=\""),
        "max on the form"
    );

    // ...and the service refuses a recovery after the resolution, in Chinese, changing
    // nothing.
    let now = app.clock.now();
    let bj = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339()
    };
    let report = json!({"symptom": "无法登录", "impact_scope": "全省用户", "started_at": bj(now - Duration::hours(1)),
        "recovered_at": bj(now + Duration::hours(2)), "cause": "证书过期", "handling": "更换证书", "measures": "到期监控"});
    let (s, v) = act(
        &app,
        &lit,
        id,
        json!({"action": "resolve", "resolution": "已修复", "fault_report": report}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let text = v.to_string();
    assert!(
        text.contains("fault_report.recovered_at") && text.contains("恢复时间不能晚于解决时间"),
        "{text}"
    );
    let (_, t) = app.get_json(&lit, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(t["status"], json!("in_progress"));
    // Through the form too.
    let r = app
        .client
        .post(app.url(&format!("/tickets/{id}/action")))
        .header(reqwest::header::COOKIE, &li_page)
        .header(reqwest::header::ORIGIN, app.base.clone())
        .form(&[
            ("action", "resolve"),
            ("resolution", "已修复"),
            ("fr_symptom", "无法登录"),
            ("fr_impact_scope", "全省"),
            ("fr_started_at", "2020-01-01T08:00"),
            ("fr_recovered_at", "2099-01-01T08:00"),
            ("fr_cause", "证书"),
            ("fr_handling", "更换"),
            ("fr_measures", "监控"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("恢复时间不能晚于解决时间"));
}

#[tokio::test]
async fn a_response_within_a_minute_reads_in_seconds_not_as_zero_minutes() {
    let app = spawn_demo().await;
    let (_, wang, _) = person(&app, "wang", "王工", "manager").await;
    let (li, lit, _) = person(&app, "li", "李工", "engineer").await;
    let t = new_ticket(&app, &wang, "request").await;
    let id = t["id"].as_i64().unwrap();
    assign(&app, &wang, id, li).await;
    app.clock.advance(Duration::seconds(40));
    let (s, v) = act(&app, &lit, id, json!({"action": "start"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let admin = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, html) = app.page(&admin, "/desk").await;
    let mtta = html
        .split("</b><span>MTTA</span>")
        .next()
        .and_then(|s| s.rsplit("<b>").next())
        .unwrap();
    assert!(mtta.ends_with('秒') && mtta != "0分", "MTTA {mtta}");
}
