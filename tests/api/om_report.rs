//! 《运维月报》 (`om_monthly`): the month's desk figures equal `GET /tickets/stats`, the
//! incident and change lists name the month's tickets only, every system has its
//! availability row, the document opens in python-docx/openpyxl and converts with
//! LibreOffice, and the monthly job makes it once.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An engineer on duty for system 1, so that its incidents are assigned to them.
async fn engineer(app: &TestApp) -> String {
    let (uid, token) = app.user_with_role("eng", "engineer").await;
    let s = app
        .post_expect(
            &app.admin_token,
            "/api/v1/staff",
            &json!({"name": "运维甲", "user_id": uid}),
            StatusCode::CREATED,
        )
        .await;
    fill_slot(app, 1, "om_engineer", &s["id"]).await;
    token
}

async fn ticket(app: &TestApp, body: Value) -> Value {
    app.post_expect(
        &app.admin_token,
        "/api/v1/tickets",
        &body,
        StatusCode::CREATED,
    )
    .await
}

async fn generate(app: &TestApp, format: &str) -> (Value, Vec<u8>) {
    generate_report(
        app,
        &app.admin_token,
        &json!({"kind": "om_monthly", "period": "2025-11", "format": format}),
    )
    .await
}

fn pct(v: &Value) -> String {
    match v.as_f64() {
        Some(r) => {
            let p = (r * 10_000.0).round() / 100.0;
            if p.fract() == 0.0 {
                format!("{}%", p as i64)
            } else {
                format!("{p}%")
            }
        }
        None => "—".into(),
    }
}

#[tokio::test]
async fn the_om_monthly_report_carries_the_desk_figures_and_lists_of_the_month() {
    let mut app = demo_at(bj(2025, 10, 20, 9, 0)).await;
    engineer(&app).await;
    // October: one incident (the month before).
    ticket(
        &app,
        json!({"kind": "incident", "title": "十月旧故障", "system_id": 2, "source": "phone"}),
    )
    .await;
    app.set_clock_relogin(bj(2025, 11, 5, 9, 0)).await;
    let et = app.login_ok("eng", "Changed#Pass2").await;
    let p1 = ticket(
        &app,
        json!({"kind": "incident", "title": "门户无法访问", "system_id": 1,
        "impact": "high", "urgency": "high", "source": "phone", "category": "网络"}),
    )
    .await;
    let id = p1["id"].as_i64().unwrap();
    app.clock.advance(Duration::minutes(10));
    let start = app
        .post(
            &et,
            &format!("/api/v1/tickets/{id}/actions"),
            &json!({"action": "start"}),
        )
        .await;
    assert_eq!(start.0, StatusCode::OK, "{}", start.1);
    app.clock.advance(Duration::minutes(50));
    // Past the idle timeout: sign in again.
    let et = app.login_ok("eng", "Changed#Pass2").await;
    app.admin_token = app.login_ok("admin", ADMIN_PASSWORD).await;
    let report = json!({"symptom": "门户无法访问", "impact_scope": "全省用户", "started_at": "2025-11-05T09:00:00+08:00",
        "recovered_at": "2025-11-05T09:55:00+08:00", "cause": "负载均衡配置错误", "handling": "回滚配置",
        "measures": "配置变更前双人复核"});
    let (s, v) = app
        .post(
            &et,
            &format!("/api/v1/tickets/{id}/actions"),
            &json!({"action": "resolve", "resolution": "回滚配置", "fault_report": report,
                    "remote_fix_reason": "远程回滚即可"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p3 = ticket(
        &app,
        json!({"kind": "incident", "title": "报表导出缓慢", "system_id": 3,
        "impact": "low", "urgency": "medium", "source": "on_site"}),
    )
    .await;
    let change = ticket(
        &app,
        json!({"kind": "change", "title": "数据库补丁升级", "system_id": 1,
        "change_type": "upgrade", "source": "phone"}),
    )
    .await;
    ticket(
        &app,
        json!({"kind": "request", "title": "开通账号", "system_id": 1, "source": "portal"}),
    )
    .await;

    app.set_clock_relogin(bj(2025, 12, 1, 9, 0)).await;
    let stats = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/tickets/stats?from=2025-11-01T00:00:00%2B08:00&to=2025-12-01T00:00:00%2B08:00",
            StatusCode::OK,
        )
        .await;
    let total = &stats["total"];
    assert_eq!(total["incidents"], 2, "{stats}");
    assert_eq!(total["tickets"], 4);

    let (r, docx) = generate(&app, "docx").await;
    if let Ok(dir) = std::env::var("YUNWEI_KEEP_DOCS") {
        std::fs::write(format!("{dir}/om_monthly.docx"), &docx).unwrap();
    }
    assert_eq!(r["kind"], "om_monthly");
    assert_eq!(r["period"], "2025 年 11 月");
    let Some(text) = read_back(&docx, "docx") else {
        return;
    };
    assert!(text.contains("运维月报"), "{text}");
    assert!(text.contains("title=运维月报"), "{text}");
    // Key indicators: this month against October.
    assert!(text.contains("故障数|2|1"), "{text}");
    assert!(text.contains("工单总数|4|1"), "{text}");
    assert!(
        text.contains(&format!("SLA 达标率|{}|", pct(&total["sla_compliance"]))),
        "{text}"
    );
    let mttr = total["mttr_minutes"].as_f64().unwrap();
    assert_eq!(mttr, 60.0);
    assert!(text.contains("平均修复时长（MTTR）|60 分钟|—"), "{text}");
    // By priority and the lists.
    assert!(text.contains("P1|1"), "{text}");
    assert!(text.contains(p1["number"].as_str().unwrap()), "{text}");
    assert!(text.contains(p3["number"].as_str().unwrap()), "{text}");
    assert!(text.contains(change["number"].as_str().unwrap()), "{text}");
    assert!(text.contains("系统升级"), "{text}");
    assert!(
        !text.contains("十月旧故障"),
        "October's incident is not listed: {text}"
    );
    assert!(text.contains("网络|1"), "{text}");
    // Every demo system has its availability row; none is monitored in this demo.
    let systems = app.total("/api/v1/systems").await;
    assert_eq!(systems, 27);
    assert_eq!(text.matches("|未监控|").count(), 27, "{text}");
    // The contract's quality targets with the values GET /contract measures.
    let c = contract_for(&app, "2025-11").await;
    for t in c["quality"]["targets"].as_array().unwrap() {
        let row = format!(
            "{}|{}|{}|",
            t["label"].as_str().unwrap(),
            percent(&t["target_percent"]),
            percent(&t["measured_percent"])
        );
        assert!(text.contains(&row), "{row} in {text}");
    }
    // Backups as GET /backups/coverage counts them (the demo's policies, no runs reported).
    let cov = backup_coverage(&app, "2025-11").await;
    let items = cov["items"].as_array().unwrap();
    let due: i64 = items.iter().map(|i| i["due"].as_i64().unwrap()).sum();
    let ok: i64 = items.iter().map(|i| i["succeeded"].as_i64().unwrap()).sum();
    assert!(due > 0, "{cov}");
    assert!(
        text.contains(&format!(
            "本月 {} 个备份策略应执行备份 {due} 次，成功 {ok} 次",
            items.len()
        )),
        "{text}"
    );
    // The editable overview says the same figures.
    assert!(text.contains("其中故障 2 个（上月 1 个）"), "{text}");
    if let Some(pdf) = via_libreoffice(&docx, "docx") {
        assert!(pdf.contains("运维月报"));
        // The contents are filled in, their field instructions not printed.
        assert!(!pdf.contains("TOC") && !pdf.contains("PAGEREF"), "{pdf}");
        // Narrow table columns wrap a number at its hyphens.
        let flat: String = pdf
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        for t in [&p1, &p3, &change] {
            let n = t["number"].as_str().unwrap().replace('-', "");

            assert!(flat.contains(&n), "{n} in {pdf}");
        }
    }

    let (_, xlsx) = generate(&app, "xlsx").await;
    let Some(sheets) = read_back(&xlsx, "xlsx") else {
        return;
    };
    for name in [
        "关键指标",
        "系统可用率",
        "分类统计",
        "故障清单",
        "变更清单",
        "图表",
    ] {
        assert!(sheets.contains(&format!("sheet={name}")), "{sheets}");
    }
    assert!(sheets.contains("故障数|2|1"), "{sheets}");
    assert!(sheets.contains(p1["number"].as_str().unwrap()), "{sheets}");
    if let Some(pdf) = via_libreoffice(&xlsx, "xlsx") {
        assert!(pdf.contains(change["number"].as_str().unwrap()), "{pdf}");
    }

    // Parameters of another kind are refused, and nothing is stored.
    let before = app.total("/api/v1/reports").await;
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/reports",
            &json!({"kind": "om_monthly", "period": "2025-11", "format": "docx", "line_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(v["error"]["details"][0]["field"], "line_id");
    assert_eq!(app.total("/api/v1/reports").await, before);
}

#[tokio::test]
async fn the_monthly_job_makes_the_om_report_once_for_a_month_with_tickets() {
    let app = demo_at(bj(2025, 11, 5, 9, 0)).await;
    // Nothing in October: no 运维月报 for it.
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    ticket(
        &app,
        json!({"kind": "request", "title": "开通账号", "system_id": 1, "source": "portal"}),
    )
    .await;
    app.clock.set(bj(2025, 12, 1, 2, 0));
    // The 运维月报's DOCX and XLSX, and the 备份监督月报's (the demo's backup policies).
    assert_eq!(monthly_job_twice_at_once(&app).await, 4);
    let t = app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(&t, "/api/v1/reports", StatusCode::OK)
        .await;
    let om = items_where(&list, "kind", "om_monthly");
    assert_eq!(om.len(), 2, "{list}");
    assert!(om.iter().all(|r| r["period"] == "2025 年 11 月"));
}

#[tokio::test]
async fn the_annual_summary_counts_its_scope_month_by_month() {
    // A year passes between the tickets and the report: no password expiry meanwhile.
    let mut app = demo_at_with(bj(2024, 12, 20, 9, 0), |c| {
        c.security.password_max_age_days = 1_000
    })
    .await;
    // December 2024: the period before.
    ticket(
        &app,
        json!({"kind": "incident", "title": "去年故障", "system_id": 2, "source": "phone"}),
    )
    .await;
    app.set_clock_relogin(bj(2025, 1, 10, 9, 0)).await;
    let inc = ticket(
        &app,
        json!({"kind": "incident", "title": "门户无法访问", "system_id": 1,
        "source": "phone", "category": "应用"}),
    )
    .await;
    let asset = app
        .get_json_expect(&app.admin_token, "/api/v1/assets?limit=1", StatusCode::OK)
        .await["items"][0]["id"]
        .clone();
    // A machine-room ticket names a device and no system.
    let room = ticket(
        &app,
        json!({"kind": "incident", "title": "精密空调告警", "asset_id": asset,
        "source": "on_site"}),
    )
    .await;
    app.set_clock_relogin(bj(2025, 3, 10, 9, 0)).await;
    let chg = ticket(
        &app,
        json!({"kind": "change", "title": "中间件升级", "system_id": 1,
        "change_type": "upgrade", "source": "phone"}),
    )
    .await;
    app.set_clock_relogin(bj(2026, 1, 5, 9, 0)).await;

    let make = |scope: &'static str, format: &'static str| {
        let app = &app;
        async move {
            let body = json!({"kind": "annual_summary", "period": "2025", "format": format, "scope": scope});
            generate_report(app, &app.admin_token, &body).await.1
        }
    };
    let docx = make("systems", "docx").await;
    let Some(text) = read_back(&docx, "docx") else {
        return;
    };
    assert!(
        text.contains("年终总结报告") && text.contains("应用系统运维"),
        "{text}"
    );
    // The year against 2024 (one incident on a system in its last weeks).
    assert!(text.contains("故障数|1|1"), "{text}");
    assert!(text.contains("工单总数|2|1"), "{text}");
    // Month by month: twelve rows, January's incident and March's change.
    assert!(text.contains("2025-01|1|1|0|"), "{text}");
    assert!(text.contains("2025-03|1|0|0|"), "{text}");
    assert!(text.contains("2025-12|0|0|0|"), "{text}");
    assert!(text.contains("系统升级|1"), "{text}");
    assert!(!text.contains("精密空调告警"));
    assert_eq!(text.matches("|未监控|").count(), 27, "{text}");
    if let Some(pdf) = via_libreoffice(&docx, "docx") {
        assert!(
            pdf.contains("年终总结报告") && !pdf.contains("TOC"),
            "{pdf}"
        );
    }
    let room_doc = make("infrastructure", "xlsx").await;
    let Some(sheets) = read_back(&room_doc, "xlsx") else {
        return;
    };
    assert!(sheets.contains("sheet=逐月统计"), "{sheets}");
    assert!(!sheets.contains("sheet=系统可用率"), "{sheets}");
    assert!(
        sheets.contains(room["number"].as_str().unwrap()),
        "{sheets}"
    );
    assert!(
        !sheets.contains(inc["number"].as_str().unwrap()),
        "{sheets}"
    );
    assert!(
        !sheets.contains(chg["number"].as_str().unwrap()),
        "{sheets}"
    );
    assert!(sheets.contains("故障数|1|0"), "{sheets}");
    if let Some(pdf) = via_libreoffice(&room_doc, "xlsx") {
        let flat: String = pdf
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let n = room["number"].as_str().unwrap().replace('-', "");
        assert!(flat.contains(&n) && pdf.contains("逐月"), "{pdf}");
    }
}

/// "95%", "99.9%" or "—", as the quality report prints a percentage.
fn percent(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |p| {
        let r = (p * 1000.0).round() / 1000.0;
        if r.fract() == 0.0 {
            format!("{}%", r as i64)
        } else {
            format!("{r}%")
        }
    })
}

#[tokio::test]
async fn the_quality_report_says_the_contract_targets_and_their_measured_values() {
    let mut app = demo_at(bj(2025, 11, 5, 9, 0)).await;
    engineer(&app).await;
    let et = app.login_ok("eng", "Changed#Pass2").await;
    let inc = ticket(
        &app,
        json!({"kind": "incident", "title": "门户无法访问", "system_id": 1,
        "impact": "high", "urgency": "high", "source": "phone"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    app.post_expect(
        &et,
        &format!("/api/v1/tickets/{id}/actions"),
        &json!({"action": "start"}),
        StatusCode::OK,
    )
    .await;
    let report = json!({"symptom": "门户无法访问", "impact_scope": "全省用户", "started_at": "2025-11-05T09:00:00+08:00",
        "recovered_at": "2025-11-05T09:20:00+08:00", "cause": "证书过期", "handling": "更换证书",
        "measures": "证书到期监控"});
    app.clock.advance(Duration::minutes(20));
    app.post_expect(
        &et,
        &format!("/api/v1/tickets/{id}/actions"),
        &json!({"action": "resolve", "resolution": "更换证书", "fault_report": report,
                "remote_fix_reason": "远程更换即可"}),
        StatusCode::OK,
    )
    .await;
    app.set_clock_relogin(bj(2025, 12, 2, 9, 0)).await;
    let c = contract_for(&app, "2025-11").await;
    let targets = c["quality"]["targets"].as_array().unwrap().clone();
    assert!(targets.len() >= 5, "{c}");
    let (_, docx) = generate_report(
        &app,
        &app.admin_token,
        &json!({"kind": "quality_report", "period": "2025-11", "format": "docx"}),
    )
    .await;
    let Some(text) = read_back(&docx, "docx") else {
        return;
    };
    assert!(text.contains("服务质量评价报告"), "{text}");
    for t in &targets {
        let row = format!(
            "{}|{}|{}|",
            t["label"].as_str().unwrap(),
            percent(&t["target_percent"]),
            percent(&t["measured_percent"])
        );
        assert!(text.contains(&row), "{row} in {text}");
        if let Some(reason) = t["reason"].as_str() {
            assert!(text.contains(reason), "{reason}");
        }
    }
    let sla = targets
        .iter()
        .find(|t| t["key"] == "sla_compliance")
        .unwrap();
    assert_eq!(sla["measured_percent"], json!(100.0), "{sla}");
    assert!(text.contains("SLA 达标率|"), "{text}");
    assert!(text.contains("本期巡检未发现需要整改的问题"), "{text}");
    if let Some(pdf) = via_libreoffice(&docx, "docx") {
        assert!(
            pdf.contains("服务质量评价报告") && pdf.contains("备份成功率"),
            "{pdf}"
        );
    }
    let (_, xlsx) = generate_report(
        &app,
        &app.admin_token,
        &json!({"kind": "quality_report", "period": "2025-11", "format": "xlsx"}),
    )
    .await;
    if let Some(sheets) = read_back(&xlsx, "xlsx") {
        assert!(
            sheets.contains("sheet=质量目标") && sheets.contains("sheet=整改事项"),
            "{sheets}"
        );
    }
    if let Some(pdf) = via_libreoffice(&xlsx, "xlsx") {
        assert!(
            pdf.contains("SLA 达标率") && pdf.contains("备份成功率"),
            "{pdf}"
        );
    }
}
