//! Inspections (巡检): templates with ranges, plans that generate rounds, tasks filled and
//! reviewed, findings, overdue tasks and the indicators, with the injected clock.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn room_template() -> Value {
    json!({
        "name": "机房测试巡检", "target_type": "site",
        "items": [
            {"key": "ENV-01", "label": "冷通道进风温度", "kind": "number", "unit": "℃",
             "min": 18, "max": 27, "required": true},
            {"key": "FIRE-01", "label": "控制器工作方式", "kind": "choice",
             "choices": ["自动", "手动", "故障"], "abnormal_choices": ["故障"], "required": true},
            {"key": "NOTE", "label": "备注", "kind": "text"}
        ]
    })
}

/// Creates the machine-room template as the administrator: the template.
async fn create_room_template(app: &TestApp) -> Value {
    let path = "/api/v1/inspection-templates";
    app.post_expect(
        &app.admin_token,
        path,
        &room_template(),
        StatusCode::CREATED,
    )
    .await
}

/// The id of the demo's inspection template called `name`.
async fn template_id(app: &TestApp, name: &str) -> Value {
    find_item(app, "/api/v1/inspection-templates", "name", name).await["id"].clone()
}

#[tokio::test]
async fn the_demo_ships_editable_templates_and_bad_templates_name_their_item_fields() {
    let app = demo_at(bj(2025, 10, 15, 8, 0)).await;
    let t = &app.admin_token;
    let v = app
        .get_json_expect(t, "/api/v1/inspection-templates", StatusCode::OK)
        .await;
    let names: Vec<&str> = each(&v["items"])
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"机房日常巡检"), "{names:?}");
    assert!(names.contains(&"UPS 与蓄电池月度巡检"), "{names:?}");
    assert!(names.contains(&"应用系统日检"), "{names:?}");
    let ups = each(&v["items"])
        .find(|i| i["name"] == "UPS 与蓄电池月度巡检")
        .unwrap();
    let cells = each(&ups["items"]).find(|i| i["key"] == "BAT-01").unwrap();
    assert_eq!(cells["count"], 68);
    let two = app
        .get_json_expect(
            t,
            "/api/v1/inspection-templates?limit=2&offset=1",
            StatusCode::OK,
        )
        .await;
    assert_eq!(two["items"].as_array().unwrap().len(), 2);
    assert_eq!(two["total"], v["total"]);

    // A broken template: every problem on its field, nothing created.
    let before = app.total("/api/v1/inspection-templates").await;
    let v = app
        .post_expect(
            t,
            "/api/v1/inspection-templates",
            &json!({"name": "坏模板", "target_type": "site", "items": [
                {"key": "A", "label": "温度", "kind": "number", "min": 30, "max": 20},
                {"key": "A", "label": "重复", "kind": "check"},
                {"key": "C", "label": "方式", "kind": "choice", "choices": ["自动"]}
            ]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(
        fields_in_order(&v),
        vec!["items[0].max", "items[1].key", "items[2].choices"],
        "{v}"
    );
    let v = app
        .post_expect(
            t,
            "/api/v1/inspection-templates",
            &json!({"name": "x", "target_type": "room", "items": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["target_type"], "{v}");
    assert_eq!(app.total("/api/v1/inspection-templates").await, before);

    // Edited like any record, and audited.
    let created = create_room_template(&app).await;
    let id = created["id"].as_i64().unwrap();
    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/inspection-templates/{id}"),
            &json!({"name": "机房测试巡检（改）"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["name"], "机房测试巡检（改）");
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    // A requester sees no inspections at all.
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    let (s, _) = app.get_json(&rt, "/api/v1/inspection-templates").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get_json(&rt, "/api/v1/inspection-tasks").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn readings_are_range_checked_saved_as_drafts_submitted_reviewed_and_found_once() {
    let app = demo_at(bj(2025, 10, 15, 8, 0)).await;
    let t = &app.admin_token;
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let (_, other) = app.user_with_role("eng2", "engineer").await;
    let (_, sup) = app.user_with_role("jianli", "supervisor").await;
    let tpl = create_room_template(&app).await;
    let pid = created_id(
        &app,
        t,
        "/api/v1/inspection-plans",
        &json!({"name": "机房每日巡检", "template_id": tpl["id"], "target_mode": "all",
                    "schedule": "0 9 * * *", "due_minutes": 480,
                    "assignee_rule": "user", "assignee_id": eng}),
    )
    .await;
    let run = app
        .post_expect(
            t,
            &format!("/api/v1/inspection-plans/{pid}/run"),
            &json!({}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(run["created"], 1, "the demo has one machine room: {run}");
    let id = run["task_ids"][0].as_i64().unwrap();
    let path = format!("/api/v1/inspection-tasks/{id}");

    // Only the assignee (or a manager) fills it in.
    let (s, _) = app
        .post(
            &other,
            &format!("{path}/results"),
            &json!({"readings": {"ENV-01": 22}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Shapes are checked per item.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/results"),
            &json!({"readings": {"ENV-01": "热", "FIRE-01": "半自动", "GHOST": 1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(
        fields_in_order(&v),
        vec!["readings.ENV-01", "readings.FIRE-01", "readings.GHOST"],
        "{v}"
    );
    // A draft: one item now, the task is in progress.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/results"),
            &json!({"readings": {"ENV-01": 29.5}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "in_progress");
    let env = &v["items"][0];
    assert_eq!(env["verdict"], "abnormal");
    assert_eq!(env["detail"], "冷通道进风温度：29.5 ℃ 高于上限 27 ℃");
    assert_eq!(env["range"], "18–27 ℃");
    // Submitting with a required item missing names it and changes nothing.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/actions"),
            &json!({"action": "submit"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["readings.FIRE-01"], "{v}");
    let v = fill_and_submit(&app, &et, id, &json!({"readings": {"FIRE-01": "自动"}})).await;
    assert_eq!(v["status"], "submitted");
    assert_eq!(v["findings"], 1);
    let first = v["finding_list"][0].clone();
    assert_eq!(first["item_key"], "ENV-01");
    // The finding opened one incident from the inspection, linked both ways.
    assert!(
        first["ticket_number"].as_str().unwrap().starts_with("INC-"),
        "{first}"
    );
    let tid = first["ticket_id"].as_i64().unwrap();
    let ticket = app
        .get_json_expect(t, &format!("/api/v1/tickets/{tid}"), StatusCode::OK)
        .await;
    assert_eq!(ticket["source"], "inspection", "{ticket}");
    assert!(ticket["title"].as_str().unwrap().contains("冷通道进风温度"));
    assert!(
        ticket["description"]
            .as_str()
            .unwrap()
            .contains(&format!("巡检任务 #{id}")),
        "{ticket}"
    );
    // Submitted readings are frozen; an engineer cannot review.
    let (s, _) = app
        .post(
            &et,
            &format!("{path}/results"),
            &json!({"readings": {"ENV-01": 22}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(
            &et,
            &format!("{path}/actions"),
            &json!({"action": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The supervisor returns it with a comment (required), it is done again, and the
    // same abnormal item is not found twice.
    let v = app
        .post_expect(
            &sup,
            &format!("{path}/actions"),
            &json!({"action": "return"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["comment"]);
    let v = app
        .post_expect(
            &sup,
            &format!("{path}/actions"),
            &json!({"action": "return", "comment": "请复测温度"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "returned");
    assert_eq!(v["review_comment"], "请复测温度");
    let v = fill_and_submit(
        &app,
        &et,
        id,
        &json!({"readings": {"ENV-01": 28, "FIRE-01": "故障"}}),
    )
    .await;
    assert_eq!(v["findings"], 2);
    let f = app
        .get_json_expect(
            t,
            &format!("/api/v1/inspection-findings?task_id={id}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(f["total"], 2, "{f}");
    // Submitting again made one more ticket, for the new finding only.
    let tickets: Vec<i64> = each(&f["items"])
        .map(|i| i["ticket_id"].as_i64().unwrap())
        .collect();
    assert!(tickets.contains(&tid) && tickets.len() == 2 && tickets[0] != tickets[1]);
    // Resolving the ticket rectifies its finding.
    app.post_expect(
        t,
        &format!("/api/v1/tickets/{tid}/actions"),
        &json!({"action": "start"}),
        StatusCode::OK,
    )
    .await;
    app.post_expect(
        t,
        &format!("/api/v1/tickets/{tid}/actions"),
        &json!({"action": "resolve", "resolution": "调整空调设定温度",
                "remote_fix_reason": "值班人员现场已处理",
                "fault_report": {"symptom": "冷通道温度偏高", "impact_scope": "机房", "started_at": "2025-10-15T07:00:00+08:00",
                   "recovered_at": "2025-10-15T07:30:00+08:00", "cause": "空调设定值偏高", "handling": "调整设定值",
                   "measures": "纳入日检"}}),
        StatusCode::OK,
    )
    .await;
    let f = app
        .get_json_expect(
            t,
            &format!("/api/v1/inspection-findings?task_id={id}&status=rectified"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(f["total"], 1, "{f}");
    assert_eq!(f["items"][0]["ticket_id"], tid);
    let v = app
        .post_expect(
            &sup,
            &format!("{path}/actions"),
            &json!({"action": "approve"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "approved");
    assert!(v["allowed_actions"].as_array().unwrap().is_empty());
    let (s, v) = app
        .post(
            &sup,
            &format!("{path}/actions"),
            &json!({"action": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

#[tokio::test]
async fn a_month_of_daily_rounds_gives_indicators_equal_to_hand_counts() {
    let start = bj(2025, 10, 31, 20, 0);
    let app = demo_at(start).await;
    let t = &app.admin_token;
    let (eng, _) = app.user_with_role("eng", "engineer").await;
    app.user_with_role("pm", "manager").await;
    let daily = template_id(&app, "应用系统日检").await;
    app.post_expect(
        t,
        "/api/v1/inspection-plans",
        &json!({"name": "两个系统日检", "template_id": daily, "target_mode": "listed",
                "target_ids": [1, 2], "schedule": "0 9 * * *", "due_minutes": 480,
                "assignee_rule": "user", "assignee_id": eng}),
        StatusCode::CREATED,
    )
    .await;
    // Overdue tasks are notified through the rules: one rule for every overdue task, one
    // for system 1's and one for system 2's; a priority filter makes no sense here.
    let ch = app
        .post_expect(
            t,
            "/api/v1/notification-channels",
            &json!({"kind": "webhook", "name": "巡检逾期", "config": {"url": "http://127.0.0.1:9/hook"}}),
            StatusCode::CREATED,
        )
        .await["id"]
        .clone();
    for rule in [
        json!({"event": "inspection.overdue", "channel_id": ch}),
        json!({"event": "inspection.overdue", "channel_id": ch, "system_id": 1}),
        json!({"event": "inspection.overdue", "channel_id": ch, "system_id": 2}),
    ] {
        app.post_expect(t, "/api/v1/notification-rules", &rule, StatusCode::CREATED)
            .await;
    }
    let v = app
        .post_expect(
            t,
            "/api/v1/notification-rules",
            &json!({"event": "inspection.overdue", "channel_id": ch, "priority": "P1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(v.to_string().contains("优先级"), "{v}");
    // Bad plans name their fields.
    let v = app
        .post_expect(
            t,
            "/api/v1/inspection-plans",
            &json!({"name": "坏计划", "template_id": daily, "target_mode": "listed",
                    "target_ids": [1, 99999], "schedule": "0 25 * * *", "due_minutes": 480}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["schedule"], "{v}");
    let v = app
        .post_expect(
            t,
            "/api/v1/inspection-plans",
            &json!({"name": "坏计划", "template_id": daily, "target_mode": "listed",
                    "target_ids": [1, 99999], "schedule": "0 9 * * *"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["target_ids"], "{v}");

    let readings = |abnormal: bool| {
        json!({"readings": {
            "APP-01": if abnormal { "abnormal" } else { "normal" },
            "APP-03": "normal", "APP-04": "normal"}})
    };
    // November: system 1 is done every day (late on the 10th, abnormal on the 5th);
    // system 2 only on even days; the manager approves what was submitted.
    let (mut done, mut on_time, mut found) = (0, 0, 0);
    for day in 1..=30u32 {
        app.clock.set(bj(2025, 11, day, 8, 0));
        yunwei::inspect::plans::generate_ahead(&app.ctx)
            .await
            .unwrap();
        app.clock.set(bj(2025, 11, day, 10, 0));
        // Sessions end after 30 idle minutes: sign in each morning.
        let mut et = app.login_ok("eng", "Changed#Pass2").await;
        let mut mt = app.login_ok("pm", "Changed#Pass2").await;
        let list = app
            .get_json_expect(
                &et,
                &format!("/api/v1/inspection-tasks?from=2025-11-{day:02}&to=2025-11-{day:02}"),
                StatusCode::OK,
            )
            .await;
        assert_eq!(list["total"], 2, "day {day}: {list}");
        for task in list["items"].as_array().unwrap() {
            let id = task["id"].as_i64().unwrap();
            let sys = task["target_id"].as_i64().unwrap();
            if sys == 2 && day % 2 == 1 {
                continue;
            }
            if day == 10 && sys == 1 {
                app.clock.set(bj(2025, 11, day, 18, 0));
                et = app.login_ok("eng", "Changed#Pass2").await;
                mt = app.login_ok("pm", "Changed#Pass2").await;
            }
            let abnormal = day == 5 && sys == 1;
            fill_and_submit(&app, &et, id, &readings(abnormal)).await;
            app.post_expect(
                &mt,
                &format!("/api/v1/inspection-tasks/{id}/actions"),
                &json!({"action": "approve"}),
                StatusCode::OK,
            )
            .await;
            done += 1;
            if !(day == 10 && sys == 1) {
                on_time += 1;
            }
            if abnormal {
                found += 1;
            }
        }
        app.clock.set(bj(2025, 11, day, 23, 0));
        yunwei::inspect::tasks::mark_overdue(&app.ctx)
            .await
            .unwrap();
    }
    assert_eq!((done, on_time, found), (45, 44, 1));
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let et = app.login_ok("eng", "Changed#Pass2").await;
    let overdue = app
        .get_json_expect(
            t,
            "/api/v1/inspection-tasks?status=overdue&from=2025-11-01&to=2025-11-30",
            StatusCode::OK,
        )
        .await;
    assert_eq!(overdue["total"], 15, "{overdue}");
    // The assignee was told once per overdue task.
    let msgs = app
        .get_json_expect(&et, "/api/v1/me/messages", StatusCode::OK)
        .await;
    let n = items_where(&msgs, "event", "inspection.overdue").len();
    assert_eq!(n, 15, "{msgs}");
    // Only system 2's tasks are left undone (below), so its rule matches them all and
    // system 1's rule none.
    assert!(
        each(&overdue["items"]).all(|i| i["system_id"] == 2),
        "{overdue}"
    );
    let ob = app
        .get_json_expect(t, "/api/v1/notification-outbox?limit=500", StatusCode::OK)
        .await;
    let queued = items_where(&ob, "event", "inspection.overdue");
    assert_eq!(queued.len(), 30, "{ob}");
    assert!(
        queued.iter().all(|m| m["subject"]
            .as_str()
            .unwrap()
            .starts_with("【巡检任务逾期】")),
        "{ob}"
    );

    let s = app
        .get_json_expect(
            t,
            "/api/v1/inspections/stats?from=2025-11-01&to=2025-11-30",
            StatusCode::OK,
        )
        .await;
    let o = &s["overall"];
    assert_eq!(o["planned"], 60, "{s}");
    assert_eq!(o["completed"], 45);
    assert_eq!(o["completed_on_time"], 44);
    assert_eq!(o["completion_rate"], 75.0);
    assert_eq!(o["findings"], found);
    assert_eq!(s["by_system"]["1"]["completed"], 30, "{s}");
    assert_eq!(s["by_system"]["2"]["completed"], 15);
    assert_eq!(s["by_system"]["2"]["completion_rate"], 50.0);
    assert_eq!(s["by_engineer"][eng.to_string()]["planned"], 60);
    assert_eq!(s["by_target_type"]["system"]["planned"], 60);
    // Generating again changes nothing: one task per plan, day and target.
    yunwei::inspect::plans::generate_ahead(&app.ctx)
        .await
        .unwrap();
    let all = app
        .get_json_expect(
            t,
            "/api/v1/inspection-tasks?from=2025-11-01&to=2025-11-30",
            StatusCode::OK,
        )
        .await;
    assert_eq!(all["total"], 60);
}

#[tokio::test]
async fn the_monthly_inspection_report_is_a_signed_document_with_the_stats_figures() {
    let app = demo_at(bj(2025, 11, 1, 8, 0)).await;
    let t = &app.admin_token;
    app.ctx
        .store
        .set_setting("project.contractor", "某信息技术有限公司", 0)
        .await
        .unwrap();
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let daily = template_id(&app, "应用系统日检").await;
    let (plan, run) = create_and_run_plan(
        &app,
        &json!({"name": "三个系统日检", "template_id": daily, "target_mode": "listed",
                    "target_ids": [1, 2, 3], "schedule": "0 9 * * *", "due_minutes": 480,
                    "assignee_rule": "user", "assignee_id": eng}),
    )
    .await;
    // Two of three done, one with a finding.
    for (i, id) in each(&run["task_ids"]).take(2).enumerate() {
        let r = json!({"readings": {"APP-01": if i == 0 { "abnormal" } else { "normal" },
                                    "APP-03": "normal", "APP-04": "normal"}});
        fill_and_submit(&app, &et, id, &r).await;
    }
    let stats = app
        .get_json_expect(
            t,
            "/api/v1/inspections/stats?from=2025-11-01&to=2025-11-30",
            StatusCode::OK,
        )
        .await;
    assert_eq!(stats["overall"]["completion_rate"], 66.7, "{stats}");

    // Bad requests name the field and store nothing.
    let v = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "inspection_monthly", "period": "2025-13", "format": "docx"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["period"], "{v}");
    let v = app
        .post_expect(
            t,
            "/api/v1/reports",
            &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "pdf"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["format"], "{v}");
    assert_eq!(app.total("/api/v1/reports").await, 0);

    for format in ["docx", "xlsx"] {
        let (r, bytes) = generate_report(&app, t, &json!({"kind": "inspection_monthly", "period": "2025-11", "format": format, "scope": "systems"})).await;
        assert_eq!(r["status"], "done", "{r}");
        assert!(bytes.starts_with(b"PK"));
        if let Some(text) = read_back(&bytes, format) {
            if format == "docx" {
                for needle in [
                    "省生态环境厅政务信息化运维运营（2024年）项目",
                    "月度巡检报告",
                    "报告期间：2025 年 11 月",
                    "运维单位：某信息技术有限公司",
                    "一、巡检概况",
                    "二、巡检结果汇总",
                    "应用系统|3|3|2|2|66.7%|1|0|0%",
                    "合计|3|3|2|2|66.7%|1|0|0%",
                    "用户单位（签章）",
                    "creator=某信息技术有限公司",
                    "title=月度巡检报告",
                ] {
                    assert!(text.contains(needle), "{needle} missing in:\n{text}");
                }
            } else {
                for needle in [
                    "sheet=汇总",
                    "合计|3|3|2|2|66.7|1|0|0",
                    "sheet=巡检任务",
                    "sheet=发现问题",
                    "creator=某信息技术有限公司",
                ] {
                    assert!(text.contains(needle), "{needle} missing in:\n{text}");
                }
            }
        }
        if let Some(pdf) = via_libreoffice(&bytes, format) {
            assert!(pdf.contains("月度巡检报告"), "{pdf}");
            assert!(pdf.contains("66.7%"), "{pdf}");
        }
    }
    // The cycle report of the plan converts as well.
    let (_, bytes) = generate_report(
        &app,
        t,
        &json!({"kind": "inspection_cycle", "period": {"from": "2025-11-01", "to": "2025-11-30"},
                    "format": "docx", "plan_id": plan["id"]}),
    )
    .await;
    if let Some(pdf) = via_libreoffice(&bytes, "docx") {
        assert!(
            pdf.contains("周期巡检报告") && pdf.contains("三个系统日检"),
            "{pdf}"
        );
        assert!(pdf.contains("66.7%"), "{pdf}");
    }
    let list = app
        .get_json_expect(t, "/api/v1/reports", StatusCode::OK)
        .await;
    assert_eq!(list["total"], 3);
    // Requesters get no reports.
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    let (s, _) = app.get_json(&rt, "/api/v1/reports").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A plan over systems 1–3 run once on 2025-11-03 (Beijing), two of its three tasks
/// submitted; answers the plan's id.
async fn three_system_tasks(app: &TestApp) -> Value {
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let daily = template_id(app, "应用系统日检").await;
    let (plan, run) = create_and_run_plan(
        app,
        &json!({"name": "三个系统日检", "template_id": daily, "target_mode": "listed",
                    "target_ids": [1, 2, 3], "schedule": "0 9 * * *", "due_minutes": 480,
                    "assignee_rule": "user", "assignee_id": eng}),
    )
    .await;
    for id in each(&run["task_ids"]).take(2) {
        let r = json!({"readings": {"APP-01": "abnormal", "APP-03": "normal", "APP-04": "normal"}});
        fill_and_submit(app, &et, id, &r).await;
    }
    plan["id"].clone()
}

/// The named parts of a zip (DOCX/XLSX) and their bytes.
fn zip_parts(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

/// The text of `word/document.xml` among a DOCX's `parts`.
fn document_xml(parts: &[(String, Vec<u8>)]) -> String {
    let (_, xml) = parts
        .iter()
        .find(|(n, _)| n == "word/document.xml")
        .unwrap();
    String::from_utf8(xml.clone()).unwrap()
}

fn font_installed() -> bool {
    let found =
        std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists();
    assert!(
        found || std::env::var("YUNWEI_REQUIRE_BROWSER").is_err(),
        "fonts-noto-cjk is installed in CI"
    );
    found
}

#[tokio::test]
async fn the_monthly_report_has_its_charts_as_png_images_that_libreoffice_keeps() {
    let app = demo_at(bj(2025, 11, 3, 8, 0)).await;
    three_system_tasks(&app).await;
    let (_, bytes) = generate_report(&app, &app.admin_token,
        &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "docx", "scope": "systems"}),
    )
    .await;
    let parts = zip_parts(&bytes);
    let doc = document_xml(&parts);
    let pngs: Vec<&(String, Vec<u8>)> = parts
        .iter()
        .filter(|(n, _)| n.starts_with("word/media/") && n.ends_with(".png"))
        .collect();
    if !font_installed() {
        eprintln!("skipping the chart images: no CJK font here");
        assert!(pngs.is_empty() && doc.contains("未生成统计图"));
        return;
    }
    assert_eq!(
        pngs.len(),
        3,
        "three charts: {:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for (name, png) in &pngs {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}");
        // IHDR: 1600 × 800.
        assert_eq!(&png[16..24], &[0, 0, 6, 64, 0, 0, 3, 32], "{name}");
    }
    for caption in [
        "图 1　各系统巡检完成率对比（本月与上月）",
        "图 2　各系统发现问题与整改情况（本月与上月）",
        "图 3　每日巡检完成情况",
    ] {
        assert!(doc.contains(caption), "{caption} missing");
    }
    assert!(!doc.contains("未生成统计图"));
    if let Some(pdf) = libreoffice_pdf(&bytes, "docx") {
        let text = poppler("pdftotext", &[], &pdf);
        let compact: String = text.split_whitespace().collect();
        assert!(
            compact.contains("图3") && compact.contains("每日巡检完成情况"),
            "{text}"
        );
        let list = poppler("pdfimages", &["-list"], &pdf);
        // Two header lines, then one line per image.
        let images = list
            .lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .count();
        assert!(images >= 3, "the PDF has {images} images:\n{list}");
    }
    // The XLSX draws the same three as native charts over its 图表 sheet.
    let (_, xlsx) = generate_report(&app, &app.admin_token,
        &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "xlsx", "scope": "systems"}),
    )
    .await;
    let parts = zip_parts(&xlsx);
    let charts: Vec<String> = parts
        .iter()
        .filter(|(n, _)| n.starts_with("xl/charts/chart"))
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert_eq!(charts.len(), 3);
    assert!(
        charts[0].contains("<c:barChart>") && charts[0].contains("图表"),
        "{}",
        charts[0]
    );
    assert!(charts.iter().any(|c| c.contains("<c:lineChart>")));
    if let Some(text) = read_back(&xlsx, "xlsx") {
        assert!(text.contains("sheet=图表"), "{text}");
    }
}

#[tokio::test]
async fn without_a_cjk_font_the_report_lists_the_chart_figures_and_says_why() {
    let app = demo_at_with(bj(2025, 11, 3, 8, 0), |c| {
        c.report_font = Some("/nonexistent/fonts/字体.ttc".into())
    })
    .await;
    three_system_tasks(&app).await;
    let (r, bytes) = generate_report(&app, &app.admin_token,
        &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "docx", "scope": "systems"}),
    )
    .await;
    assert_eq!(r["status"], "done");
    let parts = zip_parts(&bytes);
    assert!(
        !parts.iter().any(|(n, _)| n.starts_with("word/media/")),
        "no images without a font"
    );
    let doc = document_xml(&parts);
    assert!(
        doc.contains("说明：本报告未生成统计图") && doc.contains("/nonexistent/fonts/字体.ttc"),
        "the document says why"
    );
    // The figures are there as tables: the completion rate of the month, and the days.
    assert!(doc.contains("66.7%") && doc.contains("本月已整改") && doc.contains("30日"));
    // The audit record says why too (the auditor reads the log).
    let (_, auditor) = app.user_with_role("jianli", "auditor").await;
    let events = app
        .get_json_expect(
            &auditor,
            &format!(
                "/api/v1/audit-events?entity_type=reports&entity_id={}",
                r["id"]
            ),
            StatusCode::OK,
        )
        .await;
    let summary = events["items"][0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("未生成统计图") && summary.contains("字体.ttc"),
        "{events}"
    );
    if let Some(text) = via_libreoffice(&bytes, "docx") {
        assert!(text.contains("未生成统计图"), "{text}");
    }
}

#[tokio::test]
async fn yunwei_report_writes_the_document_and_names_a_bad_argument() {
    let app = demo_at(bj(2025, 12, 1, 9, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.xlsx");
    let o = app.cli(&[
        "report",
        "inspection_monthly",
        "--period",
        "2025-11",
        "--format",
        "xlsx",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(&out).unwrap().starts_with(b"PK"));
    assert_eq!(app.total("/api/v1/reports").await, 1);
    let o = app.cli(&[
        "report",
        "weekly_digest",
        "--period",
        "2025-11",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("kind") && err.contains("inspection_monthly"),
        "{err}"
    );
    assert_eq!(app.total("/api/v1/reports").await, 1);
}

#[tokio::test]
async fn last_months_reports_are_generated_once_from_the_first() {
    let app = demo_at(bj(2025, 11, 30, 8, 0)).await;
    let t = &app.admin_token;
    let (eng, _) = app.user_with_role("eng", "engineer").await;
    let daily = template_id(&app, "应用系统日检").await;
    let plan = app
        .post_expect(
            t,
            "/api/v1/inspection-plans",
            &json!({"name": "日检", "template_id": daily, "target_mode": "listed", "target_ids": [1],
                    "schedule": "0 9 * * *", "assignee_rule": "user", "assignee_id": eng}),
            StatusCode::CREATED,
        )
        .await;
    app.post_expect(
        t,
        &format!("/api/v1/inspection-plans/{}/run", plan["id"]),
        &json!({}),
        StatusCode::CREATED,
    )
    .await;
    // Still November: nothing for last month (no inspections in October).
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    app.clock.set(bj(2025, 12, 1, 2, 0));
    // Systems had inspections in November, the infrastructure had none: DOCX and XLSX
    // (and the 备份监督月报's two, of the demo's backup policies). Two passes at once
    // (two replicas, or a slow pass overlapping the next) make each document once.
    assert_eq!(monthly_job_twice_at_once(&app).await, 4);
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let list = app
        .get_json_expect(t, "/api/v1/reports", StatusCode::OK)
        .await;
    assert_eq!(list["total"], 4, "{list}");
    for r in list["items"].as_array().unwrap() {
        if r["kind"] == "backup_monthly" {
            continue;
        }
        assert_eq!(r["kind"], "inspection_monthly");
        assert_eq!(r["period"], "2025 年 11 月");
        assert_eq!(r["params"]["scope"], "systems");
    }
}

#[tokio::test]
async fn the_reports_page_generates_lists_and_downloads_documents() {
    let app = demo_at(bj(2025, 12, 1, 9, 0)).await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&cookie, "/reports").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("生成报告") && html.contains("还没有生成过报告"),
        "{html}"
    );
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url("/reports"))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let r = post(vec![
        ("kind", "inspection_monthly"),
        ("period", "2025-13"),
        ("format", "docx"),
        ("scope", "systems"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("报告期间应为"), "{html}");
    assert!(
        html.contains("value=\"2025-13\""),
        "what was typed stays: {html}"
    );
    assert_eq!(app.total("/api/v1/reports").await, 0);
    let r = post(vec![
        ("kind", "inspection_monthly"),
        ("period", "2025-11"),
        ("format", "docx"),
        ("scope", "systems"),
        ("plan_id", ""),
    ])
    .await
    .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (_, html) = app.page(&cookie, "/reports").await;
    assert!(
        html.contains("月度巡检报告-应用系统-2025年11月.docx"),
        "{html}"
    );
    let list = app
        .get_json_expect(&app.admin_token, "/api/v1/reports", StatusCode::OK)
        .await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let r = app.page_get(&cookie, &format!("/reports/{id}/file")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    // Requesters have no reports page.
    app.user_with_role("citizen", "requester").await;
    let rc = app.page_cookie("citizen", "Changed#Pass2").await;
    let (s, _) = app.page(&rc, "/reports").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_managers_edit_templates_and_plans_and_a_used_template_cannot_be_deleted() {
    let app = demo_at(bj(2025, 10, 15, 8, 0)).await;
    let t = &app.admin_token;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (s, _) = app
        .post(&et, "/api/v1/inspection-templates", &room_template())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let tpl = create_room_template(&app).await;
    let plan_body = json!({"name": "机房日检", "template_id": tpl["id"], "target_mode": "all",
                           "schedule": "0 9 * * *"});
    let (s, _) = app.post(&et, "/api/v1/inspection-plans", &plan_body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let pid = created_id(&app, t, "/api/v1/inspection-plans", &plan_body).await;
    // A bad schedule in a patch names the field and changes nothing.
    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/inspection-plans/{pid}"),
            &json!({"schedule": "0 9 * *"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["schedule"], "{v}");
    let v = app
        .get_json_expect(
            t,
            &format!("/api/v1/inspection-plans/{pid}"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["schedule"], "0 9 * * *");
    // The template is in use: 409, and it stays.
    let path = format!("/api/v1/inspection-templates/{}", tpl["id"]);
    assert_eq!(app.delete(t, &path).await, StatusCode::CONFLICT);
    app.get_json_expect(t, &path, StatusCode::OK).await;
    assert_eq!(
        app.delete(t, &format!("/api/v1/inspection-plans/{pid}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.delete(&et, &path).await, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(t, &path).await, StatusCode::NO_CONTENT);
    app.get_json_expect(t, &path, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn report_paragraphs_are_templates_an_admin_edits_checked_before_they_are_stored() {
    let app = demo_at(bj(2025, 11, 1, 8, 0)).await;
    let t = &app.admin_token;
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let list = app
        .get_json_expect(t, "/api/v1/report-texts", StatusCode::OK)
        .await;
    // Three of the inspection reports, four of the service lines' monthly report, two of
    // their period summary, three of the 运维月报, three of the 年终总结报告, one of the
    // 服务质量评价报告 and two of the 备份监督月报.
    assert_eq!(list["total"], 18, "{list}");
    assert!(
        each(&list["items"]).all(|b| b["customized"] == false && b["text"] == b["default"]),
        "{list}"
    );
    // Only the admin and the project manager edit; requesters do not even read.
    app.patch_expect(
        &et,
        "/api/v1/report-texts/inspection.summary",
        &json!({"text": "x"}),
        StatusCode::FORBIDDEN,
    )
    .await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    assert_eq!(
        app.get(&rt, "/api/v1/report-texts").await.status(),
        StatusCode::FORBIDDEN
    );
    app.get_json_expect(t, "/api/v1/report-texts/nope.block", StatusCode::NOT_FOUND)
        .await;
    // A template that misnames a variable, repeats a string or does not parse is refused
    // with what to fix, and nothing is stored.
    for (bad, says) in [
        ("本月完成 {{ complete }} 个", "未定义的变量"),
        ("{{ people * 100000000 }}", "乘法"),
        ("{% if planned %}没有结束", "语法错误"),
    ] {
        let v = app
            .patch_expect(
                t,
                "/api/v1/report-texts/inspection.summary",
                &json!({"text": bad}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert!(v.to_string().contains(says), "{bad}: {v}");
        assert_eq!(fields_in_order(&v), vec!["text"], "{v}");
    }
    app.patch_expect(
        t,
        "/api/v1/report-texts/inspection.summary",
        &json!({"txt": "x"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let b = app
        .get_json_expect(t, "/api/v1/report-texts/inspection.summary", StatusCode::OK)
        .await;
    assert_eq!(b["customized"], false, "{b}");

    let b = app
        .patch_expect(
            t,
            "/api/v1/report-texts/inspection.summary",
            &json!({"text": "本月应检 {{ planned }} 项，实检 {{ completed }} 项（完成率 {{ completion_rate }}）。\n{% if findings %}发现问题 {{ findings }} 项。{% endif %}"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(b["customized"], true, "{b}");

    // A document generated now says it in those words, with the period's figures.
    let daily = template_id(&app, "应用系统日检").await;
    let (_, run) = create_and_run_plan(
        &app,
        &json!({"name": "两个系统日检", "template_id": daily, "target_mode": "listed",
                    "target_ids": [1, 2], "schedule": "0 9 * * *", "due_minutes": 480,
                    "assignee_rule": "user", "assignee_id": eng}),
    )
    .await;
    let id = &run["task_ids"][0];
    fill_and_submit(
        &app,
        &et,
        id,
        &json!({"readings": {"APP-01": "abnormal", "APP-03": "normal", "APP-04": "normal"}}),
    )
    .await;
    let (_, bytes) = generate_report(&app, t, &json!({"kind": "inspection_monthly", "period": "2025-11", "format": "docx", "scope": "systems"})).await;
    let expected = [
        "本月应检 2 项，实检 1 项（完成率 50%）。",
        "发现问题 1 项。",
    ];
    if let Some(text) = read_back(&bytes, "docx") {
        for needle in expected {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
        // The untouched paragraphs keep their default wording.
        assert!(text.contains("巡检期间：2025 年 11 月"), "{text}");
        assert!(text.contains("尚有 1 项问题未整改"), "{text}");
    }
    if let Some(pdf) = via_libreoffice(&bytes, "docx") {
        assert!(pdf.contains("本月应检 2 项"), "{pdf}");
    }
    // The change is audited; null restores the default.
    let (_, at) = app.user_with_role("aud", "auditor").await;
    let audit = app
        .get_json_expect(
            &at,
            "/api/v1/audit-events?entity_type=report_texts",
            StatusCode::OK,
        )
        .await;
    assert!(audit.to_string().contains("inspection.summary"), "{audit}");
    let b = app
        .patch_expect(
            t,
            "/api/v1/report-texts/inspection.summary",
            &json!({"text": null}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(b["customized"], false, "{b}");
    assert_eq!(b["text"], b["default"], "{b}");

    // The page shows the blocks; a bad template comes back with the reason.
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, html) = app.page(&cookie, "/reports/texts").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("风险提示与建议") && html.contains("completion_rate"),
        "{html}"
    );
    let r = app
        .page_post(
            &cookie,
            "/reports/texts/inspection.advice",
            &[("action", "save"), ("text", "{{ nope }}")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("未定义的变量"));
    let r = app
        .page_post(
            &cookie,
            "/reports/texts/inspection.advice",
            &[("action", "save"), ("text", "请继续保持。")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已保存"));
    let b = app
        .get_json_expect(t, "/api/v1/report-texts/inspection.advice", StatusCode::OK)
        .await;
    assert_eq!(b["text"], "请继续保持。", "{b}");
}

#[tokio::test]
async fn a_generation_pass_writes_a_plan_only_when_a_round_is_due_and_skips_no_round() {
    // Monday 2025-11-03, half past midnight in Beijing.
    let app = demo_at(bj(2025, 11, 3, 0, 30)).await;
    let t = &app.admin_token;
    let weekly = template_id(&app, "应用系统周检（性能）").await;
    let plan = app
        .post_expect(
            t,
            "/api/v1/inspection-plans",
            &json!({"name": "系统周检", "template_id": weekly, "target_mode": "listed",
                    "target_ids": [1], "schedule": "0 10 * * 1", "due_minutes": 2880}),
            StatusCode::CREATED,
        )
        .await;
    let id = plan["id"].as_i64().unwrap();
    // The job once a day for three weeks: a round each Monday, nothing written between
    // (the session would time out over the weeks: the plan is read from the store).
    let mut monday_until = None;
    for day in 3..=23u32 {
        app.clock.set(bj(2025, 11, day, 0, 30));
        yunwei::inspect::plans::generate_ahead(&app.ctx)
            .await
            .unwrap();
        let until = app
            .ctx
            .store
            .inspection_plan(id)
            .await
            .unwrap()
            .generated_until;
        if day % 7 == 3 {
            let next = bj(2025, 11, day + 1, 0, 30).timestamp_millis();
            assert_eq!(until, Some(next), "day {day}");
            monday_until = until;
        } else {
            assert_eq!(until, monday_until, "day {day}: nothing written");
        }
    }
    let t = &app.login_ok("admin", ADMIN_PASSWORD).await;
    let tasks = app
        .get_json_expect(
            t,
            &format!("/api/v1/inspection-tasks?plan_id={id}"),
            StatusCode::OK,
        )
        .await;
    let mut rounds: Vec<&str> = each(&tasks["items"])
        .map(|x| x["round_at"].as_str().unwrap())
        .collect();
    rounds.sort_unstable();
    let want: Vec<String> = [3, 10, 17]
        .iter()
        .map(|d| yunwei::clock::rfc3339(bj(2025, 11, *d, 10, 0).timestamp_millis()))
        .collect();
    assert_eq!(rounds, want, "{tasks}");
}
