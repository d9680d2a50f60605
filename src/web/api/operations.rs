//! Operations services (运营服务): the service lines, their work records and indicators.
//! Thin handlers: each extracts, calls one `crate::ops` use case and shapes the answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::{Invalid, NotFound};
use super::{Paging, list_json};
use crate::desk::{opt_id, opt_range};
use crate::domain::operations::{RecordCreate, RecordPatch, RecordType};
use crate::error::{AppError, AppResult};
use crate::ops::{self, LinePatch};
use crate::store::operations::RecordFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(get, path = "/service-lines", tag = "operations", summary = "运营服务条线",
    params(super::openapi::PagingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn list_lines(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let rows = ops::lines(&st.ctx, &u).await?;
    let total = rows.len() as i64;
    let page: Vec<_> = rows
        .into_iter()
        .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(p.limit).unwrap_or(0))
        .collect();
    Ok(Json(list_json(&page, total, ops::line_json)))
}

#[utoipa::path(post, path = "/service-lines", tag = "operations", summary = "新增运营服务条线",
    request_body = LinePatch,
    responses((status = 201, description = "已创建", body = super::openapi::Record), Invalid))]
pub async fn create_line(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(p): Input<LinePatch>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = ops::create_line(&st.ctx, &u, p).await?;
    Ok((StatusCode::CREATED, Json(ops::line_json(&row))))
}

#[utoipa::path(get, path = "/service-lines/{id}", tag = "operations", summary = "运营服务条线",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "条线", body = super::openapi::Record), NotFound))]
pub async fn get_line(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = ops::line(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(ops::line_json(&row)))
}

#[utoipa::path(patch, path = "/service-lines/{id}", tag = "operations",
    summary = "修改运营服务条线（服务的系统、记录类型、运营人员等）",
    params(("id" = i64, Path, description = "编号")), request_body = LinePatch,
    responses((status = 200, description = "条线", body = super::openapi::Record), NotFound, Invalid))]
pub async fn update_line(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<LinePatch>,
) -> AppResult<Json<Value>> {
    let row = ops::update_line(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(ops::line_json(&row)))
}

#[utoipa::path(get, path = "/service-lines/{id}/stats", tag = "operations",
    summary = "条线指标：记录量、解决率、按时处理率、平均处理时长、满意度、热点问题",
    params(("id" = i64, Path, description = "编号"),
        ("from" = String, Query, description = "开始（日期或时间）"),
        ("to" = String, Query, description = "结束（日期含当天）")),
    responses((status = 200, description = "指标", body = super::openapi::Record), NotFound, Invalid))]
pub async fn line_stats(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let (from, to) = opt_range(&q)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::invalid("from", "请给出统计区间 from 和 to"));
    };
    let t = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let s = ops::indicators(&st.ctx, &u, id, t(from), t(to)).await?;
    Ok(Json(serde_json::to_value(&s).map_err(anyhow::Error::from)?))
}

#[utoipa::path(get, path = "/service-lines/{id}/requesters", tag = "operations",
    summary = "条线最近服务过的对象（录入时可选）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn recent_requesters(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let items = ops::recent_requesters(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

/// The list's filters from the query string.
fn record_filter(q: &HashMap<String, String>) -> AppResult<RecordFilter> {
    let (from_ms, to_ms) = opt_range(q)?;
    let kind = match q.get("type").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(
            RecordType::parse(t)
                .ok_or_else(|| AppError::invalid("type", format!("没有记录类型 {t}")))?
                .as_str()
                .to_string(),
        ),
    };
    let search = q
        .get("q")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(100).collect());
    Ok(RecordFilter {
        line_id: opt_id(q, "line_id")?,
        kind,
        operator_id: opt_id(q, "operator_id")?,
        from_ms,
        to_ms,
        q: search,
        lines: None,
        confirmed_by: None,
    })
}

#[utoipa::path(get, path = "/work-records", tag = "operations",
    summary = "运营工作记录（筛选：line_id、type、operator_id、from、to、q）",
    params(super::openapi::PagingQuery,
        ("line_id" = Option<i64>, Query, description = "服务条线"),
        ("type" = Option<String>, Query, description = "记录类型"),
        ("operator_id" = Option<i64>, Query, description = "记录人"),
        ("from" = Option<String>, Query, description = "开始"),
        ("to" = Option<String>, Query, description = "结束（日期含当天）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), Invalid))]
pub async fn list_records(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let f = record_filter(&q)?;
    let (rows, total) = ops::records(&st.ctx, &u, f, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, ops::record_json)))
}

#[utoipa::path(post, path = "/work-records", tag = "operations", summary = "新增运营工作记录",
    request_body = RecordCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record),
        (status = 403, description = "无权记录该条线", body = super::openapi::ErrorBody), Invalid))]
pub async fn create_record(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(r): Input<RecordCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = ops::create_record(&st.ctx, &u, r).await?;
    Ok((StatusCode::CREATED, Json(ops::record_json(&row))))
}

#[utoipa::path(get, path = "/work-records/{id}", tag = "operations", summary = "运营工作记录",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "记录", body = super::openapi::Record), NotFound))]
pub async fn get_record(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = ops::record(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(ops::record_json(&row)))
}

#[utoipa::path(patch, path = "/work-records/{id}", tag = "operations", summary = "修改运营工作记录",
    params(("id" = i64, Path, description = "编号")), request_body = RecordPatch,
    responses((status = 200, description = "记录", body = super::openapi::Record), NotFound, Invalid))]
pub async fn update_record(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<RecordPatch>,
) -> AppResult<Json<Value>> {
    let row = ops::update_record(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(ops::record_json(&row)))
}

#[utoipa::path(delete, path = "/work-records/{id}", tag = "operations", summary = "删除运营工作记录",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"), NotFound))]
pub async fn delete_record(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    ops::delete_record(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/work-records/{id}/confirmation", tag = "operations",
    summary = "生成服务对象确认链接（无需账号，一次有效，7 天内）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 201, description = "{path, token, expires_at}：把 path 发给服务对象", body = super::openapi::Record),
        NotFound,
        (status = 409, description = "已确认", body = super::openapi::ErrorBody)))]
pub async fn confirmation_link(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (token, expires) = ops::confirmation_link(&st.ctx, &u, parse_id(&id)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"path": format!("/confirm/{token}"), "token": token,
                    "expires_at": crate::clock::rfc3339(expires)})),
    ))
}

#[utoipa::path(post, path = "/work-records/import", tag = "operations",
    summary = "导入运营工作记录（CSV 或 XLSX，line_id 指定条线；有错误行则全部不导入）",
    params(("line_id" = i64, Query, description = "服务条线")),
    request_body(content((super::inventory::FileUpload = "multipart/form-data"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "{imported, ignored_columns}", body = super::openapi::Record),
        (status = 422, description = "有错误行：逐行逐列列出，未导入", body = super::openapi::ErrorBody)))]
pub async fn import_records(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> AppResult<Json<Value>> {
    let Some(line_id) = opt_id(&q, "line_id")? else {
        return Err(AppError::invalid(
            "line_id",
            "请用 line_id 指定导入到哪个服务条线",
        ));
    };
    let (name, data) = super::read_import(req, &st).await?;
    Ok(Json(
        ops::import_records(&st.ctx, &u, line_id, &name, &data).await?,
    ))
}
