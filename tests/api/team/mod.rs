//! Team compliance and personnel changes: a change refused then approved with staffing
//! changing only on approval, compliance states flipping as a member's proof nears and
//! passes expiry, the manager's years rule, the purchaser's two-week manager replacement,
//! role checks, and bad input refused with nothing changed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

mod changes;
mod compliance;

pub(super) fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    yunwei::clock::beijing()
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) async fn app() -> TestApp {
    spawn_with(Options {
        start: Some(bj(2025, 3, 3, 9)),
        ..Options::default()
    })
    .await
}

pub(super) fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    f.sort();
    f
}

pub(super) async fn member(app: &TestApp, body: Value) -> i64 {
    app.post_expect(
        &app.admin_token,
        "/api/v1/staff",
        &body,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

pub(super) async fn check(app: &TestApp, t: &str, code: &str) -> Value {
    let v = app
        .get_json_expect(t, "/api/v1/contract/compliance", StatusCode::OK)
        .await;
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("no check {code}: {v}"))
}

pub(super) async fn slot_holder(app: &TestApp, slot: i64) -> Value {
    app.get_json_expect(
        &app.admin_token,
        &format!("/api/v1/assignments/{slot}"),
        StatusCode::OK,
    )
    .await["staff_id"]
        .clone()
}

/// Moves the clock and logs `user` in again (sessions time out when idle).
pub(super) async fn advance(app: &TestApp, days: i64, user: &str) -> String {
    app.clock.advance(Duration::days(days));
    app.login_ok(user, "Changed#Pass2").await
}

pub(super) async fn count_changes(app: &TestApp) -> i64 {
    app.total("/api/v1/personnel-changes").await
}

pub(super) const PDF: &[u8] = b"%PDF-1.4\n%test document\n";

pub(super) async fn upload(
    app: &TestApp,
    t: &str,
    staff: i64,
    kind: &str,
    from: &str,
    until: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        )
        .text("kind", kind.to_string())
        .text("valid_from", from.to_string())
        .text("valid_until", until.to_string());
    let r = app
        .client
        .post(app.url(&format!("/api/v1/staff/{staff}/documents")))
        .bearer_auth(t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Attaches a file to a personnel change.
pub(super) async fn attach(
    app: &TestApp,
    t: &str,
    change: i64,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
    );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/personnel-changes/{change}/files")))
        .bearer_auth(t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}
