//! Inventory records (sites, assets, systems, staff, assignments): list, read, create,
//! update, delete, history, import and export, all driven by the entity specs.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Paging;
use crate::domain::inventory as inv;
use crate::domain::roles::{Perm, Role};
use crate::error::{AppError, AppResult};
/// Today in Beijing (the ticket export names its file with it).
pub use crate::inventory::today;
use crate::inventory::{can_read, decorate, list_query, spec_of, trim_for_role};
use crate::store::entities::ListQuery;
use crate::transfer;
use crate::web::AppState;
use crate::web::auth::{ApiUser, require_perm};
use crate::web::extract::{ApiObject, parse_id};

/// The collections under `/{collection}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum Collection {
    Sites,
    Assets,
    Systems,
    Staff,
    Assignments,
    SlaPolicies,
}

/// A multipart file upload: the field `file`.
#[derive(utoipa::ToSchema)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[utoipa::path(
    get,
    path = "/{collection}",
    tag = "inventory",
    summary = "资产集合列表（字段筛选见各集合）",
    params(("collection" = inline(Collection), Path, description = "集合"), super::openapi::SearchQuery, ("sort" = Option<String>, Query, description = "排序字段，前加 - 为倒序")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(collection): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let spec = spec_of(&collection)?;
    if !can_read(spec, u.role) {
        return Err(AppError::forbidden());
    }
    let p = Paging::from_query(&q)?;
    let lq = list_query(&st.ctx, spec, &q, p.limit, p.offset)?;
    let (items, total) = st.store.list_entities(spec, &lq).await?;
    let t = today(&st.ctx);
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut m| {
            decorate(spec, &mut m, t);
            Value::Object(trim_for_role(spec, u.role, m))
        })
        .collect();
    Ok(Json(json!({"total": total, "items": items})))
}

#[utoipa::path(
    get,
    path = "/{collection}/{id}",
    tag = "inventory",
    summary = "记录详情",
    params(("collection" = inline(Collection), Path, description = "集合"), ("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((collection, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let spec = spec_of(&collection)?;
    if !can_read(spec, u.role) {
        return Err(AppError::forbidden());
    }
    let id = parse_id(&id)?;
    let mut item = st.store.get_entity(spec, id).await?;
    decorate(spec, &mut item, today(&st.ctx));
    if u.role != Role::Requester {
        match spec.name {
            "systems" => {
                item.insert(
                    "asset_ids".into(),
                    json!(st.store.system_asset_ids(id).await?),
                );
            }
            "assets" => {
                item.insert(
                    "system_ids".into(),
                    json!(st.store.asset_system_ids(id).await?),
                );
            }
            "staff" => {
                let (certs, docs) = super::team::staff_extras(&st, id).await?;
                item.insert("certificates".into(), certs);
                item.insert("documents".into(), docs);
            }
            _ => {}
        }
    }
    Ok(Json(Value::Object(trim_for_role(spec, u.role, item))))
}

#[utoipa::path(
    post,
    path = "/{collection}",
    tag = "inventory",
    summary = "新建记录",
    params(("collection" = inline(Collection), Path, description = "集合")),
    request_body = super::openapi::Record,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(collection): Path<String>,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    let spec = spec_of(&collection)?;
    let item = crate::inventory::create_record(&st, &u, spec, &obj).await?;
    Ok((StatusCode::CREATED, Json(Value::Object(item))).into_response())
}

#[utoipa::path(
    patch,
    path = "/{collection}/{id}",
    tag = "inventory",
    summary = "修改记录",
    params(("collection" = inline(Collection), Path, description = "集合"), ("id" = i64, Path, description = "编号", example = 1)),
    request_body = super::openapi::Record,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((collection, id)): Path<(String, String)>,
    ApiObject(obj): ApiObject,
) -> AppResult<Json<Value>> {
    let spec = spec_of(&collection)?;
    let item = crate::inventory::update_record(&st, &u, spec, parse_id(&id)?, &obj).await?;
    Ok(Json(Value::Object(item)))
}

#[utoipa::path(
    delete,
    path = "/{collection}/{id}",
    tag = "inventory",
    summary = "删除记录",
    params(("collection" = inline(Collection), Path, description = "集合"), ("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn remove(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((collection, id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let spec = spec_of(&collection)?;
    crate::inventory::delete_record(&st, &u, spec, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/{collection}/{id}/history",
    tag = "inventory",
    summary = "记录的修改历史",
    params(("collection" = inline(Collection), Path, description = "集合"), ("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn history(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((collection, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let spec = spec_of(&collection)?;
    require_perm(&u, Perm::ReadInventory)?;
    let id = parse_id(&id)?;
    st.store.get_entity(spec, id).await?;
    let rows = st
        .store
        .entity_history(spec.name, &id.to_string(), 200)
        .await?;
    Ok(Json(super::all_json(&rows, |r| r.to_json())))
}

#[utoipa::path(
    post,
    path = "/{collection}/import",
    tag = "inventory",
    summary = "导入 CSV 或 XLSX（有错误行则全部不导入）",
    params(("collection" = inline(Collection), Path, description = "集合")),
    request_body(content((FileUpload = "multipart/form-data"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn import(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(collection): Path<String>,
    req: Request,
) -> AppResult<Json<Value>> {
    let spec = inv::importable(&collection).ok_or(AppError::NotFound)?;
    require_perm(&u, Perm::WriteInventory)?;
    let (name, data) = super::read_import(req, &st).await?;
    Ok(Json(
        transfer::import_file(&st.ctx, &u, spec, &name, &data).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/{collection}/export",
    tag = "inventory",
    summary = "导出为 XLSX 或 CSV",
    params(("collection" = inline(Collection), Path, description = "集合"), ("format" = Option<String>, Query, description = "xlsx（默认）或 csv")),
    responses((status = 200, description = "文件", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/csv"))))
)]
pub async fn export(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(collection): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let spec = inv::importable(&collection).ok_or(AppError::NotFound)?;
    require_perm(&u, Perm::ExportInventory)?;
    let format = q.get("format").map(String::as_str).unwrap_or("xlsx");
    let (bytes, mime, file) = transfer::export_file(&st.ctx, spec, format).await?;
    Ok(crate::web::download::file(
        HeaderValue::from_static(mime),
        &file,
        bytes,
    ))
}

#[utoipa::path(
    get,
    path = "/inventory/summary",
    tag = "inventory",
    summary = "资产概览：分类数量、过保、申报与实数差异",
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn summary(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    require_perm(&u, Perm::ReadInventory)?;
    let s = crate::inventory::summary_as_of(&st.ctx, today(&st.ctx)).await?;
    Ok(Json(serde_json::to_value(s).map_err(anyhow::Error::from)?))
}

#[utoipa::path(
    get,
    path = "/systems/{id}/assets",
    tag = "inventory",
    summary = "系统运行所在设备",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn system_assets(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    require_perm(&u, Perm::ReadInventory)?;
    let id = parse_id(&id)?;
    st.store.get_entity(&inv::SYSTEMS, id).await?;
    let t = today(&st.ctx);
    let mut items = Vec::new();
    for aid in st.store.system_asset_ids(id).await? {
        let mut a = st.store.get_entity(&inv::ASSETS, aid).await?;
        decorate(&inv::ASSETS, &mut a, t);
        items.push(Value::Object(a));
    }
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[utoipa::path(
    put,
    path = "/systems/{id}/assets/{asset_id}",
    tag = "inventory",
    summary = "关联系统与设备",
    params(("id" = i64, Path, description = "编号", example = 1), ("asset_id" = i64, Path, description = "设备编号", example = 2)),
    responses((status = 204, description = "完成"))
)]
pub async fn link_asset(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, asset_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, asset_id) = (parse_id(&id)?, parse_id(&asset_id)?);
    crate::inventory::link_asset(&st, &u, id, asset_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/systems/{id}/assets/{asset_id}",
    tag = "inventory",
    summary = "取消关联",
    params(("id" = i64, Path, description = "编号", example = 1), ("asset_id" = i64, Path, description = "设备编号", example = 2)),
    responses((status = 204, description = "完成"))
)]
pub async fn unlink_asset(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, asset_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, asset_id) = (parse_id(&id)?, parse_id(&asset_id)?);
    crate::inventory::link_asset(&st, &u, id, asset_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/systems/{id}/assignments",
    tag = "inventory",
    summary = "系统的人员分工",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn system_assignments(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    require_perm(&u, Perm::ReadInventory)?;
    let id = parse_id(&id)?;
    st.store.get_entity(&inv::SYSTEMS, id).await?;
    let lq = ListQuery {
        limit: 100,
        offset: 0,
        filters: vec![("system_id".into(), id.to_string())],
        ..Default::default()
    };
    let (items, total) = st.store.list_entities(&inv::ASSIGNMENTS, &lq).await?;
    Ok(Json(json!({"total": total, "items": items})))
}
