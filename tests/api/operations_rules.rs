//! The line page's charts, what a requester sees of the work records, the rate limit of
//! the public confirmation page, and the checks the consultation ticket's support record
//! goes through.

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn bj(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    yunwei::clock::beijing()
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn demo_at(start: DateTime<Utc>) -> TestApp {
    spawn_with(Options {
        demo: true,
        start: Some(start),
        ..Options::default()
    })
    .await
}

async fn line_id(app: &TestApp, code: &str) -> i64 {
    let all = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/service-lines?limit=100",
            StatusCode::OK,
        )
        .await;
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == code)
        .unwrap_or_else(|| panic!("no line {code}"))["id"]
        .as_i64()
        .unwrap()
}

async fn support(app: &TestApp, token: &str, line: i64, requester: &str, when: &str) -> i64 {
    app.post_expect(
        token,
        "/api/v1/work-records",
        &json!({"line_id": line, "type": "support", "requester": requester, "channel": "电话",
                "summary": "办件无法提交", "result": "已解决", "occurred_at": when}),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// The confirmation page's path of record `id`.
async fn link(app: &TestApp, id: i64) -> String {
    app.post_expect(
        &app.admin_token,
        &format!("/api/v1/work-records/{id}/confirmation"),
        &json!({}),
        StatusCode::CREATED,
    )
    .await["path"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The JSON of attribute `attr` of the element `id` in `html` (written by `tojson` inside
/// single quotes).
fn data_attr(html: &str, id: &str, attr: &str) -> Value {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}='")).unwrap() + attr.len() + 2;
    let end = rest[start..].find('\'').unwrap();
    serde_json::from_str(&rest[start..start + end]).unwrap()
}

#[tokio::test]
async fn the_line_page_charts_twelve_months_of_records_by_type_and_satisfaction() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let t = app.admin_token.clone();
    let line = line_id(&app, "4.2.7").await;
    support(&app, &t, line, "王科长", "2025-10-08 09:00").await;
    let a = support(&app, &t, line, "李工", "2025-11-03 09:00").await;
    support(&app, &t, line, "赵主任", "2025-11-04 09:00").await;
    app.post_expect(
        &t,
        "/api/v1/work-records",
        &json!({"line_id": line, "type": "reconciliation", "summary": "十月办件对账",
                "occurred_at": "2025-11-06 09:00",
                "data": {"object": "办件过程数据", "matched": 10, "mismatched": 0}}),
        StatusCode::CREATED,
    )
    .await;
    let path = link(&app, a).await;
    let r = reqwest::Client::new()
        .post(app.url(&path))
        .form(&[("rating", "满意")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let nov = app
        .get_json_expect(
            &t,
            &format!("/api/v1/service-lines/{line}/stats?from=2025-11-01&to=2025-11-30"),
            StatusCode::OK,
        )
        .await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (status, html) = app
        .page(&cookie, &format!("/operations/lines/{line}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("/static/echarts.min.") && html.contains("/static/charts."),
        "{html}"
    );
    let trend = data_attr(&html, "line-records-chart", "data-trend");
    assert_eq!(
        trend,
        data_attr(&html, "line-satisfaction-chart", "data-trend")
    );
    let months: Vec<&str> = trend["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(
        (months[0], months[10], months[11]),
        ("2024-12", "2025-10", "2025-11")
    );
    let series = |code: &str| -> Vec<i64> {
        trend["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == code)
            .unwrap_or_else(|| panic!("no {code} in {trend}"))["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_i64().unwrap())
            .collect()
    };
    let sup = series("support");
    assert_eq!((sup[10], sup[11]), (1, nov["support"].as_i64().unwrap()));
    assert_eq!(sup[..10].iter().sum::<i64>(), 0);
    assert_eq!(series("reconciliation")[11], 1);
    assert_eq!(trend["series"].as_array().unwrap().len(), 2, "{trend}");
    assert_eq!(trend["satisfaction"][11], nov["satisfaction"]);
    assert_eq!(trend["satisfaction"][11], 100.0);
    assert_eq!(trend["satisfaction"][10], Value::Null);
    // The table under the charts says the same.
    assert!(
        html.contains("<td>2025-11</td><td>3</td><td>1</td><td>100.0%</td>"),
        "{html}"
    );
}
