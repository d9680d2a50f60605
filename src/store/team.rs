//! The team (migration 0025): members' certificates and documents, personnel changes, and
//! the facts the compliance checks judge (members, staffing slots, removed key staff).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::entities::Arg;
use super::sql::{Columns, Filter};
use super::{Store, StoreError, StoreResult, Tx};

/// What the team pages and checks read of a member.
#[derive(Clone, Debug, FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub position: Option<String>,
    pub team_role: Option<String>,
    pub key_staff: String,
    pub status: String,
    pub years_experience: Option<i64>,
    pub pm_years: Option<i64>,
    pub work_mode: String,
    pub left_on: Option<String>,
}

const MEMBER: &str = "SELECT id, name, position, team_role, key_staff, status, years_experience, \
     pm_years, work_mode, left_on FROM staff";

#[derive(Clone, Debug, FromRow)]
pub struct CertificateRow {
    pub id: i64,
    pub staff_id: i64,
    pub name: String,
    pub number: Option<String>,
    pub issued_on: Option<String>,
    pub expires_on: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct DocumentRow {
    pub id: i64,
    pub staff_id: i64,
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub valid_from: String,
    pub valid_until: String,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

/// A document to record.
pub struct NewDocument<'a> {
    pub staff_id: i64,
    pub kind: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub stored_path: &'a str,
    pub valid_from: String,
    pub valid_until: String,
    pub uploaded_by: (i64, &'a str),
}

/// A staffing slot with its system and member.
#[derive(Clone, Debug, FromRow)]
pub struct SlotRow {
    pub id: i64,
    pub system_name: String,
    pub duty: String,
    pub work_mode: String,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    pub staff_status: Option<String>,
}

#[derive(Clone, Debug, FromRow)]
pub struct ChangeRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub leaving_staff_id: i64,
    pub leaving_name: Option<String>,
    pub joining_staff_id: Option<i64>,
    pub joining_name: Option<String>,
    /// JSON: the new member's fields and certificates.
    pub joining_data: Option<String>,
    pub reason: String,
    pub justification: Option<String>,
    /// JSON.
    pub comparison: Option<String>,
    pub less_qualified: i64,
    pub history: String,
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decision_comment: Option<String>,
    pub created_by: i64,
    pub created_by_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const CHANGE: &str = "SELECT c.id, c.kind, c.status, c.leaving_staff_id, l.name AS leaving_name, \
     c.joining_staff_id, j.name AS joining_name, c.joining_data, c.reason, c.justification, \
     c.comparison, c.less_qualified, c.history, c.due_at, c.decided_at, c.decided_by, \
     d.display_name AS decided_by_name, c.decision_comment, c.created_by, \
     u.display_name AS created_by_name, c.created_at, c.updated_at \
     FROM personnel_changes c LEFT JOIN staff l ON l.id = c.leaving_staff_id \
     LEFT JOIN staff j ON j.id = c.joining_staff_id LEFT JOIN users d ON d.id = c.decided_by \
     LEFT JOIN users u ON u.id = c.created_by";

/// A change to record.
pub struct NewChange<'a> {
    pub kind: &'a str,
    pub leaving_staff_id: i64,
    pub joining_staff_id: Option<i64>,
    pub joining_data: Option<String>,
    pub reason: &'a str,
    pub justification: Option<&'a str>,
    pub comparison: Option<String>,
    pub less_qualified: bool,
    pub history: String,
    pub due_at: Option<i64>,
    pub created_by: i64,
}

/// The change list's filters.
#[derive(Clone, Debug, Default)]
pub struct ChangeFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub q: Option<String>,
}

impl ChangeFilter {
    /// The list's `WHERE` conditions (`l` and `j` are the leaving and joining members).
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("c.status", self.status.as_deref())
            .eq("c.kind", self.kind.as_deref())
            .search(
                &[
                    "c.reason",
                    "COALESCE(l.name, '')",
                    "COALESCE(j.name, '')",
                    "COALESCE(c.joining_data, '')",
                ],
                self.q.as_deref(),
            );
        f
    }
}

/// Writes `c` to the change `id` if it is still `requested` (only such a change may be
/// decided or renominated); `Conflict` when it was decided meanwhile.
async fn update_requested_change(tx: &mut Tx, id: i64, c: Columns) -> StoreResult<()> {
    let n = c
        .update_where(
            tx,
            "personnel_changes",
            "id = ? AND status = 'requested'",
            [Arg::Int(Some(id))],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict("该人员变更已审批".into()));
    }
    Ok(())
}

impl Store {
    pub async fn team_members(&self) -> StoreResult<Vec<MemberRow>> {
        let sql = format!("{MEMBER} ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn team_member_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<MemberRow>> {
        let sql = format!("{MEMBER} WHERE id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn certificates(&self, staff_id: Option<i64>) -> StoreResult<Vec<CertificateRow>> {
        db::all(
            self.pool(),
            "SELECT id, staff_id, name, number, issued_on, expires_on, created_at FROM staff_certificates \
             WHERE ($1 = 0 OR staff_id = $1) ORDER BY staff_id, id",
            staff_id.unwrap_or(0),
        )
        .await
    }

    pub async fn certificates_in(
        &self,
        tx: &mut Tx,
        staff_id: i64,
    ) -> StoreResult<Vec<CertificateRow>> {
        db::all(
            &mut **tx,
            "SELECT id, staff_id, name, number, issued_on, expires_on, created_at FROM staff_certificates \
             WHERE staff_id = $1 ORDER BY id",
            staff_id,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_certificate(
        &self,
        tx: &mut Tx,
        staff_id: i64,
        name: &str,
        number: Option<&str>,
        issued_on: Option<String>,
        expires_on: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("staff_id", staff_id)
            .set("name", name)
            .set("number", number)
            .set("issued_on", issued_on)
            .set("expires_on", expires_on)
            .set("created_at", now_ms)
            .insert(tx, "staff_certificates")
            .await
    }

    /// Removes one certificate of a member; `NotFound` when the member has no such one.
    pub async fn delete_certificate(&self, tx: &mut Tx, staff_id: i64, id: i64) -> StoreResult<()> {
        let n = db::exec(
            &mut **tx,
            "DELETE FROM staff_certificates WHERE staff_id = $1 AND id = $2",
            (staff_id, id),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn staff_documents(&self, staff_id: Option<i64>) -> StoreResult<Vec<DocumentRow>> {
        db::all(
            self.pool(),
            "SELECT id, staff_id, kind, file_name, content_type, size, sha256, stored_path, valid_from, \
             valid_until, uploaded_by_name, created_at FROM staff_documents \
             WHERE ($1 = 0 OR staff_id = $1) ORDER BY staff_id, kind, valid_until, id",
            staff_id.unwrap_or(0),
        )
        .await
    }

    pub async fn staff_document(&self, staff_id: i64, id: i64) -> StoreResult<DocumentRow> {
        db::one(
            self.pool(),
            "SELECT id, staff_id, kind, file_name, content_type, size, sha256, stored_path, valid_from, \
             valid_until, uploaded_by_name, created_at FROM staff_documents WHERE staff_id = $1 AND id = $2",
            (staff_id, id),
        )
        .await
    }

    pub async fn insert_staff_document(
        &self,
        tx: &mut Tx,
        d: &NewDocument<'_>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("staff_id", d.staff_id)
            .set("kind", d.kind)
            .stored_file(
                (d.file_name, d.content_type),
                d.size,
                d.sha256,
                d.stored_path,
                d.uploaded_by,
            )
            .set("valid_from", &d.valid_from)
            .set("valid_until", &d.valid_until)
            .set("created_at", now_ms)
            .insert(tx, "staff_documents")
            .await
    }

    /// Every staffing slot of the inventory with its system and member.
    pub async fn staffing_slots(&self) -> StoreResult<Vec<SlotRow>> {
        db::all(
            self.pool(),
            "SELECT a.id, s.name AS system_name, a.duty, a.work_mode, a.staff_id, m.name AS staff_name, \
             m.status AS staff_status FROM assignments a JOIN systems s ON s.id = a.system_id \
             LEFT JOIN staff m ON m.id = a.staff_id ORDER BY s.id, a.id",
            (),
        )
        .await
    }

    /// Key members deleted from the inventory, from the audit log: (staff id, name).
    pub async fn deleted_key_staff(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows: Vec<(Option<String>, Option<String>)> = db::all(
            self.pool(),
            "SELECT entity_id, before_json FROM audit_events \
             WHERE entity_type = 'staff' AND action = 'delete' ORDER BY seq",
            (),
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, before)| {
                let v: serde_json::Value = serde_json::from_str(&before?).ok()?;
                (v["key_staff"] == "yes").then(|| {
                    (
                        id.and_then(|i| i.parse().ok()).unwrap_or(0),
                        v["name"].as_str().unwrap_or_default().to_string(),
                    )
                })
            })
            .collect())
    }

    pub async fn insert_personnel_change(
        &self,
        tx: &mut Tx,
        c: &NewChange<'_>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("kind", c.kind)
            .set("status", "requested")
            .set("leaving_staff_id", c.leaving_staff_id)
            .set("joining_staff_id", c.joining_staff_id)
            .set("joining_data", &c.joining_data)
            .set("reason", c.reason)
            .set("justification", c.justification)
            .set("comparison", &c.comparison)
            .set("less_qualified", c.less_qualified)
            .set("history", &c.history)
            .set("due_at", c.due_at)
            .set("created_by", c.created_by)
            .created(now_ms)
            .insert(tx, "personnel_changes")
            .await
    }

    pub async fn personnel_change_in(&self, tx: &mut Tx, id: i64) -> StoreResult<ChangeRow> {
        let sql = format!("{CHANGE} WHERE c.id = $1");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn personnel_change(&self, id: i64) -> StoreResult<ChangeRow> {
        let sql = format!("{CHANGE} WHERE c.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn personnel_changes(
        &self,
        f: &ChangeFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<ChangeRow>, i64)> {
        self.filtered_page(
            CHANGE,
            "personnel_changes c LEFT JOIN staff l ON l.id = c.leaving_staff_id \
             LEFT JOIN staff j ON j.id = c.joining_staff_id",
            &f.filter(),
            "c.id DESC",
            (limit, offset),
        )
        .await
    }

    /// Records a decision on a change still `requested`; `Conflict` when it was decided
    /// meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_personnel_change(
        &self,
        tx: &mut Tx,
        id: i64,
        status: &str,
        joining_staff_id: Option<i64>,
        comment: Option<&str>,
        history: &str,
        by: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        let c = Columns::new()
            .set("status", status)
            .set("joining_staff_id", joining_staff_id)
            .set("decision_comment", comment)
            .set("history", history)
            .set("decided_by", by)
            .set("decided_at", now_ms)
            .set("updated_at", now_ms);
        update_requested_change(tx, id, c).await
    }

    /// Sets (or clears) the incoming member of a change still `requested`.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_change_nominee(
        &self,
        tx: &mut Tx,
        id: i64,
        joining_staff_id: Option<i64>,
        joining_data: Option<String>,
        justification: Option<&str>,
        comparison: Option<String>,
        less_qualified: bool,
        history: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let c = Columns::new()
            .set("joining_staff_id", joining_staff_id)
            .set("joining_data", joining_data)
            .set("justification", justification)
            .set("comparison", comparison)
            .set("less_qualified", less_qualified)
            .set("history", history)
            .set("updated_at", now_ms);
        update_requested_change(tx, id, c).await
    }

    /// The approved change takes effect: the leaving member's slots move to the joining
    /// one, who is on the team (a key member when the leaving one was, and in the leaving
    /// one's team role when they have none); the leaving member is marked left on `today`. Answers the ids of the slots moved.
    pub async fn apply_personnel_change(
        &self,
        tx: &mut Tx,
        leaving: i64,
        joining: i64,
        key: bool,
        today: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<i64>> {
        let moved: Vec<i64> = db::values(
            &mut **tx,
            "SELECT id FROM assignments WHERE staff_id = $1 ORDER BY id",
            leaving,
        )
        .await?;
        db::exec(
            &mut **tx,
            "UPDATE assignments SET staff_id = $2, updated_at = $3 WHERE staff_id = $1",
            (leaving, joining, now_ms),
        )
        .await?;
        db::exec(
            &mut **tx,
            "UPDATE staff SET status = 'left', left_on = $2, updated_at = $3 WHERE id = $1",
            (leaving, today.to_string(), now_ms),
        )
        .await?;
        db::exec(
            &mut **tx,
            "UPDATE staff SET status = 'active', left_on = NULL, \
             key_staff = CASE WHEN $2 = 1 THEN 'yes' ELSE key_staff END, \
             team_role = COALESCE(team_role, (SELECT l.team_role FROM staff l WHERE l.id = $4)), \
             updated_at = $3 WHERE id = $1",
            (joining, i64::from(key), now_ms, leaving),
        )
        .await?;
        Ok(moved)
    }
}

impl Store {
    /// The id of a change still awaiting a decision for the leaving member, if any.
    pub async fn pending_change_for_in(
        &self,
        tx: &mut Tx,
        leaving: i64,
    ) -> StoreResult<Option<i64>> {
        db::maybe_value(
            &mut **tx,
            "SELECT id FROM personnel_changes WHERE leaving_staff_id = $1 AND status = 'requested' ORDER BY id LIMIT 1",
            leaving,
        )
        .await
    }
}

impl Store {
    /// The members taken off a staffing slot by an edit of the slot (from the audit log;
    /// an approved personnel change moves slots itself and is not among them).
    pub async fn members_taken_off_slots(&self) -> StoreResult<Vec<i64>> {
        let rows: Vec<(Option<String>, Option<String>)> = db::all(
            self.pool(),
            "SELECT before_json, after_json FROM audit_events \
             WHERE entity_type = 'assignments' AND action = 'update' ORDER BY seq",
            (),
        )
        .await?;
        let mut out: Vec<i64> = rows
            .into_iter()
            .filter_map(|(b, a)| {
                let b: serde_json::Value = serde_json::from_str(&b?).ok()?;
                let a: serde_json::Value = serde_json::from_str(&a?).ok()?;
                let old = b.get("staff_id")?.as_i64()?;
                (a.get("staff_id")?.as_i64() != Some(old)).then_some(old)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// A file attached to a personnel change.
#[derive(Clone, Debug, FromRow)]
pub struct ChangeFileRow {
    pub id: i64,
    pub change_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

const CHANGE_FILE: &str = "SELECT id, change_id, file_name, content_type, size, sha256, stored_path, \
     uploaded_by_name, created_at FROM personnel_change_files";

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_change_file(
        &self,
        tx: &mut Tx,
        change_id: i64,
        file_name: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
        stored_path: &str,
        user: (i64, &str),
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("change_id", change_id)
            .stored_file((file_name, content_type), size, sha256, stored_path, user)
            .set("created_at", now_ms)
            .insert(tx, "personnel_change_files")
            .await
    }

    pub async fn change_files(&self, change_id: i64) -> StoreResult<Vec<ChangeFileRow>> {
        let sql = format!("{CHANGE_FILE} WHERE change_id = $1 ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), change_id).await
    }

    pub async fn change_files_in(
        &self,
        tx: &mut Tx,
        change_id: i64,
    ) -> StoreResult<Vec<ChangeFileRow>> {
        let sql = format!("{CHANGE_FILE} WHERE change_id = $1 ORDER BY id");
        db::all(&mut **tx, AssertSqlSafe(sql), change_id).await
    }

    pub async fn change_file(&self, change_id: i64, id: i64) -> StoreResult<ChangeFileRow> {
        let sql = format!("{CHANGE_FILE} WHERE change_id = $1 AND id = $2");
        db::one(self.pool(), AssertSqlSafe(sql), (change_id, id)).await
    }
}
