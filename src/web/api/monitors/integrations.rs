//! Alert intake sources: list, create (answers the token once), delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::web::api::all_json;

use crate::domain::roles::Perm;
use crate::error::AppResult;
use crate::monitor::input::IntegrationInput;
use crate::monitor::integrations;
use crate::store::monitor::IntegrationRow;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(
    get,
    path = "/integrations",
    tag = "monitoring",
    summary = "告警接入源",
    responses((status = 200, description = "列表", body = crate::web::api::openapi::Page))
)]
pub async fn list_integrations(State(st): State<AppState>, u: ApiUser) -> AppResult<Json<Value>> {
    u.require(Perm::ManageIntegrations)?;
    let rows = st.store.integrations().await?;
    Ok(Json(all_json(&rows, IntegrationRow::to_json)))
}

#[utoipa::path(
    post,
    path = "/integrations",
    tag = "monitoring",
    summary = "新建接入源，返回令牌（只显示一次）",
    request_body = crate::monitor::input::IntegrationInput,
    responses((status = 201, description = "已创建", body = crate::web::api::openapi::Record))
)]
pub async fn create_integration(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<IntegrationInput>,
) -> AppResult<Response> {
    let (i, token) = integrations::add_integration(&st.ctx, &u, input).await?;
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
