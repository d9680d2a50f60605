//! The demo's simulated history (issue 15, item 10): `--demo-days N` adds N days of
//! tickets, monitors with probe history, inspections, work records and backups to the
//! contract, deterministically for one "now", each row marked as demo data.

use std::time::Instant;

use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::*;

/// A fixed "now" for the history: a Monday morning in Beijing.
fn now() -> chrono::DateTime<chrono::Utc> {
    bj(2025, 3, 17, 9, 30)
}

async fn demo_with_days(days: u32) -> (TestApp, std::time::Duration) {
    let t = Instant::now();
    let app = spawn_with(Options {
        demo: true,
        demo_days: days,
        start: Some(now()),
        ..Options::default()
    })
    .await;
    (app, t.elapsed())
}

/// Rows of a query as text, each column read as an integer, a text or a float.
async fn rows(app: &TestApp, sql: &str) -> Vec<String> {
    let rs = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(app.ctx.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rs.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
                        format!("{v:?}")
                    } else {
                        "?".into()
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The history's key tables and fields, one text per row, secrets (password hashes, token
/// hashes, the audit chain's hashes) left out.
const DUMP: &[&str] = &[
    "SELECT username, display_name, role, disabled FROM users ORDER BY id",
    "SELECT id, name, position, work_mode, user_id, team_role FROM staff ORDER BY id",
    "SELECT id, system_id, duty, staff_id FROM assignments ORDER BY id",
    "SELECT id, number, kind, change_type, title, system_id, source, requester_id, reported_at, priority, \
     assignee_id, status, response_due_at, onsite_due_at, resolve_due_at, sla_breached, first_response_at, \
     onsite_at, resolved_at, closed_at, fault_report, resolution, satisfaction, created_by, created_at, updated_at \
     FROM tickets ORDER BY id",
    "SELECT ticket_id, at, actor_id, kind, summary, data FROM ticket_events ORDER BY id",
    "SELECT ticket_id, target, kind, at FROM sla_clock_events ORDER BY id",
    "SELECT id, dedup_key, status, priority, monitor_id, system_id, ticket_id, started_at, resolved_at FROM alerts ORDER BY id",
    "SELECT id, name, kind, target, system_id, state FROM monitors ORDER BY id",
    "SELECT monitor_id, at, covers_ms, ok, class, latency_ms FROM monitor_results ORDER BY id",
    "SELECT monitor_id, hour, up_ms, down_ms, unknown_ms, checks, failures, latency_avg_ms FROM monitor_rollups ORDER BY monitor_id, hour",
    "SELECT monitor_id, day, up_ms, down_ms, checks, failures FROM monitor_daily ORDER BY monitor_id, day",
    "SELECT policy_id, status, source, started_at, finished_at, size_bytes FROM backup_runs ORDER BY id",
    "SELECT policy_id, drilled_at, result, scope FROM restore_drills ORDER BY id",
    "SELECT user_id, starts_at, ends_at FROM duty_shifts ORDER BY id",
    "SELECT line_id, type, occurred_at, duration_minutes, requester, summary, answer FROM work_records ORDER BY id",
    "SELECT id, name, template_id, target_mode, target_ids, schedule, due_minutes, assignee_rule, assignee_id, \
     generated_until, created_at FROM inspection_plans ORDER BY id",
    "SELECT id, plan_id, template_name, target_type, target_id, round_at, due_at, assignee_id, status, readings, \
     started_at, submitted_at, reviewed_at, reviewer_id, review_comment, findings, created_at, updated_at \
     FROM inspection_tasks ORDER BY id",
    "SELECT id, task_id, item_key, label, detail, ticket_id, status, created_at, rectified_at \
     FROM inspection_findings ORDER BY id",
    "SELECT idempotency_key, user_id, event, subject, created_at FROM user_messages ORDER BY id",
    "SELECT tbl, row_id FROM demo_items ORDER BY tbl, row_id",
    "SELECT seq, at, actor_id, actor_name, action, entity_type, entity_id, summary FROM audit_events ORDER BY seq",
];

async fn dump(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for q in DUMP {
        out.push((q.to_string(), rows(app, q).await));
    }
    out
}

#[tokio::test]
async fn two_loads_at_the_same_now_write_the_same_history() {
    // Each load is read at once: the housekeeping jobs (auto-close after three days, the
    // SLA monitor) start 30 s after the app and would move the first one on meanwhile.
    let (a, took_a) = demo_with_days(30).await;
    let da = dump(&a).await;
    drop(a);
    let (b, took_b) = demo_with_days(30).await;
    let db = dump(&b).await;
    eprintln!("30 days of demo history: {took_a:?} and {took_b:?}");
    for ((q, x), (_, y)) in da.iter().zip(&db) {
        assert!(
            !x.is_empty() || q.contains("restore_drills"),
            "nothing in {q}"
        );
        assert_eq!(x.len(), y.len(), "row counts differ: {q}");
        for (r, s) in x.iter().zip(y) {
            assert_eq!(r, s, "rows differ: {q}");
        }
    }
}

#[tokio::test]
async fn demo_days_zero_loads_the_contract_only() {
    let (app, _) = demo_with_days(0).await;
    for (q, want) in [
        ("SELECT COUNT(*) FROM tickets", 0),
        ("SELECT COUNT(*) FROM monitors", 0),
        ("SELECT COUNT(*) FROM monitor_results", 0),
        ("SELECT COUNT(*) FROM backup_runs", 0),
        ("SELECT COUNT(*) FROM work_records", 0),
        ("SELECT COUNT(*) FROM staff", 0),
        ("SELECT COUNT(*) FROM demo_items", 0),
        ("SELECT COUNT(*) FROM users", 1),
        (
            "SELECT COUNT(*) FROM settings WHERE key = 'demo.history'",
            0,
        ),
    ] {
        assert_eq!(count(&app, q).await, want, "{q}");
    }
    // The contract itself is there.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM systems").await, 27);
    assert!(count(&app, "SELECT COUNT(*) FROM backup_policies").await > 0);
}

#[tokio::test]
async fn ninety_days_of_history_hold_every_kind_of_record_with_met_and_breached_slas() {
    let (app, took) = demo_with_days(90).await;
    // Recorded, not timed: the figure for docs/PERFORMANCE.md comes from a release build.
    eprintln!("demo with 90 days of history built in {took:?}");
    assert!(took.as_secs() < 300, "90 days took {took:?}");
    let summary = rows(
        &app,
        "SELECT value FROM settings WHERE key = 'demo.history'",
    )
    .await;
    eprintln!("summary: {summary:?}");
    let c = |q: &'static str| {
        let app = &app;
        async move { count(app, q).await }
    };
    // Every kind of ticket, from every path, over the whole period.
    for kind in ["incident", "request", "change", "problem"] {
        let q = format!("SELECT COUNT(*) FROM tickets WHERE kind = '{kind}'");
        let n = count(&app, &q).await;
        assert!(n >= 5, "{kind}: {n}");
    }
    let total = c("SELECT COUNT(*) FROM tickets").await;
    assert!((150..=900).contains(&total), "tickets: {total}");
    assert!(c("SELECT COUNT(*) FROM tickets WHERE source = 'portal' AND kind = 'incident' AND requester_id IS NOT NULL").await > 10);
    let from_alerts = c("SELECT COUNT(*) FROM alerts WHERE ticket_id IS NOT NULL").await;
    assert!(from_alerts > 10, "alerts with tickets: {from_alerts}");
    assert!(c("SELECT COUNT(*) FROM tickets WHERE status = 'closed'").await > total / 2);
    // Nothing is left for the auto-close job at the first start.
    let stale = now().timestamp_millis() - 3 * 86_400_000;
    let q =
        format!("SELECT COUNT(*) FROM tickets WHERE status = 'resolved' AND resolved_at < {stale}");
    assert_eq!(count(&app, &q).await, 0);
    assert!(c("SELECT COUNT(*) FROM tickets WHERE onsite_at IS NOT NULL").await > 10);
    assert!(c("SELECT COUNT(*) FROM tickets WHERE satisfaction IS NOT NULL").await > 10);
    assert!(c("SELECT COUNT(*) FROM tickets WHERE fault_report IS NOT NULL").await > 10);
    let span = c("SELECT MAX(reported_at) - MIN(reported_at) FROM tickets").await;
    assert!(span > 80 * 86_400_000, "tickets span {span} ms");
    assert_eq!(
        c("SELECT COUNT(DISTINCT system_id) FROM tickets").await,
        27,
        "every system has tickets"
    );
    // SLA outcomes: most met, some breached.
    let done = c("SELECT COUNT(*) FROM tickets WHERE status IN ('resolved', 'closed')").await;
    let breached = c(
        "SELECT COUNT(*) FROM tickets WHERE status IN ('resolved', 'closed') AND sla_breached = 1",
    )
    .await;
    assert!(
        breached > 0 && breached * 4 < done,
        "{breached} of {done} breached"
    );
    // People in every post, with accounts of their roles.
    assert_eq!(
        c("SELECT COUNT(*) FROM assignments WHERE staff_id IS NULL").await,
        0
    );
    assert!(c("SELECT COUNT(*) FROM staff").await >= 20);
    for role in [
        "manager",
        "engineer",
        "operator",
        "supervisor",
        "auditor",
        "requester",
    ] {
        let q = format!("SELECT COUNT(*) FROM users WHERE role = '{role}'");
        assert!(count(&app, &q).await > 0, "{role}");
    }
    assert!(c("SELECT COUNT(*) FROM staff WHERE name = '示例工程师01'").await == 1);
    // A demo engineer signs in with the demo password and is not sent to change it.
    let r = app.login("demo_eng01", "Demo#2024yunwei").await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["password_expired"], json!(false), "{v}");
    // Monitors of yunwei itself and of each system, with 90 days of rollups.
    assert!(c("SELECT COUNT(*) FROM monitors WHERE target LIKE '%/healthz'").await >= 1);
    assert!(c("SELECT COUNT(*) FROM monitors WHERE target LIKE '%/readyz'").await == 1);
    assert_eq!(
        c("SELECT COUNT(DISTINCT system_id) FROM monitors").await,
        27
    );
    assert!(c("SELECT COUNT(DISTINCT day) FROM monitor_daily").await >= 89);
    assert!(c("SELECT COUNT(*) FROM monitor_rollups WHERE down_ms > 0").await > 0);
    // The rollups written with the history are the ones the rollup job makes of the raw
    // results: compare an hour two days back and one five minutes-checked hour.
    let now_ms = now().timestamp_millis();
    let hour = 3_600_000;
    for h in [
        now_ms - now_ms % hour - 48 * hour,
        now_ms - now_ms % hour - 2 * hour,
    ] {
        let from_raw = app
            .ctx
            .store
            .tally_results(h, h + hour, None)
            .await
            .unwrap();
        assert_eq!(from_raw.len(), 30, "every monitor has results in hour {h}");
        let q = format!(
            "SELECT monitor_id, up_ms, down_ms, unknown_ms, checks, failures FROM monitor_rollups WHERE hour = {h} ORDER BY monitor_id"
        );
        let rolled = rows(&app, &q).await;
        let mut raw: Vec<String> = from_raw
            .iter()
            .map(|(m, t, _, _)| {
                format!(
                    "Some({m})|Some({})|Some({})|Some({})|Some({})|Some({})",
                    t.up_ms, t.down_ms, t.unknown_ms, t.checks, t.failures
                )
            })
            .collect();
        raw.sort_by_key(|r| {
            r[5..]
                .split(')')
                .next()
                .unwrap_or_default()
                .parse::<i64>()
                .unwrap_or(0)
        });
        assert_eq!(rolled, raw, "rollups of hour {h}");
    }
    // Backups: daily runs, a few failed, and a drill or two; work records.
    let runs = c("SELECT COUNT(*) FROM backup_runs").await;
    assert!(runs > 2000, "backup runs: {runs}");
    let failed = c("SELECT COUNT(*) FROM backup_runs WHERE status = 'fail'").await;
    assert!(failed > 0 && failed * 20 < runs, "failed runs: {failed}");
    assert!(c("SELECT COUNT(*) FROM restore_drills").await >= 1);
    assert!(c("SELECT COUNT(*) FROM work_records").await > 50);
    // Someone is on call now.
    let on_call = app.ctx.store.on_call(now_ms).await.unwrap();
    assert_eq!(on_call.len(), 1, "on call now: {on_call:?}");
    // Every generated row is marked; the contract's own rows are not.
    for t in [
        "tickets",
        "monitors",
        "alerts",
        "staff",
        "users",
        "backup_runs",
        "work_records",
        "inspection_plans",
        "inspection_tasks",
        "inspection_findings",
    ] {
        let q = format!(
            "SELECT (SELECT COUNT(*) FROM {t} WHERE id IN (SELECT row_id FROM demo_items WHERE tbl = '{t}'))"
        );
        assert!(count(&app, &q).await > 0, "{t} marked");
    }
    assert_eq!(
        c("SELECT COUNT(*) FROM demo_items WHERE tbl = 'users' AND row_id = 1").await,
        0
    );
    assert_eq!(
        c("SELECT COUNT(*) FROM tickets WHERE id NOT IN (SELECT row_id FROM demo_items WHERE tbl = 'tickets')").await,
        0
    );
    // The history passes the audit chain's check, as `yunwei audit verify` runs it.
    let v = app.ctx.store.verify_audit().await.expect("verify");
    assert!(
        matches!(v, yunwei::store::audit::Verification::Intact { .. }),
        "audit chain broken"
    );
    // The API shows it: availability of a system's monitors and the compliance figures.
    let (s, v) = app
        .get_json(&app.admin_token, "/api/v1/tickets?limit=5")
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(v["total"].as_i64(), Some(total));
}

#[tokio::test]
async fn the_history_holds_inspections_done_over_the_period_with_findings_all_marked_as_demo() {
    let (app, _) = demo_with_days(30).await;
    let pm = app.login_ok("demo_pm", "Demo#2024yunwei").await;
    // The plans on the shipped templates, with their executors.
    let plans = app
        .get_json_expect(&pm, "/api/v1/inspection-plans", reqwest::StatusCode::OK)
        .await;
    let plans = plans
        .as_array()
        .or_else(|| plans["items"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(plans.len() >= 2, "plans: {plans:?}");
    assert!(plans.iter().all(|p| p["assignee_id"].is_i64()), "{plans:?}");
    // Tasks over the whole period: most approved, some overdue, today's still to do.
    let v = app
        .get_json_expect(
            &pm,
            "/api/v1/inspection-tasks?limit=200",
            reqwest::StatusCode::OK,
        )
        .await;
    let total = v["total"].as_i64().unwrap();
    let tasks = v["items"].as_array().unwrap().clone();
    assert_eq!(tasks.len() as i64, total, "one page holds them all");
    assert!((60..=200).contains(&total), "tasks: {total}");
    let with = |s: &str| tasks.iter().filter(|t| t["status"] == s).count();
    let approved = with("approved");
    assert!(
        approved as i64 * 10 > total * 7,
        "{approved} of {total} approved"
    );
    assert!(with("overdue") >= 1, "some tasks left overdue");
    assert!(with("pending") >= 1, "today's round still to do");
    let days: std::collections::BTreeSet<&str> = tasks
        .iter()
        .filter(|t| t["status"] == "approved")
        .filter_map(|t| t["submitted_at"].as_str().map(|s| &s[..10]))
        .collect();
    assert!(days.len() >= 25, "submitted on {} days", days.len());
    for t in &tasks {
        assert!(t["assignee_name"].as_str().is_some(), "assigned: {t}");
        if t["status"] == "approved" {
            assert!(t["submitted_at"].as_str().unwrap() <= t["reviewed_at"].as_str().unwrap());
        }
    }
    // An approved task of the machine room: every required item read, all in range.
    let room = tasks
        .iter()
        .find(|t| t["status"] == "approved" && t["target_type"] == "site" && t["findings"] == 0)
        .expect("an approved machine-room task");
    let id = room["id"].as_i64().unwrap();
    let task = inspection_task(&app, &pm, id).await;
    let items = task["items"].as_array().unwrap();
    assert!(items.len() > 5);
    for it in items {
        if it["required"] == true {
            assert!(!it["value"].is_null(), "{it}");
            assert_eq!(it["verdict"], "normal", "{it}");
        }
    }
    assert!(
        task["review_comment"]
            .as_str()
            .is_some_and(|c| c.contains("演示数据")),
        "{task}"
    );
    // A few readings out of range: findings, each with its ticket, most rectified.
    let f = app
        .get_json_expect(
            &pm,
            "/api/v1/inspection-findings?limit=200",
            reqwest::StatusCode::OK,
        )
        .await;
    let found = f["items"].as_array().unwrap();
    assert!(!found.is_empty(), "no findings");
    assert!(
        (found.len() as i64) * 10 < total,
        "{} findings in {total} tasks",
        found.len()
    );
    assert!(found.iter().all(|x| x["ticket_id"].is_i64()), "{found:?}");
    let rectified = found.iter().filter(|x| x["status"] == "rectified").count();
    assert!(rectified * 2 >= found.len(), "{rectified} rectified");
    let with_finding = tasks
        .iter()
        .find(|t| t["findings"].as_i64() > Some(0))
        .expect("a task with a finding");
    let id = with_finding["id"].as_i64().unwrap();
    let task = inspection_task(&app, &pm, id).await;
    let abnormal = items_where(&task, "verdict", "abnormal").len();
    assert_eq!(abnormal, 1, "{task}");
    // The indicators over the period.
    let s = app
        .get_json_expect(
            &pm,
            "/api/v1/inspections/stats?from=2025-02-15&to=2025-03-16",
            reqwest::StatusCode::OK,
        )
        .await;
    let rate = s["overall"]["completion_rate"].as_f64().unwrap();
    assert!((85.0..100.0).contains(&rate), "completion {s}");
    assert!(s["overall"]["findings"].as_u64() > Some(0), "{s}");
    // Every inspection row, and every finding's ticket, is marked as demo data.
    for t in [
        "inspection_plans",
        "inspection_tasks",
        "inspection_findings",
    ] {
        let q = format!(
            "SELECT COUNT(*) FROM {t} WHERE id NOT IN (SELECT row_id FROM demo_items WHERE tbl = '{t}')"
        );
        assert_eq!(count(&app, &q).await, 0, "{t} unmarked");
        assert!(count(&app, &format!("SELECT COUNT(*) FROM {t}")).await > 0);
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_findings WHERE ticket_id NOT IN \
             (SELECT row_id FROM demo_items WHERE tbl = 'tickets')"
        )
        .await,
        0
    );
    // The pages show them.
    let cookie = app.page_cookie("demo_pm", "Demo#2024yunwei").await;
    let (s, html) = app.page(&cookie, "/inspections").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert!(html.contains("/inspections/tasks/"), "no task listed");
    assert!(html.contains("龙口西机房"), "no machine-room task listed");
    let (s, html) = app.page(&cookie, &format!("/inspections/tasks/{id}")).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert!(html.contains("异常"), "the finding's verdict is shown");
    let cookie = app.page_cookie("demo_eng01", "Demo#2024yunwei").await;
    let (s, html) = app.page(&cookie, "/inspections?status=approved").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert!(html.contains("已通过"), "the engineer's own approved tasks");
}
