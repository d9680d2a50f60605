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
use sha2::Digest;

use super::Paging;
use crate::domain::monitor::severity::{SeverityScheme, listed_priority, priority_or_lowest};
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult, FieldError};
use crate::monitor::alerts::{self, Fire, Outcome};
use crate::monitor::spec;
use crate::store::Optional;
use crate::store::audit::{NewAuditEvent, append};
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

const INTEGRATION_KINDS: &[&str] = &["alertmanager", "zabbix", "events"];

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
    if !u.role.can(Perm::ManageIntegrations) {
        return Err(AppError::forbidden());
    }
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !["kind", "name", "system_id"].contains(&k.as_str()) {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !INTEGRATION_KINDS.contains(&kind) {
        errs.push(FieldError::new(
            "kind",
            "kind 应为 alertmanager、zabbix 或 events",
        ));
    }
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if name.is_empty() || crate::domain::text::check_field("名称", name, false, 100).is_err() {
        errs.push(FieldError::new(
            "name",
            "请填写接入源名称（不超过 100 个字符）",
        ));
    }
    let system_id = match obj.get("system_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().filter(|n| *n > 0) {
            Some(n) => {
                if st
                    .store
                    .get_entity(&crate::domain::inventory::SYSTEMS, n)
                    .await
                    .optional()?
                    .is_none()
                {
                    errs.push(FieldError::new("system_id", format!("系统编号 {n} 不存在")));
                }
                Some(n)
            }
            None => {
                errs.push(FieldError::new("system_id", "system_id 应为正整数"));
                None
            }
        },
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let token = {
        use password_hash::rand_core::RngCore;
        let mut b = [0u8; 24];
        password_hash::rand_core::OsRng.fill_bytes(&mut b);
        format!(
            "ywi_{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
        )
    };
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    let id = st
        .store
        .insert_integration(
            &mut tx,
            kind,
            name,
            &crate::accounts::token_hash(&token),
            system_id,
            now,
        )
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "create",
            "integrations",
            id,
            format!("新建告警接入源“{name}”（{kind}）"),
        )
        .after(json!({"kind": kind, "name": name, "system_id": system_id})),
    )
    .await?;
    tx.commit().await?;
    let mut v = st.store.integration(id).await?.to_json();
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
    if !u.role.can(Perm::ManageIntegrations) {
        return Err(AppError::forbidden());
    }
    let id = parse_id(&id)?;
    let i = st.store.integration(id).await?;
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    st.store.delete_integration(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "delete",
            "integrations",
            id,
            format!("删除告警接入源“{}”", i.name),
        )
        .before(i.to_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

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
        .map(|(_, t)| t.trim().to_string())
        .or_else(|| q.get("token").cloned())
        .ok_or_else(|| {
            AppError::Unauthorized("缺少接入令牌：Authorization: Bearer 令牌，或 ?token=".into())
        })?;
    let i = st
        .store
        .integration_by_token(&crate::accounts::token_hash(&token))
        .await?
        .ok_or_else(|| AppError::Unauthorized("接入令牌无效或已停用".into()))?;
    if i.kind != kind {
        return Err(AppError::Forbidden(format!(
            "该令牌属于 {} 接入源，不能用于 {kind}",
            i.kind
        )));
    }
    st.store.touch_integration(i.id, st.clock.now_ms()).await?;
    Ok(i)
}

/// An intake body as read by axum: a body over the route's limit is a 413 in Chinese.
type IntakeBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The intake body as a JSON object, within the size, depth and element bounds of
/// [`crate::monitor::intake`], checked before anything is parsed.
fn parse_body(body: IntakeBody) -> AppResult<Map<String, Value>> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "请求体超过上限 {} 字节（1 MB），请减少一次发送的告警数量",
                crate::monitor::intake::MAX_BODY_BYTES
            ))
        } else {
            AppError::BadRequest("无法读取请求体".into())
        }
    })?;
    crate::monitor::intake::parse_object(&body).map_err(|e| {
        if body.len() > crate::monitor::intake::MAX_BODY_BYTES {
            AppError::PayloadTooLarge(e.message)
        } else {
            AppError::Validation(vec![e])
        }
    })
}

fn outcome_str(o: &Outcome) -> &'static str {
    match o {
        Outcome::Opened => "opened",
        Outcome::Reopened => "reopened",
        Outcome::Refired => "refired",
        Outcome::Duplicate => "duplicate",
        Outcome::Resolved => "resolved",
        Outcome::NotOpen => "not_open",
    }
}

fn label_str<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn system_from_labels(m: &Map<String, Value>) -> Option<i64> {
    m.get("system_id").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
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
    let obj = parse_body(body)?;
    crate::monitor::intake::check_alertmanager(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    if obj.get("version").and_then(Value::as_str) != Some("4") {
        return Err(AppError::invalid(
            "version",
            "只支持 Alertmanager webhook version \"4\"",
        ));
    }
    let Some(Value::Array(items)) = obj.get("alerts") else {
        return Err(AppError::invalid("alerts", "缺少 alerts 数组"));
    };
    let empty = Map::new();
    let mut out = Vec::new();
    for (i, a) in items.iter().enumerate() {
        let Some(a) = a.as_object() else {
            return Err(AppError::invalid(
                &format!("alerts[{i}]"),
                "每条告警应为对象",
            ));
        };
        let labels = a.get("labels").and_then(Value::as_object).unwrap_or(&empty);
        let ann = a
            .get("annotations")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let fp = match label_str(a, "fingerprint") {
            Some(f) => f.to_string(),
            None => {
                // Older senders: the sorted label set is the identity.
                let sorted: std::collections::BTreeMap<_, _> = labels.iter().collect();
                crate::store::audit::hex(&sha2::Sha256::digest(
                    serde_json::to_vec(&sorted).unwrap_or_default(),
                ))[..16]
                    .to_string()
            }
        };
        let starts = label_str(a, "startsAt").unwrap_or("");
        let status = label_str(a, "status")
            .or_else(|| label_str(&obj, "status"))
            .unwrap_or("firing");
        let key = format!("am:{}:{fp}", src.id);
        let name = label_str(labels, "alertname").unwrap_or("Alertmanager 告警");
        let title = match label_str(ann, "summary") {
            Some(s) => s.to_string(),
            None => match label_str(labels, "instance") {
                Some(inst) => format!("{name}（{inst}）"),
                None => name.to_string(),
            },
        };
        let (alert, outcome) = if status == "resolved" {
            let (a, o) = alerts::resolve(
                &st.ctx,
                &key,
                &format!("Alertmanager 报告恢复：{title}"),
                Some(&format!("{key}:{starts}:resolved")),
            )
            .await?;
            (a, o)
        } else {
            let priority =
                priority_or_lowest(SeverityScheme::Alertmanager, label_str(labels, "severity"));
            let mut desc = String::new();
            if let Some(d) = label_str(ann, "description") {
                desc.push_str(d);
                desc.push('\n');
            }
            desc.push_str("标签：");
            desc.push_str(
                &labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if let Some(g) = label_str(a, "generatorURL") {
                desc.push_str(&format!("\n来源：{g}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "alertmanager".into(),
                integration_id: Some(src.id),
                system_id: system_from_labels(labels).or(src.system_id),
                priority: priority.into(),
                title,
                description: Some(desc),
                labels: Some(Value::Object(labels.clone())),
                event_key: Some(format!("{key}:{starts}:firing")),
                ..Default::default()
            };
            let (a, o) = alerts::fire(&st.ctx, &f).await?;
            (Some(a), o)
        };
        out.push(json!({"fingerprint": fp, "status": status, "outcome": outcome_str(&outcome),
                        "alert_id": alert.as_ref().map(|a| a.id), "ticket_id": alert.as_ref().and_then(|a| a.ticket_id)}));
    }
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
    let obj = parse_body(body)?;
    crate::monitor::intake::check_zabbix(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    let s = |k: &str| {
        obj.get(k).and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
    };
    let event_id = s("event_id")
        .filter(|e| !e.is_empty() && !e.starts_with('{'))
        .ok_or_else(|| AppError::invalid("event_id", "缺少 event_id（{EVENT.ID}）"))?;
    let value = s("event_value").unwrap_or_else(|| "1".into());
    let update = s("event_update_status").unwrap_or_else(|| "0".into());
    let key = format!("zbx:{}:{event_id}", src.id);
    let host = s("host_name").unwrap_or_default();
    let name = s("event_name")
        .or_else(|| s("alert_subject"))
        .unwrap_or_else(|| "Zabbix 告警".into());
    let title = if host.is_empty() {
        name.clone()
    } else {
        format!("{host}：{name}")
    };
    let (alert, outcome) = match (value.as_str(), update.as_str()) {
        ("0", _) => {
            let note = format!("Zabbix 报告恢复：{title}");
            alerts::resolve(&st.ctx, &key, &note, Some(&format!("{key}:recovery"))).await?
        }
        (_, "1") => {
            // An update (acknowledgement or comment) in Zabbix: noted on the alert.
            let msg = s("event_update_message").unwrap_or_default();
            let who = s("event_update_user").unwrap_or_default();
            let mut tx = st.store.write_tx().await?;
            let a = st.store.alert_by_key_tx(&mut tx, &key).await?;
            if let Some(a) = &a {
                let summary = format!("Zabbix 更新（{who}）：{msg}");
                let k = format!(
                    "{key}:update:{}",
                    crate::store::audit::hex(&sha2::Sha256::digest(summary.as_bytes()))
                );
                st.store
                    .add_alert_event(&mut tx, a.id, st.clock.now_ms(), "note", &summary, Some(&k))
                    .await?;
            }
            tx.commit().await?;
            (a, Outcome::Refired)
        }
        _ => {
            let priority =
                priority_or_lowest(SeverityScheme::Zabbix, s("event_nseverity").as_deref());
            let mut desc = s("alert_message").unwrap_or_default();
            if let Some(ip) = s("host_ip") {
                desc.push_str(&format!("\n主机地址：{ip}"));
            }
            if let Some(v) = s("item_lastvalue") {
                desc.push_str(&format!("\n最新值：{v}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "zabbix".into(),
                integration_id: Some(src.id),
                system_id: src.system_id,
                priority: priority.into(),
                title,
                description: Some(desc.trim().to_string()),
                labels: Some(
                    json!({"event_id": event_id, "trigger_id": s("trigger_id"), "host": host}),
                ),
                event_key: Some(format!("{key}:problem")),
                ..Default::default()
            };
            let (a, o) = alerts::fire(&st.ctx, &f).await?;
            (Some(a), o)
        }
    };
    let ticket = match alert.as_ref().and_then(|a| a.ticket_id) {
        Some(t) => st.store.ticket(t).await.optional()?,
        None => None,
    };
    let mut tags = Map::new();
    if let Some(t) = &ticket {
        tags.insert("__yunwei_ticket".into(), json!(t.number));
        tags.insert("__yunwei_ticket_id".into(), json!(t.id.to_string()));
    }
    Ok(Json(
        json!({"outcome": outcome_str(&outcome), "alert_id": alert.as_ref().map(|a| a.id),
                   "ticket_id": ticket.as_ref().map(|t| t.id), "ticket_number": ticket.as_ref().map(|t| t.number.clone()),
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
    let obj = parse_body(body)?;
    for k in obj.keys() {
        if ![
            "routing_key",
            "event_action",
            "dedup_key",
            "payload",
            "client",
            "client_url",
            "links",
            "images",
        ]
        .contains(&k.as_str())
        {
            return Err(AppError::invalid(
                k,
                format!("未知字段“{k}”（PagerDuty Events v2 格式）"),
            ));
        }
    }
    crate::monitor::intake::check_event(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    let action = obj
        .get("event_action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let empty = Map::new();
    let payload = obj
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let dedup = match obj
        .get("dedup_key")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(d) if d.chars().count() <= 255 => d.to_string(),
        Some(_) => {
            return Err(AppError::invalid(
                "dedup_key",
                "dedup_key 不能超过 255 个字符",
            ));
        }
        None if action == "trigger" => {
            let basis = format!(
                "{}|{}",
                label_str(payload, "summary").unwrap_or_default(),
                label_str(payload, "source").unwrap_or_default()
            );
            crate::store::audit::hex(&sha2::Sha256::digest(basis.as_bytes()))[..32].to_string()
        }
        None => {
            return Err(AppError::invalid(
                "dedup_key",
                "acknowledge 和 resolve 需要 dedup_key",
            ));
        }
    };
    let key = format!("ev:{}:{dedup}", src.id);
    match action {
        "trigger" => {
            let mut errs = Vec::new();
            let summary = label_str(payload, "summary");
            if summary.is_none() {
                errs.push(FieldError::new(
                    "payload.summary",
                    "请填写 payload.summary（告警摘要）",
                ));
            }
            let source = label_str(payload, "source");
            if source.is_none() {
                errs.push(FieldError::new(
                    "payload.source",
                    "请填写 payload.source（告警对象，如主机名）",
                ));
            }
            let priority = match label_str(payload, "severity")
                .and_then(|s| listed_priority(SeverityScheme::PagerDuty, s))
            {
                Some(p) => p,
                None => {
                    errs.push(FieldError::new(
                        "payload.severity",
                        "payload.severity 应为 critical、error、warning 或 info",
                    ));
                    "P4"
                }
            };
            if !errs.is_empty() {
                return Err(AppError::Validation(errs));
            }
            let summary = summary
                .unwrap_or_default()
                .chars()
                .take(1024)
                .collect::<String>();
            let mut desc = format!("对象：{}", source.unwrap_or_default());
            for k in ["component", "group", "class"] {
                if let Some(v) = label_str(payload, k) {
                    desc.push_str(&format!("\n{k}：{v}"));
                }
            }
            if let Some(d) = payload.get("custom_details") {
                desc.push_str(&format!("\n详情：{d}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "events".into(),
                integration_id: Some(src.id),
                system_id: payload
                    .get("custom_details")
                    .and_then(Value::as_object)
                    .and_then(system_from_labels)
                    .or(src.system_id),
                priority: priority.into(),
                title: summary,
                description: Some(desc),
                labels: Some(Value::Object(payload.clone())),
                event_key: None,
                ..Default::default()
            };
            alerts::fire(&st.ctx, &f).await?;
        }
        "acknowledge" => {
            let mut tx = st.store.write_tx().await?;
            let a = st.store.alert_by_key_tx(&mut tx, &key).await?;
            tx.commit().await?;
            match a {
                Some(a) if a.status == "firing" => {
                    alerts::acknowledge(
                        &st.ctx,
                        &crate::accounts::AuthUser::system(&format!("integration:{}", src.name)),
                        a.id,
                    )
                    .await?;
                }
                Some(_) => {}
                None => return Err(AppError::NotFound),
            }
        }
        "resolve" => {
            alerts::resolve(&st.ctx, &key, &format!("{} 报告恢复", src.name), None).await?;
        }
        _ => {
            return Err(AppError::invalid(
                "event_action",
                "event_action 应为 trigger、acknowledge 或 resolve",
            ));
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
    )
        .into_response())
}

/// The answer to a heartbeat.
#[derive(utoipa::ToSchema)]
pub struct BeatAnswer {
    pub ok: bool,
    pub monitor_id: i64,
    pub state: String,
}

// ---- heartbeats --------------------------------------------------------------------------

async fn beat(
    st: &AppState,
    token: &str,
    kind: &str,
    q: &HashMap<String, String>,
    body: &Bytes,
) -> AppResult<Json<Value>> {
    let mut duration_ms = None;
    let mut size = None;
    let num = |s: &str, k: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| AppError::invalid(k, format!("{k} 应为非负数")))
    };
    if let Some(s) = q.get("duration_ms") {
        duration_ms = Some(num(s, "duration_ms")?);
    }
    if let Some(s) = q.get("duration_s") {
        duration_ms = Some(num(s, "duration_s")? * 1000.0);
    }
    if let Some(s) = q.get("size_bytes") {
        size = Some(num(s, "size_bytes")? as i64);
    }
    if !body.is_empty()
        && let Ok(m) = crate::monitor::intake::parse_object(body)
    {
        if let Some(d) = m.get("duration_s").and_then(Value::as_f64) {
            duration_ms = Some(d * 1000.0);
        }
        if let Some(d) = m.get("duration_ms").and_then(Value::as_f64) {
            duration_ms = Some(d);
        }
        if let Some(s) = m.get("size_bytes").and_then(Value::as_i64) {
            size = Some(s);
        }
    }
    let m = crate::monitor::heartbeat(&st.ctx, token, kind, duration_ms, size).await?;
    Ok(Json(
        json!({"ok": true, "monitor_id": m.id, "state": m.state}),
    ))
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
    beat(&st, &token, "ping", &q, &body).await
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
    match action.as_str() {
        "start" | "fail" => beat(&st, &token, &action, &q, &body).await,
        _ => Err(AppError::NotFound),
    }
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
    let now = st.clock.now_ms();
    let from = if q.contains_key("from") {
        rfc_param(&q, "from")?
    } else {
        now - 7 * 86_400_000
    };
    let to = if q.contains_key("to") {
        rfc_param(&q, "to")?
    } else {
        now + 31 * 86_400_000
    };
    let rows = st.store.shifts(from, to).await?;
    let on_call = st.store.on_call(now).await?;
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
    if !u.role.can(Perm::ManageIntegrations) {
        return Err(AppError::forbidden());
    }
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !["user_id", "starts_at", "ends_at", "role", "note"].contains(&k.as_str()) {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let user_id = obj
        .get("user_id")
        .and_then(Value::as_i64)
        .filter(|n| *n > 0);
    match user_id {
        Some(uid)
            if st
                .store
                .user_exists_with_role(uid, &["engineer", "operator", "manager"])
                .await? => {}
        _ => errs.push(FieldError::new(
            "user_id",
            "值班人员须为在用的工程师、运营人员或项目经理账号",
        )),
    }
    let time = |k: &str, errs: &mut Vec<FieldError>| match obj
        .get(k)
        .and_then(Value::as_str)
        .map(DateTime::parse_from_rfc3339)
    {
        Some(Ok(t)) => Some(t.timestamp_millis()),
        _ => {
            errs.push(FieldError::new(k, format!("{k} 应为 RFC 3339 时间")));
            None
        }
    };
    let (s, e) = (time("starts_at", &mut errs), time("ends_at", &mut errs));
    if let (Some(s), Some(e)) = (s, e)
        && (e <= s || e - s > 31 * 86_400_000)
    {
        errs.push(FieldError::new(
            "ends_at",
            "结束应晚于开始，且一个班次不超过 31 天",
        ));
    }
    let role = obj
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("primary")
        .to_string();
    if !["primary", "backup"].contains(&role.as_str()) {
        errs.push(FieldError::new(
            "role",
            "role 应为 primary（主班）或 backup（备班）",
        ));
    }
    let note = obj
        .get("note")
        .and_then(Value::as_str)
        .map(|n| n.chars().take(200).collect::<String>());
    let (Some(uid), Some(s), Some(e)) = (user_id, s, e) else {
        return Err(AppError::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    let id = st
        .store
        .insert_shift(&mut tx, uid, s, e, &role, note, now)
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "create",
            "duty-shifts",
            id,
            format!(
                "排班：用户 #{uid} {} 至 {}",
                crate::clock::local_minutes(s),
                crate::clock::local_minutes(e)
            ),
        )
        .after(Value::Object(obj.clone())),
    )
    .await?;
    tx.commit().await?;
    let row = st
        .store
        .shifts(s, e)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)?;
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
    if !u.role.can(Perm::ManageIntegrations) {
        return Err(AppError::forbidden());
    }
    let id = parse_id(&id)?;
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    st.store.delete_shift(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of("delete", "duty-shifts", id, format!("删除排班 #{id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
