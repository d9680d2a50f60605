//! Backup oversight (issue 14): policies with their secret report URLs. Thin handlers:
//! each extracts, calls one `crate::backup` use case and shapes the answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::Paging;
use super::openapi::{CannotDelete, CannotEdit, CannotRegister, CannotView, Invalid, NotFound};
use crate::backup::policies::{self, policy_json, report_path};
use crate::backup::runs::{self, run_json};
use crate::desk::{opt_choice, opt_id, opt_range};
use crate::domain::backup::{PolicyCreate, PolicyPatch, RunCreate, RunReport, RunStatus};
use crate::error::{AppError, AppResult};
use crate::store::backup::PolicyFilter;
use crate::store::backup_runs::RunFilter;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

/// A policy with its report URL's token, answered only when the token is new.
fn with_token(row: &crate::store::backup::PolicyRow, token: &str) -> Value {
    let mut v = policy_json(row);
    v["report_token"] = Value::from(token);
    v["report_url"] = Value::from(report_path(token));
    v
}

#[utoipa::path(get, path = "/backup-policies", tag = "backup",
    summary = "备份策略（筛选：system_id、q）",
    params(super::openapi::PagingQuery,
        ("system_id" = Option<i64>, Query, description = "系统"),
        ("q" = Option<String>, Query, description = "关键词：数据集、说明、位置、系统名称或编号")),
    responses((status = 200, description = "列表", body = super::openapi::Page), CannotView, Invalid))]
pub async fn list_policies(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let f = PolicyFilter {
        system_id: opt_id(&q, "system_id")?,
        q: q.get("q")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(100).collect()),
    };
    let (rows, total) = policies::list(&st.ctx, &u, f, p.limit, p.offset).await?;
    let items = crate::backup::drills::policies_json(&st.ctx, &rows).await?;
    Ok(Json(serde_json::json!({"total": total, "items": items})))
}

#[utoipa::path(post, path = "/backup-policies", tag = "backup",
    summary = "新建备份策略（应答含上报地址 report_url，仅此一次显示）",
    request_body = PolicyCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record),
        (status = 403, description = "无权新建", body = super::openapi::ErrorBody), Invalid))]
pub async fn create_policy(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(c): Input<PolicyCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (row, token) = policies::create(&st.ctx, &u, c).await?;
    Ok((StatusCode::CREATED, Json(with_token(&row, &token))))
}

#[utoipa::path(get, path = "/backup-policies/{id}", tag = "backup", summary = "备份策略",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "备份策略", body = super::openapi::Record), NotFound))]
pub async fn get_policy(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = policies::get(&st.ctx, &u, parse_id(&id)?).await?;
    let mut items =
        crate::backup::drills::policies_json(&st.ctx, std::slice::from_ref(&row)).await?;
    Ok(Json(items.pop().unwrap_or_default()))
}

#[utoipa::path(patch, path = "/backup-policies/{id}", tag = "backup", summary = "修改备份策略",
    params(("id" = i64, Path, description = "编号")), request_body = PolicyPatch,
    responses((status = 200, description = "备份策略", body = super::openapi::Record),
        CannotEdit, NotFound, Invalid))]
pub async fn update_policy(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(p): Input<PolicyPatch>,
) -> AppResult<Json<Value>> {
    let row = policies::update(&st.ctx, &u, parse_id(&id)?, p).await?;
    Ok(Json(policy_json(&row)))
}

#[utoipa::path(delete, path = "/backup-policies/{id}", tag = "backup",
    summary = "删除备份策略（已有备份记录的不能删除）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"),
        CannotDelete, NotFound,
        (status = 409, description = "已有备份记录", body = super::openapi::ErrorBody)))]
pub async fn delete_policy(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    policies::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/backup-policies/{id}/report-url", tag = "backup",
    summary = "重新生成上报地址（旧地址立即作废；新地址仅此一次显示）",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "备份策略及新上报地址", body = super::openapi::Record),
        (status = 403, description = "无权操作", body = super::openapi::ErrorBody), NotFound))]
pub async fn reissue_report_url(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (row, token) = policies::reissue_token(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(with_token(&row, &token)))
}

// ---- runs ---------------------------------------------------------------------------------

#[utoipa::path(post, path = "/backup-runs/report/{token}", tag = "backup",
    summary = "备份任务上报（无需登录，凭策略的上报地址；start 开始，success/fail 结束）",
    params(("token" = String, Path, description = "上报令牌")), request_body = RunReport,
    responses((status = 200, description = "备份记录", body = super::openapi::Record),
        (status = 404, description = "上报地址无效", body = super::openapi::ErrorBody),
        Invalid,
        (status = 429, description = "上报过于频繁（每个来源地址每分钟 600 次）", body = super::openapi::ErrorBody)))]
pub async fn report_run(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
    Input(r): Input<RunReport>,
) -> AppResult<Json<Value>> {
    // Throttled before the token is looked up, so that guessing tokens is throttled too.
    if let Ok(ip) = crate::web::auth::request_ip(&st, peer, &headers).parse()
        && let Err(wait) = st.ctx.gates.backup_reports.hit(ip, st.ctx.clock.now_ms())
    {
        return Err(AppError::TooManyRequests {
            message: format!("上报过于频繁，请 {wait} 秒后再试"),
            retry_after: Some(wait),
        });
    }
    let row = runs::report(&st.ctx, &token, r).await?;
    let flags = runs::flags_of(&st.ctx, std::slice::from_ref(&row)).await?;
    Ok(Json(run_json(&row, &flags[0])))
}

#[utoipa::path(post, path = "/backup-runs", tag = "backup", summary = "手工登记备份记录",
    request_body = RunCreate,
    responses((status = 201, description = "已登记", body = super::openapi::Record), CannotRegister, Invalid))]
pub async fn create_run(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(c): Input<RunCreate>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let row = runs::create(&st.ctx, &u, c).await?;
    let flags = runs::flags_of(&st.ctx, std::slice::from_ref(&row)).await?;
    Ok((StatusCode::CREATED, Json(run_json(&row, &flags[0]))))
}

#[utoipa::path(get, path = "/backup-runs", tag = "backup",
    summary = "备份记录（筛选：policy_id、system_id、status、from、to）",
    params(super::openapi::PagingQuery,
        ("policy_id" = Option<i64>, Query, description = "备份策略"),
        ("system_id" = Option<i64>, Query, description = "系统"),
        ("status" = Option<String>, Query, description = "running、success 或 fail"),
        ("from" = Option<String>, Query, description = "开始时间起"),
        ("to" = Option<String>, Query, description = "开始时间止（日期含当天）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), CannotView, Invalid))]
pub async fn list_runs(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let (from_ms, to_ms) = opt_range(&q)?;
    let status = opt_choice(
        &q,
        "status",
        |s| RunStatus::parse(s).map(RunStatus::as_str),
        "状态",
        "running、success、fail",
    )?;
    let f = RunFilter {
        policy_id: opt_id(&q, "policy_id")?,
        system_id: opt_id(&q, "system_id")?,
        status,
        from_ms,
        to_ms,
    };
    let (rows, total) = runs::list(&st.ctx, &u, f, p.limit, p.offset).await?;
    let flags = runs::flags_of(&st.ctx, &rows).await?;
    let items: Vec<Value> = rows
        .iter()
        .zip(&flags)
        .map(|(r, f)| run_json(r, f))
        .collect();
    Ok(Json(serde_json::json!({"items": items, "total": total})))
}

#[utoipa::path(get, path = "/backups/coverage", tag = "backup",
    summary = "备份覆盖情况（按系统和数据集：应备、成功、失败、漏备次数，成功率，备份量，最近一次良好备份，逐日情况 days）",
    params(("month" = String, Query, description = "月份 YYYY-MM")),
    responses((status = 200, description = "覆盖情况", body = super::openapi::Record), CannotView, Invalid))]
pub async fn coverage(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let month = q
        .get("month")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid("month", "请填写月份 month，如 2025-11"))?;
    Ok(Json(
        crate::backup::coverage::coverage(&st.ctx, &u, month).await?,
    ))
}
