//! Requirements and improvements (需求和功能改进清单) as a service. Each write validates
//! its typed input (`domain::requirements`), runs on one write transaction and writes its
//! audit record last (docs/ARCHITECTURE.md, "How a write flows").
//!
//! Roles: operators, engineers, the manager, the admin and requesters propose; the
//! manager and the admin move a requirement through the work or reject it; `verified` is
//! given by the purchaser (`supervisor`), 监理 (`auditor`) or the manager. A requester sees
//! only their own; everyone else sees all. The manager and the admin edit any; a proposer
//! edits their own while it is still proposed.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::inventory::SYSTEMS;
use crate::domain::requirements::{
    Priority, RequirementCreate, RequirementPatch, Source, Status, Transition, allowed_moves,
    check_requirement, check_transition, may_move, may_propose, needs_reason,
};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::requirements::{RequirementFilter, RequirementRow, RequirementValues};

fn ids(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

pub fn requirement_json(r: &RequirementRow) -> Value {
    let status = Status::parse(&r.status);
    json!({
        "id": r.id, "system_id": r.system_id, "system_name": r.system_name,
        "line_id": r.line_id, "line_code": r.line_code, "line_name": r.line_name,
        "source": r.source, "source_label": Source::parse(&r.source).map(Source::label),
        "title": r.title, "description": r.description,
        "priority": r.priority, "priority_label": Priority::parse(&r.priority).map(Priority::label),
        "status": r.status, "status_label": status.map(Status::label),
        "next": status.map(|s| s.next().iter().map(|n| n.as_str()).collect::<Vec<_>>()).unwrap_or_default(),
        "proposer_name": r.proposer_name, "proposer_org": r.proposer_org,
        "planned_date": r.planned_date, "ticket_ids": ids(&r.ticket_ids),
        "history": serde_json::from_str::<Value>(&r.history).unwrap_or_else(|_| json!([])),
        "created_by": r.created_by, "created_by_name": r.created_by_name,
        "status_at": crate::clock::rfc3339(r.status_at),
        "created_at": crate::clock::rfc3339(r.created_at), "updated_at": crate::clock::rfc3339(r.updated_at),
    })
}

/// Checks the input, then what needs the database (the system, the line and the change
/// tickets exist), every problem at once; answers the values to store.
async fn values(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    r: &RequirementCreate,
) -> AppResult<RequirementValues> {
    let (checked, mut errs) = match check_requirement(r) {
        Ok(c) => (Some(c), Vec::new()),
        Err(e) => (None, e),
    };
    if let Some(s) = r.system_id
        && !ctx.store.entity_exists_in(tx, &SYSTEMS, s).await?
    {
        errs.push(FieldError::new("system_id", format!("系统 {s} 不存在")));
    }
    if let Some(l) = r.line_id
        && ctx.store.service_line_in(tx, l).await?.is_none()
    {
        errs.push(FieldError::new("line_id", format!("服务条线 {l} 不存在")));
    }
    let mut tickets: Vec<i64> = r.ticket_ids.iter().copied().filter(|t| *t > 0).collect();
    tickets.sort_unstable();
    tickets.dedup();
    if tickets.len() <= 50 {
        let found = ctx.store.ticket_kinds_in(tx, &tickets).await?;
        for t in &tickets {
            match found.iter().find(|(id, _, _)| id == t) {
                None => errs.push(FieldError::new("ticket_ids", format!("工单 {t} 不存在"))),
                Some((_, number, kind)) if kind != "change" => errs.push(FieldError::new(
                    "ticket_ids",
                    format!("工单 {number} 不是变更工单"),
                )),
                Some(_) => {}
            }
        }
    }
    let Some(c) = checked.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    Ok(RequirementValues {
        system_id: r.system_id,
        line_id: r.line_id,
        source: r.source.as_str().to_string(),
        title: c.title,
        description: c.description,
        priority: r.priority.as_str().to_string(),
        proposer_name: c.proposer_name,
        proposer_org: c.proposer_org,
        planned_date: c.planned_date.map(|d| d.format("%Y-%m-%d").to_string()),
        ticket_ids: json!(c.ticket_ids).to_string(),
    })
}

/// One entry of a requirement's history.
fn entry(
    from: Option<Status>,
    to: Status,
    reason: Option<&str>,
    now_ms: i64,
    u: &AuthUser,
) -> Value {
    json!({
        "from": from.map(Status::as_str), "to": to.as_str(), "to_label": to.label(),
        "reason": reason, "at": crate::clock::rfc3339(now_ms),
        "by": u.username, "by_name": u.display_name,
    })
}

pub async fn create(ctx: &Ctx, u: &AuthUser, r: RequirementCreate) -> AppResult<RequirementRow> {
    if !may_propose(u.role) {
        return Err(AppError::forbidden());
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let v = values(ctx, &mut tx, &r).await?;
    let history = json!([entry(None, Status::Proposed, None, now_ms, u)]).to_string();
    let id = ctx
        .store
        .insert_requirement(
            &mut tx,
            &v,
            Status::Proposed.as_str(),
            &history,
            u.id,
            now_ms,
        )
        .await?;
    let event = NewAuditEvent::of(
        "create",
        "requirements",
        id,
        format!("提出需求：{}", v.title),
    );
    finish_write(ctx, tx, u, now_ms, id, event).await
}

/// Reads requirement `id` back on `tx`, writes `event` with it as the state after, and
/// commits: how every write here ends.
async fn finish_write(
    ctx: &Ctx,
    mut tx: crate::store::Tx,
    u: &AuthUser,
    now_ms: i64,
    id: i64,
    event: NewAuditEvent,
) -> AppResult<RequirementRow> {
    let row = stored_in(ctx, &mut tx, id).await?;
    event
        .after(requirement_json(&row))
        .write_and_commit(tx, now_ms, &u.actor())
        .await?;
    Ok(row)
}

/// Whether `u` may see `r`: a requester only their own.
fn may_see(u: &AuthUser, r: &RequirementRow) -> bool {
    u.role != Role::Requester || r.created_by == u.id
}

/// The stored requirement as the input it came from, for a patch to apply to.
fn as_input(r: &RequirementRow) -> AppResult<RequirementCreate> {
    let bad = |what: &str| anyhow::anyhow!("requirement {} has {what}", r.id);
    Ok(RequirementCreate {
        system_id: r.system_id,
        line_id: r.line_id,
        source: Source::parse(&r.source).ok_or_else(|| bad("an unknown source"))?,
        title: r.title.clone(),
        description: r.description.clone(),
        priority: Priority::parse(&r.priority).ok_or_else(|| bad("an unknown priority"))?,
        proposer_name: r.proposer_name.clone(),
        proposer_org: r.proposer_org.clone(),
        planned_date: r.planned_date.clone(),
        ticket_ids: ids(&r.ticket_ids),
    })
}

/// The requirement as stored on `tx`; one that is gone is "not found".
async fn stored_in(ctx: &Ctx, tx: &mut crate::store::Tx, id: i64) -> AppResult<RequirementRow> {
    ctx.store
        .requirement_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The requirement as stored on `tx` if `u` may see it; otherwise "not found".
async fn visible_in(
    ctx: &Ctx,
    u: &AuthUser,
    tx: &mut crate::store::Tx,
    id: i64,
) -> AppResult<RequirementRow> {
    Some(stored_in(ctx, tx, id).await?)
        .filter(|r| may_see(u, r))
        .ok_or(AppError::NotFound)
}

pub async fn update(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    p: RequirementPatch,
) -> AppResult<RequirementRow> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = visible_in(ctx, u, &mut tx, id).await?;
    let own_proposal = old.created_by == u.id && old.status == Status::Proposed.as_str();
    if !(matches!(u.role, Role::Admin | Role::Manager) || own_proposal && may_propose(u.role)) {
        return Err(AppError::forbidden());
    }
    let merged = p.apply(as_input(&old)?);
    let v = values(ctx, &mut tx, &merged).await?;
    ctx.store
        .update_requirement(&mut tx, id, &v, now_ms)
        .await?;
    let summary = format!("修改需求 #{id}：{}", v.title);
    let event =
        NewAuditEvent::of("update", "requirements", id, summary).before(requirement_json(&old));
    finish_write(ctx, tx, u, now_ms, id, event).await
}

/// `POST /requirements/{id}/transition`: moves the requirement on (or back) with a reason
/// kept in its history.
pub async fn transition(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    t: Transition,
) -> AppResult<RequirementRow> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = visible_in(ctx, u, &mut tx, id).await?;
    if !may_move(u.role, t.to) {
        return Err(AppError::forbidden());
    }
    let from = Status::parse(&old.status)
        .ok_or_else(|| anyhow::anyhow!("requirement {id} has status {}", old.status))?;
    let reason = check_transition(from, t.to, t.reason.as_deref()).map_err(AppError::Validation)?;
    let mut history: Vec<Value> = serde_json::from_str(&old.history).unwrap_or_default();
    history.push(entry(Some(from), t.to, reason.as_deref(), now_ms, u));
    ctx.store
        .set_requirement_status(
            &mut tx,
            id,
            from.as_str(),
            t.to.as_str(),
            &Value::Array(history).to_string(),
            now_ms,
        )
        .await?;
    let why = reason.map(|r| format!("（{r}）")).unwrap_or_default();
    let summary = format!("需求 #{id} 由“{}”转为“{}”{why}", from.label(), t.to.label());
    let event =
        NewAuditEvent::of("transition", "requirements", id, summary).before(requirement_json(&old));
    finish_write(ctx, tx, u, now_ms, id, event).await
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    mut f: RequirementFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<RequirementRow>, i64)> {
    if u.role == Role::Requester {
        f.created_by = Some(u.id);
    }
    Ok(ctx.store.requirements(&f, limit, offset).await?)
}

/// The status changes `u` may make to `r` now, each with whether it needs a reason: what
/// the page offers (`transition` still checks every request).
pub fn allowed_transitions(u: &AuthUser, r: &RequirementRow) -> Vec<(Status, bool)> {
    let Some(from) = Status::parse(&r.status).filter(|_| may_see(u, r)) else {
        return Vec::new();
    };
    allowed_moves(u.role, from)
        .into_iter()
        .map(|to| (to, needs_reason(from, to)))
        .collect()
}

/// Whether `u` may propose requirements (the page shows its form only then).
pub fn may_create(u: &AuthUser) -> bool {
    may_propose(u.role)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<RequirementRow> {
    let r = ctx.store.requirement(id).await?;
    if may_see(u, &r) {
        Ok(r)
    } else {
        Err(AppError::NotFound)
    }
}
