//! Monitoring pages: the monitor list with latency sparklines, the monitor page with
//! ECharts history, the alert list with acknowledge and silence, and the duty roster. The
//! wall display (大屏) is in `screen.rs`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::monitor::input::{MonitorCreate, MonitorUpdate};
use crate::monitor::spec;
use crate::store::entities::ListQuery;
use crate::store::monitor::{MonitorFilter, MonitorRow};
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, same_origin};
use crate::web::extract::parse_id;

fn need(u: &AuthUser, p: Perm) -> Result<(), AppError> {
    if u.role.can(p) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn kinds() -> Vec<Value> {
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

async fn system_names(st: &AppState) -> Result<HashMap<i64, String>, AppError> {
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
    Ok(rows
        .iter()
        .filter_map(|s| Some((s.get("id")?.as_i64()?, s.get("name")?.as_str()?.to_string())))
        .collect())
}

fn monitor_view(m: &MonitorRow, names: &HashMap<i64, String>) -> Value {
    json!({"id": m.id, "name": m.name, "kind": m.kind, "kind_label": spec::label(spec::KINDS, &m.kind), "target": m.target,
           "state": m.state, "state_label": spec::label(spec::STATES, &m.state),
           "system": m.system_id.and_then(|s| names.get(&s).cloned()), "system_id": m.system_id,
           "latency": m.last_latency_ms.map(|l| format!("{l:.1} ms")), "message": m.last_message,
           "checked": m.last_check_at.map(crate::clock::local_seconds), "interval_s": m.interval_s})
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    need(&u, Perm::ReadMonitoring)?;
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
    let base: String = q
        .iter()
        .filter(|(k, v)| !["offset", "limit"].contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{}={}&",
                percent_encoding::utf8_percent_encode(k, crate::web::auth::QUERY_VALUE),
                percent_encoding::utf8_percent_encode(v, crate::web::auth::QUERY_VALUE)
            )
        })
        .collect();
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

const EXAMPLES: &[(&str, &str)] = &[
    (
        "http",
        r#"{"keyword": "欢迎", "expected_status": [200], "max_latency_ms": 3000, "cert_expiry_warn_days": 30}"#,
    ),
    ("tcp", r#"{"max_latency_ms": 500}"#),
    (
        "icmp",
        r#"{"count": 3, "max_loss_percent": 20, "max_rtt_ms": 100}"#,
    ),
    (
        "dns",
        r#"{"server": "10.0.0.53", "record_type": "A", "expected": ["10.0.0.5"]}"#,
    ),
    ("tls", r#"{"warn_days": 30, "verify": true}"#),
    (
        "snmp",
        r#"{"community": "public", "if_indexes": [1, 2], "oids": [{"oid": "1.3.6.1.2.1.1.3.0", "label": "运行时间", "min": 1}], "ups": true}"#,
    ),
    (
        "snmp (v3)",
        r#"{"version": "3", "username": "monitor", "security_level": "authPriv", "auth_protocol": "SHA-256", "auth_password": "至少 8 个字符", "priv_protocol": "AES", "priv_password": "至少 8 个字符", "if_indexes": [1, 2]}"#,
    ),
    ("postgres", r#"{"max_latency_ms": 1000}"#),
    ("mysql", r#"{"max_latency_ms": 1000}"#),
    ("heartbeat", r#"{"schedule": "0 2 * * *", "grace_s": 1800}"#),
];

async fn form_page(
    st: &AppState,
    u: &AuthUser,
    form: Value,
    errors: Vec<Value>,
    status: StatusCode,
    edit: Option<i64>,
) -> PageResult {
    let names = system_names(st).await?;
    let mut systems: Vec<(i64, String)> = names.into_iter().collect();
    systems.sort();
    let systems: Vec<Value> = systems
        .iter()
        .map(|(i, n)| json!({"id": i, "name": n}))
        .collect();
    let examples: Vec<Value> = EXAMPLES
        .iter()
        .map(|(k, e)| json!({"kind": k, "example": e}))
        .collect();
    let title = if edit.is_some() {
        "修改监控"
    } else {
        "新建监控"
    };
    let html = st.ui.page(
        "monitor_form.html",
        json!({"layout": layout(u, title, "/monitors"), "title": title, "form": form, "errors": errors, "kinds": kinds(),
               "systems": systems, "examples": examples, "edit": edit}),
    )?;
    Ok((status, html).into_response())
}

pub async fn new_form(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    need(&u, Perm::WriteMonitoring)?;
    form_page(
        &st,
        &u,
        json!({"interval_s": "60", "failures_before_down": "3", "priority": "P2", "config": "{}"}),
        vec![],
        StatusCode::OK,
        None,
    )
    .await
}

/// The submitted form as shown again after an error: SNMPv3 passwords are not sent back
/// (the user types them again; the validation message says so).
fn form_again(form: &HashMap<String, String>) -> Value {
    let mut f = form.clone();
    if let Some(cfg) = f.get_mut("config")
        && let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(cfg)
    {
        let mut masked = false;
        for k in crate::monitor::snmp::SECRET_KEYS {
            if let Some(v) = m.get_mut(k)
                && v.is_string()
            {
                *v = json!("");
                masked = true;
            }
        }
        if masked {
            *cfg = Value::Object(m).to_string();
        }
    }
    json!(f)
}

/// The form as the API's JSON object: numbers where numbers go, `config` parsed.
fn form_to_obj(form: &HashMap<String, String>) -> Result<Map<String, Value>, Vec<Value>> {
    let mut obj = Map::new();
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() || k == "config" {
            continue;
        }
        match k.as_str() {
            "interval_s"
            | "timeout_ms"
            | "failures_before_down"
            | "successes_before_up"
            | "system_id"
            | "depends_on" => {
                match v.parse::<i64>() {
                    Ok(n) => obj.insert(k.clone(), json!(n)),
                    Err(_) => {
                        return Err(vec![
                            json!({"field": k, "message": format!("“{v}”不是整数")}),
                        ]);
                    }
                };
            }
            "name" | "kind" | "target" | "priority" => {
                obj.insert(k.clone(), json!(v));
            }
            _ => {}
        }
    }
    let cfg = form.get("config").map(|s| s.trim()).unwrap_or("");
    if !cfg.is_empty() {
        match serde_json::from_str::<Value>(cfg) {
            Ok(Value::Object(m)) => {
                obj.insert("config".into(), Value::Object(m));
            }
            _ => {
                return Err(vec![
                    json!({"field": "config", "message": "配置应为 JSON 对象，如 {\"keyword\": \"欢迎\"}"}),
                ]);
            }
        }
    }
    Ok(obj)
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(AppError::forbidden().into());
    }
    need(&u, Perm::WriteMonitoring)?;
    let input = form_to_obj(&form).and_then(|obj| {
        crate::domain::input::decode::<MonitorCreate>(Value::Object(obj)).map_err(|errs| {
            errs.iter()
                .map(|e| json!({"field": e.field, "message": e.message}))
                .collect()
        })
    });
    let input = match input {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                &st,
                &u,
                form_again(&form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await;
        }
    };
    match crate::monitor::create(&st.ctx, &u, &input).await {
        Ok(m) => Ok(Redirect::to(&format!("/monitors/{}", m.id)).into_response()),
        Err(AppError::Validation(errs)) => {
            let errors = errs
                .iter()
                .map(|e| json!({"field": e.field, "message": e.message}))
                .collect();
            form_page(
                &st,
                &u,
                form_again(&form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn detail(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    need(&u, Perm::ReadMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    let names = system_names(&st).await?;
    let now = st.clock.now_ms();
    let results = st
        .store
        .results(m.id, now - 86_400_000, now + 1, 2000)
        .await?;
    let series: Vec<Value> = results
        .iter()
        .rev()
        .map(|r| json!([crate::clock::rfc3339(r.at), r.latency_ms, r.ok != 0]))
        .collect();
    let recent: Vec<Value> = results
        .iter()
        .take(30)
        .map(|r| {
            json!({"at": crate::clock::local_seconds(r.at), "ok": r.ok != 0, "latency": r.latency_ms.map(|l| format!("{l:.1}")),
                   "phase": r.phase.as_deref().map(|p| spec::label(spec::PHASES, p)), "message": r.message})
        })
        .collect();
    let day = 86_400_000;
    let from = now - 30 * day;
    let days = crate::monitor::daily(&st.ctx, &[(m.id, m.created_at)], from, now).await?;
    let avail30 = crate::monitor::availability(&st.ctx, &[(m.id, m.created_at)], from, now).await?;
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
    Ok(st
        .ui
        .page(
            "monitor_detail.html",
            json!({"layout": layout(&u, &m.name, "/monitors"), "m": v, "series": series, "recent": recent, "days": days,
                   "availability": avail30.availability().map(|a| format!("{:.3}%", a * 100.0)), "changes": changes,
                   "can_write": u.role.can(Perm::WriteMonitoring), "notice": notice}),
        )?
        .into_response())
}

/// `check`, `pause`, `resume` or `delete` from the monitor page.
pub async fn action(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(AppError::forbidden().into());
    }
    need(&u, Perm::WriteMonitoring)?;
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
    need(&u, Perm::ReadMonitoring)?;
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
    headers: HeaderMap,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(AppError::forbidden().into());
    }
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

pub async fn duty(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    need(&u, Perm::ReadMonitoring)?;
    let now = st.clock.now_ms();
    let rows = st
        .store
        .shifts(now - 86_400_000, now + 31 * 86_400_000)
        .await?;
    let on_call = st.store.on_call(now).await?;
    let (users, _) = st.store.list_users(None, None, 1000, 0).await?;
    let uname: HashMap<i64, String> = users
        .iter()
        .map(|r| (r.id, r.display_name.clone()))
        .collect();
    let staff: Vec<Value> = users
        .iter()
        .filter(|r| {
            ["engineer", "operator", "manager"].contains(&r.role.as_str()) && r.disabled == 0
        })
        .map(|r| json!({"id": r.id, "name": r.display_name}))
        .collect();
    let items: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({"id": s.id, "user": uname.get(&s.user_id), "from": crate::clock::local_minutes(s.starts_at), "to": crate::clock::local_minutes(s.ends_at),
                   "role": if s.role == "primary" { "主班" } else { "备班" }, "note": s.note, "now": s.starts_at <= now && s.ends_at > now})
        })
        .collect();
    Ok(st
        .ui
        .page(
            "duty.html",
            json!({"layout": layout(&u, "值班表", "/duty"), "items": items, "staff": staff,
                   "on_call": on_call.iter().filter_map(|i| uname.get(i)).collect::<Vec<_>>(),
                   "can_write": u.role.can(Perm::ManageIntegrations), "error": q.get("error")}),
        )?
        .into_response())
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
