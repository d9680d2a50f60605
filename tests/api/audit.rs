//! The audit log: every login and change, append-only, hash-chained, verifiable.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn logins_failures_logouts_and_changes_are_audited_with_who_when_where_and_values() {
    let app = spawn_app().await;
    let (_, t) = app.user_with_role("jianli", "auditor").await;
    app.login("admin", "bad").await;
    let id = created_id(
        &app,
        &app.admin_token,
        "/api/v1/sites",
        &json!({"name": "测试机房"}),
    )
    .await;
    app.patch(
        &app.admin_token,
        &format!("/api/v1/sites/{id}"),
        &json!({"address": "广州"}),
    )
    .await;
    assert_eq!(
        app.delete(&app.admin_token, &format!("/api/v1/sites/{id}"))
            .await,
        StatusCode::NO_CONTENT
    );
    app.client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();

    let (_, v) = app.get_json(&t, "/api/v1/audit-events?limit=100").await;
    let items = v["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "login",
        "login_failed",
        "create",
        "update",
        "delete",
        "logout",
    ] {
        assert!(actions.contains(&a), "missing {a}: {actions:?}");
    }
    let upd = items
        .iter()
        .find(|e| e["action"] == "update" && e["entity_type"] == "sites")
        .unwrap();
    assert_eq!(upd["actor"], json!("admin"));
    assert_eq!(upd["ip"], json!("127.0.0.1"));
    assert_eq!(upd["before"]["address"], Value::Null);
    assert_eq!(upd["after"]["address"], json!("广州"));
    assert!(upd["at"].as_str().unwrap().ends_with('Z'));

    // Filters.
    let (_, v) = app
        .get_json(&t, "/api/v1/audit-events?action=login_failed")
        .await;
    assert!(each(&v["items"]).all(|e| e["action"] == "login_failed"));
    assert!(v["total"].as_i64().unwrap() >= 1);
    let (_, v) = app
        .get_json(
            &t,
            &format!("/api/v1/audit-events?entity_type=sites&entity_id={id}"),
        )
        .await;
    assert_eq!(v["total"], json!(3));
    app.get_json_expect(
        &t,
        "/api/v1/audit-events?from=yesterday",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn audit_verify_passes_on_an_intact_log_and_names_the_first_tampered_record() {
    let app = spawn_demo().await;
    assert_audit_log_intact(&app);

    // The database refuses updates to the log outright.
    let r = sqlx::query("UPDATE audit_events SET summary = 'x' WHERE seq = 3")
        .execute(app.ctx.store.pool())
        .await;
    assert!(r.is_err(), "append-only trigger must refuse updates");

    // Someone with database access disables the guard and edits record 7.
    disable_guard(&app).await;
    sqlx::query("UPDATE audit_events SET summary = '篡改' WHERE seq = 7")
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
    let out = app.cli(&["audit", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 7"), "{err}");
}

/// Records whose texts hold every character JSON escapes, and none: the chain the database
/// appends (PostgreSQL hashes in SQL, migrations/postgres/0035) is the one `audit verify`
/// recomputes in Rust, and a ticket's creation record carries its final number.
#[tokio::test]
async fn records_with_any_characters_verify_and_a_created_ticket_is_audited_under_its_number() {
    use yunwei::store::Actor;
    use yunwei::store::audit::NewAuditEvent;
    let app = spawn_app().await;
    let texts = [
        "引号\"与反斜杠\\、斜杠/",
        "控制字符\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
        "非 ASCII：机房 UPS 😀 \u{2028}\u{2029} é",
        // PostgreSQL appends in the commit's round trip with the texts as literals.
        "单引号' 与 SQL：'); DROP TABLE tickets; -- $$ $1 E'\\x27' \\'",
        "",
    ];
    let now = chrono::Utc::now().timestamp_millis();
    for (i, t) in texts.iter().enumerate() {
        let actor = Actor {
            user_id: (i % 2 == 0).then_some(1),
            name: format!("审计{t}"),
            ip: (i % 2 == 1).then(|| format!("10.0.0.{i}")),
        };
        let mut ev = NewAuditEvent::about("test", "texts", *t);
        if i % 2 == 0 {
            ev = NewAuditEvent::of("test", "texts", t, *t)
                .before(json!({"t": t, "n": i}))
                .after(json!(t));
        }
        app.ctx
            .store
            .audit(now + i as i64, &actor, ev)
            .await
            .unwrap();
    }
    let (s, ticket) = app
        .post(
            &app.admin_token,
            "/api/v1/tickets",
            &json!({"kind": "incident", "title": "审计\"编号\" 'x'); --", "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap().to_string();
    let (summary, after): (String, String) = sqlx::query_as(
        "SELECT summary, after_json FROM audit_events WHERE action = 'create' AND entity_type = 'tickets' \
         ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(app.ctx.store.pool())
    .await
    .unwrap();
    assert!(summary.contains(&number), "{summary} / {number}");
    assert!(
        !summary.contains('~') && !after.contains('~'),
        "{summary} {after}"
    );
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["number"], json!(number));
    assert_audit_log_intact(&app);
    // And it is the hash that would catch a change: one edited character breaks it.
    disable_guard(&app).await;
    sqlx::query("UPDATE audit_events SET actor_name = actor_name || 'x' WHERE summary = $1")
        .bind(texts[1])
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
    let out = app.cli(&["audit", "verify"]);
    assert!(!out.status.success());
}

/// On PostgreSQL a transaction's audit record is appended in its commit's own round trip,
/// so an open transaction that has audited holds the chain's head for nobody: another write
/// audits and commits meanwhile, and the chain stays whole. A statement held for the
/// commit that fails fails the commit, and nothing of the transaction stays. On SQLite
/// (one writer) the second write queues behind the first instead.
#[tokio::test]
async fn an_open_transaction_that_has_audited_holds_the_audit_chain_for_nobody() {
    use yunwei::store::Actor;
    use yunwei::store::audit::NewAuditEvent;
    let app = spawn_app().await;
    let store = &app.ctx.store;
    let postgres = app.database_url.starts_with("postgres");
    let actor = Actor {
        user_id: Some(1),
        name: "审计测试".into(),
        ip: None,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let record = |s: &str| NewAuditEvent::about("test", "held", s);
    let mut first = store.write_tx().await.unwrap();
    record("先开的事务")
        .write(&mut first, now, &actor)
        .await
        .unwrap();
    let second = tokio::time::timeout(
        std::time::Duration::from_millis(1500),
        store.audit(now + 1, &actor, record("后开的事务")),
    )
    .await;
    if postgres {
        second
            .expect("the second write waited for the first one's commit")
            .unwrap();
    } else {
        assert!(second.is_err(), "SQLite's one writer let a second one in");
    }
    first.commit().await.unwrap();
    if !postgres {
        store
            .audit(now + 1, &actor, record("后开的事务"))
            .await
            .unwrap();
    }
    let held: Vec<(String,)> =
        sqlx::query_as("SELECT summary FROM audit_events WHERE entity_type = 'held' ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let held: Vec<&str> = held.iter().map(|r| r.0.as_str()).collect();
    if postgres {
        assert_eq!(
            held,
            ["后开的事务", "先开的事务"],
            "chained in commit order"
        );
    } else {
        assert_eq!(held, ["先开的事务", "后开的事务"]);
    }
    assert_audit_log_intact(&app);

    // A held statement that fails takes the whole transaction with it.
    let mut failing = store.write_tx().await.unwrap();
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ('held_test', 'x', 0)")
        .execute(&mut *failing)
        .await
        .unwrap();
    record("不应留下")
        .write(&mut failing, now + 2, &actor)
        .await
        .unwrap();
    let held = failing
        .run_at_commit("SELECT * FROM held_no_such_table".into())
        .await;
    if postgres {
        held.unwrap();
        assert!(
            failing.commit().await.is_err(),
            "the commit ran the failing statement"
        );
    } else {
        assert!(held.is_err(), "SQLite runs it at once");
        drop(failing);
    }
    let (settings, records): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM settings WHERE key = 'held_test'), \
         (SELECT COUNT(*) FROM audit_events WHERE summary = '不应留下')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((settings, records), (0, 0));
    // The writer goes on.
    store.audit(now + 3, &actor, record("之后")).await.unwrap();
    let out = app.cli(&["audit", "verify"]);
    assert!(out.status.success());
}

/// A transaction that audits more than a commit carries (a bulk job auditing every row;
/// on PostgreSQL the held records then run as they pass the limit) commits every record,
/// in order and chained.
#[tokio::test]
async fn a_transaction_with_thousands_of_audit_records_commits_them_all_in_order() {
    use yunwei::store::Actor;
    use yunwei::store::audit::NewAuditEvent;
    let app = spawn_app().await;
    let store = &app.ctx.store;
    let actor = Actor {
        user_id: Some(1),
        name: "批量".into(),
        ip: None,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.write_tx().await.unwrap();
    for i in 0..2000_i64 {
        NewAuditEvent::of(
            "test",
            "bulk",
            i,
            format!("批量记录 {i} {}", "备注".repeat(40)),
        )
        .write(&mut tx, now + i, &actor)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let ids: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT entity_id FROM audit_events WHERE entity_type = 'bulk' ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let ids: Vec<i64> = ids
        .into_iter()
        .map(|(i,)| i.unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (0..2000).collect::<Vec<i64>>());
    assert_audit_log_intact(&app);
}

async fn disable_guard(app: &TestApp) {
    let pool = app.ctx.store.pool();
    if app.database_url.starts_with("postgres") {
        sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_guard")
            .execute(pool)
            .await
            .unwrap();
    } else {
        sqlx::query("DROP TRIGGER audit_events_no_update")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER audit_events_keep_180_days")
            .execute(pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_removed_audit_record_is_detected() {
    let app = spawn_demo().await;
    disable_guard(&app).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = 10")
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
    let out = app.cli(&["audit", "verify"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("record 10"));

    let app = spawn_demo().await;
    disable_guard(&app).await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq = $1")
        .bind(last)
        .execute(app.ctx.store.pool())
        .await
        .unwrap();
    let out = app.cli(&["audit", "verify"]);
    assert!(
        !out.status.success(),
        "removing the newest record must be detected too"
    );
}

#[tokio::test]
async fn records_younger_than_180_days_are_never_purged() {
    let app = spawn_app().await;
    // The CLI refuses a shorter horizon.
    let out = app.cli(&["audit", "purge", "--older-than-days", "30"]);
    assert!(!out.status.success());
    // The database refuses too, whoever asks.
    let r = sqlx::query("DELETE FROM audit_events")
        .execute(app.ctx.store.pool())
        .await;
    assert!(r.is_err(), "the 180-day guard must refuse");
    let before = app.audit_count().await;
    let out = app.cli(&["audit", "purge", "--older-than-days", "180"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn purging_old_records_keeps_the_chain_verifiable() {
    // Records written 200 days ago (the clock is injected; the DB guard uses real time).
    let start = chrono::Utc::now() - Duration::days(200);
    let app = spawn_with(Options {
        start: Some(start),
        ..Options::default()
    })
    .await;
    app.post(
        &app.admin_token,
        "/api/v1/sites",
        &json!({"name": "旧机房"}),
    )
    .await;
    app.clock.advance(Duration::days(200));
    let t = app.login_ok("admin", ADMIN_PASSWORD).await;
    app.post(&t, "/api/v1/sites", &json!({"name": "新机房"}))
        .await;
    let before = app.audit_count().await;
    let removed = app
        .ctx
        .store
        .purge_audit(app.clock.now_ms() - 180 * 86_400_000)
        .await
        .unwrap();
    assert!(removed >= 3, "{removed}");
    assert_eq!(app.audit_count().await, before - removed);
    assert_audit_log_intact(&app);
}

#[tokio::test]
async fn a_record_shows_its_change_history_from_the_audit_log() {
    let app = spawn_demo().await;
    app.patch_expect(
        &app.admin_token,
        "/api/v1/assets/1",
        &json!({"status": "faulty", "ip": "10.1.1.1"}),
        StatusCode::OK,
    )
    .await;
    let v = app
        .get_json_expect(&app.admin_token, "/api/v1/assets/1/history", StatusCode::OK)
        .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{v}");
    assert_eq!(items[0]["action"], json!("update"));
    assert_eq!(items[0]["before"]["status"], json!("good"));
    assert_eq!(items[0]["after"]["status"], json!("faulty"));
    assert_eq!(items[1]["action"], json!("create"));
    assert_eq!(
        app.get(&app.admin_token, "/api/v1/assets/99999/history")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}
