//! Inventory queries beyond plain records: the overview figures, declared-versus-counted
//! subtotals, and the "system runs on asset" relation.

use serde::Serialize;
use serde_json::json;

use super::audit::NewAuditEvent;
use super::db;
use super::{Actor, Store, StoreError, StoreResult};
use crate::domain::inventory::warranty_end_sql;

#[derive(Clone, Debug, Serialize)]
pub struct CategoryCount {
    pub category: String,
    pub rows: i64,
    pub quantity: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeclaredVsCounted {
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub scope: String,
    pub label: String,
    pub declared: i64,
    pub counted: i64,
    pub difference: i64,
    pub source: Option<String>,
}

/// site_id, site name, scope, label, declared, source, counted
type DeclaredRow = (
    Option<i64>,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
    i64,
);

#[derive(Clone, Debug, Serialize)]
pub struct InventorySummary {
    pub sites: i64,
    pub assets_rows: i64,
    pub assets_quantity: i64,
    pub by_category: Vec<CategoryCount>,
    pub warranty: serde_json::Value,
    pub systems: i64,
    pub systems_users: i64,
    pub systems_data_volume_gb: f64,
    pub staff: i64,
    pub slots: i64,
    pub slots_unfilled: i64,
    pub declared: Vec<DeclaredVsCounted>,
}

impl Store {
    /// Figures for the overview page. `today` and `soon` are `YYYY-MM-DD` (Beijing).
    pub async fn inventory_summary(
        &self,
        today: &str,
        soon: &str,
    ) -> StoreResult<InventorySummary> {
        let p = self.pool();
        let sites: i64 = db::value(p, "SELECT COUNT(*) FROM sites", ()).await?;
        let cats: Vec<(String, i64, i64)> = db::all(
            p,
            "SELECT category, COUNT(*), CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM assets GROUP BY category ORDER BY category",
            (),
        )
        .await?;
        let end = warranty_end_sql();
        let sql = format!(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN warranty_until IS NOT NULL AND {end} < $1 THEN quantity ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN warranty_until IS NOT NULL AND {end} >= $1 AND {end} <= $2 THEN quantity ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN warranty_until IS NOT NULL AND {end} > $2 THEN quantity ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN warranty_until IS NULL THEN quantity ELSE 0 END), 0) AS BIGINT) \
             FROM assets"
        );
        let (expired, expiring, valid, unknown): (i64, i64, i64, i64) = db::row(
            p,
            sqlx::AssertSqlSafe(sql),
            (today.to_string(), soon.to_string()),
        )
        .await?;
        let (systems, users, volume): (i64, i64, f64) = db::row(
            p,
            "SELECT COUNT(*), CAST(COALESCE(SUM(users_count), 0) AS BIGINT), CAST(COALESCE(SUM(data_volume_gb), 0) AS DOUBLE PRECISION) FROM systems",
            (),
        )
        .await?;
        let staff: i64 = db::value(p, "SELECT COUNT(*) FROM staff", ()).await?;
        let (slots, unfilled): (i64, i64) = db::row(
            p,
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN staff_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) FROM assignments",
            (),
        )
        .await?;
        let declared_rows: Vec<DeclaredRow> = db::all(
            p,
            "SELECT d.site_id, s.name, d.scope, d.label, d.declared, d.source, \
             CAST(COALESCE((SELECT SUM(a.quantity) FROM assets a \
             WHERE (d.site_id IS NULL OR a.site_id = d.site_id) \
             AND (a.category = d.scope OR (d.scope = 'devices' AND a.category <> 'environment'))), 0) AS BIGINT) \
             FROM declared_counts d LEFT JOIN sites s ON s.id = d.site_id ORDER BY d.id",
            (),
        )
        .await?;
        let assets_rows = cats.iter().map(|c| c.1).sum();
        let assets_quantity = cats.iter().map(|c| c.2).sum();
        Ok(InventorySummary {
            sites,
            assets_rows,
            assets_quantity,
            by_category: cats
                .into_iter()
                .map(|(category, rows, quantity)| CategoryCount {
                    category,
                    rows,
                    quantity,
                })
                .collect(),
            warranty: json!({"expired": expired, "expiring": expiring, "valid": valid, "unknown": unknown}),
            systems,
            systems_users: users,
            systems_data_volume_gb: volume,
            staff,
            slots,
            slots_unfilled: unfilled,
            declared: declared_rows
                .into_iter()
                .map(
                    |(site_id, site_name, scope, label, declared, source, counted)| {
                        DeclaredVsCounted {
                            site_id,
                            site_name,
                            scope,
                            label,
                            declared,
                            counted,
                            difference: counted - declared,
                            source,
                        }
                    },
                )
                .collect(),
        })
    }

    /// Records a figure a source document declares (demo loader and imports of tables).
    pub async fn add_declared_count(
        &self,
        site_id: Option<i64>,
        scope: &str,
        label: &str,
        declared: i64,
        source: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO declared_counts (site_id, scope, label, declared, source, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(site_id)
        .bind(scope.to_string())
        .bind(label.to_string())
        .bind(declared)
        .bind(source.to_string())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        NewAuditEvent::of(
            "create",
            "declared_counts",
            id,
            format!("登记申报数量：{label} {declared}"),
        )
        .after(json!({"scope": scope, "label": label, "declared": declared, "source": source}))
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(())
    }

    /// Ids of the assets a system runs on.
    pub async fn system_asset_ids(&self, system_id: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT asset_id FROM system_assets WHERE system_id = $1 ORDER BY asset_id",
            system_id,
        )
        .await
    }

    /// Ids of the systems that run on an asset.
    pub async fn asset_system_ids(&self, asset_id: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT system_id FROM system_assets WHERE asset_id = $1 ORDER BY system_id",
            asset_id,
        )
        .await
    }

    pub async fn link_system_asset(
        &self,
        system_id: i64,
        asset_id: i64,
        link: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for (table, id) in [("systems", system_id), ("assets", asset_id)] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
            let n: i64 = db::value(&mut *tx, sqlx::AssertSqlSafe(sql), id).await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
        }
        let changed = if link {
            db::exec(
                &mut *tx,
                "INSERT INTO system_assets (system_id, asset_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (system_id, asset_id) DO NOTHING",
                (system_id, asset_id, now_ms),
            )
            .await?
        } else {
            db::exec(
                &mut *tx,
                "DELETE FROM system_assets WHERE system_id = $1 AND asset_id = $2",
                (system_id, asset_id),
            )
            .await?
        };
        if changed == 0 {
            if link {
                return Ok(());
            }
            return Err(StoreError::NotFound);
        }
        NewAuditEvent::of(
            if link { "link" } else { "unlink" },
            "systems",
            system_id,
            if link {
                format!("系统 #{system_id} 关联运行设备 #{asset_id}")
            } else {
                format!("系统 #{system_id} 取消关联设备 #{asset_id}")
            },
        )
        .after(json!({"system_id": system_id, "asset_id": asset_id, "linked": link}))
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(())
    }
}
