//! A system's 360° view: the contract's facts about it (users, data volume, staffing
//! posts), its monitors and availability, its open and recent tickets, the equipment it
//! runs on, its latest inspections, its backups and last restore drill, and the
//! requirements and deliverables of the service lines that serve it. One read for the
//! system page and `GET /systems/{id}/overview`.

use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory as inv;
use crate::domain::roles::Perm;
use crate::domain::tickets as tk;
use crate::error::{AppError, AppResult};
use crate::monitor::spec;
use crate::store::entities::ListQuery;

const DAY_MS: i64 = 86_400_000;

fn text(m: &Map<String, Value>, k: &str) -> Value {
    m.get(k).cloned().unwrap_or(Value::Null)
}

fn time(t: i64) -> String {
    crate::clock::local_minutes(t)
}

fn choice(table: &[crate::domain::entity::Choice], v: &Value) -> String {
    v.as_str().map(|c| tk::label(table, c)).unwrap_or_default()
}

fn cadence_label(code: &str) -> &'static str {
    match code {
        "once" => "一次",
        "monthly" => "每月",
        "quarterly" => "每季度",
        "yearly" => "每年",
        "per_event" => "每次事件",
        "at_acceptance" => "验收时",
        _ => "",
    }
}

fn task_label(code: &str) -> &'static str {
    match code {
        "pending" => "待执行",
        "in_progress" => "执行中",
        "submitted" => "已提交",
        "reviewed" => "已审核",
        "overdue" => "已逾期",
        _ => "",
    }
}

pub async fn system_overview(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<Value> {
    if !u.role.can(Perm::ReadInventory) {
        return Err(AppError::forbidden());
    }
    let sys = ctx.store.get_entity(&inv::SYSTEMS, id).await?;
    let now = ctx.clock.now_ms();

    // Staffing posts.
    let lq = ListQuery {
        limit: 100,
        offset: 0,
        filters: vec![("system_id".into(), id.to_string())],
        ..Default::default()
    };
    let (slots, _) = ctx.store.list_entities(&inv::ASSIGNMENTS, &lq).await?;
    let posts: Vec<Value> = slots
        .iter()
        .map(|s| {
            json!({"id": text(s, "id"), "duty": choice(inv::DUTIES, &text(s, "duty")),
                   "level": text(s, "level"), "work_mode": choice(inv::WORK_MODES, &text(s, "work_mode")),
                   "staff_name": text(s, "staff_name")})
        })
        .collect();
    let staffed = posts.iter().filter(|p| !p["staff_name"].is_null()).count();

    // Monitors and availability.
    let monitors: Vec<_> = ctx
        .store
        .all_monitors()
        .await?
        .into_iter()
        .filter(|m| m.system_id == Some(id))
        .collect();
    let pairs: Vec<(i64, i64)> = monitors.iter().map(|m| (m.id, m.created_at)).collect();
    let avail = |from: i64| super::availability(ctx, &pairs, from, now + 1);
    let (today, days30) = if pairs.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (
            avail(super::day_start(now)).await?.to_json(),
            avail(now - 30 * DAY_MS).await?.to_json(),
        )
    };
    let mons: Vec<Value> = monitors
        .iter()
        .map(|m| {
            json!({"id": m.id, "name": m.name, "kind": m.kind, "state": m.state,
                   "state_label": spec::label(spec::STATES, &m.state), "paused": m.paused != 0,
                   "since": time(m.state_since), "last_check": m.last_check_at.map(time),
                   "latency_ms": m.last_latency_ms, "message": m.last_message})
        })
        .collect();
    let down = monitors
        .iter()
        .filter(|m| matches!(m.state.as_str(), "down" | "unreachable"))
        .count();

    // Tickets.
    let brief = |t: &crate::store::screen::TicketBrief| {
        json!({"id": t.id, "number": t.number, "kind": t.kind, "title": t.title,
               "priority": t.priority, "kind_label": tk::label(tk::KINDS, &t.kind), "status": t.status,
               "status_label": tk::label(tk::STATUSES, &t.status), "sla_breached": t.sla_breached != 0, "reported_at": time(t.reported_at),
               "resolve_due_at": t.resolve_due_at.map(time), "assignee": t.assignee_name})
    };
    let open: Vec<Value> = ctx
        .store
        .system_tickets(id, true, 50)
        .await?
        .iter()
        .map(brief)
        .collect();
    let recent: Vec<Value> = ctx
        .store
        .system_tickets(id, false, 10)
        .await?
        .iter()
        .map(brief)
        .collect();

    // Equipment it runs on.
    let mut assets = Vec::new();
    for aid in ctx.store.system_asset_ids(id).await? {
        let a = ctx.store.get_entity(&inv::ASSETS, aid).await?;
        assets.push(json!({"id": aid, "name": text(&a, "name"), "category": choice(inv::ASSET_CATEGORIES, &text(&a, "category")),
                           "ip": text(&a, "ip"), "site": text(&a, "site_name"), "status": text(&a, "status")}));
    }

    let inspections: Vec<Value> = ctx
        .store
        .system_inspections(id, 10)
        .await?
        .iter()
        .map(|t| {
            json!({"id": t.id, "template": t.template_name, "target": t.target_name,
                   "status": t.status, "status_label": task_label(&t.status),
                   "round_at": time(t.round_at), "submitted_at": t.submitted_at.map(time),
                   "findings": t.findings})
        })
        .collect();

    // Backups: this month's coverage of its policies, with the last good run and drill.
    let month = ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .format("%Y-%m")
        .to_string();
    let cov = crate::backup::coverage::coverage(ctx, u, &month).await?;
    let backups: Vec<Value> = cov["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|i| i["system_id"].as_i64() == Some(id))
        .map(|i| {
            json!({"policy_id": i["policy_id"], "data_set": i["data_set"], "schedule": i["schedule"],
                   "due": i["due"], "succeeded": i["succeeded"], "failed": i["failed"], "missed": i["missed"],
                   "success_rate": i["success_rate"], "last_good_run": i["last_good_run"],
                   "last_drill": i["last_drill"], "drill_overdue": i["drill_overdue"],
                   "success_rate_text": super::screen::pct_text(&i["success_rate"]),
                   "last_good_run_text": i["last_good_run"]["started_at"].as_str()
                       .and_then(crate::clock::parse_time_or_date).map_or_else(|| "—".to_string(), time),
                   "last_drill_text": match (i["last_drill"]["date"].as_str(), i["last_drill"]["result_label"].as_str()) {
                       (Some(d), Some(r)) => format!("{d} {r}"),
                       _ => "未演练".to_string(),
                   }})
        })
        .collect();

    // Service lines that serve it, their requirements and deliverables.
    let lines: Vec<(i64, String, String)> = ctx
        .store
        .line_systems()
        .await?
        .into_iter()
        .filter(|(_, _, _, ids)| {
            serde_json::from_str::<Vec<i64>>(ids).is_ok_and(|v| v.contains(&id))
        })
        .map(|(i, c, n, _)| (i, c, n))
        .collect();
    let line_ids: Vec<i64> = lines.iter().map(|l| l.0).collect();
    let requirements: Vec<Value> = ctx
        .store
        .system_requirements(id, &line_ids, 20)
        .await?
        .iter()
        .map(|(i, t, s, c)| json!({"id": i, "title": t, "status": s, "created_at": time(*c),
                   "status_label": crate::domain::requirements::Status::parse(s).map_or("", |x| x.label())}))
        .collect();
    let deliverables: Vec<Value> = ctx
        .store
        .line_deliverables(&line_ids)
        .await?
        .iter()
        .map(|(i, s, n, c)| json!({"id": i, "section": s, "name": n, "cadence": cadence_label(c)}))
        .collect();

    Ok(json!({
        "id": id,
        "name": text(&sys, "name"),
        "code": text(&sys, "code"),
        "facts": {"users_count": text(&sys, "users_count"), "data_volume_gb": text(&sys, "data_volume_gb"),
                  "service_mode": choice(inv::SERVICE_MODES, &text(&sys, "service_mode")), "owner_department": text(&sys, "owner_department"),
                  "posts": posts.len(), "posts_staffed": staffed},
        "posts": posts,
        "monitors": mons,
        "monitors_down": down,
        "availability_text": {"today": super::screen::pct_text(&today["availability"]),
                              "days30": super::screen::pct_text(&days30["availability"])},
        "availability": {"today": today, "days30": days30},
        "tickets": {"open": open, "recent": recent},
        "assets": assets,
        "inspections": inspections,
        "backups": backups,
        "lines": lines.iter().map(|(i, c, n)| json!({"id": i, "code": c, "name": n})).collect::<Vec<_>>(),
        "requirements": requirements,
        "deliverables": deliverables,
    }))
}
