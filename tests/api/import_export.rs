//! Import (CSV and XLSX, Chinese headers, all-or-nothing) and export that round-trips.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn import_raw(
    app: &TestApp,
    collection: &str,
    ctype: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    app.post_raw(
        &app.admin_token,
        &format!("/api/v1/{collection}/import"),
        ctype,
        body,
    )
    .await
}

const GOOD_CSV: &str = "名称,类别,品牌/型号,数量,单位,取得时间,过保时间,运行状态,备注\n\
核心交换机,网络设备,华为 Quidway 9306,1,台,2015年,2018年,良好,\n\
无线AP,网络设备,AP4130DN-DC,47,台,2019年,2021年,良好,\"含, 逗号\"\n\
精密空调,机房环境设备,MRD662A,2,台,2012,2015,一般,\n";

#[tokio::test]
async fn a_csv_with_chinese_headers_is_imported_in_one_go() {
    let app = spawn_app().await;
    let (s, v) = import_raw(&app, "assets", "text/csv", GOOD_CSV.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["imported"], json!(3));
    let (_, v) = app
        .get_json(&app.admin_token, "/api/v1/assets?q=无线AP")
        .await;
    let a = &v["items"][0];
    assert_eq!(a["quantity"], json!(47));
    assert_eq!(a["acquired"], json!("2019"));
    assert_eq!(a["notes"], json!("含, 逗号"));
    let (_, v) = app
        .get_json(&app.admin_token, "/api/v1/assets?q=精密空调")
        .await;
    assert_eq!(v["items"][0]["status"], json!("fair"));
    assert_eq!(v["items"][0]["category"], json!("environment"));
}

#[tokio::test]
async fn an_import_with_bad_rows_imports_nothing_and_names_every_row_and_column() {
    let app = spawn_app().await;
    let csv = "名称,类别,数量,过保时间\n\
好的一行,服务器设备,1,2020\n\
,服务器设备,1,2020\n\
坏类别,大型机,1,2020\n\
坏数量,服务器设备,很多,2020\n\
坏日期,服务器设备,1,明年\n";
    let before = app.audit_count().await;
    let (s, v) = import_raw(&app, "assets", "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_code(&v), "import_failed");
    let errs = v["error"]["details"]["errors"].as_array().unwrap();
    let got = rows_and_columns(errs);
    assert_eq!(
        got,
        [(3, "名称"), (4, "类别"), (5, "数量"), (6, "过保时间")],
        "{v}"
    );
    assert!(error_message(&v).contains("未导入任何数据"));
    assert_eq!(app.total("/api/v1/assets").await, 0);
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn a_row_without_its_category_is_refused() {
    let app = spawn_app().await;
    let (s, v) = import_raw(
        &app,
        "assets",
        "text/csv",
        "名称\n只有名称的一行\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["details"]["errors"][0]["column"], json!("类别"));
    assert_eq!(v["error"]["details"]["errors"][0]["row"], json!(2));
}

#[tokio::test]
async fn references_duplicates_and_empty_files_are_reported_without_importing() {
    let app = spawn_demo().await;
    let before = app.total("/api/v1/systems").await;
    let csv =
        "系统名称,用户数,数据量(GB)\n新系统甲,10,1.5\n新系统甲,10,1\n粤系列生态环境专区,1,1\n";
    let (s, v) = import_raw(&app, "systems", "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let rows: Vec<i64> = each(&v["error"]["details"]["errors"])
        .map(|e| e["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4]);
    assert_eq!(app.total("/api/v1/systems").await, before);

    let csv = "名称,类别,所在机房\n交换机X,网络设备,不存在的机房\n";
    let (s, v) = import_raw(&app, "assets", "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["details"]["errors"][0]["column"],
        json!("所在机房")
    );
    let csv = "名称,类别,所在机房\n交换机X,网络设备,龙口西机房\n";
    let (s, v) = import_raw(&app, "assets", "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    for body in [
        &b""[..],
        b"\n\n",
        b"\x00\x01\x02\x03garbage",
        b"PK\x03\x04not really a zip",
    ] {
        let (s, v) = import_raw(&app, "assets", "application/octet-stream", body.to_vec()).await;
        assert!(s.is_client_error(), "{s}");
        error_code(&v);
    }
    let (s, _) = import_raw(&app, "no-such-things", "text/csv", b"a\n1\n".to_vec()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn gbk_encoded_csv_from_excel_is_read() {
    let app = spawn_app().await;
    let (bytes, _, _) = encoding_rs::GBK.encode("名称,类别\n防火墙,安全设备\n");
    let (s, v) = import_raw(&app, "assets", "text/csv", bytes.to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get_json(&app.admin_token, "/api/v1/assets").await;
    assert_eq!(v["items"][0]["name"], json!("防火墙"));
}

async fn export(app: &TestApp, collection: &str, format: &str) -> Vec<u8> {
    let r = app
        .get(
            &app.admin_token,
            &format!("/api/v1/{collection}/export?format={format}"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

fn strip(items: &Value) -> Vec<Value> {
    each(items)
        .map(|i| {
            let mut i = i.clone();
            let o = i.as_object_mut().unwrap();
            for k in [
                "id",
                "created_at",
                "updated_at",
                "site_id",
                "user_id",
                "asset_ids",
                "system_ids",
            ] {
                o.remove(k);
            }
            i
        })
        .collect()
}

#[tokio::test]
async fn exports_in_xlsx_and_csv_round_trip_through_import() {
    let src = spawn_demo().await;
    for format in ["xlsx", "csv"] {
        let dst = spawn_app().await;
        // Sites first, so assets find their machine room by name.
        for collection in ["sites", "systems", "assets"] {
            let bytes = export(&src, collection, format).await;
            let form = file_form(&format!("{collection}.{format}"), bytes);
            let (status, v) = dst
                .post_multipart(
                    &dst.admin_token,
                    &format!("/api/v1/{collection}/import"),
                    form,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{format} {collection}: {v}");
        }
        for collection in ["sites", "systems", "assets"] {
            let (_, a) = src
                .get_json(&src.admin_token, &format!("/api/v1/{collection}?limit=500"))
                .await;
            let (_, b) = dst
                .get_json(&dst.admin_token, &format!("/api/v1/{collection}?limit=500"))
                .await;
            assert_eq!(
                strip(&a["items"]),
                strip(&b["items"]),
                "{format} {collection}"
            );
        }
    }
}

#[tokio::test]
async fn the_cli_imports_and_exports_like_the_api() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("assets.csv");
    std::fs::write(&file, GOOD_CSV).unwrap();
    let out = app.cli(&["import", "assets", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.total("/api/v1/assets").await, 3);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "名称,类别\nx,大型机\n").unwrap();
    let out = app.cli(&["import", "assets", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("第 2 行"));
    let xlsx = dir.path().join("out.xlsx");
    let out = app.cli(&[
        "export",
        "assets",
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
}
