//! The demo data is the seed contract, loaded faithfully.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_demo_holds_every_system_with_its_seed_figures() {
    let app = spawn_demo().await;
    let (_, v) = app
        .get_json(&app.admin_token, "/api/v1/systems?limit=100&sort=id")
        .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 27);
    let by_code = |c: &str| items.iter().find(|i| i["code"] == c).unwrap().clone();
    let s = by_code("4.1.2.5");
    assert_eq!(s["name"], json!("广东省生态环境厅移动源监管平台系统"));
    assert_eq!(s["users_count"], json!(700));
    // 1500 G OBD + 300 G non-road machinery + 1 G new-vehicle data.
    assert_eq!(s["data_volume_gb"].as_f64(), Some(1801.0));
    let oa = by_code("4.1.2.23");
    assert_eq!(oa["service_mode"], json!("hybrid"));
    assert_eq!(
        by_code("4.1.2.18")["data_volume_gb"].as_f64(),
        Some(10000.0)
    );
    assert_eq!(by_code("4.1.2.10")["users_count"], json!(1678));
    let users: i64 = items
        .iter()
        .map(|i| i["users_count"].as_i64().unwrap())
        .sum();
    let volume: f64 = items
        .iter()
        .map(|i| i["data_volume_gb"].as_f64().unwrap())
        .sum();
    assert_eq!(users, 66_228);
    assert_eq!(volume, 41_901.0);
    assert!(
        items.iter().all(|i| i["url"].is_null()),
        "the seed names no URLs"
    );
}

#[tokio::test]
async fn the_demo_holds_every_itemized_equipment_line_and_the_declared_subtotals() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (_, v) = app.get_json(t, "/api/v1/inventory/summary").await;
    assert_eq!(v["sites"], json!(1));
    assert_eq!(v["assets_rows"], json!(55));
    let cat = |c: &str| {
        each(&v["by_category"])
            .find(|x| x["category"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(cat("environment")["quantity"], json!(10));
    assert_eq!(cat("network")["rows"], json!(34));
    assert_eq!(cat("network")["quantity"], json!(93));
    assert_eq!(cat("security")["quantity"], json!(5));
    assert_eq!(cat("server")["quantity"], json!(7));
    let declared: Vec<(String, i64, i64)> = each(&v["declared"])
        .map(|d| {
            (
                d["scope"].as_str().unwrap().to_string(),
                d["declared"].as_i64().unwrap(),
                d["counted"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        declared,
        [
            ("environment".into(), 10, 10),
            ("devices".into(), 112, 105),
            ("network".into(), 100, 93),
            ("security".into(), 5, 5),
            ("server".into(), 7, 7)
        ]
    );
    // Every device line's brand/model and years, e.g. the wireless APs and the DELL server.
    let (_, ap) = app.get_json(t, "/api/v1/assets?q=AP4130DN-DC").await;
    assert_eq!(ap["items"][0]["quantity"], json!(47));
    assert_eq!(ap["items"][0]["warranty_until"], json!("2021"));
    let (_, d) = app.get_json(t, "/api/v1/assets?q=PowerEdge").await;
    assert_eq!(d["items"][0]["name"], json!("政数局电子监察系统"));
    assert_eq!(d["items"][0]["acquired"], json!("2013"));
    let (_, ups) = app.get_json(t, "/api/v1/assets?q=80KVA").await;
    assert_eq!(ups["items"][0]["category"], json!("environment"));
    assert_eq!(ups["items"][0]["unit"], json!("套"));
}

#[tokio::test]
async fn the_demo_has_staffing_slots_per_system_and_invents_no_people() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    assert_eq!(app.total("/api/v1/staff").await, 0);
    let (_, v) = app.get_json(t, "/api/v1/assignments?limit=100").await;
    assert_eq!(v["total"], json!(56));
    let items = v["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|a| a["staff_id"].is_null() && a["level"] == "中级")
    );
    let oa: Vec<&Value> = items
        .iter()
        .filter(|a| a["system_name"] == "广东省生态环境厅办公自动化系统")
        .collect();
    let mut modes: Vec<(String, String)> = oa
        .iter()
        .map(|a| {
            (
                a["duty"].as_str().unwrap().into(),
                a["work_mode"].as_str().unwrap().into(),
            )
        })
        .collect();
    modes.sort();
    assert_eq!(
        modes,
        [
            ("dba".into(), "on_site".into()),
            ("dba".into(), "remote".into()),
            ("om_engineer".into(), "on_site".into()),
            ("om_engineer".into(), "remote".into())
        ]
    );
}

#[tokio::test]
async fn loading_the_demo_twice_adds_nothing() {
    let app = spawn_demo().await;
    let loaded = yunwei::demo::load_if_empty(&app.ctx).await.unwrap();
    assert!(!loaded);
    assert_eq!(app.total("/api/v1/systems").await, 27);
    assert_eq!(
        app.get(&app.admin_token, "/api/v1/systems/27")
            .await
            .status(),
        StatusCode::OK
    );
}
