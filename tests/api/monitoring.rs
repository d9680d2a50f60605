//! Monitoring and alerting against real local targets: an HTTP server the test runs, a
//! TCP listener, ICMP to 127.0.0.1, PostgreSQL and MariaDB on this machine, dnsmasq,
//! openssl s_server, snmpd and snmpsim; alerts that open exactly one ticket, across a
//! restart; intake from Alertmanager, Zabbix and generic events; heartbeats; maintenance
//! and availability.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// Peers that are programs on this machine: missing ones skip a test locally and fail it
/// in CI (`YUNWEI_REQUIRE_PROBE_PEERS=1`).
pub fn peer(path: &str) -> Option<String> {
    if std::path::Path::new(path).exists() {
        return Some(path.to_string());
    }
    assert!(
        std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
        "{path} is required in CI"
    );
    eprintln!("skipping: {path} is not installed");
    None
}

/// A tiny HTTP server answering every request with `status` and a Chinese page.
async fn http_target(status: Arc<AtomicU16>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let status = status.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let code = status.load(Ordering::SeqCst);
                let body = if code == 200 {
                    "欢迎访问广东省生态环境厅"
                } else {
                    "服务暂不可用"
                };
                let resp = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

async fn create_monitor(app: &TestApp, body: Value) -> Value {
    let (s, v) = app.post(&app.admin_token, "/api/v1/monitors", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{body}: {v}");
    v
}

/// Creates a monitor from `body` and checks it now: the result, whose `ok` must be `ok`
/// and whose failing phase, when `phase` names one, must be that phase.
async fn create_and_check(app: &TestApp, body: &Value, ok: bool, phase: Option<&str>) -> Value {
    let m = create_monitor(app, body.clone()).await;
    let v = check(app, m["id"].as_i64().unwrap()).await;
    assert_eq!(v["ok"], json!(ok), "{body}: {v}");
    if let Some(p) = phase {
        assert_eq!(v["phase"], json!(p), "{body}: {v}");
    }
    v
}

/// A fresh admin session: tests that move the clock past the idle timeout need one.
async fn admin(app: &TestApp) -> String {
    app.login_ok("admin", ADMIN_PASSWORD).await
}

async fn check(app: &TestApp, id: i64) -> Value {
    let path = format!("/api/v1/monitors/{id}/check");
    let (mut s, mut v) = app.post(&app.admin_token, &path, &json!({})).await;
    if s == StatusCode::UNAUTHORIZED {
        (s, v) = app.post(&admin(app).await, &path, &json!({})).await;
    }
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn tickets_from_monitoring(app: &TestApp) -> Vec<Value> {
    let (_, v) = app
        .get_json(
            &admin(app).await,
            "/api/v1/tickets?source=monitoring&limit=100",
        )
        .await;
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn bad_monitor_definitions_get_a_clear_4xx_and_change_nothing() {
    let app = spawn_demo().await;
    let before = app.audit_count().await;
    for (body, field) in [
        (
            json!({"name": "x", "kind": "smtp", "target": "mail:25"}),
            "kind",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "config": {"keyword_regex": "(unclosed"}}),
            "config.keyword_regex",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "interval_s": 0}),
            "interval_s",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "interval_s": 0.5}),
            "interval_s",
        ),
        (
            json!({"name": "x", "kind": "snmp", "target": "10.0.0.1", "config": {"oids": [{"oid": "1.3.6.1.2.1..1"}]}}),
            "config.oids[0]",
        ),
        (
            json!({"name": "x", "kind": "snmp", "target": "10.0.0.1", "config": {"oids": [{"oid": "iso.org.dod"}]}}),
            "config.oids[0]",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "config": {"verify": true}}),
            "config.verify",
        ),
        (
            json!({"name": "x", "kind": "tcp", "target": "10.0.0.1:22", "interval_s": 5, "timeout_ms": 6000}),
            "timeout_ms",
        ),
        (
            json!({"name": "x", "kind": "tcp", "target": "10.0.0.1"}),
            "target",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "system_id": 999}),
            "system_id",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "colour": "red"}),
            "colour",
        ),
        (
            json!({"name": "x", "kind": "heartbeat", "config": {"schedule": "0 25 * * *"}}),
            "config.schedule",
        ),
        (json!({"kind": "http", "target": "http://a/"}), "name"),
    ] {
        let (s, v) = app.post(&app.admin_token, "/api/v1/monitors", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let details = v["error"]["details"].as_array().unwrap();
        assert!(details.iter().any(|d| d["field"] == field), "{body}: {v}");
        let msg = details.iter().find(|d| d["field"] == field).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "Chinese message: {msg}"
        );
    }
    assert_eq!(app.total("/api/v1/monitors").await, 0);
    assert_eq!(app.audit_count().await, before);
    // Garbage bodies are 4xx too.
    let r = app
        .client
        .post(app.url("/api/v1/monitors"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // A requester sees no monitors; an auditor reads but cannot create.
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    app.get_json_expect(&rt, "/api/v1/monitors", StatusCode::FORBIDDEN)
        .await;
    let (_, at) = app.user_with_role("jianli", "auditor").await;
    app.get_json_expect(&at, "/api/v1/monitors", StatusCode::OK)
        .await;
    app.post_expect(
        &at,
        "/api/v1/monitors",
        &json!({"name": "x", "kind": "tcp", "target": "127.0.0.1:1"}),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn a_site_that_goes_down_opens_one_ticket_survives_a_restart_and_its_recovery_resolves_the_alert()
 {
    let app = spawn_demo().await;
    // A webhook rule for new tickets, to count notifications across the restart.
    let (_, ch) = app
        .post(&app.admin_token, "/api/v1/notification-channels", &json!({"kind": "webhook", "name": "值班群", "config": {"url": "http://127.0.0.1:9/hook"}}))
        .await;
    app.post_expect(
        &app.admin_token,
        "/api/v1/notification-rules",
        &json!({"event": "alert.firing", "channel_id": ch["id"]}),
        StatusCode::CREATED,
    )
    .await;
    let status = Arc::new(AtomicU16::new(200));
    let port = http_target(status.clone()).await;
    let m = create_monitor(
        &app,
        json!({"name": "省厅门户", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "system_id": 1,
               "priority": "P1", "failures_before_down": 2, "config": {"keyword": "欢迎访问"}}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!(m["state"], "pending");
    let v = check(&app, id).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["state"], "up");

    status.store(503, Ordering::SeqCst);
    let v = check(&app, id).await;
    assert_eq!(
        (v["ok"].clone(), v["phase"].clone(), v["state"].clone()),
        (json!(false), json!("http_status"), json!("up")),
        "{v}"
    );
    assert!(
        tickets_from_monitoring(&app).await.is_empty(),
        "one failure is not yet down"
    );
    let v = check(&app, id).await;
    assert_eq!(v["state"], "down");
    let tickets = tickets_from_monitoring(&app).await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let t = &tickets[0];
    assert_eq!(
        (
            t["kind"].as_str(),
            t["priority"].as_str(),
            t["system_id"].as_i64()
        ),
        (Some("incident"), Some("P1"), Some(1)),
        "{t}"
    );
    assert!(t["title"].as_str().unwrap().contains("省厅门户"));
    let (_, alerts) = app
        .get_json(&app.admin_token, "/api/v1/alerts?status=open")
        .await;
    assert_eq!(alerts["total"], 1);
    let alert = &alerts["items"][0];
    assert_eq!(alert["ticket_id"], t["id"]);
    assert_eq!(alert["status"], "firing");
    for _ in 0..3 {
        check(&app, id).await;
    }
    assert_eq!(
        tickets_from_monitoring(&app).await.len(),
        1,
        "still one ticket"
    );
    let (_, outbox) = app
        .get_json(&app.admin_token, "/api/v1/notification-outbox")
        .await;
    let fired = items_where(&outbox, "event", "alert.firing").len();
    assert_eq!(fired, 1, "{outbox}");

    // "Restart": a new process state on the same database, still failing.
    let ctx2 = app.second_process().await;
    let o = yunwei::monitor::check_now(&ctx2, id).await.unwrap();
    assert!(!o.ok);
    assert_eq!(
        tickets_from_monitoring(&app).await.len(),
        1,
        "no second ticket after a restart"
    );
    let (_, outbox) = app
        .get_json(&app.admin_token, "/api/v1/notification-outbox")
        .await;
    let fired = items_where(&outbox, "event", "alert.firing").len();
    assert_eq!(fired, 1, "no second notification after a restart");

    // Taking up the ticket acknowledges the alert.
    let tid = t["id"].as_i64().unwrap();
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/tickets/{tid}/actions"),
        &json!({"action": "start"}),
        StatusCode::OK,
    )
    .await;
    let aid = alert["id"].as_i64().unwrap();
    let (_, a) = app
        .get_json(&app.admin_token, &format!("/api/v1/alerts/{aid}"))
        .await;
    assert_eq!(a["status"], "acknowledged", "{a}");

    // Back up, seen by the restarted process: the alert resolves and the ticket says so.
    status.store(200, Ordering::SeqCst);
    let o = yunwei::monitor::check_now(&ctx2, id).await.unwrap();
    assert!(o.ok);
    let (_, a) = app
        .get_json(&app.admin_token, &format!("/api/v1/alerts/{aid}"))
        .await;
    assert_eq!(a["status"], "resolved", "{a}");
    let (_, ev) = app
        .get_json(&app.admin_token, &format!("/api/v1/tickets/{tid}/events"))
        .await;
    assert!(
        each(&ev["items"]).any(|e| e["kind"] == "alert_resolved"),
        "{ev}"
    );
    let (_, mon) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}"))
        .await;
    assert_eq!(mon["state"], "up");
    let changes: Vec<&str> = each(&mon["state_changes"])
        .map(|c| c["to"].as_str().unwrap())
        .collect();
    assert_eq!(changes, vec!["up", "down", "up"], "{mon}");

    // Down again within the window: the same ticket carries on, no new one.
    status.store(500, Ordering::SeqCst);
    check(&app, id).await;
    check(&app, id).await;
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
    let (_, a) = app
        .get_json(&app.admin_token, &format!("/api/v1/alerts/{aid}"))
        .await;
    assert_eq!(
        (a["status"].as_str(), a["episodes"].as_i64()),
        (Some("firing"), Some(2)),
        "{a}"
    );

    // Results are kept with their phase.
    let (_, rs) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}/results"))
        .await;
    assert!(
        each(&rs["items"]).any(|r| r["phase"] == "http_status"),
        "{rs}"
    );
}

#[tokio::test]
async fn a_refire_after_resolution_reopens_the_same_ticket_within_the_window_and_opens_a_new_one_after()
 {
    let app = spawn_demo().await;
    let status = Arc::new(AtomicU16::new(500));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "网站群", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "failures_before_down": 1})).await;
    let id = m["id"].as_i64().unwrap();
    check(&app, id).await;
    let t = tickets_from_monitoring(&app).await;
    assert_eq!(t.len(), 1);
    let tid = t[0]["id"].as_i64().unwrap();
    // The engineer fixes and resolves the ticket; the site comes back.
    let report = json!({"symptom": "网站 500", "impact_scope": "公众", "started_at": Utc::now().to_rfc3339(), "recovered_at": Utc::now().to_rfc3339(),
                        "cause": "应用池耗尽", "handling": "重启", "measures": "扩容"});
    for body in [
        json!({"action": "start"}),
        json!({"action": "check_in"}),
        json!({"action": "resolve", "fault_report": report, "resolution": "已恢复"}),
    ] {
        let (s, v) = app
            .post(
                &app.admin_token,
                &format!("/api/v1/tickets/{tid}/actions"),
                &body,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}: {v}");
    }
    status.store(200, Ordering::SeqCst);
    check(&app, id).await;
    // It fails again 10 minutes later: the resolved ticket is reopened.
    app.clock.advance(Duration::minutes(10));
    status.store(500, Ordering::SeqCst);
    check(&app, id).await;
    let t = tickets_from_monitoring(&app).await;
    assert_eq!(t.len(), 1, "{t:?}");
    let (_, tk) = app
        .get_json(&admin(&app).await, &format!("/api/v1/tickets/{tid}"))
        .await;
    assert_ne!(tk["status"], "resolved", "{tk}");
    // Recovers, and fails again two hours later: a new ticket, linked to the old one.
    status.store(200, Ordering::SeqCst);
    check(&app, id).await;
    app.clock.advance(Duration::hours(2));
    status.store(500, Ordering::SeqCst);
    check(&app, id).await;
    let t = tickets_from_monitoring(&app).await;
    assert_eq!(t.len(), 2, "{t:?}");
}

#[tokio::test]
async fn tcp_icmp_and_database_probes_run_against_real_local_targets() {
    let app = spawn_demo().await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let _ = l.accept().await;
        }
    });
    let closed = free_port();
    let cases = [
        (
            json!({"name": "端口", "kind": "tcp", "target": format!("127.0.0.1:{port}")}),
            true,
            None,
        ),
        (
            json!({"name": "关闭的端口", "kind": "tcp", "target": format!("127.0.0.1:{closed}")}),
            false,
            Some("connect"),
        ),
        (
            json!({"name": "不存在的域名", "kind": "tcp", "target": "no-such-host.invalid:80"}),
            false,
            Some("dns"),
        ),
        (
            json!({"name": "本机", "kind": "icmp", "target": "127.0.0.1", "config": {"count": 3}}),
            true,
            None,
        ),
        (
            json!({"name": "PG", "kind": "postgres", "target": "postgres://postgres@127.0.0.1:5432/test"}),
            true,
            None,
        ),
        (
            json!({"name": "PG 错库", "kind": "postgres", "target": "postgres://postgres@127.0.0.1:5432/no_such_db_here"}),
            false,
            Some("connect"),
        ),
        (
            json!({"name": "MariaDB", "kind": "mysql", "target": "mysql://root@127.0.0.1:3306/test"}),
            true,
            None,
        ),
        (
            json!({"name": "MariaDB 错密码", "kind": "mysql", "target": "mysql://root:wrong@127.0.0.1:3306/test"}),
            false,
            Some("connect"),
        ),
    ];
    for (body, ok, phase) in cases {
        let v = create_and_check(&app, &body, ok, phase).await;
        if phase.is_none() {
            assert!(v["latency_ms"].as_f64().is_some(), "{v}");
        }
    }
    // The password of a database monitor is not shown and is stored encrypted.
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/monitors?kind=mysql")
        .await;
    let text = list.to_string();
    assert!(!text.contains("wrong"), "{text}");
}

#[tokio::test]
async fn dns_and_tls_probes_check_answers_and_certificate_expiry() {
    let app = spawn_demo().await;
    let Some(dnsmasq) = peer("/usr/sbin/dnsmasq") else {
        return;
    };
    let Some(openssl) = peer("/usr/bin/openssl") else {
        return;
    };
    let dport = free_udp_port();
    let mut dns = tokio::process::Command::new(dnsmasq)
        .args([
            "--no-daemon".to_string(),
            format!("--port={dport}"),
            "--listen-address=127.0.0.1".into(),
            "--bind-interfaces".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--conf-file=/dev/null".into(),
            "--pid-file=".into(),
            "--local=/yunwei.test/".into(),
            "--host-record=app.yunwei.test,10.1.2.3".into(),
            "--mx-host=yunwei.test,mail.yunwei.test,10".into(),
        ])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
    self_signed_ec(&openssl, "10", "/CN=app.yunwei.test", &key, &cert);
    let tport = free_port();
    let mut tls = spawn_quiet(
        tokio::process::Command::new(&openssl)
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &format!("127.0.0.1:{tport}"),
                "-cert",
            ])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-www"),
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let server = format!("127.0.0.1:{dport}");
    let cases = [
        (
            json!({"name": "A", "kind": "dns", "target": "app.yunwei.test", "config": {"server": server, "expected": "10.1.2.3"}}),
            true,
            None,
        ),
        (
            json!({"name": "MX", "kind": "dns", "target": "yunwei.test", "config": {"server": server, "record_type": "MX"}}),
            true,
            None,
        ),
        (
            json!({"name": "错的地址", "kind": "dns", "target": "app.yunwei.test", "config": {"server": server, "expected": ["10.9.9.9"]}}),
            false,
            Some("dns"),
        ),
        (
            json!({"name": "不存在", "kind": "dns", "target": "nope.yunwei.test", "config": {"server": server}}),
            false,
            Some("dns"),
        ),
        (
            json!({"name": "证书", "kind": "tls", "target": format!("127.0.0.1:{tport}"), "config": {"server_name": "app.yunwei.test", "verify": false, "warn_days": 5}}),
            true,
            None,
        ),
        (
            json!({"name": "证书将到期", "kind": "tls", "target": format!("127.0.0.1:{tport}"), "config": {"server_name": "app.yunwei.test", "verify": false, "warn_days": 30}}),
            false,
            Some("threshold"),
        ),
        (
            json!({"name": "证书不受信", "kind": "tls", "target": format!("127.0.0.1:{tport}"), "config": {"server_name": "app.yunwei.test"}}),
            false,
            Some("tls"),
        ),
        (
            json!({"name": "HTTPS", "kind": "http", "target": format!("https://127.0.0.1:{tport}/"), "config": {"verify_tls": false, "cert_expiry_warn_days": 30}}),
            false,
            Some("tls"),
        ),
        (
            json!({"name": "HTTPS 正常", "kind": "http", "target": format!("https://127.0.0.1:{tport}/"), "config": {"verify_tls": false, "cert_expiry_warn_days": 5}}),
            true,
            None,
        ),
    ];
    for (body, ok, phase) in cases {
        let v = create_and_check(&app, &body, ok, phase).await;
        if body["name"] == "证书" {
            assert!(v["message"].as_str().unwrap().contains("天到期"), "{v}");
        }
    }
    let _ = dns.kill().await;
    let _ = tls.kill().await;
}

/// snmpd on `port` with the v2c community `yunwei` and `extra` configuration lines.
async fn snmpd_with(
    port: u16,
    dir: &std::path::Path,
    extra: &str,
) -> Option<tokio::process::Child> {
    let bin = peer("/usr/sbin/snmpd")?;
    let conf = dir.join("snmpd.conf");
    std::fs::write(
        &conf,
        format!("rocommunity yunwei 127.0.0.1\nsysLocation 龙口西机房\nsysName core-sw-1\n{extra}"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("persist")).unwrap();
    Some(spawn_quiet(
        tokio::process::Command::new(bin)
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .env("MIBS", "")
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf)
            .arg(format!("udp:127.0.0.1:{port}")),
    ))
}

async fn snmpd(port: u16, dir: &std::path::Path) -> Option<tokio::process::Child> {
    snmpd_with(port, dir, "").await
}

#[tokio::test]
async fn snmp_probes_read_a_switch_and_a_ups() {
    let app = spawn_demo().await;
    let tmp = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let Some(mut agent) = snmpd(port, tmp.path()).await else {
        return;
    };
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let target = format!("127.0.0.1:{port}");
    let cases = [
        (
            json!({"name": "运行时间", "kind": "snmp", "target": target, "config": {"community": "yunwei", "oids": [{"oid": "1.3.6.1.2.1.1.3.0", "label": "sysUpTime", "min": 1}]}}),
            true,
            None,
        ),
        (
            json!({"name": "机房位置", "kind": "snmp", "target": target, "config": {"community": "yunwei", "oids": [{"oid": "1.3.6.1.2.1.1.6.0", "label": "位置", "equals": "龙口西机房"}]}}),
            true,
            None,
        ),
        (
            json!({"name": "不存在的 OID", "kind": "snmp", "target": target, "config": {"community": "yunwei", "oids": [{"oid": "1.3.6.1.2.1.1.99.0"}]}}),
            false,
            Some("snmp"),
        ),
        (
            json!({"name": "错团体名", "kind": "snmp", "target": target, "timeout_ms": 1500, "config": {"community": "wrong", "oids": [{"oid": "1.3.6.1.2.1.1.3.0"}]}}),
            false,
            Some("timeout"),
        ),
        (
            json!({"name": "回环接口", "kind": "snmp", "target": target, "config": {"community": "yunwei", "if_indexes": [1]}}),
            true,
            None,
        ),
    ];
    for (body, ok, phase) in cases {
        create_and_check(&app, &body, ok, phase).await;
    }
    // The community is a secret: not in the API.
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/monitors?kind=snmp")
        .await;
    assert!(!list.to_string().contains("yunwei\""), "{list}");
    let _ = agent.kill().await;

    // A UPS and a switch simulated by snmpsim with the fixtures in tests/fixtures/snmp.
    let sim = std::env::var("SNMPSIM_BIN")
        .unwrap_or_else(|_| "/var/tmp/yunwei-snmpsim/bin/snmpsim-command-responder".into());
    let Some(sim) = peer(&sim) else { return };
    let sport = free_udp_port();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snmp");
    let mut simp = tokio::process::Command::new(sim)
        .env("SNMPSIM_ALLOW_ROOT", "true")
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!(
            "--cache-dir={}",
            tmp.path().join("cache").display()
        ))
        .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{sport}"))
        .arg("--logging-method=null")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let target = format!("127.0.0.1:{sport}");
    let ups = create_monitor(&app, json!({"name": "UPS", "kind": "snmp", "target": target, "timeout_ms": 5000, "config": {"community": "ups", "ups": true}})).await;
    let mut v = Value::Null;
    for _ in 0..20 {
        v = check(&app, ups["id"].as_i64().unwrap()).await;
        if v["ok"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["message"].as_str().unwrap().contains("电池 96%"), "{v}");
    let low = create_monitor(&app, json!({"name": "UPS 电量", "kind": "snmp", "target": target, "config": {"community": "ups", "ups": {"battery_min_percent": 98}}})).await;
    let v = check(&app, low["id"].as_i64().unwrap()).await;
    assert_eq!(
        (v["ok"].clone(), v["phase"].clone()),
        (json!(false), json!("threshold")),
        "{v}"
    );
    let sw = create_monitor(&app, json!({"name": "核心交换机端口", "kind": "snmp", "target": target, "config": {"community": "switch", "if_indexes": [1, 2, 3]}})).await;
    let v = check(&app, sw["id"].as_i64().unwrap()).await;
    assert_eq!(
        (v["ok"].clone(), v["phase"].clone()),
        (json!(false), json!("threshold")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("接口 3"), "{v}");
    let _ = simp.kill().await;
}

/// snmpd with SNMPv3 users created in its private config (`createUser` lines are read
/// from the main snmpd.conf by net-snmp 5.8+); also v2c for the readiness poll.
async fn snmpd_v3(port: u16, dir: &std::path::Path) -> Option<tokio::process::Child> {
    snmpd_with(
        port,
        dir,
        "createUser yw-sha-aes SHA \"auth-pass-1\" AES \"priv-pass-1\"\n\
         createUser yw-sha256-aes256 SHA-256 \"auth-pass-2\" AES256 \"priv-pass-2\"\n\
         createUser yw-auth SHA-512 \"auth-pass-3\"\n\
         rouser yw-sha-aes priv\nrouser yw-sha256-aes256 priv\nrouser yw-auth auth\n",
    )
    .await
}

#[tokio::test]
async fn snmpv3_monitors_read_snmpd_at_authpriv_and_authnopriv_and_name_a_wrong_password() {
    let app = spawn_demo().await;
    let tmp = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let Some(mut agent) = snmpd_v3(port, tmp.path()).await else {
        return;
    };
    let target = format!("127.0.0.1:{port}");
    let oids = json!([{"oid": "1.3.6.1.2.1.1.6.0", "label": "位置", "equals": "龙口西机房"}]);
    // Wait for the agent through a v2c monitor.
    let ready = create_monitor(
        &app,
        json!({"name": "就绪", "kind": "snmp", "target": target, "timeout_ms": 500,
        "config": {"community": "yunwei", "oids": oids}}),
    )
    .await;
    let mut v = Value::Null;
    for _ in 0..40 {
        v = check(&app, ready["id"].as_i64().unwrap()).await;
        if v["ok"] == true {
            break;
        }
    }
    assert_eq!(v["ok"], true, "snmpd did not start: {v}");

    let v3 = |name: &str, config: Value| {
        let mut c = config;
        c["version"] = json!("3");
        c["oids"] = oids.clone();
        json!({"name": name, "kind": "snmp", "target": target, "timeout_ms": 3000, "config": c})
    };
    let cases = [
        (
            v3(
                "authPriv SHA/AES",
                json!({"username": "yw-sha-aes", "security_level": "authPriv",
                "auth_protocol": "SHA", "auth_password": "auth-pass-1", "priv_protocol": "AES", "priv_password": "priv-pass-1"}),
            ),
            None,
        ),
        (
            v3(
                "authPriv SHA-256/AES-256",
                json!({"username": "yw-sha256-aes256",
                "auth_protocol": "SHA-256", "auth_password": "auth-pass-2", "priv_protocol": "AES-256", "priv_password": "priv-pass-2"}),
            ),
            None,
        ),
        (
            v3(
                "authNoPriv SHA-512",
                json!({"username": "yw-auth", "security_level": "authNoPriv",
                "auth_protocol": "SHA-512", "auth_password": "auth-pass-3"}),
            ),
            None,
        ),
        (
            v3(
                "认证密码错",
                json!({"username": "yw-sha-aes", "security_level": "authPriv",
                "auth_protocol": "SHA", "auth_password": "wrong-pass", "priv_protocol": "AES", "priv_password": "priv-pass-1"}),
            ),
            Some("认证密码（auth_password）"),
        ),
        (
            v3(
                "加密密码错",
                json!({"username": "yw-sha-aes", "security_level": "authPriv",
                "auth_protocol": "SHA", "auth_password": "auth-pass-1", "priv_protocol": "AES", "priv_password": "wrong-pass"}),
            ),
            Some("加密密码（priv_password）"),
        ),
    ];
    let mut ids = Vec::new();
    for (body, failure) in cases {
        let m = create_monitor(&app, body.clone()).await;
        let v = check(&app, m["id"].as_i64().unwrap()).await;
        match failure {
            None => assert_eq!(v["ok"], true, "{body}: {v}"),
            Some(needle) => {
                assert_eq!(
                    (v["ok"].clone(), v["phase"].clone()),
                    (json!(false), json!("snmp")),
                    "{body}: {v}"
                );
                let msg = v["message"].as_str().unwrap();
                assert!(msg.contains(needle), "{body}: {msg}");
            }
        }
        ids.push(m["id"].as_i64().unwrap());
    }

    // The passwords are never shown: not in the list, not in one monitor, not in the
    // monitor page, not in the audit log.
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/monitors?kind=snmp")
        .await;
    let (_, one) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{}", ids[0]))
        .await;
    assert_eq!(one["has_secret"], true, "{one}");
    assert_eq!(one["config"]["auth_protocol"], "SHA", "{one}");
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, page) = app.page(&cookie, &format!("/monitors/{}", ids[0])).await;
    // A change that leaves the passwords out keeps them; its audit record masks any
    // that are sent.
    app.patch_expect(&app.admin_token,
            &format!("/api/v1/monitors/{}", ids[0]),
            &json!({"name": "authPriv SHA/AES（改名）", "config": {"version": "3", "username": "yw-sha-aes",
                "auth_protocol": "SHA", "priv_protocol": "AES", "priv_password": "***",
                "oids": [{"oid": "1.3.6.1.2.1.1.5.0", "equals": "core-sw-1"}]}}), StatusCode::OK).await;
    let v = check(&app, ids[0]).await;
    assert_eq!(v["ok"], true, "stored passwords kept: {v}");
    // Fixing the wrong privacy password by sending only that one.
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/monitors/{}", ids[4]),
        &json!({"config": {"version": "3", "username": "yw-sha-aes", "auth_protocol": "SHA",
                "priv_protocol": "AES", "priv_password": "priv-pass-1", "oids": oids}}),
        StatusCode::OK,
    )
    .await;
    let v = check(&app, ids[4]).await;
    assert_eq!(v["ok"], true, "{v}");
    let (_, auditor) = app.user_with_role("jianli", "auditor").await;
    let audit = app
        .get_json_expect(
            &auditor,
            "/api/v1/audit-events?entity_type=monitors&limit=100",
            StatusCode::OK,
        )
        .await;
    for shown in [list.to_string(), one.to_string(), page, audit.to_string()] {
        for secret in [
            "auth-pass-1",
            "priv-pass-1",
            "auth-pass-2",
            "priv-pass-2",
            "wrong-pass",
        ] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
    }
    assert!(audit.to_string().contains("***"), "{audit}");

    // A short password is refused with the field named; nothing is created.
    let before = app.total("/api/v1/monitors?kind=snmp").await;
    let e = app
        .post_expect(
            &app.admin_token,
            "/api/v1/monitors",
            &v3(
                "短密码",
                json!({"username": "yw-auth", "security_level": "authNoPriv",
                "auth_protocol": "SHA-512", "auth_password": "short"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(e.to_string().contains("config.auth_password"), "{e}");
    assert!(e.to_string().contains("至少 8 个字符"), "{e}");
    assert_eq!(app.total("/api/v1/monitors?kind=snmp").await, before);
    // The page form shown again after an error does not send the passwords back.
    let config = json!({"version": "3", "username": "yw-sha-aes", "auth_protocol": "SHA",
        "auth_password": "auth-pass-1", "priv_protocol": "AES", "priv_password": "priv-pass-1",
        "oids": [{"oid": "1.3.6.1.2.1.1.5.0"}]});
    let r = app
        .page_post(
            &cookie,
            "/monitors",
            &[
                ("name", "表单"),
                ("kind", "snmp"),
                ("target", "127.0.0.1:99999"),
                ("config", &config.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("yw-sha-aes"),
        "the rest of the form is kept: {page}"
    );
    assert!(
        !page.contains("auth-pass-1") && !page.contains("priv-pass-1"),
        "{page}"
    );
    let _ = agent.kill().await;
}

#[tokio::test]
async fn a_server_behind_a_down_switch_is_unreachable_not_down_and_opens_no_ticket() {
    let app = spawn_demo().await;
    let switch = create_monitor(&app, json!({"name": "核心交换机", "kind": "tcp", "target": format!("127.0.0.1:{}", free_port()), "failures_before_down": 1})).await;
    let server = create_monitor(&app, json!({"name": "应用服务器", "kind": "tcp", "target": format!("127.0.0.1:{}", free_port()),
                                             "failures_before_down": 1, "depends_on": switch["id"]})).await;
    check(&app, switch["id"].as_i64().unwrap()).await;
    let v = check(&app, server["id"].as_i64().unwrap()).await;
    assert_eq!(v["state"], "unreachable", "{v}");
    let t = tickets_from_monitoring(&app).await;
    assert_eq!(t.len(), 1, "only the switch: {t:?}");
    assert!(t[0]["title"].as_str().unwrap().contains("核心交换机"));
    // A cycle is refused.
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/monitors/{}", switch["id"]),
        &json!({"depends_on": server["id"]}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn maintenance_suppresses_alerts_and_is_excluded_from_availability() {
    let start = Utc::now() - Duration::hours(6);
    let start = start - Duration::milliseconds(start.timestamp_millis() % 3_600_000);
    let app = demo_at(start).await;
    let status = Arc::new(AtomicU16::new(200));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "OA", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "system_id": 23,
                                        "interval_s": 60, "failures_before_down": 1})).await;
    let id = m["id"].as_i64().unwrap();
    // Hour 1: up, checked every minute.
    for _ in 0..60 {
        check(&app, id).await;
        app.clock.advance(Duration::minutes(1));
    }
    // Hour 2: maintenance while the service is down.
    app.post_expect(&app.admin_token, "/api/v1/maintenance-windows", &json!({"monitor_id": id, "reason": "系统升级", "owner": "张工",
               "starts_at": app.clock.now().to_rfc3339(), "ends_at": (app.clock.now() + Duration::hours(1)).to_rfc3339()}), StatusCode::CREATED).await;
    status.store(500, Ordering::SeqCst);
    for _ in 0..60 {
        let v = check(&app, id).await;
        assert_eq!(v["state"], "maintenance");
        app.clock.advance(Duration::minutes(1));
    }
    assert!(
        tickets_from_monitoring(&app).await.is_empty(),
        "no ticket during maintenance"
    );
    // Hour 3: down for 30 minutes, then nothing is known (yunwei was down) for 30.
    for _ in 0..30 {
        check(&app, id).await;
        app.clock.advance(Duration::minutes(1));
    }
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
    app.clock.advance(Duration::minutes(30));
    // Hour 4: up again.
    status.store(200, Ordering::SeqCst);
    for _ in 0..60 {
        check(&app, id).await;
        app.clock.advance(Duration::minutes(1));
    }
    let from = start;
    let to = start + Duration::hours(4);
    let q = format!(
        "from={}&to={}",
        urlenc(&from.to_rfc3339()),
        urlenc(&to.to_rfc3339())
    );
    let expect = |v: &Value| {
        assert_eq!(v["up_seconds"], json!(2 * 3600), "{v}");
        assert_eq!(v["maintenance_seconds"], json!(3600), "{v}");
        assert_eq!(v["down_seconds"], json!(1800), "{v}");
        assert_eq!(v["unknown_seconds"], json!(1800), "{v}");
        let a = v["availability"].as_f64().unwrap();
        assert!((a - 0.8).abs() < 1e-9, "{v}");
    };
    let tok = admin(&app).await;
    // From raw results …
    let raw = app
        .get_json_expect(
            &tok,
            &format!("/api/v1/monitors/{id}/availability?{q}"),
            StatusCode::OK,
        )
        .await;
    expect(&raw);
    // … and the same from hourly rollups, for the system too.
    let n = yunwei::monitor::rollup_tick(&app.ctx, 24).await.unwrap();
    assert!(n >= 4, "{n}");
    let (_, rolled) = app
        .get_json(&tok, &format!("/api/v1/monitors/{id}/availability?{q}"))
        .await;
    expect(&rolled);
    let (_, sys) = app
        .get_json(&tok, &format!("/api/v1/systems/23/availability?{q}"))
        .await;
    expect(&sys);
    app.get_json_expect(
        &tok,
        &format!("/api/v1/monitors/{id}/availability?from=yesterday&to=now"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

fn urlenc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn heartbeats_from_a_backup_job_go_down_when_missed_and_report_failures() {
    let app = spawn_demo().await;
    let m = create_monitor(&app, json!({"name": "OA 数据库每日备份", "kind": "heartbeat", "system_id": 23, "config": {"period_s": 3600, "grace_s": 600}})).await;
    let id = m["id"].as_i64().unwrap();
    let token = m["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 20, "{m}");
    assert_eq!(
        m["heartbeat_url"],
        json!(format!("/api/v1/heartbeat/{token}"))
    );
    // Anyone with the URL may ping; a wrong token is not found.
    let r = app
        .anon_get(&format!("/api/v1/heartbeat/{token}/start"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(12));
    let r = app
        .anon_post(&format!("/api/v1/heartbeat/{token}?size_bytes=1048576"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], "up", "{v}");
    let (_, rs) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}/results"))
        .await;
    assert!(
        rs["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("耗时 720.0 秒"),
        "{rs}"
    );
    let r = app.anon_get("/api/v1/heartbeat/not-a-token").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Within period + grace: fine. After it: down, one ticket.
    app.clock.advance(Duration::minutes(25));
    assert_eq!(check(&app, id).await["state"], "up");
    app.clock.advance(Duration::minutes(20));
    assert_eq!(check(&app, id).await["state"], "up");
    app.clock.advance(Duration::minutes(20));
    assert_eq!(check(&app, id).await["state"], "up");
    app.clock.advance(Duration::minutes(10));
    let v = check(&app, id).await;
    assert_eq!(
        (v["state"].as_str(), v["phase"].as_str()),
        (Some("down"), Some("heartbeat")),
        "{v}"
    );
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
    // The job runs again: recovered. Then it reports a failure: down again.
    let r = app.anon_post(&format!("/api/v1/heartbeat/{token}")).await;
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "up");
    let r = app
        .client
        .post(app.url(&format!("/api/v1/heartbeat/{token}/fail")))
        .json(&json!({"duration_s": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "down");
    // A cron schedule: daily at 02:00 Beijing time.
    let m = create_monitor(&app, json!({"name": "夜间全量备份", "kind": "heartbeat", "config": {"schedule": "0 2 * * *", "grace_s": 1800}})).await;
    assert_eq!(m["config"]["schedule"], "0 2 * * *");
}

#[tokio::test]
async fn alertmanager_zabbix_and_generic_events_become_one_ticket_each_and_resolve() {
    let app = spawn_demo().await;
    let am = app
        .post_expect(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": "alertmanager", "name": "Prometheus", "system_id": 5}),
            StatusCode::CREATED,
        )
        .await;
    let am_token = am["token"].as_str().unwrap().to_string();
    app.post_expect(
        &app.admin_token,
        "/api/v1/integrations",
        &json!({"kind": "nagios", "name": "x"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let (_, rt) = app.user_with_role("eng", "engineer").await;
    app.post_expect(
        &rt,
        "/api/v1/integrations",
        &json!({"kind": "events", "name": "y"}),
        StatusCode::FORBIDDEN,
    )
    .await;

    let payload = |status: &str| {
        json!({"version": "4", "groupKey": "{}:{alertname=\"HostDown\"}", "status": status, "receiver": "yunwei",
               "groupLabels": {"alertname": "HostDown"}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
               "alerts": [{"status": status, "labels": {"alertname": "HostDown", "instance": "10.0.0.5:9100", "severity": "critical"},
                           "annotations": {"summary": "10.0.0.5 宕机"}, "startsAt": "2026-11-26T01:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                           "generatorURL": "http://prom", "fingerprint": "abc123"}]})
    };
    let post = |path: String, body: Value, token: Option<String>| {
        let app = &app;
        async move {
            let mut r = app.client.post(app.url(&path)).json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, _) = post(
        "/api/v1/integrations/alertmanager".into(),
        payload("firing"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = post(
        "/api/v1/integrations/alertmanager".into(),
        payload("firing"),
        Some(app.admin_token.clone()),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a user token is not an intake token"
    );
    for _ in 0..3 {
        let (s, v) = post(
            "/api/v1/integrations/alertmanager".into(),
            payload("firing"),
            Some(am_token.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let t = tickets_from_monitoring(&app).await;
    assert_eq!(t.len(), 1, "repeated notifications, one ticket: {t:?}");
    assert_eq!(
        (t[0]["priority"].as_str(), t[0]["system_id"].as_i64()),
        (Some("P1"), Some(5))
    );
    let (s, v) = post(
        format!("/api/v1/integrations/alertmanager?token={am_token}"),
        payload("resolved"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["outcome"], "resolved");
    let (s, v) = post(
        "/api/v1/integrations/alertmanager".into(),
        json!({"version": "3", "alerts": []}),
        Some(am_token.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Zabbix: problem, the same problem again (a retry), recovery; the ticket number goes back.
    let (_, zb) = app
        .post(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": "zabbix", "name": "Zabbix"}),
        )
        .await;
    let zt = zb["token"].as_str().unwrap().to_string();
    let problem = json!({"event_id": "4711", "event_value": "1", "event_update_status": "0", "event_nseverity": "4", "event_name": "磁盘空间不足",
                         "host_name": "db-01", "host_ip": "10.0.0.8", "alert_message": "/data 已用 95%"});
    let (s, v) = post(
        "/api/v1/integrations/zabbix".into(),
        problem.clone(),
        Some(zt.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["tags"]["__yunwei_ticket"]
            .as_str()
            .unwrap()
            .starts_with("INC-"),
        "{v}"
    );
    let (_, v2) = post(
        "/api/v1/integrations/zabbix".into(),
        problem,
        Some(zt.clone()),
    )
    .await;
    assert_eq!(v2["outcome"], "duplicate");
    assert_eq!(v2["ticket_id"], v["ticket_id"]);
    let (s, v3) = post(
        "/api/v1/integrations/zabbix".into(),
        json!({"event_id": "4711", "event_value": "0", "event_update_status": "0"}),
        Some(zt.clone()),
    )
    .await;
    assert_eq!(
        (s, v3["outcome"].as_str()),
        (StatusCode::OK, Some("resolved")),
        "{v3}"
    );
    let (s, _) = post(
        "/api/v1/integrations/zabbix".into(),
        json!({"event_value": "1"}),
        Some(zt.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The alertmanager token does not work for zabbix.
    let (s, _) = post(
        "/api/v1/integrations/zabbix".into(),
        json!({"event_id": "1"}),
        Some(am_token.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Generic events (PagerDuty v2 shape).
    let (_, ev) = app
        .post(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": "events", "name": "备份系统"}),
        )
        .await;
    let et = ev["token"].as_str().unwrap().to_string();
    let trig = json!({"event_action": "trigger", "dedup_key": "backup-oa-2026-11-26", "payload": {"summary": "OA 备份失败", "source": "backup-01", "severity": "error"}});
    for _ in 0..2 {
        let (s, v) = post(
            "/api/v1/integrations/events".into(),
            trig.clone(),
            Some(et.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["dedup_key"], "backup-oa-2026-11-26");
    }
    assert_eq!(
        tickets_from_monitoring(&app).await.len(),
        3,
        "one ticket per source"
    );
    let (s, _) = post(
        "/api/v1/integrations/events".into(),
        json!({"event_action": "acknowledge", "dedup_key": "backup-oa-2026-11-26"}),
        Some(et.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/alerts?source=events")
        .await;
    assert_eq!(list["items"][0]["status"], "acknowledged", "{list}");
    let (s, _) = post(
        "/api/v1/integrations/events".into(),
        json!({"event_action": "resolve", "dedup_key": "backup-oa-2026-11-26"}),
        Some(et.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, v) = post("/api/v1/integrations/events".into(), json!({"event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "loud"}}), Some(et.clone())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/alerts?status=open")
        .await;
    assert_eq!(list["total"], 0, "{list}");
}

#[tokio::test]
async fn an_unacknowledged_alert_escalates_to_whoever_is_on_duty_once() {
    let app = spawn_demo().await;
    let (duty, dt) = app.user_with_role("zhiban", "engineer").await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let now = app.clock.now();
    app.post_expect(
        &app.admin_token,
        "/api/v1/duty-shifts",
        &json!({"user_id": duty, "starts_at": (now - Duration::hours(1)).to_rfc3339(),
               "ends_at": (now + Duration::hours(11)).to_rfc3339(), "note": "白班"}),
        StatusCode::CREATED,
    )
    .await;
    let (_, roster) = app.get_json(&app.admin_token, "/api/v1/duty-shifts").await;
    assert_eq!(roster["on_call_now"], json!([duty]));
    let m = create_monitor(&app, json!({"name": "政务外网出口", "kind": "tcp", "target": format!("127.0.0.1:{}", free_port()), "failures_before_down": 1})).await;
    check(&app, m["id"].as_i64().unwrap()).await;
    // One pass of the escalation job: how many alerts it escalated.
    let escalate = || async {
        yunwei::monitor::alerts::escalate_tick(&app.ctx)
            .await
            .unwrap()
    };
    assert_eq!(escalate().await, 0, "not yet");
    app.clock.advance(Duration::minutes(16));
    assert_eq!(escalate().await, 1);
    assert_eq!(escalate().await, 0, "once");
    for t in [&dt, &mt] {
        let (_, inbox) = app.get_json(t, "/api/v1/me/messages").await;
        assert!(
            each(&inbox["items"]).any(|m| m["subject"].as_str().unwrap().contains("告警升级")),
            "{inbox}"
        );
    }
    // Silencing needs a reason and is audited.
    let (_, alerts) = app.get_json(&app.admin_token, "/api/v1/alerts").await;
    let aid = alerts["items"][0]["id"].as_i64().unwrap();
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/alerts/{aid}/silence"),
        &json!({"minutes": 30}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let before = app.audit_count().await;
    let v = app
        .post_expect(
            &app.admin_token,
            &format!("/api/v1/alerts/{aid}/silence"),
            &json!({"minutes": 30, "reason": "运营商割接"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["silenced"], true);
    assert_eq!(app.audit_count().await, before + 1);
    let (s, v) = app
        .post(
            &app.admin_token,
            &format!("/api/v1/alerts/{aid}/acknowledge"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("acknowledged")),
        "{v}"
    );
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/alerts/{aid}/acknowledge"),
        &json!({}),
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn the_engine_probes_on_its_own_schedule() {
    // The real engine (not check_now) with a 1-second interval.
    let app = spawn_with(Options {
        demo: true,
        monitoring: true,
        ..Options::default()
    })
    .await;
    let status = Arc::new(AtomicU16::new(200));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "秒级", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "interval_s": 1})).await;
    let id = m["id"].as_i64().unwrap();
    let mut state = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (_, v) = app
            .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}"))
            .await;
        state = v["state"].clone();
        if state == "up" {
            break;
        }
    }
    assert_eq!(state, "up");
    // Pausing stops it.
    let (s, v) = app
        .patch(
            &app.admin_token,
            &format!("/api/v1/monitors/{id}"),
            &json!({"paused": true}),
        )
        .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("paused")),
        "{v}"
    );
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/monitors/{id}/check"),
        &json!({}),
        StatusCode::CONFLICT,
    )
    .await;
    // /metrics exports every monitor's state.
    let body = app.get_text(&app.admin_token, "/metrics").await;
    assert!(
        body.contains(&format!(
            "yunwei_monitor_state{{monitor_id=\"{id}\",state=\"paused\"}} 1"
        )),
        "{body}"
    );
}

#[tokio::test]
async fn a_real_alertmanager_firing_then_resolved_makes_one_ticket() {
    let app = spawn_demo().await;
    let Some(am) = peer("/usr/bin/prometheus-alertmanager") else {
        return;
    };
    let (_, integ) = app
        .post(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": "alertmanager", "name": "Alertmanager", "system_id": 3}),
        )
        .await;
    let token = integ["token"].as_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("am.yml");
    std::fs::write(
        &conf,
        format!(
            "route:\n  receiver: yunwei\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 3s\n\
             receivers:\n  - name: yunwei\n    webhook_configs:\n      - url: '{}/api/v1/integrations/alertmanager'\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials: '{token}'\n",
            app.base
        ),
    )
    .unwrap();
    let port = free_port();
    let mut proc = spawn_quiet(
        tokio::process::Command::new(am)
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.path={}",
                tmp.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
    );
    let am_url = format!("http://127.0.0.1:{port}/api/v2/alerts");
    let client = reqwest::Client::new();
    let alert = |ends: Option<chrono::DateTime<Utc>>| {
        let mut a = json!({"labels": {"alertname": "NodeDown", "instance": "10.0.0.21:9100", "severity": "critical"},
                           "annotations": {"summary": "网站群服务器 10.0.0.21 宕机"}, "startsAt": (Utc::now() - Duration::minutes(1)).to_rfc3339()});
        if let Some(e) = ends {
            a["endsAt"] = json!(e.to_rfc3339());
        }
        json!([a])
    };
    // Wait for Alertmanager, then keep the alert firing for a while (repeated notifications).
    let mut up = false;
    for _ in 0..50 {
        if client
            .post(&am_url)
            .json(&alert(None))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(up, "alertmanager did not start");
    let mut ticket = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let _ = client.post(&am_url).json(&alert(None)).send().await;
        ticket = tickets_from_monitoring(&app).await;
        if !ticket.is_empty() {
            break;
        }
    }
    assert_eq!(ticket.len(), 1, "{ticket:?}");
    // Let Alertmanager repeat the notification a few times: still one ticket.
    for _ in 0..16 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let _ = client.post(&am_url).json(&alert(None)).send().await;
    }
    let (_, a) = app
        .get_json(&admin(&app).await, "/api/v1/alerts?source=alertmanager")
        .await;
    assert_eq!(a["total"], 1, "{a}");
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
    let (_, integs) = app
        .get_json(&admin(&app).await, "/api/v1/integrations")
        .await;
    assert!(integs["items"][0]["last_event_at"].is_string(), "{integs}");
    // Resolved.
    let _ = client
        .post(&am_url)
        .json(&alert(Some(Utc::now() - Duration::seconds(1))))
        .send()
        .await;
    let mut status = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let (_, a) = app
            .get_json(&admin(&app).await, "/api/v1/alerts?source=alertmanager")
            .await;
        status = a["items"][0]["status"].clone();
        if status == "resolved" {
            break;
        }
    }
    assert_eq!(status, "resolved");
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
    let _ = proc.kill().await;
}

#[tokio::test]
async fn the_monitoring_pages_show_monitors_alerts_the_screen_and_the_roster() {
    let app = spawn_demo().await;
    let status = Arc::new(AtomicU16::new(500));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "OA 门户", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "system_id": 23, "failures_before_down": 1})).await;
    let id = m["id"].as_i64().unwrap();
    check(&app, id).await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    for (path, needle) in [
        ("/monitors", "OA 门户"),
        ("/monitors/new", "配置（JSON）"),
        (&format!("/monitors/{id}") as &str, "latency-chart"),
        ("/alerts", "OA 门户 故障"),
        ("/alerts?status=all", "告警中"),
        ("/screen", "广东省生态环境厅办公自动化系统"),
        ("/screen/grid", "s-down"),
        ("/duty", "值班表"),
        ("/static/echarts.min.js", "echarts"),
    ] {
        let (s, html) = app.page(&c, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(html.contains(needle), "{path}: {needle}");
    }
    // The 大屏 shows all 27 systems.
    let (_, html) = app.page(&c, "/screen/grid").await;
    assert_eq!(html.matches("class=\"stile").count(), 27, "{html}");
    // The form: bad JSON config is explained, a good one creates and shows the monitor.
    let post = |form: Vec<(&'static str, String)>| {
        let app = &app;
        let c = c.clone();
        async move { app.page_post(&c, "/monitors", &form).await }
    };
    let r = post(vec![
        ("name", "x".into()),
        ("kind", "http".into()),
        ("target", "http://a/".into()),
        ("config", "{oops".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("配置应为 JSON 对象"));
    let r = post(vec![
        ("name", "x".into()),
        ("kind", "http".into()),
        ("target", "http://a/".into()),
        ("interval_s", "0".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(vec![
        ("name", "备份心跳".into()),
        ("kind", "heartbeat".into()),
        ("config", "{\"period_s\": 86400}".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let (_, html) = app.page(&c, &loc).await;
    assert!(html.contains("heartbeat-url"), "{html}");
    // Acknowledge and silence from the alert page.
    let (_, alerts) = app.get_json(&app.admin_token, "/api/v1/alerts").await;
    let aid = alerts["items"][0]["id"].as_i64().unwrap();
    let r = app
        .page_post(
            &c,
            &format!("/alerts/{aid}/action"),
            &[("do", "silence"), ("minutes", "30"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .contains("error=")
    );
    let r = app
        .page_post(
            &c,
            &format!("/alerts/{aid}/action"),
            &[("do", "acknowledge")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, a) = app
        .get_json(&app.admin_token, &format!("/api/v1/alerts/{aid}"))
        .await;
    assert_eq!(a["status"], "acknowledged");
    // A requester sees none of it.
    app.user_with_role("citizen", "requester").await;
    let rc = app.page_cookie("citizen", "Changed#Pass2").await;
    for path in ["/monitors", "/alerts", "/screen", "/duty"] {
        let (s, _) = app.page(&rc, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
}

#[test]
fn the_shipped_zabbix_media_type_sends_every_field_the_intake_reads() {
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("integrations/zabbix/media_yunwei.yaml"),
    )
    .unwrap();
    for p in [
        "event_id",
        "event_value",
        "event_update_status",
        "event_update_message",
        "event_update_user",
        "event_nseverity",
        "event_name",
        "host_name",
        "host_ip",
        "item_lastvalue",
        "trigger_id",
        "alert_subject",
        "alert_message",
        "yunwei_url",
        "yunwei_token",
    ] {
        assert!(yaml.contains(&format!("- name: {p}\n")), "{p}");
    }
    assert!(yaml.contains("/api/v1/integrations/zabbix") && yaml.contains("process_tags: 'YES'"));
}

#[tokio::test]
async fn availability_over_several_days_is_the_same_from_raw_results_and_from_daily_rollups() {
    // Three days and a bit, checked hourly: mostly up, six hours down on the second day.
    let start = yunwei::clock::beijing()
        .with_ymd_and_hms(2026, 11, 1, 9, 30, 0)
        .unwrap()
        .with_timezone(&Utc);
    let app = demo_at(start).await;
    let status = Arc::new(AtomicU16::new(200));
    let port = http_target(status.clone()).await;
    let m = create_monitor(
        &app,
        json!({"name": "政务网站", "kind": "http", "target": format!("http://127.0.0.1:{port}/"),
                                        "interval_s": 3600, "failures_before_down": 1}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    for h in 0..80 {
        status.store(
            if (30..36).contains(&h) { 503 } else { 200 },
            Ordering::SeqCst,
        );
        check(&app, id).await;
        app.clock.advance(Duration::hours(1));
    }
    let from = start - Duration::hours(2);
    let to = start + Duration::hours(75);
    let q = format!(
        "from={}&to={}",
        urlenc(&from.to_rfc3339()),
        urlenc(&to.to_rfc3339())
    );
    let tok = admin(&app).await;
    let (_, raw) = app
        .get_json(&tok, &format!("/api/v1/monitors/{id}/availability?{q}"))
        .await;
    assert_eq!(raw["down_seconds"], json!(6 * 3600), "{raw}");
    assert_eq!(
        raw["unknown_seconds"],
        json!(0),
        "before the monitor existed is not counted at all: {raw}"
    );
    assert_eq!(raw["up_seconds"], json!(69 * 3600), "{raw}");
    yunwei::monitor::rollup_tick(&app.ctx, 24 * 7)
        .await
        .unwrap();
    let (_, rolled) = app
        .get_json(&tok, &format!("/api/v1/monitors/{id}/availability?{q}"))
        .await;
    for k in [
        "up_seconds",
        "down_seconds",
        "unknown_seconds",
        "maintenance_seconds",
        "availability",
    ] {
        assert_eq!(raw[k], rolled[k], "{k}: {raw} vs {rolled}");
    }
}

#[tokio::test]
async fn a_monitor_with_auto_resolve_resolves_its_ticket_on_recovery_with_what_monitoring_saw() {
    let app = spawn_demo().await;
    let (eng, _) = app.user_with_role("eng", "engineer").await;
    let status = Arc::new(AtomicU16::new(503));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "信息公开平台", "kind": "http", "target": format!("http://127.0.0.1:{port}/"),
                                        "system_id": 2, "failures_before_down": 1, "auto_resolve": true})).await;
    assert_eq!(m["auto_resolve"], true);
    let id = m["id"].as_i64().unwrap();
    check(&app, id).await;
    let t = tickets_from_monitoring(&app).await;
    let tid = t[0]["id"].as_i64().unwrap();
    // Not taken up yet: recovery leaves it for the desk.
    status.store(200, Ordering::SeqCst);
    check(&app, id).await;
    let (_, tk) = app
        .get_json(&app.admin_token, &format!("/api/v1/tickets/{tid}"))
        .await;
    assert_ne!(tk["status"], "resolved", "{tk}");
    // Assigned, down again (same ticket), recovered: resolved with a fault report.
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/tickets/{tid}/actions"),
        &json!({"action": "assign", "assignee_id": eng}),
        StatusCode::OK,
    )
    .await;
    status.store(503, Ordering::SeqCst);
    check(&app, id).await;
    status.store(200, Ordering::SeqCst);
    check(&app, id).await;
    let (_, tk) = app
        .get_json(&app.admin_token, &format!("/api/v1/tickets/{tid}"))
        .await;
    assert_eq!(tk["status"], "resolved", "{tk}");
    assert!(
        tk["fault_report"]["cause"]
            .as_str()
            .unwrap()
            .contains("待工程师补充"),
        "{tk}"
    );
    assert_eq!(tickets_from_monitoring(&app).await.len(), 1);
}

#[tokio::test]
async fn two_replicas_on_one_postgresql_database_probe_once_not_twice() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        return; // one SQLite file has one process
    }
    let app = spawn_with(Options {
        demo: true,
        monitoring: true,
        ..Options::default()
    })
    .await;
    // A second replica on the same database, with its engine running too.
    let ctx2 = app.second_process().await;
    let second = tokio::spawn(yunwei::monitor::run(ctx2));
    let status = Arc::new(AtomicU16::new(200));
    let port = http_target(status.clone()).await;
    let m = create_monitor(&app, json!({"name": "秒级", "kind": "http", "target": format!("http://127.0.0.1:{port}/"), "interval_s": 1})).await;
    let id = m["id"].as_i64().unwrap();
    // The replica that created it runs the engine (it took the lock first); the other
    // never probes, so results come at one per second, not two.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, rs) = app
        .get_json(
            &app.admin_token,
            &format!("/api/v1/monitors/{id}/results?limit=1000"),
        )
        .await;
    let n = rs["items"].as_array().unwrap().len();
    assert!((2..=7).contains(&n), "{n} results in 6 s");
    second.abort();
}

#[tokio::test]
async fn wrong_types_in_every_field_of_the_monitoring_endpoints_never_give_a_5xx() {
    let app = spawn_demo().await;
    let m = create_monitor(
        &app,
        json!({"name": "基准", "kind": "tcp", "target": "127.0.0.1:9"}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    let (_, integ) = app
        .post(
            &app.admin_token,
            "/api/v1/integrations",
            &json!({"kind": "events", "name": "模糊"}),
        )
        .await;
    let itoken = integ["token"].as_str().unwrap().to_string();
    let wrong = [
        json!(null),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"a": {"b": 1}}),
        json!(true),
        json!("9".repeat(400)),
        json!("含\u{0}零字节"),
    ];
    let targets: Vec<(reqwest::Method, String, Vec<&str>)> = vec![
        (
            reqwest::Method::POST,
            "/api/v1/monitors".into(),
            vec![
                "name",
                "kind",
                "target",
                "interval_s",
                "timeout_ms",
                "failures_before_down",
                "successes_before_up",
                "system_id",
                "asset_id",
                "depends_on",
                "priority",
                "paused",
                "auto_resolve",
                "config",
            ],
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/monitors/{id}"),
            vec![
                "name",
                "kind",
                "target",
                "interval_s",
                "timeout_ms",
                "depends_on",
                "priority",
                "paused",
                "config",
            ],
        ),
        (
            reqwest::Method::POST,
            "/api/v1/maintenance-windows".into(),
            vec![
                "monitor_id",
                "system_id",
                "reason",
                "owner",
                "starts_at",
                "ends_at",
                "recurrence",
            ],
        ),
        (
            reqwest::Method::POST,
            "/api/v1/integrations".into(),
            vec!["kind", "name", "system_id"],
        ),
        (
            reqwest::Method::POST,
            "/api/v1/duty-shifts".into(),
            vec!["user_id", "starts_at", "ends_at", "role", "note"],
        ),
        (
            reqwest::Method::POST,
            "/api/v1/alerts/1/silence".into(),
            vec!["minutes", "reason"],
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/integrations/events?token={itoken}"),
            vec!["event_action", "dedup_key", "payload"],
        ),
    ];
    let base = json!({"name": "x", "kind": "http", "target": "http://127.0.0.1:9/", "reason": "r", "starts_at": "2026-01-01T00:00:00Z",
                      "ends_at": "2026-01-02T00:00:00Z", "user_id": 1, "minutes": 5, "event_action": "trigger",
                      "payload": {"summary": "s", "source": "h", "severity": "info"}});
    for (method, path, fields) in &targets {
        for f in fields {
            for w in &wrong {
                let mut body = base.as_object().unwrap().clone();
                body.retain(|k, _| fields.contains(&k.as_str()));
                body.insert(f.to_string(), w.clone());
                let r = app
                    .client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&app.admin_token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    r.status().as_u16() < 500,
                    "{method} {path} {f}={w}: {}",
                    r.status()
                );
            }
        }
    }
    // Query strings too.
    for q in [
        "from=x&to=y",
        "from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
        "from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z",
        "days=maybe",
    ] {
        for p in [
            format!("/api/v1/monitors/{id}/availability?{q}"),
            format!("/api/v1/systems/1/availability?{q}"),
            format!("/api/v1/monitors/{id}/results?{q}"),
        ] {
            let (s, _) = app.get_json(&app.admin_token, &p).await;
            assert!(s.as_u16() < 500, "{p}: {s}");
        }
    }
    for p in [
        "/api/v1/monitors?state=nope",
        "/api/v1/monitors?kind=nope",
        "/api/v1/monitors?system_id=-3",
        "/api/v1/alerts?status=nope",
        "/api/v1/alerts?system_id=x",
        "/api/v1/monitors/99999999999999999999",
        "/api/v1/heartbeat/%00",
        "/api/v1/duty-shifts?from=x",
    ] {
        let (s, _) = app.get_json(&app.admin_token, p).await;
        assert!(s.as_u16() < 500, "{p}: {s}");
    }
}

#[tokio::test]
async fn a_shift_for_someone_who_cannot_be_on_duty_is_refused_with_every_problem_at_once() {
    let app = spawn_demo().await;
    let (requester, _) = app.user_with_role("baoxiu", "requester").await;
    let (engineer, _) = app.user_with_role("zhiban2", "engineer").await;
    let before = app.audit_count().await;
    let now = app.clock.now();
    let (s, v) = app
        .post(
            &app.admin_token,
            "/api/v1/duty-shifts",
            &json!({"user_id": requester, "starts_at": now.to_rfc3339(),
                   "ends_at": (now - Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = each(&v["error"]["details"])
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["user_id", "ends_at"], "{v}");
    let (s, v) = app
        .post(
            &app.admin_token,
            "/api/v1/duty-shifts",
            &json!({"user_id": engineer, "starts_at": "明天", "ends_at": "后天"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["details"].as_array().unwrap().len(), 2, "{v}");
    let (_, roster) = app.get_json(&app.admin_token, "/api/v1/duty-shifts").await;
    assert_eq!(roster["total"], 0);
    assert_eq!(app.audit_count().await, before);
}

/// The retention purge removes everything older than its bounds and nothing younger, in
/// batches of its own size: 23 old results in batches of 5 (four whole and a partial), 10
/// old hourly and daily rollups (two whole and an empty one).
#[tokio::test]
async fn the_retention_purge_removes_old_results_and_rollups_in_batches_and_keeps_the_rest() {
    let app = spawn_app().await;
    let m = create_monitor(
        &app,
        json!({"name": "门户", "kind": "tcp", "target": "127.0.0.1:9", "interval_s": 60}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    let (old, young) = (1_000_000_i64, 9_000_000_i64);
    let mut tx = app.ctx.store.write_tx().await.unwrap();
    for (at, n) in [(old, 23), (young, 3)] {
        for i in 0..n {
            sqlx::query(
                "INSERT INTO monitor_results (monitor_id, at, covers_ms, ok, class) VALUES ($1, $2, 60000, 1, 'ok')",
            )
            .bind(id)
            .bind(at + i)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    for (at, n) in [(old, 10), (young, 2)] {
        for i in 0..n {
            for table in [
                "monitor_rollups (monitor_id, hour,",
                "monitor_daily (monitor_id, day,",
            ] {
                let sql = format!(
                    "INSERT INTO {table} up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures) \
                     VALUES ($1, $2, 1, 0, 0, 0, 1, 0)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(at + i)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    let removed = app
        .ctx
        .store
        .purge_results_in_batches(young, young, 5)
        .await
        .unwrap();
    assert_eq!(removed, 23);
    for (q, want) in [
        ("SELECT COUNT(*) FROM monitor_results", 3),
        ("SELECT COUNT(*) FROM monitor_results WHERE at < 9000000", 0),
        ("SELECT COUNT(*) FROM monitor_rollups", 2),
        ("SELECT COUNT(*) FROM monitor_daily", 2),
        ("SELECT COUNT(*) FROM monitor_daily WHERE day < 9000000", 0),
    ] {
        let n: i64 = sqlx::query_scalar(q)
            .fetch_one(app.ctx.store.pool())
            .await
            .unwrap();
        assert_eq!(n, want, "{q}");
    }
}
