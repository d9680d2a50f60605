//! Monitors, results, availability, maintenance windows, alerts, intake integrations,
//! heartbeats and the duty roster.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::Paging;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::monitor::{alerts, duty, intake, integrations, spec};
use crate::store::Optional;
use crate::store::monitor::{IntegrationRow, MonitorFilter};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{ApiObject, parse_id};

fn rfc_param(q: &HashMap<String, String>, k: &str) -> AppResult<i64> {
    let s = q.get(k).ok_or_else(|| {
        AppError::invalid(
            k,
            format!("请提供 {k}（RFC 3339 时间，如 2025-10-01T00:00:00+08:00）"),
        )
    })?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            AppError::invalid(
                k,
                format!("{k} 应为 RFC 3339 时间，如 2025-10-01T00:00:00+08:00"),
            )
        })
}

fn period(q: &HashMap<String, String>) -> AppResult<(i64, i64)> {
    let (from, to) = (rfc_param(q, "from")?, rfc_param(q, "to")?);
    if to <= from {
        return Err(AppError::invalid("to", "to 应晚于 from"));
    }
    if to - from > 6 * 366 * 86_400_000 {
        return Err(AppError::invalid("to", "区间不能超过 6 年"));
    }
    Ok((from, to))
}

// ---- monitors --------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/monitors",
    tag = "monitoring",
    summary = "监控项列表",
    params(super::openapi::SearchQuery, ("system_id" = Option<i64>, Query, description = "系统编号"), ("asset_id" = Option<i64>, Query, description = "设备编号"), ("kind" = Option<String>, Query, description = "监控类型"), ("state" = Option<String>, Query, description = "状态：pending、up、down、unreachable、flapping、maintenance、paused")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    u: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let p = Paging::from_query(&q)?;
    let id_of = |k: &str| -> AppResult<Option<i64>> {
        match q.get(k).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(s) => parse_id(s)
                .map(Some)
                .map_err(|_| AppError::invalid(k, format!("{k} 应为正整数"))),
        }
    };
    let f = MonitorFilter {
        system_id: id_of("system_id")?,
        asset_id: id_of("asset_id")?,
        kind: q.get("kind").filter(|s| !s.is_empty()).cloned(),
        state: q.get("state").filter(|s| !s.is_empty()).cloned(),
        q: q.get("q").cloned(),
    };
    if let Some(k) = &f.kind
        && !spec::KINDS.iter().any(|(c, _)| c == k)
    {
        return Err(AppError::invalid("kind", "没有这种监控类型"));
    }
    if let Some(s) = &f.state
        && !spec::STATES.iter().any(|(c, _)| c == s)
    {
        return Err(AppError::invalid(
            "state",
            "state 应为 pending、up、down、unreachable、flapping、maintenance 或 paused",
        ));
    }
    let (rows, total) = st.store.list_monitors(&f, p.limit, p.offset).await?;
    Ok(Json(
        json!({"items": rows.iter().map(|m| m.to_json()).collect::<Vec<_>>(), "total": total,
                   "limit": p.limit, "offset": p.offset}),
    ))
}

#[utoipa::path(
    post,
    path = "/monitors",
    tag = "monitoring",
    summary = "新建监控项",
    request_body = crate::monitor::input::MonitorCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    let m = crate::monitor::create(&st.ctx, &u, &obj).await?;
    Ok((StatusCode::CREATED, Json(m.to_json())).into_response())
}

#[utoipa::path(
    get,
    path = "/monitors/{id}",
    tag = "monitoring",
    summary = "监控项详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    let mut v = m.to_json();
    v["state_changes"] = json!(st.store.state_changes(m.id, 20).await?);
    Ok(Json(v))
}

#[utoipa::path(
    patch,
    path = "/monitors/{id}",
    tag = "monitoring",
    summary = "修改监控项（只传要改的字段）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::monitor::input::MonitorUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    ApiObject(obj): ApiObject,
) -> AppResult<Json<Value>> {
    let m = crate::monitor::update(&st.ctx, &u, parse_id(&id)?, &obj).await?;
    Ok(Json(m.to_json()))
}

#[utoipa::path(
    delete,
    path = "/monitors/{id}",
    tag = "monitoring",
    summary = "删除监控项",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn remove(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    crate::monitor::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/monitors/{id}/check",
    tag = "monitoring",
    summary = "立即检测一次",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn check(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    u.require(Perm::WriteMonitoring)?;
    let id = parse_id(&id)?;
    let o = crate::monitor::check_now(&st.ctx, id).await?;
    let m = st.store.monitor(id).await?;
    Ok(Json(
        json!({"ok": o.ok, "latency_ms": o.latency_ms, "phase": o.phase, "message": o.message, "state": m.state}),
    ))
}

#[utoipa::path(
    get,
    path = "/monitors/{id}/results",
    tag = "monitoring",
    summary = "检测结果",
    params(("id" = i64, Path, description = "编号", example = 1), ("from" = Option<String>, Query, description = "RFC 3339，默认 24 小时前"), ("to" = Option<String>, Query, description = "RFC 3339，默认现在"), ("limit" = Option<i64>, Query, description = "1 到 10000，默认 500")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn results(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let id = parse_id(&id)?;
    st.store.monitor(id).await?;
    let now = st.clock.now_ms();
    let from = if q.contains_key("from") {
        rfc_param(&q, "from")?
    } else {
        now - 86_400_000
    };
    let to = if q.contains_key("to") {
        rfc_param(&q, "to")?
    } else {
        now + 1
    };
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| AppError::invalid("limit", "limit 应为 1 到 10000 之间的整数"))?,
        None => 500,
    };
    let rows = st.store.results(id, from, to, limit).await?;
    Ok(Json(
        json!({"items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>(), "total": rows.len()}),
    ))
}

#[utoipa::path(
    get,
    path = "/monitors/{id}/availability",
    tag = "monitoring",
    summary = "监控项可用率",
    params(("id" = i64, Path, description = "编号", example = 1), super::openapi::RfcPeriodQuery),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn availability(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    let (from, to) = period(&q)?;
    let t = crate::monitor::availability(&st.ctx, &[(m.id, m.created_at)], from, to).await?;
    let mut v = t.to_json();
    v["monitor_id"] = json!(m.id);
    v["from"] = json!(crate::clock::rfc3339(from));
    v["to"] = json!(crate::clock::rfc3339(to));
    if q.get("days").map(String::as_str) == Some("true") {
        v["days"] = json!(crate::monitor::daily(&st.ctx, &[(m.id, m.created_at)], from, to).await?);
    }
    Ok(Json(v))
}

#[utoipa::path(
    get,
    path = "/systems/{id}/availability",
    tag = "monitoring",
    summary = "系统可用率",
    params(("id" = i64, Path, description = "编号", example = 1), super::openapi::RfcPeriodQuery),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn system_availability(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let sid = parse_id(&id)?;
    st.store
        .get_entity(&crate::domain::inventory::SYSTEMS, sid)
        .await?;
    let (from, to) = period(&q)?;
    let mons = st.store.monitor_ids_of_system(sid).await?;
    let t = crate::monitor::availability(&st.ctx, &mons, from, to).await?;
    let mut v = t.to_json();
    v["system_id"] = json!(sid);
    v["monitors"] = json!(mons.iter().map(|(i, _)| *i).collect::<Vec<_>>());
    v["from"] = json!(crate::clock::rfc3339(from));
    v["to"] = json!(crate::clock::rfc3339(to));
    if q.get("days").map(String::as_str) == Some("true") {
        v["days"] = json!(crate::monitor::daily(&st.ctx, &mons, from, to).await?);
    }
    Ok(Json(v))
}

// ---- maintenance -------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/maintenance-windows",
    tag = "monitoring",
    summary = "维护窗口",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_maintenance(State(st): State<AppState>, u: ApiUser) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let rows = st.store.maintenance_windows(i64::MIN).await?;
    Ok(Json(
        json!({"items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>(), "total": rows.len()}),
    ))
}

#[utoipa::path(
    post,
    path = "/maintenance-windows",
    tag = "monitoring",
    summary = "新建维护窗口",
    request_body = crate::monitor::input::MaintenanceInput,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_maintenance(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    let w = crate::monitor::add_maintenance(&st.ctx, &u, &obj).await?;
    Ok((StatusCode::CREATED, Json(w.to_json())).into_response())
}

#[utoipa::path(
    delete,
    path = "/maintenance-windows/{id}",
    tag = "monitoring",
    summary = "删除维护窗口",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_maintenance(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    crate::monitor::delete_maintenance(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- alerts ------------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/alerts",
    tag = "monitoring",
    summary = "告警列表",
    params(super::openapi::PagingQuery, ("status" = Option<String>, Query, description = "open、firing、acknowledged 或 resolved"), ("system_id" = Option<i64>, Query, description = "系统编号"), ("source" = Option<String>, Query, description = "来源")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_alerts(
    State(st): State<AppState>,
    u: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let p = Paging::from_query(&q)?;
    let status = q
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    if let Some(s) = status
        && !["open", "firing", "acknowledged", "resolved"].contains(&s)
    {
        return Err(AppError::invalid(
            "status",
            "status 应为 open、firing、acknowledged 或 resolved",
        ));
    }
    let system_id = match q.get("system_id").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(parse_id(s)?),
    };
    let source = q
        .get("source")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let (rows, total) = st
        .store
        .list_alerts(status, source, system_id, p.limit, p.offset)
        .await?;
    let now = st.clock.now_ms();
    Ok(Json(
        json!({"items": rows.iter().map(|a| a.to_json(now)).collect::<Vec<_>>(), "total": total,
                   "limit": p.limit, "offset": p.offset}),
    ))
}

#[utoipa::path(
    get,
    path = "/alerts/{id}",
    tag = "monitoring",
    summary = "告警详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_alert(
    State(st): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let a = st.store.alert(parse_id(&id)?).await?;
    let mut v = a.to_json(st.clock.now_ms());
    let events = st.store.alert_events(a.id).await?;
    v["events"] = json!(
        events
            .iter()
            .map(
                |e| json!({"at": crate::clock::rfc3339(e.at), "kind": e.kind, "summary": e.summary})
            )
            .collect::<Vec<_>>()
    );
    if let Some(t) = a.ticket_id
        && let Some(t) = st.store.ticket(t).await.optional()?
    {
        v["ticket_number"] = json!(t.number);
        v["ticket_status"] = json!(t.status);
    }
    Ok(Json(v))
}

#[utoipa::path(
    post,
    path = "/alerts/{id}/acknowledge",
    tag = "monitoring",
    summary = "确认告警",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn acknowledge_alert(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let a = alerts::acknowledge(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(a.to_json(st.clock.now_ms())))
}

#[utoipa::path(
    post,
    path = "/alerts/{id}/silence",
    tag = "monitoring",
    summary = "静默告警",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::monitor::input::SilenceInput,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn silence_alert(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    ApiObject(obj): ApiObject,
) -> AppResult<Json<Value>> {
    for k in obj.keys() {
        if !["minutes", "reason"].contains(&k.as_str()) {
            return Err(AppError::invalid(
                k,
                format!("未知字段“{k}”，可用：minutes、reason"),
            ));
        }
    }
    let minutes = obj
        .get("minutes")
        .and_then(Value::as_i64)
        .ok_or_else(|| AppError::invalid("minutes", "请填写静默时长 minutes（分钟）"))?;
    let reason = obj
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let a = alerts::silence(&st.ctx, &u, parse_id(&id)?, minutes, reason).await?;
    Ok(Json(a.to_json(st.clock.now_ms())))
}

// ---- integrations ------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/integrations",
    tag = "monitoring",
    summary = "告警接入源",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_integrations(State(st): State<AppState>, u: ApiUser) -> AppResult<Json<Value>> {
    u.require(Perm::ManageIntegrations)?;
    let rows = st.store.integrations().await?;
    Ok(Json(
        json!({"items": rows.iter().map(IntegrationRow::to_json).collect::<Vec<_>>(), "total": rows.len()}),
    ))
}

#[utoipa::path(
    post,
    path = "/integrations",
    tag = "monitoring",
    summary = "新建接入源，返回令牌（只显示一次）",
    request_body = crate::monitor::input::IntegrationInput,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_integration(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    let (i, token) = integrations::add_integration(&st.ctx, &u, &obj).await?;
    let mut v = i.to_json();
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[utoipa::path(
    delete,
    path = "/integrations/{id}",
    tag = "monitoring",
    summary = "删除接入源",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_integration(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    integrations::delete_integration(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- intake ------------------------------------------------------------------------------

/// The integration a request speaks for: bearer token or `?token=`, of the right kind.
async fn intake_source(
    st: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    kind: &str,
) -> AppResult<IntegrationRow> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .or_else(|| q.get("token").map(String::as_str));
    integrations::source(&st.ctx, token, kind).await
}

/// An intake body as read by axum: a body over the route's limit is a 413 in Chinese.
type IntakeBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The intake body's bytes; the service bounds and parses them.
fn body_bytes(body: IntakeBody) -> AppResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "请求体超过上限 {} 字节（1 MB），请减少一次发送的告警数量",
                intake::MAX_BODY_BYTES
            ))
        } else {
            AppError::BadRequest("无法读取请求体".into())
        }
    })
}

/// `POST /integrations/alertmanager`: the Alertmanager webhook (version 4).
#[utoipa::path(
    post,
    path = "/integrations/alertmanager",
    tag = "intake",
    summary = "Alertmanager webhook（version 4）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::AlertmanagerWebhook,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn intake_alertmanager(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Json<Value>> {
    let src = intake_source(&st, &headers, &q, "alertmanager").await?;
    let out = intake::alertmanager(&st.ctx, &src, &body_bytes(body)?).await?;
    let out: Vec<Value> = out
        .iter()
        .map(|r| {
            json!({"fingerprint": r.fingerprint, "status": r.status,
                   "outcome": intake::outcome_str(&r.outcome),
                   "alert_id": r.alert.as_ref().map(|a| a.id),
                   "ticket_id": r.alert.as_ref().and_then(|a| a.ticket_id)})
        })
        .collect();
    Ok(Json(json!({"received": out.len(), "results": out})))
}

/// `POST /integrations/zabbix`: the payload of the media type shipped in
/// `integrations/zabbix/media_yunwei.yaml`; answers the ticket to write back as tags.
#[utoipa::path(
    post,
    path = "/integrations/zabbix",
    tag = "intake",
    summary = "Zabbix 媒介（integrations/zabbix/media_yunwei.yaml）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::ZabbixEvent,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn intake_zabbix(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Json<Value>> {
    let src = intake_source(&st, &headers, &q, "zabbix").await?;
    let r = intake::zabbix(&st.ctx, &src, &body_bytes(body)?).await?;
    let mut tags = Map::new();
    if let Some(t) = &r.ticket {
        tags.insert("__yunwei_ticket".into(), json!(t.number));
        tags.insert("__yunwei_ticket_id".into(), json!(t.id.to_string()));
    }
    Ok(Json(
        json!({"outcome": intake::outcome_str(&r.outcome), "alert_id": r.alert.as_ref().map(|a| a.id),
                   "ticket_id": r.ticket.as_ref().map(|t| t.id), "ticket_number": r.ticket.as_ref().map(|t| t.number.clone()),
                   "tags": tags}),
    ))
}

/// `POST /integrations/events`: a generic event in the PagerDuty Events v2 shape.
#[utoipa::path(
    post,
    path = "/integrations/events",
    tag = "intake",
    summary = "通用事件（PagerDuty Events v2 格式）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::EventInput,
    responses((status = 202, description = "已接收", body = super::openapi::Record))
)]
pub async fn intake_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Response> {
    let src = intake_source(&st, &headers, &q, "events").await?;
    let dedup = intake::event(&st.ctx, &src, &body_bytes(body)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
    )
        .into_response())
}

// ---- heartbeats --------------------------------------------------------------------------

/// The answer to a heartbeat.
#[derive(utoipa::ToSchema)]
pub struct BeatAnswer {
    pub ok: bool,
    pub monitor_id: i64,
    pub state: String,
}

#[utoipa::path(
    method(get, post),
    path = "/heartbeat/{token}",
    tag = "intake",
    summary = "心跳（任务成功）",
    params(("token" = String, Path, description = "心跳令牌"), ("duration_s" = Option<f64>, Query, description = "任务耗时（秒）"), ("duration_ms" = Option<f64>, Query, description = "任务耗时（毫秒）"), ("size_bytes" = Option<f64>, Query, description = "产出大小（字节）")),
    responses((status = 200, description = "已记录", body = BeatAnswer))
)]
pub async fn heartbeat(
    State(st): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let m = crate::monitor::beat(&st.ctx, &token, "ping", &q, &body).await?;
    Ok(Json(
        json!({"ok": true, "monitor_id": m.id, "state": m.state}),
    ))
}

#[utoipa::path(
    method(get, post),
    path = "/heartbeat/{token}/{action}",
    tag = "intake",
    summary = "任务开始（start）或失败（fail）",
    params(("token" = String, Path, description = "心跳令牌"), ("action" = String, Path, description = "start 或 fail"), ("duration_s" = Option<f64>, Query, description = "任务耗时（秒）"), ("duration_ms" = Option<f64>, Query, description = "任务耗时（毫秒）"), ("size_bytes" = Option<f64>, Query, description = "产出大小（字节）")),
    responses((status = 200, description = "已记录", body = BeatAnswer))
)]
pub async fn heartbeat_action(
    State(st): State<AppState>,
    Path((token, action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    if action == "ping" {
        // Only `start` and `fail` are actions; a ping is `/heartbeat/{token}`.
        return Err(AppError::NotFound);
    }
    let m = crate::monitor::beat(&st.ctx, &token, &action, &q, &body).await?;
    Ok(Json(
        json!({"ok": true, "monitor_id": m.id, "state": m.state}),
    ))
}

// ---- duty roster -------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/duty-shifts",
    tag = "monitoring",
    summary = "值班表与当前值班人员",
    params(("from" = Option<String>, Query, description = "RFC 3339，默认 7 天前"), ("to" = Option<String>, Query, description = "RFC 3339，默认 31 天后")),
    responses((status = 200, description = "排班；on_call_now 为当前值班人员", body = super::openapi::Page))
)]
pub async fn list_shifts(
    State(st): State<AppState>,
    u: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    u.require(Perm::ReadMonitoring)?;
    let time = |k: &str| -> AppResult<Option<i64>> {
        match q.contains_key(k) {
            true => rfc_param(&q, k).map(Some),
            false => Ok(None),
        }
    };
    let (from, to) = (time("from")?, time("to")?);
    let (rows, on_call) = duty::shifts(&st.ctx, from, to).await?;
    Ok(Json(
        json!({"items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>(), "total": rows.len(), "on_call_now": on_call}),
    ))
}

#[utoipa::path(
    post,
    path = "/duty-shifts",
    tag = "monitoring",
    summary = "新增排班",
    request_body = crate::monitor::input::ShiftInput,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_shift(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    let row = duty::add_shift(&st.ctx, &u, &obj).await?;
    Ok((StatusCode::CREATED, Json(row.to_json())).into_response())
}

#[utoipa::path(
    delete,
    path = "/duty-shifts/{id}",
    tag = "monitoring",
    summary = "删除排班",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_shift(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    duty::delete_shift(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
