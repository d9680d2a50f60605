//! Inventory records (sites, assets, systems, staff, assignments): list, read, create,
//! update, delete, history, import and export, all driven by the entity specs.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde_json::{Map, Value, json};

use super::Paging;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::entity::EntitySpec;
use crate::domain::inventory::{
    self as inv, WARRANTY_WARNING_DAYS, warranty_end_sql, warranty_status,
};
use crate::domain::roles::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store::entities::{Arg, ListQuery};
use crate::transfer;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{ApiObject, parse_id};

/// The spec of a collection served here, or 404.
pub fn spec_of(collection: &str) -> AppResult<&'static EntitySpec> {
    match collection {
        "sites" => Ok(&inv::SITES),
        "assets" => Ok(&inv::ASSETS),
        "systems" => Ok(&inv::SYSTEMS),
        "staff" => Ok(&inv::STAFF),
        "assignments" => Ok(&inv::ASSIGNMENTS),
        "sla-policies" => Ok(&crate::domain::tickets::SLA_POLICIES),
        _ => Err(AppError::NotFound),
    }
}

/// Computed keys a client may send back unchanged.
const COMPUTED: &[&str] = &["warranty_status", "warranty_expired", "warranty_label"];

pub fn today(ctx: &Ctx) -> NaiveDate {
    ctx.clock.today()
}

/// Adds computed fields (warranty status of assets).
pub fn decorate(spec: &EntitySpec, item: &mut Map<String, Value>, today: NaiveDate) {
    if spec.name == "assets" {
        let ws = warranty_status(item.get("warranty_until").and_then(Value::as_str), today);
        item.insert("warranty_status".into(), json!(ws.as_str()));
        item.insert(
            "warranty_expired".into(),
            json!(ws == inv::WarrantyStatus::Expired),
        );
    }
}

fn can_read(spec: &EntitySpec, role: Role) -> bool {
    if spec.name == "systems" {
        role.can(Perm::ReadSystems)
    } else {
        role.can(Perm::ReadInventory)
    }
}

/// Requesters see only what they need to pick a system when reporting a fault.
fn trim_for_role(spec: &EntitySpec, role: Role, item: Map<String, Value>) -> Map<String, Value> {
    if spec.name == "systems" && role == Role::Requester {
        item.into_iter()
            .filter(|(k, _)| ["id", "code", "name", "owner_department"].contains(&k.as_str()))
            .collect()
    } else {
        item
    }
}

/// Builds the list query from URL parameters, refusing unsupported sorts and bad filters.
pub fn list_query(
    ctx: &Ctx,
    spec: &EntitySpec,
    q: &HashMap<String, String>,
) -> AppResult<ListQuery> {
    let p = Paging::from_query(q)?;
    let sort = match q.get("sort").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let (name, desc) = match s.strip_prefix('-') {
                Some(n) => (n, true),
                None => (s, false),
            };
            let ok = name == "id" || spec.field(name).is_some_and(|f| f.sortable);
            if !ok {
                let opts: Vec<&str> = spec
                    .fields
                    .iter()
                    .filter(|f| f.sortable)
                    .map(|f| f.name)
                    .collect();
                return Err(AppError::invalid(
                    "sort",
                    format!("不支持按“{name}”排序，可选：id、{}", opts.join("、")),
                ));
            }
            Some((name.to_string(), desc))
        }
    };
    let mut filters = Vec::new();
    for f in spec.fields.iter().filter(|f| f.filter) {
        if let Some(v) = q.get(f.name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            filters.push((f.name.to_string(), v.to_string()));
        }
    }
    let mut extra = Vec::new();
    if spec.name == "assets"
        && let Some(w) = q
            .get("warranty")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    {
        let t = today(ctx);
        let today_s = t.format("%Y-%m-%d").to_string();
        let soon_s = (t + Duration::days(WARRANTY_WARNING_DAYS))
            .format("%Y-%m-%d")
            .to_string();
        let end = warranty_end_sql();
        let cond = match w {
            "expired" => (
                format!("t.warranty_until IS NOT NULL AND {end} < ?"),
                vec![Arg::Text(Some(today_s))],
            ),
            "expiring" => (
                format!("t.warranty_until IS NOT NULL AND {end} >= ? AND {end} <= ?"),
                vec![Arg::Text(Some(today_s)), Arg::Text(Some(soon_s))],
            ),
            "valid" => (
                format!("t.warranty_until IS NOT NULL AND {end} > ?"),
                vec![Arg::Text(Some(soon_s))],
            ),
            "unknown" => ("t.warranty_until IS NULL".to_string(), vec![]),
            _ => {
                return Err(AppError::invalid(
                    "warranty",
                    "warranty 可选：expired、expiring、valid、unknown",
                ));
            }
        };
        extra.push(cond);
    }
    Ok(ListQuery {
        limit: p.limit,
        offset: p.offset,
        q: q.get("q").cloned(),
        sort,
        filters,
        extra,
    })
}

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
    let lq = list_query(&st.ctx, spec, &q)?;
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
            _ => {}
        }
    }
    Ok(Json(Value::Object(trim_for_role(spec, u.role, item))))
}

/// Whether the user may change this record: inventory writers always; an engineer only
/// the systems assigned to them and the assets those systems run on.
pub async fn may_write(
    ctx: &Ctx,
    u: &AuthUser,
    spec: &EntitySpec,
    id: Option<i64>,
) -> AppResult<()> {
    if u.role.can(Perm::WriteInventory) {
        return Ok(());
    }
    if u.role.can(Perm::WriteAssignedInventory)
        && let Some(id) = id
    {
        let ok = match spec.name {
            "systems" => ctx.store.assigned_system_ids(u.id).await?.contains(&id),
            "assets" => ctx.store.asset_in_systems(id, u.id).await?,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        return Err(AppError::Forbidden("只能修改分配给您的系统及其设备".into()));
    }
    Err(AppError::forbidden())
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
    may_write(&st.ctx, &u, spec, None).await?;
    let values = spec
        .validate_json(&obj, false, COMPUTED)
        .map_err(AppError::Validation)?;
    let mut item = st
        .store
        .create_entity(spec, values, &u.actor(), st.clock.now_ms())
        .await?;
    decorate(spec, &mut item, today(&st.ctx));
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
    let id = parse_id(&id)?;
    // 404 before 403 would leak existence to nobody who can read anyway; check existence first.
    if !can_read(spec, u.role) {
        return Err(AppError::forbidden());
    }
    st.store.get_entity(spec, id).await?;
    may_write(&st.ctx, &u, spec, Some(id)).await?;
    let values = spec
        .validate_json(&obj, true, COMPUTED)
        .map_err(AppError::Validation)?;
    let mut item = st
        .store
        .update_entity(spec, id, values, &u.actor(), st.clock.now_ms())
        .await?;
    decorate(spec, &mut item, today(&st.ctx));
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
    let id = parse_id(&id)?;
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    st.store
        .delete_entity(spec, id, &u.actor(), st.clock.now_ms())
        .await?;
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
    if !u.role.can(Perm::ReadInventory) {
        return Err(AppError::forbidden());
    }
    let id = parse_id(&id)?;
    st.store.get_entity(spec, id).await?;
    let rows = st
        .store
        .entity_history(spec.name, &id.to_string(), 200)
        .await?;
    let items: Vec<Value> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(json!({"total": items.len(), "items": items})))
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
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    let too_big = || {
        AppError::PayloadTooLarge(format!(
            "文件过大，最大 {} MB",
            st.config.max_import_bytes / 1024 / 1024
        ))
    };
    let (name, data) = crate::web::extract::read_upload(req, &st, too_big, "CSV 或 XLSX").await?;
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
    if !u.role.can(Perm::ExportInventory) {
        return Err(AppError::forbidden());
    }
    let format = q.get("format").map(String::as_str).unwrap_or("xlsx");
    let (bytes, mime, file) = transfer::export_file(&st.ctx, spec, format).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                crate::web::download::attachment(&file),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/inventory/summary",
    tag = "inventory",
    summary = "资产概览：分类数量、过保、申报与实数差异",
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn summary(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    if !u.role.can(Perm::ReadInventory) {
        return Err(AppError::forbidden());
    }
    let t = today(&st.ctx);
    let s = st
        .store
        .inventory_summary(
            &t.format("%Y-%m-%d").to_string(),
            &(t + Duration::days(WARRANTY_WARNING_DAYS))
                .format("%Y-%m-%d")
                .to_string(),
        )
        .await?;
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
    if !u.role.can(Perm::ReadInventory) {
        return Err(AppError::forbidden());
    }
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
    may_write(&st.ctx, &u, &inv::SYSTEMS, Some(id)).await?;
    st.store
        .link_system_asset(id, asset_id, true, &u.actor(), st.clock.now_ms())
        .await?;
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
    may_write(&st.ctx, &u, &inv::SYSTEMS, Some(id)).await?;
    st.store
        .link_system_asset(id, asset_id, false, &u.actor(), st.clock.now_ms())
        .await?;
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
    if !u.role.can(Perm::ReadInventory) {
        return Err(AppError::forbidden());
    }
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
