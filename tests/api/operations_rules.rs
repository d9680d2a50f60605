//! The line page's charts, what a requester sees of the work records, the rate limit of
//! the public confirmation page, and the checks the consultation ticket's support record
//! goes through.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn line_id(app: &TestApp, code: &str) -> i64 {
    line_by_code(app, code).await["id"].as_i64().unwrap()
}

async fn support(app: &TestApp, token: &str, line: i64, requester: &str, when: &str) -> i64 {
    created_id(
        app,
        token,
        "/api/v1/work-records",
        &json!({"line_id": line, "type": "support", "requester": requester, "channel": "电话",
                "summary": "办件无法提交", "result": "已解决", "occurred_at": when}),
    )
    .await
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
    let r = rate_satisfied(&reqwest::Client::new(), &app, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let nov = november_stats(&app, &t, line).await;
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
    let months: Vec<&str> = each(&trend["months"])
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(
        (months[0], months[10], months[11]),
        ("2024-12", "2025-10", "2025-11")
    );
    let series = |code: &str| -> Vec<i64> {
        each(&trend["series"])
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

#[tokio::test]
async fn a_requester_sees_only_the_records_it_confirmed_while_signed_in() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let t = app.admin_token.clone();
    let (op, ot) = app.user_with_role("op", "operator").await;
    let (_, other_op) = app.user_with_role("op2", "operator").await;
    let (_, mt) = app.user_with_role("pm", "manager").await;
    let (_, at) = app.user_with_role("jianli", "auditor").await;
    let (citizen, ct) = app.user_with_role("citizen", "requester").await;
    let (_, c2t) = app.user_with_role("citizen2", "requester").await;
    let line = line_id(&app, "4.2.8").await;
    app.patch_expect(
        &t,
        &format!("/api/v1/service-lines/{line}"),
        &json!({"staff_ids": [op]}),
        StatusCode::OK,
    )
    .await;
    let mut ids = Vec::new();
    for who in ["citizen", "citizen2", "匿名用户"] {
        ids.push(support(&app, &ot, line, who, "2025-11-03 08:00").await);
    }
    let cookie1 = app.page_cookie("citizen", "Changed#Pass2").await;
    let cookie2 = app.page_cookie("citizen2", "Changed#Pass2").await;
    let anon = reqwest::Client::new();
    for (id, cookie) in [
        (ids[0], Some(&cookie1)),
        (ids[1], Some(&cookie2)),
        (ids[2], None),
    ] {
        let path = link(&app, id).await;
        let mut page = anon.get(app.url(&path));
        if let Some(c) = cookie {
            page = page.header(reqwest::header::COOKIE, c.as_str());
        }
        let html = page.send().await.unwrap().text().await.unwrap();
        let shown = match cookie {
            Some(c) if c == &cookie1 => "您已登录为 citizen：",
            Some(_) => "您已登录为 citizen2：",
            None => "未登录也可确认",
        };
        assert!(html.contains(shown), "{shown}: {html}");
        let mut req = anon.post(app.url(&path)).form(&[("rating", "满意")]);
        if let Some(c) = cookie {
            req = req.header(reqwest::header::COOKIE, c.as_str());
        }
        assert_eq!(req.send().await.unwrap().status(), StatusCode::OK);
    }
    let listed = |token: String| {
        let app = &app;
        async move {
            let v = app
                .get_json_expect(
                    &token,
                    &format!("/api/v1/work-records?line_id={line}&limit=100"),
                    StatusCode::OK,
                )
                .await;
            let mut ids: Vec<i64> = each(&v["items"])
                .map(|r| r["id"].as_i64().unwrap())
                .collect();
            ids.sort_unstable();
            assert_eq!(v["total"], ids.len(), "{v}");
            ids
        }
    };
    assert_eq!(listed(ct.clone()).await, vec![ids[0]]);
    assert_eq!(listed(c2t.clone()).await, vec![ids[1]]);
    // Other roles as before: the line's operator, the manager and 监理 all three; an
    // operator of other lines none.
    for token in [&ot, &mt, &at, &t] {
        assert_eq!(listed(token.clone()).await, ids);
    }
    assert!(listed(other_op.clone()).await.is_empty());
    // One record: their own, not another's.
    let own = work_record(&app, &ct, ids[0]).await;
    assert_eq!(own["rating"], "满意");
    for id in [ids[1], ids[2]] {
        app.get_json_expect(
            &ct,
            &format!("/api/v1/work-records/{id}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // The confirmation is audited as the signed-in requester.
    let audit = app
        .get_json_expect(
            &at,
            &format!(
                "/api/v1/audit-events?entity_type=work_records&entity_id={}",
                ids[0]
            ),
            StatusCode::OK,
        )
        .await;
    assert!(
        each(&audit["items"]).any(|e| e["action"] == "confirm" && e["actor_id"] == citizen),
        "{audit}"
    );
}

#[tokio::test]
async fn the_confirmation_page_answers_429_after_thirty_requests_a_minute_from_one_address() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let line = line_id(&app, "4.2.8").await;
    let id = support(&app, &app.admin_token, line, "陈处长", "2025-11-03 08:00").await;
    let path = link(&app, id).await;
    let anon = reqwest::Client::new();
    for i in 0..yunwei::gate::CONFIRM_PAGE_LIMIT {
        let url = if i % 2 == 0 {
            path.clone()
        } else {
            "/confirm/xyz".to_string()
        };
        let s = anon.get(app.url(&url)).send().await.unwrap().status();
        assert!(
            s == StatusCode::OK || s == StatusCode::NOT_FOUND,
            "{i}: {s}"
        );
    }
    let r = anon.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.text().await.unwrap().contains("请求过于频繁"));
    // A POST is refused too, and the record stays unconfirmed.
    let r = rate_satisfied(&anon, &app, &path).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key(reqwest::header::RETRY_AFTER));
    let rec = work_record(&app, &app.admin_token, id).await;
    assert_eq!(rec["rating"], Value::Null);
    // A minute later the page opens again and the confirmation goes through.
    app.clock
        .set(bj(2025, 11, 3, 9, 1) + chrono::Duration::seconds(1));
    let r = rate_satisfied(&anon, &app, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The line serving a system: of those listing it, the first by code.
async fn serving_line(app: &TestApp, system_id: i64) -> Value {
    let all = service_lines(app).await;
    let key = |c: &str| -> Vec<u64> { c.split('.').map(|p| p.parse().unwrap()).collect() };
    each(&all["items"])
        .filter(|l| each(&l["system_ids"]).any(|s| s.as_i64() == Some(system_id)))
        .min_by_key(|l| key(l["code"].as_str().unwrap()))
        .unwrap()
        .clone()
}

async fn ticket_records(app: &TestApp, ticket: i64) -> usize {
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/work-records?limit=200",
            StatusCode::OK,
        )
        .await;
    each(&v["items"])
        .filter(|r| r["ticket_id"] == ticket)
        .count()
}

#[tokio::test]
async fn a_consultation_ticket_makes_no_support_record_a_hand_entry_could_not_and_says_why() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let (op, ot) = app.user_with_role("op", "operator").await;
    let line = line_by_code(&app, "4.2.7").await;
    let sys = line["system_ids"][0].as_i64().unwrap();
    let serving = serving_line(&app, sys).await;
    let lid = serving["id"].as_i64().unwrap();
    let code = serving["code"].as_str().unwrap().to_string();
    let t = app.admin_token.clone();
    let consult = |title: &str| {
        json!({"kind": "request", "category": "咨询", "title": title, "system_id": sys,
               "requester_name": "陈科员"})
    };
    let resolve = |token: String, id: i64| {
        let app = &app;
        async move {
            for body in [
                json!({"action": "start"}),
                json!({"action": "resolve", "resolution": "在统计页面点击导出即可"}),
            ] {
                app.post_expect(
                    &token,
                    &format!("/api/v1/tickets/{id}/actions"),
                    &body,
                    StatusCode::OK,
                )
                .await;
            }
        }
    };
    let events = |id: i64| {
        let app = &app;
        let t = t.clone();
        async move {
            let v = app
                .get_json_expect(&t, &format!("/api/v1/tickets/{id}/events"), StatusCode::OK)
                .await;
            v["items"]
                .as_array()
                .or_else(|| v.as_array())
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "support_record_skipped")
                .map(|e| e["summary"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let open = |title: &'static str| {
        let app = &app;
        let t = t.clone();
        async move {
            let tk = app
                .post_expect(&t, "/api/v1/tickets", &consult(title), StatusCode::CREATED)
                .await;
            tk["id"].as_i64().unwrap()
        }
    };

    // 1. Resolved by an engineer, who may not write the line's records: none, and why.
    let a = open("如何导出办件统计").await;
    app.post_expect(
        &t,
        &format!("/api/v1/tickets/{a}/actions"),
        &json!({"action": "assign", "assignee_id": eng}),
        StatusCode::OK,
    )
    .await;
    resolve(et.clone(), a).await;
    assert_eq!(ticket_records(&app, a).await, 0);
    let notes = events(a).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(&format!("服务条线 {code}"))
            && notes[0].contains("不是该服务条线的运营人员"),
        "{notes:?}"
    );

    // 2. Resolved by an operator staffing the line: the record, no note.
    app.patch_expect(
        &t,
        &format!("/api/v1/service-lines/{lid}"),
        &json!({"staff_ids": [op]}),
        StatusCode::OK,
    )
    .await;
    let b = open("如何打印回执").await;
    app.post_expect(
        &t,
        &format!("/api/v1/tickets/{b}/actions"),
        &json!({"action": "assign", "assignee_id": op}),
        StatusCode::OK,
    )
    .await;
    resolve(ot.clone(), b).await;
    assert_eq!(ticket_records(&app, b).await, 1);
    assert!(events(b).await.is_empty());

    // 3. The line no longer keeps 技术支持 records: the admin's resolve writes none.
    let kept: Vec<Value> = each(&serving["record_types"])
        .map(|t| t["type"].clone())
        .filter(|t| t != "support")
        .collect();
    assert!(!kept.is_empty(), "{serving}");
    app.patch_expect(
        &t,
        &format!("/api/v1/service-lines/{lid}"),
        &json!({"record_types": kept}),
        StatusCode::OK,
    )
    .await;
    let c = open("证照如何下载").await;
    resolve(t.clone(), c).await;
    assert_eq!(ticket_records(&app, c).await, 0);
    let notes = events(c).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("不记录“技术支持”类型"), "{notes:?}");
}
