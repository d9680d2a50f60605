//! The pages of requirements (需求与改进) and cloud resources (云资源利用率): by role, the
//! proposal form with its Chinese field errors, the status changes offered and posted, the
//! cloud month with its flags, trend chart data and table, and a bad import refused by row.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::*;

const PW: &str = "Changed#Pass2";

#[tokio::test]
async fn requirements_are_proposed_listed_and_moved_in_the_pages_by_role() {
    let app = spawn_demo().await;
    let (_, op_token) = app.user_with_role("op", "operator").await;
    app.user_with_role("pm", "manager").await;
    app.user_with_role("jianli", "auditor").await;
    app.user_with_role("citizen", "requester").await;
    let op = app.page_cookie("op", PW).await;
    let pm = app.page_cookie("pm", PW).await;
    let aud = app.page_cookie("jianli", PW).await;
    let req = app.page_cookie("citizen", PW).await;

    // Without a session: to the login page.
    let r = app.anon_get("/requirements").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?next=/requirements");

    let before = app.total("/api/v1/requirements").await;
    let (s, html) = app.page(&op, "/requirements").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("href=\"&#x2f;requirements\"") && html.contains("需求与改进"),
        "{html}"
    );
    assert!(
        html.contains("id=\"requirement-form\""),
        "operators propose"
    );

    // A bad proposal: the errors next to their fields, in Chinese; nothing stored.
    let (s, _, html) = post_form(
        &app,
        &op,
        "/requirements",
        &[
            ("title", " "),
            ("source", "user"),
            ("priority", "high"),
            ("planned_date", "2025/12/31"),
            ("ticket_ids", "abc"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"error-ticket_ids\""), "{html}");
    let (s, _, html) = post_form(
        &app,
        &op,
        "/requirements",
        &[("title", " "), ("source", "user"), ("priority", "high")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"error-title\"") && html.contains("请填写需求名称"),
        "{html}"
    );
    let (s, _, html) = post_form(
        &app,
        &op,
        "/requirements",
        &[
            ("title", "导出"),
            ("source", "user"),
            ("priority", "high"),
            ("planned_date", "2025/12/31"),
            ("system_id", "9999"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"error-planned_date\"") && html.contains("计划完成日期格式"),
        "{html}"
    );
    assert!(
        html.contains("id=\"error-system_id\"") && html.contains("系统 9999 不存在"),
        "{html}"
    );
    assert!(
        html.contains("value=\"导出\""),
        "what was typed is kept: {html}"
    );
    assert_eq!(app.total("/api/v1/requirements").await, before);

    // A good one is stored and its page opens.
    let (s, loc, _) = post_form(
        &app,
        &op,
        "/requirements",
        &[
            ("title", "增加批量导出"),
            ("source", "user"),
            ("priority", "high"),
            ("system_id", "23"),
            ("description", "按月导出办件"),
            ("planned_date", "2025-12-31"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(app.total("/api/v1/requirements").await, before + 1);
    let id: i64 = loc.trim_start_matches("/requirements/").parse().unwrap();
    let api = app
        .get_json_expect(
            &op_token,
            &format!("/api/v1/requirements/{id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(api["title"], "增加批量导出");
    assert_eq!(api["system_id"], 23);
    assert_eq!(api["planned_date"], "2025-12-31");

    // The operator may not move it: no buttons; the manager may analyse or reject.
    let (s, html) = app.page(&op, &loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("增加批量导出") && html.contains("已提出") && !html.contains("id=\"to-"),
        "{html}"
    );
    let (_, html) = app.page(&pm, &loc).await;
    assert!(
        html.contains("id=\"to-analysing\"") && html.contains("id=\"to-rejected\""),
        "{html}"
    );
    assert!(!html.contains("id=\"to-verified\"") && !html.contains("id=\"to-approved\""));
    // A posted change the role may not make is refused, nothing changed.
    let path = format!("{loc}/transition");
    let (s, _, _) = post_form(&app, &aud, &path, &[("to", "analysing")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = post_form(&app, &op, &path, &[("to", "analysing")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Rejecting needs a reason, said next to it.
    let (s, _, html) = post_form(&app, &pm, &path, &[("to", "rejected"), ("reason", "")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("驳回需求请填写原因") && html.contains("id=\"error-reason\""),
        "{html}"
    );
    // The button posts the change.
    let (s, to, _) = post_form(&app, &pm, &path, &[("to", "analysing"), ("reason", "")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(to, loc);
    let api = app
        .get_json_expect(
            &op_token,
            &format!("/api/v1/requirements/{id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(api["status"], "analysing");
    let (_, html) = app.page(&pm, &loc).await;
    assert!(
        html.contains("分析中") && html.contains("id=\"to-approved\""),
        "{html}"
    );
    assert!(
        html.contains("id=\"history\"") && html.matches("<tr><td>").count() >= 2,
        "{html}"
    );
    // A status change that does not follow is refused in Chinese.
    let (s, _, html) = post_form(&app, &pm, &path, &[("to", "delivered")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("不能转为"), "{html}");

    // Filters and pages.
    let (_, html) = app.page(&aud, "/requirements?status=analysing").await;
    assert!(html.contains("增加批量导出"), "{html}");
    assert!(
        !html.contains("id=\"requirement-form\""),
        "the auditor does not propose"
    );
    let (_, html) = app
        .page(&aud, "/requirements?status=proposed&q=%E6%89%B9%E9%87%8F")
        .await;
    assert!(!html.contains("增加批量导出"), "{html}");
    let (_, html) = app
        .page(
            &aud,
            "/requirements?system_id=23&source=user&q=%E6%89%B9%E9%87%8F",
        )
        .await;
    assert!(html.contains("增加批量导出"), "{html}");
    let (s, _) = app.page(&aud, "/requirements?status=done").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for i in 0..3 {
        app.post_expect(
            &op_token,
            "/api/v1/requirements",
            &json!({"title": format!("翻页 {i}"), "source": "inspection", "priority": "low"}),
            StatusCode::CREATED,
        )
        .await;
    }
    let (_, html) = app
        .page(&aud, "/requirements?source=inspection&limit=2")
        .await;
    assert!(
        html.contains("id=\"next\"") && !html.contains("id=\"prev\""),
        "{html}"
    );
    assert!(
        html.contains("source=inspection&amp;offset=2&amp;limit=2"),
        "{html}"
    );
    let (_, html) = app
        .page(&aud, "/requirements?source=inspection&limit=2&offset=2")
        .await;
    assert!(
        html.contains("id=\"prev\"") && !html.contains("id=\"next\""),
        "{html}"
    );
    assert_eq!(html.matches("翻页 ").count(), 1, "{html}");

    // A requester sees only their own, and not the cloud page.
    let (s, html) = app.page(&req, "/requirements").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !html.contains("增加批量导出") && !html.contains("href=\"&#x2f;cloud\""),
        "{html}"
    );
    let (s, _) = app.page(&req, &loc).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.page(&req, "/cloud").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

const HEAD: &str = "名称,所属系统,月份,vCPU,内存(GB),磁盘(GB),CPU平均(%),CPU峰值(%),内存平均(%),内存峰值(%),磁盘使用(%)\n";
const SYS_B: &str = "广东省水污染防治挂图作战系统";

async fn import_page(app: &TestApp, cookie: &str, csv: &str) -> (StatusCode, String) {
    let form = Form::new().text("period", "2025-11").part(
        "file",
        Part::bytes(csv.as_bytes().to_vec()).file_name("cloud.csv"),
    );
    let r = app.post_multipart_page(cookie, "/cloud/import", form).await;
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_cloud_page_shows_the_month_its_flags_and_trend_and_imports_by_the_rules() {
    let app = demo_at(Utc.with_ymd_and_hms(2025, 12, 3, 1, 0, 0).unwrap()).await;
    app.user_with_role("op", "operator").await;
    app.user_with_role("jianli", "auditor").await;
    let op = app.page_cookie("op", PW).await;
    let aud = app.page_cookie("jianli", PW).await;

    let r = app.anon_get("/cloud").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Last month by default, empty.
    let (s, html) = app.page(&aud, "/cloud").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("value=\"2025-11\"") && html.contains("没有导入云资源数据"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"import-form\""),
        "the auditor does not import"
    );

    // A file with a bad row: the row and column named, nothing imported.
    let bad = format!(
        "{HEAD}vm-a1,4.1.2.1,2025-11,4,8,100,5,20,6,30,40\n\
         vm-a2,4.1.2.1,2025-11,8,16,200,abc,95,40,60,30\n"
    );
    let (s, html) = import_page(&app, &op, &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("未导入任何数据") && html.contains("第 3 行") && html.contains("CPU平均(%)"),
        "{html}"
    );
    assert_eq!(app.total("/api/v1/cloud-resources").await, 0);
    let (s, _) = import_page(&app, &aud, &bad).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // October, then November through the page.
    let oct = format!(
        "{HEAD}vm-a1,4.1.2.1,2025-10,4,8,100,15,25,10,20,40\n\
         vm-b1,{SYS_B},2025-10,2,4,50,20,30,10,20,60\n"
    );
    let nov = format!(
        "{HEAD}vm-a1,4.1.2.1,2025-11,4,8,100,5,20,6,30,40\n\
         vm-a2,4.1.2.1,2025-11,8,16,200,50,95,40,60,30\n\
         vm-b1,{SYS_B},2025-11,2,4,50,12,30,8,20,88\n"
    );
    let (s, html) = import_page(&app, &op, &oct).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("id=\"import-ok\"") && html.contains("已导入 2 条"),
        "{html}"
    );
    let (s, _) = import_page(&app, &op, &nov).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.total("/api/v1/cloud-resources").await, 5);

    let (s, html) = app.page(&aud, "/cloud?period=2025-11").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(SYS_B) && html.contains("vm-a2"), "{html}");
    // vm-a1 idle, vm-a2 and vm-b1 over-used (peak 95, disk 88) at the default 10 / 85.
    assert_eq!(
        html.matches("<span class=\"badge expiring\">空闲</span>")
            .count(),
        1,
        "{html}"
    );
    assert_eq!(
        html.matches("<span class=\"badge expired\">过载</span>")
            .count(),
        2,
        "{html}"
    );
    assert!(html.contains("过载 1") && html.contains("空闲 1"), "{html}");
    // The trend: the chart's data as JSON in an attribute, and the table of the same.
    let start = html.find("data-trend='").unwrap() + "data-trend='".len();
    let end = start + html[start..].find('\'').unwrap();
    let trend: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(
        trend["months"],
        json!(["2025-08", "2025-09", "2025-10", "2025-11"]),
        "{trend}"
    );
    // All resources' CPU: October (15 + 20) / 2, November (5 + 50 + 12) / 3.
    assert_eq!(
        trend["series"][0]["data"],
        json!([null, null, 17.5, 22.3]),
        "{trend}"
    );
    assert!(html.contains("<td>17.5</td><td>22.3</td>"), "{html}");
    assert!(
        html.contains("id=\"cloud-report-form\"")
            && html.contains("name=\"kind\" value=\"cloud_utilization\"")
    );
    // The report form posts to /reports and makes the report.
    let (s, loc, body) = post_form(
        &app,
        &aud,
        "/reports",
        &[
            ("kind", "cloud_utilization"),
            ("period", "2025-11"),
            ("format", "xlsx"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(loc, "/reports");
    let (_, html) = app.page(&aud, "/reports").await;
    assert!(html.contains(".xlsx"), "{html}");
    // A bad month is refused in Chinese.
    let (s, html) = app.page(&aud, "/cloud?period=2025-13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("月份应写作"), "{html}");
}
