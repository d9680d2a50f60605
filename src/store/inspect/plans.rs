//! Inspection plans, and the targets and assignees their rounds are generated for.

use sqlx::{AssertSqlSafe, FromRow};

use super::conflict_on_unique;
use crate::store::db;
use crate::store::sql::{Columns, Filter, delete_by_id};
use crate::store::{Store, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub name: String,
    pub template_id: i64,
    pub target_mode: String,
    pub target_ids: String,
    pub category: Option<String>,
    pub schedule: String,
    pub due_minutes: i64,
    pub assignee_rule: String,
    pub assignee_id: Option<i64>,
    pub active: i64,
    pub generated_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const PLAN_COLS: &str = "id, name, template_id, target_mode, target_ids, category, schedule, due_minutes, \
     assignee_rule, assignee_id, active, generated_until, created_at, updated_at";

/// A plan's fields as written.
#[derive(Clone, Debug)]
pub struct PlanWrite {
    pub name: String,
    pub template_id: i64,
    pub target_mode: String,
    pub target_ids: String,
    pub category: Option<String>,
    pub schedule: String,
    pub due_minutes: i64,
    pub assignee_rule: String,
    pub assignee_id: Option<i64>,
    pub active: bool,
}

impl PlanWrite {
    /// The plan's columns as written.
    fn columns(&self) -> Columns {
        Columns::new()
            .set("name", &self.name)
            .set("template_id", self.template_id)
            .set("target_mode", &self.target_mode)
            .set("target_ids", &self.target_ids)
            .set("category", &self.category)
            .set("schedule", &self.schedule)
            .set("due_minutes", self.due_minutes)
            .set("assignee_rule", &self.assignee_rule)
            .set("assignee_id", self.assignee_id)
            .set("active", self.active)
    }
}

impl Store {
    pub async fn insert_inspection_plan(
        &self,
        tx: &mut Tx,
        p: &PlanWrite,
        now_ms: i64,
    ) -> StoreResult<i64> {
        p.columns()
            .created(now_ms)
            .insert(tx, "inspection_plans")
            .await
            .map_err(conflict_on_unique(&p.name, "巡检计划"))
    }

    /// Replaces a plan's fields; rounds already generated stay (`generated_until` is kept
    /// unless the schedule changed, then generation starts again from now).
    pub async fn update_inspection_plan(
        &self,
        tx: &mut Tx,
        id: i64,
        p: &PlanWrite,
        reset_generation: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut c = p.columns().set("updated_at", now_ms);
        if reset_generation {
            c = c.set("generated_until", None::<i64>);
        }
        c.update(tx, "inspection_plans", id)
            .await
            .map_err(conflict_on_unique(&p.name, "巡检计划"))
    }

    pub async fn delete_inspection_plan(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "inspection_plans", id).await
    }

    pub async fn inspection_plans(&self) -> StoreResult<Vec<PlanRow>> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn inspection_plan(&self, id: i64) -> StoreResult<PlanRow> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans WHERE id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn inspection_plan_in(&self, tx: &mut Tx, id: i64) -> StoreResult<PlanRow> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans WHERE id = $1");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn set_plan_generated_until(
        &self,
        tx: &mut Tx,
        id: i64,
        until_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE inspection_plans SET generated_until = $1 WHERE id = $2",
            (until_ms, id),
        )
        .await?;
        Ok(())
    }

    // ---- targets -------------------------------------------------------------------------

    /// The targets of a kind (`site`, `asset`, `system`): id, name and, for systems, the
    /// system itself. `ids` restricts to those ids; `category` restricts assets.
    pub async fn inspection_targets_in(
        &self,
        tx: &mut Tx,
        target_type: &str,
        ids: Option<&[i64]>,
        category: Option<&str>,
    ) -> StoreResult<Vec<(i64, String)>> {
        let table = match target_type {
            "site" => "sites",
            "asset" => "assets",
            "system" => "systems",
            _ => return Ok(Vec::new()),
        };
        if ids.is_some_and(<[i64]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut f = Filter::new();
        f.within("id", ids);
        if table == "assets" {
            f.eq("category", category);
        }
        let sql = format!("SELECT id, name FROM {table}{} ORDER BY id", f.clause());
        db::all(&mut **tx, AssertSqlSafe(sql), f.args()).await
    }

    /// The user assigned to a target in the inventory: for a system, the first filled
    /// staffing slot with an account; for an asset, that of a system it serves.
    pub async fn inspection_assignee_in(
        &self,
        tx: &mut Tx,
        target_type: &str,
        target_id: i64,
    ) -> StoreResult<Option<i64>> {
        let sql = match target_type {
            "system" => {
                "SELECT s.user_id FROM assignments a JOIN staff s ON s.id = a.staff_id \
                 JOIN users u ON u.id = s.user_id AND u.disabled = 0 \
                 WHERE a.system_id = $1 ORDER BY a.id LIMIT 1"
            }
            "asset" => {
                "SELECT s.user_id FROM system_assets sa JOIN assignments a ON a.system_id = sa.system_id \
                 JOIN staff s ON s.id = a.staff_id JOIN users u ON u.id = s.user_id AND u.disabled = 0 \
                 WHERE sa.asset_id = $1 ORDER BY a.id LIMIT 1"
            }
            _ => return Ok(None),
        };
        db::maybe_value(&mut **tx, sql, target_id).await
    }
}
