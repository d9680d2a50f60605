//! The wall display's data, display links, and a system's 360° overview (issue 15). Thin
//! handlers over `crate::monitor::{screen, display, overview}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::openapi::{CannotView, Invalid, NotFound};
use super::{Paging, list_json};
use crate::error::AppResult;
use crate::monitor::display::{self, DisplayLinkCreate, link_json};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(get, path = "/display-links", tag = "monitoring",
    summary = "大屏展示链接（仅系统管理员；已撤销的也列出）",
    params(super::openapi::PagingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page),
        (status = 403, description = "仅系统管理员", body = super::openapi::ErrorBody)))]
pub async fn list_display_links(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let (rows, total) = display::list(&st.ctx, &u, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, link_json)))
}

#[utoipa::path(post, path = "/display-links", tag = "monitoring",
    summary = "新建大屏展示链接（免登录、只读；url 中的令牌只显示这一次）",
    request_body = DisplayLinkCreate,
    responses((status = 201, description = "已创建：id、url 等", body = super::openapi::Record),
        (status = 403, description = "仅系统管理员", body = super::openapi::ErrorBody), Invalid))]
pub async fn create_display_link(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(c): Input<DisplayLinkCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (row, url) = display::create(&st.ctx, &u, c).await?;
    let mut v = link_json(&row);
    v["url"] = Value::String(url);
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(delete, path = "/display-links/{id}", tag = "monitoring",
    summary = "撤销大屏展示链接（页面与数据立即失效）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已撤销"),
        (status = 403, description = "仅系统管理员", body = super::openapi::ErrorBody),
        (status = 404, description = "不存在或已撤销", body = super::openapi::ErrorBody)))]
pub async fn revoke_display_link(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    display::revoke(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The figures never stay in a cache: a wall display shows now.
fn fresh(v: Value) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response()
}

#[utoipa::path(get, path = "/display/{token}", tag = "monitoring",
    summary = "大屏数据（凭展示链接的令牌，免登录、只读，不建会话）",
    params(("token" = String, Path, description = "展示链接中的令牌")),
    responses((status = 200, description = "大屏数据", body = super::openapi::Record),
        (status = 401, description = "链接无效或已撤销", body = super::openapi::ErrorBody)))]
pub async fn display_screen(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    Ok(fresh(
        crate::monitor::screen::wall_for_link(&st.ctx, &token).await?,
    ))
}

#[utoipa::path(get, path = "/screen", tag = "monitoring",
    summary = "大屏数据：系统与机房状态、可用率、未结故障、SLA 达标率、告警、值班",
    responses((status = 200, description = "大屏数据", body = super::openapi::Record), CannotView))]
pub async fn screen_data(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Response> {
    Ok(fresh(crate::monitor::screen::wall_for(&st.ctx, &u).await?))
}

#[utoipa::path(get, path = "/systems/{id}/overview", tag = "inventory",
    summary = "系统 360° 概览：合同要点、监控与可用率、工单、设备、巡检、备份、需求与交付物",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "概览", body = super::openapi::Record), CannotView, NotFound))]
pub async fn system_overview(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(
        crate::monitor::overview::system_overview(&st.ctx, &u, parse_id(&id)?).await?,
    ))
}
