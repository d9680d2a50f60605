//! Restore drills (issue 14, part 3): recorded with their RTO and RPO, checked, read by
//! their roles; a policy's drill falls due by its cadence and is flagged overdue by the
//! injected clock; evidence files on drills and on backup runs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PW: &str = "Changed#Pass2";
const PDF: &[u8] = b"%PDF-1.4\n%restore drill record\n1 0 obj\n<<>>\nendobj\n";

async fn demo() -> TestApp {
    demo_at(bj(2025, 11, 3, 9, 0)).await
}

/// The id of the demo's policy of system `code` (its first).
async fn demo_policy(app: &TestApp, code: &str) -> i64 {
    find_item(
        app,
        "/api/v1/backup-policies?limit=100",
        "system_code",
        code,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

fn drill(policy: i64) -> Value {
    json!({
        "policy_id": policy, "drilled_at": "2025-11-01T10:00:00+08:00",
        "scope": "业务库全部表", "target": "测试服务器 10.0.8.15",
        "duration_seconds": 5400, "data_point": "2025-11-01T02:00:00+08:00",
        "result": "passed", "verifier": "王工",
    })
}

/// Records `drill(policy)` as `token`, which must succeed: the drill.
async fn record_drill(app: &TestApp, token: &str, policy: i64) -> Value {
    let path = "/api/v1/restore-drills";
    app.post_expect(token, path, &drill(policy), StatusCode::CREATED)
        .await
}

async fn total(app: &TestApp, t: &str, q: &str) -> i64 {
    app.get_json_expect(t, &format!("/api/v1/restore-drills?{q}"), StatusCode::OK)
        .await["total"]
        .as_i64()
        .unwrap()
}

async fn drill_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM restore_drills")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap()
}

async fn upload(
    app: &TestApp,
    t: &str,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let form = file_form(name, bytes.to_vec());
    app.post_multipart(t, path, form).await
}

#[tokio::test]
async fn a_drill_is_recorded_checked_and_read_by_its_roles() {
    let app = demo().await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let (_, at) = app.user_with_role("jianli", "auditor").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let (vid, _) = app.user_with_role("verifier", "engineer").await;
    let pid = demo_policy(&app, "4.1.2.5").await;

    // Bad input names its fields and changes nothing.
    let audit = app.audit_count().await;
    let (s, v) = app
        .post(
            &et,
            "/api/v1/restore-drills",
            &json!({
                "policy_id": 999_999, "drilled_at": "2025-12-01", "scope": " ",
                "duration_seconds": -1, "data_point": "not a time", "result": "passed",
                "verifier_user_id": 999_999,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        fields(&v),
        [
            "data_point",
            "drilled_at",
            "duration_seconds",
            "policy_id",
            "scope",
            "target",
            "verifier_user_id"
        ]
    );
    let mut late = drill(pid);
    late["data_point"] = json!("2025-11-01T11:00:00+08:00");
    late["verifier"] = Value::Null;
    let (s, v) = app.post(&et, "/api/v1/restore-drills", &late).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["data_point", "verifier"]);
    let mut wrong = drill(pid);
    wrong["result"] = json!("ok");
    let (s, v) = app.post(&et, "/api/v1/restore-drills", &wrong).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["result"]);
    let mut unknown = drill(pid);
    unknown["rto"] = json!(1);
    let (s, v) = app.post(&et, "/api/v1/restore-drills", &unknown).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.audit_count().await, audit);
    assert_eq!(drill_count(&app).await, 0);

    // Only the engineer, the manager and the admin record drills.
    for tok in [&st, &at, &rt] {
        let (s, _) = app.post(tok, "/api/v1/restore-drills", &drill(pid)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    assert_eq!(drill_count(&app).await, 0);
    let d = record_drill(&app, &et, pid).await;
    assert_eq!(app.audit_count().await, audit + 1);
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["policy_id"], pid);
    assert_eq!(d["date"], "2025-11-01");
    assert_eq!(d["drilled_at"], "2025-11-01T02:00:00Z");
    assert_eq!(d["duration_seconds"], 5400);
    assert_eq!(d["rto_seconds"], 5400);
    assert_eq!(d["rpo_seconds"], 8 * 3600);
    assert_eq!(d["result_label"], "通过");
    assert_eq!(d["verifier"], "王工");
    // Another with a user as verifier and no restore point.
    let mut other = drill(pid);
    other["result"] = json!("failed");
    other["drilled_at"] = json!("2025-10-20");
    other["data_point"] = Value::Null;
    other["verifier"] = Value::Null;
    other["verifier_user_id"] = json!(vid);
    let o = app
        .post_expect(&et, "/api/v1/restore-drills", &other, StatusCode::CREATED)
        .await;
    assert_eq!(o["rpo_seconds"], Value::Null);
    assert_eq!(o["verifier_user_name"], "verifier");
    assert_eq!(o["result_label"], "未通过");

    // The purchaser and 监理 read; requesters do not.
    for tok in [&st, &at] {
        let v = app
            .get_json_expect(tok, "/api/v1/restore-drills", StatusCode::OK)
            .await;
        assert_eq!(v["total"], 2);
        assert_eq!(v["items"][0]["id"], id, "latest first");
        let one = app
            .get_json_expect(tok, &format!("/api/v1/restore-drills/{id}"), StatusCode::OK)
            .await;
        assert_eq!(one["scope"], "业务库全部表");
        assert_eq!(one["files"], json!([]));
    }
    let (s, _) = app.get_json(&rt, "/api/v1/restore-drills").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .get_json(&rt, &format!("/api/v1/restore-drills/{id}"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Filters.
    assert_eq!(total(&app, &st, "result=passed").await, 1);
    assert_eq!(total(&app, &st, "result=partial").await, 0);
    assert_eq!(total(&app, &st, "from=2025-10-25").await, 1);
    assert_eq!(total(&app, &st, "to=2025-10-20").await, 1);
    assert_eq!(total(&app, &st, "from=2025-10-21&to=2025-10-31").await, 0);
    let v = app
        .get_json_expect(
            &st,
            &format!("/api/v1/restore-drills?policy_id={pid}&limit=1&offset=1"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["items"][0]["id"], o["id"]);
    let sid = d["system_id"].as_i64().unwrap();
    assert_eq!(
        app.get_json_expect(
            &st,
            &format!("/api/v1/restore-drills?system_id={}", sid + 1),
            StatusCode::OK
        )
        .await["total"],
        0
    );
    let (s, v) = app.get_json(&st, "/api/v1/restore-drills?result=ok").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&v), ["result"]);

    // A change is checked as a whole and audited; a bad one changes nothing.
    let path = format!("/api/v1/restore-drills/{id}");
    let (s, v) = app
        .patch(
            &et,
            &path,
            &json!({"data_point": "2025-11-02", "target": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["data_point", "target"]);
    let (s, _) = app.patch(&st, &path, &json!({"result": "partial"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let audit = app.audit_count().await;
    let v = app
        .patch_expect(
            &et,
            &path,
            &json!({"result": "partial", "note": "两张表未恢复", "data_point": null}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["result_label"], "部分通过");
    assert_eq!(v["rpo_seconds"], Value::Null);
    assert_eq!(v["scope"], "业务库全部表");
    assert_eq!(app.audit_count().await, audit + 1);

    // A policy with drills is evidence and stays.
    let s = app
        .delete(&app.admin_token, &format!("/api/v1/backup-policies/{pid}"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Deleting: writers only, audited.
    assert_eq!(app.delete(&st, &path).await, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&et, &path).await, StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count().await, audit + 2);
    let (s, _) = app.get_json(&st, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&et, &path).await, StatusCode::NOT_FOUND);
    let (s, _) = app.patch(&et, &path, &json!({"note": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get_json(&st, "/api/v1/restore-drills/abc").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The policy's drill status as the purchaser sees it: its JSON and its coverage item.
async fn status(app: &TestApp, t: &str, pid: i64, month: &str) -> (Value, Value) {
    let p = app
        .get_json_expect(t, &format!("/api/v1/backup-policies/{pid}"), StatusCode::OK)
        .await;
    let c = app
        .get_json_expect(
            t,
            &format!("/api/v1/backups/coverage?month={month}"),
            StatusCode::OK,
        )
        .await;
    let item = each(&c["items"])
        .find(|i| i["policy_id"] == pid)
        .cloned()
        .unwrap();
    (p, item)
}

#[tokio::test]
async fn a_drill_falls_due_by_its_cadence_and_is_flagged_overdue_by_the_clock() {
    // Months pass: passwords must not expire meanwhile.
    let app = demo_at_with(bj(2025, 11, 3, 9, 0), |c| {
        c.security.password_max_age_days = 1_000
    })
    .await;
    app.user_with_role("eng", "engineer").await;
    app.user_with_role("jia", "supervisor").await;
    let pid = demo_policy(&app, "4.1.2.18").await;
    // A policy that asks for no drills.
    let none = demo_policy(&app, "4.1.2.5").await;
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/backup-policies/{none}"),
        &json!({"drill_cadence": "none"}),
        StatusCode::OK,
    )
    .await;

    // Created on 2025-11-03, quarterly: due on 2026-02-03.
    let st = app.login_ok("jia", PW).await;
    let (p, c) = status(&app, &st, pid, "2025-11").await;
    assert_eq!(p["last_drill"], Value::Null);
    assert_eq!(p["drill_due"], "2026-02-03");
    assert_eq!(p["drill_overdue"], false);
    assert_eq!(c["last_drill"], Value::Null);
    assert_eq!(c["drill_overdue"], false);
    let list = app
        .get_json_expect(&st, "/api/v1/backup-policies?limit=100", StatusCode::OK)
        .await;
    for item in list["items"].as_array().unwrap() {
        assert!(item.get("drill_overdue").is_some(), "{item}");
    }

    // The due day itself is not overdue; the next is.
    app.clock.set(bj(2026, 2, 3, 23, 59));
    let st = app.login_ok("jia", PW).await;
    let (p, _) = status(&app, &st, pid, "2026-02").await;
    assert_eq!(p["drill_overdue"], false);
    app.clock.set(bj(2026, 2, 4, 0, 1));
    let st = app.login_ok("jia", PW).await;
    let (p, c) = status(&app, &st, pid, "2026-02").await;
    assert_eq!(p["drill_overdue"], true);
    assert_eq!(c["drill_overdue"], true);
    let (n, nc) = status(&app, &st, none, "2026-02").await;
    assert_eq!(n["drill_due"], Value::Null);
    assert_eq!(n["drill_overdue"], false);
    assert_eq!(nc["drill_overdue"], false);

    // A passed drill sets the next due date a quarter on.
    app.clock.set(bj(2026, 2, 10, 15, 0));
    let et = app.login_ok("eng", PW).await;
    let mut body = drill(pid);
    body["drilled_at"] = json!("2026-02-10T09:00:00+08:00");
    body["data_point"] = json!("2026-02-10T02:00:00+08:00");
    let d = app
        .post_expect(&et, "/api/v1/restore-drills", &body, StatusCode::CREATED)
        .await;
    let st = app.login_ok("jia", PW).await;
    let (p, c) = status(&app, &st, pid, "2026-02").await;
    assert_eq!(p["drill_due"], "2026-05-10");
    assert_eq!(p["drill_overdue"], false);
    assert_eq!(p["last_drill"]["id"], d["id"]);
    assert_eq!(p["last_drill"]["date"], "2026-02-10");
    assert_eq!(p["last_drill"]["result"], "passed");
    assert_eq!(c["last_drill"]["id"], d["id"]);
    assert_eq!(c["drill_overdue"], false);

    // A failed drill is the last one, but does not move the due date.
    app.clock.set(bj(2026, 5, 11, 10, 0));
    let et = app.login_ok("eng", PW).await;
    body["drilled_at"] = json!("2026-05-11T09:00:00+08:00");
    body["data_point"] = json!("2026-05-11T02:00:00+08:00");
    body["result"] = json!("failed");
    let f = app
        .post_expect(&et, "/api/v1/restore-drills", &body, StatusCode::CREATED)
        .await;
    let st = app.login_ok("jia", PW).await;
    let (p, c) = status(&app, &st, pid, "2026-05").await;
    assert_eq!(p["last_drill"]["id"], f["id"]);
    assert_eq!(p["last_drill"]["result"], "failed");
    assert_eq!(p["drill_due"], "2026-05-10");
    assert_eq!(p["drill_overdue"], true);
    assert_eq!(c["drill_overdue"], true);
    // Corrected to passed, it is no longer overdue.
    app.patch_expect(
        &et,
        &format!("/api/v1/restore-drills/{}", f["id"]),
        &json!({"result": "passed"}),
        StatusCode::OK,
    )
    .await;
    let (p, _) = status(&app, &st, pid, "2026-05").await;
    assert_eq!(p["drill_due"], "2026-08-11");
    assert_eq!(p["drill_overdue"], false);
    // A past month's coverage counts the drills up to its end, and is judged at its end.
    let (_, c) = status(&app, &st, pid, "2026-02").await;
    assert_eq!(c["last_drill"]["id"], d["id"]);
    assert_eq!(c["drill_overdue"], false);
    let (_, c) = status(&app, &st, pid, "2026-04").await;
    assert_eq!(c["last_drill"]["id"], d["id"]);
    assert_eq!(c["drill_overdue"], false);
    let (_, c) = status(&app, &st, pid, "2025-11").await;
    assert_eq!(c["last_drill"], Value::Null);
    assert_eq!(c["drill_overdue"], false);
    let (_, c) = status(&app, &st, pid, "2026-01").await;
    assert_eq!(c["drill_overdue"], false);
}

#[tokio::test]
async fn evidence_files_are_stored_byte_equal_checked_and_audited() {
    let app = demo().await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, st) = app.user_with_role("jia", "supervisor").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let pid = demo_policy(&app, "4.1.2.5").await;
    let d = record_drill(&app, &et, pid).await;
    let id = d["id"].as_i64().unwrap();
    let files = format!("/api/v1/restore-drills/{id}/files");

    let audit = app.audit_count().await;
    // Wrong types: by extension, and by content.
    let (s, v) = upload(&app, &et, &files, "restore.exe", b"MZ\x90\x00").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (s, v) = upload(&app, &et, &files, "record.pdf", b"not a pdf").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (s, v) = upload(&app, &et, &files, "empty.txt", b"").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["file"]);
    // Readers may not add.
    for tok in [&st, &rt] {
        let (s, _) = upload(&app, tok, &files, "record.pdf", PDF).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = upload(
        &app,
        &et,
        "/api/v1/restore-drills/999999/files",
        "record.pdf",
        PDF,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // No file field; a bare body.
    let form = reqwest::multipart::Form::new().text("note", "x");
    let (s, _) = app.post_multipart(&et, &files, form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .client
        .post(app.url(&files))
        .bearer_auth(&et)
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.audit_count().await, audit);

    let (s, f) = upload(&app, &et, &files, "恢复演练记录.pdf", PDF).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    assert_eq!(app.audit_count().await, audit + 1);
    assert_eq!(f["size"], PDF.len());
    assert_eq!(f["content_type"], "application/pdf");
    assert_eq!(f["file_name"], "恢复演练记录.pdf");
    let sha = {
        use sha2::Digest;
        let h = sha2::Sha256::digest(PDF);
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(f["sha256"], sha);
    let log = "2026-02-10 09:00 开始恢复\n2026-02-10 10:30 校验通过\n".as_bytes();
    let (s, g) = upload(&app, &et, &files, "restore.log", log).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");

    // Readers list and download, byte-equal; requesters do not.
    let v = app.get_json_expect(&st, &files, StatusCode::OK).await;
    assert_eq!(v["total"], 2);
    let one = app
        .get_json_expect(&st, &format!("/api/v1/restore-drills/{id}"), StatusCode::OK)
        .await;
    assert_eq!(one["files"].as_array().unwrap().len(), 2);
    let url = f["url"].as_str().unwrap().to_string();
    let r = app.get(&st, &url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    let r = app.get(&st, g["url"].as_str().unwrap()).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), log);
    let (s, _) = app.get_json(&rt, &files).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&rt, &url).await.status(), StatusCode::FORBIDDEN);
    // Not another drill's file.
    let other = record_drill(&app, &et, pid).await;
    let wrong = url.replace(&format!("/{id}/"), &format!("/{}/", other["id"]));
    assert_eq!(app.get(&st, &wrong).await.status(), StatusCode::NOT_FOUND);

    // Deleting a file: writers only, audited, the bytes go.
    let audit = app.audit_count().await;
    assert_eq!(app.delete(&st, &url).await, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&et, &url).await, StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count().await, audit + 1);
    assert_eq!(app.get(&st, &url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&et, &url).await, StatusCode::NOT_FOUND);
    let stored: Vec<String> = sqlx::query_scalar("SELECT stored_path FROM backup_evidence_files")
        .fetch_all(app.ctx.store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let left = app.data_dir.join(&stored[0]);
    assert_eq!(std::fs::read(&left).unwrap(), log);
    // Deleting the drill takes its files along.
    assert_eq!(
        app.delete(&et, &format!("/api/v1/restore-drills/{id}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert!(!left.exists());
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backup_evidence_files")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_backup_run_carries_attachments() {
    let app = demo().await;
    let (_, et) = app.user_with_role("eng", "engineer").await;
    let (_, at) = app.user_with_role("jianli", "auditor").await;
    let (_, rt) = app.user_with_role("req", "requester").await;
    let pid = demo_policy(&app, "4.1.2.5").await;
    let run = app
        .post_expect(
            &et,
            "/api/v1/backup-runs",
            &json!({"policy_id": pid, "status": "success", "started_at": "2025-11-02T02:00:00+08:00",
                "size_bytes": 1_000_000_000i64, "duration_seconds": 600}),
            StatusCode::CREATED,
        )
        .await;
    let rid = run["id"].as_i64().unwrap();
    let files = format!("/api/v1/backup-runs/{rid}/files");
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR screenshot";
    let audit = app.audit_count().await;
    let (s, _) = upload(&app, &at, &files, "shot.png", png).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = upload(&app, &et, &files, "shot.zip", b"PK\x03\x04").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (s, f) = upload(&app, &et, &files, "shot.png", png).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    assert_eq!(f["run_id"], rid);
    assert_eq!(app.audit_count().await, audit + 1);
    let (s, f2) = upload(&app, &et, &files, "dump.log", "pg_dump: 完成\n".as_bytes()).await;
    assert_eq!(s, StatusCode::CREATED, "{f2}");

    let v = app.get_json_expect(&at, &files, StatusCode::OK).await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["items"][0]["file_name"], "shot.png");
    let r = app.get(&at, f["url"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png);
    let (s, _) = app.get_json(&rt, &files).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get_json(&at, "/api/v1/backup-runs/999999/files").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A drill's file path does not reach a run's file.
    let (s, _) = app
        .get_json(
            &at,
            &format!("/api/v1/restore-drills/{rid}/files/{}", f["id"]),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    assert_eq!(
        app.delete(&et, f2["url"].as_str().unwrap()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.audit_count().await, audit + 3);
    let v = app.get_json_expect(&at, &files, StatusCode::OK).await;
    assert_eq!(v["total"], 1);
}
