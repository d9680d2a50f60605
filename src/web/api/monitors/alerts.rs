//! Alerts: list, detail, acknowledge, silence.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::monitor::alerts;
use crate::monitor::input::SilenceInput;
use crate::store::Optional;
use crate::web::AppState;
use crate::web::api::{Paging, list_json};
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(
    get,
    path = "/alerts",
    tag = "monitoring",
    summary = "告警列表",
    params(crate::web::api::openapi::PagingQuery, ("status" = Option<String>, Query, description = "open、firing、acknowledged 或 resolved"), ("system_id" = Option<i64>, Query, description = "系统编号"), ("source" = Option<String>, Query, description = "来源")),
    responses((status = 200, description = "列表", body = crate::web::api::openapi::Page))
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
    let mut v = list_json(&rows, total, |a| a.to_json(now));
    v["limit"] = json!(p.limit);
    v["offset"] = json!(p.offset);
    Ok(Json(v))
}

#[utoipa::path(
    get,
    path = "/alerts/{id}",
    tag = "monitoring",
    summary = "告警详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = crate::web::api::openapi::Record))
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
    responses((status = 200, description = "成功", body = crate::web::api::openapi::Record))
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
    responses((status = 200, description = "成功", body = crate::web::api::openapi::Record))
)]
pub async fn silence_alert(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<SilenceInput>,
) -> AppResult<Json<Value>> {
    let a = alerts::silence(&st.ctx, &u, parse_id(&id)?, input.minutes, &input.reason).await?;
    Ok(Json(a.to_json(st.clock.now_ms())))
}
