//! Inventory records (sites, assets, systems, staff, assignments, SLA policies) as the API
//! and the pages use them: which collection a path names, who may read and change what,
//! list queries from URL parameters, computed fields, and the writes.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::entity::EntitySpec;
use crate::domain::inventory::{
    self as inv, WARRANTY_WARNING_DAYS, warranty_end_sql, warranty_status,
};
use crate::domain::roles::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store::entities::{Arg, ListQuery};

/// The spec of a collection served by the API and the pages, or 404.
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
const COMPUTED: &[&str] = &[
    "warranty_status",
    "warranty_expired",
    "warranty_label",
    "certificates",
    "documents",
];

/// Today in Beijing, for warranty states.
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

/// Systems are readable by more roles (requesters pick one when reporting a fault).
pub fn can_read(spec: &EntitySpec, role: Role) -> bool {
    if spec.name == "systems" {
        role.can(Perm::ReadSystems)
    } else {
        role.can(Perm::ReadInventory)
    }
}

/// Requesters see only what they need to pick a system when reporting a fault.
pub fn trim_for_role(
    spec: &EntitySpec,
    role: Role,
    item: Map<String, Value>,
) -> Map<String, Value> {
    if spec.name == "systems" && role == Role::Requester {
        item.into_iter()
            .filter(|(k, _)| ["id", "code", "name", "owner_department"].contains(&k.as_str()))
            .collect()
    } else {
        item
    }
}

/// Builds the list query from URL parameters (the page already checked), refusing
/// unsupported sorts and bad filters.
pub fn list_query(
    ctx: &Ctx,
    spec: &EntitySpec,
    q: &HashMap<String, String>,
    limit: i64,
    offset: i64,
) -> AppResult<ListQuery> {
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
        limit,
        offset,
        q: q.get("q").cloned(),
        sort,
        filters,
        extra,
    })
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

/// Creates a record from its JSON fields (computed fields sent back are ignored); returns
/// it with its computed fields.
pub async fn create_record(
    ctx: &Ctx,
    u: &AuthUser,
    spec: &'static EntitySpec,
    obj: &Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    may_write(ctx, u, spec, None).await?;
    let values = spec
        .validate_json(obj, false, COMPUTED)
        .map_err(AppError::Validation)?;
    let mut item = ctx
        .store
        .create_entity(spec, values, &u.actor(), ctx.clock.now_ms())
        .await?;
    decorate(spec, &mut item, today(ctx));
    Ok(item)
}

/// Changes the fields given of a record; 404 for a record that does not exist is answered
/// before whether the user may change it.
pub async fn update_record(
    ctx: &Ctx,
    u: &AuthUser,
    spec: &'static EntitySpec,
    id: i64,
    patch: &Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    if !can_read(spec, u.role) {
        return Err(AppError::forbidden());
    }
    ctx.store.get_entity(spec, id).await?;
    may_write(ctx, u, spec, Some(id)).await?;
    let values = spec
        .validate_json(patch, true, COMPUTED)
        .map_err(AppError::Validation)?;
    let mut item = ctx
        .store
        .update_entity(spec, id, values, &u.actor(), ctx.clock.now_ms())
        .await?;
    decorate(spec, &mut item, today(ctx));
    Ok(item)
}

/// Deletes a record (inventory writers only).
pub async fn delete_record(
    ctx: &Ctx,
    u: &AuthUser,
    spec: &'static EntitySpec,
    id: i64,
) -> AppResult<()> {
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    ctx.store
        .delete_entity(spec, id, &u.actor(), ctx.clock.now_ms())
        .await?;
    Ok(())
}

/// Links (or unlinks) a system and an asset it runs on.
pub async fn link_asset(
    ctx: &Ctx,
    u: &AuthUser,
    system_id: i64,
    asset_id: i64,
    linked: bool,
) -> AppResult<()> {
    may_write(ctx, u, &inv::SYSTEMS, Some(system_id)).await?;
    ctx.store
        .link_system_asset(system_id, asset_id, linked, &u.actor(), ctx.clock.now_ms())
        .await?;
    Ok(())
}

/// The inventory at a glance on `day` (Beijing), with the warranties ending within
/// `WARRANTY_WARNING_DAYS`: the summary of the API and of the platform owner's home page.
pub async fn summary_as_of(
    ctx: &Ctx,
    day: NaiveDate,
) -> AppResult<crate::store::inventory::InventorySummary> {
    let soon = day + Duration::days(WARRANTY_WARNING_DAYS);
    Ok(ctx
        .store
        .inventory_summary(
            &day.format("%Y-%m-%d").to_string(),
            &soon.format("%Y-%m-%d").to_string(),
        )
        .await?)
}
