//! Monitoring pages: the monitor list with latency sparklines, the monitor page with
//! ECharts history and the alert list with acknowledge and silence. The wall display
//! (大屏) is in `screen.rs`, the duty roster in `duty.rs`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};

pub use super::monitor_form::{create, edit_form, new_form, update};
use super::{PageResult, layout, query_base};
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::monitor::input::MonitorUpdate;
use crate::monitor::spec;
use crate::store::entities::ListQuery;
use crate::store::monitor::{MonitorFilter, MonitorRow};
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, require_perm};
use crate::web::extract::parse_id;

pub(super) fn kinds() -> Vec<Value> {
    spec::KINDS
        .iter()
        .map(|(c, l)| json!({"code": c, "label": l}))
        .collect()
}

fn states() -> Vec<Value> {
    spec::STATES
        .iter()
        .map(|(c, l)| json!({"code": c, "label": l}))
        .collect()
}

/// The points of a latency sparkline, 120×24, for `monitors.html` to draw as an inline
/// SVG polyline (failures as red dots): `null` without data, else `points` and
/// `failures`, each a list of `{x, y}` with one decimal.
fn sparkline(points: &[(i64, Option<f64>, bool)]) -> Value {
    if points.is_empty() {
        return Value::Null;
    }
    let max = points.iter().filter_map(|p| p.1).fold(1.0f64, f64::max);
    let n = points.len().max(2) as f64 - 1.0;
    let mut line = Vec::new();
    let mut failures = Vec::new();
    for (i, (_, l, ok)) in points.iter().enumerate() {
        let x = i as f64 * 120.0 / n;
        let y = 22.0 - l.unwrap_or(0.0) / max * 20.0;
        let p = json!({"x": format!("{x:.1}"), "y": format!("{y:.1}")});
        if !ok {
            failures.push(p.clone());
        }
        line.push(p);
    }
    json!({"points": line, "failures": failures})
}

/// The systems (the first 1000 by id), for pickers and names.
pub(super) async fn systems(
    st: &AppState,
) -> Result<Vec<serde_json::Map<String, Value>>, AppError> {
    let lq = ListQuery {
        limit: 1000,
        offset: 0,
        sort: Some(("id".into(), false)),
        ..Default::default()
    };
    let (rows, _) = st
        .store
        .list_entities(&crate::domain::inventory::SYSTEMS, &lq)
        .await?;
    Ok(rows)
}

pub(super) async fn system_names(st: &AppState) -> Result<HashMap<i64, String>, AppError> {
    let rows = systems(st).await?;
    Ok(rows
        .iter()
        .filter_map(|s| Some((s.get("id")?.as_i64()?, s.get("name")?.as_str()?.to_string())))
        .collect())
}

fn monitor_view(m: &MonitorRow, names: &HashMap<i64, String>) -> Value {
    json!({"id": m.id, "name": m.name, "kind": m.kind, "kind_label": spec::label(spec::KINDS, &m.kind), "target": m.target,
           "state": m.state, "state_label": spec::label(spec::STATES, &m.state),
           "system": m.system_id.and_then(|s| names.get(&s).cloned()), "system_id": m.system_id,
           // A failed check's time is no latency (a threshold failure's is its reason).
           "latency": m.last_latency_ms.filter(|_| m.last_ok != Some(0) || m.last_phase.as_deref() == Some("threshold"))
                .map(|l| format!("{l:.1} ms")), "message": m.last_message,
           "problem": (m.last_ok == Some(0)).then(|| problem(m.last_phase.as_deref(), m.last_message.as_deref())),
           "checked": m.last_check_at.map(crate::clock::local_seconds), "interval_s": m.interval_s})
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ReadMonitoring)?;
    q.entry("limit".into()).or_insert_with(|| "50".into());
    let p = Paging::from_query(&q)?;
    let f = MonitorFilter {
        system_id: q.get("system_id").and_then(|s| s.parse().ok()),
        asset_id: None,
        kind: q.get("kind").filter(|s| !s.is_empty()).cloned(),
        state: q.get("state").filter(|s| !s.is_empty()).cloned(),
        q: q.get("q").cloned(),
    };
    let (rows, total) = st.store.list_monitors(&f, p.limit, p.offset).await?;
    let names = system_names(&st).await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let lat = st
        .store
        .recent_latencies(&ids, st.clock.now_ms() - 3_600_000)
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|m| {
            let mut v = monitor_view(m, &names);
            let pts = lat.get(&m.id).map(Vec::as_slice).unwrap_or(&[]);
            let tail = &pts[pts.len().saturating_sub(40)..];
            v["spark"] = sparkline(tail);
            v
        })
        .collect();
    let base = query_base(&q, &["offset", "limit"]);
    Ok(st
        .ui
        .page(
            "monitors.html",
            json!({"layout": layout(&u, "监控项", "/monitors"), "items": items, "total": total, "q": q, "base": base,
                   "offset": p.offset, "limit": p.limit, "kinds": kinds(), "states": states(),
                   "can_write": u.role.can(Perm::WriteMonitoring)}),
        )?
        .into_response())
}

pub async fn detail(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ReadMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    let names = system_names(&st).await?;
    let now = st.clock.now_ms();
    let results = st
        .store
        .results(m.id, now - 86_400_000, now + 1, 2000)
        .await?;
    // The 24-hour chart: latencies of the successful checks, failures as markers with
    // their reason; times as epoch ms, drawn on Beijing time by monitor_charts.js.
    let series: Vec<Value> = results
        .iter()
        .rev()
        .map(|r| {
            let ok = r.ok != 0;
            let why =
                (!ok).then(|| problem(r.phase.as_deref(), r.message.as_deref())["summary"].clone());
            json!([
                r.at,
                if ok {
                    r.latency_ms.map(|l| (l * 10.0).round() / 10.0)
                } else {
                    None
                },
                ok,
                why
            ])
        })
        .collect();
    let latency_empty = if !series.is_empty() {
        None
    } else if m.paused != 0 {
        Some("监控已暂停：暂停期间不检测，最近 24 小时没有检测结果。")
    } else {
        Some("最近 24 小时还没有检测结果：新建的监控在第一次检测后显示，可点“立即检测”。")
    };
    let recent: Vec<Value> = results
        .iter()
        .take(30)
        .map(|r| {
            json!({"at": crate::clock::local_seconds(r.at), "ok": r.ok != 0, "latency": r.latency_ms.map(|l| format!("{l:.1}")),
                   "phase": r.phase.as_deref().map(|p| spec::label(spec::PHASES, p)), "message": r.message,
                   "problem": (r.ok == 0).then(|| problem(r.phase.as_deref(), r.message.as_deref()))})
        })
        .collect();
    let day = 86_400_000;
    let today = crate::monitor::day_start(now);
    let from = today - 29 * day;
    let rolled = crate::monitor::daily(&st.ctx, &[(m.id, m.created_at)], from, now).await?;
    let avail30 = crate::monitor::availability(&st.ctx, &[(m.id, m.created_at)], from, now).await?;
    // Today so far comes from the raw results (the rollups cover finished hours only).
    let today_tally =
        crate::monitor::availability(&st.ctx, &[(m.id, m.created_at)], today, now).await?;
    let days = month_of_days(from, &rolled, bj_date(now), today_tally.availability());
    let any_day = days.iter().any(|d| !d["availability"].is_null());
    let daily_empty = if any_day {
        None
    } else if m.paused != 0 {
        Some("监控已暂停，近 30 天没有可统计的检测结果。")
    } else if results.is_empty() {
        Some("还没有检测结果，无法统计每日可用率。")
    } else {
        Some("还没有按小时汇总的数据：每小时整点后汇总上一小时，首次检测约一小时后显示。")
    };
    let changes = st.store.state_changes(m.id, 20).await?;
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|c| {
            let at = c["at"].as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| crate::clock::local_seconds(t.timestamp_millis()));
            json!({"at": at, "from": spec::label(spec::STATES, c["from"].as_str().unwrap_or("")), "to": spec::label(spec::STATES, c["to"].as_str().unwrap_or("")),
                   "reason": c["reason"]})
        })
        .collect();
    let mut v = monitor_view(&m, &names);
    v["config"] =
        json!(serde_json::to_string_pretty(&Value::Object(m.config_map())).unwrap_or_default());
    v["paused"] = json!(m.paused != 0);
    v["token"] = json!(m.token);
    v["failures_before_down"] = json!(m.failures_before_down);
    v["timeout_ms"] = json!(m.timeout_ms);
    v["priority"] = json!(m.priority);
    let notice = q.get("checked").map(|_| "已完成一次检测").unwrap_or("");
    let demo = super::demo::is_demo(&st, "monitors", m.id).await?;
    Ok(st
        .ui
        .page(
            "monitor_detail.html",
            json!({"layout": layout(&u, &m.name, "/monitors"), "m": v, "demo": demo, "series": series, "recent": recent, "days": days,
                   "latency_empty": latency_empty, "daily_empty": daily_empty,
                   "availability": avail30.availability().map(|a| format!("{:.3}%", a * 100.0)), "changes": changes,
                   "can_write": u.role.can(Perm::WriteMonitoring), "notice": notice}),
        )?
        .into_response())
}

/// `check`, `pause`, `resume` or `delete` from the monitor page.
pub async fn action(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::WriteMonitoring)?;
    let id = parse_id(&id)?;
    match form.get("do").map(String::as_str) {
        Some("check") => {
            crate::monitor::check_now(&st.ctx, id).await?;
            Ok(Redirect::to(&format!("/monitors/{id}?checked=1")).into_response())
        }
        Some(p @ ("pause" | "resume")) => {
            let patch = MonitorUpdate::paused(p == "pause");
            crate::monitor::update(&st.ctx, &u, id, &patch).await?;
            Ok(Redirect::to(&format!("/monitors/{id}")).into_response())
        }
        Some("delete") => {
            crate::monitor::delete(&st.ctx, &u, id).await?;
            Ok(Redirect::to("/monitors").into_response())
        }
        _ => Err(AppError::invalid("do", "未知操作").into()),
    }
}

pub async fn alerts(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ReadMonitoring)?;
    q.entry("limit".into()).or_insert_with(|| "50".into());
    let p = Paging::from_query(&q)?;
    let status = q
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("open");
    let status = if status == "all" { None } else { Some(status) };
    if let Some(s) = status
        && !["open", "firing", "acknowledged", "resolved"].contains(&s)
    {
        return Err(AppError::invalid("status", "状态无效").into());
    }
    let (rows, total) = st
        .store
        .list_alerts(status, None, None, p.limit, p.offset)
        .await?;
    let now = st.clock.now_ms();
    let names = system_names(&st).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({"id": a.id, "title": a.title, "status": a.status, "status_label": match a.status.as_str() { "firing" => "告警中", "acknowledged" => "已确认", _ => "已恢复" },
                   "priority": a.priority, "source": alert_source_label(&a.source), "ticket_id": a.ticket_id, "fire_count": a.fire_count, "episodes": a.episodes,
                   "system": a.system_id.and_then(|s| names.get(&s).cloned()),
                   "started": crate::clock::local_minutes(a.started_at), "last": crate::clock::local_minutes(a.last_fired_at),
                   "silenced": a.silenced_until.is_some_and(|s| s > now), "silence_reason": a.silence_reason,
                   "silenced_until": a.silenced_until.map(crate::clock::local_minutes),
                   "actions": crate::monitor::alerts::allowed_actions(u.role, a).iter().map(|x| x.as_str()).collect::<Vec<_>>()})
        })
        .collect();
    Ok(st
        .ui
        .page(
            "alerts.html",
            json!({"layout": layout(&u, "告警", "/alerts"), "items": items, "total": total, "status": status.unwrap_or("all"),
                   "offset": p.offset, "limit": p.limit, "error": q.get("error")}),
        )?
        .into_response())
}

pub async fn alert_action(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let r = match form.get("do").map(String::as_str) {
        Some("acknowledge") => crate::monitor::alerts::acknowledge(&st.ctx, &u, id)
            .await
            .map(|_| ()),
        Some("silence") => {
            let minutes = form
                .get("minutes")
                .and_then(|m| m.parse::<i64>().ok())
                .unwrap_or(0);
            let reason = form.get("reason").map(String::as_str).unwrap_or_default();
            crate::monitor::alerts::silence(&st.ctx, &u, id, minutes, reason)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::invalid("do", "未知操作")),
    };
    match r {
        Ok(()) => Ok(Redirect::to("/alerts").into_response()),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => Ok(Redirect::to(&format!(
            "/alerts?error={}",
            percent_encoding::utf8_percent_encode(&e.message(), crate::web::auth::QUERY_VALUE)
        ))
        .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// The Beijing date of epoch milliseconds: `2025-01-02`.
fn bj_date(ms: i64) -> String {
    crate::clock::local_seconds(ms).chars().take(10).collect()
}

/// A failed check for the pages: the Chinese headline and the probe's original text.
fn problem(phase: Option<&str>, message: Option<&str>) -> Value {
    let e = crate::domain::monitor::probe_error::explain(phase, message.unwrap_or_default());
    json!({"summary": e.summary, "detail": e.detail})
}

/// The 30 Beijing days from `from` with their availability from the rollups (`null`
/// where no hour was rolled up), today's from `today_availability` when the rollups
/// have none yet.
fn month_of_days(
    from: i64,
    rolled: &[Value],
    today: String,
    today_availability: Option<f64>,
) -> Vec<Value> {
    let by_date: HashMap<&str, &Value> = rolled
        .iter()
        .filter_map(|d| Some((d["date"].as_str()?, d)))
        .collect();
    (0..30)
        .map(|i| {
            let date = bj_date(from + i * 86_400_000 + 3_600_000);
            let mut v = by_date
                .get(date.as_str())
                .map(|d| (*d).clone())
                .unwrap_or_else(|| json!({"availability": null}));
            if date == today && v["availability"].is_null() {
                v["availability"] = json!(today_availability);
            }
            v["date"] = json!(date);
            v
        })
        .collect()
}

/// What raised an alert, in words.
fn alert_source_label(source: &str) -> String {
    match source {
        "monitor" => "内置监控".into(),
        "alertmanager" => "Prometheus Alertmanager".into(),
        "zabbix" => "Zabbix".into(),
        "events" => "事件接入".into(),
        "backup" => "备份监督".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod spark_tests {
    use super::*;

    #[test]
    fn sparkline_scales_latencies_and_marks_failures() {
        assert_eq!(sparkline(&[]), Value::Null);
        let s = sparkline(&[(0, Some(10.0), true), (1, Some(20.0), false)]);
        assert_eq!(
            s,
            json!({"points": [{"x": "0.0", "y": "12.0"}, {"x": "120.0", "y": "2.0"}],
                   "failures": [{"x": "120.0", "y": "2.0"}]})
        );
    }
}
