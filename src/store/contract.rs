//! The contract record and the deliverables register (migration 0023): the record's one
//! row, deliverables, the instances that have a version or a review, their versions and
//! the overdue alerts sent.

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::sql::{Columns, Filter};
use super::{Store, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct ContractRow {
    pub body: String,
    pub updated_by: Option<i64>,
    pub updated_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct DeliverableRow {
    pub id: i64,
    pub section: String,
    pub name: String,
    pub area: String,
    pub line_id: Option<i64>,
    pub line_code: Option<String>,
    pub line_name: Option<String>,
    pub cadence: String,
    pub due_anchor: String,
    pub due_days: i64,
    pub due_working: i64,
    pub report_kind: Option<String>,
    pub outline: Option<String>,
    pub note: Option<String>,
    pub sort_order: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT d.id, d.section, d.name, d.area, d.line_id, l.code AS line_code, \
     l.name AS line_name, d.cadence, d.due_anchor, d.due_days, d.due_working, d.report_kind, d.outline, \
     d.note, d.sort_order, d.created_at, d.updated_at \
     FROM deliverables d LEFT JOIN service_lines l ON l.id = d.line_id";

/// A deliverable's fields as stored.
pub struct DeliverableValues {
    pub section: String,
    pub name: String,
    pub area: String,
    pub line_id: Option<i64>,
    pub cadence: String,
    pub due_anchor: String,
    pub due_days: i64,
    pub due_working: bool,
    pub report_kind: Option<String>,
    pub outline: Option<String>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DeliverableFilter {
    pub area: Option<String>,
    pub line_id: Option<i64>,
    pub cadence: Option<String>,
    pub q: Option<String>,
}

impl DeliverableFilter {
    /// The list's `WHERE` conditions.
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("d.line_id", self.line_id)
            .eq("d.area", self.area.as_deref())
            .eq("d.cadence", self.cadence.as_deref())
            .search(&["d.name", "d.section"], self.q.as_deref());
        f
    }
}

impl DeliverableValues {
    /// The editable columns.
    fn columns(&self) -> Columns {
        Columns::new()
            .set("section", &self.section)
            .set("name", &self.name)
            .set("area", &self.area)
            .set("line_id", self.line_id)
            .set("cadence", &self.cadence)
            .set("due_anchor", &self.due_anchor)
            .set("due_days", self.due_days)
            .set("due_working", self.due_working)
            .set("report_kind", &self.report_kind)
            .set("outline", &self.outline)
            .set("note", &self.note)
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct InstanceRow {
    pub id: i64,
    pub deliverable_id: i64,
    pub period_key: String,
    pub status: String,
    pub history: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub instance_id: i64,
    pub number: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub report_id: Option<i64>,
    pub submitted_by: i64,
    pub submitted_by_name: String,
    pub created_at: i64,
}

/// A new version's file as stored.
pub struct NewVersion<'a> {
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub stored_path: &'a str,
    pub report_id: Option<i64>,
    pub submitted_by: i64,
    pub submitted_by_name: &'a str,
}

/// The contract record (a single row).
const CONTRACT_RECORD: &str =
    "SELECT body, updated_by, updated_at FROM contract_record WHERE id = 1";

/// The versions of the instance `$1`, oldest first.
const INSTANCE_VERSIONS: &str =
    "SELECT * FROM deliverable_versions WHERE instance_id = $1 ORDER BY number";

impl Store {
    pub async fn contract_record(&self) -> StoreResult<Option<ContractRow>> {
        db::maybe(self.pool(), CONTRACT_RECORD, ()).await
    }

    pub async fn contract_record_in(&self, tx: &mut Tx) -> StoreResult<Option<ContractRow>> {
        db::maybe(&mut **tx, CONTRACT_RECORD, ()).await
    }

    pub async fn put_contract_record(
        &self,
        tx: &mut Tx,
        body: &str,
        by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "INSERT INTO contract_record (id, body, updated_by, updated_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at",
            (body.to_string(), by, now_ms),
        )
        .await?;
        Ok(())
    }

    /// The work records rated in `[from, to)`: `(rating, count)`.
    pub async fn work_record_ratings(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        db::all(
            self.pool(),
            "SELECT rating, COUNT(*) FROM work_records WHERE rating IS NOT NULL \
             AND occurred_at >= $1 AND occurred_at < $2 GROUP BY rating",
            (from_ms, to_ms),
        )
        .await
    }

    pub async fn insert_deliverable(
        &self,
        tx: &mut Tx,
        v: &DeliverableValues,
        sort_order: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        v.columns()
            .set("sort_order", sort_order)
            .created(now_ms)
            .insert(tx, "deliverables")
            .await
    }

    pub async fn update_deliverable(
        &self,
        tx: &mut Tx,
        id: i64,
        v: &DeliverableValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        v.columns()
            .set("updated_at", now_ms)
            .update(tx, "deliverables", id)
            .await
    }

    /// The next sort position (after every deliverable).
    pub async fn next_deliverable_order(&self, tx: &mut Tx) -> StoreResult<i64> {
        let m: Option<i64> =
            db::value(&mut **tx, "SELECT MAX(sort_order) FROM deliverables", ()).await?;
        Ok(m.unwrap_or(0) + 1)
    }

    pub async fn deliverable(&self, id: i64) -> StoreResult<DeliverableRow> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn deliverable_in(&self, tx: &mut Tx, id: i64) -> StoreResult<DeliverableRow> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// A page of deliverables in register order, and how many match.
    pub async fn deliverables(
        &self,
        f: &DeliverableFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DeliverableRow>, i64)> {
        self.filtered_page(
            SELECT,
            "deliverables d",
            &f.filter(),
            "d.sort_order, d.id",
            (limit, offset),
        )
        .await
    }

    /// Every deliverable, in register order.
    pub async fn all_deliverables(&self) -> StoreResult<Vec<DeliverableRow>> {
        let sql = format!("{SELECT} ORDER BY d.sort_order, d.id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    /// The stored instances of a deliverable (or of all when `None`).
    pub async fn deliverable_instances(
        &self,
        deliverable_id: Option<i64>,
    ) -> StoreResult<Vec<InstanceRow>> {
        let w = deliverable_id.map_or(String::new(), |d| format!(" WHERE deliverable_id = {d}"));
        let sql = format!(
            "SELECT id, deliverable_id, period_key, status, history, updated_at FROM deliverable_instances{w}"
        );
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn deliverable_instance_in(
        &self,
        tx: &mut Tx,
        deliverable_id: i64,
        key: &str,
    ) -> StoreResult<Option<InstanceRow>> {
        db::maybe(
            &mut **tx,
            "SELECT id, deliverable_id, period_key, status, history, updated_at FROM deliverable_instances \
             WHERE deliverable_id = $1 AND period_key = $2",
            (deliverable_id, key.to_string()),
        )
        .await
    }

    /// Creates the instance row, or sets its status and history if it exists.
    pub async fn put_deliverable_instance(
        &self,
        tx: &mut Tx,
        deliverable_id: i64,
        key: &str,
        status: &str,
        history: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO deliverable_instances (deliverable_id, period_key, status, history, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (deliverable_id, period_key) DO UPDATE SET \
             status = excluded.status, history = excluded.history, updated_at = excluded.updated_at RETURNING id",
        )
        .bind(deliverable_id)
        .bind(key.to_string())
        .bind(status.to_string())
        .bind(history.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn insert_deliverable_version(
        &self,
        tx: &mut Tx,
        instance_id: i64,
        v: &NewVersion<'_>,
        now_ms: i64,
    ) -> StoreResult<(i64, i64)> {
        let n: Option<i64> = db::value(
            &mut **tx,
            "SELECT MAX(number) FROM deliverable_versions WHERE instance_id = $1",
            instance_id,
        )
        .await?;
        let number = n.unwrap_or(0) + 1;
        let id = Columns::new()
            .set("instance_id", instance_id)
            .set("number", number)
            .set("file_name", v.file_name)
            .set("content_type", v.content_type)
            .set("size", v.size)
            .set("sha256", v.sha256)
            .set("stored_path", v.stored_path)
            .set("report_id", v.report_id)
            .set("submitted_by", v.submitted_by)
            .set("submitted_by_name", v.submitted_by_name)
            .set("created_at", now_ms)
            .insert(tx, "deliverable_versions")
            .await?;
        Ok((id, number))
    }

    /// The versions of an instance, oldest first.
    pub async fn deliverable_versions(&self, instance_id: i64) -> StoreResult<Vec<VersionRow>> {
        db::all(self.pool(), INSTANCE_VERSIONS, instance_id).await
    }

    pub async fn deliverable_versions_in(
        &self,
        tx: &mut Tx,
        instance_id: i64,
    ) -> StoreResult<Vec<VersionRow>> {
        db::all(&mut **tx, INSTANCE_VERSIONS, instance_id).await
    }

    /// The instances whose overdue alert was sent: `(deliverable_id, period_key)`.
    pub async fn deliverable_alerts(&self) -> StoreResult<Vec<(i64, String)>> {
        db::all(
            self.pool(),
            "SELECT deliverable_id, period_key FROM deliverable_alerts",
            (),
        )
        .await
    }

    /// Records that the overdue alert of an instance was sent; false when it already was.
    pub async fn mark_deliverable_alerted(
        &self,
        tx: &mut Tx,
        deliverable_id: i64,
        key: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let n = db::exec(
            &mut **tx,
            "INSERT INTO deliverable_alerts (deliverable_id, period_key, alerted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (deliverable_id, period_key) DO NOTHING",
            (deliverable_id, key.to_string(), now_ms),
        )
        .await?;
        Ok(n > 0)
    }
}
