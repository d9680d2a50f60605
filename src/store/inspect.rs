//! Inspections: templates, plans, tasks and findings (migration 0014). Writes take the
//! caller's `Tx`; list pages read through the pool.

use sqlx::{AnyConnection, AssertSqlSafe, FromRow};

use super::entities::{Arg, bind_all_as};
use super::{Store, StoreError, StoreResult, Tx, is_unique_violation};

#[derive(Clone, Debug, FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub target_type: String,
    pub category: Option<String>,
    pub description: Option<String>,
    pub items: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TEMPLATE_COLS: &str =
    "id, name, target_type, category, description, items, created_at, updated_at";

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

#[derive(Clone, Debug, FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub plan_id: Option<i64>,
    pub template_id: i64,
    pub template_name: String,
    pub items: String,
    pub target_type: String,
    pub target_id: i64,
    pub target_name: String,
    pub system_id: Option<i64>,
    pub round_at: i64,
    pub due_at: i64,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub status: String,
    pub readings: String,
    pub started_at: Option<i64>,
    pub submitted_at: Option<i64>,
    pub reviewed_at: Option<i64>,
    pub reviewer_id: Option<i64>,
    pub review_comment: Option<String>,
    pub findings: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A task just marked overdue, with what its notice says.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueRow {
    pub id: i64,
    pub assignee_id: Option<i64>,
    pub template_name: String,
    pub target_name: String,
    pub system_id: Option<i64>,
    pub due_at: i64,
    pub assignee_name: Option<String>,
}

const TASK_SELECT: &str = "SELECT t.id, t.plan_id, t.template_id, t.template_name, t.items, t.target_type, \
     t.target_id, t.target_name, t.system_id, t.round_at, t.due_at, t.assignee_id, \
     u.display_name AS assignee_name, t.status, t.readings, t.started_at, t.submitted_at, \
     t.reviewed_at, t.reviewer_id, t.review_comment, t.findings, t.created_at, t.updated_at \
     FROM inspection_tasks t LEFT JOIN users u ON u.id = t.assignee_id";

/// A task about to be generated.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub plan_id: Option<i64>,
    pub template_id: i64,
    pub template_name: String,
    pub items: String,
    pub target_type: String,
    pub target_id: i64,
    pub target_name: String,
    pub system_id: Option<i64>,
    pub round_at: i64,
    pub due_at: i64,
    pub assignee_id: Option<i64>,
}

/// The filters of the task list.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub plan_id: Option<i64>,
    pub status: Option<String>,
    pub assignee_id: Option<i64>,
    /// Due at or after (ms).
    pub from: Option<i64>,
    /// Due before (ms).
    pub to: Option<i64>,
    pub target_type: Option<String>,
}

impl TaskFilter {
    fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Vec::new();
        let mut args = Vec::new();
        let mut add = |cond: &str, a: Arg, args: &mut Vec<Arg>| {
            args.push(a);
            w.push(cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(v) = self.plan_id {
            add("t.plan_id = ?", Arg::Int(Some(v)), &mut args);
        }
        if let Some(v) = &self.status {
            add("t.status = ?", Arg::Text(Some(v.clone())), &mut args);
        }
        if let Some(v) = self.assignee_id {
            add("t.assignee_id = ?", Arg::Int(Some(v)), &mut args);
        }
        if let Some(v) = self.from {
            add("t.due_at >= ?", Arg::Int(Some(v)), &mut args);
        }
        if let Some(v) = self.to {
            add("t.due_at < ?", Arg::Int(Some(v)), &mut args);
        }
        if let Some(v) = &self.target_type {
            add("t.target_type = ?", Arg::Text(Some(v.clone())), &mut args);
        }
        let clause = if w.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", w.join(" AND "))
        };
        (clause, args)
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct FindingRow {
    pub id: i64,
    pub task_id: i64,
    pub item_key: String,
    pub label: String,
    pub detail: String,
    pub ticket_id: Option<i64>,
    pub ticket_number: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub rectified_at: Option<i64>,
    pub target_type: String,
    pub target_name: String,
    pub system_id: Option<i64>,
}

const FINDING_SELECT: &str = "SELECT f.id, f.task_id, f.item_key, f.label, f.detail, f.ticket_id, \
     k.number AS ticket_number, f.status, f.created_at, f.rectified_at, t.target_type, t.target_name, t.system_id \
     FROM inspection_findings f JOIN inspection_tasks t ON t.id = f.task_id \
     LEFT JOIN tickets k ON k.id = f.ticket_id";

/// What the indicators need of one task (`domain::inspection::stats::TaskFact`).
#[derive(Clone, Debug, FromRow)]
pub struct TaskFactRow {
    pub target_type: String,
    pub system_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: String,
    pub due_at: i64,
    pub submitted_at: Option<i64>,
    pub findings: i64,
    pub rectified: i64,
}

fn conflict_on_unique(name: &str, what: &str) -> impl FnOnce(sqlx::Error) -> StoreError {
    let msg = format!("{what}名称“{name}”已被使用，请换一个名称");
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(msg)
        } else {
            e.into()
        }
    }
}

impl Store {
    // ---- templates -----------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_inspection_template(
        &self,
        tx: &mut Tx,
        name: &str,
        target_type: &str,
        category: Option<&str>,
        description: Option<&str>,
        items_json: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO inspection_templates (name, target_type, category, description, items, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(name.to_string())
        .bind(target_type.to_string())
        .bind(category.map(str::to_string))
        .bind(description.map(str::to_string))
        .bind(items_json.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await
        .map_err(conflict_on_unique(name, "模板"))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update_inspection_template(
        &self,
        tx: &mut Tx,
        id: i64,
        name: &str,
        target_type: &str,
        category: Option<&str>,
        description: Option<&str>,
        items_json: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE inspection_templates SET name = $1, target_type = $2, category = $3, description = $4, \
             items = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(name.to_string())
        .bind(target_type.to_string())
        .bind(category.map(str::to_string))
        .bind(description.map(str::to_string))
        .bind(items_json.to_string())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(conflict_on_unique(name, "模板"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// How many plans and tasks use a template.
    pub async fn inspection_template_uses_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> StoreResult<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inspection_plans WHERE template_id = $1), \
             (SELECT COUNT(*) FROM inspection_tasks WHERE template_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn delete_inspection_template(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM inspection_templates WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn inspection_templates(&self) -> StoreResult<Vec<TemplateRow>> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates ORDER BY id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn inspection_template(&self, id: i64) -> StoreResult<TemplateRow> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn inspection_template_in(
        conn: &mut AnyConnection,
        id: i64,
    ) -> StoreResult<TemplateRow> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn count_inspection_templates_in(conn: &mut AnyConnection) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM inspection_templates")
                .fetch_one(&mut *conn)
                .await?,
        )
    }

    // ---- plans ---------------------------------------------------------------------------

    pub async fn insert_inspection_plan(
        &self,
        tx: &mut Tx,
        p: &PlanWrite,
        now_ms: i64,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO inspection_plans (name, template_id, target_mode, target_ids, category, schedule, \
             due_minutes, assignee_rule, assignee_id, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(p.name.clone())
        .bind(p.template_id)
        .bind(p.target_mode.clone())
        .bind(p.target_ids.clone())
        .bind(p.category.clone())
        .bind(p.schedule.clone())
        .bind(p.due_minutes)
        .bind(p.assignee_rule.clone())
        .bind(p.assignee_id)
        .bind(i64::from(p.active))
        .bind(now_ms)
        .fetch_one(&mut **tx)
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
        let n = sqlx::query(
            "UPDATE inspection_plans SET name = $1, template_id = $2, target_mode = $3, target_ids = $4, \
             category = $5, schedule = $6, due_minutes = $7, assignee_rule = $8, assignee_id = $9, \
             active = $10, updated_at = $11, \
             generated_until = CASE WHEN $12 = 1 THEN NULL ELSE generated_until END WHERE id = $13",
        )
        .bind(p.name.clone())
        .bind(p.template_id)
        .bind(p.target_mode.clone())
        .bind(p.target_ids.clone())
        .bind(p.category.clone())
        .bind(p.schedule.clone())
        .bind(p.due_minutes)
        .bind(p.assignee_rule.clone())
        .bind(p.assignee_id)
        .bind(i64::from(p.active))
        .bind(now_ms)
        .bind(i64::from(reset_generation))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(conflict_on_unique(&p.name, "巡检计划"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_inspection_plan(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM inspection_plans WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn inspection_plans(&self) -> StoreResult<Vec<PlanRow>> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans ORDER BY id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn inspection_plan(&self, id: i64) -> StoreResult<PlanRow> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn inspection_plan_in(&self, tx: &mut Tx, id: i64) -> StoreResult<PlanRow> {
        let sql = format!("SELECT {PLAN_COLS} FROM inspection_plans WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn set_plan_generated_until(
        &self,
        tx: &mut Tx,
        id: i64,
        until_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE inspection_plans SET generated_until = $1 WHERE id = $2")
            .bind(until_ms)
            .bind(id)
            .execute(&mut **tx)
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
        let mut sql = format!("SELECT id, name FROM {table}");
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            conds.push(format!("id IN ({})", list.join(", ")));
        }
        if let (Some(c), "assets") = (category, table) {
            args.push(Arg::Text(Some(c.to_string())));
            conds.push(format!("category = ${}", args.len()));
        }
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(" ORDER BY id");
        Ok(bind_all_as(sqlx::query_as(AssertSqlSafe(sql)), &args)
            .fetch_all(&mut **tx)
            .await?)
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
        Ok(sqlx::query_scalar(sql)
            .bind(target_id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    // ---- tasks ---------------------------------------------------------------------------

    /// Inserts a task unless its plan already has it for that round and target; answers
    /// the new id, or `None` when it existed.
    pub async fn insert_inspection_task(
        &self,
        tx: &mut Tx,
        t: &NewTask,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO inspection_tasks (plan_id, template_id, template_name, items, target_type, target_id, \
             target_name, system_id, round_at, due_at, assignee_id, status, readings, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', '{}', $12, $12) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(t.plan_id)
        .bind(t.template_id)
        .bind(t.template_name.clone())
        .bind(t.items.clone())
        .bind(t.target_type.clone())
        .bind(t.target_id)
        .bind(t.target_name.clone())
        .bind(t.system_id)
        .bind(t.round_at)
        .bind(t.due_at)
        .bind(t.assignee_id)
        .bind(now_ms)
        .fetch_optional(&mut **tx)
        .await?)
    }

    pub async fn inspection_tasks(
        &self,
        f: &TaskFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<TaskRow>, i64)> {
        let (w, args) = f.where_clause();
        self.list_page(
            TASK_SELECT,
            "inspection_tasks t",
            &w,
            &args,
            "t.due_at DESC, t.id DESC",
            (limit, offset),
        )
        .await
    }

    pub async fn inspection_task(&self, id: i64) -> StoreResult<TaskRow> {
        let sql = format!("{TASK_SELECT} WHERE t.id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The task, locked for the rest of the transaction on PostgreSQL.
    pub async fn inspection_task_for_update(&self, tx: &mut Tx, id: i64) -> StoreResult<TaskRow> {
        let lock = match self.backend {
            crate::store::Backend::Postgres => " FOR UPDATE OF t",
            crate::store::Backend::Sqlite => "",
        };
        let sql = format!("{TASK_SELECT} WHERE t.id = $1{lock}");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn save_inspection_readings(
        &self,
        tx: &mut Tx,
        id: i64,
        readings_json: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE inspection_tasks SET readings = $1, updated_at = $2 WHERE id = $3")
            .bind(readings_json.to_string())
            .bind(now_ms)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Moves a task to `status`, stamping the time the status records.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_inspection_task_status(
        &self,
        tx: &mut Tx,
        id: i64,
        status: &str,
        reviewer: Option<(i64, Option<String>)>,
        findings: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (reviewer_id, comment) = reviewer.unwrap_or((0, None));
        sqlx::query(
            "UPDATE inspection_tasks SET status = $1, updated_at = $2, \
             started_at = CASE WHEN $1 = 'in_progress' AND started_at IS NULL THEN $2 ELSE started_at END, \
             submitted_at = CASE WHEN $1 = 'submitted' THEN $2 ELSE submitted_at END, \
             reviewed_at = CASE WHEN $1 IN ('approved', 'returned') THEN $2 ELSE reviewed_at END, \
             reviewer_id = CASE WHEN $1 IN ('approved', 'returned') THEN $3 ELSE reviewer_id END, \
             review_comment = CASE WHEN $1 IN ('approved', 'returned') THEN $4 ELSE review_comment END, \
             findings = COALESCE($5, findings) \
             WHERE id = $6",
        )
        .bind(status.to_string())
        .bind(now_ms)
        .bind(reviewer_id)
        .bind(comment)
        .bind(findings)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Marks the tasks whose due time has passed as overdue; answers them (id, assignee,
    /// target name).
    pub async fn mark_inspection_tasks_overdue(
        &self,
        tx: &mut Tx,
        now_ms: i64,
    ) -> StoreResult<Vec<OverdueRow>> {
        Ok(sqlx::query_as(
            "UPDATE inspection_tasks SET status = 'overdue', updated_at = $1 \
             WHERE status IN ('pending', 'in_progress') AND due_at < $1 \
             RETURNING id, assignee_id, template_name, target_name, system_id, due_at, \
             (SELECT display_name FROM users u WHERE u.id = inspection_tasks.assignee_id) AS assignee_name",
        )
        .bind(now_ms)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// The facts the indicators need, for the tasks due in `[from, to)`.
    pub async fn inspection_facts(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<TaskFactRow>> {
        Ok(sqlx::query_as(
            "SELECT t.target_type, t.system_id, t.assignee_id, t.status, t.due_at, t.submitted_at, \
             (SELECT COUNT(*) FROM inspection_findings f WHERE f.task_id = t.id) AS findings, \
             (SELECT COUNT(*) FROM inspection_findings f WHERE f.task_id = t.id AND f.status = 'rectified') AS rectified \
             FROM inspection_tasks t WHERE t.due_at >= $1 AND t.due_at < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?)
    }

    // ---- findings ------------------------------------------------------------------------

    /// Records a finding unless the task already has one for that item; answers the new
    /// id, or `None` when it existed.
    pub async fn insert_inspection_finding(
        &self,
        tx: &mut Tx,
        task_id: i64,
        item_key: &str,
        label: &str,
        detail: &str,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO inspection_findings (task_id, item_key, label, detail, status, created_at) \
             VALUES ($1, $2, $3, $4, 'open', $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(task_id)
        .bind(item_key.to_string())
        .bind(label.to_string())
        .bind(detail.to_string())
        .bind(now_ms)
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// Points a finding without a ticket at `ticket_id`; false when it has one already.
    pub async fn set_finding_ticket(
        &self,
        tx: &mut Tx,
        finding_id: i64,
        ticket_id: i64,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE inspection_findings SET ticket_id = $1 WHERE id = $2 AND ticket_id IS NULL",
        )
        .bind(ticket_id)
        .bind(finding_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Findings still without a ticket (a crash between a submit and its tickets), with
    /// what their ticket needs: (finding id, task id).
    pub async fn findings_without_ticket(&self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, task_id FROM inspection_findings WHERE ticket_id IS NULL AND status = 'open' ORDER BY id LIMIT 500",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Marks the findings of a resolved ticket rectified; answers how many changed.
    pub async fn rectify_findings_of_ticket(
        &self,
        conn: &mut AnyConnection,
        ticket_id: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE inspection_findings SET status = 'rectified', rectified_at = $1 \
             WHERE ticket_id = $2 AND status = 'open'",
        )
        .bind(now_ms)
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
    }

    pub async fn inspection_findings(
        &self,
        task_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<FindingRow>, i64)> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(t) = task_id {
            args.push(Arg::Int(Some(t)));
            conds.push(format!("f.task_id = ${}", args.len()));
        }
        if let Some(s) = status {
            args.push(Arg::Text(Some(s.to_string())));
            conds.push(format!("f.status = ${}", args.len()));
        }
        let w = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        self.list_page(
            FINDING_SELECT,
            "inspection_findings f",
            &w,
            &args,
            "f.id DESC",
            (limit, offset),
        )
        .await
    }

    /// The findings of the tasks due in `[from, to)`, oldest first.
    pub async fn inspection_findings_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<FindingRow>> {
        let sql = format!("{FINDING_SELECT} WHERE t.due_at >= $1 AND t.due_at < $2 ORDER BY f.id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn inspection_finding(&self, id: i64) -> StoreResult<Option<FindingRow>> {
        let sql = format!("{FINDING_SELECT} WHERE f.id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn inspection_findings_of_task_in(
        &self,
        tx: &mut Tx,
        task_id: i64,
    ) -> StoreResult<Vec<FindingRow>> {
        let sql = format!("{FINDING_SELECT} WHERE f.task_id = $1 ORDER BY f.id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(task_id)
            .fetch_all(&mut **tx)
            .await?)
    }

    // ---- photos ----------------------------------------------------------------------------

    pub async fn insert_inspection_photo(&self, tx: &mut Tx, p: &NewPhoto<'_>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO inspection_photos (task_id, item_key, file_name, content_type, size, sha256, \
             stored_path, uploaded_by, uploaded_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(p.task_id)
        .bind(p.item_key.to_string())
        .bind(p.file_name.to_string())
        .bind(p.content_type.to_string())
        .bind(p.size)
        .bind(p.sha256.to_string())
        .bind(p.stored_path.to_string())
        .bind(p.uploaded_by.0)
        .bind(p.uploaded_by.1.to_string())
        .bind(p.created_at)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// A task's photos, oldest first.
    pub async fn inspection_photos_in(
        conn: &mut AnyConnection,
        task_id: i64,
    ) -> StoreResult<Vec<PhotoRow>> {
        let sql =
            format!("SELECT {PHOTO_COLS} FROM inspection_photos WHERE task_id = $1 ORDER BY id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(task_id)
            .fetch_all(&mut *conn)
            .await?)
    }

    pub async fn inspection_photos(&self, task_id: i64) -> StoreResult<Vec<PhotoRow>> {
        let mut c = self.pool().acquire().await?;
        Self::inspection_photos_in(&mut c, task_id).await
    }

    pub async fn inspection_photo(&self, task_id: i64, id: i64) -> StoreResult<PhotoRow> {
        let sql =
            format!("SELECT {PHOTO_COLS} FROM inspection_photos WHERE task_id = $1 AND id = $2");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(task_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    // ---- monitors as evidence ------------------------------------------------------------

    /// Whether a monitor exists (template items bound to a monitor).
    pub async fn monitor_exists_in(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monitors WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        Ok(n > 0)
    }

    /// The latest result of each monitor that has one.
    pub async fn latest_monitor_results_in(
        conn: &mut AnyConnection,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, LatestResult>> {
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if out.contains_key(id) {
                continue;
            }
            let row: Option<LatestResult> = sqlx::query_as(
                "SELECT monitor_id, at, class, latency_ms FROM monitor_results \
                 WHERE monitor_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(*id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(r) = row {
                out.insert(*id, r);
            }
        }
        Ok(out)
    }

    pub async fn latest_monitor_results(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, LatestResult>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut c = self.pool().acquire().await?;
        Self::latest_monitor_results_in(&mut c, ids).await
    }
}

/// An inspection photo's record; the file is `stored_path` under the data directory.
#[derive(Clone, Debug, FromRow)]
pub struct PhotoRow {
    pub id: i64,
    pub task_id: i64,
    pub item_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

const PHOTO_COLS: &str = "id, task_id, item_key, file_name, content_type, size, sha256, stored_path, \
     uploaded_by, uploaded_by_name, created_at";

/// A photo about to be recorded.
#[derive(Clone, Debug)]
pub struct NewPhoto<'a> {
    pub task_id: i64,
    pub item_key: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub stored_path: &'a str,
    pub uploaded_by: (i64, &'a str),
    pub created_at: i64,
}

/// A monitor's latest result, as evidence for an inspection item.
#[derive(Clone, Debug, FromRow)]
pub struct LatestResult {
    pub monitor_id: i64,
    pub at: i64,
    /// up | down | maintenance | unknown
    pub class: String,
    pub latency_ms: Option<f64>,
}
