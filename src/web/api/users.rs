//! Accounts, managed by the admin.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{Paging, list_json};
use crate::accounts::{self, input::UserCreate, input::UserUpdate};
use crate::error::AppResult;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{ApiJson, Input, parse_id};

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    summary = "账号列表（系统管理员）",
    params(super::openapi::SearchQuery, ("role" = Option<String>, Query, description = "按角色筛选")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    user: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let (rows, total) = accounts::list_users(
        &st,
        &user.0,
        q.get("q").map(String::as_str),
        q.get("role").map(String::as_str),
        p.limit,
        p.offset,
    )
    .await?;
    let now = st.clock.now_ms();
    Ok(Json(list_json(&rows, total, |r| r.to_json(now))))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    summary = "账号详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = accounts::user(&st, &user.0, parse_id(&id)?).await?;
    Ok(Json(row.to_json(st.clock.now_ms())))
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    summary = "新建账号",
    request_body = crate::accounts::input::UserCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create(
    State(st): State<AppState>,
    user: ApiUser,
    Input(input): Input<UserCreate>,
) -> AppResult<Response> {
    let row = accounts::create_user(&st, &user.0, input).await?;
    Ok((StatusCode::CREATED, Json(row.to_json(st.clock.now_ms()))).into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    summary = "修改账号（姓名、角色、停用、解锁）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::accounts::input::UserUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    Input(input): Input<UserUpdate>,
) -> AppResult<Json<Value>> {
    let row = accounts::update_user(&st, &user.0, parse_id(&id)?, input).await?;
    Ok(Json(row.to_json(st.clock.now_ms())))
}

#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    summary = "删除账号",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn remove(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    accounts::delete_user(&st, &user.0, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub new_password: String,
}

#[utoipa::path(
    post,
    path = "/users/{id}/reset-password",
    tag = "users",
    summary = "重置密码（下次登录须修改）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = ResetBody,
    responses((status = 204, description = "完成"))
)]
pub async fn reset_password(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResetBody>,
) -> AppResult<StatusCode> {
    accounts::reset_password(&st, &user.0, parse_id(&id)?, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
