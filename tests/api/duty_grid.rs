//! The duty roster: shifts created, a week copied to the next, two shifts swapped, who is
//! on call now — through the API and the page's forms, managers editing and everyone
//! else reading — and the week and month grids driven in Chromium.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Driver;
use crate::helpers::*;

const PW: &str = "Changed#Pass2";

/// Wednesday 2026-03-04 10:00 in Beijing; the week runs from Monday 2026-03-02.
fn start() -> chrono::DateTime<chrono::Utc> {
    bj(2026, 3, 4, 10, 0)
}

async fn app_at_wednesday() -> TestApp {
    spawn_with(Options {
        admin_password: Some(ADMIN_PASSWORD),
        start: Some(start()),
        ..Options::default()
    })
    .await
}

async fn shift(
    app: &TestApp,
    token: &str,
    user: i64,
    from: &str,
    to: &str,
    role: &str,
) -> (StatusCode, Value) {
    app.post(
        token,
        "/api/v1/duty-shifts",
        &json!({"user_id": user, "starts_at": from, "ends_at": to, "role": role}),
    )
    .await
}

/// Puts `wang` on call as primary from Wednesday 4 March 2026, 08:00, for a day, as the
/// manager `pm`, which must succeed.
async fn wangs_wednesday(app: &TestApp, pm: &str, wang: i64) {
    let (from, to) = ("2026-03-04T08:00:00+08:00", "2026-03-05T08:00:00+08:00");
    let (s, v) = shift(app, pm, wang, from, to, "primary").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn post_page(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let (s, loc, _) = post_form(app, cookie, path, form).await;
    (s, loc)
}

fn decoded(loc: &str) -> String {
    percent_encoding::percent_decode_str(loc)
        .decode_utf8_lossy()
        .to_string()
}

#[tokio::test]
async fn managers_create_copy_and_swap_shifts_and_everyone_sees_who_is_on_call() {
    let app = app_at_wednesday().await;
    let (_, pm) = app.user_with_role("pm", "manager").await;
    let (wang, eng) = app.user_with_role("wang", "engineer").await;
    let (li, _) = app.user_with_role("li", "engineer").await;
    let (_, aud) = app.user_with_role("jianli", "auditor").await;

    // Wednesday's day and night primaries, and a backup for the day.
    let mut created = Vec::new();
    for (who, from, until, role) in [
        (
            wang,
            "2026-03-04T08:00:00+08:00",
            "2026-03-04T20:00:00+08:00",
            "primary",
        ),
        (
            li,
            "2026-03-04T20:00:00+08:00",
            "2026-03-05T08:00:00+08:00",
            "primary",
        ),
        (
            li,
            "2026-03-04T08:00:00+08:00",
            "2026-03-04T20:00:00+08:00",
            "backup",
        ),
    ] {
        let (s, v) = shift(&app, &pm, who, from, until, role).await;
        assert_eq!(s, StatusCode::CREATED, "{role} from {from}: {v}");
        created.push(v);
    }
    let [day, night, backup]: [Value; 3] = created.try_into().unwrap();
    // An engineer and the 监理 read, never write.
    let (s, _) = shift(
        &app,
        &eng,
        wang,
        "2026-03-06T08:00:00+08:00",
        "2026-03-06T20:00:00+08:00",
        "primary",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, roster) = app.get_json(&aud, "/api/v1/duty-shifts").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        roster["on_call_now"],
        json!([wang, li]),
        "primary first: {roster}"
    );

    // Copy the week (any day of it names it) to the next one.
    let before = app.audit_count().await;
    let (s, v) = app
        .post(
            &eng,
            "/api/v1/duty-shifts/copy-week",
            &json!({"week": "2026-03-05"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app
        .post(
            &pm,
            "/api/v1/duty-shifts/copy-week",
            &json!({"week": "2026-03-05"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["from_week"], "2026-03-02");
    assert_eq!(v["to_week"], "2026-03-09");
    assert_eq!(v["created"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["skipped"], 0);
    assert_eq!(app.audit_count().await, before + 1);
    let (_, next) = app
        .get_json(
            &aud,
            "/api/v1/duty-shifts?from=2026-03-09T00:00:00%2B08:00&to=2026-03-16T00:00:00%2B08:00",
        )
        .await;
    let starts: Vec<&str> = each(&next["items"])
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        vec![
            "2026-03-11T00:00:00Z",
            "2026-03-11T00:00:00Z",
            "2026-03-11T12:00:00Z"
        ],
        "{next}"
    );
    // Copying again adds nothing; a week without shifts and a bad date are refused.
    let (s, v) = app
        .post(
            &pm,
            "/api/v1/duty-shifts/copy-week",
            &json!({"week": "2026-03-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["created"].as_array().unwrap().len(),
            v["skipped"].as_i64()
        ),
        (0, Some(3))
    );
    let e = app
        .post_expect(
            &pm,
            "/api/v1/duty-shifts/copy-week",
            &json!({"week": "2026-05-04"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(e.to_string().contains("没有排班"), "{e}");
    let e = app
        .post_expect(
            &pm,
            "/api/v1/duty-shifts/copy-week",
            &json!({"week": "2026-13-01", "weeks_ahead": 9}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(
        e.to_string().contains("不是日期") && e.to_string().contains("weeks_ahead"),
        "{e}"
    );

    // Swap the day shift of wang with the night shift of li.
    let (d_id, n_id, b_id) = (
        day["id"].as_i64().unwrap(),
        night["id"].as_i64().unwrap(),
        backup["id"].as_i64().unwrap(),
    );
    let (s, _) = app
        .post(
            &eng,
            "/api/v1/duty-shifts/swap",
            &json!({"first": d_id, "second": n_id}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let before = app.audit_count().await;
    let (s, v) = app
        .post(
            &pm,
            "/api/v1/duty-shifts/swap",
            &json!({"first": d_id, "second": n_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["user_id"], li, "{v}");
    assert_eq!(v["items"][1]["user_id"], wang, "{v}");
    assert_eq!(app.audit_count().await, before + 1);
    let (_, roster) = app.get_json(&aud, "/api/v1/duty-shifts").await;
    assert_eq!(roster["on_call_now"], json!([li, li]), "{roster}");
    // Now both day shifts are li's: swapping them changes nothing and is refused, as is
    // a shift that does not exist.
    let e = app
        .post_expect(
            &pm,
            "/api/v1/duty-shifts/swap",
            &json!({"first": d_id, "second": b_id}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(e.to_string().contains("同一人"), "{e}");
    let e = app
        .post_expect(
            &pm,
            "/api/v1/duty-shifts/swap",
            &json!({"first": d_id, "second": 999_999}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(e.to_string().contains("不存在"), "{e}");
    let e = app
        .post_expect(
            &pm,
            "/api/v1/duty-shifts/swap",
            &json!({"first": d_id, "second": n_id, "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(e.to_string().contains("extra"), "{e}");

    // Both routes are documented.
    let (_, doc) = app.get_json(&aud, "/api/v1/openapi.json").await;
    assert!(
        doc["paths"]["/api/v1/duty-shifts/copy-week"]["post"].is_object()
            || doc["paths"]["/duty-shifts/copy-week"]["post"].is_object(),
        "copy-week documented"
    );
    assert!(
        doc["paths"]["/api/v1/duty-shifts/swap"]["post"].is_object()
            || doc["paths"]["/duty-shifts/swap"]["post"].is_object(),
        "swap documented"
    );
}

#[tokio::test]
async fn the_duty_page_shows_the_grids_and_managers_edit_through_its_forms() {
    let app = app_at_wednesday().await;
    let (_, pm) = app.user_with_role("pm", "manager").await;
    let (wang, _) = app.user_with_role("wang", "engineer").await;
    let (li, _) = app.user_with_role("li", "engineer").await;
    let pmc = app.page_cookie("pm", PW).await;
    let engc = app.page_cookie("wang", PW).await;
    wangs_wednesday(&app, &pm, wang).await;

    let (s, html) = app.page(&pmc, "/duty").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"week-grid\"") && html.contains("2026-03-02 至 2026-03-08"),
        "{html}"
    );
    assert!(
        html.contains("<b>wang</b>（主班，03-04 08:00 至 03-05 08:00）"),
        "on call now: {html}"
    );
    assert!(html.contains("08:00–次日 08:00 主班"), "{html}");
    assert!(
        html.contains("id=\"new-shift\"") && html.contains("id=\"swap-shifts\""),
        "{html}"
    );

    // A cell's link fills the add form (without JavaScript too).
    let (_, html) = app
        .page(
            &pmc,
            &format!("/duty?view=week&date=2026-03-04&new_day=2026-03-06&new_user={li}"),
        )
        .await;
    assert!(
        html.contains("value=\"2026-03-06T08:00\"") && html.contains("value=\"2026-03-07T08:00\""),
        "{html}"
    );

    let li_s = li.to_string();
    let (s, loc) = post_page(
        &app,
        &pmc,
        "/duty/shifts",
        &[
            ("user_id", &li_s),
            ("starts_at", "2026-03-06T08:00"),
            ("ends_at", "2026-03-07T08:00"),
            ("role", "primary"),
            ("view", "week"),
            ("date", "2026-03-04"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(decoded(&loc).contains("notice=已排班"), "{loc}");
    let (s, loc) = post_page(
        &app,
        &pmc,
        "/duty/shifts",
        &[
            ("user_id", &li_s),
            ("starts_at", "2026-03-07T08:00"),
            ("ends_at", "2026-03-06T08:00"),
            ("view", "week"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(decoded(&loc).contains("error=结束应晚于开始"), "{loc}");
    let (s, loc) = post_page(
        &app,
        &pmc,
        "/duty/copy",
        &[
            ("week", "2026-03-04"),
            ("weeks_ahead", "1"),
            ("view", "week"),
            ("date", "2026-03-04"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        decoded(&loc).contains("2 个班次复制到 2026-03-09"),
        "{}",
        decoded(&loc)
    );

    let (_, roster) = app.get_json(&pm, "/api/v1/duty-shifts").await;
    let ids: Vec<i64> = each(&roster["items"])
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    let (s, loc) = post_page(
        &app,
        &pmc,
        "/duty/swap",
        &[
            ("first", &a),
            ("second", &b),
            ("view", "month"),
            ("date", "2026-03-04"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        decoded(&loc).contains("view=month") && decoded(&loc).contains("notice=已互换"),
        "{loc}"
    );

    let (_, html) = app.page(&pmc, "/duty?view=month&date=2026-03-04").await;
    assert!(
        html.contains("id=\"month-grid\"") && html.contains("2026 年 3 月"),
        "{html}"
    );
    assert_eq!(html.matches("class=\"shift ").count(), 4, "{html}");

    // An engineer reads the roster but gets no forms, and a posted form is refused.
    let (s, html) = app.page(&engc, "/duty").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"week-grid\"") && !html.contains("id=\"new-shift\""),
        "{html}"
    );
    let (s, _) = post_page(&app, &engc, "/duty/copy", &[("week", "2026-03-04")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_manager_fills_the_duty_grid_in_the_browser() {
    let app = app_at_wednesday().await;
    let (_, pm) = app.user_with_role("pm", "manager").await;
    let (wang, _) = app.user_with_role("wang", "engineer").await;
    let (li, _) = app.user_with_role("li", "engineer").await;
    wangs_wednesday(&app, &pm, wang).await;
    let Some(d) = Driver::start().await else {
        return;
    };
    d.sign_in(&app.base, "pm", PW).await;
    d.goto(&app.url("/duty")).await;
    d.wait_text("#on-call", "wang").await;
    // A click in li's Thursday cell fills the form; saving puts the shift in the grid.
    d.click(&format!(
        "#week-grid tr[data-user='{li}'] td[data-date='2026-03-05'] a.add-cell"
    ))
    .await;
    let v = d
        .exec("return [document.getElementById('shift-user').value, document.getElementById('shift-start').value, document.getElementById('shift-end').value];")
        .await;
    assert_eq!(
        v,
        json!([li.to_string(), "2026-03-05T08:00", "2026-03-06T08:00"])
    );
    d.click("#add-shift").await;
    d.wait_text("#duty-notice", "已排班").await;
    d.wait_text(
        &format!("#week-grid tr[data-user='{li}']"),
        "08:00–次日 08:00",
    )
    .await;
    // Copy the week, then pick two shifts in the grid for a swap.
    d.click("#copy-week-button").await;
    d.wait_text("#duty-notice", "复制到 2026-03-09").await;
    d.click(&format!("#week-grid tr[data-user='{wang}'] .shift"))
        .await;
    d.click(&format!("#week-grid tr[data-user='{li}'] .shift"))
        .await;
    let v = d
        .exec("return [document.getElementById('swap-first').value !== '', document.getElementById('swap-second').value !== ''];")
        .await;
    assert_eq!(v, json!([true, true]));
    d.screenshot("duty-grid").await;
    d.click("#swap-button").await;
    d.wait_text("#duty-notice", "已互换").await;
    d.wait_text("#on-call", "li").await;
    d.click("#view-month").await;
    d.wait_text("#duty-heading", "2026 年 3 月").await;
    d.screenshot("duty-month").await;
    d.assert_no_csp_violations("on the duty roster").await;
    d.quit().await;
}
