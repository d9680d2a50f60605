//! Backup policies and runs (migration 0027).

use sqlx::{AssertSqlSafe, FromRow};

use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::backup::Policy;

#[derive(Clone, Debug, FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub system_id: i64,
    pub system_code: Option<String>,
    pub system_name: Option<String>,
    pub data_set: String,
    pub description: Option<String>,
    pub scope: String,
    pub method: String,
    pub schedule: String,
    pub grace_minutes: i64,
    pub retention_days: i64,
    pub target: String,
    pub location: Option<String>,
    pub encrypted: i64,
    pub expected_min_bytes: Option<i64>,
    pub expected_max_bytes: Option<i64>,
    pub checksum_required: i64,
    pub shrink_percent: i64,
    pub drill_cadence: String,
    pub note: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `self` for the built-in policy of yunwei's own backup (system_id 0), else `None`.
    pub builtin: Option<String>,
}

/// The built-in policy's `builtin` value.
pub const BUILTIN_SELF: &str = "self";

impl PolicyRow {
    /// The system backed up: `None` for a built-in policy (the platform itself).
    pub fn system(&self) -> Option<i64> {
        if self.builtin.is_some() {
            None
        } else {
            Some(self.system_id)
        }
    }
}

const POLICY_SELECT: &str = "SELECT p.id, p.system_id, s.code AS system_code, COALESCE(s.name, CASE WHEN p.builtin IS NOT NULL THEN '运维平台（yunwei 自身）' END) AS system_name, \
     p.data_set, p.description, p.scope, p.method, p.schedule, p.grace_minutes, p.retention_days, \
     p.target, p.location, p.encrypted, p.expected_min_bytes, p.expected_max_bytes, \
     p.checksum_required, p.shrink_percent, p.drill_cadence, p.note, p.created_by, p.created_at, \
     p.updated_at, p.builtin FROM backup_policies p LEFT JOIN systems s ON s.id = p.system_id";

#[derive(Clone, Debug, Default)]
pub struct PolicyFilter {
    pub system_id: Option<i64>,
    pub q: Option<String>,
}

impl PolicyFilter {
    fn clause(&self) -> (String, Vec<String>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut args = Vec::new();
        if let Some(v) = self.system_id {
            w.push(format!("p.system_id = {v}"));
        }
        if let Some(v) = &self.q {
            args.push(super::like_pattern(v));
            w.push(
                "(LOWER(p.data_set) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(p.description, '')) LIKE $1 ESCAPE '\\' \
                 OR LOWER(COALESCE(p.location, '')) LIKE $1 ESCAPE '\\' \
                 OR p.system_id IN (SELECT id FROM systems WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(code) LIKE $1 ESCAPE '\\'))"
                    .to_string(),
            );
        }
        (w.join(" AND "), args)
    }
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

impl Store {
    /// Every system's `(code, id)`.
    pub async fn system_codes(&self) -> StoreResult<Vec<(Option<String>, i64)>> {
        Ok(sqlx::query_as("SELECT code, id FROM systems ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    /// The declared data volume of a system: `None` when there is no such system.
    pub async fn system_volume_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<Option<f64>>> {
        let v: Option<(Option<f64>,)> =
            sqlx::query_as("SELECT data_volume_gb FROM systems WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(v.map(|(g,)| g))
    }

    /// The id of the policy of `system_id` named `data_set`, other than `except`.
    pub async fn backup_policy_named_in(
        &self,
        tx: &mut Tx,
        system_id: i64,
        data_set: &str,
        except: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM backup_policies WHERE system_id = $1 AND data_set = $2 AND id <> $3",
        )
        .bind(system_id)
        .bind(data_set.to_string())
        .bind(except)
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// The id of the built-in policy named `builtin`.
    pub async fn backup_policy_builtin_in(
        &self,
        tx: &mut Tx,
        builtin: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM backup_policies WHERE builtin = $1")
                .bind(builtin.to_string())
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    /// Marks a policy as the built-in one named `builtin`.
    pub async fn set_backup_policy_builtin(
        &self,
        tx: &mut Tx,
        id: i64,
        builtin: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE backup_policies SET builtin = $1 WHERE id = $2")
            .bind(builtin.to_string())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn insert_backup_policy(
        &self,
        tx: &mut Tx,
        p: &Policy,
        token_hash: &str,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO backup_policies (system_id, data_set, description, scope, method, schedule, \
             grace_minutes, retention_days, target, location, encrypted, expected_min_bytes, \
             expected_max_bytes, checksum_required, shrink_percent, drill_cadence, note, token_hash, \
             created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) \
             RETURNING id",
        )
        .bind(p.system_id)
        .bind(p.data_set.clone())
        .bind(p.description.clone())
        .bind(p.scope.as_str())
        .bind(p.method.as_str())
        .bind(p.schedule.clone())
        .bind(p.grace_minutes)
        .bind(p.retention_days)
        .bind(p.target.as_str())
        .bind(p.location.clone())
        .bind(flag(p.encrypted))
        .bind(p.expected_min_bytes)
        .bind(p.expected_max_bytes)
        .bind(flag(p.checksum_required))
        .bind(p.shrink_percent)
        .bind(p.drill_cadence.as_str())
        .bind(p.note.clone())
        .bind(token_hash.to_string())
        .bind(created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn update_backup_policy(
        &self,
        tx: &mut Tx,
        id: i64,
        p: &Policy,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE backup_policies SET data_set = $1, description = $2, scope = $3, method = $4, \
             schedule = $5, grace_minutes = $6, retention_days = $7, target = $8, location = $9, \
             encrypted = $10, expected_min_bytes = $11, expected_max_bytes = $12, \
             checksum_required = $13, shrink_percent = $14, drill_cadence = $15, note = $16, \
             updated_at = $17 WHERE id = $18",
        )
        .bind(p.data_set.clone())
        .bind(p.description.clone())
        .bind(p.scope.as_str())
        .bind(p.method.as_str())
        .bind(p.schedule.clone())
        .bind(p.grace_minutes)
        .bind(p.retention_days)
        .bind(p.target.as_str())
        .bind(p.location.clone())
        .bind(flag(p.encrypted))
        .bind(p.expected_min_bytes)
        .bind(p.expected_max_bytes)
        .bind(flag(p.checksum_required))
        .bind(p.shrink_percent)
        .bind(p.drill_cadence.as_str())
        .bind(p.note.clone())
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

    pub async fn set_backup_policy_token(
        &self,
        tx: &mut Tx,
        id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE backup_policies SET token_hash = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(token_hash.to_string())
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

    pub async fn delete_backup_policy(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM backup_policies WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn backup_policy_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<PolicyRow>> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{POLICY_SELECT} WHERE p.id = $1")))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    pub async fn backup_policy(&self, id: i64) -> StoreResult<PolicyRow> {
        sqlx::query_as(AssertSqlSafe(format!("{POLICY_SELECT} WHERE p.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The policy whose report token hashes to `token_hash`.
    pub async fn backup_policy_by_token_in(
        &self,
        tx: &mut Tx,
        token_hash: &str,
    ) -> StoreResult<Option<PolicyRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{POLICY_SELECT} WHERE p.token_hash = $1"
        )))
        .bind(token_hash.to_string())
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// A page of policies by system code order, and how many match.
    pub async fn backup_policies(
        &self,
        f: &PolicyFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<PolicyRow>, i64)> {
        let (w, args) = f.clause();
        let sql = format!(
            "{POLICY_SELECT} WHERE {w} ORDER BY p.system_id, p.id LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows: Vec<PolicyRow> = q.fetch_all(self.pool()).await?;
        let mut c = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM backup_policies p WHERE {w}"
        )));
        for a in &args {
            c = c.bind(a.clone());
        }
        let total: i64 = c.fetch_one(self.pool()).await?;
        Ok((rows, total))
    }

    /// How many runs a policy has.
    pub async fn backup_run_count_in(&self, tx: &mut Tx, id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM backup_runs WHERE policy_id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?,
        )
    }
}
