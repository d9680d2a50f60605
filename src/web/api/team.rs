//! The team: compliance with the contract's team rules and their values, personnel
//! changes, and members' certificates and documents. Thin handlers over `crate::team`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::openapi::{
    CannotDelete, CannotEdit, CannotRegister, CannotUpload, CannotView, FileInvalid, FileTooLarge,
    Invalid, NotFound,
};
use super::{Paging, list_json};
use crate::desk::{given, opt_choice};
use crate::domain::team::changes::{ChangeCreate, ChangeKind, ChangeStatus, Decision, Nomination};
use crate::domain::team::{CertificateInput, RulesPatch, TeamRules};
use crate::error::{AppError, AppResult};
use crate::store::team::ChangeFilter;
use crate::team::{self, changes, compliance, files, members};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::download::uploaded;
use crate::web::extract::{Input, multipart, parse_id, read_form, too_large};

#[utoipa::path(get, path = "/contract/compliance", tag = "team",
    summary = "团队合规检查（团队人数、项目经理经验、岗位到位、证明材料、关键人员、更换项目经理期限）",
    responses((status = 200, description = "各项检查：code、name、state（met/at_risk/broken）、evidence、details", body = super::openapi::Record),
        CannotView))]
pub async fn get_compliance(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<Value>> {
    let (checks, rules) = compliance::compliance(&st.ctx, &u).await?;
    Ok(Json(compliance::compliance_json(
        &checks,
        rules,
        st.ctx.clock.today(),
    )))
}

#[utoipa::path(get, path = "/contract/compliance/rules", tag = "team",
    summary = "团队合规规则的取值",
    responses((status = 200, description = "规则", body = TeamRules)))]
pub async fn get_rules(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<TeamRules>> {
    Ok(Json(team::get_rules(&st.ctx, &u).await?))
}

#[utoipa::path(patch, path = "/contract/compliance/rules", tag = "team",
    summary = "修改团队合规规则（管理员、项目经理；记入审计）", request_body = RulesPatch,
    responses((status = 200, description = "规则", body = TeamRules), CannotEdit, Invalid))]
pub async fn set_rules(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(p): Input<RulesPatch>,
) -> AppResult<Json<TeamRules>> {
    Ok(Json(team::set_rules(&st.ctx, &u, p).await?))
}

#[utoipa::path(get, path = "/personnel-changes", tag = "team",
    summary = "人员变更（筛选：status、kind、q）",
    params(super::openapi::PagingQuery,
        ("status" = Option<String>, Query, description = "requested、approved、refused"),
        ("kind" = Option<String>, Query, description = "contractor_request、purchaser_request"),
        ("q" = Option<String>, Query, description = "关键词（理由、人员姓名）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), Invalid))]
pub async fn list_changes(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let status = opt_choice(
        &q,
        "status",
        |s| ChangeStatus::parse(s).map(ChangeStatus::as_str),
        "状态",
        "requested、approved、refused",
    )?;
    let kind = opt_choice(
        &q,
        "kind",
        |s| ChangeKind::parse(s).map(ChangeKind::as_str),
        "类型",
        "contractor_request、purchaser_request",
    )?;
    let f = ChangeFilter {
        status,
        kind,
        q: given(&q, "q").map(|s| s.chars().take(100).collect()),
    };
    let (rows, total) = changes::list(&st.ctx, &u, f, p.limit, p.offset).await?;
    let now = st.ctx.clock.now_ms();
    Ok(Json(list_json(&rows, total, |c| {
        changes::change_json(c, now)
    })))
}

#[utoipa::path(post, path = "/personnel-changes", tag = "team",
    summary = "提出人员变更（项目经理书面申请；采购人以 kind=purchaser_request 要求更换项目经理）",
    request_body = ChangeCreate,
    responses((status = 201, description = "已提出", body = super::openapi::Record),
        (status = 403, description = "无权提出", body = super::openapi::ErrorBody),
        (status = 422, description = "输入有误（调入人员资历较低须说明理由）", body = super::openapi::ErrorBody)))]
pub async fn create_change(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(r): Input<ChangeCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = changes::create(&st.ctx, &u, r).await?;
    Ok((
        StatusCode::CREATED,
        Json(changes::change_json(&row, st.ctx.clock.now_ms())),
    ))
}

#[utoipa::path(get, path = "/personnel-changes/{id}", tag = "team", summary = "人员变更（含资历对比与历史）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "人员变更", body = super::openapi::Record), NotFound))]
pub async fn get_change(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let row = changes::get(&st.ctx, &u, id).await?;
    let mut v = changes::change_json(&row, st.ctx.clock.now_ms());
    let list = files::list(&st.ctx, &u, id).await?;
    v["files"] = Value::Array(list.iter().map(files::file_json).collect());
    Ok(Json(v))
}

#[utoipa::path(post, path = "/personnel-changes/{id}/decision", tag = "team",
    summary = "审批人员变更（仅采购人；批准后岗位安排才调整，拒绝须填写意见）",
    params(("id" = i64, Path, description = "编号")), request_body = Decision,
    responses((status = 200, description = "人员变更", body = super::openapi::Record),
        (status = 403, description = "不是采购人", body = super::openapi::ErrorBody),
        NotFound,
        (status = 409, description = "已审批或尚未提名", body = super::openapi::ErrorBody), Invalid))]
pub async fn decide_change(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(d): Input<Decision>,
) -> AppResult<Json<Value>> {
    let row = changes::decide(&st.ctx, &u, parse_id(&id)?, d).await?;
    Ok(Json(changes::change_json(&row, st.ctx.clock.now_ms())))
}

#[utoipa::path(post, path = "/personnel-changes/{id}/nominate", tag = "team",
    summary = "提名接替的项目经理（采购人要求更换时，由项目经理提名）",
    params(("id" = i64, Path, description = "编号")), request_body = Nomination,
    responses((status = 200, description = "人员变更", body = super::openapi::Record),
        (status = 403, description = "无权提名", body = super::openapi::ErrorBody),
        NotFound,
        (status = 409, description = "已审批或不是采购人要求", body = super::openapi::ErrorBody), Invalid))]
pub async fn nominate_change(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(n): Input<Nomination>,
) -> AppResult<Json<Value>> {
    let row = changes::nominate(&st.ctx, &u, parse_id(&id)?, n).await?;
    Ok(Json(changes::change_json(&row, st.ctx.clock.now_ms())))
}

#[utoipa::path(get, path = "/staff/{id}/certificates", tag = "team", summary = "成员的证书",
    params(("id" = i64, Path, description = "成员编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), NotFound))]
pub async fn list_certificates(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let rows = members::certificates(&st.ctx, &u, parse_id(&id)?).await?;
    let today = st.ctx.clock.today();
    Ok(Json(super::all_json(&rows, |c| {
        members::certificate_json(c, today)
    })))
}

#[utoipa::path(post, path = "/staff/{id}/certificates", tag = "team",
    summary = "登记成员的证书（管理员、项目经理）",
    params(("id" = i64, Path, description = "成员编号")), request_body = CertificateInput,
    responses((status = 201, description = "已登记", body = super::openapi::Record),
        CannotRegister, NotFound, Invalid))]
pub async fn add_certificate(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(c): Input<CertificateInput>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = members::add_certificate(&st.ctx, &u, parse_id(&id)?, c).await?;
    Ok((
        StatusCode::CREATED,
        Json(members::certificate_json(&row, st.ctx.clock.today())),
    ))
}

#[utoipa::path(delete, path = "/staff/{id}/certificates/{cert_id}", tag = "team",
    summary = "删除成员的证书（管理员、项目经理）",
    params(("id" = i64, Path, description = "成员编号"), ("cert_id" = i64, Path, description = "证书编号")),
    responses((status = 204, description = "已删除"), CannotDelete, NotFound))]
pub async fn remove_certificate(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, cert)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    members::remove_certificate(&st.ctx, &u, parse_id(&id)?, parse_id(&cert)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/staff/{id}/documents", tag = "team",
    summary = "成员的证明材料（任职证明/社保证明、保密协议）",
    params(("id" = i64, Path, description = "成员编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), NotFound))]
pub async fn list_documents(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let rows = members::documents(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(super::all_json(&rows, members::document_json)))
}

/// A document upload: the file and its kind and validity.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// employment_proof（任职证明/社保证明）或 confidentiality（保密协议）.
    pub kind: String,
    /// YYYY-MM-DD.
    pub valid_from: String,
    /// YYYY-MM-DD.
    pub valid_until: String,
}

async fn read_document_upload(
    mp: axum::extract::Multipart,
    max_bytes: usize,
) -> AppResult<(Option<(String, axum::body::Bytes)>, members::DocumentMeta)> {
    let too_big = too_large("证明材料", max_bytes);
    let form = read_form(mp, &too_big, &["kind", "valid_from", "valid_until"]).await?;
    let text = |k: &str| form.texts.get(k).map(|t| t.chars().take(100).collect());
    let meta = members::DocumentMeta {
        kind: text("kind"),
        valid_from: text("valid_from"),
        valid_until: text("valid_until"),
    };
    Ok((form.file, meta))
}

#[utoipa::path(post, path = "/staff/{id}/documents", tag = "team",
    summary = "上传成员的证明材料（multipart 字段 file、kind、valid_from、valid_until；PDF/JPEG/PNG）",
    params(("id" = i64, Path, description = "成员编号")),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已上传", body = super::openapi::Record),
        CannotUpload, NotFound, FileTooLarge,
        (status = 422, description = "类型、日期或文件有误", body = super::openapi::ErrorBody)))]
pub async fn upload_document(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let mp = multipart(req, &st, "字段 file、kind、valid_from、valid_until").await?;
    let (file, meta) = read_document_upload(mp, st.config.max_attachment_bytes).await?;
    let (name, data) =
        file.ok_or_else(|| AppError::invalid("file", "请在表单字段 file 中上传证明材料"))?;
    let row = members::upload_document(&st.ctx, &u, id, meta, &name, &data).await?;
    Ok((StatusCode::CREATED, Json(members::document_json(&row))))
}

#[utoipa::path(get, path = "/staff/{id}/documents/{doc_id}/file", tag = "team",
    summary = "下载成员的证明材料（管理员、项目经理、采购人、监理）",
    params(("id" = i64, Path, description = "成员编号"), ("doc_id" = i64, Path, description = "材料编号")),
    responses((status = 200, description = "文件", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "无权下载", body = super::openapi::ErrorBody), NotFound))]
pub async fn document_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, doc)): Path<(String, String)>,
) -> AppResult<Response> {
    let (d, bytes) = members::document_file(&st.ctx, &u, parse_id(&id)?, parse_id(&doc)?).await?;
    Ok(uploaded(&d.content_type, &d.file_name, bytes))
}

/// Shown with `GET /staff/{id}`: the member's certificates and documents.
pub async fn staff_extras(st: &AppState, id: i64) -> AppResult<(Value, Value)> {
    members::extras(&st.ctx, id).await
}

/// A file attached to a personnel change.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ChangeFileUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[utoipa::path(get, path = "/personnel-changes/{id}/files", tag = "team",
    summary = "人员变更的附件",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), NotFound))]
pub async fn list_change_files(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let rows = files::list(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(super::all_json(&rows, files::file_json)))
}

#[utoipa::path(post, path = "/personnel-changes/{id}/files", tag = "team",
    summary = "为待审批的人员变更添加附件（multipart 字段 file；PDF/JPEG/PNG）",
    params(("id" = i64, Path, description = "编号")),
    request_body(content = ChangeFileUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已添加", body = super::openapi::Record),
        (status = 403, description = "无权添加", body = super::openapi::ErrorBody),
        NotFound,
        (status = 409, description = "已审批", body = super::openapi::ErrorBody), FileTooLarge, FileInvalid))]
pub async fn add_change_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let mp = multipart(req, &st, "字段 file").await?;
    let (file, _) = read_document_upload(mp, st.config.max_attachment_bytes).await?;
    let (name, data) =
        file.ok_or_else(|| AppError::invalid("file", "请在表单字段 file 中上传附件"))?;
    let row = files::attach(&st.ctx, &u, id, &name, &data).await?;
    Ok((StatusCode::CREATED, Json(files::file_json(&row))))
}

#[utoipa::path(get, path = "/personnel-changes/{id}/files/{file_id}", tag = "team",
    summary = "下载人员变更的附件",
    params(("id" = i64, Path, description = "编号"), ("file_id" = i64, Path, description = "附件编号")),
    responses((status = 200, description = "文件", content_type = "application/octet-stream", body = Vec<u8>),
        NotFound))]
pub async fn change_file(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, file)): Path<(String, String)>,
) -> AppResult<Response> {
    let (f, bytes) = files::file(&st.ctx, &u, parse_id(&id)?, parse_id(&file)?).await?;
    Ok(uploaded(&f.content_type, &f.file_name, bytes))
}
