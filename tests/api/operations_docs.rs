//! The service lines' documents (《技术支持服务表》 DOCX and XLSX, 《运营月报》 DOCX) with the
//! figures of `/service-lines/{id}/stats`, the monthly job's 运营月报, and the consultation
//! ticket that becomes one 技术支持 record when it is resolved.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn lines(app: &TestApp) -> Vec<Value> {
    service_lines(app).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Adds the work record `body` to `line` as the administrator, which must succeed.
async fn add_record(app: &TestApp, line: i64, mut body: Value) {
    body["line_id"] = json!(line);
    app.post_expect(
        &app.admin_token,
        "/api/v1/work-records",
        &body,
        StatusCode::CREATED,
    )
    .await;
}

/// A licence record of `line` on 20 October 2025: 42 排污许可证 issued.
async fn october_licences(app: &TestApp, line: i64) {
    let body = json!({"type": "licence", "summary": "证照签发", "occurred_at": "2025-10-20 09:00",
                      "data": {"licence_type": "排污许可证", "issued": 42}});
    add_record(app, line, body).await;
}

/// Four support records (two resolved of three timed … see the counts below) and one
/// reconciliation on line 4.2.7 in November 2025.
async fn november_records(app: &TestApp, line_id: i64, system_id: &Value) {
    for body in [
        json!({"type": "support", "requester": "王科长", "organisation": "广州市生态环境局",
               "org_level": "地市", "channel": "电话", "summary": "办件无法提交",
               "answer": "清除缓存后重试", "result": "已解决", "duration_minutes": 20,
               "occurred_at": "2025-11-03 08:30", "system_id": system_id}),
        json!({"type": "support", "requester": "李工", "channel": "企业微信", "summary": "办件无法提交",
               "answer": "指导重新登录", "result": "已解决", "duration_minutes": 45,
               "occurred_at": "2025-11-04 10:00"}),
        json!({"type": "support", "requester": "企业用户", "org_level": "企业", "channel": "邮件",
               "summary": "证照查询", "result": "待跟进", "occurred_at": "2025-11-05 14:00"}),
        json!({"type": "reconciliation", "summary": "十月办件对账", "occurred_at": "2025-11-06 09:00",
               "data": {"object": "办件过程数据", "matched": 1200, "mismatched": 3}}),
        // October: outside the period.
        json!({"type": "support", "requester": "赵主任", "channel": "电话", "summary": "上月问题",
               "result": "已解决", "duration_minutes": 5, "occurred_at": "2025-10-30 09:00"}),
    ] {
        add_record(app, line_id, body).await;
    }
}

async fn file(app: &TestApp, token: &str, r: &Value) -> Vec<u8> {
    let resp = app.get(token, r["file_url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = resp.bytes().await.unwrap().to_vec();
    assert!(b.starts_with(b"PK"));
    b
}

fn pct(v: &Value) -> String {
    format!("{}%", v.as_f64().unwrap())
}

#[tokio::test]
async fn the_support_table_and_the_monthly_report_carry_the_lines_stats() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let t = &app.admin_token;
    let l7 = line_by_code(&app, "4.2.7").await;
    let id7 = l7["id"].as_i64().unwrap();
    let name = l7["name"].as_str().unwrap().to_string();
    november_records(&app, id7, &l7["system_ids"][0]).await;
    let s = november_stats(&app, t, id7).await;
    // Hand counts: 4 records, 3 support, 2 resolved (66.7%), durations 20 and 45.
    assert_eq!(
        (s["total"].clone(), s["support"].clone()),
        (json!(4), json!(3))
    );
    assert_eq!(s["resolution_rate"], 66.7, "{s}");
    assert_eq!(s["average_minutes"], 32.5, "{s}");

    // Bad requests: no line, an unknown line, a monthly report as XLSX; nothing stored.
    for (body, want) in [
        (
            json!({"kind": "support_table", "period": "2025-11", "format": "docx"}),
            "line_id",
        ),
        (
            json!({"kind": "support_table", "period": "2025-11", "format": "xlsx", "line_id": 99999}),
            "line_id",
        ),
        (
            json!({"kind": "line_monthly", "period": "2025-11", "format": "xlsx", "line_id": id7}),
            "format",
        ),
        (
            json!({"kind": "line_monthly", "period": "2025-11", "format": "docx", "line_id": "x"}),
            "line_id",
        ),
    ] {
        let v = app
            .post_expect(
                t,
                "/api/v1/reports",
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(fields(&v), vec![want], "{body}: {v}");
    }
    assert_eq!(app.total("/api/v1/reports").await, 0);

    let rate = pct(&s["resolution_rate"]);
    let title = format!("{name}技术支持服务表");
    for format in ["docx", "xlsx"] {
        let r = app
            .post_expect(
                t,
                "/api/v1/reports",
                &json!({"kind": "support_table", "period": "2025-11", "format": format, "line_id": id7}),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(r["kind"], "support_table");
        assert_eq!(r["params"]["line_id"], id7, "{r}");
        let bytes = file(&app, t, &r).await;
        if let Some(text) = read_back(&bytes, format) {
            let needles: Vec<String> = if format == "docx" {
                vec![
                    title.clone(),
                    format!("title={title}"),
                    "报告期间：2025 年 11 月".into(),
                    "服务单号|服务对象|单位|系统|服务方式|请求时间|耗时|问题描述|处理过程及结果|处理结果|服务人员|用户评价".into(),
                    "|王科长|广州市生态环境局|".into(),
                    "|电话|2025-11-03 08:30|20 分钟|办件无法提交|清除缓存后重试|已解决|".into(),
                    format!("技术支持次数|{}", s["support"]),
                    format!("已解决|{}", s["resolved"]),
                    format!("解决率|{rate}"),
                    format!("平均处理时长|{} 分钟", s["average_minutes"]),
                    "用户单位（签章）".into(),
                ]
            } else {
                vec![
                    "sheet=技术支持服务表".into(),
                    "sheet=合计".into(),
                    format!("技术支持次数|{}", s["support"]),
                    format!("解决率|{}", s["resolution_rate"]),
                    format!("平均处理时长（分钟）|{}", s["average_minutes"]),
                    "creator=".into(),
                ]
            };
            for n in &needles {
                assert!(text.contains(n.as_str()), "{n} missing in:\n{text}");
            }
            assert_eq!(text.matches("FW").count(), 3, "{text}");
            assert!(!text.contains("上月问题"), "{text}");
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            // (The long title may wrap on the cover.)
            assert!(pdf.contains("支持服务表"), "{pdf}");
            // The DOCX is landscape: the names fit their columns.
            assert!(pdf.contains("王科长"), "{pdf}");
            if format == "docx" {
                assert!(pdf.contains("服务统计") && pdf.contains(&rate), "{pdf}");
            }
        }
    }

    // The monthly report, its last paragraph edited by the admin.
    app.patch_expect(
        t,
        "/api/v1/report-texts/line.next_month",
        &json!({"text": "下月{{ line }}继续跟进 {{ unresolved }} 个未解决问题。"}),
        StatusCode::OK,
    )
    .await;
    let r = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "line_monthly", "period": "2025-11", "format": "docx", "line_id": id7}),
            StatusCode::CREATED,
        )
        .await;
    let bytes = file(&app, t, &r).await;
    if let Some(text) = read_back(&bytes, "docx") {
        for n in [
            format!("{name}运营月报"),
            "一、本月运营概述".into(),
            format!(
                "共记录运营服务 {} 项（技术支持 3 项、数据对账 1 项）",
                s["total"]
            ),
            format!("解决率 {rate}"),
            format!("平均处理时长 {} 分钟", s["average_minutes"]),
            "二、用户服务情况".into(),
            "技术支持|3".into(),
            format!("合计|{}", s["total"]),
            "电话|1".into(),
            format!("解决率|{rate}"),
            "1|办件无法提交|2".into(),
            "三、需求收集与处理".into(),
            "四、问题与建议".into(),
            "尚有 1 次技术支持未解决".into(),
            "五、下月计划".into(),
            format!("下月{name}继续跟进 1 个未解决问题。"),
            "用户单位（签章）".into(),
        ] {
            assert!(text.contains(&n), "{n} missing in:\n{text}");
        }
    }
    if let Some(pdf) = via_libreoffice(&bytes, "docx") {
        assert!(pdf.contains("运营月报") && pdf.contains(&rate), "{pdf}");
    }
    // Requesters get none.
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    app.post_expect(
        &rt,
        "/api/v1/reports",
        &json!({"kind": "support_table", "period": "2025-11", "format": "docx", "line_id": id7}),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn the_monthly_job_makes_last_months_report_of_each_line_with_records_once() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let l7 = line_by_code(&app, "4.2.7").await;
    let id7 = l7["id"].as_i64().unwrap();
    november_records(&app, id7, &l7["system_ids"][0]).await;
    let line_reports = |list: &Value| -> Vec<Value> {
        each(&list["items"])
            .filter(|r| r["kind"] == "line_monthly")
            .cloned()
            .collect()
    };
    app.clock.set(bj(2025, 12, 1, 2, 0));
    monthly_job_twice_at_once(&app).await;
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(t, "/api/v1/reports?limit=100", StatusCode::OK)
        .await;
    let mine = line_reports(&list);
    // Only line 4.2.7 had records in November (October's record counts for no report).
    assert_eq!(mine.len(), 1, "{list}");
    assert_eq!(mine[0]["params"]["line_id"], id7);
    assert_eq!(mine[0]["period"], "2025 年 11 月");
    assert_eq!(mine[0]["format"], "docx");
    let bytes = file(&app, t, &mine[0]).await;
    if let Some(text) = read_back(&bytes, "docx") {
        assert!(
            text.contains("运营月报") && text.contains("解决率 66.7%"),
            "{text}"
        );
    }
}

/// The line the rule picks for a system: of those serving it, the first by code.
fn expected_line(all: &[Value], system_id: i64) -> i64 {
    let key = |c: &str| -> Vec<u64> { c.split('.').map(|p| p.parse().unwrap()).collect() };
    all.iter()
        .filter(|l| each(&l["system_ids"]).any(|s| s.as_i64() == Some(system_id)))
        .min_by_key(|l| key(l["code"].as_str().unwrap()))
        .map(|l| l["id"].as_i64().unwrap())
        .unwrap()
}

async fn records_of_ticket(app: &TestApp, t: &str, ticket_id: i64) -> Vec<Value> {
    app.get_json_expect(
        t,
        "/api/v1/work-records?type=support&limit=100",
        StatusCode::OK,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ticket_id"].as_i64() == Some(ticket_id))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_resolved_consultation_ticket_becomes_one_support_record_of_its_line() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let t = &app.admin_token;
    let all = lines(&app).await;
    let l7 = all.iter().find(|l| l["code"] == "4.2.7").unwrap().clone();
    let sys = l7["system_ids"][0].as_i64().unwrap();
    let want_line = expected_line(&all, sys);
    let open = |category: Option<&str>, title: &str| {
        let mut body = json!({"kind": "request", "title": title, "system_id": sys,
                              "requester_name": "陈科员"});
        if let Some(c) = category {
            body["category"] = json!(c);
        }
        body
    };
    let before = total(&app, t).await;
    let tk = app
        .post_expect(
            t,
            "/api/v1/tickets",
            &open(Some("咨询"), "如何导出办件统计"),
            StatusCode::CREATED,
        )
        .await;
    let tid = tk["id"].as_i64().unwrap();
    let oid = created_id(&app, t, "/api/v1/tickets", &open(Some("账号"), "开通账号")).await;
    let pid = created_id(&app, t, "/api/v1/tickets", &open(None, "咨询打印问题")).await;
    app.clock.set(bj(2025, 11, 20, 9, 40));
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let act = |id: i64, body: Value| {
        let app = &app;
        async move {
            app.post_expect(
                t,
                &format!("/api/v1/tickets/{id}/actions"),
                &body,
                StatusCode::OK,
            )
            .await
        }
    };
    act(tid, json!({"action": "start"})).await;
    // A refused resolve (no resolution) makes nothing.
    let v = app
        .post_expect(
            t,
            &format!("/api/v1/tickets/{tid}/actions"),
            &json!({"action": "resolve"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["resolution"], "{v}");
    assert_eq!(total(&app, t).await, before);
    for id in [tid, oid, pid] {
        if id != tid {
            act(id, json!({"action": "start"})).await;
        }
        act(
            id,
            json!({"action": "resolve", "resolution": "在统计页面点击导出即可"}),
        )
        .await;
    }
    let recs = records_of_ticket(&app, t, tid).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r["line_id"], want_line, "{r}");
    assert_eq!(r["origin"], "ticket");
    assert_eq!(r["channel"], "工单");
    assert_eq!(r["requester"], "陈科员");
    assert_eq!(r["summary"], "如何导出办件统计");
    assert_eq!(r["answer"], "在统计页面点击导出即可");
    assert_eq!(r["result"], "已解决");
    assert_eq!(r["duration_minutes"], 40);
    assert_eq!(r["system_id"], sys);
    assert_eq!(r["ticket_number"], tk["number"]);
    // Only the consultation made a record.
    assert!(records_of_ticket(&app, t, oid).await.is_empty());
    assert!(records_of_ticket(&app, t, pid).await.is_empty());
    assert_eq!(total(&app, t).await, before + 1);
    // Reopened and resolved again: still one.
    act(tid, json!({"action": "reopen", "reason": "用户仍无法导出"})).await;
    app.clock.set(bj(2025, 11, 20, 9, 50));
    act(tid, json!({"action": "start"})).await;
    act(
        tid,
        json!({"action": "resolve", "resolution": "更换浏览器后可导出"}),
    )
    .await;
    assert_eq!(records_of_ticket(&app, t, tid).await.len(), 1);
    assert_eq!(total(&app, t).await, before + 1);
    // The record is audited (once), and counts in the line's stats.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE entity_type = 'work_records' AND action = 'create'",
    )
    .fetch_one(app.ctx.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let s = november_stats(&app, t, want_line).await;
    assert_eq!(s["by_channel"]["工单"], 1, "{s}");
}

async fn total(app: &TestApp, t: &str) -> i64 {
    app.get_json_expect(t, "/api/v1/work-records", StatusCode::OK)
        .await["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_reports_page_makes_a_lines_support_table() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let l7 = line_by_code(&app, "4.2.7").await;
    let id7 = l7["id"].as_i64().unwrap();
    november_records(&app, id7, &l7["system_ids"][0]).await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&cookie, "/reports").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("技术支持服务表（按服务条线）") && html.contains("4.2.14.3 "),
        "{html}"
    );
    let id = id7.to_string();
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/reports"))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let r = post(vec![
        ("kind", "line_monthly".into()),
        ("period", "2025-11".into()),
        ("format", "xlsx".into()),
        ("line_id", id.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("运营月报只提供 DOCX 格式"));
    let r = post(vec![
        ("kind", "support_table".into()),
        ("period", "2025-11".into()),
        ("format", "xlsx".into()),
        ("scope", "infrastructure".into()),
        ("plan_id", String::new()),
        ("line_id", id.clone()),
    ])
    .await
    .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    // The inspection reports ignore the line the form always sends.
    let r = post(vec![
        ("kind", "inspection_monthly".into()),
        ("period", "2025-11".into()),
        ("format", "docx".into()),
        ("scope", "systems".into()),
        ("line_id", id.clone()),
    ])
    .await
    .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/reports", StatusCode::OK)
        .await;
    let kinds: Vec<&str> = each(&list["items"])
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"support_table") && kinds.contains(&"inspection_monthly"),
        "{list}"
    );
    let (_, html) = app.page(&cookie, "/reports").await;
    assert!(
        html.contains("技术支持服务表-4.2.7-2025年11月.xlsx"),
        "{html}"
    );
}

#[tokio::test]
async fn yunwei_report_writes_a_lines_support_table() {
    let app = demo_at(bj(2025, 11, 20, 9, 0)).await;
    let l7 = line_by_code(&app, "4.2.7").await;
    let id7 = l7["id"].as_i64().unwrap();
    november_records(&app, id7, &l7["system_ids"][0]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.xlsx");
    let id = id7.to_string();
    let args = |line: &str| {
        vec![
            "report".to_string(),
            "support_table".into(),
            "--period".into(),
            "2025-11".into(),
            "--format".into(),
            "xlsx".into(),
            "--line-id".into(),
            line.to_string(),
            "--out".into(),
            out.to_str().unwrap().to_string(),
        ]
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        app.cli(&refs)
    };
    let o = run(args("99999"));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("服务条线编号 99999 不存在"), "{err}");
    let o = run(args(&id));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"PK"));
    if let Some(text) = read_back(&bytes, "xlsx") {
        assert!(text.contains("技术支持次数|3"), "{text}");
    }
    assert_eq!(app.total("/api/v1/reports").await, 1);
}

#[tokio::test]
async fn the_statistics_report_counts_months_channels_and_business_figures() {
    let app = demo_at(bj(2025, 12, 2, 9, 0)).await;
    let t = app.admin_token.clone();
    let line = line_by_code(&app, "4.2.7").await;
    let id = line["id"].as_i64().unwrap();
    november_records(&app, id, &line["system_ids"][0]).await;
    october_licences(&app, id).await;
    // October and November: 2 + 4 records.
    let period = json!({"from": "2025-10-01", "to": "2025-11-30"});
    for format in ["docx", "xlsx"] {
        let r = app
            .post_expect(
                &t,
                "/api/v1/reports",
                &json!({"kind": "line_statistics", "period": period, "format": format, "line_id": id}),
                StatusCode::CREATED,
            )
            .await;
        let bytes = file(&app, &t, &r).await;
        if let Some(text) = read_back(&bytes, format) {
            let needles: &[&str] = if format == "docx" {
                &[
                    "统计报表",
                    "共登记运营工作记录 6 项",
                    "2025-10|1|0|1|2",
                    "2025-11|3|1|0|4",
                    "电话|2",
                    "数据对账|一致条数|1200",
                    "电子证照|签发数量|42",
                ]
            } else {
                &[
                    "sheet=分月统计",
                    "2025-10|1|0|1|2",
                    "sheet=业务数据",
                    "数据对账|不一致条数|3",
                ]
            };
            for n in needles {
                assert!(text.contains(n), "{format}: {n} missing in:\n{text}");
            }
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            assert!(
                pdf.contains("1200") || pdf.contains("1,200"),
                "{format}: {pdf}"
            );
        }
    }
    app.post_expect(
        &t,
        "/api/v1/reports",
        &json!({"kind": "line_statistics", "period": "2025-11", "format": "docx"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn the_line_summary_shows_each_month_and_the_period_as_the_stats_api() {
    let app = demo_at(bj(2025, 12, 2, 9, 0)).await;
    let t = app.admin_token.clone();
    let line = line_by_code(&app, "4.2.7").await;
    let id = line["id"].as_i64().unwrap();
    let name = line["name"].as_str().unwrap().to_string();
    november_records(&app, id, &line["system_ids"][0]).await;
    october_licences(&app, id).await;
    app.post_expect(
        &t,
        "/api/v1/requirements",
        &json!({"line_id": id, "source": "user", "title": "办件列表增加导出", "priority": "high"}),
        StatusCode::CREATED,
    )
    .await;
    app.patch_expect(
        &t,
        "/api/v1/report-texts/summary.outlook",
        &json!({"text": "明年{{ line }}继续跟进 {{ unresolved }} 个未解决问题。"}),
        StatusCode::OK,
    )
    .await;
    let stats = |from: &str, to: &str| {
        let url = format!("/api/v1/service-lines/{id}/stats?from={from}&to={to}");
        let app = &app;
        let t = t.clone();
        async move { app.get_json_expect(&t, &url, StatusCode::OK).await }
    };
    let year = stats("2025-01-01", "2025-12-31").await;
    let oct = stats("2025-10-01", "2025-10-31").await;
    let nov = stats("2025-11-01", "2025-11-30").await;
    // Hand counts: October 2 records (1 support, 1 licence), November 4 (3 support, 1
    // reconciliation); one requirement proposed in December.
    assert_eq!(
        (year["total"].as_i64(), year["support"].as_i64()),
        (Some(6), Some(4))
    );
    assert_eq!(year["requirements_new"], 1, "{year}");
    let rate = pct(&year["resolution_rate"]);
    let nov_rate = pct(&nov["resolution_rate"]);
    for format in ["docx", "xlsx"] {
        let r = app
            .post_expect(
                &t,
                "/api/v1/reports",
                &json!({"kind": "line_summary", "period": "2025", "format": format, "line_id": id}),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(r["kind"], "line_summary");
        assert_eq!(r["period"], "2025 年");
        assert_eq!(r["params"]["line_id"], id, "{r}");
        let bytes = file(&app, &t, &r).await;
        if let Some(text) = read_back(&bytes, format) {
            let needles: Vec<String> = if format == "docx" {
                vec![
                    format!("{name}工作总结"),
                    format!("title={name}工作总结"),
                    "报告期间：2025 年".into(),
                    format!(
                        "共记录运营服务 {} 项（技术支持 4 项、数据对账 1 项、电子证照 1 项）",
                        year["total"]
                    ),
                    format!("解决率 {rate}"),
                    "月份|技术支持|数据对账|电子证照|合计".into(),
                    "2025-01|0|0|0|0".into(),
                    "2025-10|1|0|1|2".into(),
                    "2025-11|3|1|0|4".into(),
                    "合计|4|1|1|6".into(),
                    format!("电话|{}", year["by_channel"]["电话"]),
                    format!(
                        "2025-11|{}|{}|{nov_rate}|{} 分钟|",
                        nov["support"], nov["resolved"], nov["average_minutes"]
                    ),
                    format!(
                        "2025-10|{}|{}|{}|",
                        oct["support"],
                        oct["resolved"],
                        pct(&oct["resolution_rate"])
                    ),
                    format!(
                        "合计|{}|{}|{rate}|{} 分钟|",
                        year["support"], year["resolved"], year["average_minutes"]
                    ),
                    "2025-12|1|0".into(),
                    "合计|1|0".into(),
                    format!(
                        "明年{name}继续跟进 {} 个未解决问题。",
                        year["support"].as_i64().unwrap() - year["resolved"].as_i64().unwrap()
                    ),
                    "用户单位（签章）".into(),
                ]
            } else {
                vec![
                    "sheet=分月服务量".into(),
                    "2025-11|3|1|0|4".into(),
                    "sheet=服务质量".into(),
                    format!(
                        "合计|{}|{}|{}",
                        year["support"],
                        year["resolved"],
                        year["resolution_rate"].as_f64().unwrap()
                    ),
                    "sheet=服务渠道".into(),
                    "sheet=需求".into(),
                    "sheet=总结".into(),
                    "工作总结|".into(),
                    "creator=".into(),
                ]
            };
            for n in &needles {
                assert!(
                    text.contains(n.as_str()),
                    "{format}: {n} missing in:\n{text}"
                );
            }
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            assert!(pdf.contains("工作总结"), "{format}: {pdf}");
            if format == "docx" {
                assert!(pdf.contains(&rate) && pdf.contains(&nov_rate), "{pdf}");
            }
        }
    }
    // A range works too; a missing line is refused and nothing is stored for it.
    app.post_expect(
        &t,
        "/api/v1/reports",
        &json!({"kind": "line_summary", "period": {"from": "2025-10-01", "to": "2025-11-30"},
                "format": "docx", "line_id": id}),
        StatusCode::CREATED,
    )
    .await;
    let v = app
        .post_expect(
            &t,
            "/api/v1/reports",
            &json!({"kind": "line_summary", "period": "2025", "format": "docx"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["line_id"]);
    assert_eq!(app.total("/api/v1/reports").await, 3);
}

#[tokio::test]
async fn the_monthly_job_makes_the_statistics_reports_over_each_lines_cadence() {
    let app = demo_at(bj(2025, 9, 20, 9, 0)).await;
    let t = app.admin_token.clone();
    let quarterly = line_by_code(&app, "4.2.16").await;
    assert_eq!(quarterly["report_cadence"], "quarterly");
    let monthly = line_by_code(&app, "4.2.7").await;
    assert_eq!(monthly["report_cadence"], "monthly");
    // 4.2.2 is monthly and delivers a 统计报表; 4.2.7 delivers none.
    let stat_line = line_by_code(&app, "4.2.2").await;
    assert_eq!(stat_line["report_cadence"], "monthly");
    let (q, m, sm) = (
        quarterly["id"].as_i64().unwrap(),
        monthly["id"].as_i64().unwrap(),
        stat_line["id"].as_i64().unwrap(),
    );
    for (line, when) in [
        (q, "2025-07-03 09:00"),
        (q, "2025-08-12 10:00"),
        (q, "2025-09-19 15:00"),
        // June: the quarter before.
        (q, "2025-06-30 09:00"),
        (m, "2025-08-01 09:00"),
        (m, "2025-09-02 09:00"),
        (sm, "2025-09-10 10:00"),
    ] {
        app.post_expect(
            &t,
            "/api/v1/work-records",
            &json!({"line_id": line, "type": "support", "requester": "备案用户", "channel": "电话",
                    "summary": "备案表填写", "result": "已解决", "occurred_at": when}),
            StatusCode::CREATED,
        )
        .await;
    }
    let stats = |list: &Value| -> Vec<Value> {
        each(&list["items"])
            .filter(|r| r["kind"] == "line_statistics")
            .cloned()
            .collect()
    };
    // Not a quarter's first month: nothing.
    app.clock.set(bj(2025, 9, 25, 2, 0));
    yunwei::report::monthly(&app.ctx).await.unwrap();
    let t = app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(&t, "/api/v1/reports?limit=100", StatusCode::OK)
        .await;
    assert!(stats(&list).is_empty(), "{list}");

    app.clock.set(bj(2025, 10, 1, 2, 0));
    monthly_job_twice_at_once(&app).await;
    let t = app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(&t, "/api/v1/reports?limit=100", StatusCode::OK)
        .await;
    let all = stats(&list);
    // DOCX and XLSX of 4.2.16's third quarter and of 4.2.2's September; none of 4.2.7.
    assert_eq!(all.len(), 4, "{list}");
    let monthly_stats: Vec<&Value> = all
        .iter()
        .filter(|r| r["params"]["line_id"] == sm)
        .collect();
    assert_eq!(monthly_stats.len(), 2, "{list}");
    assert!(
        monthly_stats.iter().all(|r| r["period"] == "2025 年 9 月"),
        "{list}"
    );
    let mine: Vec<Value> = all
        .iter()
        .filter(|r| r["params"]["line_id"] != sm)
        .cloned()
        .collect();
    assert_eq!(mine.len(), 2, "{list}");
    let mut formats: Vec<&str> = mine.iter().map(|r| r["format"].as_str().unwrap()).collect();
    formats.sort_unstable();
    assert_eq!(formats, ["docx", "xlsx"]);
    for r in &mine {
        assert_eq!(r["params"]["line_id"], q, "{r}");
        assert_eq!(r["period"], "2025 年第三季度");
        assert!(
            r["from"].as_str().unwrap().starts_with("2025-06-30T16:00"),
            "{r}"
        );
        assert!(
            r["to"].as_str().unwrap().starts_with("2025-09-30T16:00"),
            "{r}"
        );
    }
    let s = app
        .get_json_expect(
            &t,
            &format!("/api/v1/service-lines/{q}/stats?from=2025-07-01&to=2025-09-30"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(s["total"], 3, "{s}");
    let docx = mine.iter().find(|r| r["format"] == "docx").unwrap();
    let bytes = file(&app, &t, docx).await;
    if let Some(text) = read_back(&bytes, "docx") {
        for n in [
            "报告期间：2025 年第三季度".to_string(),
            format!("共登记运营工作记录 {} 项", s["total"]),
            "2025-07|1|1".into(),
            "2025-09|1|1".into(),
        ] {
            assert!(text.contains(&n), "{n} missing in:\n{text}");
        }
        assert!(!text.contains("2025-06"), "{text}");
    }
    // November opens no quarter, and 4.2.2 kept no records in October: still four.
    app.clock.set(bj(2025, 11, 1, 2, 0));
    yunwei::report::monthly(&app.ctx).await.unwrap();
    let t = app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(&t, "/api/v1/reports?limit=100", StatusCode::OK)
        .await;
    assert_eq!(stats(&list).len(), 4, "{list}");
}

#[tokio::test]
async fn a_line_report_over_more_records_than_it_reads_is_refused_not_cut_short() {
    let app = demo_at(bj(2025, 12, 2, 9, 0)).await;
    let t = app.admin_token.clone();
    let line = line_by_code(&app, "4.2.7").await;
    let id = line["id"].as_i64().unwrap();
    // One more support record in November than a report reads, written straight to the
    // database (the import would take minutes here).
    let over = yunwei::report::operations::MAX_RECORDS + 1;
    let start = bj(2025, 11, 1, 9, 0).timestamp_millis();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {over}) \
         INSERT INTO work_records (line_id, type, occurred_at, channel, summary, result, data, \
         operator_id, origin, created_at, updated_at) \
         SELECT {id}, 'support', {start} + i * 1000, '电话', '批量咨询', '已解决', '{{}}', 1, 'import', \
         {start}, {start} FROM n"
    )))
    .execute(app.ctx.store.pool())
    .await
    .unwrap();
    let s = november_stats(&app, &t, id).await;
    assert_eq!(s["support"], over, "{s}");
    for kind in ["support_table", "line_statistics"] {
        let v = app
            .post_expect(
                &t,
                "/api/v1/reports",
                &json!({"kind": kind, "period": "2025-11", "format": "xlsx", "line_id": id}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(fields(&v), vec!["period"], "{v}");
        let msg = v["error"]["details"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(&over.to_string()) && msg.contains("100000"),
            "{msg}"
        );
    }
    assert_eq!(app.total("/api/v1/reports").await, 0);
}
