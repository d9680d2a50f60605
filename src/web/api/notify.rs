//! Notification channels, rules and the outbox, managed by the admin and the manager
//! (`notify::manage`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Paging, all_json, list_json};
use crate::error::AppResult;
use crate::notify::input::{ChannelCreate, ChannelUpdate, RuleCreate};
use crate::notify::manage;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(
    get,
    path = "/notification-channels",
    tag = "notify",
    summary = "通知通道（密钥不回显）",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_channels(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<Value>> {
    let rows = manage::list_channels(&st, &u).await?;
    Ok(Json(all_json(&rows, |c| manage::shown(&st, c))))
}

#[utoipa::path(
    get,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "通知通道详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = manage::channel(&st, &u, parse_id(&id)?).await?;
    Ok(Json(manage::shown(&st, &row)))
}

#[utoipa::path(
    post,
    path = "/notification-channels",
    tag = "notify",
    summary = "新建通知通道",
    request_body = crate::notify::input::ChannelCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<ChannelCreate>,
) -> AppResult<Response> {
    let row = manage::create_channel(&st, &u, input).await?;
    Ok((StatusCode::CREATED, Json(manage::shown(&st, &row))).into_response())
}

#[utoipa::path(
    patch,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "修改通知通道",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::notify::input::ChannelUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<ChannelUpdate>,
) -> AppResult<Json<Value>> {
    let row = manage::update_channel(&st, &u, parse_id(&id)?, input).await?;
    Ok(Json(manage::shown(&st, &row)))
}

#[utoipa::path(
    delete,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "删除通知通道",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    manage::delete_channel(&st, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/notification-rules",
    tag = "notify",
    summary = "通知规则",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_rules(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    let rows = manage::list_rules(&st, &u).await?;
    Ok(Json(all_json(&rows, |r| r.to_json())))
}

#[utoipa::path(
    get,
    path = "/notification-rules/{id}",
    tag = "notify",
    summary = "通知规则详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(manage::rule(&st, &u, parse_id(&id)?).await?.to_json()))
}

#[utoipa::path(
    post,
    path = "/notification-rules",
    tag = "notify",
    summary = "新建通知规则",
    request_body = crate::notify::input::RuleCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<RuleCreate>,
) -> AppResult<Response> {
    let row = manage::create_rule(&st, &u, input).await?;
    Ok((StatusCode::CREATED, Json(row.to_json())).into_response())
}

#[utoipa::path(
    delete,
    path = "/notification-rules/{id}",
    tag = "notify",
    summary = "删除通知规则",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    manage::delete_rule(&st, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/notification-outbox",
    tag = "notify",
    summary = "待发与已发通知",
    params(super::openapi::PagingQuery, ("status" = Option<String>, Query, description = "按状态筛选")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn outbox(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    // Who may see the outbox is answered before the paging is checked.
    manage::check_manage(&u)?;
    let p = Paging::from_query(&q)?;
    let (rows, total) = manage::outbox(&st, &u, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, |r| r.to_json())))
}
