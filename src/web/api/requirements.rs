//! Requirements and improvements (需求和功能改进清单). Thin handlers: each extracts, calls
//! one `crate::requirements` use case and shapes the answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::openapi::{CannotEdit, Invalid, NotFound};
use super::{Paging, list_json};
use crate::desk::{choices, given, opt_choice, opt_id, opt_range};
use crate::domain::requirements::{
    RequirementCreate, RequirementPatch, SOURCES, STATUSES, Source, Status, Transition,
};
use crate::error::AppResult;
use crate::requirements as reqs;
use crate::store::requirements::RequirementFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

/// The list's filters from the query string (the page's filters too).
pub fn filter(q: &HashMap<String, String>) -> AppResult<RequirementFilter> {
    let (from_ms, to_ms) = opt_range(q)?;
    let status = opt_choice(
        q,
        "status",
        |s| Status::parse(s).map(Status::as_str),
        "状态",
        &choices(STATUSES.map(Status::as_str)),
    )?;
    let source = opt_choice(
        q,
        "source",
        |s| Source::parse(s).map(Source::as_str),
        "来源",
        &choices(SOURCES.map(Source::as_str)),
    )?;
    Ok(RequirementFilter {
        status,
        system_id: opt_id(q, "system_id")?,
        line_id: opt_id(q, "line_id")?,
        source,
        q: given(q, "q").map(|s| s.chars().take(100).collect()),
        from_ms,
        to_ms,
        created_by: None,
    })
}

#[utoipa::path(get, path = "/requirements", tag = "operations",
    summary = "需求和功能改进（筛选：status、system_id、line_id、source、q、from、to）",
    params(super::openapi::PagingQuery,
        ("status" = Option<String>, Query, description = "状态"),
        ("system_id" = Option<i64>, Query, description = "系统"),
        ("line_id" = Option<i64>, Query, description = "服务条线"),
        ("source" = Option<String>, Query, description = "来源"),
        ("q" = Option<String>, Query, description = "关键词"),
        ("from" = Option<String>, Query, description = "提出时间起"),
        ("to" = Option<String>, Query, description = "提出时间止（日期含当天）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), Invalid))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let f = filter(&q)?;
    let (rows, total) = reqs::list(&st.ctx, &u, f, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, reqs::requirement_json)))
}

#[utoipa::path(post, path = "/requirements", tag = "operations", summary = "提出需求或改进",
    request_body = RequirementCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record),
        (status = 403, description = "无权提出", body = super::openapi::ErrorBody), Invalid))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(r): Input<RequirementCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = reqs::create(&st.ctx, &u, r).await?;
    Ok((StatusCode::CREATED, Json(reqs::requirement_json(&row))))
}

#[utoipa::path(get, path = "/requirements/{id}", tag = "operations", summary = "需求（含状态历史）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "需求", body = super::openapi::Record), NotFound))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = reqs::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(reqs::requirement_json(&row)))
}

#[utoipa::path(patch, path = "/requirements/{id}", tag = "operations", summary = "修改需求",
    params(("id" = i64, Path, description = "编号")), request_body = RequirementPatch,
    responses((status = 200, description = "需求", body = super::openapi::Record),
        CannotEdit, NotFound, Invalid))]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<RequirementPatch>,
) -> AppResult<Json<Value>> {
    let row = reqs::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(reqs::requirement_json(&row)))
}

#[utoipa::path(post, path = "/requirements/{id}/transition", tag = "operations",
    summary = "变更需求状态（驳回与退回须填写原因）",
    params(("id" = i64, Path, description = "编号")), request_body = Transition,
    responses((status = 200, description = "需求", body = super::openapi::Record),
        (status = 403, description = "无权变更为该状态", body = super::openapi::ErrorBody), NotFound, Invalid))]
pub async fn transition(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(t): Input<Transition>,
) -> AppResult<Json<Value>> {
    let row = reqs::transition(&st.ctx, &u, parse_id(&id)?, t).await?;
    Ok(Json(reqs::requirement_json(&row)))
}
