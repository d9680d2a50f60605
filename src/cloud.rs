//! Cloud resources (云资源, service line 4.2.14.3) as a service: a month's utilisation
//! export imported with the inventory's import rules (bounded, CSV or XLSX, every bad row
//! and column reported, nothing imported when there is one), the rows listed with their
//! idle and over-used flags, the per-system summary with its trend, and the thresholds.
//!
//! Roles: the admin, the manager and operations staff (`operator`) import and delete; every
//! other role but the requester reads; the admin and the manager set the thresholds.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::cloud::{
    self as dc, Flag, IDLE_KEY, OVER_KEY, Summary, Thresholds, flags, previous_months,
};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::cloud::{CloudFilter, CloudRow};
use crate::store::entities::RowError;
use crate::transfer::records::{import_failed, read_upload_table};

pub fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

pub fn check_write(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager | Role::Operator) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub fn row_json(r: &CloudRow, t: &Thresholds) -> Value {
    let f = flags(&r.usage(), t);
    json!({
        "id": r.id, "name": r.name, "system_id": r.system_id, "system_name": r.system_name,
        "system_code": r.system_code, "period": r.period, "vcpu": r.vcpu,
        "memory_gb": r.memory_gb, "disk_gb": r.disk_gb, "cpu_avg": r.cpu_avg,
        "cpu_peak": r.cpu_peak, "mem_avg": r.mem_avg, "mem_peak": r.mem_peak,
        "disk_used": r.disk_used, "idle": f.idle, "overused": f.overused,
        "created_at": crate::clock::rfc3339(r.created_at),
    })
}

/// The thresholds in force (settings `cloud.idle_threshold`, `cloud.over_threshold`; 10 and
/// 85 when not set).
pub async fn thresholds(ctx: &Ctx) -> AppResult<Thresholds> {
    let idle = ctx.store.get_setting(IDLE_KEY).await?;
    let over = ctx.store.get_setting(OVER_KEY).await?;
    Ok(Thresholds::from_settings(idle.as_deref(), over.as_deref()))
}

/// `PUT /cloud-resources/thresholds`.
pub async fn set_thresholds(ctx: &Ctx, u: &AuthUser, t: Thresholds) -> AppResult<Thresholds> {
    if !matches!(u.role, Role::Admin | Role::Manager) {
        return Err(AppError::forbidden());
    }
    let errs = t.check();
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let now = ctx.clock.now_ms();
    let old = thresholds(ctx).await?;
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .put_setting_in(&mut tx, IDLE_KEY, &t.idle.to_string(), now)
        .await?;
    ctx.store
        .put_setting_in(&mut tx, OVER_KEY, &t.over.to_string(), now)
        .await?;
    NewAuditEvent::of(
        "update",
        "settings",
        "cloud.thresholds",
        format!(
            "修改云资源阈值：空闲 {}% → {}%，过载 {}% → {}%",
            old.idle, t.idle, old.over, t.over
        ),
    )
    .before(json!(old))
    .after(json!(t))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(t)
}

/// Imports a utilisation export in one transaction. The months in the file replace what
/// was stored for them; every bad row and column is reported and nothing is imported when
/// there is any.
pub async fn import(ctx: &Ctx, u: &AuthUser, file_name: &str, data: &[u8]) -> AppResult<Value> {
    check_write(u)?;
    let table = read_upload_table(ctx, data).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let mut by_key: HashMap<String, i64> = HashMap::new();
    for (id, name, code) in ctx.store.system_keys_in(&mut tx).await? {
        by_key.insert(name.trim().to_string(), id);
        if let Some(c) = code.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) {
            by_key.entry(c).or_insert(id);
        }
    }
    let lookup = |s: &str| by_key.get(s.trim()).copied();
    let rows = dc::parse_table(&table.headers, &table.rows, &lookup).map_err(|errs| {
        import_failed(
            errs.into_iter()
                .map(|e| RowError {
                    row: e.row,
                    column: e.column,
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    })?;
    let periods = dc::per_period(&rows);
    let mut replaced: u64 = 0;
    for p in periods.keys() {
        replaced += ctx.store.delete_cloud_period(&mut tx, p).await?;
    }
    for (_, r) in &rows {
        ctx.store.insert_cloud_resource(&mut tx, r, now).await?;
    }
    let months: Vec<String> = periods.keys().cloned().collect();
    let message = if replaced > 0 {
        format!(
            "已导入 {} 条云资源记录；{} 原有的 {replaced} 条记录已被本次导入替换",
            rows.len(),
            months.join("、")
        )
    } else {
        format!(
            "已导入 {} 条云资源记录（{}）",
            rows.len(),
            months.join("、")
        )
    };
    let answer = json!({
        "imported": rows.len(), "periods": periods, "replaced": replaced, "message": message,
    });
    let shown: String = file_name.chars().take(200).collect();
    NewAuditEvent::about(
        "import",
        "cloud_resources",
        format!("导入云资源利用率（{shown}）：{message}"),
    )
    .after(answer.clone())
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(answer)
}

/// The list's filters as given: `period` (YYYY-MM), `system_id`, `flag` (idle, overused).
pub struct ListQuery {
    pub period: Option<String>,
    pub system_id: Option<i64>,
    pub flag: Option<String>,
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    q: ListQuery,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<CloudRow>, i64, Thresholds)> {
    check_read(u)?;
    let mut errs = Vec::new();
    let period = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(p) => {
            let v = dc::parse_period(p);
            if v.is_none() {
                errs.push(crate::domain::FieldError::new(
                    "period",
                    "月份应写作 2025-11 这样的年-月",
                ));
            }
            v
        }
    };
    let flag = match q.flag.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(f) => {
            let v = Flag::parse(f);
            if v.is_none() {
                errs.push(crate::domain::FieldError::new(
                    "flag",
                    "flag 可选：idle（空闲）、overused（过载）",
                ));
            }
            v
        }
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let t = thresholds(ctx).await?;
    let f = CloudFilter {
        period,
        system_id: q.system_id,
        flag,
        thresholds: t,
    };
    let (rows, total) = ctx.store.cloud_resources(&f, limit, offset).await?;
    Ok((rows, total, t))
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(CloudRow, Thresholds)> {
    check_read(u)?;
    let r = ctx.store.cloud_resource(id).await?;
    Ok((r, thresholds(ctx).await?))
}

pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_write(u)?;
    let now = ctx.clock.now_ms();
    let t = thresholds(ctx).await?;
    let mut tx = ctx.store.write_tx().await?;
    let old = ctx
        .store
        .cloud_resource_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.store.delete_cloud_resource(&mut tx, id).await?;
    NewAuditEvent::of(
        "delete",
        "cloud_resources",
        id,
        format!("删除云资源记录 {}（{}）", old.name, old.period),
    )
    .before(row_json(&old, &t))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(())
}

/// A month's summary with the names of its systems.
pub struct SummaryData {
    pub summary: Summary,
    pub names: HashMap<i64, String>,
    /// The month's rows (for the flagged-resource tables of the report).
    pub rows: Vec<CloudRow>,
}

/// The summary of `period` (YYYY-MM) per system, with the previous 3 months as its trend.
pub async fn summary_data(ctx: &Ctx, period: &str) -> AppResult<SummaryData> {
    let Some(period) = dc::parse_period(period) else {
        return Err(AppError::invalid(
            "period",
            "月份应写作 2025-11 这样的年-月",
        ));
    };
    let t = thresholds(ctx).await?;
    let previous = previous_months(&period, 3);
    let mut months = previous.clone();
    months.push(period.clone());
    let all = ctx.store.cloud_resources_of(&months).await?;
    let facts: Vec<dc::Fact> = all.iter().map(CloudRow::fact).collect();
    let summary = dc::summarize(&period, &previous, &facts, &t);
    let names: HashMap<i64, String> = ctx.store.system_names().await?.into_iter().collect();
    let rows = all.into_iter().filter(|r| r.period == period).collect();
    Ok(SummaryData {
        summary,
        names,
        rows,
    })
}

pub async fn summary(ctx: &Ctx, u: &AuthUser, period: &str) -> AppResult<Value> {
    check_read(u)?;
    let d = summary_data(ctx, period).await?;
    let mut v = serde_json::to_value(&d.summary).map_err(anyhow::Error::from)?;
    if let Some(systems) = v.get_mut("systems").and_then(Value::as_array_mut) {
        for s in systems {
            let name = s
                .get("system_id")
                .and_then(Value::as_i64)
                .and_then(|id| d.names.get(&id).cloned());
            if let Some(o) = s.as_object_mut() {
                o.insert("system_name".into(), json!(name));
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "threshold_settings".into(),
            json!({"idle": IDLE_KEY, "over": OVER_KEY}),
        );
    }
    Ok(v)
}
