//! Generated documents: `POST /reports`, the list, one report and its file.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::Paging;
use super::openapi::{Invalid, NotFound};
use crate::error::AppResult;
use crate::report::{self, ReportRequest};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(post, path = "/reports", tag = "reports", summary = "生成报告（DOCX 或 XLSX）",
    request_body = ReportRequest,
    responses((status = 201, description = "已生成：{id, status, file_url, …}", body = super::openapi::Record),
        Invalid))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(req): Input<ReportRequest>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let r = report::generate(&st.ctx, &u, &req).await?;
    Ok((StatusCode::CREATED, Json(report::report_json(&r))))
}

#[utoipa::path(get, path = "/reports", tag = "reports", summary = "已生成的报告",
    params(super::openapi::PagingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let (rows, total) = report::list(&st.ctx, &u, p.limit, p.offset).await?;
    let items: Vec<Value> = rows.iter().map(report::report_json).collect();
    Ok(Json(json!({"total": total, "items": items})))
}

#[utoipa::path(get, path = "/reports/{id}", tag = "reports", summary = "报告",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "报告", body = super::openapi::Record), NotFound))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let r = report::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(report::report_json(&r)))
}

#[utoipa::path(get, path = "/reports/{id}/file", tag = "reports", summary = "下载报告文件",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "文件", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        NotFound))]
pub async fn file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (name, ct, bytes) = report::file(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(crate::web::download::file(
        HeaderValue::from_static(ct),
        &name,
        bytes,
    ))
}

#[utoipa::path(get, path = "/report-texts", tag = "reports", summary = "报告中可编辑的文字段落（模板）",
    responses((status = 200, description = "列表：{key, label, documents, text, default, customized, variables}", body = super::openapi::Page)))]
pub async fn texts(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    let items = report::texts::list(&st.ctx, &u).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[utoipa::path(get, path = "/report-texts/{key}", tag = "reports", summary = "一个文字段落",
    params(("key" = String, Path, description = "段落，如 inspection.overview")),
    responses((status = 200, description = "段落", body = super::openapi::Record), NotFound))]
pub async fn text(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
) -> AppResult<Json<Value>> {
    let b = report::texts::get(&st.ctx, &u, &key).await?;
    Ok(Json(json!(b)))
}

#[utoipa::path(patch, path = "/report-texts/{key}", tag = "reports",
    summary = "修改文字段落（minijinja 模板，只能使用列出的变量）；text 为 null 恢复默认",
    params(("key" = String, Path, description = "段落，如 inspection.overview")),
    request_body = report::texts::TextUpdate,
    responses((status = 200, description = "修改后的段落", body = super::openapi::Record),
        NotFound,
        (status = 422, description = "模板有误", body = super::openapi::ErrorBody)))]
pub async fn update_text(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
    Input(input): Input<report::texts::TextUpdate>,
) -> AppResult<Json<Value>> {
    let b = report::texts::update(&st.ctx, &u, &key, input).await?;
    Ok(Json(json!(b)))
}
