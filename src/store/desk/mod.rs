//! Service-desk storage: calendars and their exception days, ticket rows, the ticket
//! timeline, SLA clock events, comments and worklogs. Multi-step changes take a
//! transaction from the caller so a ticket, its timeline, its clocks and the audit record
//! commit together.

mod attachments;
mod calendars;
mod policies;
mod tickets;
mod timeline;

pub use attachments::AttachmentRow;
pub use policies::{PolicyRow, PolicyRule, PolicySet, TicketRefs};
pub use tickets::NUMBER_COLUMN;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::entities::Arg;
use super::sql::Filter;

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
    let mut w = Filter::new();
    w.raw("1=1")
        .eq("t.requester_id", f.requester_id)
        .eq("t.assignee_id", f.assignee_id)
        .eq("t.kind", f.kind.as_deref())
        .eq("t.priority", f.priority.as_deref())
        .eq("t.system_id", f.system_id)
        .eq("t.source", f.source.as_deref())
        .when("t.reported_at >= ?", f.from_ms)
        .when("t.reported_at < ?", f.to_ms)
        .eq("t.sla_breached", f.breached)
        .one_of("t.status", &f.status);
    if f.open_only {
        w.raw("t.status NOT IN ('resolved', 'closed', 'canceled')");
    }
    w.search(
        &["t.title", "t.number", "COALESCE(t.description, '')"],
        f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()),
    );
    w.into_parts()
}
