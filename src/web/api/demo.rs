//! The demo data: its status, and its removal by the admin before going live.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::Value;

use super::openapi::CannotView;
use crate::demo::remove;
use crate::error::AppResult;
use crate::web::AppState;
use crate::web::auth::ApiUser;

#[utoipa::path(
    get,
    path = "/demo",
    tag = "demo",
    summary = "演示数据状态（管理员、项目经理、甲方）",
    responses(
        (status = 200, description = "loaded：是否含演示数据；generated_at、summary：生成时间与摘要；counts：各表的演示记录数", body = super::openapi::Record),
        CannotView
    )
)]
pub async fn status(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    let s = remove::status(&st.ctx, &u).await?;
    Ok(Json(serde_json::to_value(s).map_err(anyhow::Error::from)?))
}

#[utoipa::path(
    delete,
    path = "/demo",
    tag = "demo",
    summary = "删除全部演示数据（仅系统管理员；请求体 {\"confirm\": \"删除演示数据\"}）",
    request_body(content = super::openapi::Record, description = "{\"confirm\": \"删除演示数据\"}"),
    responses(
        (status = 200, description = "removed：各表删除（或清除引用）的行数；marked：删除前各表的演示记录数", body = super::openapi::Record),
        (status = 400, description = "未确认", body = super::openapi::ErrorBody),
        (status = 403, description = "不是系统管理员", body = super::openapi::ErrorBody),
        (status = 409, description = "没有演示数据，或仍有真实的未完成工作由演示人员负责", body = super::openapi::ErrorBody)
    )
)]
pub async fn remove(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    body: Bytes,
) -> AppResult<Json<Value>> {
    // Any body is read leniently: what is not `{"confirm": "删除演示数据"}` is refused by
    // the service as unconfirmed, after the permission check.
    let v: Option<Value> = serde_json::from_slice(&body).ok();
    let confirm = v
        .as_ref()
        .and_then(|v| v.get("confirm"))
        .and_then(Value::as_str);
    let r = remove::remove(&st.ctx, &u, confirm).await?;
    Ok(Json(serde_json::to_value(r).map_err(anyhow::Error::from)?))
}
