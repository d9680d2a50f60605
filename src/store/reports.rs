//! Generated documents and their files (migration 0015).

use sqlx::FromRow;

use super::db;
use super::{Store, StoreError, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub kind: String,
    pub period_label: String,
    pub period_from: i64,
    pub period_to: i64,
    pub format: String,
    pub params: String,
    pub status: String,
    pub file_name: String,
    pub size: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// A report about to be stored.
pub struct NewReport<'a> {
    pub kind: &'a str,
    pub period_label: &'a str,
    pub period_from: i64,
    pub period_to: i64,
    pub format: &'a str,
    pub params: &'a str,
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub created_by: &'a str,
}

const COLS: &str = "id, kind, period_label, period_from, period_to, format, params, status, file_name, size, created_by, created_at";

impl Store {
    pub async fn insert_report(
        &self,
        tx: &mut Tx,
        r: &NewReport<'_>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO reports (kind, period_label, period_from, period_to, format, params, status, file_name, content, size, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'done', $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(r.kind.to_string())
        .bind(r.period_label.to_string())
        .bind(r.period_from)
        .bind(r.period_to)
        .bind(r.format.to_string())
        .bind(r.params.to_string())
        .bind(r.file_name.to_string())
        .bind(r.content.to_vec())
        .bind(r.content.len() as i64)
        .bind(r.created_by.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn reports(&self, limit: i64, offset: i64) -> StoreResult<(Vec<ReportRow>, i64)> {
        let sql = format!("SELECT {COLS} FROM reports ORDER BY id DESC LIMIT $1 OFFSET $2");
        let rows = db::all(self.pool(), sqlx::AssertSqlSafe(sql), (limit, offset)).await?;
        let total = db::value(self.pool(), "SELECT COUNT(*) FROM reports", ()).await?;
        Ok((rows, total))
    }

    /// Whether a report of `kind` for the period starting at `period_from` with `params`
    /// was already generated.
    pub async fn report_exists(
        &self,
        kind: &str,
        period_from: i64,
        format: &str,
        params: &str,
    ) -> StoreResult<bool> {
        let n: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM reports WHERE kind = $1 AND period_from = $2 AND format = $3 AND params = $4",
            (kind.to_string(), period_from, format.to_string(), params.to_string()),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn report(&self, id: i64) -> StoreResult<ReportRow> {
        let sql = format!("SELECT {COLS} FROM reports WHERE id = $1");
        db::one(self.pool(), sqlx::AssertSqlSafe(sql), id).await
    }

    pub async fn report_content(&self, id: i64) -> StoreResult<Vec<u8>> {
        db::maybe_value(self.pool(), "SELECT content FROM reports WHERE id = $1", id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The tasks due in `[from, to)` of the given target types, oldest first, for reports.
    pub async fn inspection_tasks_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
        target_types: &[&str],
        plan_id: Option<i64>,
    ) -> StoreResult<Vec<super::inspect::TaskRow>> {
        let mut all = Vec::new();
        for tt in target_types {
            let f = super::inspect::TaskFilter {
                plan_id,
                from: Some(from_ms),
                to: Some(to_ms),
                target_type: Some((*tt).to_string()),
                ..Default::default()
            };
            let (rows, _) = self.inspection_tasks(&f, 100_000, 0).await?;
            all.extend(rows);
        }
        all.sort_by_key(|t| (t.due_at, t.id));
        Ok(all)
    }
}
