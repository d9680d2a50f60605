//! Restore drills and the evidence files of drills and runs (migration 0028).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::sql::{Columns, Filter, delete_by_id};
use super::{Store, StoreResult, Tx};
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
    /// The list's `WHERE` conditions.
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("d.policy_id", self.policy_id)
            .when(
                "d.policy_id IN (SELECT id FROM backup_policies WHERE system_id = ?)",
                self.system_id,
            )
            .when("d.drilled_at >= ?", self.from_ms)
            .when("d.drilled_at < ?", self.to_ms)
            .eq("d.result", self.result.as_deref());
        f
    }
}

/// A drill's columns as entered.
fn drill_columns(d: &Drill) -> Columns {
    Columns::new()
        .set("policy_id", d.policy_id)
        .set("drilled_at", d.drilled_at)
        .set("scope", &d.scope)
        .set("target", &d.target)
        .set("duration_seconds", d.duration_seconds)
        .set("data_point", d.data_point)
        .set("result", d.result.as_str())
        .set("verifier", &d.verifier)
        .set("verifier_user_id", d.verifier_user_id)
        .set("note", &d.note)
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
        drill_columns(d)
            .set("created_by", created_by)
            .created(now_ms)
            .insert(tx, "restore_drills")
            .await
    }

    pub async fn update_restore_drill(
        &self,
        tx: &mut Tx,
        id: i64,
        d: &Drill,
        now_ms: i64,
    ) -> StoreResult<()> {
        drill_columns(d)
            .set("updated_at", now_ms)
            .update(tx, "restore_drills", id)
            .await
    }

    /// Deletes a drill and the records of its files; answers the files' stored paths.
    pub async fn delete_restore_drill(&self, tx: &mut Tx, id: i64) -> StoreResult<Vec<String>> {
        let paths: Vec<String> = db::values(
            &mut **tx,
            "SELECT stored_path FROM backup_evidence_files WHERE drill_id = $1",
            id,
        )
        .await?;
        db::exec(
            &mut **tx,
            "DELETE FROM backup_evidence_files WHERE drill_id = $1",
            id,
        )
        .await?;
        delete_by_id(tx, "restore_drills", id).await?;
        Ok(paths)
    }

    pub async fn restore_drill_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<DrillRow>> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn restore_drill(&self, id: i64) -> StoreResult<DrillRow> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    /// A page of drills, latest first, and how many match.
    pub async fn restore_drills(
        &self,
        f: &DrillFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DrillRow>, i64)> {
        self.filtered_page(
            SELECT,
            "restore_drills d",
            &f.filter(),
            "d.drilled_at DESC, d.id DESC",
            (limit, offset),
        )
        .await
    }

    /// Every drill in brief, latest first within each policy.
    pub async fn restore_drill_briefs(&self) -> StoreResult<Vec<DrillBrief>> {
        db::all(
            self.pool(),
            "SELECT policy_id, id, drilled_at, result FROM restore_drills \
             ORDER BY policy_id, drilled_at DESC, id DESC",
            (),
        )
        .await
    }

    /// How many drills a policy has.
    pub async fn restore_drill_count_in(&self, tx: &mut Tx, policy_id: i64) -> StoreResult<i64> {
        db::value(
            &mut **tx,
            "SELECT COUNT(*) FROM restore_drills WHERE policy_id = $1",
            policy_id,
        )
        .await
    }

    /// Whether user `id` exists.
    pub async fn user_exists_in(&self, tx: &mut Tx, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(&mut **tx, "SELECT COUNT(*) FROM users WHERE id = $1", id).await?;
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

/// How many backup runs have the id `$1` (0 or 1).
const RUN_COUNT: &str = "SELECT COUNT(*) FROM backup_runs WHERE id = $1";

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
        Columns::new()
            .set("drill_id", drill)
            .set("run_id", run)
            .stored_file(
                (f.file_name, f.content_type),
                f.size,
                f.sha256,
                f.stored_path,
                f.user,
            )
            .set("created_at", now_ms)
            .insert(tx, "backup_evidence_files")
            .await
    }

    pub async fn evidence_files(&self, owner: FileOwner) -> StoreResult<Vec<EvidenceFileRow>> {
        let sql = format!("{FILE} WHERE {} = $1 ORDER BY id", owner.column());
        db::all(self.pool(), AssertSqlSafe(sql), owner.id()).await
    }

    pub async fn evidence_file_count_in(&self, tx: &mut Tx, owner: FileOwner) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM backup_evidence_files WHERE {} = $1",
            owner.column()
        );
        db::value(&mut **tx, AssertSqlSafe(sql), owner.id()).await
    }

    pub async fn evidence_file_in(
        &self,
        tx: &mut Tx,
        owner: FileOwner,
        id: i64,
    ) -> StoreResult<Option<EvidenceFileRow>> {
        let sql = format!("{FILE} WHERE {} = $1 AND id = $2", owner.column());
        db::maybe(&mut **tx, AssertSqlSafe(sql), (owner.id(), id)).await
    }

    pub async fn evidence_file(&self, owner: FileOwner, id: i64) -> StoreResult<EvidenceFileRow> {
        let sql = format!("{FILE} WHERE {} = $1 AND id = $2", owner.column());
        db::one(self.pool(), AssertSqlSafe(sql), (owner.id(), id)).await
    }

    pub async fn delete_evidence_file(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "backup_evidence_files", id).await
    }

    /// Whether the backup run `id` exists (read on the use case's write transaction).
    pub async fn backup_run_exists_in(&self, tx: &mut Tx, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(&mut **tx, RUN_COUNT, id).await?;
        Ok(n > 0)
    }

    /// Whether the backup run `id` exists.
    pub async fn backup_run_exists(&self, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(self.pool(), RUN_COUNT, id).await?;
        Ok(n > 0)
    }
}
