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
use super::like_pattern;

pub use super::Tx;

use super::entities;

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
