//! Monitoring's HTTP layer: monitors, their results and availability, and maintenance
//! windows here; alerts, intake sources, intake with heartbeats, and the duty roster in
//! the submodules. Handlers extract, call one `crate::monitor` function and shape the
//! answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use serde_json::{Value, json};

use super::{Paging, all_json, list_json};
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::monitor::input::{MaintenanceInput, MonitorCreate, MonitorUpdate};
use crate::store::monitor::MonitorFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

pub mod alerts;
pub mod duty;
pub mod intake;
pub mod integrations;

pub(super) fn rfc_param(q: &HashMap<String, String>, k: &str) -> AppResult<i64> {
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
    crate::monitor::check_period(from, to)?;
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
    let (rows, total) = crate::monitor::list(&st.ctx, &f, p.limit, p.offset).await?;
    let mut v = list_json(&rows, total, |m| m.to_json());
    v["limit"] = json!(p.limit);
    v["offset"] = json!(p.offset);
    Ok(Json(v))
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
    Input(input): Input<MonitorCreate>,
) -> AppResult<Response> {
    let m = crate::monitor::create(&st.ctx, &u, &input).await?;
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
    Input(patch): Input<MonitorUpdate>,
) -> AppResult<Json<Value>> {
    let m = crate::monitor::update(&st.ctx, &u, parse_id(&id)?, &patch).await?;
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
    Ok(Json(all_json(&rows, |r| r.to_json())))
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
    let mons = [(m.id, m.created_at)];
    let of = [("monitor_id", json!(m.id))];
    availability_json(&st, &q, &mons, &of, (from, to)).await
}

/// The availability of `mons` over the period as answered: the totals, what it is of
/// (`of`), the period and, with `days=true`, each day.
async fn availability_json(
    st: &AppState,
    q: &HashMap<String, String>,
    mons: &[(i64, i64)],
    of: &[(&str, Value)],
    (from, to): (i64, i64),
) -> AppResult<Json<Value>> {
    let t = crate::monitor::availability(&st.ctx, mons, from, to).await?;
    let mut v = t.to_json();
    for (k, x) in of {
        v[*k] = x.clone();
    }
    v["from"] = json!(crate::clock::rfc3339(from));
    v["to"] = json!(crate::clock::rfc3339(to));
    if q.get("days").map(String::as_str) == Some("true") {
        v["days"] = json!(crate::monitor::daily(&st.ctx, mons, from, to).await?);
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
    let of = [
        ("system_id", json!(sid)),
        (
            "monitors",
            json!(mons.iter().map(|(i, _)| *i).collect::<Vec<_>>()),
        ),
    ];
    availability_json(&st, &q, &mons, &of, (from, to)).await
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
    Ok(Json(all_json(&rows, |r| r.to_json())))
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
    Input(input): Input<MaintenanceInput>,
) -> AppResult<Response> {
    let w = crate::monitor::add_maintenance(&st.ctx, &u, input).await?;
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
