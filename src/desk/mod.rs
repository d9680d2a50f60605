//! Service-desk services shared by the API, the pages and the jobs: opening tickets with
//! assignment from the inventory and SLA clocks, the lifecycle actions, the SLA monitor
//! (warnings, breaches, escalation) and auto-close.

mod attachments;
mod calendars;
mod edit;
mod lifecycle;
mod links;
mod open;
mod query;
mod search;
mod sla;
mod view;
mod visibility;

pub use crate::domain::tickets::input::WORKLOG_NOTE_MAX;
pub use attachments::{
    StoredFile, attach, check_attachment, check_document, check_evidence, check_photo,
    check_staff_document, read_stored, sha256_hex, write_stored,
};
pub use calendars::{DEFAULT_PERIODS, ensure_defaults, set_calendar_day};
pub use edit::{comment, update_ticket, worklog};
pub use visibility::{restrict_to_visible, visible_ticket};

pub use lifecycle::{ActionNeeds, ReportField, action_needs, allowed_actions, apply_action};
pub use links::link;
pub use open::{
    Origin, created_json, open_ticket, open_ticket_for, open_ticket_from, open_ticket_with_clocks,
};
pub use query::{choices, given, opt_choice, opt_id, opt_range, period, ticket_filter};
pub use search::{MAX_LIMIT as SEARCH_MAX_LIMIT, SearchItem, SearchRequest, SearchResult, search};
pub use sla::{
    auto_close_tick, check_sla_clocks, clocks, clocks_in, refresh_sla, refresh_sla_in, sla_fields,
    sla_tick,
};
use sla::{has, replay_all, running};
pub use view::ticket_json;
use view::{add_detail, ticket_json_base};

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::NewAuditEvent;
use crate::store::desk::{TicketRow, Tx};
use crate::store::entities::Arg;

fn is_staff(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Manager | Role::Engineer | Role::Operator
    )
}

/// Whether the user may see a ticket: requesters only their own.
pub fn can_view(u: &AuthUser, t: &TicketRow) -> bool {
    u.role != Role::Requester || t.requester_id == Some(u.id)
}

/// A write transaction and ticket `id` locked on it for a change, if `u` may see it;
/// otherwise "not found".
async fn visible_for_update(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(Tx, TicketRow)> {
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    Ok((tx, t))
}

/// `check_exists` on the writer's transaction.
async fn check_exists_in(
    ctx: &Ctx,
    tx: &mut Tx,
    spec: &crate::domain::entity::EntitySpec,
    id: Option<i64>,
    field: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(i) = id
        && !ctx.store.entity_exists_in(tx, spec, i).await?
    {
        errs.push(FieldError::new(field, format!("{label}编号 {i} 不存在")));
    }
    Ok(())
}

fn arg_json(a: &Arg) -> Value {
    match a {
        Arg::Int(v) => json!(v),
        Arg::Float(v) => json!(v),
        Arg::Text(v) => json!(v),
    }
}

/// The fields a write set, as its audit record's "after": `{"field": value, …}`.
fn fields_json(fields: &[(&str, Arg)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, a)| (k.to_string(), arg_json(a)))
            .collect(),
    )
}

/// Adds `u`'s step `kind` to ticket `ticket_id`'s timeline (for everyone who sees the
/// ticket) at `now_ms`; returns the entry's id.
#[allow(clippy::too_many_arguments)]
async fn public_step(
    ctx: &Ctx,
    tx: &mut Tx,
    ticket_id: i64,
    now_ms: i64,
    u: &AuthUser,
    kind: &str,
    summary: &str,
    data: Option<Value>,
) -> AppResult<i64> {
    Ok(ctx
        .store
        .add_ticket_event(
            tx,
            ticket_id,
            now_ms,
            u.uid(),
            &u.username,
            kind,
            summary,
            data,
            false,
        )
        .await?)
}

/// Writes one step of a ticket's history — its timeline entry and its audit record — in
/// the caller's transaction; returns the timeline entry's id.
#[allow(clippy::too_many_arguments)]
async fn record_step(
    ctx: &Ctx,
    tx: &mut Tx,
    u: &AuthUser,
    t: &TicketRow,
    kind: &str,
    summary: &str,
    data: Value,
    internal: bool,
    now_ms: i64,
) -> AppResult<i64> {
    let eid = ctx
        .store
        .add_ticket_event(
            tx,
            t.id,
            now_ms,
            u.uid(),
            &u.username,
            kind,
            summary,
            Some(data.clone()),
            internal,
        )
        .await?;
    NewAuditEvent::of(kind, "tickets", t.id, format!("{} {summary}", t.number))
        .after(data)
        .write(tx, now_ms, &u.actor())
        .await?;
    Ok(eid)
}
