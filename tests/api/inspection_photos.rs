//! Inspection evidence: photos taken for photo items (checked as ticket attachments are,
//! pictures only, seen only by those who may see the task's evidence), and items bound to
//! a monitor, filled in from its latest result.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A real 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn small_attachments(c: &mut yunwei::config::Config) {
    c.max_attachment_bytes = 1024 * 1024;
}

async fn demo() -> TestApp {
    demo_at_with(bj(2025, 10, 15, 8, 0), small_attachments).await
}

/// Creates a template, a plan of it for the demo's machine room assigned to `assignee`, and
/// runs it: the task's id.
async fn task_of(app: &TestApp, template: Value, plan_name: &str, assignee: i64) -> i64 {
    let t = &app.admin_token;
    let tpl = match app
        .get_json(t, "/api/v1/inspection-templates?limit=500")
        .await
        .1["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == template["name"])
    {
        Some(x) => x.clone(),
        None => {
            app.post_expect(
                t,
                "/api/v1/inspection-templates",
                &template,
                StatusCode::CREATED,
            )
            .await
        }
    };
    let (_, run) = create_and_run_plan(
        app,
        &json!({"name": plan_name, "template_id": tpl["id"], "target_mode": "all",
                "schedule": "0 9 * * *", "due_minutes": 480,
                "assignee_rule": "user", "assignee_id": assignee}),
    )
    .await;
    assert_eq!(run["created"], 1, "{run}");
    run["task_ids"][0].as_i64().unwrap()
}

async fn upload(
    app: &TestApp,
    token: &str,
    task: i64,
    item: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = file_form(name, bytes).text("item", item.to_string());
    app.post_multipart(
        token,
        &format!("/api/v1/inspection-tasks/{task}/photos"),
        form,
    )
    .await
}

fn stored_files(app: &TestApp, task: i64) -> usize {
    std::fs::read_dir(app.data_dir.join(format!("inspection-photos/{task}")))
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn photo_count(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM inspection_photos")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap()
}

fn photo_template() -> Value {
    json!({
        "name": "机房拍照巡检", "target_type": "site",
        "items": [
            {"key": "ENV-01", "label": "冷通道进风温度", "kind": "number", "unit": "℃",
             "min": 18, "max": 27, "required": true},
            {"key": "PHOTO", "label": "机房全景", "kind": "photo", "required": true}
        ]
    })
}

#[tokio::test]
async fn photos_are_checked_stored_read_back_and_seen_only_by_those_who_may() {
    let app = demo().await;
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let (_, other) = app.user_with_role("eng2", "engineer").await;
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let (_, rt) = app.user_with_role("citizen", "requester").await;
    let id = task_of(&app, photo_template(), "拍照巡检一", eng).await;
    let other_task = task_of(&app, photo_template(), "拍照巡检二", eng).await;
    let audits = app.audit_count().await;

    // A real picture is stored, added to the item's reading and read back as it was.
    let (s, p) = upload(&app, &et, id, "PHOTO", "全景.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_i64().unwrap();
    assert_eq!(p["content_type"], "image/png");
    assert_eq!(app.audit_count().await, audits + 1, "the upload is audited");
    let url = format!("/api/v1/inspection-tasks/{id}/photos/{pid}");
    assert_eq!(p["url"], url.as_str());
    let r = app.get(&et, &url).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"),
        "{h:?}"
    );
    assert!(h.contains_key("content-security-policy"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let task = inspection_task(&app, &et, id).await;
    assert_eq!(task["status"], "in_progress", "a photo starts the task");
    let item = &task["items"][1];
    assert_eq!(item["value"], json!([pid]), "{item}");
    assert_eq!(item["photos"][0]["url"], url.as_str());
    assert_eq!(stored_files(&app, id), 1);

    // A file that is not a picture, a fake picture and an oversize one are refused with a
    // Chinese message and store nothing.
    let before = photo_count(&app).await;
    let (s, v) = upload(&app, &et, id, "PHOTO", "记录.txt", b"hello".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields_in_order(&v), vec!["file"], "{v}");
    assert!(v.to_string().contains("不支持的照片类型"), "{v}");
    let (s, v) = upload(&app, &et, id, "PHOTO", "假的.jpg", b"<html>".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("文件内容与扩展名"), "{v}");
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 10, 0);
    let (s, v) = upload(&app, &et, id, "PHOTO", "大图.png", big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v.to_string().contains("照片不能超过 1 MB"), "{v}");
    // Not a photo item, or no such item.
    let (s, v) = upload(&app, &et, id, "ENV-01", "a.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields_in_order(&v), vec!["item"], "{v}");
    let (s, _) = upload(&app, &et, id, "GHOST", "a.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(photo_count(&app).await, before);
    assert_eq!(stored_files(&app, id), 1);

    // Someone else's task: another engineer neither uploads nor sees; the manager does not
    // upload for the assignee; the supervisor sees; requesters have no access.
    let (s, _) = upload(&app, &other, id, "PHOTO", "a.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = upload(&app, &app.admin_token, id, "PHOTO", "a.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = upload(&app, &rt, id, "PHOTO", "a.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(photo_count(&app).await, before);
    assert_eq!(app.get(&other, &url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&rt, &url).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&sup, &url).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&app.admin_token, &url).await.status(),
        StatusCode::OK
    );
    // The photo belongs to its task: not found under another.
    let wrong = format!("/api/v1/inspection-tasks/{other_task}/photos/{pid}");
    assert_eq!(app.get(&et, &wrong).await.status(), StatusCode::NOT_FOUND);

    // A reading may only name photos of its own task.
    let (s, p2) = upload(&app, &et, other_task, "PHOTO", "b.jpg", {
        let mut j = vec![0xff, 0xd8, 0xff, 0xe0];
        j.extend_from_slice(b"JFIF tiny");
        j
    })
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p2}");
    assert_eq!(p2["content_type"], "image/jpeg");
    let foreign = p2["id"].as_i64().unwrap();
    let v = app
        .post_expect(
            &et,
            &format!("/api/v1/inspection-tasks/{id}/results"),
            &json!({"readings": {"PHOTO": [pid, foreign]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["readings.PHOTO"], "{v}");
    assert!(v.to_string().contains(&format!("照片 #{foreign}")), "{v}");
    let task = inspection_task(&app, &et, id).await;
    assert_eq!(task["items"][1]["value"], json!([pid]), "nothing changed");

    // The phone page offers the camera and shows the thumbnail.
    let cookie = app.page_cookie("eng", "Changed#Pass2").await;
    let (s, page) = app.page(&cookie, &format!("/inspections/tasks/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(r#"capture="environment""#), "{page}");
    assert!(page.contains(&format!(r#"src="{url}""#)), "{page}");
    // Uploading from the page answers the item's thumbnails.
    let form = file_form("第二张.png", PNG.to_vec()).text("item", "PHOTO");
    let r = app
        .post_multipart_page(&cookie, &format!("/inspections/tasks/{id}/photos"), form)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let frag = r.text().await.unwrap();
    assert_eq!(frag.matches("<img class=\"thumb\"").count(), 2, "{frag}");
    assert!(frag.contains("已上传 第二张.png"), "{frag}");

    // Submitted, the task takes no more photos.
    let v = fill_and_submit(&app, &et, id, &json!({"readings": {"ENV-01": 22}})).await;
    assert_eq!(v["status"], "submitted", "{v}");
    let (s, _) = upload(&app, &et, id, "PHOTO", "c.png", PNG.to_vec()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(stored_files(&app, id), 2);

    // The monthly report counts the photos taken.
    for format in ["docx", "xlsx"] {
        let r = app
            .post_expect(
                &app.admin_token,
                "/api/v1/reports",
                &json!({"kind": "inspection_monthly", "period": "2025-10", "format": format}),
                StatusCode::CREATED,
            )
            .await;
        let resp = app
            .get(&app.admin_token, r["file_url"].as_str().unwrap())
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let Some(text) = read_back(&resp.bytes().await.unwrap(), format) else {
            continue;
        };
        if format == "docx" {
            assert!(text.contains("留存现场照片 3 张"), "{text}");
        } else {
            assert!(text.contains("|问题数|照片数"), "{text}");
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{id}|")) && l.ends_with("|2")),
                "{text}"
            );
        }
    }
}

async fn monitor(app: &TestApp, name: &str) -> i64 {
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": name, "kind": "tcp", "target": "127.0.0.1:9"}),
            StatusCode::CREATED,
        )
        .await;
    v["id"].as_i64().unwrap()
}

async fn result(app: &TestApp, monitor_id: i64, class: &'static str, latency: Option<f64>) {
    let mut tx = app.ctx.store.write_tx().await.unwrap();
    app.ctx
        .store
        .insert_results(
            &mut tx,
            &[yunwei::store::monitor::NewResult {
                monitor_id,
                at: app.ctx.clock.now_ms(),
                covers_ms: 60_000,
                ok: class == "up",
                class,
                latency_ms: latency,
                phase: None,
                message: None,
            }],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn monitor_bound_items_are_filled_from_the_latest_result_and_range_checked() {
    let app = demo().await;
    let t = &app.admin_token;
    let (eng, et) = app.user_with_role("eng", "engineer").await;
    let m = monitor(&app, "核心交换机").await;
    let silent = monitor(&app, "尚无结果").await;

    // A template may only name monitors that exist.
    let bad = json!({"name": "监控巡检", "target_type": "site", "items": [
        {"key": "RT", "label": "响应时间", "kind": "number", "monitor_id": 99_999}]});
    let v = app
        .post_expect(
            t,
            "/api/v1/inspection-templates",
            &bad,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["items[0].monitor_id"], "{v}");
    assert!(
        v.to_string().contains("关联的监控（编号 99999）不存在"),
        "{v}"
    );
    let tpl = json!({"name": "监控巡检", "target_type": "site", "items": [
        {"key": "RT", "label": "核心交换机响应时间", "kind": "number", "unit": "ms",
         "max": 100, "monitor_id": m, "required": true},
        {"key": "LINK", "label": "链路状态", "kind": "check", "monitor_id": m, "required": true},
        {"key": "QUIET", "label": "备用链路响应时间", "kind": "number", "unit": "ms",
         "monitor_id": silent}]});
    let id = task_of(&app, tpl, "监控巡检计划", eng).await;
    let path = format!("/api/v1/inspection-tasks/{id}");
    // A template updated to a missing monitor is refused as well.
    let tid = app.get_json_expect(t, &path, StatusCode::OK).await["template_id"].clone();
    let v = app
        .patch_expect(
            t,
            &format!("/api/v1/inspection-templates/{tid}"),
            &json!({"items": [{"key": "RT", "label": "响应时间", "kind": "number", "monitor_id": 123_456}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["items[0].monitor_id"], "{v}");

    // No result yet: the items stay empty, without an error.
    let v = app.get_json_expect(&et, &path, StatusCode::OK).await;
    assert!(v["items"][0]["value"].is_null(), "{v}");

    // The monitor measured 153.26 ms: above the item's 100 ms, so abnormal; up is normal.
    result(&app, m, "up", Some(153.26)).await;
    let v = app.get_json_expect(&et, &path, StatusCode::OK).await;
    let rt = &v["items"][0];
    assert_eq!(rt["value"], json!(153.3), "{rt}");
    assert_eq!(rt["source"], "monitor");
    assert_eq!(rt["verdict"], "abnormal");
    assert_eq!(rt["detail"], "核心交换机响应时间：153.3 ms 高于上限 100 ms");
    assert!(
        rt["source_label"]
            .as_str()
            .unwrap()
            .starts_with("来自监控 · "),
        "{rt}"
    );
    assert_eq!(v["items"][1]["value"], "normal");
    assert_eq!(v["items"][1]["verdict"], "normal");
    assert!(v["items"][2]["value"].is_null(), "no result, no reading");
    let (_, page) = app
        .page(
            &app.page_cookie("eng", "Changed#Pass2").await,
            &format!("/inspections/tasks/{id}"),
        )
        .await;
    assert!(page.contains("来自监控 · "), "{page}");

    // Starting stores the evidence.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/actions"),
            &json!({"action": "start"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "in_progress");
    let stored: String =
        sqlx::query_scalar::<_, String>("SELECT readings FROM inspection_tasks WHERE id = $1")
            .bind(id)
            .fetch_one(app.ctx.store.pool())
            .await
            .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["RT"]["source"], "monitor", "{stored}");
    assert_eq!(stored["RT"]["monitor_id"], m);
    assert_eq!(stored["RT"]["value"], json!(153.3));

    // A hand reading overrides it and stays when the monitor reports again; the evidence
    // of the item left alone follows the monitor (down: abnormal).
    let v = app
        .post_expect(
            &et,
            &format!("{path}/results"),
            &json!({"readings": {"RT": 42}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["items"][0]["value"], 42);
    assert!(v["items"][0]["source"].is_null());
    assert_eq!(v["items"][0]["verdict"], "normal");
    app.clock.advance(chrono::Duration::minutes(5));
    result(&app, m, "down", None).await;
    let v = app.get_json_expect(&et, &path, StatusCode::OK).await;
    assert_eq!(v["items"][0]["value"], 42, "{v}");
    assert_eq!(v["items"][1]["value"], "abnormal");
    assert_eq!(v["items"][1]["source"], "monitor");
    // A hand-made evidence object is not a reading.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/results"),
            &json!({"readings": {"RT": {"value": 1, "source": "monitor"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields_in_order(&v), vec!["readings.RT"]);
    // Submitting freezes the evidence; the down link is a finding.
    let v = app
        .post_expect(
            &et,
            &format!("{path}/actions"),
            &json!({"action": "submit"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "submitted", "{v}");
    let keys: Vec<&str> = each(&v["finding_list"])
        .map(|f| f["item_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["LINK"], "{v}");
    app.clock.advance(chrono::Duration::minutes(5));
    result(&app, m, "up", Some(3.0)).await;
    let v = app.get_json_expect(&et, &path, StatusCode::OK).await;
    assert_eq!(v["items"][1]["value"], "abnormal", "frozen after submit");
}
