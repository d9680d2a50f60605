//! Cloud resources (云资源, 4.2.14.3): import with the inventory's rules, flags at default
//! and changed thresholds, the summary against hand counts, roles, and the monthly report.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const HEAD: &str = "名称,所属系统,月份,vCPU,内存(GB),磁盘(GB),CPU平均(%),CPU峰值(%),内存平均(%),内存峰值(%),磁盘使用(%)\n";
/// Systems of the demo: 4.1.2.1 given by its code, the other by its name.
const SYS_A: &str = "广东省生态环境厅公众网支撑平台系统";
const SYS_B: &str = "广东省水污染防治挂图作战系统";

/// November: vm-a1 idle; vm-a2 over-used (CPU peak 95); vm-b1 over-used at 85 (disk 88) and
/// idle at 15 %; vm-b2 neither.
fn november() -> String {
    format!(
        "{HEAD}vm-a1,4.1.2.1,2025-11,4,8,100,5,20,6,30,40\n\
         vm-a2,4.1.2.1,2025-11,8,16,200,50,95,40,60,30\n\
         vm-b1,{SYS_B},2025-11,2,4,50,12,30,8,20,88\n\
         vm-b2,{SYS_B},2025/11,16,32,500,30,80,50,70,50\n"
    )
}

fn october() -> String {
    format!(
        "{HEAD}vm-a1,4.1.2.1,2025-10,4,8,100,15,25,10,20,40\n\
         vm-b1,{SYS_B},2025年10月,2,4,50,20,30,10,20,60\n"
    )
}

async fn app() -> TestApp {
    demo_at(Utc.with_ymd_and_hms(2025, 12, 3, 1, 0, 0).unwrap()).await
}

async fn import_csv(app: &TestApp, token: &str, csv: &str) -> (StatusCode, Value) {
    app.post_raw(
        token,
        "/api/v1/cloud-resources/import",
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await
}

async fn import_file(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
) -> (StatusCode, Value) {
    let form = file_form(name, bytes);
    app.post_multipart(token, "/api/v1/cloud-resources/import", form)
        .await
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let v = app
        .get_json_expect(
            &app.admin_token,
            &format!("/api/v1/cloud-resources?{query}"),
            StatusCode::OK,
        )
        .await;
    let mut n: Vec<String> = each(&v["items"])
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    assert_eq!(v["total"].as_i64().unwrap(), n.len() as i64, "{v}");
    n
}

#[tokio::test]
async fn import_flags_summary_thresholds_and_roles() {
    let app = app().await;
    let t = app.admin_token.clone();
    let (_, op) = app.user_with_role("yunying", "operator").await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let (_, sup) = app.user_with_role("jianli", "supervisor").await;
    let (_, req) = app.user_with_role("qingqiu", "requester").await;

    // Roles: the supervisor reads but does not import; the requester sees nothing.
    let (s, _) = import_csv(&app, &sup, &october()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = import_csv(&app, &req, &october()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&req, "/api/v1/cloud-resources").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&req, "/api/v1/cloud-resources/summary?period=2025-11")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // October raw as CSV by the operator, November as a multipart file by the admin.
    let (s, v) = import_csv(&app, &op, &october()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["imported"], 2);
    assert_eq!(v["replaced"], 0);
    let (s, v) = import_file(&app, &t, november().into_bytes(), "11月.csv").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["imported"], 4);
    assert_eq!(v["periods"]["2025-11"], 4);
    assert_eq!(
        app.get(&sup, "/api/v1/cloud-resources?period=2025-11")
            .await
            .status(),
        StatusCode::OK
    );

    // Flags at the defaults (10 %, 85 %).
    assert_eq!(names(&app, "period=2025-11").await.len(), 4);
    assert_eq!(names(&app, "period=2025-11&flag=idle").await, vec!["vm-a1"]);
    assert_eq!(
        names(&app, "period=2025-11&flag=overused").await,
        vec!["vm-a2", "vm-b1"]
    );
    let a = system_id_by(&app, "name", SYS_A).await;
    let b = system_id_by(&app, "name", SYS_B).await;
    assert_eq!(
        names(&app, &format!("system_id={b}")).await,
        vec!["vm-b1", "vm-b1", "vm-b2"]
    );
    let one = app
        .get_json_expect(
            &t,
            "/api/v1/cloud-resources?period=2025-11&flag=idle",
            StatusCode::OK,
        )
        .await;
    let item = &one["items"][0];
    assert_eq!(item["system_name"], SYS_A);
    assert_eq!(item["idle"], true);
    assert_eq!(item["overused"], false);
    let id = item["id"].as_i64().unwrap();
    let got = app
        .get_json_expect(
            &sup,
            &format!("/api/v1/cloud-resources/{id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["name"], "vm-a1");
    assert_eq!(got["cpu_peak"], 20.0);

    // The summary against hand counts.
    let s = app
        .get_json_expect(
            &sup,
            "/api/v1/cloud-resources/summary?period=2025-11",
            StatusCode::OK,
        )
        .await;
    assert_eq!(s["thresholds"], json!({"idle": 10.0, "over": 85.0}));
    let sys = |id: i64| {
        each(&s["systems"])
            .find(|x| x["system_id"] == id)
            .cloned()
            .unwrap()
    };
    let sa = sys(a);
    assert_eq!(sa["system_name"], SYS_A);
    assert_eq!(
        (
            &sa["resources"],
            &sa["vcpu"],
            &sa["memory_gb"],
            &sa["disk_gb"]
        ),
        (&json!(2), &json!(12), &json!(24.0), &json!(300.0))
    );
    assert_eq!(sa["cpu_avg"], 27.5);
    assert_eq!(sa["mem_avg"], 23.0);
    assert_eq!(sa["disk_used"], 35.0);
    assert_eq!((&sa["idle"], &sa["overused"]), (&json!(1), &json!(1)));
    let periods: Vec<&str> = each(&sa["trend"])
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, vec!["2025-08", "2025-09", "2025-10"]);
    assert_eq!(sa["trend"][2]["cpu_avg"], 15.0);
    assert_eq!(sa["trend"][0]["resources"], 0);
    assert_eq!(sa["cpu_avg_change"], 12.5);
    let sb = sys(b);
    assert_eq!((&sb["resources"], &sb["vcpu"]), (&json!(2), &json!(18)));
    assert_eq!(sb["cpu_avg"], 21.0);
    assert_eq!(sb["mem_avg"], 29.0);
    assert_eq!((&sb["idle"], &sb["overused"]), (&json!(0), &json!(1)));
    assert_eq!(sb["cpu_avg_change"], 1.0);
    assert_eq!(s["total"]["resources"], 4);
    assert_eq!(s["total"]["vcpu"], 30);
    assert_eq!(s["total"]["cpu_avg"], 24.3);
    assert_eq!(s["total"]["mem_avg"], 26.0);
    assert_eq!(
        (&s["total"]["idle"], &s["total"]["overused"]),
        (&json!(1), &json!(2))
    );

    // Thresholds: the operator may not change them, bad ones are refused, the manager may.
    let (st, _) = app
        .send_json(
            "PUT",
            &op,
            "/api/v1/cloud-resources/thresholds",
            &json!({"idle": 15, "over": 90}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let before = app.audit_count().await;
    let (st, v) = app
        .send_json(
            "PUT",
            &mgr,
            "/api/v1/cloud-resources/thresholds",
            &json!({"idle": 120, "over": -1}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("空闲阈值"), "{v}");
    assert_eq!(app.audit_count().await, before);
    let (st, v) = app
        .send_json(
            "PUT",
            &mgr,
            "/api/v1/cloud-resources/thresholds",
            &json!({"idle": 15, "over": 90}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(app.audit_count().await, before + 1);
    // Flags at the changed thresholds (15 %, 90 %).
    assert_eq!(
        names(&app, "period=2025-11&flag=idle").await,
        vec!["vm-a1", "vm-b1"]
    );
    assert_eq!(
        names(&app, "period=2025-11&flag=overused").await,
        vec!["vm-a2"]
    );
    let s = app
        .get_json_expect(
            &t,
            "/api/v1/cloud-resources/summary?period=2025-11",
            StatusCode::OK,
        )
        .await;
    assert_eq!(s["thresholds"], json!({"idle": 15.0, "over": 90.0}));
    assert_eq!(
        (&s["total"]["idle"], &s["total"]["overused"]),
        (&json!(2), &json!(1))
    );
    let th = app
        .get_json_expect(&sup, "/api/v1/cloud-resources/thresholds", StatusCode::OK)
        .await;
    assert_eq!(th, json!({"idle": 15.0, "over": 90.0}));

    // Bad filters are 422, not 5xx.
    for q in ["period=2025-13", "flag=busy", "system_id=x"] {
        let (st, v) = app
            .get_json(&t, &format!("/api/v1/cloud-resources?{q}"))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (st, _) = app.get_json(&t, "/api/v1/cloud-resources/summary").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Importing November again replaces November (October stays).
    let again = format!("{HEAD}vm-new,4.1.2.1,2025-11,2,4,40,50,60,50,60,50\n");
    let (st, v) = import_csv(&app, &op, &again).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["replaced"], 4);
    assert!(v["message"].as_str().unwrap().contains("替换"), "{v}");
    assert_eq!(names(&app, "period=2025-11").await, vec!["vm-new"]);
    assert_eq!(names(&app, "period=2025-10").await.len(), 2);

    // Delete: the supervisor may not, the operator may (audited).
    let v = app
        .get_json_expect(&t, "/api/v1/cloud-resources?period=2025-11", StatusCode::OK)
        .await;
    let id = v["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/cloud-resources/{id}");
    assert_eq!(app.delete(&sup, &path).await, StatusCode::FORBIDDEN);
    let before = app.audit_count().await;
    assert_eq!(app.delete(&op, &path).await, StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count().await, before + 1);
    assert_eq!(app.get(&t, &path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&op, &path).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_import_with_one_bad_row_imports_nothing_and_names_it() {
    let app = app().await;
    let t = app.admin_token.clone();
    let before = app.audit_count().await;
    let csv = format!(
        "{HEAD}vm-1,4.1.2.1,2025-11,4,8,100,5,20,6,30,40\n\
         vm-2,无此系统,2025-11,4,8,100,5,120,6,30,40\n\
         vm-3,{SYS_A},2025-11,4,8,100,5,20,6,30,40\n"
    );
    let (s, v) = import_csv(&app, &t, &csv).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_code(&v), "import_failed");
    let errs = v["error"]["details"]["errors"].as_array().unwrap();
    let got = rows_and_columns(errs);
    assert_eq!(got, vec![(3, "所属系统"), (3, "CPU峰值(%)")], "{v}");
    assert!(errs[0]["message"].as_str().unwrap().contains("无此系统"));
    assert!(error_message(&v).contains("未导入任何数据"), "{v}");
    assert_eq!(app.total("/api/v1/cloud-resources").await, 0);
    assert_eq!(app.audit_count().await, before);
    // A missing column and an empty file are refused as well.
    let (s, v) = import_csv(&app, &t, "名称,所属系统\nvm,4.1.2.1\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("缺少“月份”列"), "{v}");
    let (s, _) = import_csv(&app, &t, "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = import_file(&app, &t, b"PK\x03\x04garbage".to_vec(), "x.xlsx").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.total("/api/v1/cloud-resources").await, 0);
}

#[tokio::test]
async fn the_monthly_report_shows_the_summary_figures() {
    let app = app().await;
    let t = app.admin_token.clone();
    for csv in [october(), november()] {
        let (s, v) = import_csv(&app, &t, &csv).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A report of a year is refused: the report is monthly.
    let (s, v) = app
        .post(
            &t,
            "/api/v1/reports",
            &json!({"kind": "cloud_utilization", "period": "2025", "format": "docx"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, req) = app.user_with_role("qingqiu", "requester").await;
    let (s, _) = app
        .post(
            &req,
            "/api/v1/reports",
            &json!({"kind": "cloud_utilization", "period": "2025-11", "format": "docx"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for format in ["docx", "xlsx"] {
        let (r, bytes) = generate_report(
            &app,
            &t,
            &json!({"kind": "cloud_utilization", "period": "2025-11", "format": format}),
        )
        .await;
        assert_eq!(r["status"], "done", "{r}");
        assert_eq!(r["kind"], "cloud_utilization");
        assert!(bytes.starts_with(b"PK"));
        if let Some(text) = read_back(&bytes, format) {
            let needles: Vec<String> = if format == "docx" {
                vec![
                    "云资源利用率月度情况报表".into(),
                    "共统计云资源 4 个，涉及 2 个系统".into(),
                    "CPU 平均利用率 24.3%".into(),
                    "空闲资源 1 个".into(),
                    "过载资源 2 个".into(),
                    format!("{SYS_A}|2|12|24|300|27.5|23|35|1|1"),
                    format!("{SYS_B}|2|18|36|550|21|29|69|0|1"),
                    "合计|4|30|60|850|24.3|26|52|1|2".into(),
                    format!("vm-a1|{SYS_A}|4|8|5|6"),
                    format!("vm-b1|{SYS_B}|30|20|88"),
                    "2025-10|2|6|12|150|17.5|10|50|0|0".into(),
                    "用户单位（签章）".into(),
                    "title=云资源利用率月度情况报表".into(),
                ]
            } else {
                vec![
                    "sheet=各系统汇总".into(),
                    "合计|4|30|60|850|24.3|26|52|1|2".into(),
                    "sheet=空闲资源".into(),
                    "sheet=过载资源".into(),
                    "sheet=趋势".into(),
                    "sheet=明细".into(),
                ]
            };
            for n in &needles {
                assert!(text.contains(n.as_str()), "{n} missing in:\n{text}");
            }
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            assert!(pdf.contains("24.3"), "{pdf}");
            assert!(pdf.contains("vm-b1"), "{pdf}");
            if format == "docx" {
                assert!(pdf.contains("云资源利用率月度情况报表"), "{pdf}");
            }
        }
    }
}

#[tokio::test]
async fn an_xlsx_export_with_numbers_and_a_title_row_is_imported() {
    let app = app().await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "云资源利用率（2025年11月）").unwrap();
    for (i, h) in HEAD.trim().split(',').enumerate() {
        ws.write_string(1, i as u16, h).unwrap();
    }
    ws.write_string(2, 0, "vm-x").unwrap();
    ws.write_string(2, 1, SYS_A).unwrap();
    ws.write_string(2, 2, "2025-11").unwrap();
    for (i, v) in [8.0, 16.0, 200.0, 3.5, 9.0, 4.0, 9.5, 20.0]
        .iter()
        .enumerate()
    {
        ws.write_number(2, (i + 3) as u16, *v).unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let (s, v) = import_file(&app, &app.admin_token.clone(), bytes, "云资源.xlsx").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["imported"], 1);
    let l = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/cloud-resources?flag=idle",
            StatusCode::OK,
        )
        .await;
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["items"][0]["cpu_avg"], 3.5);
    assert_eq!(l["items"][0]["vcpu"], 8);
}

#[tokio::test]
async fn the_monthly_job_makes_the_report_once_the_month_is_imported() {
    let app = app().await;
    // December 3rd: November has no utilisation yet, so no cloud report.
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    let (s, v) = import_csv(&app, &app.admin_token.clone(), &november()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // November's rows make its DOCX and XLSX, once.
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 2);
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/reports", StatusCode::OK)
        .await;
    let kinds: Vec<(&str, &str)> = each(&list["items"])
        .map(|r| (r["kind"].as_str().unwrap(), r["format"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 2, "{list}");
    assert!(kinds.contains(&("cloud_utilization", "docx")));
    assert!(kinds.contains(&("cloud_utilization", "xlsx")));
}
