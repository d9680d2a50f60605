//! Restore drills and the evidence files of drills and backup runs (issue 14). Thin
//! handlers over `crate::backup::drills` and `crate::backup::evidence`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::openapi::{
    CannotDelete, CannotEdit, CannotRegister, CannotUpload, CannotView, FileInvalid, FileTooLarge,
    FileTypeRefused, Invalid, NotFound,
};
use super::{Paging, all_json, list_json};
use crate::backup::drills::{self, drill_json};
use crate::backup::evidence::{self, file_json};
use crate::desk::{opt_choice, opt_id, opt_range};
use crate::domain::backup_drill::{DrillCreate, DrillPatch, DrillResult};
use crate::error::{AppError, AppResult};
use crate::store::backup_drills::{DrillFilter, FileOwner};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::download::uploaded;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(get, path = "/restore-drills", tag = "backup",
    summary = "恢复演练（筛选：policy_id、system_id、result、from、to）",
    params(super::openapi::PagingQuery,
        ("policy_id" = Option<i64>, Query, description = "备份策略"),
        ("system_id" = Option<i64>, Query, description = "系统"),
        ("result" = Option<String>, Query, description = "passed、partial 或 failed"),
        ("from" = Option<String>, Query, description = "演练时间起"),
        ("to" = Option<String>, Query, description = "演练时间止（日期含当天）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), CannotView, Invalid))]
pub async fn list_drills(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let (from_ms, to_ms) = opt_range(&q)?;
    let result = opt_choice(
        &q,
        "result",
        |s| DrillResult::parse(s).map(DrillResult::as_str),
        "演练结果",
        "passed、partial、failed",
    )?;
    let f = DrillFilter {
        policy_id: opt_id(&q, "policy_id")?,
        system_id: opt_id(&q, "system_id")?,
        result,
        from_ms,
        to_ms,
    };
    let (rows, total) = drills::list(&st.ctx, &u, f, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, drill_json)))
}

#[utoipa::path(post, path = "/restore-drills", tag = "backup",
    summary = "登记恢复演练（恢复内容、恢复到、耗时 RTO、数据时间点 RPO、结果、验证人）",
    request_body = DrillCreate,
    responses((status = 201, description = "已登记", body = super::openapi::Record), CannotRegister, Invalid))]
pub async fn create_drill(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(c): Input<DrillCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = drills::create(&st.ctx, &u, c).await?;
    Ok((StatusCode::CREATED, Json(drill_json(&row))))
}

#[utoipa::path(get, path = "/restore-drills/{id}", tag = "backup",
    summary = "恢复演练（含证明材料 files）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "恢复演练", body = super::openapi::Record), CannotView, NotFound))]
pub async fn get_drill(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let row = drills::get(&st.ctx, &u, id).await?;
    let owner = FileOwner::Drill(id);
    let files = evidence::list(&st.ctx, &u, owner).await?;
    let mut v = drill_json(&row);
    v["files"] = Value::Array(files.iter().map(|f| file_json(owner, f)).collect());
    Ok(Json(v))
}

#[utoipa::path(patch, path = "/restore-drills/{id}", tag = "backup", summary = "修改恢复演练",
    params(("id" = i64, Path, description = "编号")), request_body = DrillPatch,
    responses((status = 200, description = "恢复演练", body = super::openapi::Record),
        CannotEdit, NotFound, Invalid))]
pub async fn update_drill(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<DrillPatch>,
) -> AppResult<Json<Value>> {
    let row = drills::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(drill_json(&row)))
}

#[utoipa::path(delete, path = "/restore-drills/{id}", tag = "backup",
    summary = "删除恢复演练（连同其证明材料）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"), CannotDelete, NotFound))]
pub async fn delete_drill(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    drills::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- evidence files -------------------------------------------------------------------------

/// An evidence file: the multipart field `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EvidenceUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

async fn upload(st: &AppState, req: axum::extract::Request) -> AppResult<(String, Vec<u8>)> {
    let max = st.config.max_attachment_bytes;
    let too_big =
        || AppError::PayloadTooLarge(format!("证明材料不能超过 {} MB", max / 1024 / 1024));
    crate::web::extract::read_upload(req, st, too_big, "PDF、图片、TXT/LOG、DOCX 或 XLSX").await
}

async fn list_files_of(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    owner: FileOwner,
) -> AppResult<Json<Value>> {
    let rows = evidence::list(&st.ctx, u, owner).await?;
    Ok(Json(all_json(&rows, |f| file_json(owner, f))))
}

async fn add_file_to(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    owner: FileOwner,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (name, data) = upload(st, req).await?;
    let row = evidence::attach(&st.ctx, u, owner, &name, &data).await?;
    Ok((StatusCode::CREATED, Json(file_json(owner, &row))))
}

async fn file_of(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    owner: FileOwner,
    file: &str,
) -> AppResult<Response> {
    let (f, bytes) = evidence::file(&st.ctx, u, owner, parse_id(file)?).await?;
    Ok(uploaded(&f.content_type, &f.file_name, bytes))
}

async fn remove_file_of(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    owner: FileOwner,
    file: &str,
) -> AppResult<StatusCode> {
    evidence::remove(&st.ctx, u, owner, parse_id(file)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/restore-drills/{id}/files", tag = "backup",
    summary = "恢复演练的证明材料",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), CannotView, NotFound))]
pub async fn list_drill_files(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    list_files_of(&st, &u, FileOwner::Drill(parse_id(&id)?)).await
}

#[utoipa::path(post, path = "/restore-drills/{id}/files", tag = "backup",
    summary = "上传恢复演练的证明材料（multipart 字段 file；PDF、图片、TXT/LOG、DOCX、XLSX）",
    params(("id" = i64, Path, description = "编号")),
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已上传", body = super::openapi::Record),
        CannotUpload, NotFound, FileTooLarge, FileTypeRefused, FileInvalid))]
pub async fn add_drill_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    add_file_to(&st, &u, FileOwner::Drill(parse_id(&id)?), req).await
}

#[utoipa::path(get, path = "/restore-drills/{id}/files/{file_id}", tag = "backup",
    summary = "下载恢复演练的证明材料",
    params(("id" = i64, Path, description = "编号"), ("file_id" = i64, Path, description = "材料编号")),
    responses((status = 200, description = "文件", content_type = "application/octet-stream", body = Vec<u8>),
        CannotView, NotFound))]
pub async fn drill_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, file)): Path<(String, String)>,
) -> AppResult<Response> {
    file_of(&st, &u, FileOwner::Drill(parse_id(&id)?), &file).await
}

#[utoipa::path(delete, path = "/restore-drills/{id}/files/{file_id}", tag = "backup",
    summary = "删除恢复演练的证明材料",
    params(("id" = i64, Path, description = "编号"), ("file_id" = i64, Path, description = "材料编号")),
    responses((status = 204, description = "已删除"), CannotDelete, NotFound))]
pub async fn delete_drill_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, file)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    remove_file_of(&st, &u, FileOwner::Drill(parse_id(&id)?), &file).await
}

#[utoipa::path(get, path = "/backup-runs/{id}/files", tag = "backup",
    summary = "备份记录的附件",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), CannotView, NotFound))]
pub async fn list_run_files(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    list_files_of(&st, &u, FileOwner::Run(parse_id(&id)?)).await
}

#[utoipa::path(post, path = "/backup-runs/{id}/files", tag = "backup",
    summary = "上传备份记录的附件（multipart 字段 file；PDF、图片、TXT/LOG、DOCX、XLSX）",
    params(("id" = i64, Path, description = "编号")),
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已上传", body = super::openapi::Record),
        CannotUpload, NotFound, FileTooLarge, FileTypeRefused, FileInvalid))]
pub async fn add_run_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    add_file_to(&st, &u, FileOwner::Run(parse_id(&id)?), req).await
}

#[utoipa::path(get, path = "/backup-runs/{id}/files/{file_id}", tag = "backup",
    summary = "下载备份记录的附件",
    params(("id" = i64, Path, description = "编号"), ("file_id" = i64, Path, description = "附件编号")),
    responses((status = 200, description = "文件", content_type = "application/octet-stream", body = Vec<u8>),
        CannotView, NotFound))]
pub async fn run_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, file)): Path<(String, String)>,
) -> AppResult<Response> {
    file_of(&st, &u, FileOwner::Run(parse_id(&id)?), &file).await
}

#[utoipa::path(delete, path = "/backup-runs/{id}/files/{file_id}", tag = "backup",
    summary = "删除备份记录的附件",
    params(("id" = i64, Path, description = "编号"), ("file_id" = i64, Path, description = "附件编号")),
    responses((status = 204, description = "已删除"), CannotDelete, NotFound))]
pub async fn delete_run_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, file)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    remove_file_of(&st, &u, FileOwner::Run(parse_id(&id)?), &file).await
}
