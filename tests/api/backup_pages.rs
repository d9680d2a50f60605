//! The backups page (备份监督) and the 《备份监督月报》 (`backup_monthly`): the coverage's
//! days add up to its month figures, the page shows the same totals, heat map, runs and
//! policies to every reader (not to requesters), and the document, made by the monthly
//! job, carries the coverage API's figures in DOCX, in XLSX and through LibreOffice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const GB: i64 = 1 << 30;
const PW: &str = "Changed#Pass2";

/// A daily 02:00 backup of 1–10 GB of 4.1.2.25 (审计), with its runs of `month` (days
/// 1–5 of it): in time, none, a failure, too small, in time. Answers the policy's id.
async fn policy_with_runs(app: &TestApp, y: i32, m: u32) -> i64 {
    let sid = system_id_by(app, "code", "4.1.2.25").await;
    let (id, token) = backup_policy(
        app,
        &json!({"system_id": sid, "data_set": "审计库", "scope": "database", "method": "full",
                "schedule": "0 2 * * *", "target": "offsite", "location": "灾备机房",
                "checksum_required": true, "expected_min_bytes": GB, "expected_max_bytes": 10 * GB}),
    )
    .await;
    for (day, status, size) in [
        (1, "success", 2 * GB),
        (3, "fail", 0),
        (4, "success", GB / 10),
        (5, "success", 2 * GB),
    ] {
        app.clock.set(bj(y, m, day, 2, 20));
        let body = json!({"status": status, "size_bytes": size, "checksum": "abc",
                          "log_tail": if status == "fail" { "pg_dump: 连接被拒绝" } else { "ok" }});
        let (s, v) = report_backup_run(app, &token, &body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    id
}

fn sum(items: &[Value], k: &str) -> i64 {
    items.iter().map(|i| i[k].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn the_coverage_days_add_up_and_the_backups_page_shows_them_to_its_readers() {
    let mut app = demo_at(bj(2025, 11, 28, 9, 0)).await;
    let id = policy_with_runs(&app, 2025, 12).await;
    app.set_clock_relogin(bj(2025, 12, 6, 0, 0)).await;
    let cov = backup_coverage(&app, "2025-12").await;
    let items = cov["items"].as_array().unwrap();
    // Every item's days add up to its month figures.
    for i in items {
        let days = i["days"].as_array().unwrap();
        assert_eq!(days.len(), 31);
        assert_eq!(days[0]["date"], "2025-12-01");
        for k in ["expected", "succeeded", "failed", "missed"] {
            assert_eq!(sum(days, k), i[k].as_i64().unwrap(), "{k} of {i}");
        }
    }
    let mine = items.iter().find(|i| i["policy_id"] == id).unwrap();
    let status: Vec<&str> = each(&mine["days"])
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    // The 1st in time, the 2nd missed, the 3rd failed (and missed), the 4th and 5th
    // succeeded (the 4th too small, flagged but in time), the 6th not due yet.
    assert_eq!(
        status[..7],
        ["ok", "missed", "failed", "ok", "ok", "future", "future"]
    );
    assert_eq!(mine["volume_bytes"], 4 * GB + GB / 10);
    // The demo's policies: no runs, every due day missed.
    let demo = items.iter().find(|i| i["policy_id"] != id).unwrap();
    assert_eq!(demo["days"][0]["status"], "missed");

    // The page, for the purchaser.
    app.user_with_role("jia", "supervisor").await;
    app.user_with_role("citizen", "requester").await;
    let jia = app.page_cookie("jia", PW).await;
    let (s, html) = app.page(&jia, "/backups?month=2025-12").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>备份监督</h1>"), "{html}");
    assert!(html.contains(">备份监督</a>"), "in the navigation");
    assert!(html.contains("value=\"2025-12\""));
    for (k, label) in [
        ("succeeded", "成功"),
        ("failed", "失败"),
        ("missed", "漏备"),
    ] {
        let tile = format!("<b>{}</b><span>{label}</span>", sum(items, k));
        assert!(html.contains(&tile), "{tile}");
    }
    assert!(html.contains(&format!("<b>{}</b><span>备份策略</span>", items.len())));
    // The heat map's data and its table: a row per policy, a column per day.
    assert!(html.contains("id=\"backup-heat-chart\"") && html.contains("data-heat="));
    let table = html.split("id=\"heat-table\"").nth(1).unwrap();
    let table = table.split("</table>").next().unwrap();
    assert_eq!(table.matches("<tr><td>").count(), items.len());
    assert!(table.contains("审计库"));
    assert!(table.contains("class=\"day day-failed\" title=\"2025-12-03 失败"));
    assert!(table.contains("class=\"day day-missed\" title=\"2025-12-02 漏备"));
    // Runs with their flags, policies with schedule, target and retention.
    let runs = html.split("id=\"runs-table\"").nth(1).unwrap();
    assert!(runs.contains("小于预期大小"), "{runs}");
    assert!(runs.contains("2025-12-03 02:20"), "{runs}");
    let pols = html.split("id=\"policies-table\"").nth(1).unwrap();
    assert!(pols.contains("异地：灾备机房") && pols.contains("<code>0 2 * * *</code>"));
    // The default month is this one; a bad month is refused in Chinese.
    let (s, html) = app.page(&jia, "/backups").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("value=\"2025-12\""));
    let (s, html) = app.page(&jia, "/backups?month=2025-13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("月份“2025-13”无效"), "{html}");
    // Requesters neither see the link nor the page.
    let citizen = app.page_cookie("citizen", PW).await;
    let (_, home) = app.page(&citizen, "/").await;
    assert!(!home.contains(">备份监督</a>"));
    let (s, _) = app.page(&citizen, "/backups").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_backup_monthly_report_is_made_by_the_monthly_job_with_the_coverage_figures() {
    let mut app = demo_at(bj(2025, 10, 31, 9, 0)).await;
    // No policy existed in September: no 备份监督月报 for it.
    let before = app.total("/api/v1/reports").await;
    yunwei::report::monthly(&app.ctx).await.unwrap();
    assert_eq!(app.total("/api/v1/reports").await, before);
    let id = policy_with_runs(&app, 2025, 11).await;
    // A restore drill on the 20th: listed with its RTO, RPO, result and verifier.
    app.set_clock_relogin(bj(2025, 11, 20, 11, 0)).await;
    app.post_expect(
        &app.admin_token,
        "/api/v1/restore-drills",
        &json!({"policy_id": id, "drilled_at": "2025-11-20T10:00:00+08:00",
            "scope": "审计库全量恢复", "target": "测试服务器 10.0.0.9",
            "duration_seconds": 3900, "data_point": "2025-11-20T02:00:00+08:00",
            "result": "passed", "verifier": "王工"}),
        StatusCode::CREATED,
    )
    .await;
    app.clock.set(bj(2025, 12, 1, 2, 0));
    yunwei::report::monthly(&app.ctx).await.unwrap();
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    app.admin_token = app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/reports?limit=100",
            StatusCode::OK,
        )
        .await;
    let mine = items_where(&list, "kind", "backup_monthly");
    assert_eq!(mine.len(), 2, "{list}");
    assert!(mine.iter().all(|r| r["period"] == "2025 年 11 月"));
    let file = |format: &str| {
        let r = mine.iter().find(|r| r["format"] == format).unwrap();
        format!("/api/v1/reports/{}/file", r["id"])
    };
    let cov = backup_coverage(&app, "2025-11").await;
    let items = cov["items"].as_array().unwrap();
    let c = items.iter().find(|i| i["policy_id"] == id).unwrap();
    assert_eq!(
        (&c["due"], &c["succeeded"], &c["failed"], &c["missed"]),
        (&json!(30), &json!(3), &json!(1), &json!(27))
    );
    let (due, ok, failed, missed) = (
        sum(items, "due"),
        sum(items, "succeeded"),
        sum(items, "failed"),
        sum(items, "missed"),
    );
    let totals = format!(
        "本月 {} 个备份策略应执行备份 {due} 次，成功 {ok} 次，失败 {failed} 次，漏备 {missed} 次",
        items.len()
    );
    let row = format!(
        "审计库|{}|{}|{}|{}|{}",
        c["due"], c["succeeded"], c["failed"], c["missed"], "10%"
    );
    assert_eq!(c["success_rate"], 0.1);

    let docx = app
        .get(&app.admin_token, &file("docx"))
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    if let Ok(dir) = std::env::var("YUNWEI_KEEP_DOCS") {
        std::fs::write(format!("{dir}/backup_monthly.docx"), &docx).unwrap();
    }
    if let Some(text) = read_back(&docx, "docx") {
        assert!(text.contains("title=备份监督月报"), "{text}");
        assert!(text.contains(&totals), "{totals} in {text}");
        assert!(text.contains(&row), "{row} in {text}");
        assert!(
            text.contains(&format!("备份策略数|{}", items.len())),
            "{text}"
        );
        assert!(text.contains(&format!("漏备次数|{missed}")), "{text}");
        // The failure listed with its log, the too-small run flagged, the drills said.
        assert!(
            text.contains("2025-11-03 02:20|") && text.contains("pg_dump: 连接被拒绝"),
            "{text}"
        );
        assert!(
            text.contains("2025-11-04 02:20|") && text.contains("|小于预期大小"),
            "{text}"
        );
        assert!(
            text.contains(
                "2025-11-20 10:00|生态环境审计管理应用系统|审计库|审计库全量恢复|测试服务器 10.0.0.9|1小时5分|2025-11-20 02:00（8小时0分前）|通过|王工"
            ),
            "{text}"
        );
        assert!(text.contains("各备份策略的恢复演练均未逾期"), "{text}");
        // The editable summary says the same figures.
        assert!(
            text.contains(&format!("成功 {ok} 次，失败 {failed} 次，漏备 {missed} 次")),
            "{text}"
        );
    }
    if let Some(pdf) = via_libreoffice(&docx, "docx") {
        let flat: String = pdf.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(flat.contains("备份监督月报"), "{pdf}");
        assert!(flat.contains(&totals.replace(' ', "")), "{pdf}");
        assert!(flat.contains("各备份策略的恢复演练均未逾期"), "{pdf}");
        assert!(flat.contains("王工"), "{pdf}");
        assert!(!pdf.contains("TOC") && !pdf.contains("PAGEREF"), "{pdf}");
    }

    let xlsx = app
        .get(&app.admin_token, &file("xlsx"))
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    if let Some(sheets) = read_back(&xlsx, "xlsx") {
        for name in [
            "汇总",
            "覆盖情况",
            "失败的备份",
            "漏备",
            "异常标记",
            "恢复演练",
            "逾期演练",
        ] {
            assert!(sheets.contains(&format!("sheet={name}")), "{sheets}");
        }
        let line = format!(
            "审计库|0 2 * * *|30|{}|{}|{}|{}|",
            c["due"], c["succeeded"], c["failed"], c["missed"]
        );
        assert!(sheets.contains(&line), "{line} in {sheets}");
        assert!(sheets.contains(&format!("漏备次数|{missed}")), "{sheets}");
        assert!(sheets.contains("小于预期大小"), "{sheets}");
        assert!(sheets.contains("|审计库全量恢复|"), "{sheets}");
    }
    if let Some(pdf) = via_libreoffice(&xlsx, "xlsx") {
        assert!(pdf.contains("审计库"), "{pdf}");
    }

    // A period that is not a month is refused, and nothing is stored.
    let before = app.total("/api/v1/reports").await;
    for period in [
        json!("2025"),
        json!("2025-Q4"),
        json!({"from": "2025-11-01", "to": "2025-11-30"}),
    ] {
        let v = app
            .post_expect(
                &app.admin_token,
                "/api/v1/reports",
                &json!({"kind": "backup_monthly", "period": period, "format": "docx"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(fields(&v), ["period"], "{v}");
    }
    assert_eq!(app.total("/api/v1/reports").await, before);
}
