//! Inspections (巡检): templates, plans, tasks, findings and the indicators. Thin handlers:
//! each extracts, calls one `crate::inspect` use case and shapes the answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Paging;
use super::openapi::{FileTooLarge, Invalid, NotFound};
use crate::desk::{opt_id, opt_range};
use crate::domain::inspection::template::Template;
use crate::error::{AppError, AppResult};
use crate::inspect::input::{PlanCreate, PlanPatch, ResultsInput, TaskActionInput, TemplatePatch};
use crate::inspect::{plans, tasks, templates};
use crate::store::inspect::TaskFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, multipart, parse_id, read_form, too_large};

// ---- templates ---------------------------------------------------------------------------

/// One page of a short list read whole: `{items, total}`.
fn page<T>(rows: &[T], p: Paging, f: impl Fn(&T) -> Value) -> Value {
    let items: Vec<Value> = rows
        .iter()
        .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(p.limit).unwrap_or(0))
        .map(f)
        .collect();
    json!({"total": rows.len(), "items": items})
}

#[utoipa::path(get, path = "/inspection-templates", tag = "inspections", summary = "巡检模板列表",
    params(super::openapi::PagingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn list_templates(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let rows = templates::list(&st.ctx, &u).await?;
    Ok(Json(page(&rows, p, templates::template_json)))
}

#[utoipa::path(post, path = "/inspection-templates", tag = "inspections", summary = "新建巡检模板",
    request_body = Template,
    responses((status = 201, description = "已创建", body = super::openapi::Record), Invalid))]
pub async fn create_template(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(t): Input<Template>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = templates::create(&st.ctx, &u, t).await?;
    Ok((StatusCode::CREATED, Json(templates::template_json(&row))))
}

#[utoipa::path(get, path = "/inspection-templates/{id}", tag = "inspections", summary = "巡检模板",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "模板", body = super::openapi::Record), NotFound))]
pub async fn get_template(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = templates::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(templates::template_json(&row)))
}

#[utoipa::path(patch, path = "/inspection-templates/{id}", tag = "inspections", summary = "修改巡检模板",
    params(("id" = i64, Path, description = "编号")), request_body = TemplatePatch,
    responses((status = 200, description = "模板", body = super::openapi::Record), Invalid))]
pub async fn update_template(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<TemplatePatch>,
) -> AppResult<Json<Value>> {
    let row = templates::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(templates::template_json(&row)))
}

#[utoipa::path(delete, path = "/inspection-templates/{id}", tag = "inspections", summary = "删除巡检模板（未被计划或任务使用时）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"),
        (status = 409, description = "已被使用", body = super::openapi::ErrorBody)))]
pub async fn delete_template(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    templates::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- plans -------------------------------------------------------------------------------

#[utoipa::path(get, path = "/inspection-plans", tag = "inspections", summary = "巡检计划列表",
    params(super::openapi::PagingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn list_plans(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let rows = plans::list(&st.ctx, &u).await?;
    Ok(Json(page(&rows, p, plans::plan_json)))
}

#[utoipa::path(post, path = "/inspection-plans", tag = "inspections", summary = "新建巡检计划",
    request_body = PlanCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record), Invalid))]
pub async fn create_plan(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(p): Input<PlanCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = plans::create(&st.ctx, &u, p).await?;
    Ok((StatusCode::CREATED, Json(plans::plan_json(&row))))
}

#[utoipa::path(get, path = "/inspection-plans/{id}", tag = "inspections", summary = "巡检计划",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "计划", body = super::openapi::Record), NotFound))]
pub async fn get_plan(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = plans::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(plans::plan_json(&row)))
}

#[utoipa::path(patch, path = "/inspection-plans/{id}", tag = "inspections", summary = "修改巡检计划",
    params(("id" = i64, Path, description = "编号")), request_body = PlanPatch,
    responses((status = 200, description = "计划", body = super::openapi::Record), Invalid))]
pub async fn update_plan(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<PlanPatch>,
) -> AppResult<Json<Value>> {
    let row = plans::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(plans::plan_json(&row)))
}

#[utoipa::path(delete, path = "/inspection-plans/{id}", tag = "inspections", summary = "删除巡检计划（已生成的任务保留）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"), NotFound))]
pub async fn delete_plan(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    plans::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/inspection-plans/{id}/run", tag = "inspections", summary = "立即生成一轮巡检任务",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 201, description = "生成的任务", body = super::openapi::Record), NotFound))]
pub async fn run_plan(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (plan, made) = plans::run_now(&st.ctx, &u, parse_id(&id)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"plan_id": plan.id, "created": made.len(), "task_ids": made})),
    ))
}

// ---- tasks -------------------------------------------------------------------------------

/// The task list's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub plan_id: Option<i64>,
    /// `pending`, `in_progress`, `submitted`, `approved`, `returned` or `overdue`.
    pub status: Option<String>,
    pub assignee_id: Option<i64>,
    /// `site`, `asset` or `system`.
    pub target_type: Option<String>,
    /// Due at or after: RFC 3339 time or date (Beijing).
    pub from: Option<String>,
    /// Due before: RFC 3339 time, or a date whose whole day is included.
    pub to: Option<String>,
}

fn task_filter(q: &HashMap<String, String>) -> AppResult<TaskFilter> {
    let status = q.get("status").map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(s) = status
        && crate::domain::inspection::task::TaskStatus::parse(s).is_none()
    {
        return Err(AppError::invalid(
            "status",
            "status 应为 pending、in_progress、submitted、approved、returned 或 overdue",
        ));
    }
    let target_type = q
        .get("target_type")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    if let Some(t) = target_type
        && crate::domain::inspection::template::TargetType::parse(t).is_none()
    {
        return Err(AppError::invalid(
            "target_type",
            "target_type 应为 site、asset 或 system",
        ));
    }
    let (from, to) = opt_range(q)?;
    Ok(TaskFilter {
        plan_id: opt_id(q, "plan_id")?,
        status: status.map(str::to_string),
        assignee_id: opt_id(q, "assignee_id")?,
        from,
        to,
        target_type: target_type.map(str::to_string),
    })
}

#[utoipa::path(get, path = "/inspection-tasks", tag = "inspections", summary = "巡检任务列表",
    params(super::openapi::PagingQuery, TaskQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page),
        (status = 422, description = "筛选条件有误", body = super::openapi::ErrorBody)))]
pub async fn list_tasks(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let f = task_filter(&q)?;
    let (rows, total) = tasks::list(&st.ctx, &u, &f, p.limit, p.offset).await?;
    let items: Vec<Value> = rows.iter().map(tasks::task_summary_json).collect();
    Ok(Json(json!({"total": total, "items": items})))
}

#[utoipa::path(get, path = "/inspection-tasks/{id}", tag = "inspections", summary = "巡检任务（检查项、读数与判定）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "任务", body = super::openapi::Record), NotFound))]
pub async fn get_task(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(tasks::get(&st.ctx, &u, parse_id(&id)?).await?))
}

#[utoipa::path(post, path = "/inspection-tasks/{id}/results", tag = "inspections", summary = "保存读数（可分次保存）",
    params(("id" = i64, Path, description = "编号")), request_body = ResultsInput,
    responses((status = 200, description = "任务", body = super::openapi::Record),
        (status = 409, description = "任务已提交", body = super::openapi::ErrorBody),
        (status = 422, description = "读数有误", body = super::openapi::ErrorBody)))]
pub async fn save_results(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(r): Input<ResultsInput>,
) -> AppResult<Json<Value>> {
    Ok(Json(
        tasks::save_results(&st.ctx, &u, parse_id(&id)?, r).await?,
    ))
}

#[utoipa::path(post, path = "/inspection-tasks/{id}/actions", tag = "inspections", summary = "开始、提交、审核通过或退回",
    params(("id" = i64, Path, description = "编号")), request_body = TaskActionInput,
    responses((status = 200, description = "任务", body = super::openapi::Record),
        (status = 409, description = "当前状态不允许", body = super::openapi::ErrorBody),
        (status = 422, description = "必填项未填", body = super::openapi::ErrorBody)))]
pub async fn task_action(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(a): Input<TaskActionInput>,
) -> AppResult<Json<Value>> {
    Ok(Json(tasks::act(&st.ctx, &u, parse_id(&id)?, a).await?))
}

// ---- photos ------------------------------------------------------------------------------

/// A multipart photo upload.
#[derive(utoipa::ToSchema)]
pub struct PhotoUpload {
    /// A JPEG or PNG picture.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The key of the photo item the picture is evidence for.
    pub item: String,
}

/// Reads a photo upload's fields: the file (name and bytes) and the item key. A body over
/// the limit is a 413 that names the limit.
pub async fn read_photo_upload(
    mp: axum::extract::Multipart,
    max_bytes: usize,
) -> AppResult<((String, axum::body::Bytes), String)> {
    let too_big = too_large("照片", max_bytes);
    let form = read_form(mp, &too_big, &["item"]).await?;
    let item = form
        .texts
        .get("item")
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| AppError::invalid("item", "请在字段 item 中给出照片项的编号"))?;
    let file = form
        .file
        .ok_or_else(|| AppError::invalid("file", "请在表单字段 file 中上传照片"))?;
    Ok((file, item))
}

/// `POST /inspection-tasks/{id}/photos`: multipart fields `file` and `item`.
#[utoipa::path(post, path = "/inspection-tasks/{id}/photos", tag = "inspections",
    summary = "上传巡检照片（multipart 字段 file 与 item，仅执行人，JPEG/PNG）",
    params(("id" = i64, Path, description = "编号")),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已上传", body = super::openapi::Record),
        (status = 403, description = "不是执行人", body = super::openapi::ErrorBody),
        (status = 409, description = "任务已提交", body = super::openapi::ErrorBody),
        FileTooLarge,
        (status = 422, description = "不是图片或检查项有误", body = super::openapi::ErrorBody)))]
pub async fn upload_photo(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let mp = multipart(req, &st, "字段 file 与 item").await?;
    let ((name, data), item) = read_photo_upload(mp, st.config.max_attachment_bytes).await?;
    let row = crate::inspect::photos::upload(&st.ctx, &u, id, &item, &name, &data).await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::inspect::photos::photo_json(&row)),
    ))
}

#[utoipa::path(get, path = "/inspection-tasks/{id}/photos/{photo_id}", tag = "inspections",
    summary = "下载巡检照片（执行人本人、项目经理、甲方与监理）",
    params(("id" = i64, Path, description = "任务编号"), ("photo_id" = i64, Path, description = "照片编号")),
    responses((status = 200, description = "照片", content_type = "image/*", body = Vec<u8>),
        (status = 404, description = "不存在或无权查看", body = super::openapi::ErrorBody)))]
pub async fn photo(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, pid)): Path<(String, String)>,
) -> AppResult<Response> {
    let (p, bytes) =
        crate::inspect::photos::file(&st.ctx, &u, parse_id(&id)?, parse_id(&pid)?).await?;
    Ok(crate::web::download::uploaded(
        &p.content_type,
        &p.file_name,
        bytes,
    ))
}

// ---- findings and indicators ---------------------------------------------------------------

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    pub task_id: Option<i64>,
    /// `open` or `rectified`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/inspection-findings", tag = "inspections", summary = "巡检发现的问题",
    params(super::openapi::PagingQuery, FindingQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page)))]
pub async fn list_findings(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let status = q.get("status").map(|s| s.trim()).filter(|s| !s.is_empty());
    let (rows, total) = tasks::list_findings(
        &st.ctx,
        &u,
        opt_id(&q, "task_id")?,
        status,
        p.limit,
        p.offset,
    )
    .await?;
    let items: Vec<Value> = rows.iter().map(tasks::finding_json).collect();
    Ok(Json(json!({"total": total, "items": items})))
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// RFC 3339 time or date (Beijing).
    pub from: String,
    /// RFC 3339 time, or a date whose whole day is included.
    pub to: String,
}

#[utoipa::path(get, path = "/inspections/stats", tag = "inspections", summary = "巡检指标（完成率、按时率、整改率）",
    params(StatsQuery),
    responses((status = 200, description = "指标", body = super::openapi::Record),
        (status = 422, description = "时间有误", body = super::openapi::ErrorBody)))]
pub async fn stats(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let (from, to) = opt_range(&q)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::invalid("from", "请给出统计区间 from 和 to"));
    };
    let t = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let s = tasks::indicators(&st.ctx, &u, t(from), t(to)).await?;
    let mut v = serde_json::to_value(&s).map_err(anyhow::Error::from)?;
    v["from"] = json!(crate::clock::rfc3339(from));
    v["to"] = json!(crate::clock::rfc3339(to));
    Ok(Json(v))
}
