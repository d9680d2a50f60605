//! Requirements and improvements (migration 0018).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::sql::{Columns, Filter};
use super::{Store, StoreError, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct RequirementRow {
    pub id: i64,
    pub system_id: Option<i64>,
    pub system_name: Option<String>,
    pub line_id: Option<i64>,
    pub line_code: Option<String>,
    pub line_name: Option<String>,
    pub source: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub status: String,
    pub proposer_name: Option<String>,
    pub proposer_org: Option<String>,
    pub planned_date: Option<String>,
    /// JSON arrays.
    pub ticket_ids: String,
    pub history: String,
    pub created_by: i64,
    pub created_by_name: Option<String>,
    pub status_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT q.id, q.system_id, s.name AS system_name, q.line_id, l.code AS line_code, \
     l.name AS line_name, q.source, q.title, q.description, q.priority, q.status, q.proposer_name, \
     q.proposer_org, q.planned_date, q.ticket_ids, q.history, q.created_by, \
     u.display_name AS created_by_name, q.status_at, q.created_at, q.updated_at \
     FROM requirements q LEFT JOIN systems s ON s.id = q.system_id \
     LEFT JOIN service_lines l ON l.id = q.line_id LEFT JOIN users u ON u.id = q.created_by";

/// A requirement's editable fields as stored.
pub struct RequirementValues {
    pub system_id: Option<i64>,
    pub line_id: Option<i64>,
    pub source: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub proposer_name: Option<String>,
    pub proposer_org: Option<String>,
    pub planned_date: Option<String>,
    /// A JSON array.
    pub ticket_ids: String,
}

/// The list's filters; `created_by`, when set, limits the list to one proposer's (a
/// requester's own).
#[derive(Clone, Debug, Default)]
pub struct RequirementFilter {
    pub status: Option<String>,
    pub system_id: Option<i64>,
    pub line_id: Option<i64>,
    pub source: Option<String>,
    pub q: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub created_by: Option<i64>,
}

impl RequirementFilter {
    /// The list's `WHERE` conditions.
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("q.system_id", self.system_id)
            .eq("q.line_id", self.line_id)
            .when("q.created_at >= ?", self.from_ms)
            .when("q.created_at < ?", self.to_ms)
            .eq("q.created_by", self.created_by)
            .eq("q.status", self.status.as_deref())
            .eq("q.source", self.source.as_deref())
            .search(
                &[
                    "q.title",
                    "COALESCE(q.description, '')",
                    "COALESCE(q.proposer_name, '')",
                    "COALESCE(q.proposer_org, '')",
                ],
                self.q.as_deref(),
            );
        f
    }
}

impl RequirementValues {
    /// The editable columns.
    fn columns(&self) -> Columns {
        Columns::new()
            .set("system_id", self.system_id)
            .set("line_id", self.line_id)
            .set("source", &self.source)
            .set("title", &self.title)
            .set("description", &self.description)
            .set("priority", &self.priority)
            .set("proposer_name", &self.proposer_name)
            .set("proposer_org", &self.proposer_org)
            .set("planned_date", &self.planned_date)
            .set("ticket_ids", &self.ticket_ids)
    }
}

impl Store {
    pub async fn insert_requirement(
        &self,
        tx: &mut Tx,
        v: &RequirementValues,
        status: &str,
        history: &str,
        created_by: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        v.columns()
            .set("status", status)
            .set("history", history)
            .set("created_by", created_by)
            .set("status_at", now_ms)
            .created(now_ms)
            .insert(tx, "requirements")
            .await
    }

    pub async fn update_requirement(
        &self,
        tx: &mut Tx,
        id: i64,
        v: &RequirementValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        v.columns()
            .set("updated_at", now_ms)
            .update(tx, "requirements", id)
            .await
    }

    /// Moves a requirement to `status` with its new history, if it still stands at `from`
    /// (a conflict otherwise: someone moved it meanwhile).
    pub async fn set_requirement_status(
        &self,
        tx: &mut Tx,
        id: i64,
        from: &str,
        status: &str,
        history: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE requirements SET status = $1, history = $2, status_at = $3, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(status.to_string())
        .bind(history.to_string())
        .bind(now_ms)
        .bind(id)
        .bind(from.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(
                "需求状态已被他人变更，请刷新后重试".into(),
            ));
        }
        Ok(())
    }

    pub async fn requirement(&self, id: i64) -> StoreResult<RequirementRow> {
        let sql = format!("{SELECT} WHERE q.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn requirement_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> StoreResult<Option<RequirementRow>> {
        let sql = format!("{SELECT} WHERE q.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// A page of requirements, newest first, and how many match.
    pub async fn requirements(
        &self,
        f: &RequirementFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<RequirementRow>, i64)> {
        self.filtered_page(
            SELECT,
            "requirements q",
            &f.filter(),
            "q.created_at DESC, q.id DESC",
            (limit, offset),
        )
        .await
    }

    /// The requirements open at some time in `[from, to)`: proposed before `to`, and not
    /// verified or rejected before `from`; oldest first. Optionally of one line or system.
    pub async fn requirements_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
        line_id: Option<i64>,
        system_id: Option<i64>,
    ) -> StoreResult<Vec<RequirementRow>> {
        let mut w = format!(
            "q.created_at < {to_ms} AND (q.status NOT IN ('verified', 'rejected') OR q.status_at >= {from_ms})"
        );
        if let Some(l) = line_id {
            w.push_str(&format!(" AND q.line_id = {l}"));
        }
        if let Some(s) = system_id {
            w.push_str(&format!(" AND q.system_id = {s}"));
        }
        let sql = format!("{SELECT} WHERE {w} ORDER BY q.created_at, q.id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    /// The kinds of those of `ids` that are tickets: `(id, number, kind)`.
    pub async fn ticket_kinds_in(
        &self,
        tx: &mut Tx,
        ids: &[i64],
    ) -> StoreResult<Vec<(i64, String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT id, number, kind FROM tickets WHERE id IN ({})",
            list.join(", ")
        );
        db::all(&mut **tx, AssertSqlSafe(sql), ()).await
    }
}
