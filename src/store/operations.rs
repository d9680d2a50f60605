//! Service lines and work records (migration 0017).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::sql::{Columns, Filter, delete_by_id};
use super::{Store, StoreError, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct LineRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub platform: Option<String>,
    pub description: Option<String>,
    /// JSON arrays.
    pub deliverables: String,
    pub system_ids: String,
    pub record_types: String,
    pub staff_ids: String,
    pub report_cadence: String,
    pub handle_minutes: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A line's fields as stored (JSON arrays as text).
pub struct LineValues {
    pub code: String,
    pub name: String,
    pub platform: Option<String>,
    pub description: Option<String>,
    pub deliverables: String,
    pub system_ids: String,
    pub record_types: String,
    pub staff_ids: String,
    pub report_cadence: String,
    pub handle_minutes: i64,
}

const LINE_COLS: &str = "id, code, name, platform, description, deliverables, system_ids, record_types, staff_ids, report_cadence, handle_minutes, created_at, updated_at";

#[derive(Clone, Debug, FromRow)]
pub struct RecordRow {
    pub id: i64,
    pub line_id: i64,
    pub line_code: String,
    pub line_name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub occurred_at: i64,
    pub duration_minutes: Option<i64>,
    pub requester: Option<String>,
    pub organisation: Option<String>,
    pub org_level: Option<String>,
    pub channel: Option<String>,
    pub summary: String,
    pub answer: Option<String>,
    pub result: Option<String>,
    pub system_id: Option<i64>,
    pub system_name: Option<String>,
    pub ticket_id: Option<i64>,
    pub ticket_number: Option<String>,
    pub data: String,
    pub operator_id: i64,
    pub operator_name: Option<String>,
    pub origin: String,
    pub rating: Option<String>,
    pub rating_comment: Option<String>,
    pub confirmed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const RECORD_SELECT: &str = "SELECT r.id, r.line_id, l.code AS line_code, l.name AS line_name, r.type, \
     r.occurred_at, r.duration_minutes, r.requester, r.organisation, r.org_level, r.channel, r.summary, \
     r.answer, r.result, r.system_id, s.name AS system_name, r.ticket_id, t.number AS ticket_number, \
     r.data, r.operator_id, u.display_name AS operator_name, r.origin, r.rating, r.rating_comment, \
     r.confirmed_at, r.created_at, r.updated_at \
     FROM work_records r JOIN service_lines l ON l.id = r.line_id \
     LEFT JOIN systems s ON s.id = r.system_id LEFT JOIN tickets t ON t.id = r.ticket_id \
     LEFT JOIN users u ON u.id = r.operator_id";

/// A record's fields as stored.
pub struct RecordValues {
    pub line_id: i64,
    pub kind: String,
    pub occurred_at: i64,
    pub duration_minutes: Option<i64>,
    pub requester: Option<String>,
    pub organisation: Option<String>,
    pub org_level: Option<String>,
    pub channel: Option<String>,
    pub summary: String,
    pub answer: Option<String>,
    pub result: Option<String>,
    pub system_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub data: String,
}

/// The list's filters; `lines`, when set, limits the list to those lines (an operator's).
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub line_id: Option<i64>,
    pub kind: Option<String>,
    pub operator_id: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub q: Option<String>,
    pub lines: Option<Vec<i64>>,
    /// Only the records this user confirmed (a requester's view).
    pub confirmed_by: Option<i64>,
}

/// What the indicators need of a record.
#[derive(Clone, Debug, FromRow)]
pub struct RecordFactRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub channel: Option<String>,
    pub duration_minutes: Option<i64>,
    pub result: Option<String>,
    pub rating: Option<String>,
    pub summary: String,
}

impl RecordFilter {
    /// The list's `WHERE` conditions.
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        f.eq("r.line_id", self.line_id)
            .eq("r.operator_id", self.operator_id)
            .eq("r.confirmed_by", self.confirmed_by)
            .when("r.occurred_at >= ?", self.from_ms)
            .when("r.occurred_at < ?", self.to_ms)
            .within("r.line_id", self.lines.as_deref())
            .eq("r.type", self.kind.as_deref())
            .search(
                &[
                    "r.summary",
                    "COALESCE(r.requester, '')",
                    "COALESCE(r.organisation, '')",
                    "COALESCE(r.answer, '')",
                ],
                self.q.as_deref(),
            );
        f
    }
}

impl LineValues {
    /// The editable columns.
    fn columns(&self) -> Columns {
        Columns::new()
            .set("code", &self.code)
            .set("name", &self.name)
            .set("platform", &self.platform)
            .set("description", &self.description)
            .set("deliverables", &self.deliverables)
            .set("system_ids", &self.system_ids)
            .set("record_types", &self.record_types)
            .set("staff_ids", &self.staff_ids)
            .set("report_cadence", &self.report_cadence)
            .set("handle_minutes", self.handle_minutes)
    }
}

impl RecordValues {
    /// The columns an edit may change (not the line or the type).
    fn columns(&self) -> Columns {
        Columns::new()
            .set("occurred_at", self.occurred_at)
            .set("duration_minutes", self.duration_minutes)
            .set("requester", &self.requester)
            .set("organisation", &self.organisation)
            .set("org_level", &self.org_level)
            .set("channel", &self.channel)
            .set("summary", &self.summary)
            .set("answer", &self.answer)
            .set("result", &self.result)
            .set("system_id", self.system_id)
            .set("ticket_id", self.ticket_id)
            .set("data", &self.data)
    }
}

impl Store {
    pub async fn count_service_lines_in(tx: &mut Tx) -> StoreResult<i64> {
        db::value(&mut **tx, "SELECT COUNT(*) FROM service_lines", ()).await
    }

    pub async fn insert_service_line(
        &self,
        tx: &mut Tx,
        v: &LineValues,
        now_ms: i64,
    ) -> StoreResult<i64> {
        v.columns()
            .created(now_ms)
            .insert(tx, "service_lines")
            .await
    }

    pub async fn update_service_line(
        &self,
        tx: &mut Tx,
        id: i64,
        v: &LineValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        v.columns()
            .set("updated_at", now_ms)
            .update(tx, "service_lines", id)
            .await
    }

    pub async fn service_lines(&self) -> StoreResult<Vec<LineRow>> {
        let sql = format!("SELECT {LINE_COLS} FROM service_lines ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn service_line(&self, id: i64) -> StoreResult<LineRow> {
        let sql = format!("SELECT {LINE_COLS} FROM service_lines WHERE id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn service_line_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<LineRow>> {
        let sql = format!("SELECT {LINE_COLS} FROM service_lines WHERE id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn service_line_code_taken(
        &self,
        tx: &mut Tx,
        code: &str,
        except: Option<i64>,
    ) -> StoreResult<bool> {
        let n: i64 = db::value(
            &mut **tx,
            "SELECT COUNT(*) FROM service_lines WHERE code = $1 AND id <> $2",
            (code.to_string(), except.unwrap_or(0)),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn insert_work_record(
        &self,
        tx: &mut Tx,
        v: &RecordValues,
        operator_id: i64,
        origin: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        v.columns()
            .set("line_id", v.line_id)
            .set("type", &v.kind)
            .set("operator_id", operator_id)
            .set("origin", origin)
            .created(now_ms)
            .insert(tx, "work_records")
            .await
    }

    pub async fn update_work_record(
        &self,
        tx: &mut Tx,
        id: i64,
        v: &RecordValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        v.columns()
            .set("updated_at", now_ms)
            .update(tx, "work_records", id)
            .await
    }

    pub async fn delete_work_record(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "work_records", id).await
    }

    pub async fn work_record(&self, id: i64) -> StoreResult<RecordRow> {
        let sql = format!("{RECORD_SELECT} WHERE r.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn work_record_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<RecordRow>> {
        let sql = format!("{RECORD_SELECT} WHERE r.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// A page of records, newest first, and how many match.
    pub async fn work_records(
        &self,
        f: &RecordFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<RecordRow>, i64)> {
        self.filtered_page(
            RECORD_SELECT,
            "work_records r",
            &f.filter(),
            "r.occurred_at DESC, r.id DESC",
            (limit, offset),
        )
        .await
    }

    /// The facts of a line's records that happened in `[from, to)`.
    pub async fn work_record_facts(
        &self,
        line_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<RecordFactRow>> {
        db::all(
            self.pool(),
            "SELECT type, channel, duration_minutes, result, rating, summary FROM work_records \
             WHERE line_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
            (line_id, from_ms, to_ms),
        )
        .await
    }

    /// The requesters most recently served on a line, newest first (for the entry form).
    pub async fn recent_requesters(
        &self,
        line_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(String, Option<String>, Option<String>)>> {
        db::all(
            self.pool(),
            "SELECT requester, MAX(organisation), MAX(org_level) FROM work_records \
             WHERE line_id = $1 AND requester IS NOT NULL GROUP BY requester \
             ORDER BY MAX(occurred_at) DESC LIMIT $2",
            (line_id, limit),
        )
        .await
    }
}

impl Store {
    pub async fn service_lines_in(&self, tx: &mut Tx) -> StoreResult<Vec<LineRow>> {
        let sql = format!("SELECT {LINE_COLS} FROM service_lines ORDER BY code");
        db::all(&mut **tx, AssertSqlSafe(sql), ()).await
    }

    /// Whether a ticket already made its support record.
    pub async fn record_of_ticket_exists_in(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
    ) -> StoreResult<bool> {
        let n: i64 = db::value(
            &mut **tx,
            "SELECT COUNT(*) FROM work_records WHERE ticket_id = $1 AND origin = 'ticket'",
            ticket_id,
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn ticket_exists_in(&self, tx: &mut Tx, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(&mut **tx, "SELECT COUNT(*) FROM tickets WHERE id = $1", id).await?;
        Ok(n > 0)
    }

    /// Which of `ids` are enabled users with one of `roles`.
    pub async fn users_with_roles_in(
        &self,
        tx: &mut Tx,
        ids: &[i64],
        roles: &[&str],
    ) -> StoreResult<Vec<i64>> {
        if ids.is_empty() || roles.is_empty() {
            return Ok(Vec::new());
        }
        let id_list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let role_list: Vec<String> = (1..=roles.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM users WHERE disabled = 0 AND id IN ({}) AND role IN ({})",
            id_list.join(", "),
            role_list.join(", ")
        );
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
        for r in roles {
            q = q.bind(r.to_string());
        }
        Ok(q.fetch_all(&mut **tx).await?)
    }
}

/// A record found by its confirmation link.
#[derive(Clone, Debug)]
pub struct Confirmable {
    pub record: RecordRow,
    pub expires_at: Option<i64>,
}

impl Store {
    /// Gives a record a new confirmation link (replacing any earlier one).
    pub async fn set_confirm_token(
        &self,
        tx: &mut Tx,
        id: i64,
        token_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE work_records SET confirm_token_hash = $1, confirm_expires_at = $2 WHERE id = $3",
            (token_hash.to_string(), expires_at, id),
        )
        .await?;
        Ok(())
    }

    pub async fn record_by_confirm_token(&self, token_hash: &str) -> StoreResult<Confirmable> {
        let id: Option<(i64, Option<i64>)> = db::maybe(
            self.pool(),
            "SELECT id, confirm_expires_at FROM work_records WHERE confirm_token_hash = $1",
            token_hash.to_string(),
        )
        .await?;
        let (id, expires_at) = id.ok_or(StoreError::NotFound)?;
        Ok(Confirmable {
            record: self.work_record(id).await?,
            expires_at,
        })
    }

    /// Records the requester's rating and uses the link up, if it is still the record's
    /// link and unexpired; answers whether it was.
    pub async fn confirm_record(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        rating: &str,
        comment: Option<&str>,
        confirmed_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE work_records SET rating = $1, rating_comment = $2, confirmed_at = $3, \
             confirm_token_hash = NULL, confirm_expires_at = NULL, updated_at = $3, confirmed_by = $5 \
             WHERE confirm_token_hash = $4 AND confirm_expires_at > $3 RETURNING id",
        )
        .bind(rating.to_string())
        .bind(comment.map(str::to_string))
        .bind(now_ms)
        .bind(token_hash.to_string())
        .bind(confirmed_by)
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// The account that confirmed a record, if it was confirmed while signed in.
    pub async fn record_confirmed_by(&self, id: i64) -> StoreResult<Option<i64>> {
        let v: Option<Option<i64>> = db::maybe_value(
            self.pool(),
            "SELECT confirmed_by FROM work_records WHERE id = $1",
            id,
        )
        .await?;
        v.ok_or(StoreError::NotFound)
    }
}

impl Store {
    /// A line's requirements over `[from, to)`: proposed in it, and delivered or verified
    /// in it (their status last changed then).
    pub async fn line_requirement_counts(
        &self,
        line_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<(i64, i64)> {
        let new: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM requirements WHERE line_id = $1 AND created_at >= $2 AND created_at < $3",
            (line_id, from_ms, to_ms),
        )
        .await?;
        let delivered: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM requirements WHERE line_id = $1 AND status IN ('delivered', 'verified') \
             AND status_at >= $2 AND status_at < $3",
            (line_id, from_ms, to_ms),
        )
        .await?;
        Ok((new, delivered))
    }
}
