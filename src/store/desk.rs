//! Service-desk storage: calendars and their exception days, ticket rows, the ticket
//! timeline, SLA clock events, comments and worklogs. Multi-step changes take a
//! transaction from the caller so a ticket, its timeline, its clocks and the audit record
//! commit together.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

use sqlx::{AnyConnection, AssertSqlSafe};

use super::entities::{Arg, bind_all, bind_query};
use super::{Store, StoreError, StoreResult, like_pattern};
use crate::domain::calendar::{Calendar, CalendarKind, DayOverride, parse_periods};
use crate::domain::sla::{ClockEvent, ClockEventKind, ClockTarget};

pub use super::Tx;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CalendarRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub periods: Option<String>,
    pub description: Option<String>,
}

impl CalendarRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "kind": self.kind, "periods": self.periods, "description": self.description})
    }
}

/// The columns of `tickets`, as listed in `TicketRow`.
/// How long a cached calendar is trusted (edits through another replica).
pub const CALENDAR_TTL: std::time::Duration = std::time::Duration::from_secs(10);

const TICKET_COLUMNS: &[&str] = &[
    "id",
    "number",
    "kind",
    "change_type",
    "title",
    "description",
    "system_id",
    "asset_id",
    "category",
    "source",
    "requester_id",
    "requester_name",
    "requester_contact",
    "reported_at",
    "impact",
    "urgency",
    "priority",
    "assignee_id",
    "status",
    "pending_reason",
    "sla_policy_id",
    "calendar_id",
    "response_due_at",
    "onsite_due_at",
    "resolve_due_at",
    "sla_breached",
    "first_response_at",
    "onsite_at",
    "resolved_at",
    "closed_at",
    "cancel_reason",
    "reopen_count",
    "fault_report",
    "resolution",
    "satisfaction",
    "satisfaction_comment",
    "created_by",
    "created_at",
    "updated_at",
];

#[derive(Clone, Debug, sqlx::FromRow, serde::Deserialize)]
pub struct TicketRow {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub change_type: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub category: Option<String>,
    pub source: String,
    pub requester_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    pub reported_at: i64,
    pub impact: String,
    pub urgency: String,
    pub priority: String,
    pub assignee_id: Option<i64>,
    pub status: String,
    pub pending_reason: Option<String>,
    pub sla_policy_id: Option<i64>,
    pub calendar_id: Option<i64>,
    pub response_due_at: Option<i64>,
    pub onsite_due_at: Option<i64>,
    pub resolve_due_at: Option<i64>,
    pub sla_breached: i64,
    pub first_response_at: Option<i64>,
    pub onsite_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub cancel_reason: Option<String>,
    pub reopen_count: i64,
    pub fault_report: Option<String>,
    pub resolution: Option<String>,
    pub satisfaction: Option<i64>,
    pub satisfaction_comment: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub system_name: Option<String>,
    pub asset_name: Option<String>,
    pub assignee_name: Option<String>,
    pub requester_username: Option<String>,
}

const TICKET_SELECT: &str = "SELECT t.*, \
    (SELECT s.name FROM systems s WHERE s.id = t.system_id) AS system_name, \
    (SELECT a.name FROM assets a WHERE a.id = t.asset_id) AS asset_name, \
    (SELECT u.display_name FROM users u WHERE u.id = t.assignee_id) AS assignee_name, \
    (SELECT u.username FROM users u WHERE u.id = t.requester_id) AS requester_username \
    FROM tickets t";

/// What a new ticket is made of (validated by the caller).
#[derive(Clone, Debug, Default)]
pub struct NewTicket {
    pub kind: String,
    pub change_type: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub category: Option<String>,
    pub source: String,
    pub requester_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    pub reported_at: i64,
    pub impact: String,
    pub urgency: String,
    pub priority: String,
    pub assignee_id: Option<i64>,
    pub status: String,
    pub sla_policy_id: Option<i64>,
    pub calendar_id: Option<i64>,
    pub created_by: Option<i64>,
    /// The SLA fields as computed at creation.
    pub sla: SlaFields,
}

/// The SLA state cached on a ticket row: due times, the breach flag, and when the SLA
/// monitor next needs to look at it (epoch ms).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaFields {
    pub response_due_at: Option<i64>,
    pub onsite_due_at: Option<i64>,
    pub resolve_due_at: Option<i64>,
    pub breached: bool,
    pub next_check_at: Option<i64>,
}

/// Ticket list filters.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub requester_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: Vec<String>,
    pub open_only: bool,
    pub kind: Option<String>,
    pub priority: Option<String>,
    pub system_id: Option<i64>,
    pub source: Option<String>,
    pub q: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub breached: Option<bool>,
}

/// Which page of the ticket list to read: at most `limit` rows, newest first (by id),
/// skipping `offset` rows, all older than the ticket `after` when it is given. `after` is
/// keyset paging: a page's `next_cursor` passed back as `after` gives the next page, and
/// rows written meanwhile neither repeat nor shift rows between pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct TicketPageQuery {
    pub limit: i64,
    pub offset: i64,
    pub after: Option<i64>,
}

/// A page of the ticket list: its rows, the filter's total (all pages), and the cursor of
/// the next page (`None` on the last one).
#[derive(Clone, Debug)]
pub struct TicketPage {
    pub rows: Vec<TicketRow>,
    pub total: i64,
    pub next_cursor: Option<i64>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TicketEventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub kind: String,
    pub summary: String,
    pub data: Option<String>,
    pub internal: i64,
}

impl TicketEventRow {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "at": crate::clock::rfc3339(self.at), "actor": self.actor_name, "kind": self.kind,
            "summary": self.summary, "internal": self.internal != 0,
            "data": self.data.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()),
        })
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub body: String,
    pub internal: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WorklogRow {
    pub id: i64,
    pub ticket_id: i64,
    pub user_id: Option<i64>,
    pub user_name: String,
    pub minutes: i64,
    pub note: Option<String>,
    pub created_at: i64,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The WHERE conditions (joined with AND) and their arguments for a ticket filter.
fn ticket_where(f: &TicketFilter) -> (Vec<String>, Vec<Arg>) {
    let mut wh = vec!["1=1".to_string()];
    let mut args: Vec<Arg> = Vec::new();
    let push = |cond: &str, a: Arg, wh: &mut Vec<String>, args: &mut Vec<Arg>| {
        args.push(a);
        wh.push(cond.replace('?', &format!("${}", args.len())));
    };
    if let Some(r) = f.requester_id {
        push("t.requester_id = ?", Arg::Int(Some(r)), &mut wh, &mut args);
    }
    if let Some(a) = f.assignee_id {
        push("t.assignee_id = ?", Arg::Int(Some(a)), &mut wh, &mut args);
    }
    if let Some(k) = &f.kind {
        push("t.kind = ?", Arg::Text(Some(k.clone())), &mut wh, &mut args);
    }
    if let Some(p) = &f.priority {
        push(
            "t.priority = ?",
            Arg::Text(Some(p.clone())),
            &mut wh,
            &mut args,
        );
    }
    if let Some(s) = f.system_id {
        push("t.system_id = ?", Arg::Int(Some(s)), &mut wh, &mut args);
    }
    if let Some(s) = &f.source {
        push(
            "t.source = ?",
            Arg::Text(Some(s.clone())),
            &mut wh,
            &mut args,
        );
    }
    if let Some(v) = f.from_ms {
        push("t.reported_at >= ?", Arg::Int(Some(v)), &mut wh, &mut args);
    }
    if let Some(v) = f.to_ms {
        push("t.reported_at < ?", Arg::Int(Some(v)), &mut wh, &mut args);
    }
    if let Some(b) = f.breached {
        push(
            "t.sla_breached = ?",
            Arg::Int(Some(i64::from(b))),
            &mut wh,
            &mut args,
        );
    }
    if !f.status.is_empty() {
        let mut ph = Vec::new();
        for s in &f.status {
            args.push(Arg::Text(Some(s.clone())));
            ph.push(format!("${}", args.len()));
        }
        wh.push(format!("t.status IN ({})", ph.join(", ")));
    }
    if f.open_only {
        wh.push("t.status NOT IN ('resolved', 'closed', 'canceled')".into());
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        args.push(Arg::Text(Some(like_pattern(q))));
        let n = args.len();
        wh.push(format!(
            "(LOWER(t.title) LIKE ${n} ESCAPE '\\' OR LOWER(t.number) LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(t.description, '')) LIKE ${n} ESCAPE '\\')"
        ));
    }
    (wh, args)
}

impl Store {
    // ---- calendars -------------------------------------------------------------------

    pub async fn list_calendars(&self) -> StoreResult<Vec<CalendarRow>> {
        Ok(
            sqlx::query_as(
                "SELECT id, name, kind, periods, description FROM calendars ORDER BY id",
            )
            .fetch_all(self.pool())
            .await?,
        )
    }

    pub async fn calendar_row(&self, id: i64) -> StoreResult<CalendarRow> {
        sqlx::query_as("SELECT id, name, kind, periods, description FROM calendars WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Creates a calendar with its exception days (used for the shipped defaults).
    pub async fn create_calendar(
        &self,
        name: &str,
        kind: &str,
        periods: Option<&str>,
        description: &str,
        days: &BTreeMap<NaiveDate, DayOverride>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO calendars (name, kind, periods, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(name.to_string())
        .bind(kind.to_string())
        .bind(periods.map(str::to_string))
        .bind(description.to_string())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        for (d, o) in days {
            sqlx::query("INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(d.format("%Y-%m-%d").to_string())
                .bind(i64::from(o.working))
                .bind(o.reason.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Sets or clears (`working == None`) one exception day.
    pub async fn set_calendar_day(
        &self,
        tx: &mut Tx,
        id: i64,
        day: NaiveDate,
        working: Option<bool>,
        reason: &str,
    ) -> StoreResult<()> {
        self.forget_calendars();
        let d = day.format("%Y-%m-%d").to_string();
        sqlx::query("DELETE FROM calendar_days WHERE calendar_id = $1 AND day = $2")
            .bind(id)
            .bind(d.clone())
            .execute(&mut **tx)
            .await?;
        if let Some(w) = working {
            sqlx::query("INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(d)
                .bind(i64::from(w))
                .bind(reason.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// A calendar's exception days from `from` to `to` (inclusive), read on `tx` when
    /// given (so a write sees what it is about to replace), else on the pool.
    pub async fn calendar_days_between(
        &self,
        tx: Option<&mut Tx>,
        id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<BTreeMap<NaiveDate, DayOverride>> {
        let q = sqlx::query_as::<_, (String, i64, String)>(
            "SELECT day, working, reason FROM calendar_days WHERE calendar_id = $1 AND day >= $2 AND day <= $3",
        )
        .bind(id)
        .bind(from.format("%Y-%m-%d").to_string())
        .bind(to.format("%Y-%m-%d").to_string());
        let rows = match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.pool()).await?,
        };
        Ok(rows
            .into_iter()
            .filter_map(|(d, w, r)| {
                let d = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?;
                Some((
                    d,
                    DayOverride {
                        working: w != 0,
                        reason: r,
                    },
                ))
            })
            .collect())
    }

    /// Replaces the exception days of whole `years` and sets each of `days` (other days
    /// of other years stay), on the caller's transaction.
    pub async fn replace_calendar_days(
        &self,
        tx: &mut Tx,
        id: i64,
        years: &[i32],
        days: &[(NaiveDate, DayOverride)],
    ) -> StoreResult<()> {
        self.forget_calendars();
        for y in years {
            sqlx::query(
                "DELETE FROM calendar_days WHERE calendar_id = $1 AND day >= $2 AND day <= $3",
            )
            .bind(id)
            .bind(format!("{y:04}-01-01"))
            .bind(format!("{y:04}-12-31"))
            .execute(&mut **tx)
            .await?;
        }
        for (d, o) in days {
            let d = d.format("%Y-%m-%d").to_string();
            sqlx::query("DELETE FROM calendar_days WHERE calendar_id = $1 AND day = $2")
                .bind(id)
                .bind(d.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query("INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(d)
                .bind(i64::from(o.working))
                .bind(o.reason.clone())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Adds days that are missing (an existing day is kept as it is); returns how many
    /// were added. Two replicas starting together add each day once.
    pub async fn add_missing_calendar_days(
        &self,
        tx: &mut Tx,
        id: i64,
        days: &BTreeMap<NaiveDate, DayOverride>,
    ) -> StoreResult<u64> {
        self.forget_calendars();
        let mut n = 0;
        for (d, o) in days {
            n += sqlx::query("INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (calendar_id, day) DO NOTHING")
                .bind(id)
                .bind(d.format("%Y-%m-%d").to_string())
                .bind(i64::from(o.working))
                .bind(o.reason.clone())
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// How many exception days each calendar has per year: (calendar id, year, days).
    pub async fn calendar_year_counts(&self) -> StoreResult<Vec<(i64, i32, i64)>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT calendar_id, substr(day, 1, 4) AS y, COUNT(*) AS n FROM calendar_days GROUP BY calendar_id, substr(day, 1, 4) ORDER BY calendar_id, y",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(c, y, n)| Some((c, y.parse().ok()?, n)))
            .collect())
    }

    /// The calendar as the SLA engine uses it (cached for `CALENDAR_TTL`).
    pub async fn calendar(&self, id: i64) -> StoreResult<Calendar> {
        if let Some(c) = self.cached_calendar(id) {
            return Ok(c);
        }
        let mut conn = self.pool().acquire().await?;
        self.calendar_in(&mut conn, id).await
    }

    fn cached_calendar(&self, id: i64) -> Option<Calendar> {
        let c = &self.caches;
        c.calendars.get(&id, c.now_ms())
    }

    /// The calendar, read on `conn` (a write transaction's connection) when not cached.
    pub async fn calendar_in(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<Calendar> {
        if let Some(c) = self.cached_calendar(id) {
            return Ok(c);
        }
        let cal = Self::calendar_uncached(conn, id).await?;
        let c = &self.caches;
        c.calendars.insert(id, cal.clone(), c.now_ms());
        Ok(cal)
    }

    /// Forgets cached calendars and policies, after an edit.
    pub fn forget_calendars(&self) {
        self.caches.calendars.clear();
        self.forget_policies();
    }

    /// Forgets the cached SLA policies, after an edit.
    pub fn forget_policies(&self) {
        if let Ok(mut p) = self.policy_cache.lock() {
            *p = None;
        }
    }

    async fn calendar_uncached(conn: &mut AnyConnection, id: i64) -> StoreResult<Calendar> {
        let row: CalendarRow = sqlx::query_as(
            "SELECT id, name, kind, periods, description FROM calendars WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        if row.kind == "always" {
            return Ok(Calendar::always());
        }
        let days: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT day, working, reason FROM calendar_days WHERE calendar_id = $1")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        let mut overrides = BTreeMap::new();
        for (d, w, r) in days {
            if let Ok(d) = NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                overrides.insert(
                    d,
                    DayOverride {
                        working: w != 0,
                        reason: r,
                    },
                );
            }
        }
        let periods = parse_periods(row.periods.as_deref().unwrap_or("08:30-12:00,14:00-17:30"))
            .map_err(|e| {
                StoreError::Other(anyhow::anyhow!("calendar {id} has bad periods: {e}"))
            })?;
        Ok(Calendar {
            kind: CalendarKind::WorkingHours,
            periods,
            overrides,
        })
    }

    // ---- tickets ---------------------------------------------------------------------

    /// The next human number of the day: `INC-20251015-0001`.
    pub async fn next_ticket_number(
        &self,
        tx: &mut Tx,
        prefix: &str,
        day: &str,
    ) -> StoreResult<String> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_counters (day, n) VALUES ($1, 1) ON CONFLICT (day) DO UPDATE SET n = ticket_counters.n + 1 RETURNING n",
        )
        .bind(day.to_string())
        .fetch_one(&mut **tx)
        .await?;
        Ok(format!("{prefix}-{day}-{n:04}"))
    }

    pub async fn insert_ticket(
        &self,
        tx: &mut Tx,
        number: &str,
        t: &NewTicket,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO tickets (number, kind, change_type, title, description, system_id, asset_id, category, source, \
             requester_id, requester_name, requester_contact, reported_at, impact, urgency, priority, assignee_id, status, \
             sla_policy_id, calendar_id, created_by, created_at, updated_at, response_due_at, onsite_due_at, \
             resolve_due_at, sla_breached, sla_next_check_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, \
             $23, $24, $25, $26, $27) RETURNING id",
        )
        .bind(number.to_string())
        .bind(t.kind.clone())
        .bind(t.change_type.clone())
        .bind(t.title.clone())
        .bind(t.description.clone())
        .bind(t.system_id)
        .bind(t.asset_id)
        .bind(t.category.clone())
        .bind(t.source.clone())
        .bind(t.requester_id)
        .bind(t.requester_name.clone())
        .bind(t.requester_contact.clone())
        .bind(t.reported_at)
        .bind(t.impact.clone())
        .bind(t.urgency.clone())
        .bind(t.priority.clone())
        .bind(t.assignee_id)
        .bind(t.status.clone())
        .bind(t.sla_policy_id)
        .bind(t.calendar_id)
        .bind(t.created_by)
        .bind(now_ms)
        .bind(t.sla.response_due_at)
        .bind(t.sla.onsite_due_at)
        .bind(t.sla.resolve_due_at)
        .bind(i64::from(t.sla.breached))
        .bind(t.sla.next_check_at)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Gives a new ticket its number (drawn last in the creating transaction).
    /// PostgreSQL: draws the day's next number for ticket `id`, written so far under the
    /// unique `provisional` number, and puts it in place of the provisional one in the row,
    /// its timeline, its in-app messages and its outbox, in one statement. The day's counter
    /// row stays locked until commit (the numbers are gapless), so this runs as late as
    /// possible and costs one round trip (migration 0013 defers the row-version trigger to
    /// commit as well). Returns the number.
    pub async fn finalize_ticket_number_pg(
        &self,
        tx: &mut Tx,
        id: i64,
        prefix: &str,
        day: &str,
        provisional: &str,
    ) -> StoreResult<String> {
        Ok(sqlx::query_scalar(
            "WITH c AS (INSERT INTO ticket_counters (day, n) VALUES ($1, 1) \
                        ON CONFLICT (day) DO UPDATE SET n = ticket_counters.n + 1 RETURNING n), \
                  num AS (SELECT $2 || '-' || $1 || '-' || lpad(CAST(n AS TEXT), GREATEST(4, length(CAST(n AS TEXT))), '0') AS number FROM c), \
                  t AS (UPDATE tickets SET number = num.number FROM num WHERE id = $3), \
                  e AS (UPDATE ticket_events SET summary = replace(summary, $4, num.number) FROM num WHERE ticket_id = $3), \
                  m AS (UPDATE user_messages SET subject = replace(subject, $4, num.number), body = replace(body, $4, num.number) \
                        FROM num WHERE ticket_id = $3), \
                  o AS (UPDATE notification_outbox SET subject = replace(subject, $4, num.number), body = replace(body, $4, num.number) \
                        FROM num WHERE ticket_id = $3) \
             SELECT number FROM num",
        )
        .bind(day.to_string())
        .bind(prefix.to_string())
        .bind(id)
        .bind(provisional.to_string())
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Stores the SLA fields of a ticket.
    pub async fn set_sla_fields(
        &self,
        tx: &mut Tx,
        id: i64,
        f: &SlaFields,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.update_ticket_fields(
            tx,
            id,
            &[
                ("response_due_at", Arg::Int(f.response_due_at)),
                ("onsite_due_at", Arg::Int(f.onsite_due_at)),
                ("resolve_due_at", Arg::Int(f.resolve_due_at)),
                ("sla_breached", Arg::Int(Some(i64::from(f.breached)))),
                ("sla_next_check_at", Arg::Int(f.next_check_at)),
            ],
            now_ms,
        )
        .await
    }

    /// The SLA warnings and breaches already on a ticket's timeline, as (kind, marker).
    pub async fn sla_markers_in(
        conn: &mut AnyConnection,
        ticket_id: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT kind, data FROM ticket_events WHERE ticket_id = $1 \
             AND kind IN ('sla_warning', 'sla_breached') AND data IS NOT NULL",
        )
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Adds clock events in one statement.
    pub async fn add_clock_events(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        events: &[(ClockTarget, ClockEvent)],
    ) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason) VALUES ",
        );
        let mut args = Vec::new();
        for (i, (target, e)) in events.iter().enumerate() {
            let b = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            args.push(Arg::Int(Some(ticket_id)));
            args.push(Arg::Text(Some(target.as_str().to_string())));
            args.push(Arg::Text(Some(e.kind.as_str().to_string())));
            args.push(Arg::Int(Some(ms(e.at))));
            args.push(Arg::Int(e.target_seconds));
            args.push(Arg::Text(Some(e.reason.clone())));
        }
        bind_query(sqlx::query(AssertSqlSafe(sql)), &args)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn ticket(&self, id: i64) -> StoreResult<TicketRow> {
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The ticket, locked for the rest of the transaction on PostgreSQL (SQLite's single
    /// writer already excludes other writers).
    pub async fn ticket_for_update(&self, tx: &mut Tx, id: i64) -> StoreResult<TicketRow> {
        let lock = match self.backend {
            // NO KEY: rows that merely reference the ticket (links, alerts) may still be
            // inserted meanwhile.
            crate::store::Backend::Postgres => " FOR NO KEY UPDATE OF t",
            crate::store::Backend::Sqlite => "",
        };
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1{lock}");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The role of an active account, read on `conn`.
    pub async fn active_role_in(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND disabled = 0")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?,
        )
    }

    pub async fn ticket_tx(&self, tx: &mut Tx, id: i64) -> StoreResult<TicketRow> {
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Sets columns of a ticket (names come from code, never from input).
    pub async fn update_ticket_fields(
        &self,
        tx: &mut Tx,
        id: i64,
        fields: &[(&str, Arg)],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut sets = Vec::new();
        let mut args = Vec::new();
        for (name, a) in fields {
            args.push(a.clone());
            sets.push(format!("{name} = ${}", args.len()));
        }
        args.push(Arg::Int(Some(now_ms)));
        sets.push(format!("updated_at = ${}", args.len()));
        args.push(Arg::Int(Some(id)));
        let sql = format!(
            "UPDATE tickets SET {} WHERE id = ${}",
            sets.join(", "),
            args.len()
        );
        bind_query(sqlx::query(AssertSqlSafe(sql)), &args)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// A page of the ticket list, newest first, with the filter's total. See
    /// [`TicketPageQuery`] for offset and keyset (`after`) paging.
    pub async fn list_tickets(
        &self,
        f: &TicketFilter,
        page: TicketPageQuery,
    ) -> StoreResult<TicketPage> {
        let (wh, args) = ticket_where(f);
        let where_sql = wh.join(" AND ");
        // One row more than asked tells whether a next page exists.
        let fetch = page.limit + 1;
        let page_key = format!(
            "{where_sql}|{args:?}|{fetch}|{}|{:?}",
            page.offset, page.after
        );
        let count_sql = format!("SELECT COUNT(*) FROM tickets t WHERE {where_sql}");
        let count_key = format!("{count_sql}|{args:?}");
        let current = self.row_version("tickets").await?;
        let cached = |s: &Self| {
            s.cached_page(&page_key, current)
                .zip(s.cached_count(&count_key, current))
        };
        let (mut rows, total) = match cached(self) {
            Some((rows, total)) => (rows.as_ref().clone(), total),
            None => {
                // One rebuild per page at a time: requests arriving meanwhile wait for it
                // instead of all running the same page query and count after a write.
                let gate = self.page_gate(&page_key);
                let _turn = gate.lock().await;
                match cached(self) {
                    Some((rows, total)) => (rows.as_ref().clone(), total),
                    None => {
                        let (rows, version, row_count) = self
                            .ticket_rows(&where_sql, &args, page.after, fetch, page.offset)
                            .await?;
                        let version = match version {
                            Some(v) => v,
                            None => self.row_version("tickets").await?,
                        };
                        let rows = std::sync::Arc::new(rows);
                        self.cache_page(page_key, version, rows.clone());
                        let total = match self.cached_count(&count_key, version) {
                            Some(n) => n,
                            // The whole table: its size is kept by triggers.
                            None if wh.len() == 1 && row_count.is_some() => {
                                let n = row_count.unwrap_or(0);
                                self.cache_count(count_key, version, n);
                                n
                            }
                            None => {
                                let n: i64 =
                                    bind_all(sqlx::query_scalar(AssertSqlSafe(count_sql)), &args)
                                        .fetch_one(&self.pool)
                                        .await?;
                                self.cache_count(count_key, version, n);
                                n
                            }
                        };
                        (
                            std::sync::Arc::try_unwrap(rows).unwrap_or_else(|a| a.as_ref().clone()),
                            total,
                        )
                    }
                }
            }
        };
        let next_cursor = if rows.len() as i64 > page.limit {
            rows.truncate(page.limit as usize);
            rows.last().map(|t| t.id)
        } else {
            None
        };
        Ok(TicketPage {
            rows,
            total,
            next_cursor,
        })
    }

    /// Up to `n` tickets matching `f` older than the ticket `before` (all when `None`),
    /// newest first: one batch of an export, which walks the list by id so every batch is
    /// an indexed range and memory stays at one batch whatever the table's size.
    pub async fn ticket_export_batch(
        &self,
        f: &TicketFilter,
        before: Option<i64>,
        n: i64,
    ) -> StoreResult<Vec<TicketRow>> {
        let (wh, args) = ticket_where(f);
        let (rows, _, _) = self
            .ticket_rows(&wh.join(" AND "), &args, before, n, 0)
            .await?;
        Ok(rows)
    }

    /// Rows of the list in one statement, newest first, with the table's row version and
    /// size. The page's ids are found first by a scan that needs only ids (the primary key,
    /// or a filter's index, which ends in the id), so a deep offset steps over index
    /// entries instead of building rows; then only those rows are read. They travel as one
    /// JSON array in one row: many small rows are many messages between sqlx's SQLite worker
    /// and the request.
    async fn ticket_rows(
        &self,
        where_sql: &str,
        args: &[Arg],
        after: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<TicketRow>, Option<i64>, Option<i64>)> {
        let mut args = args.to_vec();
        let mut where_sql = where_sql.to_string();
        if let Some(a) = after {
            args.push(Arg::Int(Some(a)));
            where_sql.push_str(&format!(" AND t.id < ${}", args.len()));
        }
        let n = args.len();
        // The list never shows the fault report (the largest column); the detail reads it.
        let pairs: Vec<String> = TICKET_COLUMNS
            .iter()
            .filter(|c| **c != "fault_report")
            .map(|c| format!("'{c}', t.{c}"))
            .chain([
            "'system_name', (SELECT s.name FROM systems s WHERE s.id = t.system_id)".to_string(),
            "'asset_name', (SELECT a.name FROM assets a WHERE a.id = t.asset_id)".to_string(),
            "'assignee_name', (SELECT u.display_name FROM users u WHERE u.id = t.assignee_id)".to_string(),
            "'requester_username', (SELECT u.username FROM users u WHERE u.id = t.requester_id)".to_string(),
        ]).collect();
        let agg = match self.backend {
            crate::store::Backend::Sqlite => format!(
                "json_group_array(json_object({}) ORDER BY t.id DESC)",
                pairs.join(", ")
            ),
            crate::store::Backend::Postgres => format!(
                "CAST(json_agg(json_build_object({}) ORDER BY t.id DESC) AS TEXT)",
                pairs.join(", ")
            ),
        };
        let sql = format!(
            "SELECT {agg}, (SELECT v.version FROM row_versions v WHERE v.name = 'tickets'), \
             (SELECT v.row_count FROM row_versions v WHERE v.name = 'tickets') \
             FROM tickets t WHERE t.id IN \
             (SELECT t.id FROM tickets t WHERE {where_sql} ORDER BY t.id DESC LIMIT ${} OFFSET ${})",
            n + 1,
            n + 2
        );
        let (items, version, row_count): (Option<String>, Option<i64>, Option<i64>) =
            super::entities::bind_all_as(sqlx::query_as(AssertSqlSafe(sql)), &args)
                .bind(limit)
                .bind(offset)
                .fetch_one(self.pool())
                .await?;
        let rows: Vec<TicketRow> = match items.as_deref() {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("ticket list JSON: {e}")))?,
            None => Vec::new(),
        };
        Ok((rows, version, row_count))
    }

    /// Open tickets whose SLA check time has come, for the SLA monitor.
    pub async fn tickets_due_for_sla_check(&self, now_ms: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE sla_next_check_at IS NOT NULL AND sla_next_check_at <= $1 \
             AND status NOT IN ('closed', 'canceled') ORDER BY sla_next_check_at LIMIT 1000",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?)
    }

    /// Resolved tickets whose resolution is older than `before_ms` (for auto-close).
    pub async fn resolved_before(&self, before_ms: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at < $1 ORDER BY id",
        )
        .bind(before_ms)
        .fetch_all(self.pool())
        .await?)
    }

    // ---- timeline and clocks -----------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn add_ticket_event(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        at_ms: i64,
        actor_id: Option<i64>,
        actor_name: &str,
        kind: &str,
        summary: &str,
        data: Option<Value>,
        internal: bool,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_name, kind, summary, data, internal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(ticket_id)
        .bind(at_ms)
        .bind(actor_id)
        .bind(actor_name.to_string())
        .bind(kind.to_string())
        .bind(summary.to_string())
        .bind(data.map(|d| d.to_string()))
        .bind(i64::from(internal))
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn ticket_events(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<TicketEventRow>> {
        Ok(sqlx::query_as("SELECT * FROM ticket_events WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id")
            .bind(ticket_id)
            .bind(i64::from(include_internal))
            .fetch_all(self.pool())
            .await?)
    }

    /// Whether the timeline already has an event of this kind with this marker (dedup of
    /// SLA warnings and breaches), read on `conn`.
    pub async fn has_ticket_event_in(
        conn: &mut AnyConnection,
        ticket_id: i64,
        kind: &str,
        marker: &str,
    ) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1 AND kind = $2 AND data = $3",
        )
        .bind(ticket_id)
        .bind(kind.to_string())
        .bind(marker.to_string())
        .fetch_one(&mut *conn)
        .await?;
        Ok(n > 0)
    }

    pub async fn add_clock_event(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        target: ClockTarget,
        e: &ClockEvent,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ticket_id)
            .bind(target.as_str().to_string())
            .bind(e.kind.as_str().to_string())
            .bind(ms(e.at))
            .bind(e.target_seconds)
            .bind(e.reason.clone())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Clock events of a ticket by target, in order.
    pub async fn clock_events(
        &self,
        ticket_id: i64,
    ) -> StoreResult<BTreeMap<String, Vec<ClockEvent>>> {
        let mut conn = self.pool().acquire().await?;
        Self::clock_events_in(&mut conn, ticket_id).await
    }

    /// Clock events of a ticket by target, in order, read on `conn`.
    pub async fn clock_events_in(
        conn: &mut AnyConnection,
        ticket_id: i64,
    ) -> StoreResult<BTreeMap<String, Vec<ClockEvent>>> {
        let rows: Vec<(String, String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT target, kind, at, target_seconds, reason FROM sla_clock_events WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut out: BTreeMap<String, Vec<ClockEvent>> = BTreeMap::new();
        for (target, kind, at, ts, reason) in rows {
            let (Some(kind), Some(at)) = (
                ClockEventKind::parse(&kind),
                DateTime::<Utc>::from_timestamp_millis(at),
            ) else {
                continue;
            };
            out.entry(target).or_default().push(ClockEvent {
                at,
                kind,
                target_seconds: ts,
                reason,
            });
        }
        Ok(out)
    }

    // ---- comments and worklog ----------------------------------------------------------

    pub async fn add_comment(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        author_id: Option<i64>,
        author: &str,
        body: &str,
        internal: bool,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ticket_comments (ticket_id, author_id, author_name, body, internal, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(ticket_id)
        .bind(author_id)
        .bind(author.to_string())
        .bind(body.to_string())
        .bind(i64::from(internal))
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn comments(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<CommentRow>> {
        Ok(sqlx::query_as("SELECT * FROM ticket_comments WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id")
            .bind(ticket_id)
            .bind(i64::from(include_internal))
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn add_worklog(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        user_id: Option<i64>,
        user: &str,
        minutes: i64,
        note: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO worklogs (ticket_id, user_id, user_name, minutes, note, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(ticket_id)
        .bind(user_id)
        .bind(user.to_string())
        .bind(minutes)
        .bind(note)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn worklogs(&self, ticket_id: i64) -> StoreResult<Vec<WorklogRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM worklogs WHERE ticket_id = $1 ORDER BY id")
                .bind(ticket_id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn add_link(
        &self,
        tx: &mut Tx,
        a: i64,
        b: i64,
        kind: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO ticket_links (ticket_id, other_id, kind, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id, other_id, kind) DO NOTHING")
            .bind(a)
            .bind(b)
            .bind(kind.to_string())
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn links(&self, ticket_id: i64) -> StoreResult<Vec<(i64, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT l.other_id, l.kind, t.number FROM ticket_links l JOIN tickets t ON t.id = l.other_id WHERE l.ticket_id = $1 ORDER BY l.created_at",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The SLA policies and the id of the round-the-clock calendar, read on `conn` when
    /// not cached (cached for `CALENDAR_TTL`; edits through this process clear them).
    pub async fn policies_in(&self, conn: &mut AnyConnection) -> StoreResult<Arc<PolicySet>> {
        if let Ok(g) = self.policy_cache.lock()
            && let Some((at, set)) = g.as_ref()
            && at.elapsed() < CALENDAR_TTL
        {
            return Ok(set.clone());
        }
        let rules: Vec<PolicyRule> = sqlx::query_as(
            "SELECT id, kind, priority, system_id, calendar_id, response_minutes, onsite_minutes, \
             resolve_minutes, warn_percent FROM sla_policies ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let always: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM calendars WHERE kind = 'always' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let set = Arc::new(PolicySet {
            rules,
            always_calendar_id: always,
        });
        if let Ok(mut g) = self.policy_cache.lock() {
            *g = Some((std::time::Instant::now(), set.clone()));
        }
        Ok(set)
    }

    pub async fn policy(&self, id: i64) -> StoreResult<PolicyRow> {
        let mut conn = self.pool().acquire().await?;
        self.policy_in(&mut conn, id).await
    }

    pub async fn policy_in(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<PolicyRow> {
        self.policies_in(conn)
            .await?
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(PolicyRule::row)
            .ok_or(StoreError::NotFound)
    }

    /// What a new ticket refers to, in one round trip on the writer's connection: whether
    /// the system, asset and requester exist, the assignee's role if the account is
    /// active, and the user in the system's slot for `duty`.
    pub async fn ticket_refs_in(
        conn: &mut AnyConnection,
        system_id: Option<i64>,
        asset_id: Option<i64>,
        requester_id: Option<i64>,
        assignee_id: Option<i64>,
        duty: &str,
    ) -> StoreResult<TicketRefs> {
        let (system, asset, requester, assignee_role, slot_user): (
            i64,
            i64,
            i64,
            Option<String>,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM systems WHERE id = $1), \
             (SELECT COUNT(*) FROM assets WHERE id = $2), \
             (SELECT COUNT(*) FROM users WHERE id = $3), \
             (SELECT role FROM users WHERE id = $4 AND disabled = 0), \
             (SELECT s.user_id FROM assignments a JOIN staff s ON s.id = a.staff_id \
              WHERE a.system_id = $1 AND a.duty = $5 AND s.user_id IS NOT NULL ORDER BY a.id LIMIT 1)",
        )
        .bind(system_id)
        .bind(asset_id)
        .bind(requester_id)
        .bind(assignee_id)
        .bind(duty.to_string())
        .fetch_one(&mut *conn)
        .await?;
        Ok(TicketRefs {
            system: system > 0,
            asset: asset > 0,
            requester: requester > 0,
            assignee_role,
            slot_user,
        })
    }

    pub async fn count_policies(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies")
            .fetch_one(self.pool())
            .await?)
    }

    pub async fn user_exists_with_role(&self, id: i64, roles: &[&str]) -> StoreResult<bool> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND disabled = 0")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(role.is_some_and(|r| roles.contains(&r.as_str())))
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub calendar_id: i64,
    pub response_minutes: Option<i64>,
    pub onsite_minutes: Option<i64>,
    pub resolve_minutes: Option<i64>,
    pub warn_percent: i64,
}

/// A policy with what it matches on.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyRule {
    pub id: i64,
    pub kind: String,
    pub priority: String,
    pub system_id: Option<i64>,
    pub calendar_id: i64,
    pub response_minutes: Option<i64>,
    pub onsite_minutes: Option<i64>,
    pub resolve_minutes: Option<i64>,
    pub warn_percent: i64,
}

impl PolicyRule {
    fn row(&self) -> PolicyRow {
        PolicyRow {
            id: self.id,
            calendar_id: self.calendar_id,
            response_minutes: self.response_minutes,
            onsite_minutes: self.onsite_minutes,
            resolve_minutes: self.resolve_minutes,
            warn_percent: self.warn_percent,
        }
    }
}

/// Every SLA policy, as creation and the SLA engine read them.
#[derive(Debug)]
pub struct PolicySet {
    pub rules: Vec<PolicyRule>,
    pub always_calendar_id: Option<i64>,
}

impl PolicySet {
    /// The policy for a ticket: the lowest id among the system's own, else among those
    /// for any system.
    pub fn matching(
        &self,
        kind: &str,
        priority: &str,
        system_id: Option<i64>,
    ) -> Option<PolicyRow> {
        let fits = |r: &&PolicyRule| r.kind == kind && r.priority == priority;
        system_id
            .and_then(|sid| {
                self.rules
                    .iter()
                    .filter(fits)
                    .find(|r| r.system_id == Some(sid))
            })
            .or_else(|| {
                self.rules
                    .iter()
                    .filter(fits)
                    .find(|r| r.system_id.is_none())
            })
            .map(PolicyRule::row)
    }
}

/// What a new ticket refers to (see `Store::ticket_refs_in`).
#[derive(Debug)]
pub struct TicketRefs {
    pub system: bool,
    pub asset: bool,
    pub requester: bool,
    pub assignee_role: Option<String>,
    pub slot_user: Option<i64>,
}

impl Store {
    /// The columns the desk indicators need, for tickets reported in `[from, to)`.
    pub async fn ticket_stat_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::domain::desk_stats::StatRow>> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
            i64,
            Option<i64>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.kind, t.status, t.priority, \
               (SELECT s.name FROM systems s WHERE s.id = t.system_id), \
               (SELECT u.display_name FROM users u WHERE u.id = t.assignee_id), \
               t.reported_at, t.first_response_at, t.onsite_at, t.resolved_at, t.reopen_count, t.sla_breached, t.satisfaction, \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM sla_clock_events e WHERE e.ticket_id = t.id AND e.target = 'onsite' AND e.kind = 'waive') THEN 1 ELSE 0 END AS BIGINT), \
               (SELECT e.target_seconds FROM sla_clock_events e WHERE e.ticket_id = t.id AND e.target = 'onsite' AND e.target_seconds IS NOT NULL ORDER BY e.id DESC LIMIT 1) \
             FROM tickets t WHERE t.reported_at >= $1 AND t.reported_at < $2 ORDER BY t.id",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::domain::desk_stats::StatRow {
                kind: r.0,
                status: r.1,
                priority: r.2,
                system: r.3,
                assignee: r.4,
                reported_at: r.5,
                first_response_at: r.6,
                onsite_at: r.7,
                resolved_at: r.8,
                reopen_count: r.9,
                sla_breached: r.10 != 0,
                satisfaction: r.11,
                onsite_waived: r.12 != 0,
                onsite_target_min: r.13.map(|s| s / 60),
            })
            .collect())
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub internal: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

impl AttachmentRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "ticket_id": self.ticket_id, "file_name": self.file_name, "content_type": self.content_type,
               "size": self.size, "sha256": self.sha256, "internal": self.internal != 0, "uploaded_by": self.uploaded_by_name,
               "created_at": crate::clock::rfc3339(self.created_at)})
    }
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_attachment(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        file_name: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
        stored_path: &str,
        internal: bool,
        user: (i64, &str),
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO attachments (ticket_id, file_name, content_type, size, sha256, stored_path, internal, uploaded_by, uploaded_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(ticket_id)
        .bind(file_name.to_string())
        .bind(content_type.to_string())
        .bind(size)
        .bind(sha256.to_string())
        .bind(stored_path.to_string())
        .bind(i64::from(internal))
        .bind(user.0)
        .bind(user.1.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn attachments(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<AttachmentRow>> {
        Ok(sqlx::query_as("SELECT * FROM attachments WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id")
            .bind(ticket_id)
            .bind(i64::from(include_internal))
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn attachment(&self, ticket_id: i64, id: i64) -> StoreResult<AttachmentRow> {
        sqlx::query_as("SELECT * FROM attachments WHERE ticket_id = $1 AND id = $2")
            .bind(ticket_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }
}
