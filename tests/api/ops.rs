//! Operations: health, readiness, metrics, OpenAPI coverage, configuration, shutdown.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_prometheus_metrics_by_route() {
    let app = spawn_app().await;
    assert_eq!(app.anon_get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.anon_get("/readyz").await.status(), StatusCode::OK);
    app.get(&app.admin_token, "/api/v1/assets").await;
    let r = app.get(&app.admin_token, "/metrics").await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE yunwei_http_request_duration_seconds histogram"));
    assert!(
        text.contains(
            r#"yunwei_http_requests_total{method="GET",route="/api/v1/{collection}",status="200"}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/auth/login""#));
    // SQLite's writer reports its group commits (the login above wrote through it).
    let sqlite = std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty());
    let commits = text
        .lines()
        .find_map(|l| l.strip_prefix("yunwei_sqlite_group_commits_total "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    if sqlite {
        assert!(commits.is_some_and(|n| n > 0), "{text}");
    } else {
        assert_eq!(commits, None, "PostgreSQL has no SQLite writer");
    }
}

fn fill(path: &str) -> String {
    path.replace("{collection}", "assets")
        .replace("{asset_id}", "2")
        .replace("{id}", "1")
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint_and_each_exists() {
    let app = spawn_demo().await;
    let doc = app
        .get_json_expect(&app.admin_token, "/api/v1/openapi.json", StatusCode::OK)
        .await;
    let paths = doc["paths"].as_object().unwrap();
    let mut ops: Vec<(String, String)> = Vec::new();
    for (p, item) in paths {
        for m in item.as_object().unwrap().keys() {
            ops.push((m.clone(), p.clone()));
        }
    }
    assert!(ops.len() >= 29, "{}", ops.len());
    // Destructive calls last, so reads see the demo data.
    ops.sort_by_key(|(m, _)| (m == "delete", m != "get"));
    for (m, p) in ops {
        let url = app.url(&format!("/api/v1{}", fill(&p)));
        let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        let token = app.login_ok("admin", ADMIN_PASSWORD).await;
        let r = app
            .client
            .request(method, &url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        // The route exists: no "no such route" answer and no method mismatch.
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
        assert!(status.as_u16() < 500, "{m} {p}: {status}");
        if status == StatusCode::NOT_FOUND {
            assert_ne!(
                v["error"]["code"], "no_route",
                "{m} {p} is documented but has no route"
            );
        }
    }
}

#[test]
fn an_unknown_database_scheme_fails_at_start_naming_the_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args([
            "serve",
            "--database",
            "mysql://localhost/x",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YUNWEI_DATABASE_URL"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}

#[test]
fn the_config_command_prints_the_effective_configuration_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("yunwei.toml");
    std::fs::write(
        &file,
        "log_level = \"debug\"\n[security]\nidle_timeout_minutes = 15\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["config", "--database", "postgres://u:supersecret@db/yunwei"])
        .env("YUNWEI_CONFIG", &file)
        .env("YUNWEI_ADMIN_PASSWORD", "Env#Secret123")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("idle_timeout_minutes = 15"), "{text}");
    assert!(text.contains("log_level = \"debug\""));
    assert!(
        !text.contains("supersecret") && !text.contains("Env#Secret123"),
        "{text}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[security]\nlockout_threshold = 0\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["config"])
        .env("YUNWEI_CONFIG", &bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lockout_threshold"));
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "listne = \"x\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["config"])
        .env("YUNWEI_CONFIG", &unknown)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listne"));
}

#[tokio::test]
async fn sigterm_shuts_the_server_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"));
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .env("YUNWEI_ADMIN_PASSWORD", ADMIN_PASSWORD)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    if let Some(url) = fresh_database().await {
        cmd.args(["--database", &url]);
    }
    let mut child = cmd.spawn().unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "server did not come up");
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut code = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            code = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let code = code.expect("server exited after SIGTERM");
    assert!(code.success(), "{code:?}");
}
