//! Service-desk services shared by the API, the pages and the jobs: opening tickets with
//! assignment from the inventory and SLA clocks, the lifecycle actions, the SLA monitor
//! (warnings, breaches, escalation) and auto-close.

pub mod input;

mod attachments;
mod calendars;
mod edit;
mod lifecycle;
mod links;
mod open;
mod sla;
mod view;
mod visibility;

pub use attachments::{attach, check_attachment};
pub use calendars::{DEFAULT_PERIODS, ensure_defaults, set_calendar_day};
pub use edit::{WORKLOG_NOTE_MAX, comment, update_ticket, worklog};
pub use visibility::{restrict_to_visible, visible_ticket};

pub use lifecycle::{allowed_actions, apply_action};
pub use links::link;
pub use open::{created_json, open_ticket, open_ticket_for, open_ticket_with_clocks};
pub use sla::{
    auto_close_tick, check_sla_clocks, clocks, clocks_in, refresh_sla, refresh_sla_in, sla_fields,
    sla_tick,
};
use sla::{has, replay_all, running};
pub use view::ticket_json;
use view::{add_detail, ticket_json_base};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::tickets::{self as tk};
use crate::error::{AppResult, FieldError};
use crate::store::audit::{NewAuditEvent, append};
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

fn text_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    max: usize,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            // Fields of up to 200 characters are single-line (names, titles, contacts).
            match crate::domain::text::check_field(label, s.trim(), max > 200, max) {
                Ok(()) => Some(s.trim().to_string()),
                Err(m) => {
                    errs.push(FieldError::new(key, m));
                    None
                }
            }
        }
        Some(_) => {
            errs.push(FieldError::new(key, format!("{label}应为文本")));
            None
        }
    }
}

fn choice_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    choices: &[crate::domain::entity::Choice],
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let v = text_field(obj, key, label, 50, errs)?;
    match tk::choice(choices, &v) {
        Some(c) => Some(c.to_string()),
        None => {
            let opts: Vec<String> = choices
                .iter()
                .map(|c| format!("{}（{}）", c.label, c.code))
                .collect();
            errs.push(FieldError::new(
                key,
                format!("{label}“{v}”无效，可选：{}", opts.join("、")),
            ));
            None
        }
    }
}

fn id_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> Option<i64> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i > 0) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok_and(|i| i > 0) => {
            s.trim().parse().ok()
        }
        Some(_) => {
            errs.push(FieldError::new(key, format!("{label}应为编号")));
            None
        }
    }
}

fn time_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let s = text_field(obj, key, label, 40, errs)?;
    match DateTime::parse_from_rfc3339(&s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errs.push(FieldError::new(
                key,
                format!("{label}应为 RFC 3339 时间，如 2025-10-15T09:30:00+08:00"),
            ));
            None
        }
    }
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
    append(
        tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: kind.into(),
            entity_type: "tickets".into(),
            entity_id: Some(t.id.to_string()),
            summary: format!("{} {summary}", t.number),
            before: None,
            after: Some(data),
        },
    )
    .await?;
    Ok(eid)
}
