//! Admin recovery: `yunwei user reset-password` and the warning for an ignored
//! `YUNWEI_ADMIN_PASSWORD`, run as the real binary against the test app's database.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn one_time_password(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("一次性密码："))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
}

#[tokio::test]
async fn a_cli_password_reset_prints_a_one_time_password_that_must_be_changed_at_login() {
    let app = spawn_app().await;
    let (id, old_token) = app.user_with_role("zhang.san", "engineer").await;
    // Locked out by wrong passwords.
    for _ in 0..5 {
        app.login("zhang.san", "Wrong#Passw0rd").await;
    }
    assert_eq!(
        app.login("zhang.san", "Changed#Pass2").await.status(),
        StatusCode::LOCKED
    );

    let out = app.cli(&["user", "reset-password", "zhang.san"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = one_time_password(&stdout);
    assert!(password.len() >= 16, "{password}");

    // The old session is gone (the credential cache lives two seconds of clock time).
    app.clock.advance(chrono::Duration::seconds(3));
    app.get_json_expect(&old_token, "/api/v1/me", StatusCode::UNAUTHORIZED)
        .await;

    // The lockout is cleared, and the password must be changed before anything else.
    let r = app.login("zhang.san", &password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_change_password"], true, "{v}");
    let token = v["token"].as_str().unwrap();
    app.get_json_expect(token, "/api/v1/tickets", StatusCode::FORBIDDEN)
        .await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .bearer_auth(token)
        .json(&json!({"current_password": password, "new_password": "Brand#New2pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Audited with the command line as the actor, and the chain still verifies.
    let (actor, action): (String, String) = sqlx::query_as(
        "SELECT actor_name, action FROM audit_events WHERE entity_type = 'users' AND entity_id = $1 AND action = 'password_reset'",
    )
    .bind(id.to_string())
    .fetch_one(app.ctx.store.pool())
    .await
    .unwrap();
    assert!(actor.starts_with("cli:"), "{actor}");
    assert_eq!(action, "password_reset");
    assert!(app.cli(&["audit", "verify"]).status.success());
}

#[tokio::test]
async fn the_first_admin_can_be_recovered_from_the_cli() {
    let app = spawn_app().await;
    let out = app.cli(&["user", "reset-password", "admin"]);
    assert!(out.status.success());
    let password = one_time_password(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        app.login("admin", ADMIN_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app.login("admin", &password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_change_password"], true);
}

#[tokio::test]
async fn resetting_an_unknown_user_exits_non_zero_and_says_so() {
    let app = spawn_app().await;
    let before = app.audit_count().await;
    let out = app.cli(&["user", "reset-password", "nobody"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("用户“nobody”不存在"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn an_admin_password_given_to_a_database_that_has_its_admin_is_reported_as_ignored() {
    let app = spawn_app().await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(&app.database_url)
        .arg("--data-dir")
        .arg(&app.data_dir)
        .env("YUNWEI_ADMIN_PASSWORD", "Another#Passw0rd")
        .env("YUNWEI_MONITORING_ENABLED", "false")
        .env("YUNWEI_LOG_FORMAT", "human")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut warned = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                warned |= line.contains("WARN")
                    && line.contains("YUNWEI_ADMIN_PASSWORD")
                    && line.contains("ignored");
                let listening = line.contains("yunwei listening");
                seen.push(line);
                if warned || listening {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned, "no warning in:\n{}", seen.join("\n"));
    // The existing password still works; the variable changed nothing.
    assert_eq!(
        app.login("admin", ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}
