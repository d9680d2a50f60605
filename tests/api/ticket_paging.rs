//! Reading many tickets: the list's limit, offset and cursor paging, and exports of
//! thousands of tickets in CSV and XLSX.

use std::collections::{BTreeSet, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Inserts `n` tickets numbered `{prefix}-1` … `{prefix}-n` straight into the database
/// (creating thousands through the API would take minutes). Every third is closed, every
/// seventh breached its SLA, and every tenth has a title with a comma and quotes.
async fn seed(app: &TestApp, prefix: &str, n: i64) {
    let sql = format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
         INSERT INTO tickets (number, kind, title, description, source, requester_name, reported_at, \
           impact, urgency, priority, status, sla_breached, satisfaction, created_at, updated_at) \
         SELECT '{prefix}-' || n, CASE WHEN n % 2 = 0 THEN 'request' ELSE 'incident' END, \
           CASE WHEN n % 10 = 0 THEN '打印机,无法\"打印\" ' || n ELSE '批量工单 ' || n END, \
           '描述 ' || n, 'api', '报障人' || n, 1735689600000 + n * 60000, 'medium', 'medium', 'P3', \
           CASE WHEN n % 3 = 0 THEN 'closed' ELSE 'new' END, \
           CASE WHEN n % 7 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 3 = 0 THEN 5 ELSE NULL END, \
           1735689600000 + n * 60000, 1735689600000 + n * 60000 \
         FROM s"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
}

async fn create(app: &TestApp, title: &str) -> i64 {
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/tickets",
            &json!({"kind": "request", "title": title, "source": "api"}),
            StatusCode::CREATED,
        )
        .await;
    v["id"].as_i64().unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    each(&v["items"])
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_list_limit_above_500_or_a_bad_cursor_is_refused_in_chinese() {
    let app = spawn_app().await;
    seed(&app, "LIM", 3).await;
    for path in [
        "/api/v1/tickets?limit=501",
        "/api/v1/tickets?limit=1000",
        "/api/v1/assets?limit=501",
        "/api/v1/users?limit=501",
    ] {
        let (s, v) = app.get_json(&app.admin_token, path).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(error_code(&v), "validation_failed", "{path}: {v}");
        let text = v.to_string();
        assert!(
            text.contains("limit 应为 1 到 500 之间的整数"),
            "{path}: {v}"
        );
    }
    for after in ["abc", "0", "-5", "1.5"] {
        let (s, v) = app
            .get_json(&app.admin_token, &format!("/api/v1/tickets?after={after}"))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{after}: {v}");
        assert!(v.to_string().contains("next_cursor"), "{after}: {v}");
    }
    let v = app
        .get_json_expect(
            &app.admin_token,
            "/api/v1/tickets?limit=500",
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["total"], json!(3));
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert_eq!(v["next_cursor"], Value::Null);
}

#[tokio::test]
async fn cursor_pages_return_every_ticket_once_while_tickets_are_created() {
    let app = spawn_app().await;
    seed(&app, "CUR", 60).await;
    let (_, all) = app
        .get_json(&app.admin_token, "/api/v1/tickets?limit=500")
        .await;
    let expected = ids(&all);
    assert_eq!(expected.len(), 60);
    assert!(expected.windows(2).all(|w| w[0] > w[1]), "newest first");

    let mut seen = Vec::new();
    let mut created = Vec::new();
    let mut path = "/api/v1/tickets?limit=7".to_string();
    loop {
        let v = app
            .get_json_expect(&app.admin_token, &path, StatusCode::OK)
            .await;
        seen.extend(ids(&v));
        // The total counts every ticket there is now, including those created since.
        assert_eq!(v["total"], json!(60 + created.len()), "{path}");
        // A ticket created between pages is newer than every page: it must not shift
        // rows from one page to the next.
        created.push(create(&app, &format!("翻页期间新建 {}", created.len())).await);
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tickets?limit=7&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen, expected, "every ticket once, in order");
    assert_eq!(created.len(), 9, "60 tickets in pages of 7");
    assert!(created.iter().all(|id| !seen.contains(id)));

    // Offsets still page the same order, and combine with a cursor.
    let (_, v) = app
        .get_json(&app.admin_token, "/api/v1/tickets?limit=5&offset=12")
        .await;
    let now: Vec<i64> = created
        .iter()
        .rev()
        .copied()
        .chain(expected.clone())
        .collect();
    assert_eq!(ids(&v), now[12..17]);
    let (_, v) = app
        .get_json(
            &app.admin_token,
            &format!("/api/v1/tickets?limit=5&offset=3&after={}", expected[9]),
        )
        .await;
    assert_eq!(ids(&v), expected[13..18]);
    assert_eq!(v["next_cursor"], json!(expected[17].to_string()));

    // A filtered list pages the same way over the filter's tickets only.
    let mut closed = Vec::new();
    let mut path = "/api/v1/tickets?status=closed&limit=6".to_string();
    loop {
        let (_, v) = app.get_json(&app.admin_token, &path).await;
        assert_eq!(v["total"], json!(20));
        closed.extend(ids(&v));
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tickets?status=closed&limit=6&after={c}"),
            None => break,
        }
    }
    let want: Vec<i64> = expected
        .iter()
        .zip(all["items"].as_array().unwrap())
        .filter(|(_, t)| t["status"] == "closed")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(closed, want);
    assert_eq!(closed.len(), 20);
}

/// The number → row map of an exported table (header row excluded), checking that no
/// number comes twice.
fn by_number(rows: Vec<Vec<String>>) -> HashMap<String, Vec<String>> {
    let mut m = HashMap::new();
    for r in rows {
        let n = r[0].clone();
        assert!(m.insert(n.clone(), r).is_none(), "{n} exported twice");
    }
    m
}

const HEADERS: [&str; 15] = [
    "编号",
    "类型",
    "标题",
    "系统",
    "优先级",
    "状态",
    "来源",
    "报障人",
    "报障时间",
    "首次响应",
    "到场",
    "解决",
    "处理人",
    "SLA 超时",
    "满意度",
];

#[tokio::test]
async fn an_export_of_thousands_of_tickets_is_complete_in_csv_and_xlsx() {
    let app = spawn_app().await;
    // More than a few export batches, and not a multiple of one.
    let n = 2_345;
    seed(&app, "EXP", n).await;
    let extra = create(&app, "经接口新建").await;
    let want: BTreeSet<String> = (1..=n)
        .map(|i| format!("EXP-{i}"))
        .chain([app
            .get_json(&app.admin_token, &format!("/api/v1/tickets/{extra}"))
            .await
            .1["number"]
            .as_str()
            .unwrap()
            .to_string()])
        .collect();

    let r = app
        .get(&app.admin_token, "/api/v1/tickets/export?format=csv")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = r.bytes().await.unwrap();
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").expect("a UTF-8 BOM");
    let mut rd = csv::Reader::from_reader(body);
    assert_eq!(rd.headers().unwrap().iter().collect::<Vec<_>>(), HEADERS);
    let rows: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let csv_rows = by_number(rows);
    assert_eq!(csv_rows.keys().cloned().collect::<BTreeSet<_>>(), want);
    let r30 = &csv_rows["EXP-30"];
    assert_eq!(r30[1], "服务请求/咨询");
    assert_eq!(r30[2], "打印机,无法\"打印\" 30");
    assert_eq!(r30[5], "已关闭");
    assert_eq!(r30[7], "报障人30");
    assert_eq!(r30[8], "2025-01-01 08:30");
    assert_eq!(r30[14], "5");
    assert_eq!(csv_rows["EXP-7"][13], "是");
    assert_eq!(csv_rows["EXP-8"][13], "否");

    let r = app
        .get(&app.admin_token, "/api/v1/tickets/export?format=xlsx")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("tickets-") && cd.ends_with(".xlsx\""), "{cd}");
    let bytes = r.bytes().await.unwrap();
    let table = yunwei::transfer::read_table(&bytes, &yunwei::transfer::ImportLimits::default())
        .unwrap_or_else(|e| panic!("{}", e.0));
    // A title row above the header, as every exported sheet has (the importer skips it).
    assert_eq!(table.headers, ["工单"]);
    assert_eq!(table.rows[0].1, HEADERS);
    let xlsx_rows = by_number(table.rows.into_iter().skip(1).map(|(_, r)| r).collect());
    // The same rows, cell for cell, in both formats (the reader trims cell text).
    assert_eq!(xlsx_rows.len(), csv_rows.len());
    for (number, row) in &csv_rows {
        let trimmed: Vec<String> = row.iter().map(|c| c.trim().to_string()).collect();
        let mut x = xlsx_rows[number].clone();
        x.resize(trimmed.len(), String::new());
        assert_eq!(x, trimmed, "{number}");
    }

    // The list's filters apply.
    let r = app
        .get(
            &app.admin_token,
            "/api/v1/tickets/export?format=csv&status=closed",
        )
        .await;
    let bytes = r.bytes().await.unwrap();
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    let closed: BTreeSet<String> = rd.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert_eq!(
        closed,
        (1..=n)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("EXP-{i}"))
            .collect()
    );

    // An empty result is still a file with its header row.
    let r = app
        .get(
            &app.admin_token,
            "/api/v1/tickets/export?format=csv&q=nothing-matches",
        )
        .await;
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        String::from_utf8(bytes[3..].to_vec()).unwrap().trim_end(),
        HEADERS.join(",")
    );
    let r = app
        .get(
            &app.admin_token,
            "/api/v1/tickets/export?format=xlsx&q=nothing-matches",
        )
        .await;
    let table = yunwei::transfer::read_table(
        &r.bytes().await.unwrap(),
        &yunwei::transfer::ImportLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(table.headers, ["工单"]);
    assert_eq!(table.rows.len(), 1, "the header row only");
    assert_eq!(table.rows[0].1, HEADERS);

    app.get_json_expect(
        &app.admin_token,
        "/api/v1/tickets/export?format=pdf",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    app.get_json_expect(
        &rt,
        "/api/v1/tickets/export?format=csv",
        StatusCode::FORBIDDEN,
    )
    .await;
}
