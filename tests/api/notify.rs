//! Notifications through real peers on loopback: an SMTP server (Python aiosmtpd) and a
//! local webhook receiver, through the outbox, including a restart with undelivered
//! messages.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode as AxStatus, Uri};
use axum::routing::post;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// (path and query, Idempotency-Key header, JSON body)
type Call = (String, Option<String>, Value);

#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<Call>>>,
    fail_first: Arc<Mutex<usize>>,
}

/// A webhook receiver on 127.0.0.1 that records every call and can fail the first N.
async fn receiver(fail_first: usize) -> (String, Received) {
    let rec = Received {
        calls: Default::default(),
        fail_first: Arc::new(Mutex::new(fail_first)),
    };
    let r2 = rec.clone();
    let app = Router::new().fallback(post(move |uri: Uri, headers: HeaderMap, body: String| {
        let r = r2.clone();
        async move {
            let key = headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_string());
            r.calls.lock().unwrap().push((
                uri.to_string(),
                key,
                serde_json::from_str(&body).unwrap_or(Value::Null),
            ));
            let mut f = r.fail_first.lock().unwrap();
            if *f > 0 {
                *f -= 1;
                return (AxStatus::INTERNAL_SERVER_ERROR, "down".to_string());
            }
            (
                AxStatus::OK,
                "{\"errcode\":0,\"errmsg\":\"ok\"}".to_string(),
            )
        }
    }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), rec)
}

/// Channel `id`'s stored configuration and encrypted secrets, as the database holds them.
async fn stored_channel(app: &TestApp, id: i64) -> (String, Option<String>) {
    sqlx::query_as("SELECT config, secret_enc FROM notification_channels WHERE id = $1")
        .bind(id)
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn channel_secrets_are_encrypted_at_rest_and_never_shown() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let v = app.post_expect(t, "/api/v1/notification-channels", &json!({"kind": "email", "name": "值班邮箱", "config": {"host": "smtp.example.gov.cn", "port": 465, "tls": "tls",
            "username": "ops", "password": "Sm7p-Secret!", "from": "ops@example.gov.cn", "to": "duty@example.gov.cn"}}), StatusCode::CREATED).await;
    assert_eq!(v["config"]["password"], json!("***"));
    let id = v["id"].as_i64().unwrap();
    let (cfg, enc) = stored_channel(&app, id).await;
    assert!(!cfg.contains("Sm7p-Secret!") && !enc.clone().unwrap().contains("Sm7p-Secret!"));
    // Sending the placeholder back keeps the secret.
    app.patch_expect(t, &format!("/api/v1/notification-channels/{id}"), &json!({"config": {"host": "smtp2.example.gov.cn", "port": 465, "tls": "tls", "username": "ops", "password": "***", "from": "ops@example.gov.cn"}}), StatusCode::OK).await;
    let (_, enc2) = stored_channel(&app, id).await;
    assert_eq!(
        app.ctx.secrets.decrypt(&enc2.unwrap()).unwrap(),
        "{\"password\":\"Sm7p-Secret!\"}"
    );
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT COALESCE(after_json, '') FROM audit_events")
            .fetch_all(app.ctx.store.pool())
            .await
            .unwrap();
    assert!(
        audit.iter().all(|a| !a.contains("Sm7p-Secret!")),
        "no secret in the audit log"
    );

    let before = app.total("/api/v1/notification-channels").await;
    for body in [
        json!({"kind": "fax", "name": "x", "config": {}}),
        json!({"kind": "email", "name": "x", "config": {"host": "h", "port": 70000, "tls": "tls", "from": "a@b.c"}}),
        json!({"kind": "email", "name": "x", "config": {"port": 25, "tls": "none", "from": "a@b.c"}}),
        json!({"kind": "webhook", "name": "x", "config": {"url": "ftp://x"}}),
        json!({"kind": "webhook", "name": "x", "config": {"url": "http://x", "colour": 1}}),
        json!({"kind": "webhook", "config": {"url": "http://x"}}),
    ] {
        let (s, v) = app.post(t, "/api/v1/notification-channels", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_eq!(app.total("/api/v1/notification-channels").await, before);
    for body in [
        json!({"event": "ticket.exploded", "channel_id": id}),
        json!({"event": "ticket.created", "channel_id": 999}),
    ] {
        app.post_expect(
            t,
            "/api/v1/notification-rules",
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let (_, eng) = app.user_with_role("eng", "engineer").await;
    assert_eq!(
        app.get(&eng, "/api/v1/notification-channels")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_new_ticket_is_emailed_once_through_a_real_smtp_server() {
    let maildir = tempfile::tempdir().unwrap();
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.path().join(sub)).unwrap();
    }
    let port = free_port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
            maildir.path().to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return };
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !up {
        let _ = child.kill();
        assert!(
            std::env::var("YUNWEI_REQUIRE_BROWSER").is_err(),
            "aiosmtpd is required in CI"
        );
        eprintln!("skipping: aiosmtpd not installed");
        return;
    }
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (_, ch) = app
        .post(t, "/api/v1/notification-channels", &json!({"kind": "email", "name": "值班邮箱", "config": {"host": "127.0.0.1", "port": port, "tls": "none",
            "from": "yunwei@ops.example.gov.cn", "to": "duty@example.gov.cn"}}))
        .await;
    app.post_expect(
        t,
        "/api/v1/notification-rules",
        &json!({"event": "ticket.created", "channel_id": ch["id"]}),
        StatusCode::CREATED,
    )
    .await;
    let (_, tk) = app
        .post(
            t,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": "机房空调告警", "system_id": 1}),
        )
        .await;
    let sent = yunwei::notify::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(sent, 1);
    assert_eq!(
        yunwei::notify::deliver_due(&app.ctx).await.unwrap(),
        0,
        "nothing is sent twice"
    );
    let new = maildir.path().join("new");
    let mut files = Vec::new();
    for _ in 0..50 {
        files = std::fs::read_dir(&new)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        raw.contains("duty@example.gov.cn") && raw.contains("Message-ID:"),
        "{raw}"
    );
    let number = tk["number"].as_str().unwrap();
    let decoded = std::process::Command::new("python3")
        .args(["-c", "import sys,email\nfrom email.header import decode_header,make_header\nm=email.message_from_file(open(sys.argv[1]))\nprint(str(make_header(decode_header(m['Subject']))))\nprint(m.get_payload(decode=True).decode())", files[0].to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&decoded.stdout);
    assert!(
        text.contains(number) && text.contains("机房空调告警") && text.contains("新工单"),
        "{text}"
    );
}

#[tokio::test]
async fn undelivered_messages_survive_a_restart_and_are_delivered_once() {
    let (url, rec) = receiver(1).await;
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (_, ch) = app.post(t, "/api/v1/notification-channels", &json!({"kind": "webhook", "name": "值班系统", "config": {"url": format!("{url}/hook"), "secret": "s3cret"}})).await;
    for event in ["ticket.created", "ticket.supervised"] {
        app.post_expect(
            t,
            "/api/v1/notification-rules",
            &json!({"event": event, "channel_id": ch["id"]}),
            StatusCode::CREATED,
        )
        .await;
    }
    let (_, tk) = app
        .post(
            t,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": "OA 无法登录", "system_id": 23}),
        )
        .await;
    // The receiver is down for the first attempt.
    assert_eq!(yunwei::notify::deliver_due(&app.ctx).await.unwrap(), 0);
    let (_, ob) = app.get_json(t, "/api/v1/notification-outbox").await;
    assert_eq!(ob["items"][0]["status"], json!("pending"));
    assert_eq!(ob["items"][0]["attempts"], json!(1));

    // "Restart": a new process state (pool, caches, secret key from the data dir) on the
    // same database.
    let ctx2 = app.second_process().await;
    assert_eq!(
        yunwei::notify::deliver_due(&ctx2).await.unwrap(),
        0,
        "not before the retry time"
    );
    app.clock.advance(Duration::seconds(31));
    assert_eq!(yunwei::notify::deliver_due(&ctx2).await.unwrap(), 1);
    assert_eq!(yunwei::notify::deliver_due(&ctx2).await.unwrap(), 0);
    let calls = rec.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one failed attempt and one delivery");
    assert_eq!(
        calls[0].1, calls[1].1,
        "the same idempotency key on the retry"
    );
    assert_eq!(calls[1].2["event"], json!("ticket.created"));
    assert!(
        calls[1].2["subject"]
            .as_str()
            .unwrap()
            .contains(tk["number"].as_str().unwrap())
    );

    // 督办 notifies too; the same occurrence is never enqueued twice.
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let id = tk["id"].as_i64().unwrap();
    app.post_expect(
        &sup,
        &format!("/api/v1/tickets/{id}/actions"),
        &json!({"action": "supervise", "note": "请尽快处理"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(yunwei::notify::deliver_due(&app.ctx).await.unwrap(), 1);
    let calls = rec.calls.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap().2["event"], json!("ticket.supervised"));
}

#[tokio::test]
async fn wecom_and_dingtalk_robots_get_text_messages_and_dingtalk_is_signed() {
    let (url, rec) = receiver(0).await;
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (_, w) = app.post(t, "/api/v1/notification-channels", &json!({"kind": "wecom", "name": "企业微信群", "config": {"url": format!("{url}/cgi-bin/webhook/send?key=k1")}})).await;
    let (_, d) = app.post(t, "/api/v1/notification-channels", &json!({"kind": "dingtalk", "name": "钉钉群", "config": {"url": format!("{url}/robot/send?access_token=t1"), "secret": "SECabc"}})).await;
    assert_eq!(w["config"]["url"], json!("***"));
    for c in [&w, &d] {
        app.post(
            t,
            "/api/v1/notification-rules",
            &json!({"event": "ticket.created", "channel_id": c["id"], "priority": "P1"}),
        )
        .await;
    }
    app.post(t, "/api/v1/tickets", &json!({"kind": "incident", "title": "低优先级", "system_id": 2, "impact": "low", "urgency": "low"})).await;
    assert_eq!(
        yunwei::notify::deliver_due(&app.ctx).await.unwrap(),
        0,
        "the rules only take P1"
    );
    app.post(t, "/api/v1/tickets", &json!({"kind": "incident", "title": "核心交换机故障", "system_id": 2, "impact": "high", "urgency": "high"})).await;
    assert_eq!(yunwei::notify::deliver_due(&app.ctx).await.unwrap(), 2);
    let calls = rec.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|c| {
        c.2["msgtype"] == "text"
            && c.2["text"]["content"]
                .as_str()
                .unwrap()
                .contains("核心交换机故障")
    }));
    let ding = calls
        .iter()
        .find(|c| c.0.starts_with("/robot/send"))
        .unwrap();
    assert!(
        ding.0.contains("access_token=t1&timestamp=") && ding.0.contains("&sign="),
        "{}",
        ding.0
    );
}

/// The first problem of a 422 answer: (field, message).
fn first_problem(v: &Value) -> (String, String) {
    let d = &v["error"]["details"][0];
    (
        d["field"].as_str().unwrap_or_default().to_string(),
        d["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_channel_or_rule_body_that_does_not_fit_names_the_field_in_chinese_and_changes_nothing() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let (s, ch) = app
        .post(t, "/api/v1/notification-channels", &json!({"kind": "webhook", "name": "值班系统", "config": {"url": "http://127.0.0.1:9/hook"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ch}");
    let before = app.total("/api/v1/notification-channels").await;
    for (body, field, message) in [
        (
            json!({"kind": "webhook", "name": "x", "config": {"url": "http://x"}, "colour": 1}),
            "colour",
            "未知字段“colour”，请删除该字段",
        ),
        (
            json!({"kind": "webhook", "config": {"url": "http://x"}}),
            "name",
            "请填写通道名称",
        ),
        (
            json!({"kind": "webhook", "name": "x", "enabled": "yes", "config": {"url": "http://x"}}),
            "enabled",
            "启用格式不正确，应为true 或 false",
        ),
        (
            json!({"kind": "webhook", "name": "  ", "config": {"url": "http://x"}}),
            "name",
            "请填写通道名称（不超过 100 个字符）",
        ),
    ] {
        let (s, v) = app.post(t, "/api/v1/notification-channels", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(first_problem(&v), (field.into(), message.into()), "{body}");
    }
    assert_eq!(app.total("/api/v1/notification-channels").await, before);
    let id = ch["id"].as_i64().unwrap();
    let (s, v) = app
        .patch(
            t,
            &format!("/api/v1/notification-channels/{id}"),
            &json!({"kind": "email"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_problem(&v).1, "通道类型创建后不能修改");
    for (body, field) in [
        (
            json!({"event": "ticket.created", "channel_id": id, "priority": "P9"}),
            "priority",
        ),
        (
            json!({"event": "ticket.created", "channel_id": id, "system_id": 999}),
            "system_id",
        ),
        (
            json!({"event": "ticket.created", "channel_id": "x"}),
            "channel_id",
        ),
        (json!({"event": "ticket.created"}), "channel_id"),
    ] {
        let (s, v) = app.post(t, "/api/v1/notification-rules", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(first_problem(&v).0, field, "{body}: {v}");
    }
    assert_eq!(app.total("/api/v1/notification-rules").await, 0);
}

async fn open_ticket(app: &TestApp, title: &str) {
    app.post_expect(
        &app.admin_token,
        "/api/v1/tickets",
        &json!({"kind": "incident", "title": title}),
        StatusCode::CREATED,
    )
    .await;
}

/// The rules a write notifies by are read from a snapshot; an edit of a rule or a channel
/// takes effect for the very next write, not after the snapshot's time to live.
#[tokio::test]
async fn a_rule_or_channel_edit_applies_to_the_next_ticket_at_once() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    open_ticket(&app, "无规则时建单").await;
    assert_eq!(app.total("/api/v1/notification-outbox").await, 0);
    let (_, ch) = app.post(t, "/api/v1/notification-channels", &json!({"kind": "webhook", "name": "值班系统", "config": {"url": "http://127.0.0.1:9/hook"}})).await;
    let rule = app
        .post_expect(
            t,
            "/api/v1/notification-rules",
            &json!({"event": "ticket.created", "channel_id": ch["id"]}),
            StatusCode::CREATED,
        )
        .await;
    open_ticket(&app, "有规则后建单").await;
    assert_eq!(app.total("/api/v1/notification-outbox").await, 1);
    let cid = ch["id"].as_i64().unwrap();
    app.patch_expect(
        t,
        &format!("/api/v1/notification-channels/{cid}"),
        &json!({"enabled": false}),
        StatusCode::OK,
    )
    .await;
    open_ticket(&app, "渠道停用后建单").await;
    assert_eq!(app.total("/api/v1/notification-outbox").await, 1);
    app.patch_expect(
        t,
        &format!("/api/v1/notification-channels/{cid}"),
        &json!({"enabled": true}),
        StatusCode::OK,
    )
    .await;
    open_ticket(&app, "渠道启用后建单").await;
    assert_eq!(app.total("/api/v1/notification-outbox").await, 2);
    let rid = rule["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(t, &format!("/api/v1/notification-rules/{rid}"))
            .await,
        StatusCode::NO_CONTENT
    );
    open_ticket(&app, "规则删除后建单").await;
    assert_eq!(app.total("/api/v1/notification-outbox").await, 2);
}
