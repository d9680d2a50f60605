//! Monitoring under hostile input and against the clock: intake payloads past their
//! bounds get a 4xx and the next request is served; cron schedules that overflow are
//! refused in Chinese; a silent heartbeat is found at its deadline, not an interval
//! later; probe result times show seconds.

use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create_monitor(app: &TestApp, body: Value) -> Value {
    app.post_expect(
        &app.admin_token,
        "/api/v1/monitors",
        &body,
        StatusCode::CREATED,
    )
    .await
}

async fn integration_token(app: &TestApp, kind: &str) -> String {
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": kind, "name": format!("{kind} 接入")}),
            StatusCode::CREATED,
        )
        .await;
    v["token"].as_str().unwrap().to_string()
}

async fn push(app: &TestApp, token: &str, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn am_alert(i: usize) -> Value {
    json!({"status": "firing", "labels": {"alertname": "HostDown", "instance": format!("10.0.0.{i}:9100")},
           "annotations": {"summary": format!("主机 {i} 宕机")}, "startsAt": "2025-10-15T01:00:00Z",
           "fingerprint": format!("fp{i}")})
}

fn am_body(alerts: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"version": "4", "status": "firing", "alerts": alerts})).unwrap()
}

#[tokio::test]
async fn intake_payloads_past_their_bounds_get_a_chinese_4xx_and_the_next_request_is_served() {
    let app = spawn_app().await;
    let am = integration_token(&app, "alertmanager").await;
    let path = "/api/v1/integrations/alertmanager";

    // Too many alerts in one notification: refused before any alert is opened.
    let (s, v) = push(&app, &am, path, am_body((0..501).map(am_alert).collect())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("max_alerts"), "{v}");
    let (_, alerts) = app.get_json(&app.admin_token, "/api/v1/alerts").await;
    assert_eq!(alerts["total"], 0, "{alerts}");

    // Too many labels, a label too long.
    let mut a = am_alert(1);
    for i in 0..65 {
        a["labels"][format!("l{i}")] = json!("v");
    }
    let (s, v) = push(&app, &am, path, am_body(vec![a])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("最多 64 项"), "{v}");
    let mut a = am_alert(1);
    a["labels"]["job"] = json!("x".repeat(5000));
    let (s, v) = push(&app, &am, path, am_body(vec![a])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Nested past the depth bound, and a body past the size bound.
    let deep = format!(
        "{{\"version\":\"4\",\"alerts\":{}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let (s, v) = push(&app, &am, path, deep.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("嵌套"), "{v}");
    let mut huge = am_body(vec![am_alert(1)]);
    huge.truncate(huge.len() - 1);
    huge.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    huge.push(b'}');
    let (s, v) = push(&app, &am, path, huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v.to_string().contains("上限"), "{v}");

    // Zabbix and generic events have their bounds too.
    let zbx = integration_token(&app, "zabbix").await;
    let body = json!({"event_id": "1", "event_value": "1", "host_name": "h".repeat(5000)});
    let (s, v) = push(
        &app,
        &zbx,
        "/api/v1/integrations/zabbix",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let ev = integration_token(&app, "events").await;
    let body = json!({"event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "info",
                      "custom_details": {"blob": "x".repeat(20_000)}}});
    let (s, v) = push(
        &app,
        &ev,
        "/api/v1/integrations/events",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("custom_details"), "{v}");

    // Nothing was opened, and the next, valid notification is served.
    let (_, alerts) = app.get_json(&app.admin_token, "/api/v1/alerts").await;
    assert_eq!(alerts["total"], 0, "{alerts}");
    let (s, v) = push(&app, &am, path, am_body((0..3).map(am_alert).collect())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["received"], 3, "{v}");
}

#[tokio::test]
async fn cron_schedules_that_overflow_are_refused_in_chinese_and_nicknames_are_accepted() {
    let app = spawn_app().await;
    for (schedule, needle) in [
        ("5/4294967295 * * * *", "步长"),
        ("*/99999999999999999999 * * * *", "步长"),
        ("0 25 * * *", "小时"),
        ("@sometimes", "简写"),
        ("0 0 31 2 *", "不会触发"),
    ] {
        let (s, v) = app
            .post(
                &app.admin_token,
                "/api/v1/monitors",
                &json!({"name": "备份", "kind": "heartbeat", "config": {"schedule": schedule}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{schedule}: {v}");
        assert!(v.to_string().contains(needle), "{schedule}: {v}");
    }
    for schedule in ["@daily", "0 2 * * mon-fri", "30 3 1 jan,jul *"] {
        let m = create_monitor(
            &app,
            json!({"name": schedule, "kind": "heartbeat", "config": {"schedule": schedule}}),
        )
        .await;
        assert_eq!(m["config"]["schedule"], schedule);
    }
}

async fn state_of(app: &TestApp, token: &str, id: i64) -> Value {
    app.get_json_expect(token, &format!("/api/v1/monitors/{id}"), StatusCode::OK)
        .await
}

#[tokio::test]
async fn a_silent_heartbeat_is_found_down_within_five_seconds_of_its_deadline() {
    // The real engine; the monitor's interval is a minute, so only a timer at the
    // deadline can notice it in time.
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    let app = spawn_with(Options {
        monitoring: true,
        start: Some(start),
        ..Options::default()
    })
    .await;
    let m = create_monitor(
        &app,
        json!({"name": "数据库备份", "kind": "heartbeat", "interval_s": 60,
               "config": {"period_s": 3600, "grace_s": 600}}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    let token = m["token"].as_str().unwrap().to_string();
    // Let the engine pick the monitor up.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // A ping 50 minutes in moves the deadline to 50 + 60 + 10 minutes.
    app.clock.advance(Duration::minutes(50));
    let r = app.anon_post(&format!("/api/v1/heartbeat/{token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Past the first deadline (70 minutes), short of the new one: still up.
    app.clock.advance(Duration::minutes(25));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // The manual clock ran past the admin's session: log in again.
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    let v = state_of(&app, &token, id).await;
    assert_eq!(v["state"], "up", "{v}");

    // One second short of the deadline: up; one second past it: down within 5 s.
    app.clock
        .set(start + Duration::minutes(120) - Duration::seconds(1));
    let token = app.login_ok("admin", ADMIN_PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(state_of(&app, &token, id).await["state"], "up");
    app.clock.advance(Duration::seconds(2));
    let passed = std::time::Instant::now();
    let mut v = Value::Null;
    while passed.elapsed() < std::time::Duration::from_secs(5) {
        v = state_of(&app, &token, id).await;
        if v["state"] == "down" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(v["state"], "down", "not down 5 s after the deadline: {v}");
    let msg = v["last_message"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("已超时 1 秒"), "{v}");
}

#[tokio::test]
async fn probe_result_times_on_the_monitor_page_show_seconds() {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 2, 3).unwrap();
    let app = spawn_with(Options {
        start: Some(start),
        ..Options::default()
    })
    .await;
    let m = create_monitor(
        &app,
        json!({"name": "备份心跳", "kind": "heartbeat", "config": {"period_s": 3600}}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    check_monitor(&app, id).await;
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = app
        .page_get(&cookie, &format!("/monitors/{id}"))
        .await
        .text()
        .await
        .unwrap();
    // 01:02:03 UTC is 09:02:03 in Beijing.
    assert!(html.contains("2026-03-02 09:02:03"), "{html}");
}

fn openssl_in(dir: &std::path::Path, openssl: &str, args: &[&str]) {
    let out = std::process::Command::new(openssl)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_expired_certificate_reads_as_expired_in_the_tls_and_http_probes() {
    let Some(openssl) = crate::monitoring::peer("/usr/bin/openssl") else {
        return;
    };
    let app = spawn_app().await;
    // A certificate valid only in January 2020, made with `openssl ca`, which takes
    // explicit dates.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("serial"), "01\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
         default_md = sha256\npolicy = p\nx509_extensions = ext\n[p]\ncommonName = supplied\n\
         [ext]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:old.yunwei.test\n",
    )
    .unwrap();
    #[rustfmt::skip]
    openssl_in(d, &openssl, &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-subj", "/CN=old.yunwei.test", "-keyout", "k.pem", "-out", "r.csr"]);
    #[rustfmt::skip]
    openssl_in(d, &openssl, &["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "k.pem",
        "-in", "r.csr", "-out", "c.pem", "-notext", "-startdate", "20200101000000Z",
        "-enddate", "20200201000000Z"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = spawn_quiet(
        tokio::process::Command::new(&openssl)
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["-cert", "c.pem", "-key", "k.pem", "-www"])
            .current_dir(d),
    );
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let target = format!("127.0.0.1:{port}");
    for body in [
        json!({"name": "过期证书", "kind": "tls", "target": target, "config": {"server_name": "old.yunwei.test", "verify": false}}),
        json!({"name": "过期证书（校验）", "kind": "tls", "target": target, "config": {"server_name": "old.yunwei.test"}}),
        json!({"name": "过期 HTTPS", "kind": "http", "target": format!("https://{target}/"), "config": {"verify_tls": false}}),
        json!({"name": "过期 HTTPS（校验）", "kind": "http", "target": format!("https://{target}/")}),
    ] {
        let m = create_monitor(&app, body.clone()).await;
        let id = m["id"].as_i64().unwrap();
        let v = check_monitor(&app, id).await;
        let msg = v["message"].as_str().unwrap_or_default();
        assert_eq!(v["ok"], false, "{body}: {v}");
        assert!(
            msg.contains("证书已于") && msg.contains("天前过期"),
            "{body}: {msg}"
        );
        assert!(!msg.contains("天后到期"), "{body}: {msg}");
    }
}
