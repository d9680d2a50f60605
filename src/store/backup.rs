//! Backup policies and runs (migration 0027).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::sql::{Columns, Filter, delete_by_id};
use super::{Store, StoreResult, Tx};
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
    /// The list's `WHERE` conditions: the search also matches the system's name or code.
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("p.system_id", self.system_id).when(
            "(LOWER(p.data_set) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(p.description, '')) LIKE ? ESCAPE '\\' \
             OR LOWER(COALESCE(p.location, '')) LIKE ? ESCAPE '\\' \
             OR p.system_id IN (SELECT id FROM systems WHERE LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(code) LIKE ? ESCAPE '\\'))",
            self.q.as_deref().map(super::like_pattern),
        );
        f
    }
}

/// The columns of a policy an edit may change (not its system or report token).
fn policy_columns(p: &Policy) -> Columns {
    Columns::new()
        .set("data_set", &p.data_set)
        .set("description", &p.description)
        .set("scope", p.scope.as_str())
        .set("method", p.method.as_str())
        .set("schedule", &p.schedule)
        .set("grace_minutes", p.grace_minutes)
        .set("retention_days", p.retention_days)
        .set("target", p.target.as_str())
        .set("location", &p.location)
        .set("encrypted", p.encrypted)
        .set("expected_min_bytes", p.expected_min_bytes)
        .set("expected_max_bytes", p.expected_max_bytes)
        .set("checksum_required", p.checksum_required)
        .set("shrink_percent", p.shrink_percent)
        .set("drill_cadence", p.drill_cadence.as_str())
        .set("note", &p.note)
}

impl Store {
    /// Every system's `(code, id)`.
    pub async fn system_codes(&self) -> StoreResult<Vec<(Option<String>, i64)>> {
        db::all(self.pool(), "SELECT code, id FROM systems ORDER BY id", ()).await
    }

    /// The declared data volume of a system: `None` when there is no such system.
    pub async fn system_volume_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<Option<f64>>> {
        let v: Option<(Option<f64>,)> = db::maybe(
            &mut **tx,
            "SELECT data_volume_gb FROM systems WHERE id = $1",
            id,
        )
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
        db::maybe_value(
            &mut **tx,
            "SELECT id FROM backup_policies WHERE system_id = $1 AND data_set = $2 AND id <> $3",
            (system_id, data_set.to_string(), except),
        )
        .await
    }

    /// The id of the built-in policy named `builtin`.
    pub async fn backup_policy_builtin_in(
        &self,
        tx: &mut Tx,
        builtin: &str,
    ) -> StoreResult<Option<i64>> {
        db::maybe_value(
            &mut **tx,
            "SELECT id FROM backup_policies WHERE builtin = $1",
            builtin.to_string(),
        )
        .await
    }

    /// Marks a policy as the built-in one named `builtin`.
    pub async fn set_backup_policy_builtin(
        &self,
        tx: &mut Tx,
        id: i64,
        builtin: &str,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE backup_policies SET builtin = $1 WHERE id = $2",
            (builtin.to_string(), id),
        )
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
        policy_columns(p)
            .set("system_id", p.system_id)
            .set("token_hash", token_hash)
            .set("created_by", created_by)
            .created(now_ms)
            .insert(tx, "backup_policies")
            .await
    }

    pub async fn update_backup_policy(
        &self,
        tx: &mut Tx,
        id: i64,
        p: &Policy,
        now_ms: i64,
    ) -> StoreResult<()> {
        policy_columns(p)
            .set("updated_at", now_ms)
            .update(tx, "backup_policies", id)
            .await
    }

    pub async fn set_backup_policy_token(
        &self,
        tx: &mut Tx,
        id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        Columns::new()
            .set("token_hash", token_hash)
            .set("updated_at", now_ms)
            .update(tx, "backup_policies", id)
            .await
    }

    pub async fn delete_backup_policy(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "backup_policies", id).await
    }

    pub async fn backup_policy_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<PolicyRow>> {
        let sql = format!("{POLICY_SELECT} WHERE p.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn backup_policy(&self, id: i64) -> StoreResult<PolicyRow> {
        let sql = format!("{POLICY_SELECT} WHERE p.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    /// The policy whose report token hashes to `token_hash`.
    pub async fn backup_policy_by_token_in(
        &self,
        tx: &mut Tx,
        token_hash: &str,
    ) -> StoreResult<Option<PolicyRow>> {
        let sql = format!("{POLICY_SELECT} WHERE p.token_hash = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), token_hash.to_string()).await
    }

    /// A page of policies by system code order, and how many match.
    pub async fn backup_policies(
        &self,
        f: &PolicyFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<PolicyRow>, i64)> {
        self.filtered_page(
            POLICY_SELECT,
            "backup_policies p",
            &f.filter(),
            "p.system_id, p.id",
            (limit, offset),
        )
        .await
    }

    /// How many runs a policy has.
    pub async fn backup_run_count_in(&self, tx: &mut Tx, id: i64) -> StoreResult<i64> {
        db::value(
            &mut **tx,
            "SELECT COUNT(*) FROM backup_runs WHERE policy_id = $1",
            id,
        )
        .await
    }
}
