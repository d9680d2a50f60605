//! Editing a ticket: field updates, comments and worklogs.

use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::sla::{ClockEvent, ClockEventKind, ClockTarget};
use crate::domain::tickets::{self as tk};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::desk::TicketRow;
use crate::store::entities::Arg;

use super::{
    arg_json, can_view, check_exists_in, choice_field, clocks_in, has, id_field, is_staff,
    record_step, refresh_sla_in, text_field,
};

/// The fields `update_ticket` accepts (`id` and `number` are ignored).
pub(super) const UPDATE_KEYS: &[&str] = &[
    "title",
    "description",
    "category",
    "impact",
    "urgency",
    "system_id",
    "asset_id",
    "id",
    "number",
];

/// Changes title, description, category, system or impact/urgency; a new priority
/// retargets the clocks from the matching policy, keeping the time already used.
pub async fn update_ticket(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    obj: &Map<String, Value>,
) -> AppResult<TicketRow> {
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    let lead = matches!(u.role, Role::Admin | Role::Manager);
    if !(lead || (matches!(u.role, Role::Engineer | Role::Operator) && t.assignee_id == Some(u.id)))
    {
        return Err(AppError::forbidden());
    }
    if matches!(t.status.as_str(), "closed" | "canceled") {
        return Err(AppError::Conflict("已关闭或取消的工单不能修改".into()));
    }
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !UPDATE_KEYS.contains(&k.as_str()) {
            errs.push(FieldError::new(k.clone(), format!("字段“{k}”不能在此修改")));
        }
    }
    let mut fields: Vec<(&str, Arg)> = Vec::new();
    if obj.contains_key("title") {
        match text_field(obj, "title", "标题", 200, &mut errs) {
            Some(v) => fields.push(("title", Arg::Text(Some(v)))),
            None if !errs.iter().any(|e| e.field == "title") => {
                errs.push(FieldError::new("title", "请填写标题"))
            }
            None => {}
        }
    }
    if obj.contains_key("description") {
        fields.push((
            "description",
            Arg::Text(text_field(obj, "description", "描述", 20_000, &mut errs)),
        ));
    }
    if obj.contains_key("category") {
        fields.push((
            "category",
            Arg::Text(text_field(obj, "category", "分类", 50, &mut errs)),
        ));
    }
    for (key, label) in [("system_id", "系统"), ("asset_id", "设备")] {
        if obj.contains_key(key) {
            let v = id_field(obj, key, label, &mut errs);
            let spec = if key == "system_id" {
                &crate::domain::inventory::SYSTEMS
            } else {
                &crate::domain::inventory::ASSETS
            };
            check_exists_in(ctx, &mut tx, spec, v, key, label, &mut errs).await?;
            fields.push((key, Arg::Int(v)));
        }
    }
    let impact = if obj.contains_key("impact") {
        choice_field(obj, "impact", "影响程度", tk::LEVELS, &mut errs)
    } else {
        None
    };
    let urgency = if obj.contains_key("urgency") {
        choice_field(obj, "urgency", "紧急程度", tk::LEVELS, &mut errs)
    } else {
        None
    };
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
    ctx.store
        .add_ticket_event(
            &mut tx,
            id,
            now_ms,
            u.uid(),
            &u.username,
            "updated",
            &summary,
            None,
            false,
        )
        .await?;
    // The ticket row first, the audit chain's head last (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: "update".into(),
            entity_type: "tickets".into(),
            entity_id: Some(id.to_string()),
            summary: format!("{} {summary}", t.number),
            before: Some(json!({"priority": t.priority, "impact": t.impact, "urgency": t.urgency})),
            after: Some(Value::Object(
                fields
                    .iter()
                    .map(|(k, a)| (k.to_string(), arg_json(a)))
                    .collect(),
            )),
        },
    )
    .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Adds a comment; a public comment by staff is the first response.
pub async fn comment(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    body: &str,
    internal: bool,
) -> AppResult<i64> {
    if u.role == Role::Auditor || (u.role == Role::Requester && internal) {
        return Err(AppError::forbidden());
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(AppError::invalid(
            "body",
            "请填写留言内容（不超过 20000 个字符）",
        ));
    }
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
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

/// Longest worklog note, in characters.
pub const WORKLOG_NOTE_MAX: usize = 2_000;

/// Records minutes spent (staff only).
pub async fn worklog(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    minutes: i64,
    note: Option<String>,
) -> AppResult<i64> {
    if !is_staff(u.role) {
        return Err(AppError::forbidden());
    }
    if !(1..=1440).contains(&minutes) {
        return Err(AppError::invalid("minutes", "工时应为 1 到 1440 分钟"));
    }
    if let Some(n) = &note {
        crate::domain::text::check_field("工作记录说明", n, true, WORKLOG_NOTE_MAX)
            .map_err(|m| AppError::invalid("note", m))?;
    }
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
