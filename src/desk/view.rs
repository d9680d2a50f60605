//! The API's view of a ticket.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::sla::ClockState;
use crate::error::AppResult;
use crate::store::desk::TicketRow;

use super::{allowed_actions, clocks};

/// The API's view of a ticket.
pub async fn ticket_json(ctx: &Ctx, u: &AuthUser, t: &TicketRow, detail: bool) -> AppResult<Value> {
    let mut v = ticket_json_base(t);
    if detail {
        let cs = clocks(ctx, t).await?;
        let links = ctx.store.links(t.id).await?;
        add_detail(&mut v, u, t, &cs, &links);
    }
    Ok(v)
}

pub(super) fn ticket_json_base(t: &TicketRow) -> Value {
    let rfc = |v: Option<i64>| v.map(crate::clock::rfc3339);
    let v = json!({
        "id": t.id, "number": t.number, "kind": t.kind, "change_type": t.change_type, "title": t.title,
        "description": t.description, "system_id": t.system_id, "system_name": t.system_name, "asset_id": t.asset_id,
        "asset_name": t.asset_name, "category": t.category, "source": t.source, "requester_id": t.requester_id,
        "requester_name": t.requester_name, "requester_contact": t.requester_contact, "reported_at": crate::clock::rfc3339(t.reported_at),
        "impact": t.impact, "urgency": t.urgency, "priority": t.priority, "assignee_id": t.assignee_id, "assignee_name": t.assignee_name,
        "status": t.status, "pending_reason": t.pending_reason, "first_response_at": rfc(t.first_response_at), "onsite_at": rfc(t.onsite_at),
        "resolved_at": rfc(t.resolved_at), "closed_at": rfc(t.closed_at), "cancel_reason": t.cancel_reason, "reopen_count": t.reopen_count,
        "resolution": t.resolution, "satisfaction": t.satisfaction, "satisfaction_comment": t.satisfaction_comment,
        "sla": {"response_due_at": rfc(t.response_due_at), "onsite_due_at": rfc(t.onsite_due_at), "resolve_due_at": rfc(t.resolve_due_at), "breached": t.sla_breached != 0},
        "created_at": crate::clock::rfc3339(t.created_at), "updated_at": crate::clock::rfc3339(t.updated_at),
    });
    v
}

pub(super) fn add_detail(
    v: &mut Value,
    u: &AuthUser,
    t: &TicketRow,
    cs: &[ClockState],
    links: &[(i64, String, String)],
) {
    v["sla"]["clocks"] = json!(cs);
    v["fault_report"] = t
        .fault_report
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .unwrap_or(Value::Null);
    v["links"] = json!(
        links
            .iter()
            .map(|(id, kind, number)| json!({"ticket_id": id, "kind": kind, "number": number}))
            .collect::<Vec<_>>()
    );
    v["actions"] = json!(allowed_actions(u, t));
}
