//! Backup runs (migration 0027): reported by a job through its policy's URL, or recorded
//! by hand.

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::backup::RunValues;

#[derive(Clone, Debug, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub policy_id: i64,
    pub system_id: Option<i64>,
    pub system_name: Option<String>,
    pub data_set: Option<String>,
    pub status: String,
    pub source: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub size_bytes: Option<i64>,
    pub duration_seconds: Option<f64>,
    pub checksum: Option<String>,
    pub location: Option<String>,
    pub log_tail: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT r.id, r.policy_id, NULLIF(p.system_id, 0) AS system_id, COALESCE(s.name, CASE WHEN p.builtin IS NOT NULL THEN '运维平台（yunwei 自身）' END) AS system_name, p.data_set, \
     r.status, r.source, r.started_at, r.finished_at, r.size_bytes, r.duration_seconds, r.checksum, \
     r.location, r.log_tail, r.note, r.created_by, r.created_at, r.updated_at \
     FROM backup_runs r LEFT JOIN backup_policies p ON p.id = r.policy_id \
     LEFT JOIN systems s ON s.id = p.system_id";

/// A new run.
pub struct NewRun<'a> {
    pub policy_id: i64,
    pub status: &'a str,
    pub source: &'a str,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub values: &'a RunValues,
    pub note: Option<String>,
    pub created_by: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub policy_id: Option<i64>,
    pub system_id: Option<i64>,
    pub status: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl RunFilter {
    fn clause(&self) -> (String, Vec<String>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut args = Vec::new();
        if let Some(v) = self.policy_id {
            w.push(format!("r.policy_id = {v}"));
        }
        if let Some(v) = self.system_id {
            w.push(format!(
                "r.policy_id IN (SELECT id FROM backup_policies WHERE system_id = {v})"
            ));
        }
        if let Some(v) = self.from_ms {
            w.push(format!("r.started_at >= {v}"));
        }
        if let Some(v) = self.to_ms {
            w.push(format!("r.started_at < {v}"));
        }
        if let Some(v) = &self.status {
            args.push(v.clone());
            w.push("r.status = $1".to_string());
        }
        (w.join(" AND "), args)
    }
}

/// A float parameter as text, cast back in the SQL: sqlx's `Any` driver types a NULL
/// `f64` as `float4` on PostgreSQL, so a statement first prepared with a NULL fails for
/// every later value on that connection.
fn float_text(v: Option<f64>) -> Option<String> {
    v.map(|x| x.to_string())
}

impl Store {
    pub async fn insert_backup_run(
        &self,
        tx: &mut Tx,
        r: &NewRun<'_>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO backup_runs (policy_id, status, source, started_at, finished_at, size_bytes, \
             duration_seconds, checksum, location, log_tail, note, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), $8, $9, $10, $11, $12, $13, $13) \
             RETURNING id",
        )
        .bind(r.policy_id)
        .bind(r.status.to_string())
        .bind(r.source.to_string())
        .bind(r.started_at)
        .bind(r.finished_at)
        .bind(r.values.size_bytes)
        .bind(float_text(r.values.duration_seconds))
        .bind(r.values.checksum.clone())
        .bind(r.values.location.clone())
        .bind(r.values.log_tail.clone())
        .bind(r.note.clone())
        .bind(r.created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Ends a running run with its outcome and measured values.
    pub async fn finish_backup_run(
        &self,
        tx: &mut Tx,
        id: i64,
        status: &str,
        v: &RunValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE backup_runs SET status = $1, finished_at = $2, size_bytes = $3, duration_seconds = CAST($4 AS DOUBLE PRECISION), \
             checksum = $5, location = $6, log_tail = $7, updated_at = $2 WHERE id = $8 AND status = 'running'",
        )
        .bind(status.to_string())
        .bind(now_ms)
        .bind(v.size_bytes)
        .bind(float_text(v.duration_seconds))
        .bind(v.checksum.clone())
        .bind(v.location.clone())
        .bind(v.log_tail.clone())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The policy's latest run still running that started at or after `since`.
    pub async fn running_backup_run_in(
        &self,
        tx: &mut Tx,
        policy_id: i64,
        since: i64,
    ) -> StoreResult<Option<RunRow>> {
        let sql = format!(
            "{SELECT} WHERE r.policy_id = $1 AND r.status = 'running' AND r.started_at >= $2 \
             ORDER BY r.started_at DESC, r.id DESC LIMIT 1"
        );
        db::maybe(&mut **tx, AssertSqlSafe(sql), (policy_id, since)).await
    }

    pub async fn backup_run_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<RunRow>> {
        let sql = format!("{SELECT} WHERE r.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// A page of runs, latest first, and how many match.
    pub async fn backup_runs(
        &self,
        f: &RunFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<RunRow>, i64)> {
        let (w, args) = f.clause();
        let mut q = sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} WHERE {w} ORDER BY r.started_at DESC, r.id DESC LIMIT {limit} OFFSET {offset}"
        )));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows: Vec<RunRow> = q.fetch_all(self.pool()).await?;
        let mut c = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM backup_runs r WHERE {w}"
        )));
        for a in &args {
            c = c.bind(a.clone());
        }
        let total: i64 = c.fetch_one(self.pool()).await?;
        Ok((rows, total))
    }
}

impl Store {
    /// The `(size_bytes, has checksum)` of the policy's latest successful runs before the
    /// run `(started_at, id)`, latest first, at most `limit`.
    pub async fn backup_successes_before(
        &self,
        policy_id: i64,
        started_at: i64,
        id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(Option<i64>, i64)>> {
        let sql = format!(
            "SELECT size_bytes, CASE WHEN checksum IS NULL THEN 0 ELSE 1 END FROM backup_runs \
             WHERE policy_id = $1 AND status = 'success' AND (started_at < $2 OR (started_at = $2 AND id < $3)) \
             ORDER BY started_at DESC, id DESC LIMIT {limit}"
        );
        db::all(self.pool(), AssertSqlSafe(sql), (policy_id, started_at, id)).await
    }

    /// Whether the policy has a finished run that started after the run `(started_at, id)`.
    pub async fn backup_run_finished_after(
        &self,
        policy_id: i64,
        started_at: i64,
        id: i64,
    ) -> StoreResult<bool> {
        let n: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM backup_runs WHERE policy_id = $1 AND status <> 'running' \
             AND (started_at > $2 OR (started_at = $2 AND id > $3))",
            (policy_id, started_at, id),
        )
        .await?;
        Ok(n > 0)
    }

    /// Each policy's latest finish time of a run that ended (succeeded or failed).
    pub async fn backup_last_finish(&self) -> StoreResult<std::collections::HashMap<i64, i64>> {
        let rows: Vec<(i64, Option<i64>)> = db::all(
            self.pool(),
            "SELECT policy_id, MAX(finished_at) FROM backup_runs WHERE status <> 'running' \
             GROUP BY policy_id",
            (),
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(p, f)| f.map(|f| (p, f)))
            .collect())
    }
}
