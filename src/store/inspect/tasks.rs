//! Inspection tasks: generation, the list, readings, status moves and the indicators' facts.

use sqlx::{AssertSqlSafe, FromRow};

use crate::store::db;
use crate::store::sql::{Columns, Filter};
use crate::store::{Store, StoreResult, Tx};

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
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("t.plan_id", self.plan_id)
            .eq("t.status", self.status.as_deref())
            .eq("t.assignee_id", self.assignee_id)
            .when("t.due_at >= ?", self.from)
            .when("t.due_at < ?", self.to)
            .eq("t.target_type", self.target_type.as_deref());
        f
    }
}

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

impl Store {
    /// Inserts a task unless its plan already has it for that round and target; answers
    /// the new id, or `None` when it existed.
    pub async fn insert_inspection_task(
        &self,
        tx: &mut Tx,
        t: &NewTask,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        Columns::new()
            .set("plan_id", t.plan_id)
            .set("template_id", t.template_id)
            .set("template_name", &t.template_name)
            .set("items", &t.items)
            .set("target_type", &t.target_type)
            .set("target_id", t.target_id)
            .set("target_name", &t.target_name)
            .set("system_id", t.system_id)
            .set("round_at", t.round_at)
            .set("due_at", t.due_at)
            .set("assignee_id", t.assignee_id)
            .set("status", "pending")
            .set("readings", "{}")
            .created(now_ms)
            .insert_new(tx, "inspection_tasks")
            .await
    }

    pub async fn inspection_tasks(
        &self,
        f: &TaskFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<TaskRow>, i64)> {
        self.filtered_page(
            TASK_SELECT,
            "inspection_tasks t",
            &f.filter(),
            "t.due_at DESC, t.id DESC",
            (limit, offset),
        )
        .await
    }

    pub async fn inspection_task(&self, id: i64) -> StoreResult<TaskRow> {
        let sql = format!("{TASK_SELECT} WHERE t.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    /// The task, locked for the rest of the transaction on PostgreSQL.
    pub async fn inspection_task_for_update(&self, tx: &mut Tx, id: i64) -> StoreResult<TaskRow> {
        let lock = match self.backend {
            crate::store::Backend::Postgres => " FOR UPDATE OF t",
            crate::store::Backend::Sqlite => "",
        };
        let sql = format!("{TASK_SELECT} WHERE t.id = $1{lock}");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn save_inspection_readings(
        &self,
        tx: &mut Tx,
        id: i64,
        readings_json: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE inspection_tasks SET readings = $1, updated_at = $2 WHERE id = $3",
            (readings_json.to_string(), now_ms, id),
        )
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
        db::all(
            &mut **tx,
            "UPDATE inspection_tasks SET status = 'overdue', updated_at = $1 \
             WHERE status IN ('pending', 'in_progress') AND due_at < $1 \
             RETURNING id, assignee_id, template_name, target_name, system_id, due_at, \
             (SELECT display_name FROM users u WHERE u.id = inspection_tasks.assignee_id) AS assignee_name",
            now_ms,
        )
        .await
    }

    /// The facts the indicators need, for the tasks due in `[from, to)`.
    pub async fn inspection_facts(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<TaskFactRow>> {
        db::all(
            self.pool(),
            "SELECT t.target_type, t.system_id, t.assignee_id, t.status, t.due_at, t.submitted_at, \
             (SELECT COUNT(*) FROM inspection_findings f WHERE f.task_id = t.id) AS findings, \
             (SELECT COUNT(*) FROM inspection_findings f WHERE f.task_id = t.id AND f.status = 'rectified') AS rectified \
             FROM inspection_tasks t WHERE t.due_at >= $1 AND t.due_at < $2",
            (from_ms, to_ms),
        )
        .await
    }
}
