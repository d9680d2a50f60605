//! Restore drills and the evidence files of drills and runs (migration 0028).

use sqlx::{AssertSqlSafe, FromRow};

use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::backup_drill::Drill;

#[derive(Clone, Debug, FromRow)]
pub struct DrillRow {
    pub id: i64,
    pub policy_id: i64,
    pub system_id: Option<i64>,
    pub system_name: Option<String>,
    pub data_set: Option<String>,
    pub drilled_at: i64,
    pub scope: String,
    pub target: String,
    pub duration_seconds: Option<i64>,
    pub data_point: Option<i64>,
    pub result: String,
    pub verifier: Option<String>,
    pub verifier_user_id: Option<i64>,
    pub verifier_username: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT d.id, d.policy_id, NULLIF(p.system_id, 0) AS system_id, COALESCE(s.name, CASE WHEN p.builtin IS NOT NULL THEN '运维平台（yunwei 自身）' END) AS system_name, p.data_set, \
     d.drilled_at, d.scope, d.target, d.duration_seconds, d.data_point, d.result, d.verifier, \
     d.verifier_user_id, u.display_name AS verifier_username, d.note, d.created_by, d.created_at, d.updated_at \
     FROM restore_drills d LEFT JOIN backup_policies p ON p.id = d.policy_id \
     LEFT JOIN systems s ON s.id = p.system_id LEFT JOIN users u ON u.id = d.verifier_user_id";

#[derive(Clone, Debug, Default)]
pub struct DrillFilter {
    pub policy_id: Option<i64>,
    pub system_id: Option<i64>,
    pub result: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl DrillFilter {
    fn clause(&self) -> (String, Vec<String>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut args = Vec::new();
        if let Some(v) = self.policy_id {
            w.push(format!("d.policy_id = {v}"));
        }
        if let Some(v) = self.system_id {
            w.push(format!(
                "d.policy_id IN (SELECT id FROM backup_policies WHERE system_id = {v})"
            ));
        }
        if let Some(v) = self.from_ms {
            w.push(format!("d.drilled_at >= {v}"));
        }
        if let Some(v) = self.to_ms {
            w.push(format!("d.drilled_at < {v}"));
        }
        if let Some(v) = &self.result {
            args.push(v.clone());
            w.push("d.result = $1".to_string());
        }
        (w.join(" AND "), args)
    }
}

/// A policy's drill, in brief: for its drill status.
#[derive(Clone, Debug, FromRow)]
pub struct DrillBrief {
    pub policy_id: i64,
    pub id: i64,
    pub drilled_at: i64,
    pub result: String,
}

impl Store {
    pub async fn insert_restore_drill(
        &self,
        tx: &mut Tx,
        d: &Drill,
        created_by: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO restore_drills (policy_id, drilled_at, scope, target, duration_seconds, \
             data_point, result, verifier, verifier_user_id, note, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(d.policy_id)
        .bind(d.drilled_at)
        .bind(d.scope.clone())
        .bind(d.target.clone())
        .bind(d.duration_seconds)
        .bind(d.data_point)
        .bind(d.result.as_str())
        .bind(d.verifier.clone())
        .bind(d.verifier_user_id)
        .bind(d.note.clone())
        .bind(created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn update_restore_drill(
        &self,
        tx: &mut Tx,
        id: i64,
        d: &Drill,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE restore_drills SET policy_id = $1, drilled_at = $2, scope = $3, target = $4, \
             duration_seconds = $5, data_point = $6, result = $7, verifier = $8, \
             verifier_user_id = $9, note = $10, updated_at = $11 WHERE id = $12",
        )
        .bind(d.policy_id)
        .bind(d.drilled_at)
        .bind(d.scope.clone())
        .bind(d.target.clone())
        .bind(d.duration_seconds)
        .bind(d.data_point)
        .bind(d.result.as_str())
        .bind(d.verifier.clone())
        .bind(d.verifier_user_id)
        .bind(d.note.clone())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a drill and the records of its files; answers the files' stored paths.
    pub async fn delete_restore_drill(&self, tx: &mut Tx, id: i64) -> StoreResult<Vec<String>> {
        let paths: Vec<String> =
            sqlx::query_scalar("SELECT stored_path FROM backup_evidence_files WHERE drill_id = $1")
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
        sqlx::query("DELETE FROM backup_evidence_files WHERE drill_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let n = sqlx::query("DELETE FROM restore_drills WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(paths)
    }

    pub async fn restore_drill_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<DrillRow>> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    pub async fn restore_drill(&self, id: i64) -> StoreResult<DrillRow> {
        sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A page of drills, latest first, and how many match.
    pub async fn restore_drills(
        &self,
        f: &DrillFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DrillRow>, i64)> {
        let (w, args) = f.clause();
        let mut q = sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} WHERE {w} ORDER BY d.drilled_at DESC, d.id DESC LIMIT {limit} OFFSET {offset}"
        )));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows: Vec<DrillRow> = q.fetch_all(self.pool()).await?;
        let mut c = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM restore_drills d WHERE {w}"
        )));
        for a in &args {
            c = c.bind(a.clone());
        }
        let total: i64 = c.fetch_one(self.pool()).await?;
        Ok((rows, total))
    }

    /// Every drill in brief, latest first within each policy.
    pub async fn restore_drill_briefs(&self) -> StoreResult<Vec<DrillBrief>> {
        Ok(sqlx::query_as(
            "SELECT policy_id, id, drilled_at, result FROM restore_drills \
             ORDER BY policy_id, drilled_at DESC, id DESC",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// How many drills a policy has.
    pub async fn restore_drill_count_in(&self, tx: &mut Tx, policy_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM restore_drills WHERE policy_id = $1")
                .bind(policy_id)
                .fetch_one(&mut **tx)
                .await?,
        )
    }

    /// Whether user `id` exists.
    pub async fn user_exists_in(&self, tx: &mut Tx, id: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(n > 0)
    }
}

// ---- evidence files -----------------------------------------------------------------------

/// What an evidence file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOwner {
    Drill(i64),
    Run(i64),
}

impl FileOwner {
    fn column(self) -> &'static str {
        match self {
            FileOwner::Drill(_) => "drill_id",
            FileOwner::Run(_) => "run_id",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            FileOwner::Drill(id) | FileOwner::Run(id) => id,
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct EvidenceFileRow {
    pub id: i64,
    pub drill_id: Option<i64>,
    pub run_id: Option<i64>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

const FILE: &str = "SELECT id, drill_id, run_id, file_name, content_type, size, sha256, stored_path, \
     uploaded_by_name, created_at FROM backup_evidence_files";

/// A new evidence file's record.
pub struct NewEvidenceFile<'a> {
    pub owner: FileOwner,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub stored_path: &'a str,
    pub user: (i64, &'a str),
}

impl Store {
    pub async fn insert_evidence_file(
        &self,
        tx: &mut Tx,
        f: &NewEvidenceFile<'_>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let (drill, run) = match f.owner {
            FileOwner::Drill(id) => (Some(id), None),
            FileOwner::Run(id) => (None, Some(id)),
        };
        Ok(sqlx::query_scalar(
            "INSERT INTO backup_evidence_files (drill_id, run_id, file_name, content_type, size, \
             sha256, stored_path, uploaded_by, uploaded_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(drill)
        .bind(run)
        .bind(f.file_name.to_string())
        .bind(f.content_type.to_string())
        .bind(f.size)
        .bind(f.sha256.to_string())
        .bind(f.stored_path.to_string())
        .bind(f.user.0)
        .bind(f.user.1.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn evidence_files(&self, owner: FileOwner) -> StoreResult<Vec<EvidenceFileRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{FILE} WHERE {} = $1 ORDER BY id",
            owner.column()
        )))
        .bind(owner.id())
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn evidence_file_count_in(&self, tx: &mut Tx, owner: FileOwner) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM backup_evidence_files WHERE {} = $1",
            owner.column()
        )))
        .bind(owner.id())
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn evidence_file_in(
        &self,
        tx: &mut Tx,
        owner: FileOwner,
        id: i64,
    ) -> StoreResult<Option<EvidenceFileRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{FILE} WHERE {} = $1 AND id = $2",
            owner.column()
        )))
        .bind(owner.id())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
    }

    pub async fn evidence_file(&self, owner: FileOwner, id: i64) -> StoreResult<EvidenceFileRow> {
        sqlx::query_as(AssertSqlSafe(format!(
            "{FILE} WHERE {} = $1 AND id = $2",
            owner.column()
        )))
        .bind(owner.id())
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn delete_evidence_file(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM backup_evidence_files WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether the backup run `id` exists (read on the use case's write transaction).
    pub async fn backup_run_exists_in(&self, tx: &mut Tx, id: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backup_runs WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(n > 0)
    }

    /// Whether the backup run `id` exists.
    pub async fn backup_run_exists(&self, id: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backup_runs WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }
}
