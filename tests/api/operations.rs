//! Operations services (运营服务): the contract's service lines, work records of every
//! demo type with their rules and roles, and the indicators against hand counts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Asks for a confirmation link for work record `record` as `token`, expecting `want`.
async fn ask_confirmation(
    app: &TestApp,
    token: &str,
    record: impl std::fmt::Display,
    want: StatusCode,
) -> Value {
    let path = format!("/api/v1/work-records/{record}/confirmation");
    app.post_expect(token, &path, &json!({}), want).await
}

#[tokio::test]
async fn the_demo_ships_the_contracts_22_service_lines_with_their_deliverables_and_systems() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let all = service_lines(&app).await;
    assert_eq!(all["total"], 22, "{all}");
    let codes: Vec<&str> = each(&all["items"])
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"4.2.14.3") && !codes.contains(&"4.2.14"),
        "{codes:?}"
    );
    let l = line_by_code(&app, "4.2.7").await;
    let types: Vec<&str> = each(&l["record_types"])
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "support",
            "data_update",
            "reconciliation",
            "interface_revision",
            "rating",
            "licence"
        ]
    );
    assert!(
        l["deliverables"].to_string().contains("电子证照签发数据"),
        "{l}"
    );
    assert_eq!(l["system_ids"].as_array().unwrap().len(), 1, "{l}");
    let cloud = line_by_code(&app, "4.2.14.3").await;
    assert!(
        cloud["deliverables"]
            .to_string()
            .contains("云资源利用率月度情况报表")
    );
    assert_eq!(
        line_by_code(&app, "4.2.16").await["report_cadence"],
        "quarterly"
    );
}

#[tokio::test]
async fn records_of_every_demo_type_are_checked_kept_per_line_and_counted_as_by_hand() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let t = &app.admin_token;
    let (op, ot) = app.user_with_role("op", "operator").await;
    let (other, other_t) = app.user_with_role("op2", "operator").await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let l7 = line_by_code(&app, "4.2.7").await;
    let l8 = line_by_code(&app, "4.2.8").await;
    let (id7, id8) = (l7["id"].as_i64().unwrap(), l8["id"].as_i64().unwrap());

    // Staff: only operators, and only existing ones.
    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/service-lines/{id7}"),
            &json!({"staff_ids": [op, 99999]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&v), vec!["staff_ids"], "{v}");
    app.patch_expect(
        t,
        &format!("/api/v1/service-lines/{id7}"),
        &json!({"staff_ids": [op], "handle_minutes": 30}),
        StatusCode::OK,
    )
    .await;
    app.patch_expect(
        t,
        &format!("/api/v1/service-lines/{id8}"),
        &json!({"staff_ids": [other]}),
        StatusCode::OK,
    )
    .await;
    app.patch_expect(
        &ot,
        &format!("/api/v1/service-lines/{id7}"),
        &json!({"handle_minutes": 5}),
        StatusCode::FORBIDDEN,
    )
    .await;

    // One record of every type line 4.2.7 keeps.
    let records = [
        json!({"type": "support", "requester": "王科长", "organisation": "广州市生态环境局",
               "org_level": "地市", "channel": "电话", "summary": "办件无法提交",
               "answer": "清除缓存后重试", "result": "已解决", "duration_minutes": 20,
               "occurred_at": "2025-11-03 08:30", "system_id": l7["system_ids"][0]}),
        json!({"type": "support", "requester": "李工", "channel": "企业微信", "summary": "办件无法提交",
               "result": "已解决", "duration_minutes": 45, "occurred_at": "2025-11-03 08:40"}),
        json!({"type": "support", "requester": "企业用户", "org_level": "企业", "channel": "邮件",
               "summary": "证照查询", "result": "待跟进", "occurred_at": "2025-11-03 08:50"}),
        json!({"type": "data_update", "summary": "更新事项信息", "data": {"object": "事项目录", "items": 12}}),
        json!({"type": "reconciliation", "summary": "十月办件对账",
               "data": {"object": "办件过程数据", "matched": "1200", "mismatched": 3, "fixed": 3}}),
        json!({"type": "interface_revision", "summary": "好差评接口升级", "data": {"interface": "好差评推送", "version": "2.1"}}),
        json!({"type": "rating", "summary": "十月好差评", "data": {"good": 980, "neutral": 5, "bad": 1, "coverage": "97.5%"}}),
        json!({"type": "licence", "summary": "排污许可证签发", "data": {"licence_type": "排污许可证", "issued": 42}}),
    ];
    let mut ids = Vec::new();
    for r in &records {
        let mut body = r.clone();
        body["line_id"] = json!(id7);
        let v = app
            .post_expect(&ot, "/api/v1/work-records", &body, StatusCode::CREATED)
            .await;
        assert_eq!(v["operator_id"], op, "{v}");
        assert_eq!(v["type"], r["type"]);
        ids.push(v["id"].as_i64().unwrap());
    }
    let rec = work_record(&app, t, ids[4]).await;
    assert_eq!(
        rec["data"],
        json!({"object": "办件过程数据", "matched": 1200, "mismatched": 3, "fixed": 3})
    );
    assert_eq!(work_record(&app, t, ids[6]).await["data"]["coverage"], 97.5);

    // Bad input names every field and stores nothing.
    let before = app.total("/api/v1/work-records").await;
    for (body, want) in [
        (
            json!({"line_id": id7, "type": "statistics", "summary": "x"}),
            vec!["data.subject", "type"],
        ),
        (
            json!({"line_id": 99999, "type": "support", "summary": "x", "requester": "a", "channel": "电话"}),
            vec!["line_id"],
        ),
        (
            json!({"line_id": id7, "type": "support", "summary": " ", "channel": "飞鸽",
                   "occurred_at": "2025-11-04 09:00", "duration_minutes": -5}),
            vec![
                "channel",
                "duration_minutes",
                "occurred_at",
                "requester",
                "summary",
            ],
        ),
        (
            json!({"line_id": id7, "type": "reconciliation", "summary": "x", "data": {"matched": 1.5, "colour": "red"}}),
            vec![
                "data.colour",
                "data.matched",
                "data.mismatched",
                "data.object",
            ],
        ),
        (
            json!({"line_id": id7, "type": "support", "summary": "x", "requester": "a", "channel": "电话", "ticket_id": 99999}),
            vec!["ticket_id"],
        ),
        (
            json!({"line_id": id7, "type": "gossip", "summary": "x"}),
            vec!["type"],
        ),
        (
            json!({"line_id": id7, "type": "support", "summary": "x", "colour": 1}),
            vec!["colour"],
        ),
    ] {
        let v = app
            .post_expect(
                &ot,
                "/api/v1/work-records",
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(fields(&v), want, "{body}: {v}");
    }
    assert_eq!(app.total("/api/v1/work-records").await, before);

    // Roles: an operator writes only the lines they staff; engineers and requesters write none.
    let s = json!({"line_id": id7, "type": "support", "summary": "x", "requester": "a", "channel": "电话"});
    app.post_expect(&other_t, "/api/v1/work-records", &s, StatusCode::FORBIDDEN)
        .await;
    app.post_expect(&et, "/api/v1/work-records", &s, StatusCode::FORBIDDEN)
        .await;
    app.post_expect(&rt, "/api/v1/work-records", &s, StatusCode::FORBIDDEN)
        .await;
    // ... sees only their lines' records; the purchaser sees all; requesters none.
    let mine = app
        .get_json_expect(&other_t, "/api/v1/work-records", StatusCode::OK)
        .await;
    assert_eq!(mine["total"], 0, "{mine}");
    app.get_json_expect(
        &other_t,
        &format!("/api/v1/work-records/{}", ids[0]),
        StatusCode::NOT_FOUND,
    )
    .await;
    let all = app
        .get_json_expect(&st, "/api/v1/work-records?limit=100", StatusCode::OK)
        .await;
    assert_eq!(all["total"], 8, "{all}");
    let none = app
        .get_json_expect(&rt, "/api/v1/work-records", StatusCode::OK)
        .await;
    assert_eq!(none["total"], 0);
    // Filters.
    let support = app
        .get_json_expect(
            t,
            &format!(
                "/api/v1/work-records?line_id={id7}&type=support&from=2025-11-03&to=2025-11-03"
            ),
            StatusCode::OK,
        )
        .await;
    assert_eq!(support["total"], 3, "{support}");
    let found = app
        .get_json_expect(
            t,
            "/api/v1/work-records?q=%E7%8E%8B%E7%A7%91",
            StatusCode::OK,
        )
        .await;
    assert_eq!(found["total"], 1, "{found}");
    app.get_json_expect(
        t,
        "/api/v1/work-records?type=gossip",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Changes: the author changes their record, checked as a whole; others may not.
    let v = app
        .patch_expect(
            &ot,
            &format!("/api/v1/work-records/{}", ids[2]),
            &json!({"result": "已解决", "duration_minutes": 25}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["result"], "已解决");
    app.patch_expect(
        &ot,
        &format!("/api/v1/work-records/{}", ids[2]),
        &json!({"requester": null}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.patch_expect(
        &other_t,
        &format!("/api/v1/work-records/{}", ids[2]),
        &json!({"result": "无法解决"}),
        StatusCode::FORBIDDEN,
    )
    .await;

    // Two requirements collected by the line this month, one of them delivered.
    for title in ["办件列表增加导出", "统计页面加载太慢"] {
        let r = app
            .post_expect(
                t,
                "/api/v1/requirements",
                &json!({"line_id": id7, "source": "user", "title": title, "priority": "medium"}),
                StatusCode::CREATED,
            )
            .await;
        if title.starts_with("办件") {
            for to in TO_DELIVERY {
                app.post_expect(
                    t,
                    &format!("/api/v1/requirements/{}/transition", r["id"]),
                    &json!({"to": to}),
                    StatusCode::OK,
                )
                .await;
            }
        }
    }
    // Indicators equal to hand counts: 3 support records, all resolved now; durations 20,
    // 45, 25 against the line's 30 minutes; no ratings yet.
    let s = november_stats(&app, t, id7).await;
    assert_eq!(s["total"], 8, "{s}");
    assert_eq!(
        (
            s["requirements_new"].clone(),
            s["requirements_delivered"].clone()
        ),
        (json!(2), json!(1)),
        "{s}"
    );
    assert_eq!(s["support"], 3);
    assert_eq!(s["resolved"], 3);
    assert_eq!(s["resolution_rate"], 100.0);
    assert_eq!(
        (s["timed"].clone(), s["handled_in_time"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(s["in_time_rate"], 66.7);
    assert_eq!(s["average_minutes"], 30.0);
    assert_eq!(s["satisfaction"], Value::Null);
    assert_eq!(s["by_type"]["reconciliation"], 1);
    assert_eq!(s["by_channel"]["电话"], 1);
    assert_eq!(s["top_questions"][0], json!(["办件无法提交", 2]));
    app.get_json_expect(
        t,
        &format!("/api/v1/service-lines/{id7}/stats"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let recent = app
        .get_json_expect(
            t,
            &format!("/api/v1/service-lines/{id7}/requesters"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(recent["items"][0]["requester"], "企业用户", "{recent}");

    // Delete: the author may; it is audited.
    assert_eq!(
        app.delete(&ot, &format!("/api/v1/work-records/{}", ids[7]))
            .await,
        StatusCode::NO_CONTENT
    );
    app.get_json_expect(
        t,
        &format!("/api/v1/work-records/{}", ids[7]),
        StatusCode::NOT_FOUND,
    )
    .await;
    let (_, at) = app.user_with_role("aud", "auditor").await;
    let audit = app
        .get_json_expect(
            &at,
            "/api/v1/audit-events?entity_type=work_records&limit=100",
            StatusCode::OK,
        )
        .await;
    assert_eq!(audit["total"], 8 + 1 + 1, "{audit}");
}

#[tokio::test]
async fn a_requester_confirms_and_rates_a_record_by_a_link_once_before_it_expires() {
    let app = demo_at(bj(2025, 11, 3, 9, 0)).await;
    let t = &app.admin_token;
    let (op, ot) = app.user_with_role("op", "operator").await;
    let (_, other_t) = app.user_with_role("op2", "operator").await;
    let line = line_by_code(&app, "4.2.8").await["id"].as_i64().unwrap();
    app.patch_expect(
        t,
        &format!("/api/v1/service-lines/{line}"),
        &json!({"staff_ids": [op]}),
        StatusCode::OK,
    )
    .await;
    let mut ids = Vec::new();
    for q in ["公文流转卡住", "无法打印"] {
        let v = app
            .post_expect(
                &ot,
                "/api/v1/work-records",
                &json!({"line_id": line, "type": "support", "requester": "陈处长", "channel": "电话",
                        "summary": q, "answer": "已处理", "result": "已解决"}),
                StatusCode::CREATED,
            )
            .await;
        ids.push(v["id"].as_i64().unwrap());
    }
    ask_confirmation(&app, &other_t, ids[0], StatusCode::FORBIDDEN).await;
    let link = ask_confirmation(&app, &ot, ids[0], StatusCode::CREATED).await;
    let path = link["path"].as_str().unwrap().to_string();
    assert_eq!(link["expires_at"], "2025-11-10T01:00:00Z", "{link}");
    // No account needed: a plain client opens it.
    let anon = reqwest::Client::new();
    let page = anon.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("公文流转卡住") && html.contains("非常满意"),
        "{html}"
    );
    let post =
        |form: Vec<(&'static str, &'static str)>| anon.post(app.url(&path)).form(&form).send();
    let r = post(vec![("rating", "很好")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请选择评价"));
    let r = post(vec![("rating", "满意"), ("comment", "响应及时")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("感谢您的评价"));
    // Once only.
    let r = post(vec![("rating", "不满意")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        anon.get(app.url(&path)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let rec = work_record(&app, t, ids[0]).await;
    assert_eq!(rec["rating"], "满意", "{rec}");
    assert_eq!(rec["rating_comment"], "响应及时");
    assert!(rec["confirmed_at"].is_string());
    ask_confirmation(&app, &ot, ids[0], StatusCode::CONFLICT).await;
    let s = november_stats(&app, t, line).await;
    assert_eq!(
        (s["rated"].clone(), s["satisfaction"].clone()),
        (json!(1), json!(100.0))
    );

    // A link expires after seven days; a new one replaces an old one.
    let old = ask_confirmation(&app, &ot, ids[1], StatusCode::CREATED).await["path"]
        .as_str()
        .unwrap()
        .to_string();
    let new = ask_confirmation(&app, &ot, ids[1], StatusCode::CREATED).await["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        anon.get(app.url(&old)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    app.clock.set(bj(2025, 11, 10, 9, 1));
    assert_eq!(
        anon.get(app.url(&new)).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let r = rate_satisfied(&anon, &app, &new).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("已过期"));
    for bad in [
        "/confirm/xyz",
        "/confirm/%00",
        &format!("/confirm/{}", "a".repeat(64)),
    ] {
        assert_eq!(
            anon.get(app.url(bad)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // Sessions end after 30 idle minutes: sign in again after the week.
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let rec = work_record(&app, t, ids[1]).await;
    assert_eq!(rec["rating"], Value::Null);
}

#[tokio::test]
async fn ten_thousand_records_import_in_one_go_and_one_bad_row_imports_nothing() {
    let app = demo_at(bj(2025, 11, 30, 20, 0)).await;
    let t = &app.admin_token;
    let line = line_by_code(&app, "4.2.7").await["id"].as_i64().unwrap();
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let csv = |bad_row: Option<usize>| {
        let mut s = String::from(
            "运营记录清单\n类型,发生时间,耗时（分钟）,服务对象,单位层级,服务方式,问题或工作内容,处理结果,对账数据,一致条数,不一致条数,备注\n",
        );
        for i in 0..10_000usize {
            let day = 1 + i % 28;
            if Some(i) == bad_row {
                s.push_str(&format!(
                    "数据对账,2025-11-{day:02} 10:00,,,,,对账 {i},,办件数据,很多,0,x\n"
                ));
            } else if i % 10 == 0 {
                s.push_str(&format!(
                    "数据对账,2025-11-{day:02} 10:00,,,,,对账 {i},,办件数据,{i},1,\n"
                ));
            } else {
                s.push_str(&format!(
                    "技术支持,2025-11-{day:02} 09:{:02},{},用户{i},地市,电话,问题 {i},已解决,,,,\n",
                    i % 60,
                    i % 90
                ));
            }
        }
        s.into_bytes()
    };
    let post = |token: String, body: Vec<u8>, q: String| {
        app.client
            .post(app.url(&format!("/api/v1/work-records/import{q}")))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(body)
            .send()
    };
    // Row 5,002 of the file (a title, the header, then data from line 3).
    let r = post(t.clone(), csv(Some(4_999)), format!("?line_id={line}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    let errs = v["error"]["details"]["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{v}");
    assert_eq!(errs[0]["row"], 5_002, "{v}");
    assert_eq!(errs[0]["column"], "一致条数", "{v}");
    assert!(error_message(&v).contains("未导入任何数据"));
    assert_eq!(app.total("/api/v1/work-records").await, 0);
    // Without a line, or on no line of theirs, nothing either.
    let r = post(t.clone(), csv(None), String::new()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(et.clone(), csv(None), format!("?line_id={line}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = post(t.clone(), csv(None), format!("?line_id={line}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["imported"], 10_000, "{v}");
    assert_eq!(v["ignored_columns"], json!(["备注"]), "{v}");
    assert_eq!(app.total("/api/v1/work-records").await, 10_000);
    // The indicators count what was imported: 9,000 support calls, 1,000 reconciliations.
    let s = november_stats(&app, t, line).await;
    assert_eq!(s["support"], 9_000, "{s}");
    assert_eq!(s["by_type"]["reconciliation"], 1_000, "{s}");
    assert_eq!(s["resolved"], 9_000);
    let rec = app
        .get_json_expect(
            t,
            "/api/v1/work-records?type=reconciliation&limit=1",
            StatusCode::OK,
        )
        .await;
    assert_eq!(rec["items"][0]["origin"], "import", "{rec}");
    assert_eq!(rec["items"][0]["data"]["mismatched"], 1, "{rec}");
}
