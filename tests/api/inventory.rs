//! Inventory records through the API: create, validate, update, delete, list options.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn an_asset_is_created_read_updated_and_deleted_with_computed_warranty() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let site = app
        .post_expect(
            t,
            "/api/v1/sites",
            &json!({"name": "龙口西机房"}),
            StatusCode::CREATED,
        )
        .await;
    let a = app.post_expect(t, "/api/v1/assets", &json!({"name": "核心交换机", "category": "network", "brand_model": "华为 Quidway 9306",
            "quantity": 2, "unit": "台", "acquired": "2015年", "warranty_until": "2018", "site_id": site["id"]}), StatusCode::CREATED).await;
    assert_eq!(a["acquired"], json!("2015"));
    assert_eq!(a["warranty_expired"], json!(true));
    assert_eq!(a["warranty_status"], json!("expired"));
    assert_eq!(a["status"], json!("good"));
    assert_eq!(a["site_name"], json!("龙口西机房"));
    let id = a["id"].as_i64().unwrap();

    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/assets/{id}"),
            &json!({"status": "故障", "warranty_until": "2099-12-31"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], json!("faulty"));
    assert_eq!(v["warranty_status"], json!("valid"));
    // A client may send back what it read.
    app.patch_expect(t, &format!("/api/v1/assets/{id}"), &v, StatusCode::OK)
        .await;

    let v = app
        .get_json_expect(t, &format!("/api/v1/assets/{id}"), StatusCode::OK)
        .await;
    assert_eq!(v["quantity"], json!(2));
    assert_eq!(
        app.delete(t, &format!("/api/v1/assets/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(t, &format!("/api/v1/assets/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(t, &format!("/api/v1/assets/{id}")).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn warranty_is_expired_expiring_within_90_days_or_valid_on_the_clock_date() {
    let app = spawn_with(Options {
        start: Some(Utc.with_ymd_and_hms(2025, 10, 15, 2, 0, 0).unwrap()),
        ..Options::default()
    })
    .await;
    let t = &app.admin_token;
    for (name, until) in [
        ("a", "2025-09-30"),
        ("b", "2025-12-15"),
        ("c", "2026"),
        ("d", "2025"),
    ] {
        app.post_expect(
            t,
            "/api/v1/assets",
            &json!({"name": name, "category": "server", "warranty_until": until}),
            StatusCode::CREATED,
        )
        .await;
    }
    app.post(
        t,
        "/api/v1/assets",
        &json!({"name": "e", "category": "server"}),
    )
    .await;
    let names = |v: &Value| -> Vec<String> {
        each(&v["items"])
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = app.get_json(t, "/api/v1/assets?warranty=expired").await;
    assert_eq!(names(&v), ["a"]);
    let (_, v) = app.get_json(t, "/api/v1/assets?warranty=expiring").await;
    assert_eq!(names(&v), ["b", "d"]);
    let (_, v) = app.get_json(t, "/api/v1/assets?warranty=valid").await;
    assert_eq!(names(&v), ["c"]);
    let (_, v) = app.get_json(t, "/api/v1/assets?warranty=unknown").await;
    assert_eq!(names(&v), ["e"]);
    let (_, v) = app.get_json(t, "/api/v1/assets?sort=name").await;
    assert_eq!(v["items"][1]["warranty_status"], json!("expiring"));
    app.get_json_expect(
        t,
        "/api/v1/assets?warranty=soon",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn bad_asset_input_gets_a_chinese_message_per_field_and_changes_nothing() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let before_audit = app.audit_count().await;
    let cases = [
        (json!({"category": "server"}), "name", "请填写名称"),
        (json!({"name": "x"}), "category", "请填写类别"),
        (
            json!({"name": "x", "category": "mainframe"}),
            "category",
            "无效",
        ),
        (
            json!({"name": "x", "category": "server", "quantity": "两台"}),
            "quantity",
            "整数",
        ),
        (
            json!({"name": "x", "category": "server", "quantity": -1}),
            "quantity",
            "之间",
        ),
        (
            json!({"name": "x", "category": "server", "quantity": 1.5}),
            "quantity",
            "整数",
        ),
        (
            json!({"name": "x", "category": "server", "warranty_until": "明年"}),
            "warranty_until",
            "无法识别",
        ),
        (
            json!({"name": "x", "category": "server", "site_id": 424242}),
            "site_id",
            "不存在",
        ),
        (
            json!({"name": "x", "category": "server", "colour": "red"}),
            "colour",
            "未知字段",
        ),
        (json!({"name": ["x"], "category": "server"}), "name", "文本"),
        (
            json!({"name": "x".repeat(101), "category": "server"}),
            "name",
            "100",
        ),
    ];
    for (body, field, needle) in cases {
        let (s, v) = app.post(t, "/api/v1/assets", &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(error_code(&v), "validation_failed");
        let d = v["error"]["details"].as_array().unwrap();
        assert!(
            d.iter()
                .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(needle)),
            "{body}: {v}"
        );
    }
    assert_eq!(app.total("/api/v1/assets").await, 0);
    assert_eq!(app.audit_count().await, before_audit);
}

#[tokio::test]
async fn wrong_types_unknown_ids_and_oversized_bodies_are_4xx_never_5xx() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    for path in [
        "/api/v1/assets/abc",
        "/api/v1/assets/0",
        "/api/v1/assets/-4",
        "/api/v1/assets/99999999999999999999",
        "/api/v1/systems/12345",
        "/api/v1/nothing",
        "/api/v1/nothing/1",
    ] {
        let (s, v) = app.get_json(t, path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        error_code(&v);
    }
    app.patch_expect(
        t,
        "/api/v1/assets/777",
        &json!({"name": "x"}),
        StatusCode::NOT_FOUND,
    )
    .await;
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .client
        .post(app.url("/api/v1/assets"))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body(format!("{{\"name\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    error_code(&r.json().await.unwrap());
    let r = app
        .client
        .post(app.url("/api/v1/assets"))
        .bearer_auth(t)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.post_expect(t, "/api/v1/assets", &json!([1, 2]), StatusCode::BAD_REQUEST)
        .await;
    for q in [
        "limit=0",
        "limit=abc",
        "limit=5000",
        "offset=-1",
        "sort=notes",
        "sort=-password",
    ] {
        let (s, v) = app.get_json(t, &format!("/api/v1/assets?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    app.get_json_expect(
        t,
        "/api/v1/assets?category=mainframe",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let r = app
        .client
        .put(app.url("/api/v1/assets"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    error_code(&r.json().await.unwrap());
}

#[tokio::test]
async fn lists_filter_search_sort_and_paginate() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (_, v) = app.get_json(t, "/api/v1/assets?category=security").await;
    assert_eq!(v["total"], json!(5));
    let (_, v) = app.get_json(t, "/api/v1/assets?category=安全设备").await;
    assert_eq!(
        v["total"],
        json!(5),
        "Chinese labels are accepted as filters"
    );
    let (_, v) = app.get_json(t, "/api/v1/assets?q=h3c%20s5100").await;
    assert_eq!(
        v["total"],
        json!(7),
        "search is case-insensitive on both backends"
    );
    let (_, v) = app.get_json(t, "/api/v1/assets?q=100%25").await;
    assert_eq!(v["total"], json!(0), "% is matched literally");
    let (_, v) = app
        .get_json(t, "/api/v1/assets?sort=-quantity&limit=1")
        .await;
    assert_eq!(v["items"][0]["name"], json!("无线AP"));
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, a) = app
        .get_json(t, "/api/v1/systems?sort=-users_count&limit=3&offset=0")
        .await;
    let (_, b) = app
        .get_json(t, "/api/v1/systems?sort=-users_count&limit=3&offset=3")
        .await;
    assert_eq!(a["items"][0]["users_count"], json!(15000));
    assert_eq!(a["items"][1]["users_count"], json!(10000));
    assert_ne!(a["items"][2]["id"], b["items"][0]["id"]);
    assert_eq!(b["total"], json!(27));
    let (_, v) = app.get_json(t, "/api/v1/systems?service_mode=hybrid").await;
    assert_eq!(v["total"], json!(1));
    let (_, v) = app.get_json(t, "/api/v1/assignments?staff_id=none").await;
    assert_eq!(v["total"], json!(56));
}

#[tokio::test]
async fn a_site_with_equipment_cannot_be_deleted_and_duplicate_names_conflict() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    let (s, v) = app
        .send_json("DELETE", t, "/api/v1/sites/1", &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(error_message(&v).contains("设备"));
    app.post_expect(
        t,
        "/api/v1/systems",
        &json!({"name": "广东省生态环境厅办公自动化系统"}),
        StatusCode::CONFLICT,
    )
    .await;
    app.patch_expect(
        t,
        "/api/v1/systems/2",
        &json!({"name": "广东省生态环境厅办公自动化系统"}),
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn systems_run_on_assets_and_staffing_slots_can_be_filled() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    // Idempotent: the second time answers the same.
    for time in ["first", "second"] {
        let r = app
            .client
            .put(app.url("/api/v1/systems/23/assets/49"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{time} time");
    }
    let (_, v) = app.get_json(t, "/api/v1/systems/23/assets").await;
    assert_eq!(v["total"], json!(1));
    let (_, v) = app.get_json(t, "/api/v1/assets/49").await;
    assert_eq!(v["system_ids"], json!([23]));
    let r = app
        .client
        .put(app.url("/api/v1/systems/23/assets/9999"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(t, "/api/v1/systems/23/assets/49").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(t, "/api/v1/systems/23/assets/49").await,
        StatusCode::NOT_FOUND
    );

    let (_, v) = app.get_json(t, "/api/v1/systems/23/assignments").await;
    assert_eq!(v["total"], json!(4));
    app.post_expect(
        t,
        "/api/v1/staff",
        &json!({"name": "驻场工程师", "phone": "020-12345678", "work_mode": "驻场"}),
        StatusCode::CREATED,
    )
    .await;
    let slot = v["items"][0]["id"].as_i64().unwrap();
    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/assignments/{slot}"),
            &json!({"staff_id": "驻场工程师"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["staff_name"], json!("驻场工程师"));
    app.post_expect(
        t,
        "/api/v1/staff",
        &json!({"name": "x", "phone": "call me"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// A number field cleared and then set again saves, on every pooled connection. sqlx's
/// `Any` driver types a NULL `f64` as `float4`, and PostgreSQL caches a statement with
/// the types of its first execution: an UPDATE first run with the volume cleared was
/// refused ever after on that connection once a value came ("incorrect binary data
/// format").
#[tokio::test]
async fn a_data_volume_cleared_and_set_again_saves_on_every_connection() {
    let app = spawn_demo().await;
    let t = &app.admin_token;
    for _ in 0..24 {
        app.patch_expect(
            t,
            "/api/v1/systems/2",
            &json!({"data_volume_gb": null}),
            StatusCode::OK,
        )
        .await;
    }
    for i in 0..24 {
        let v = app
            .patch_expect(
                t,
                "/api/v1/systems/2",
                &json!({"data_volume_gb": 100.5 + f64::from(i)}),
                StatusCode::OK,
            )
            .await;
        assert_eq!(v["data_volume_gb"], json!(100.5 + f64::from(i)), "{v}");
    }
}
