//! The contract record and the deliverables register. Thin handlers: each extracts, calls
//! one `crate::contract` use case and shapes the answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::openapi::{
    CannotEdit, CannotRegister, FileTooLarge, FileTypeRefused, Invalid, NotFound,
};
use super::{Paging, list_json};
use crate::contract::{self, deliverables as dl, versions};
use crate::desk::{choices, given, opt_choice, opt_id};
use crate::domain::contract::ContractPatch;
use crate::domain::deliverables::{
    AREAS, Area, CADENCES, Cadence, DeliverableCreate, DeliverablePatch, Review,
};
use crate::error::{AppError, AppResult};
use crate::report::PeriodInput;
use crate::store::contract::DeliverableFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, multipart, parse_id, read_form, too_large};

/// The measuring period: `period=YYYY-MM` (or `YYYY`), or `from` and `to` dates; this
/// month by default.
fn measuring_period(
    st: &AppState,
    q: &HashMap<String, String>,
) -> AppResult<crate::report::Period> {
    let input = match (given(q, "period"), given(q, "from"), given(q, "to")) {
        (Some(p), _, _) => PeriodInput::Text(p.to_string()),
        (None, Some(f), Some(t)) => PeriodInput::Range {
            from: f.to_string(),
            to: t.to_string(),
        },
        (None, None, None) => {
            let today = st.ctx.clock.now().with_timezone(&crate::clock::beijing());
            PeriodInput::Text(today.format("%Y-%m").to_string())
        }
        _ => {
            return Err(AppError::invalid(
                "from",
                "请同时给出 from 和 to（日期），或给出 period=YYYY-MM",
            ));
        }
    };
    crate::report::period(&input).map_err(|m| AppError::invalid("period", m))
}

#[utoipa::path(get, path = "/contract", tag = "contract",
    summary = "合同信息：各方、服务期、预算、付款节点、质量目标及其实测值（period=YYYY-MM 或 from/to，默认本月）",
    params(("period" = Option<String>, Query, description = "统计期间 YYYY-MM 或 YYYY"),
        ("from" = Option<String>, Query, description = "统计起始日期"),
        ("to" = Option<String>, Query, description = "统计截止日期（含当天）")),
    responses((status = 200, description = "合同信息", body = super::openapi::Record),
        (status = 409, description = "尚未录入合同信息", body = super::openapi::ErrorBody),
        (status = 422, description = "期间有误", body = super::openapi::ErrorBody)))]
pub async fn get_contract(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = measuring_period(&st, &q)?;
    Ok(Json(contract::get(&st.ctx, &u, &p).await?))
}

#[utoipa::path(patch, path = "/contract", tag = "contract",
    summary = "修改合同信息（采购方或系统管理员；给出的部分整体替换，留痕审计）",
    request_body = ContractPatch,
    responses((status = 200, description = "合同信息", body = super::openapi::Record), CannotEdit, Invalid))]
pub async fn update_contract(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(p): Input<ContractPatch>,
) -> AppResult<Json<Value>> {
    Ok(Json(contract::update(&st.ctx, &u, p).await?))
}

fn filter(q: &HashMap<String, String>) -> AppResult<DeliverableFilter> {
    let area = opt_choice(
        q,
        "area",
        |s| Area::parse(s).map(Area::as_str),
        "领域",
        &choices(AREAS.iter().map(|a| a.as_str())),
    )?;
    let cadence = opt_choice(
        q,
        "cadence",
        |s| Cadence::parse(s).map(Cadence::as_str),
        "提交周期",
        &choices(CADENCES.iter().map(|c| c.as_str())),
    )?;
    Ok(DeliverableFilter {
        area,
        line_id: opt_id(q, "line_id")?,
        cadence,
        q: given(q, "q").map(|s| s.chars().take(100).collect()),
    })
}

#[utoipa::path(get, path = "/deliverables", tag = "contract",
    summary = "交付物清单（筛选：area、line_id、cadence、q）",
    params(super::openapi::PagingQuery,
        ("area" = Option<String>, Query, description = "infrastructure、systems 或 operations"),
        ("line_id" = Option<i64>, Query, description = "服务条线"),
        ("cadence" = Option<String>, Query, description = "提交周期"),
        ("q" = Option<String>, Query, description = "名称或章节关键词")),
    responses((status = 200, description = "列表", body = super::openapi::Page), Invalid))]
pub async fn list_deliverables(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let f = filter(&q)?;
    let (rows, total) = dl::list(&st.ctx, &u, &f, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, dl::deliverable_json)))
}

#[utoipa::path(post, path = "/deliverables", tag = "contract", summary = "登记交付物",
    request_body = DeliverableCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record), CannotRegister, Invalid))]
pub async fn create_deliverable(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(c): Input<DeliverableCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = dl::create(&st.ctx, &u, c).await?;
    Ok((StatusCode::CREATED, Json(dl::deliverable_json(&row))))
}

#[utoipa::path(get, path = "/deliverables/{id}", tag = "contract", summary = "交付物",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "交付物", body = super::openapi::Record), NotFound))]
pub async fn get_deliverable(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = dl::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(dl::deliverable_json(&row)))
}

#[utoipa::path(patch, path = "/deliverables/{id}", tag = "contract", summary = "修改交付物",
    params(("id" = i64, Path, description = "编号")), request_body = DeliverablePatch,
    responses((status = 200, description = "交付物", body = super::openapi::Record),
        CannotEdit, NotFound, Invalid))]
pub async fn update_deliverable(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<DeliverablePatch>,
) -> AppResult<Json<Value>> {
    let row = dl::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(dl::deliverable_json(&row)))
}

#[utoipa::path(get, path = "/deliverables/{id}/template", tag = "contract",
    summary = "编写类交付物（维护规范、需求规格说明书等）的 DOCX 模板：封面、按提纲分章、签字栏",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "DOCX 文件", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document", body = Vec<u8>),
        NotFound,
        (status = 409, description = "没有模板提纲", body = super::openapi::ErrorBody)))]
pub async fn deliverable_template(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (name, bytes) = contract::template::template(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(crate::web::download::file(
        HeaderValue::from_static(crate::report::Format::Docx.content_type()),
        &name,
        bytes,
    ))
}

#[utoipa::path(get, path = "/deliverables/{id}/instances", tag = "contract",
    summary = "交付物各期的提交期限与状态（pending、submitted、accepted、returned、overdue）",
    params(("id" = i64, Path, description = "编号"),
        ("from" = Option<String>, Query, description = "截止日期起（含）"),
        ("to" = Option<String>, Query, description = "截止日期止（含）")),
    responses((status = 200, description = "列表", body = super::openapi::Page),
        NotFound,
        (status = 409, description = "尚未录入合同服务期", body = super::openapi::ErrorBody),
        (status = 422, description = "日期有误", body = super::openapi::ErrorBody)))]
pub async fn list_instances(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let (from, to) = (dl::opt_date(&q, "from")?, dl::opt_date(&q, "to")?);
    let items = dl::instances(&st.ctx, &u, parse_id(&id)?, from, to).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[utoipa::path(get, path = "/deliverables/{id}/instances/{key}", tag = "contract",
    summary = "交付物一期：状态、历史（提交与审核）和各版本",
    params(("id" = i64, Path, description = "编号"), ("key" = String, Path, description = "期次，如 2024-09、2024-Q4、year、once、acceptance")),
    responses((status = 200, description = "该期", body = super::openapi::Record), NotFound))]
pub async fn get_instance(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, key)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    Ok(Json(
        versions::instance(&st.ctx, &u, parse_id(&id)?, &key).await?,
    ))
}

/// The multipart field `file` of an upload: its name and bytes (the body limit of the
/// route turns a too large file into 413, as for ticket attachments).
async fn multipart_file(
    req: axum::extract::Request,
    st: &AppState,
) -> AppResult<(String, axum::body::Bytes)> {
    let mp = multipart(req, st, "字段名 file").await?;
    let too_big = too_large("文件", st.config.max_attachment_bytes);
    let form = read_form(mp, &too_big, &[]).await?;
    form.file
        .ok_or_else(|| AppError::invalid("file", "请在表单字段 file 中上传文件"))
}

#[utoipa::path(post, path = "/deliverables/{id}/instances/{key}/versions", tag = "contract",
    summary = "提交新版本：JSON {format, plan_id} 按报告类型生成，或 multipart/form-data 上传文件（字段 file，DOCX/XLSX/PDF）",
    params(("id" = i64, Path, description = "编号"), ("key" = String, Path, description = "期次")),
    request_body(content = versions::GenerateVersion, content_type = "application/json"),
    responses((status = 201, description = "已提交", body = super::openapi::Record),
        (status = 403, description = "无权提交", body = super::openapi::ErrorBody),
        NotFound,
        (status = 409, description = "已验收，不能再提交", body = super::openapi::ErrorBody),
        FileTooLarge, FileTypeRefused, Invalid))]
pub async fn submit_version(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, key)): Path<(String, String)>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let v = if multipart {
        let (name, data) = multipart_file(req, &st).await?;
        versions::upload(&st.ctx, &u, id, &key, &name, &data).await?
    } else {
        let Input(g) = Input::<versions::GenerateVersion>::from_request(req, &st).await?;
        versions::generate(&st.ctx, &u, id, &key, g).await?
    };
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[utoipa::path(get, path = "/deliverables/{id}/instances/{key}/versions/{number}/file", tag = "contract",
    summary = "下载某一版本的文件",
    params(("id" = i64, Path, description = "编号"), ("key" = String, Path, description = "期次"),
        ("number" = i64, Path, description = "版本号")),
    responses((status = 200, description = "文件", content_type = "*/*", body = Vec<u8>), NotFound))]
pub async fn version_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, key, number)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let (name, ct, bytes) =
        versions::file(&st.ctx, &u, parse_id(&id)?, &key, parse_id(&number)?).await?;
    Ok(crate::web::download::file(
        crate::web::download::stored_type(&ct),
        &name,
        bytes,
    ))
}

#[utoipa::path(post, path = "/deliverables/{id}/instances/{key}/review", tag = "contract",
    summary = "审核（采购方或监理）：accept 验收通过，return 退回（须填写意见）；通知提交人",
    params(("id" = i64, Path, description = "编号"), ("key" = String, Path, description = "期次")),
    request_body = Review,
    responses((status = 200, description = "该期", body = super::openapi::Record),
        (status = 403, description = "无权审核", body = super::openapi::ErrorBody),
        NotFound,
        (status = 409, description = "不是待审状态", body = super::openapi::ErrorBody), Invalid))]
pub async fn review_instance(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, key)): Path<(String, String)>,
    Input(r): Input<Review>,
) -> AppResult<Json<Value>> {
    Ok(Json(
        versions::review(&st.ctx, &u, parse_id(&id)?, &key, r).await?,
    ))
}
