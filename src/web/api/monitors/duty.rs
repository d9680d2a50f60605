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
use crate::monitor::input::{CopyWeekInput, ShiftInput, SwapInput};
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

#[utoipa::path(
    post,
    path = "/duty-shifts/copy-week",
    tag = "monitoring",
    summary = "把一周的排班复制到之后的某一周",
    description = "复制在该周（北京时间周一至周日）开始的班次，默认复制到下一周；目标周已有的相同班次跳过。需项目经理或系统管理员。",
    request_body = crate::monitor::input::CopyWeekInput,
    responses((status = 201, description = "已复制", body = crate::monitor::duty::CopyWeekOutcome),
              (status = 422, description = "日期无效或该周没有排班"))
)]
pub async fn copy_week(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<CopyWeekInput>,
) -> AppResult<Response> {
    let out = duty::copy_week(&st.ctx, &u, input).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(
    post,
    path = "/duty-shifts/swap",
    tag = "monitoring",
    summary = "互换两个班次的值班人员",
    description = "两个班次须属于不同的人；互换后各自接对方的班。需项目经理或系统管理员。",
    request_body = crate::monitor::input::SwapInput,
    responses((status = 200, description = "互换后的两个班次", body = crate::web::api::openapi::Page),
              (status = 422, description = "班次不存在或属于同一人"))
)]
pub async fn swap_shifts(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<SwapInput>,
) -> AppResult<Json<Value>> {
    let rows = duty::swap_shifts(&st.ctx, &u, input).await?;
    Ok(Json(all_json(&rows, |r| r.to_json())))
}
