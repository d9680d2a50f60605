//! Cloud resources (云资源): the monthly utilisation rows, their import, the per-system
//! summary and the flag thresholds. Thin handlers over `crate::cloud`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Paging;
use super::openapi::{Invalid, NotFound};
use crate::cloud::{self, ListQuery};
use crate::desk::opt_id;
use crate::domain::cloud::Thresholds;
use crate::error::{AppError, AppResult};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{Input, parse_id};

#[utoipa::path(get, path = "/cloud-resources", tag = "cloud",
    summary = "云资源月度利用率（筛选：period、system_id、flag=idle|overused）",
    params(super::openapi::PagingQuery,
        ("period" = Option<String>, Query, description = "月份 YYYY-MM"),
        ("system_id" = Option<i64>, Query, description = "系统"),
        ("flag" = Option<String>, Query, description = "idle（空闲）或 overused（过载）")),
    responses((status = 200, description = "列表", body = super::openapi::Page), Invalid))]
pub async fn list_cloud(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let lq = ListQuery {
        period: q.get("period").cloned(),
        system_id: opt_id(&q, "system_id")?,
        flag: q.get("flag").cloned(),
    };
    let (rows, total, t) = cloud::list(&st.ctx, &u, lq, p.limit, p.offset).await?;
    let items: Vec<Value> = rows.iter().map(|r| cloud::row_json(r, &t)).collect();
    Ok(Json(
        json!({"total": total, "items": items, "thresholds": t}),
    ))
}

#[utoipa::path(post, path = "/cloud-resources/import", tag = "cloud",
    summary = "导入云资源利用率 CSV 或 XLSX（同一月份再次导入将替换该月原有记录；有错误行则全部不导入）",
    request_body(content((super::inventory::FileUpload = "multipart/form-data"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "导入结果", body = super::openapi::Record),
        (status = 422, description = "有错误行，未导入", body = super::openapi::ErrorBody)))]
pub async fn import_cloud(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    req: Request,
) -> AppResult<Json<Value>> {
    cloud::check_write(&u)?;
    let (name, data) = super::read_import(req, &st).await?;
    Ok(Json(cloud::import(&st.ctx, &u, &name, &data).await?))
}

#[utoipa::path(get, path = "/cloud-resources/summary", tag = "cloud",
    summary = "云资源月度汇总：各系统资源数、vCPU、内存、平均利用率、空闲与过载数及前 3 个月趋势",
    params(("period" = String, Query, description = "月份 YYYY-MM")),
    responses((status = 200, description = "汇总", body = super::openapi::Record), Invalid))]
pub async fn cloud_summary(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let Some(p) = q.get("period").filter(|s| !s.trim().is_empty()) else {
        return Err(AppError::invalid("period", "请给出月份 period，如 2025-11"));
    };
    Ok(Json(cloud::summary(&st.ctx, &u, p).await?))
}

#[utoipa::path(get, path = "/cloud-resources/thresholds", tag = "cloud",
    summary = "云资源空闲与过载阈值（%）",
    responses((status = 200, description = "阈值", body = Thresholds)))]
pub async fn get_cloud_thresholds(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<Thresholds>> {
    cloud::check_read(&u)?;
    Ok(Json(cloud::thresholds(&st.ctx).await?))
}

#[utoipa::path(put, path = "/cloud-resources/thresholds", tag = "cloud",
    summary = "修改云资源空闲与过载阈值（管理员、运维经理）", request_body = Thresholds,
    responses((status = 200, description = "阈值", body = Thresholds), Invalid))]
pub async fn set_cloud_thresholds(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(t): Input<Thresholds>,
) -> AppResult<Json<Thresholds>> {
    Ok(Json(cloud::set_thresholds(&st.ctx, &u, t).await?))
}

#[utoipa::path(get, path = "/cloud-resources/{id}", tag = "cloud", summary = "云资源月度记录",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 200, description = "记录", body = super::openapi::Record), NotFound))]
pub async fn get_cloud(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (r, t) = cloud::get(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(Json(cloud::row_json(&r, &t)))
}

#[utoipa::path(delete, path = "/cloud-resources/{id}", tag = "cloud", summary = "删除云资源月度记录",
    params(("id" = i64, Path, description = "编号")),
    responses((status = 204, description = "已删除"), NotFound))]
pub async fn delete_cloud(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    cloud::delete(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
