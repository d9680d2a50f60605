//! Inspection findings and the tickets raised for them.

use sqlx::{AssertSqlSafe, FromRow};

use crate::store::db;
use crate::store::sql::{Columns, Filter};
use crate::store::{Store, StoreResult, Tx};

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

impl Store {
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
        Columns::new()
            .set("task_id", task_id)
            .set("item_key", item_key)
            .set("label", label)
            .set("detail", detail)
            .set("status", "open")
            .set("created_at", now_ms)
            .insert_new(tx, "inspection_findings")
            .await
    }

    /// Points a finding without a ticket at `ticket_id`; false when it has one already.
    pub async fn set_finding_ticket(
        &self,
        tx: &mut Tx,
        finding_id: i64,
        ticket_id: i64,
    ) -> StoreResult<bool> {
        let n = db::exec(
            &mut **tx,
            "UPDATE inspection_findings SET ticket_id = $1 WHERE id = $2 AND ticket_id IS NULL",
            (ticket_id, finding_id),
        )
        .await?;
        Ok(n == 1)
    }

    /// Findings still without a ticket (a crash between a submit and its tickets), with
    /// what their ticket needs: (finding id, task id).
    pub async fn findings_without_ticket(&self) -> StoreResult<Vec<(i64, i64)>> {
        db::all(
            self.pool(),
            "SELECT id, task_id FROM inspection_findings WHERE ticket_id IS NULL AND status = 'open' ORDER BY id LIMIT 500",
            (),
        )
        .await
    }

    /// Marks the findings of a resolved ticket rectified; answers how many changed.
    pub async fn rectify_findings_of_ticket(
        &self,
        conn: &mut crate::store::Conn,
        ticket_id: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        db::exec(
            &mut *conn,
            "UPDATE inspection_findings SET status = 'rectified', rectified_at = $1 \
             WHERE ticket_id = $2 AND status = 'open'",
            (now_ms, ticket_id),
        )
        .await
    }

    pub async fn inspection_findings(
        &self,
        task_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<FindingRow>, i64)> {
        let mut f = Filter::new();
        f.eq("f.task_id", task_id).eq("f.status", status);
        self.filtered_page(
            FINDING_SELECT,
            "inspection_findings f",
            &f,
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
        db::all(self.pool(), AssertSqlSafe(sql), (from_ms, to_ms)).await
    }

    pub async fn inspection_finding(&self, id: i64) -> StoreResult<Option<FindingRow>> {
        let sql = format!("{FINDING_SELECT} WHERE f.id = $1");
        db::maybe(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn inspection_findings_of_task_in(
        &self,
        tx: &mut Tx,
        task_id: i64,
    ) -> StoreResult<Vec<FindingRow>> {
        let sql = format!("{FINDING_SELECT} WHERE f.task_id = $1 ORDER BY f.id");
        db::all(&mut **tx, AssertSqlSafe(sql), task_id).await
    }
}
