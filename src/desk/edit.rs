//! Editing a ticket: field updates, comments and worklogs.

use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::sla::{ClockEvent, ClockEventKind, ClockTarget};
use crate::domain::tickets::TicketId;
use crate::domain::tickets::input::{CommentInput, TicketUpdate, WorklogInput};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::desk::TicketRow;
use crate::store::entities::Arg;

use super::{
    check_exists_in, clocks_in, fields_json, has, is_staff, public_step, record_step,
    refresh_sla_in, visible_for_update,
};

/// Changes title, description, category, system or impact/urgency; a new priority
/// retargets the clocks from the matching policy, keeping the time already used.
pub async fn update_ticket(
    ctx: &Ctx,
    u: &AuthUser,
    id: TicketId,
    input: &TicketUpdate,
) -> AppResult<TicketRow> {
    let id = id.0;
    let (mut tx, t) = visible_for_update(ctx, u, id).await?;
    let lead = matches!(u.role, Role::Admin | Role::Manager);
    if !(lead || (matches!(u.role, Role::Engineer | Role::Operator) && t.assignee_id == Some(u.id)))
    {
        return Err(AppError::forbidden());
    }
    if matches!(t.status.as_str(), "closed" | "canceled") {
        return Err(AppError::Conflict("已关闭或取消的工单不能修改".into()));
    }
    let (p, mut errs) = input.check();
    let mut fields: Vec<(&str, Arg)> = Vec::new();
    if let Some(Some(v)) = p.title {
        fields.push(("title", Arg::Text(Some(v))));
    }
    if let Some(v) = p.description {
        fields.push(("description", Arg::Text(v)));
    }
    if let Some(v) = p.category {
        fields.push(("category", Arg::Text(v)));
    }
    for (key, label, v, spec) in [
        (
            "system_id",
            "系统",
            p.system_id,
            &crate::domain::inventory::SYSTEMS,
        ),
        (
            "asset_id",
            "设备",
            p.asset_id,
            &crate::domain::inventory::ASSETS,
        ),
    ] {
        if let Some(v) = v {
            check_exists_in(ctx, &mut tx, spec, v, key, label, &mut errs).await?;
            fields.push((key, Arg::Int(v)));
        }
    }
    let impact = p.impact.map(|l| l.code().to_string());
    let urgency = p.urgency.map(|l| l.code().to_string());
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let new_impact = impact.clone().unwrap_or_else(|| t.impact.clone());
    let new_urgency = urgency.clone().unwrap_or_else(|| t.urgency.clone());
    let new_priority = ctx
        .config
        .desk
        .priority_matrix
        .priority(&new_impact, &new_urgency);
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let mut clock_events = Vec::new();
    if impact.is_some() {
        fields.push(("impact", Arg::Text(Some(new_impact.clone()))));
    }
    if urgency.is_some() {
        fields.push(("urgency", Arg::Text(Some(new_urgency.clone()))));
    }
    if new_priority != t.priority {
        fields.push(("priority", Arg::Text(Some(new_priority.clone()))));
        let sys = fields
            .iter()
            .find(|(k, _)| *k == "system_id")
            .and_then(|(_, a)| if let Arg::Int(v) = a { *v } else { None })
            .or(t.system_id);
        if let Some(p) = ctx
            .store
            .policies_in(&mut tx)
            .await?
            .matching(&t.kind, &new_priority, sys)
        {
            fields.push(("sla_policy_id", Arg::Int(Some(p.id))));
            let why = format!("优先级 {} → {}", t.priority, new_priority);
            for (target, minutes) in [
                (ClockTarget::Response, p.response_minutes),
                (ClockTarget::Onsite, p.onsite_minutes),
                (ClockTarget::Resolve, p.resolve_minutes),
            ] {
                if let Some(m) = minutes {
                    clock_events.push((
                        target,
                        ClockEvent {
                            at: now,
                            kind: ClockEventKind::Retarget,
                            target_seconds: Some(m * 60),
                            reason: why.clone(),
                        },
                    ));
                }
            }
        }
    }
    if fields.is_empty() {
        return Ok(t);
    }
    ctx.store
        .update_ticket_fields(&mut tx, id, &fields, now_ms)
        .await?;
    for (target, e) in &clock_events {
        ctx.store.add_clock_event(&mut tx, id, *target, e).await?;
    }
    let changed: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    let summary = if new_priority != t.priority {
        format!(
            "修改工单（{}），优先级 {} → {}",
            changed.join("、"),
            t.priority,
            new_priority
        )
    } else {
        format!("修改工单（{}）", changed.join("、"))
    };
    public_step(ctx, &mut tx, id, now_ms, u, "updated", &summary, None).await?;
    // The ticket row first, the audit chain's head last (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of("update", "tickets", id, format!("{} {summary}", t.number))
        .before(json!({"priority": t.priority, "impact": t.impact, "urgency": t.urgency}))
        .after(fields_json(&fields))
        .write(&mut tx, now_ms, &u.actor())
        .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Adds a comment; a public comment by staff is the first response.
pub async fn comment(
    ctx: &Ctx,
    u: &AuthUser,
    id: TicketId,
    input: &CommentInput,
) -> AppResult<i64> {
    let id = id.0;
    let internal = input.internal.unwrap_or(false);
    if u.role == Role::Auditor || (u.role == Role::Requester && internal) {
        return Err(AppError::forbidden());
    }
    let body = input.check().map_err(AppError::Validation)?;
    let (mut tx, t) = visible_for_update(ctx, u, id).await?;
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let cs = clocks_in(ctx, &mut tx, &t).await?;
    let cid = ctx
        .store
        .add_comment(&mut tx, id, u.uid(), &u.username, body, internal, now_ms)
        .await?;
    if is_staff(u.role) && !internal && t.first_response_at.is_none() {
        ctx.store
            .update_ticket_fields(
                &mut tx,
                id,
                &[("first_response_at", Arg::Int(Some(now_ms)))],
                now_ms,
            )
            .await?;
        if has(&cs, ClockTarget::Response) {
            let e = ClockEvent {
                at: now,
                kind: ClockEventKind::Stop,
                target_seconds: None,
                reason: "首次回复".into(),
            };
            ctx.store
                .add_clock_event(&mut tx, id, ClockTarget::Response, &e)
                .await?;
        }
    }
    let summary = if internal {
        "内部备注".to_string()
    } else {
        format!("{}留言", u.display_name)
    };
    // The ticket row first, the audit chain's head last: every write takes the shared
    // rows in that order (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    record_step(
        ctx,
        &mut tx,
        u,
        &t,
        "comment",
        &summary,
        json!({"comment_id": cid, "internal": internal}),
        internal,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(cid)
}

/// Records minutes spent (staff only).
pub async fn worklog(
    ctx: &Ctx,
    u: &AuthUser,
    id: TicketId,
    input: &WorklogInput,
) -> AppResult<i64> {
    let id = id.0;
    if !is_staff(u.role) {
        return Err(AppError::forbidden());
    }
    input.check().map_err(AppError::Validation)?;
    let (minutes, note) = (input.minutes, input.note.clone());
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    let wid = ctx
        .store
        .add_worklog(&mut tx, id, u.uid(), &u.username, minutes, note, now_ms)
        .await?;
    let summary = format!("登记工时 {minutes} 分钟");
    record_step(
        ctx,
        &mut tx,
        u,
        &t,
        "worklog",
        &summary,
        json!({"minutes": minutes}),
        true,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(wid)
}
