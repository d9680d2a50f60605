//! The home each role lands on at `/`: the figures and lists it shows, computed here from
//! indexed store reads (templates only render them). Each home stays under 200 ms with
//! 100,000 tickets (docs/PERFORMANCE.md, "Role homes").

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::clock::{beijing, local_minutes};
use crate::domain::history::{Step, sentence};
use crate::domain::home::{Home, home_of, thousands, time_left};
use crate::domain::tickets::STATUSES;
use crate::error::AppResult;
use crate::store::homes::HomeTicket;

/// How far ahead a ticket's resolve time counts as "SLA at risk".
const AT_RISK_MS: i64 = 4 * 3_600_000;

fn day_start(d: NaiveDate) -> i64 {
    beijing()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

fn status_label(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|s| s.code == code)
        .map(|s| s.label)
        .unwrap_or("未知")
}

fn tickets_json(rows: &[HomeTicket], now: i64) -> Vec<Value> {
    rows.iter()
        .map(|t| {
            let (left, late) = time_left(t.resolve_due_at, t.sla_breached != 0, now);
            json!({"id": t.id, "number": t.number, "title": t.title, "priority": t.priority,
                   "status": t.status, "status_label": status_label(&t.status),
                   "left": left, "late": late, "reported": local_minutes(t.reported_at),
                   "due": t.resolve_due_at.map(local_minutes)})
        })
        .collect()
}

fn percent(good: i64, all: i64) -> String {
    if all == 0 {
        "—".into()
    } else {
        format!("{:.1}%", good as f64 * 100.0 / all as f64)
    }
}

/// The contract's quality targets measured over this month so far (as the acceptance
/// page measures them), each with its target and whether it is met; before a contract
/// record is entered, the month's SLA compliance alone.
async fn quality_month(
    ctx: &Ctx,
    u: &AuthUser,
    today: NaiveDate,
    resolved: i64,
    breached: i64,
) -> AppResult<Vec<Value>> {
    let sla_only = || {
        vec![
            json!({"label": "SLA 达成率（本月已解决）", "value": percent(resolved - breached, resolved),
                    "basis": format!("{} 张已解决，{} 张超时", thousands(resolved), thousands(breached))}),
        ]
    };
    // Measured from the month's records (≈500 ms with 100,000 tickets): computed at most
    // every `SUMMARY_TTL` and shown with the time it was computed.
    let key = format!("home.quality:{:04}-{:02}", today.year(), today.month());
    let caches = &ctx.store.caches;
    if let Some(v) = caches
        .summaries
        .get(&key, caches.now_ms())
        .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
    {
        return Ok(v);
    }
    let Some(record) = crate::contract::stored(ctx).await? else {
        return Ok(sla_only());
    };
    if record.quality_targets.is_empty() {
        return Ok(sla_only());
    }
    let month =
        crate::report::PeriodInput::Text(format!("{:04}-{:02}", today.year(), today.month()));
    let period = crate::report::period(&month).map_err(crate::error::AppError::Conflict)?;
    let measured = crate::contract::quality::measure(ctx, u, &record, &period).await?;
    let at = local_minutes(ctx.clock.now_ms());
    let out: Vec<Value> = measured["targets"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let value = match t["measured_percent"].as_f64() {
                        Some(v) => format!("{v:.2}%"),
                        None => "—".into(),
                    };
                    let target = t["target_percent"]
                        .as_f64()
                        .map(|v| format!("目标 ≥ {v}%"))
                        .unwrap_or_default();
                    let basis = t["basis"]
                        .as_str()
                        .filter(|b| !b.is_empty())
                        .or(t["reason"].as_str())
                        .unwrap_or("");
                    json!({"key": t["key"], "label": t["label"], "value": value, "target": target,
                           "basis": basis, "met": t["met"], "at": at})
                })
                .collect()
        })
        .unwrap_or_default();
    caches
        .summaries
        .insert(key, Value::Array(out.clone()).to_string(), caches.now_ms());
    Ok(out)
}

/// What the home of `u` shows: `kind` names the template part, the rest is its data.
pub async fn home(ctx: &Ctx, u: &AuthUser) -> AppResult<Value> {
    let now = ctx.clock.now_ms();
    let today = ctx.clock.today();
    let (t0, t1) = (day_start(today), day_start(today + Duration::days(1)));
    let month0 = today.with_day(1).unwrap_or(today);
    let month1 = (month0 + Duration::days(32)).with_day(1).unwrap_or(today);
    let s = &ctx.store;
    Ok(match home_of(u.role) {
        Home::Engineer => {
            let mine = s.home_my_tickets(u.id, 20).await?;
            let (open, overdue) = s.home_my_counts(u.id, now).await?;
            let tasks: Vec<Value> = s
                .home_my_tasks(u.id, t0, t1)
                .await?
                .iter()
                .map(|t| {
                    json!({"id": t.id, "name": t.template_name, "target": t.target_name,
                           "status": t.status, "due": local_minutes(t.due_at), "overdue": t.due_at < now && matches!(t.status.as_str(), "pending" | "in_progress")})
                })
                .collect();
            let overdue_tasks = tasks.iter().filter(|t| t["overdue"] == true).count();
            let shift = s.home_my_shift(u.id, now).await?.map(|sh| {
                json!({"from": local_minutes(sh.starts_at), "to": local_minutes(sh.ends_at),
                       "now": sh.starts_at <= now})
            });
            json!({"kind": "engineer",
                   "tiles": [
                       {"label": "我的未解决工单", "value": thousands(open), "href": "/tickets?mine=true"},
                       {"label": "已超时", "value": thousands(overdue), "href": "/tickets?mine=true&breached=true", "bad": overdue > 0},
                       {"label": "今日巡检任务", "value": thousands(tasks.len() as i64), "href": "/inspections"},
                       {"label": "逾期巡检", "value": thousands(overdue_tasks as i64), "href": "/inspections", "bad": overdue_tasks > 0}],
                   "tickets": tickets_json(&mine, now), "tasks": tasks, "shift": shift})
        }
        Home::Manager => {
            let load: Vec<Value> = s
                .home_team_load(now)
                .await?
                .iter()
                .map(|l| json!({"name": l.name, "open": thousands(l.open), "breached": thousands(l.breached), "late": l.breached > 0}))
                .collect();
            let risk = s.home_at_risk(now + AT_RISK_MS, 15).await?;
            let risk_n = s.home_at_risk_count(now + AT_RISK_MS).await?;
            let (unassigned, unassigned_n) = s.home_unassigned(15).await?;
            let due = crate::contract::deliverables::due_between(
                ctx,
                Some(today - Duration::days(31)),
                today + Duration::days(14),
            )
            .await?
            .1
            .into_iter()
            .filter(|(_, i)| {
                !matches!(
                    i["status"].as_str(),
                    Some("accepted") | Some("submitted")
                )
            })
            .take(15)
            .map(|(d, i)| json!({"name": d.name, "due": i["due_date"], "status": i["status_label"].as_str().or(i["status"].as_str()).unwrap_or("待提交")}))
            .collect::<Vec<_>>();
            let (resolved, breached) = s
                .home_sla_month(day_start(month0), day_start(month1))
                .await?;
            json!({"kind": "manager",
                   "tiles": [
                       {"label": "SLA 风险（4 小时内到期或已超时）", "value": thousands(risk_n), "href": "/tickets?breached=true", "bad": risk_n > 0},
                       {"label": "待分派", "value": thousands(unassigned_n), "href": "/tickets?status=new"},
                       {"label": "本月 SLA 达成率", "value": percent(resolved - breached, resolved), "href": "/desk"},
                       {"label": "待交付物", "value": thousands(due.len() as i64), "href": "/deliverables"}],
                   "load": load, "risk": tickets_json(&risk, now), "unassigned": tickets_json(&unassigned, now),
                   "deliverables": due,
                   "quality": quality_month(ctx, u, today, resolved, breached).await?})
        }
        Home::Oversight { audit } => {
            let systems: Vec<Value> = s
                .home_systems()
                .await?
                .iter()
                .map(|x| {
                    let (state, label) = if x.monitors == 0 {
                        ("none", "未监控")
                    } else if x.down > 0 {
                        ("down", "故障")
                    } else if x.up == x.monitors {
                        ("up", "正常")
                    } else {
                        ("unknown", "部分未知")
                    };
                    json!({"id": x.id, "name": x.name, "state": state, "label": label})
                })
                .collect();
            let up = systems.iter().filter(|x| x["state"] == "up").count();
            let (urgent, by_priority) = s.home_open_urgent(20).await?;
            let p12: i64 = by_priority
                .iter()
                .filter(|(p, _)| p == "P1" || p == "P2")
                .map(|(_, n)| n)
                .sum();
            let (resolved, breached) = s
                .home_sla_month(day_start(month0), day_start(month1))
                .await?;
            let supervised: Vec<Value> = s
                .home_supervised(10)
                .await?
                .iter()
                .map(|x| {
                    json!({"ticket_id": x.ticket_id, "number": x.number, "title": x.title,
                                "status": x.status, "status_label": status_label(&x.status),
                                "at": local_minutes(x.at), "summary": x.summary})
                })
                .collect();
            let review: Vec<Value> = s
                .home_awaiting_review()
                .await?
                .iter()
                .map(|r| json!({"name": r.name, "period": r.period_key, "at": local_minutes(r.updated_at)}))
                .collect();
            let highlights = if audit {
                let rows = s.home_audit_highlights(10).await?;
                let ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
                let names = s.user_names(&ids).await?;
                rows.iter()
                    .map(|r| {
                        let actor = r
                            .actor_id
                            .and_then(|i| names.get(&i).cloned())
                            .unwrap_or_else(|| r.actor_name.clone());
                        json!({"seq": r.seq, "at": local_minutes(r.at), "code": r.action,
                               "text": sentence(&Step { actor: &actor, action: &r.action, entity_type: &r.entity_type,
                                                        object: r.entity_id.as_deref(), target: None }),
                               "summary": r.summary})
                    })
                    .collect()
            } else {
                Vec::new()
            };
            json!({"kind": "oversight", "audit": audit,
                   "tiles": [
                       {"label": "系统正常 / 全部", "value": format!("{} / {}", up, systems.len()), "href": "/systems"},
                       {"label": "未解决 P1/P2", "value": thousands(p12), "href": "/tickets?priority=P1", "bad": p12 > 0},
                       {"label": "本月 SLA 达成率", "value": percent(resolved - breached, resolved), "href": "/desk"},
                       {"label": "待审核交付物", "value": thousands(review.len() as i64), "href": "/deliverables"}],
                   "systems": systems, "urgent": tickets_json(&urgent, now),
                   "by_priority": by_priority.iter().map(|(p, n)| json!({"priority": p, "n": thousands(*n)})).collect::<Vec<_>>(),
                   "supervised": supervised, "review": review, "highlights": highlights})
        }
        Home::Requester => {
            let mine = s.home_my_reports(u.id, 30).await?;
            json!({"kind": "requester", "tickets": tickets_json(&mine, now)})
        }
        Home::Operator => {
            let (lines, mine) = s.home_lines_today(u.id, t0, t1).await?;
            let tickets = s.home_my_tickets(u.id, 20).await?;
            let total: i64 = lines.iter().map(|l| l.records).sum();
            // The lines the operator works on; every line until they are put on one.
            let own: Vec<_> = lines
                .iter()
                .filter(|l| {
                    serde_json::from_str::<Vec<i64>>(&l.staff_ids)
                        .is_ok_and(|ids| ids.contains(&u.id))
                })
                .collect();
            let assigned = !own.is_empty();
            let lines: Vec<_> = if assigned {
                own
            } else {
                lines.iter().collect()
            };
            json!({"kind": "operator",
                   "tiles": [
                       {"label": "今日我的支持记录", "value": thousands(mine), "href": "/operations"},
                       {"label": "今日全部支持记录", "value": thousands(total), "href": "/operations"},
                       {"label": "我的未解决工单", "value": thousands(tickets.len() as i64), "href": "/tickets?mine=true"}],
                   "assigned": assigned,
                   "lines": lines.iter().map(|l| json!({"id": l.line_id, "name": l.name, "records": thousands(l.records)})).collect::<Vec<_>>(),
                   "tickets": tickets_json(&tickets, now)})
        }
        Home::Admin => {
            let p = s.home_platform(now).await?;
            let get = |k: &str| p.iter().find(|(r, _)| r == k).map(|(_, n)| *n).unwrap_or(0);
            let roles: Vec<Value> = crate::domain::roles::ALL_ROLES
                .iter()
                .map(|r| json!({"label": r.label(), "n": thousands(get(r.as_str()))}))
                .collect();
            let backend = match s.backend() {
                crate::store::Backend::Sqlite => "SQLite",
                crate::store::Backend::Postgres => "PostgreSQL",
            };
            json!({"kind": "admin",
                   "tiles": [
                       {"label": "锁定中的账号", "value": thousands(get("locked")), "href": "/users", "bad": get("locked") > 0},
                       {"label": "停用的账号", "value": thousands(get("disabled")), "href": "/users"},
                       {"label": "监控项", "value": thousands(get("monitors")), "href": "/monitors"},
                       {"label": "告警中", "value": thousands(get("firing")), "href": "/alerts", "bad": get("firing") > 0}],
                   "roles": roles, "backend": backend, "version": env!("CARGO_PKG_VERSION")})
        }
    })
}
