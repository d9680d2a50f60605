//! Team compliance and personnel changes: a change refused then approved with staffing
//! changing only on approval, compliance states flipping as a member's proof nears and
//! passes expiry, the manager's years rule, the purchaser's two-week manager replacement,
//! role checks, and bad input refused with nothing changed.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

mod changes;
mod compliance;

/// An hour in Beijing as UTC.
pub(super) fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    crate::helpers::bj(y, m, d, h, 0)
}

pub(super) async fn app() -> TestApp {
    spawn_with(Options {
        start: Some(bj(2025, 3, 3, 9)),
        ..Options::default()
    })
    .await
}

pub(super) async fn member(app: &TestApp, body: Value) -> i64 {
    created_id(app, &app.admin_token, "/api/v1/staff", &body).await
}

pub(super) async fn check(app: &TestApp, t: &str, code: &str) -> Value {
    let v = app
        .get_json_expect(t, "/api/v1/contract/compliance", StatusCode::OK)
        .await;
    each(&v["checks"])
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
    let form = file_form(name, bytes.to_vec())
        .text("kind", kind.to_string())
        .text("valid_from", from.to_string())
        .text("valid_until", until.to_string());
    app.post_multipart(t, &format!("/api/v1/staff/{staff}/documents"), form)
        .await
}

/// Attaches a file to a personnel change.
pub(super) async fn attach(
    app: &TestApp,
    t: &str,
    change: i64,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let form = file_form(name, bytes.to_vec());
    app.post_multipart(
        t,
        &format!("/api/v1/personnel-changes/{change}/files"),
        form,
    )
    .await
}
