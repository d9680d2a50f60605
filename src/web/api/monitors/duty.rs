//! The duty roster: shifts and who is on call now.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::rfc_param;
use crate::domain::roles::Perm;
use crate::error::AppResult;
use crate::monitor::duty;
use crate::monitor::input::ShiftInput;
use crate::web::AppState;
use crate::web::api::all_json;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(
    get,
    path = "/duty-shifts",
    tag = "monitoring",
    summary = "值班表与当前值班人员",
    params(("from" = Option<String>, Query, description = "RFC 3339，默认 7 天前"), ("to" = Option<String>, Query, description = "RFC 3339，默认 31 天后")),
    responses((status = 200, description = "排班；on_call_now 为当前值班人员", body = crate::web::api::openapi::Page))
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
    let mut v = all_json(&rows, |r| r.to_json());
    v["on_call_now"] = json!(on_call);
    Ok(Json(v))
}

#[utoipa::path(
    post,
    path = "/duty-shifts",
    tag = "monitoring",
    summary = "新增排班",
    request_body = crate::monitor::input::ShiftInput,
    responses((status = 201, description = "已创建", body = crate::web::api::openapi::Record))
)]
pub async fn create_shift(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<ShiftInput>,
) -> AppResult<Response> {
    let row = duty::add_shift(&st.ctx, &u, input).await?;
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
