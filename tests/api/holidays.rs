//! Holiday arrangements for later years: import through the CLI, the API and the pages
//! into an existing database, confirmation when a year already has days, bad rows, the
//! shipped years added at start, and the December warning.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use yunwei::config::{Config, Secret};
use yunwei::{Application, Clock};

use crate::helpers::*;

const CSV_2027: &str = "date,working,reason\n2027-01-01,false,元旦\n2027-02-06,上班,春节调休上班\n2027-02-07,休息,春节\n2027-02-08,休息,春节\n";

async fn working_calendar(app: &TestApp) -> i64 {
    let v = app
        .get_json_expect(&app.admin_token, "/api/v1/calendars", StatusCode::OK)
        .await;
    each(&v["items"])
        .find(|c| c["kind"] == "working_hours")
        .and_then(|c| c["id"].as_i64())
        .expect("a working-hours calendar")
}

/// (working, reason) of one day as the API reports it.
async fn day(app: &TestApp, cal: i64, date: &str) -> (bool, String) {
    // Another process (the CLI) may have written: do not trust this process's cache.
    app.ctx.store.forget_calendars();
    let v = calendar_days(app, cal, date, date).await;
    let d = &v["items"][0];
    (
        d["working"].as_bool().unwrap(),
        d["reason"].as_str().unwrap().to_string(),
    )
}

async fn post_file(
    app: &TestApp,
    token: &str,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    app.post_raw(token, path, content_type, body).await
}

async fn calendar_audits(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'calendars' AND action = 'import'",
    )
    .fetch_one(app.ctx.store.pool())
    .await
    .unwrap()
}

/// Imports `body` (JSON rows) into calendar `cal` as the administrator, which must succeed.
async fn import_json(app: &TestApp, cal: i64, body: &Value) -> Value {
    let path = format!("/api/v1/calendars/{cal}/import");
    app.post_expect(&app.admin_token, &path, body, StatusCode::OK)
        .await
}

#[tokio::test]
async fn a_later_year_imported_with_the_cli_reaches_an_existing_database() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    // Before: 2027-01-01 is an ordinary Friday.
    assert_eq!(day(&app, cal, "2027-01-01").await, (true, "工作日".into()));
    let file = app.data_dir.join("holidays-2027.csv");
    std::fs::write(&file, CSV_2027).unwrap();
    let out = app.cli(&["calendar", "import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("+ 2027-01-01 放假 元旦"), "{stdout}");
    assert_eq!(day(&app, cal, "2027-01-01").await, (false, "元旦".into()));
    assert_eq!(
        day(&app, cal, "2027-02-06").await,
        (true, "春节调休上班".into())
    );
    assert_eq!(calendar_audits(&app).await, 1);

    // Changing a year that now has days needs --yes; without it nothing changes.
    std::fs::write(
        &file,
        "2027-01-01,false,元旦\n2027-02-06,false,春节\n2027-02-07,false,春节\n",
    )
    .unwrap();
    let out = app.cli(&["calendar", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("~ 2027-02-06 上班 春节调休上班 → 放假 春节"),
        "{stdout}"
    );
    assert!(stdout.contains("- 2027-02-08 放假 春节"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(
        day(&app, cal, "2027-02-06").await,
        (true, "春节调休上班".into())
    );
    let out = app.cli(&[
        "calendar",
        "import",
        "--dry-run",
        "--yes",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        day(&app, cal, "2027-02-06").await,
        (true, "春节调休上班".into())
    );
    let out = app.cli(&["calendar", "import", "--yes", file.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(day(&app, cal, "2027-02-06").await, (false, "春节".into()));
    assert_eq!(day(&app, cal, "2027-02-08").await, (true, "工作日".into()));

    // A bad row: non-zero exit naming row and column, nothing imported.
    std::fs::write(
        &file,
        "date,working,reason\n2027-03-01,false,x\n2027-13-01,false,y\n",
    )
    .unwrap();
    let out = app.cli(&["calendar", "import", "--yes", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("第 3 行“date”列"), "{stderr}");
    assert_eq!(day(&app, cal, "2027-03-01").await, (true, "工作日".into()));
    assert!(app.cli(&["audit", "verify"]).status.success());
}

#[tokio::test]
async fn the_api_previews_the_diff_refuses_without_confirmation_and_applies_with_it() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    let path = format!("/api/v1/calendars/{cal}/import");
    // 2026 is shipped: National Day moved by a day, 10-10 no longer a make-up day.
    let (_, shipped) = day(&app, cal, "2026-10-01").await;
    let mut csv = String::from("date,working,reason\n");
    for d in 1..=8 {
        csv.push_str(&format!("2026-10-{d:02},false,国庆节（更正）\n"));
    }
    let audits = calendar_audits(&app).await;

    let (s, v) = post_file(
        &app,
        &app.admin_token,
        &format!("{path}?dry_run=true"),
        "text/csv",
        csv.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applied"], false);
    assert_eq!(v["needs_confirmation"], true);
    assert_eq!(v["years"], json!([2026]));
    assert_eq!(v["counts"]["added"], 1, "{v}");
    assert_eq!(v["counts"]["changed"], 7, "{v}");
    assert!(v["counts"]["removed"].as_u64().unwrap() > 10, "{v}");
    assert!(each(&v["removed"]).any(|d| d["date"] == "2026-10-10"));
    let base = v["base"].as_str().unwrap().to_string();
    assert_eq!(day(&app, cal, "2026-10-01").await.1, shipped);

    let (s, v) = post_file(&app, &app.admin_token, &path, "text/csv", csv.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(error_code(&v), "confirmation_required");
    assert!(error_message(&v).contains("2026 年已有节假日安排"));
    assert_eq!(v["error"]["details"]["counts"]["changed"], 7);
    assert_eq!(day(&app, cal, "2026-10-01").await.1, shipped);
    assert_eq!(calendar_audits(&app).await, audits);

    let (s, v) = post_file(
        &app,
        &app.admin_token,
        &format!("{path}?confirm=true&base={base}"),
        "text/csv",
        csv.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applied"], true);
    assert_eq!(
        day(&app, cal, "2026-10-08").await,
        (false, "国庆节（更正）".into())
    );
    assert_eq!(day(&app, cal, "2026-10-10").await, (false, "周末".into()));
    // Other years are untouched.
    assert!(!day(&app, cal, "2025-10-01").await.0);
    assert_eq!(calendar_audits(&app).await, audits + 1);

    // A confirmation of a preview the calendar has moved on from is refused.
    let (s, v) = post_file(
        &app,
        &app.admin_token,
        &format!("{path}?confirm=true&base={base}"),
        "text/csv",
        "2026-12-31,false,x\n",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(error_code(&v), "conflict");
    assert_eq!(day(&app, cal, "2026-12-31").await, (true, "工作日".into()));
}

#[tokio::test]
async fn a_year_without_days_is_imported_from_json_without_confirmation() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    let body = json!([
        {"date": "2027-01-01", "working": false, "reason": "元旦"},
        {"date": "2027-02-06", "working": "上班", "reason": "春节调休上班"}
    ]);
    let v = import_json(&app, cal, &body).await;
    assert_eq!(v["applied"], true);
    assert_eq!(v["needs_confirmation"], false);
    assert_eq!(
        day(&app, cal, "2027-02-06").await,
        (true, "春节调休上班".into())
    );
    // The same file again changes nothing and needs no confirmation.
    let v = import_json(&app, cal, &body).await;
    assert_eq!(v["unchanged"], 2);
}

#[tokio::test]
async fn a_bad_row_is_refused_with_422_naming_row_and_column_and_nothing_changes() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    let audits = app.audit_count().await;
    let csv = "date,working,reason\n2027-01-01,false,元旦\n2027-02-30,也许,\n";
    let (s, v) = post_file(
        &app,
        &app.admin_token,
        &format!("/api/v1/calendars/{cal}/import?confirm=true"),
        "text/csv",
        csv,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_code(&v), "import_failed");
    assert!(error_message(&v).contains("未导入任何数据"));
    let errors = v["error"]["details"]["errors"].as_array().unwrap();
    let at: Vec<(i64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(at, vec![(3, "date"), (3, "working"), (3, "reason")]);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("不是有效日期")
    );
    assert_eq!(day(&app, cal, "2027-01-01").await, (true, "工作日".into()));
    assert_eq!(app.audit_count().await, audits);

    // JSON rows are named by element and key.
    let v = app.post_expect(&app.admin_token,
            &format!("/api/v1/calendars/{cal}/import"),
            &json!([{"date": "2027-01-01", "working": false, "reason": "元旦"}, {"date": "2027-01-02", "working": 3, "reason": "x"}]), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(v["error"]["details"]["errors"][0]["row"], 2);
    assert_eq!(v["error"]["details"]["errors"][0]["column"], "working");

    // Over the size bound: 413, nothing read.
    let big = "2027-01-01,false,元旦\n".repeat(20_000);
    let (s, v) = post_file(
        &app,
        &app.admin_token,
        &format!("/api/v1/calendars/{cal}/import"),
        "text/csv",
        big,
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    // A 7×24 calendar has no holidays.
    let (s, _) = post_file(
        &app,
        &app.admin_token,
        "/api/v1/calendars/1/import",
        "text/csv",
        CSV_2027,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(day(&app, cal, "2027-01-01").await, (true, "工作日".into()));
}

#[tokio::test]
async fn only_managers_and_admins_import_holidays() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    let path = format!("/api/v1/calendars/{cal}/import");
    for role in ["engineer", "supervisor", "auditor", "operator"] {
        let (_, t) = app.user_with_role(&format!("u.{role}"), role).await;
        let (s, _) = post_file(&app, &t, &path, "text/csv", CSV_2027).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
    }
    let (_, t) = app.user_with_role("u.manager", "manager").await;
    let (s, v) = post_file(&app, &t, &path, "text/csv", CSV_2027).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn beijing(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn from_the_first_of_december_the_calendar_and_desk_pages_warn_that_next_year_is_missing() {
    let app = spawn_with(Options {
        start: Some(beijing("2026-11-30T23:59:00+08:00")),
        ..Options::default()
    })
    .await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let warning = "2027 年的节假日安排尚未导入";
    for path in ["/calendars", "/desk"] {
        let (s, html) = app.page(&cookie, path).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!html.contains(warning), "{path} warns in November");
    }
    app.clock.set(beijing("2026-12-01T00:00:30+08:00"));
    for path in ["/calendars", "/desk"] {
        let (s, html) = app.page(&cookie, path).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(warning), "{path} does not warn in December");
        assert!(html.contains("id=\"holiday-warning\""));
    }
    let (_, v) = app.get_json(&app.admin_token, "/api/v1/calendars").await;
    assert!(v["warning"].as_str().unwrap().contains(warning), "{v}");

    // Once 2027 is loaded the warning goes.
    let cal = working_calendar(&app).await;
    let (s, _) = post_file(
        &app,
        &app.admin_token,
        &format!("/api/v1/calendars/{cal}/import"),
        "text/csv",
        CSV_2027,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for path in ["/calendars", "/desk"] {
        let (_, html) = app.page(&cookie, path).await;
        assert!(!html.contains(warning), "{path} still warns");
    }
    let (_, v) = app.get_json(&app.admin_token, "/api/v1/calendars").await;
    assert_eq!(v["warning"], Value::Null);
    let item = each(&v["items"]).find(|c| c["id"] == cal).unwrap().clone();
    assert_eq!(item["years"], json!([2024, 2025, 2026, 2027]));
}

#[tokio::test]
async fn the_calendar_page_uploads_previews_the_diff_and_imports_only_on_confirmation() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, html) = app.page(&cookie, &format!("/calendars/{cal}")).await;
    assert!(html.contains("导入节假日安排") && html.contains("enctype=\"multipart/form-data\""));

    // 2026 already has days: the preview shows changes and removals.
    let csv = "date,working,reason\n2026-01-01,false,元旦\n2026-01-02,false,元旦\n2026-01-05,false,补假\n";
    let form = file_form("2026.csv", csv.as_bytes().to_vec());
    let r = app
        .post_multipart_page(&cookie, &format!("/calendars/{cal}/import"), form)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"diff-added\"") && html.contains("2026-01-05"),
        "{html}"
    );
    assert!(html.contains("id=\"diff-removed\"") && html.contains("2026-10-07"));
    assert!(html.contains("需要您确认"));
    assert!(html.contains("id=\"import-confirm\""));
    assert!(!day(&app, cal, "2026-01-05").await.1.contains("补假"));

    // Confirm with the hidden fields of the preview.
    let field = |name: &str| -> String {
        let key = format!("name=\"{name}\" value=\"");
        let start = html.find(&key).unwrap() + key.len();
        let end = start + html[start..].find('"').unwrap();
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let (rows, base) = (field("rows"), field("base"));
    let r = app
        .page_post(
            &cookie,
            &format!("/calendars/{cal}/import/confirm"),
            &[
                ("rows", rows.as_str()),
                ("base", base.as_str()),
                ("file_name", "2026.csv"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        to.starts_with(&format!("/calendars/{cal}?year=2026")),
        "{to}"
    );
    assert_eq!(day(&app, cal, "2026-01-05").await, (false, "补假".into()));
    assert_eq!(day(&app, cal, "2026-10-07").await, (true, "工作日".into()));
    let (_, html) = app.page(&cookie, &to).await;
    assert!(html.contains("已导入节假日安排"), "{html}");

    // A bad file shows the rows to fix and imports nothing.
    let form = file_form("bad.csv", b"2027-01-01,maybe,x\n".to_vec());
    let r = app
        .post_multipart_page(&cookie, &format!("/calendars/{cal}/import"), form)
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"import-errors\"") && html.contains("第 1 行"),
        "{html}"
    );
    assert_eq!(day(&app, cal, "2027-01-01").await, (true, "工作日".into()));
}

#[tokio::test]
async fn shipped_years_a_database_lacks_are_added_at_start_without_touching_edits() {
    let app = spawn_app().await;
    let cal = working_calendar(&app).await;
    // A database made by a release that knew only 2024 and 2025, with an edit in 2025.
    sqlx::query("DELETE FROM calendar_days WHERE day >= '2026-01-01'")
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
    let (s, v) = app
        .send_json(
            "PUT",
            &app.admin_token,
            &format!("/api/v1/calendars/{cal}/days/2025-10-08"),
            &json!({"working": true, "reason": "本单位值班"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(day(&app, cal, "2026-02-16").await, (true, "工作日".into()));

    // Start this release on it.
    let config = Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(Secret(app.database_url.clone())),
        admin_password: Some(Secret(ADMIN_PASSWORD.into())),
        database_max_connections: 2,
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let restarted = Application::build(config, listener, Clock::manual(Utc::now()))
        .await
        .unwrap();
    drop(restarted);

    let (off, reason) = day(&app, cal, "2026-02-16").await;
    assert!(!off && reason.contains("春节"), "{reason}");
    assert_eq!(
        day(&app, cal, "2025-10-08").await,
        (true, "本单位值班".into())
    );
    let summary: String = sqlx::query_scalar(
        "SELECT summary FROM audit_events WHERE entity_type = 'calendars' AND action = 'import' AND actor_name = 'system:holidays'",
    )
    .fetch_one(app.ctx.store.pool())
    .await
    .unwrap();
    assert!(summary.contains("2026"), "{summary}");
}
