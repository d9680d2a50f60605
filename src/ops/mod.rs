//! Operations services (系统业务运营服务) as a service: the contract's service lines and
//! the work records their staff keep, with the indicators per line and period. Each write
//! validates its typed input (`domain::operations`), runs on one write transaction and
//! writes its audit record last (docs/ARCHITECTURE.md, "How a write flows").
//!
//! Roles: operations staff (`operator`) write the records of the lines they staff; the
//! manager and the admin write any; the purchaser (`supervisor`), 监理 (`auditor`) and
//! engineers read everything; a requester account sees only the records it confirmed
//! through a confirmation link while signed in (`confirmed_by`; the link itself needs no
//! account, and an anonymous confirmation belongs to nobody).

use serde_json::{Value, json};

use crate::accounts::AuthUser;
use crate::domain::operations::RecordType;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::operations::{LineRow, RecordRow};

pub mod months;

mod confirm;
mod import;
mod indicators;
mod lines;
mod records;
mod support;

pub use confirm::{
    CONFIRM_DAYS, Confirmation, LinkState, confirm, confirmation_link, confirmation_view,
};
pub use import::import_records;
pub use indicators::{LineIndicators, indicators, recent_requesters};
pub use lines::{Cadence, LinePatch, create_line, line, lines, load_demo_lines, update_line};
pub use records::{create_record, delete_record, record, records, update_record};
pub use support::support_from_ticket;

fn ids(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

fn texts(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// The record types a line keeps.
pub fn line_types(l: &LineRow) -> Vec<RecordType> {
    texts(&l.record_types)
        .iter()
        .filter_map(|t| RecordType::parse(t))
        .collect()
}

fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

fn check_manage(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether `u` may write the records of line `l`.
fn may_write(u: &AuthUser, l: &LineRow) -> bool {
    match u.role {
        Role::Admin | Role::Manager => true,
        Role::Operator => ids(&l.staff_ids).contains(&u.id),
        _ => false,
    }
}

pub fn line_json(l: &LineRow) -> Value {
    let types: Vec<Value> = line_types(l)
        .into_iter()
        .map(|t| json!({"type": t.as_str(), "label": t.label()}))
        .collect();
    json!({
        "id": l.id, "code": l.code, "name": l.name, "platform": l.platform,
        "description": l.description, "deliverables": texts(&l.deliverables),
        "system_ids": ids(&l.system_ids), "record_types": types,
        "staff_ids": ids(&l.staff_ids), "report_cadence": l.report_cadence,
        "handle_minutes": l.handle_minutes,
        "created_at": crate::clock::rfc3339(l.created_at), "updated_at": crate::clock::rfc3339(l.updated_at),
    })
}

pub fn record_json(r: &RecordRow) -> Value {
    let kind = RecordType::parse(&r.kind);
    json!({
        "id": r.id, "line_id": r.line_id, "line_code": r.line_code, "line_name": r.line_name,
        "type": r.kind, "type_label": kind.map(RecordType::label),
        "occurred_at": crate::clock::rfc3339(r.occurred_at), "duration_minutes": r.duration_minutes,
        "requester": r.requester, "organisation": r.organisation, "org_level": r.org_level,
        "channel": r.channel, "summary": r.summary, "answer": r.answer, "result": r.result,
        "system_id": r.system_id, "system_name": r.system_name,
        "ticket_id": r.ticket_id, "ticket_number": r.ticket_number,
        "data": serde_json::from_str::<Value>(&r.data).unwrap_or_else(|_| json!({})),
        "operator_id": r.operator_id, "operator_name": r.operator_name, "origin": r.origin,
        "rating": r.rating, "rating_comment": r.rating_comment,
        "confirmed_at": r.confirmed_at.map(crate::clock::rfc3339),
        "created_at": crate::clock::rfc3339(r.created_at), "updated_at": crate::clock::rfc3339(r.updated_at),
    })
}
