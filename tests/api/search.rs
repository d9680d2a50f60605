//! Global search (issue 15, item 7): two-character Chinese words, ticket numbers, what each
//! role may see, the index following writes, bad input; and in a browser, search as you
//! type and the similar resolved tickets suggested while a ticket is written.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, created_id, each, error_code, error_message, spawn_app};

async fn search(app: &TestApp, token: &str, q: &str) -> Value {
    let path = format!("/api/v1/search?q={}", urlencoding(q));
    app.get_json_expect(token, &path, StatusCode::OK).await
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn titles(v: &Value) -> Vec<String> {
    each(&v["items"])
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

fn has(v: &Value, kind: &str, id: i64) -> bool {
    each(&v["items"]).any(|i| i["type"] == json!(kind) && i["id"] == json!(id))
}

async fn open(app: &TestApp, token: &str, title: &str, description: &str) -> Value {
    app.post_expect(
        token,
        "/api/v1/tickets",
        &json!({"kind": "request", "title": title, "description": description}),
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn two_character_chinese_words_find_tickets_by_title_and_text() {
    let app = spawn_app().await;
    let a = open(
        &app,
        &app.admin_token,
        "OA系统无法登录",
        "用户反馈输入密码后页面空白",
    )
    .await;
    let b = open(
        &app,
        &app.admin_token,
        "数据库备份失败",
        "凌晨两点的全量任务报错 ORA-19502",
    )
    .await;
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());

    let v = search(&app, &app.admin_token, "登录").await;
    assert!(has(&v, "ticket", a) && !has(&v, "ticket", b), "{v}");
    let v = search(&app, &app.admin_token, "备份").await;
    assert!(has(&v, "ticket", b) && !has(&v, "ticket", a), "{v}");
    // In the text, not the title; a phrase of several bigrams; a latin word by prefix.
    let v = search(&app, &app.admin_token, "空白").await;
    assert!(has(&v, "ticket", a), "{v}");
    let v = search(&app, &app.admin_token, "全量任务").await;
    assert!(has(&v, "ticket", b), "{v}");
    let v = search(&app, &app.admin_token, "任务全量").await;
    assert!(
        !has(&v, "ticket", b),
        "bigrams of a phrase follow each other: {v}"
    );
    let v = search(&app, &app.admin_token, "ora").await;
    assert!(has(&v, "ticket", b), "{v}");
    let item = v["items"][0].clone();
    assert_eq!(item["url"], json!(format!("/tickets/{b}")));
    assert!(item["snippet"].as_str().unwrap().contains("ORA-19502"));
    assert_eq!(v["total"], json!(1));
}

#[tokio::test]
async fn a_ticket_is_found_by_its_number_or_the_start_of_it() {
    let app = spawn_app().await;
    let t = open(&app, &app.admin_token, "打印机卡纸", "").await;
    let number = t["number"].as_str().unwrap().to_string();
    let v = search(&app, &app.admin_token, &number).await;
    assert!(has(&v, "ticket", t["id"].as_i64().unwrap()), "{v}");
    assert!(titles(&v)[0].starts_with(&number), "{v}");
    let prefix = number[..number.len() - 2].to_lowercase();
    let v = search(&app, &app.admin_token, &prefix).await;
    assert!(has(&v, "ticket", t["id"].as_i64().unwrap()), "{v}");
}

#[tokio::test]
async fn a_requester_finds_only_their_own_tickets_and_staff_find_the_inventory() {
    let app = spawn_app().await;
    let (_, alice) = app.user_with_role("alice", "requester").await;
    let (_, bob) = app.user_with_role("bob", "requester").await;
    let (_, eng) = app.user_with_role("eng", "engineer").await;
    let system = created_id(
        &app,
        &app.admin_token,
        "/api/v1/systems",
        &json!({"code": "X-1", "name": "统一登录平台"}),
    )
    .await;
    let report =
        |title: &'static str| json!({"kind": "request", "title": title, "system_id": system});
    let mine = created_id(&app, &alice, "/api/v1/tickets", &report("门户网站登录缓慢")).await;
    let theirs = created_id(&app, &bob, "/api/v1/tickets", &report("门户网站登录报错")).await;
    let asset = created_id(
        &app,
        &app.admin_token,
        "/api/v1/assets",
        &json!({"name": "核心交换机登录网关", "category": "network", "serial_no": "SN-77A"}),
    )
    .await;
    let staff = created_id(
        &app,
        &app.admin_token,
        "/api/v1/staff",
        &json!({"name": "欧阳登录"}),
    )
    .await;

    let v = search(&app, &alice, "登录").await;
    assert!(has(&v, "ticket", mine), "{v}");
    assert!(
        !has(&v, "ticket", theirs),
        "another requester's ticket: {v}"
    );
    assert!(!has(&v, "asset", asset) && !has(&v, "staff", staff), "{v}");
    // Nor by number.
    let (_, t) = app
        .get_json(&bob, &format!("/api/v1/tickets/{theirs}"))
        .await;
    let v = search(&app, &alice, t["number"].as_str().unwrap()).await;
    assert!(!has(&v, "ticket", theirs), "{v}");

    let v = app
        .get_json_expect(
            &eng,
            "/api/v1/search?q=%E7%99%BB%E5%BD%95&limit=50",
            StatusCode::OK,
        )
        .await;
    for (k, id) in [
        ("ticket", mine),
        ("ticket", theirs),
        ("asset", asset),
        ("system", system),
        ("staff", staff),
    ] {
        assert!(has(&v, k, id), "{k} {id}: {v}");
    }
    let v = search(&app, &eng, "sn").await;
    assert!(has(&v, "asset", asset), "{v}");
    let v = app
        .get_json_expect(
            &eng,
            "/api/v1/search?q=%E7%99%BB%E5%BD%95&type=system",
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["total"], json!(1), "{v}");
    assert_eq!(v["items"][0]["url"], json!(format!("/systems/{system}")));
}

#[tokio::test]
async fn the_index_follows_edits_resolution_and_deletes() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let id = open(&app, &admin, "邮件系统告警", "").await["id"]
        .as_i64()
        .unwrap();
    app.patch_expect(
        &admin,
        &format!("/api/v1/tickets/{id}"),
        &json!({"title": "邮件服务器磁盘满"}),
        StatusCode::OK,
    )
    .await;
    assert!(!has(&search(&app, &admin, "告警").await, "ticket", id));
    assert!(has(&search(&app, &admin, "磁盘").await, "ticket", id));

    // Resolved with a resolution: knowledge.
    let v = app
        .get_json_expect(
            &admin,
            "/api/v1/search?q=%E7%A3%81%E7%9B%98&type=knowledge",
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["total"], json!(0), "{v}");
    app.post_expect(
        &admin,
        &format!("/api/v1/tickets/{id}/actions"),
        &json!({"action": "start"}),
        StatusCode::OK,
    )
    .await;
    app.post_expect(
        &admin,
        &format!("/api/v1/tickets/{id}/actions"),
        &json!({"action": "resolve", "resolution": "清理归档日志并扩容数据盘"}),
        StatusCode::OK,
    )
    .await;
    let v = app
        .get_json_expect(
            &admin,
            "/api/v1/search?q=%E7%A3%81%E7%9B%98&type=knowledge",
            StatusCode::OK,
        )
        .await;
    assert!(has(&v, "knowledge", id), "{v}");
    assert!(v["items"][0]["snippet"].as_str().unwrap().contains("扩容"));
    assert!(has(&search(&app, &admin, "扩容").await, "ticket", id));

    let asset = created_id(
        &app,
        &admin,
        "/api/v1/assets",
        &json!({"name": "备份一体机", "category": "storage"}),
    )
    .await;
    assert!(has(&search(&app, &admin, "备份").await, "asset", asset));
    app.patch_expect(
        &admin,
        &format!("/api/v1/assets/{asset}"),
        &json!({"name": "容灾一体机"}),
        StatusCode::OK,
    )
    .await;
    assert!(!has(&search(&app, &admin, "备份").await, "asset", asset));
    assert!(has(&search(&app, &admin, "容灾").await, "asset", asset));
    assert_eq!(
        app.delete(&admin, &format!("/api/v1/assets/{asset}")).await,
        StatusCode::NO_CONTENT
    );
    assert!(!has(&search(&app, &admin, "容灾").await, "asset", asset));
}

#[tokio::test]
async fn imported_records_are_found_at_once() {
    let app = spawn_app().await;
    let csv = "name,category\n灾备存储阵列,storage\n";
    let r = app
        .client
        .post(app.url("/api/v1/assets/import"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let v = search(&app, &app.admin_token, "灾备").await;
    assert_eq!(v["items"][0]["type"], json!("asset"), "{v}");
}

#[tokio::test]
async fn bad_search_input_is_a_4xx_in_the_standard_shape() {
    let app = spawn_app().await;
    let long = "长".repeat(101);
    for path in [
        "/api/v1/search".to_string(),
        "/api/v1/search?q=".to_string(),
        "/api/v1/search?q=%20%20".to_string(),
        format!("/api/v1/search?q={}", urlencoding(&long)),
        "/api/v1/search?q=%22*()".to_string(),
        "/api/v1/search?q=a&limit=0".to_string(),
        "/api/v1/search?q=a&limit=51".to_string(),
        "/api/v1/search?q=a&limit=x".to_string(),
        "/api/v1/search?q=a&type=users".to_string(),
    ] {
        let v = app
            .get_json_expect(&app.admin_token, &path, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(error_code(&v), "validation_failed", "{path}: {v}");
        assert!(!error_message(&v).is_empty());
    }
    // FTS and tsquery syntax in the query is only text.
    for q in [
        "a OR b",
        "NEAR(a b)",
        "\"登录",
        "a:* & !b",
        "登录' | 'x",
        "tags : kb",
        "^a",
        "a\\",
    ] {
        search(&app, &app.admin_token, q).await;
    }
    let r = app.anon_get("/api/v1/search?q=a").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn search_as_you_type_shows_results_under_the_header_box_and_enter_opens_them() {
    let Some(d) = crate::browser::Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let (_, eng) = app.user_with_role("eng", "engineer").await;
    let t = open(
        &app,
        &eng,
        "统一身份认证登录失败",
        "部分用户登录时提示证书错误",
    )
    .await;
    open(&app, &eng, "机房空调告警", "精密空调高温").await;
    app.post_expect(
        &app.admin_token,
        "/api/v1/systems",
        &json!({"code": "S-9", "name": "统一身份认证平台"}),
        StatusCode::CREATED,
    )
    .await;

    d.sign_in(&app.base, "eng", "Changed#Pass2").await;
    d.goto(&app.url("/desk")).await;
    d.type_into("#gsearch-q", "登录").await;
    let text = d.wait_text("#gsearch-list", "统一身份认证登录失败").await;
    assert!(!text.contains("机房空调"), "{text}");
    d.screenshot("search-as-you-type").await;
    d.type_into("#gsearch-q", "失败").await;
    // The list shown is the answer to the whole query typed, not an earlier one still in
    // flight (its answer would replace the list and the choice made on it).
    let mut shown = serde_json::Value::Null;
    for _ in 0..100 {
        shown = d
            .exec("var l = document.getElementById('gsearch-list'); return l.hidden ? null : l.getAttribute('data-q');")
            .await;
        if shown == json!("登录失败") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(shown, json!("登录失败"));
    d.wait_text("#gsearch-list", "查看全部").await;
    // Keyboard: down to the first result, Enter opens it.
    d.keys("\u{E015}").await;
    d.keys("\u{E007}").await;
    d.wait_for_path(&format!("/tickets/{}", t["id"])).await;

    // Enter without a chosen result opens the results page.
    d.goto(&app.url("/desk")).await;
    d.type_into("#gsearch-q", "统一身份").await;
    d.wait_text("#gsearch-list", "统一身份认证平台").await;
    d.keys("\u{E007}").await;
    d.wait_text("#search-results", "统一身份认证平台").await;
    let page = d.text("#search-results").await;
    assert!(page.contains("系统") && page.contains("工单"), "{page}");
    d.screenshot("search-results-page").await;
    d.assert_no_csp_violations("search as you type").await;
    d.quit().await;
}

#[tokio::test]
async fn similar_resolved_tickets_are_suggested_while_a_ticket_is_written() {
    let Some(d) = crate::browser::Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let id = open(&app, &admin, "VPN 无法登录", "客户端提示证书过期").await["id"]
        .as_i64()
        .unwrap();
    for body in [
        json!({"action": "start"}),
        json!({"action": "resolve", "resolution": "重新签发客户端证书并推送安装包"}),
    ] {
        app.post_expect(
            &admin,
            &format!("/api/v1/tickets/{id}/actions"),
            &body,
            StatusCode::OK,
        )
        .await;
    }
    // An open ticket is no knowledge.
    open(&app, &admin, "VPN 登录很慢", "").await;
    let (_, eng) = app.user_with_role("eng", "engineer").await;
    let _ = eng;

    d.sign_in(&app.base, "eng", "Changed#Pass2").await;
    d.goto(&app.url("/tickets/new")).await;
    d.type_into("#title", "今天VPN登录不上").await;
    let text = d.wait_text("#similar", "重新签发客户端证书").await;
    assert!(text.contains("VPN 无法登录"), "{text}");
    assert!(!text.contains("很慢"), "only resolved tickets: {text}");
    d.screenshot("similar-tickets-suggested").await;
    d.assert_no_csp_violations("similar tickets").await;
    d.quit().await;
}

/// Records without index rows (a database restored from an archive, which leaves the index
/// out, or upgraded from before the index) are indexed by the backfill the server starts in
/// the background, in steps that keep a row written meanwhile; a second pass writes nothing.
#[tokio::test]
async fn records_without_index_rows_are_found_after_the_background_backfill() {
    let app = spawn_app().await;
    let first = open(&app, &app.admin_token, "机房空调告警 0", "温度偏高").await["id"]
        .as_i64()
        .unwrap();
    let asset = created_id(
        &app,
        &app.admin_token,
        "/api/v1/assets",
        &json!({"name": "精密空调", "category": "environment", "serial_no": "AC-9"}),
    )
    .await;
    // 1,099 more like the first, written with SQL as an archive's rows are (three
    // backfill steps of 500), then the whole index dropped.
    let mut ids = vec![first];
    {
        let mut conn = yunwei::store::snapshot::connect_raw(&app.database_url, false)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        for i in 1..1_100 {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tickets (number, kind, title, description, source, reported_at, impact, \
                 urgency, priority, status, calendar_id, created_at, updated_at) \
                 SELECT $1, kind, $2, description, source, reported_at, impact, urgency, priority, \
                 status, calendar_id, created_at, updated_at FROM tickets WHERE id = $3 RETURNING id",
            )
            .bind(format!("BF-{i:05}"))
            .bind(format!("机房空调告警 {i}"))
            .bind(first)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            ids.push(id);
        }
        sqlx::query("DELETE FROM search_docs")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
    }
    let v = search(&app, &app.admin_token, "空调").await;
    assert_eq!(v["total"], json!(0), "{v}");
    // A record written after the index was lost indexes itself; the backfill keeps its row.
    let newer = open(&app, &app.admin_token, "空调漏水", "").await["id"]
        .as_i64()
        .unwrap();
    let written = yunwei::jobs::search_backfill::backfill(&app.ctx)
        .await
        .unwrap();
    // Every ticket and inventory record but the newer ticket, whose row was in place.
    assert!(written >= 1_101, "{written}");
    let v = search(&app, &app.admin_token, "空调").await;
    assert_eq!(v["total"], json!(1_000), "counted up to 1,000: {v}");
    let v = search(&app, &app.admin_token, "空调漏水").await;
    assert!(has(&v, "ticket", newer), "{v}");
    let v = search(&app, &app.admin_token, "精密空调").await;
    assert!(has(&v, "asset", asset), "{v}");
    let v = search(&app, &app.admin_token, "BF-00007").await;
    assert!(has(&v, "ticket", ids[7]), "{v}");
    assert_eq!(
        yunwei::jobs::search_backfill::backfill(&app.ctx)
            .await
            .unwrap(),
        0,
        "a second pass finds every record indexed"
    );
}
