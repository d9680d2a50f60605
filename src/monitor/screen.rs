//! The wall display (大屏): the figures it shows, assembled in one place for the page a
//! signed-in user opens, for the page a display link opens, and for the JSON both poll.
//!
//! Every figure comes from the same reads as its API: open incidents by priority as
//! `GET /tickets?kind=incident&open=true&priority=…` counts them, SLA compliance as
//! `GET /tickets/stats` (this month), availability as `GET /systems/{id}/availability`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::monitor::spec;
use crate::store::monitor::{MonitorRow, Tally};

const DAY_MS: i64 = 86_400_000;

/// How bad a monitor state is, for the worst state of a group.
fn rank(s: &str) -> u8 {
    match s {
        "down" => 6,
        "unreachable" => 5,
        "flapping" => 4,
        "maintenance" => 3,
        "pending" => 2,
        "up" => 1,
        _ => 0,
    }
}

/// The readings a machine room is expected to report, with the words that name their
/// monitors (in the monitor's or its device's name).
const READINGS: &[(&str, &[&str])] = &[
    ("温度", &["温度", "temp"]),
    ("湿度", &["湿度", "humid"]),
    ("UPS", &["ups"]),
    ("精密空调", &["空调", "air"]),
    ("配电", &["配电", "电源", "power"]),
    ("消防", &["消防", "fire"]),
];

fn pct(t: &Tally) -> Value {
    t.availability().map_or(Value::Null, |a| json!(a))
}

/// A share as the display writes it: "99.95%", or "—" when unknown.
pub fn pct_text(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_string(), |a| format!("{:.2}%", a * 100.0))
}

/// The wall display's figures for a signed-in user who may read monitoring.
pub async fn wall_for(ctx: &Ctx, u: &AuthUser) -> AppResult<Value> {
    if !u.role.can(Perm::ReadMonitoring) {
        return Err(AppError::forbidden());
    }
    wall(ctx).await
}

/// The wall display's figures for a display link's token (no user, read-only).
pub async fn wall_for_link(ctx: &Ctx, token: &str) -> AppResult<Value> {
    let link = super::display::authorize(ctx, token).await?;
    let mut v = wall(ctx).await?;
    v["link"] = json!({"id": link.id, "name": link.name});
    Ok(v)
}

/// Every figure of the wall display.
pub async fn wall(ctx: &Ctx) -> AppResult<Value> {
    let now = ctx.clock.now_ms();
    let systems = ctx.store.system_briefs().await?;
    let monitors = ctx.store.all_monitors().await?;
    let tickets = ctx.store.open_ticket_counts().await?;
    let alerts_by_sys: HashMap<Option<i64>, i64> =
        ctx.store.open_alert_counts().await?.into_iter().collect();
    let today_from = super::day_start(now);
    let month_from = now - 30 * DAY_MS;

    // Open incidents by priority, and per system the open tickets and open P1/P2 incidents.
    let mut incidents: BTreeMap<String, i64> = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|p| (p.to_string(), 0))
        .collect();
    let mut open_total = 0;
    let mut sys_open: HashMap<i64, (i64, i64, Option<String>)> = HashMap::new();
    for (sid, kind, prio, n) in &tickets {
        open_total += n;
        if kind == "incident" {
            *incidents.entry(prio.clone()).or_default() += n;
        }
        if let Some(s) = sid {
            let e = sys_open.entry(*s).or_default();
            e.0 += n;
            if kind == "incident" && matches!(prio.as_str(), "P1" | "P2") {
                e.1 += n;
                if e.2.as_deref().is_none_or(|p| prio.as_str() < p) {
                    e.2 = Some(prio.clone());
                }
            }
        }
    }

    let mut by_sys: HashMap<i64, Vec<&MonitorRow>> = HashMap::new();
    for m in &monitors {
        if let Some(s) = m.system_id {
            by_sys.entry(s).or_default().push(m);
        }
    }
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    let mut tiles = Vec::new();
    let mut all_sys_mons: Vec<(i64, i64)> = Vec::new();
    let mut total_today = Tally::default();
    let mut total_30d = Tally::default();
    for (id, code, name) in &systems {
        let mons = by_sys.get(id).map(Vec::as_slice).unwrap_or_default();
        let active: Vec<&&MonitorRow> = mons.iter().filter(|m| m.paused == 0).collect();
        let (open, p12, top) = sys_open.get(id).cloned().unwrap_or_default();
        let alerts = alerts_by_sys.get(&Some(*id)).copied().unwrap_or(0);
        let worst = active
            .iter()
            .map(|m| m.state.as_str())
            .max_by_key(|s| rank(s))
            .unwrap_or("none");
        let up = active.iter().filter(|m| m.state == "up").count();
        // Without a monitor the tile says what is known: an open P1/P2 incident, an open
        // alert from elsewhere, open tickets, or that nothing watches the system.
        let (state, label) = if !active.is_empty() {
            let l = spec::label(spec::STATES, worst);
            (worst.to_string(), format!("{l} · {up}/{}", active.len()))
        } else if p12 > 0 {
            (
                "incident".to_string(),
                format!("{} 故障处理中（未接入监控）", top.unwrap_or_default()),
            )
        } else if alerts > 0 {
            (
                "alert".to_string(),
                format!("{alerts} 条告警（未接入监控）"),
            )
        } else if open > 0 {
            (
                "ticket".to_string(),
                format!("{open} 张工单处理中（未接入监控）"),
            )
        } else {
            ("none".to_string(), "未接入监控".to_string())
        };
        *counts.entry(state_group(&state)).or_default() += 1;
        let pairs: Vec<(i64, i64)> = mons.iter().map(|m| (m.id, m.created_at)).collect();
        all_sys_mons.extend(&pairs);
        // Tallies add up: the totals are the sum of the systems' (each monitor read once).
        let (today, month) = if pairs.is_empty() {
            (Value::Null, Value::Null)
        } else {
            // 30 days = the days before today + today: today's results (the hours not
            // rolled up yet) are read once.
            let t = super::availability(ctx, &pairs, today_from, now + 1).await?;
            let mut m = super::availability(ctx, &pairs, month_from, today_from).await?;
            m.add(&t);
            total_today.add(&t);
            total_30d.add(&m);
            (pct(&t), pct(&m))
        };
        tiles.push(json!({
            "id": id, "code": code, "name": name, "state": state, "label": label,
            "monitors": active.len(), "up": up, "open_tickets": open, "open_p1p2": p12,
            "open_alerts": alerts, "availability_today_text": pct_text(&today),
            "availability_30d_text": pct_text(&month),
            "footnote": if pairs.is_empty() {
                format!("未结工单 {open}")
            } else {
                format!("30 天可用率 {}", pct_text(&month))
            },
            "availability_today": today, "availability_30d": month,
        }));
    }
    let trend = super::daily(
        ctx,
        &all_sys_mons,
        super::day_start(now) - 29 * DAY_MS,
        now + 1,
    )
    .await?
    .into_iter()
    .map(|d| json!({"date": d["date"], "availability": d["availability"]}))
    .collect::<Vec<_>>();

    // SLA compliance this month, as `GET /tickets/stats` without a period computes it.
    let (from, to) = crate::desk::period(ctx, &HashMap::new())?;
    let rows = ctx.store.ticket_stat_rows(from, to).await?;
    let ind = crate::domain::desk_stats::overview(&rows).total;

    let (latest, open_alerts) = ctx
        .store
        .list_alerts(Some("open"), None, None, 8, 0)
        .await?;
    let names: HashMap<i64, &str> = systems.iter().map(|(i, _, n)| (*i, n.as_str())).collect();
    let alerts: Vec<Value> = latest
        .iter()
        .map(|a| {
            json!({"title": a.title, "priority": a.priority, "status": a.status,
                   "system": a.system_id.and_then(|s| names.get(&s).copied()),
                   "since": crate::clock::local_minutes(a.started_at)})
        })
        .collect();
    let on_call: Vec<Value> = ctx
        .store
        .on_call_now(now)
        .await?
        .iter()
        .map(|r| {
            json!({"name": r.name, "role": if r.role == "primary" { "主班" } else { "副班" },
                   "until": crate::clock::local_minutes(r.ends_at)})
        })
        .collect();

    Ok(json!({
        "updated": crate::clock::local_minutes(now),
        "refresh_seconds": 30,
        "systems": tiles,
        "system_counts": counts,
        "monitors": monitors.len(),
        "availability": {"today": pct(&total_today), "days30": pct(&total_30d),
                         "today_text": pct_text(&pct(&total_today)), "days30_text": pct_text(&pct(&total_30d)),
                         "trend": trend},
        "incidents_open_by_priority": incidents,
        "tickets_open": open_total,
        "sla": {"compliance": ind.sla_compliance,
                "compliance_text": pct_text(&json!(ind.sla_compliance)), "tickets": ind.tickets, "resolved": ind.resolved,
                "from": crate::clock::rfc3339(from)},
        "open_alerts": open_alerts,
        "alerts": alerts,
        "on_call": on_call,
        "rooms": rooms(ctx, &monitors).await?,
    }))
}

/// The tile colour group of a system state.
fn state_group(state: &str) -> &'static str {
    match state {
        "up" => "正常",
        "down" | "unreachable" | "incident" => "故障",
        "flapping" | "alert" | "ticket" => "关注",
        "maintenance" => "维护",
        "pending" => "待定",
        _ => "未接入",
    }
}

/// Each machine room: its equipment, the worst state of the monitors on it, and the
/// readings it is expected to report, each either from a monitor or "未接入".
async fn rooms(ctx: &Ctx, monitors: &[MonitorRow]) -> AppResult<Vec<Value>> {
    let sites = ctx.store.site_briefs().await?;
    let assets: HashMap<i64, Option<i64>> = ctx
        .store
        .asset_sites()
        .await?
        .into_iter()
        .map(|(a, s, _)| (a, s))
        .collect();
    let mut out = Vec::new();
    for s in &sites {
        let mons: Vec<&MonitorRow> = monitors
            .iter()
            .filter(|m| m.paused == 0)
            .filter(|m| m.asset_id.and_then(|a| assets.get(&a).copied().flatten()) == Some(s.id))
            .collect();
        let worst = mons
            .iter()
            .map(|m| m.state.as_str())
            .max_by_key(|s| rank(s))
            .unwrap_or("none");
        let readings: Vec<Value> = READINGS
            .iter()
            .map(|(label, words)| {
                let found = mons.iter().find(|m| {
                    let n = m.name.to_lowercase();
                    words.iter().any(|w| n.contains(w))
                });
                match found {
                    Some(m) => json!({"label": label, "connected": true, "state": m.state,
                        "state_label": spec::label(spec::STATES, &m.state),
                        "value": m.last_message.clone().unwrap_or_default(),
                        "at": m.last_check_at.map(crate::clock::local_minutes)}),
                    None => json!({"label": label, "connected": false, "state": "none",
                        "state_label": "未接入", "value": "未接入"}),
                }
            })
            .collect();
        out.push(json!({
            "id": s.id, "name": s.name, "assets": s.assets, "monitors": mons.len(),
            "up": mons.iter().filter(|m| m.state == "up").count(),
            "state": worst,
            "label": if mons.is_empty() { "未接入监控" } else { spec::label(spec::STATES, worst) },
            "readings": readings,
        }));
    }
    Ok(out)
}
