//! The lifecycle actions on a ticket and who may take them.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::sla::{ClockEvent, ClockEventKind, ClockState, ClockStatus, ClockTarget};
use crate::domain::tickets::TicketId;
use crate::domain::tickets::input::{TicketAction, required_text};
use crate::domain::tickets::{self as tk, Action};
use crate::error::{AppError, AppResult};
use crate::store::Store;
use crate::store::audit::NewAuditEvent;
use crate::store::desk::TicketRow;
use crate::store::entities::Arg;

use super::{
    clocks_in, fields_json, has, public_step, refresh_sla_in, running, visible_for_update,
};

/// The actions the user may take on the ticket now (for pages and the API).
pub fn allowed_actions(u: &AuthUser, t: &TicketRow) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|a| may(u, t, **a).is_ok() && a.allowed_from().contains(&t.status.as_str()))
        // A check-in happens once, and only incidents have one (`apply_action` refuses
        // the rest): never offer what would be refused.
        .filter(|a| **a != Action::CheckIn || (t.kind == "incident" && t.onsite_at.is_none()))
        .map(|a| a.code())
        .collect()
}

/// A field of the fault report as a form asks for it.
#[derive(Debug, serde::Serialize)]
pub struct ReportField {
    pub name: &'static str,
    pub label: &'static str,
    /// A time (RFC 3339 in the API, a local date and time in the form).
    pub time: bool,
    /// A time that cannot be later than the resolution (that is, now): forms set `max`.
    pub not_after_now: bool,
}

/// What the action forms of a ticket must ask for, from the rules `apply_action` applies:
/// pages render these and restate none of them.
#[derive(Debug, serde::Serialize)]
pub struct ActionNeeds {
    /// `resolve`: the fault report's fields, all required; empty when none is needed.
    pub fault_report: Vec<ReportField>,
    /// `resolve`: a reason for fixing remotely, required while a site visit is due.
    pub remote_fix_reason: bool,
    /// `assign`: a reason, required when the ticket goes to another engineer.
    pub reassign_reason: bool,
}

/// Whether resolving the ticket needs a fault report (incidents).
fn needs_fault_report(t: &TicketRow) -> bool {
    t.kind == "incident"
}

/// Whether resolving the ticket without a site visit needs a reason: an incident with an
/// on-site target and no check-in yet.
fn needs_site_visit(t: &TicketRow, cs: &[ClockState]) -> bool {
    needs_fault_report(t) && t.onsite_at.is_none() && has(cs, ClockTarget::Onsite)
}

/// What the ticket's action forms ask for, given its clocks (`clocks`).
pub fn action_needs(t: &TicketRow, cs: &[ClockState]) -> ActionNeeds {
    let fault_report = if needs_fault_report(t) {
        tk::FAULT_REPORT_FIELDS
            .iter()
            .map(|(name, label)| ReportField {
                name,
                label,
                time: name.ends_with("_at"),
                not_after_now: name.ends_with("_at"),
            })
            .collect()
    } else {
        Vec::new()
    };
    ActionNeeds {
        fault_report,
        remote_fix_reason: needs_site_visit(t, cs),
        reassign_reason: t.assignee_id.is_some(),
    }
}

/// Role rules for an action on a ticket.
fn may(u: &AuthUser, t: &TicketRow, a: Action) -> Result<(), AppError> {
    let own_request = t.requester_id == Some(u.id);
    let is_assignee = t.assignee_id == Some(u.id);
    let lead = matches!(u.role, Role::Admin | Role::Manager);
    let worker = matches!(u.role, Role::Engineer | Role::Operator);
    let ok = match a {
        Action::Supervise => matches!(u.role, Role::Supervisor | Role::Manager),
        Action::Rate => own_request,
        Action::Close => lead || is_assignee || own_request,
        Action::Reopen => lead || own_request,
        Action::Cancel => lead || (own_request && t.status == "new"),
        Action::Assign => lead || (worker && (t.assignee_id.is_none() || is_assignee)),
        Action::Start | Action::Pend | Action::Resume | Action::CheckIn | Action::Resolve => {
            lead || (worker && is_assignee)
        }
    };
    if ok {
        Ok(())
    } else if u.role == Role::Auditor {
        Err(AppError::Forbidden("监理为只读角色，不能操作工单".into()))
    } else {
        Err(AppError::Forbidden(format!(
            "您不能对此工单执行“{}”",
            a.label()
        )))
    }
}

fn reason(v: &Option<String>, key: &str, what: &str) -> AppResult<String> {
    required_text(v.as_deref(), key, what).map_err(|e| AppError::Validation(vec![e]))
}

/// Applies one lifecycle action `{"action": ..., ...}`; every change goes to the timeline,
/// the SLA clocks and the audit log in one transaction.
pub async fn apply_action(
    ctx: &Ctx,
    u: &AuthUser,
    id: TicketId,
    input: &TicketAction,
) -> AppResult<TicketRow> {
    let id = id.0;
    let (mut tx, t) = visible_for_update(ctx, u, id).await?;
    let action = input.action;
    let name = action.code();
    may(u, &t, action)?;
    if !action.allowed_from().contains(&t.status.as_str()) {
        return Err(AppError::Conflict(format!(
            "工单当前状态为“{}”，不能执行“{}”",
            tk::label(tk::STATUSES, &t.status),
            action.label()
        )));
    }
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let cs = clocks_in(ctx, &mut tx, &t).await?;
    let mut fields: Vec<(&str, Arg)> = Vec::new();
    let mut clock_events: Vec<(ClockTarget, ClockEventKind, String)> = Vec::new();
    let mut summary;
    let mut data = json!({"action": name});
    let stop_response = |clock_events: &mut Vec<(ClockTarget, ClockEventKind, String)>,
                         fields: &mut Vec<(&str, Arg)>,
                         why: &str| {
        if running(&cs, ClockTarget::Response) || has(&cs, ClockTarget::Response) {
            clock_events.push((ClockTarget::Response, ClockEventKind::Stop, why.to_string()));
        }
        if t.first_response_at.is_none() {
            fields.push(("first_response_at", Arg::Int(Some(now_ms))));
        }
    };
    match action {
        Action::Assign => {
            let to = input
                .assignee_id
                .ok_or_else(|| AppError::invalid("assignee_id", "请选择处理人"))?;
            if !Store::active_role_in(&mut tx, to)
                .await?
                .is_some_and(|r| ["engineer", "operator", "manager"].contains(&r.as_str()))
            {
                return Err(AppError::invalid(
                    "assignee_id",
                    "处理人须为在用的工程师、运营人员或项目经理账号",
                ));
            }
            if matches!(u.role, Role::Engineer | Role::Operator)
                && t.assignee_id.is_none()
                && to != u.id
            {
                return Err(AppError::Forbidden(
                    "工程师只能领取队列中的工单给自己".into(),
                ));
            }
            let why = if t.assignee_id.is_some() && t.assignee_id != Some(to) {
                Some(reason(&input.reason, "reason", "改派原因")?)
            } else {
                None
            };
            fields.push(("assignee_id", Arg::Int(Some(to))));
            if matches!(t.status.as_str(), "new" | "assigned") {
                fields.push(("status", Arg::Text(Some("assigned".into()))));
            }
            let name = Store::user_name_in(&mut tx, to)
                .await?
                .unwrap_or_else(|| format!("用户 #{to}"));
            summary = match &why {
                Some(r) => format!("{} 将工单改派给 {name}：{r}", u.display_name),
                None => format!("{} 将工单分派给 {name}", u.display_name),
            };
            data["assignee_id"] = json!(to);
        }
        Action::Start => {
            fields.push(("status", Arg::Text(Some("in_progress".into()))));
            stop_response(&mut clock_events, &mut fields, "开始处理");
            summary = "开始处理".into();
        }
        Action::Pend => {
            let r = reason(&input.reason, "reason", "挂起原因（如等待用户或第三方）")?;
            fields.push(("status", Arg::Text(Some("pending".into()))));
            fields.push(("pending_reason", Arg::Text(Some(r.clone()))));
            stop_response(&mut clock_events, &mut fields, "挂起前已响应");
            if has(&cs, ClockTarget::Resolve) {
                clock_events.push((ClockTarget::Resolve, ClockEventKind::Pause, r.clone()));
            }
            summary = format!("挂起：{r}");
        }
        Action::Resume => {
            fields.push(("status", Arg::Text(Some("in_progress".into()))));
            fields.push(("pending_reason", Arg::Text(None)));
            if has(&cs, ClockTarget::Resolve) {
                clock_events.push((
                    ClockTarget::Resolve,
                    ClockEventKind::Resume,
                    "恢复处理".into(),
                ));
            }
            summary = "恢复处理".into();
        }
        Action::CheckIn => {
            if t.kind != "incident" {
                return Err(AppError::invalid("action", "只有故障工单需要到场签到"));
            }
            if t.onsite_at.is_some() {
                return Err(AppError::Conflict("已经签到过了".into()));
            }
            fields.push(("onsite_at", Arg::Int(Some(now_ms))));
            if matches!(t.status.as_str(), "new" | "assigned") {
                fields.push(("status", Arg::Text(Some("in_progress".into()))));
            }
            stop_response(&mut clock_events, &mut fields, "到场即响应");
            if has(&cs, ClockTarget::Onsite) {
                clock_events.push((ClockTarget::Onsite, ClockEventKind::Stop, "到场签到".into()));
            }
            summary = format!("{}到场签到", u.display_name);
        }
        Action::Resolve => {
            let resolution = reason(&input.resolution, "resolution", "处理结果")?;
            if needs_fault_report(&t) {
                let fr = tk::validate_fault_report(input.fault_report.as_ref())
                    .map_err(AppError::Validation)?;
                let late = crate::domain::tickets::input::check_report_times(&fr, now_ms);
                if !late.is_empty() {
                    return Err(AppError::Validation(late));
                }
                fields.push((
                    "fault_report",
                    Arg::Text(Some(Value::Object(fr).to_string())),
                ));
                if needs_site_visit(&t, &cs) {
                    let why = input.remote_fix_reason.as_deref();
                    match why {
                        Some(w) => clock_events.push((
                            ClockTarget::Onsite,
                            ClockEventKind::Waive,
                            format!("远程解决：{w}"),
                        )),
                        None => {
                            return Err(AppError::invalid(
                                "remote_fix_reason",
                                "尚未到场签到：请先到场签到，或填写远程解决的原因（remote_fix_reason）",
                            ));
                        }
                    }
                }
            }
            fields.push(("status", Arg::Text(Some("resolved".into()))));
            fields.push(("resolution", Arg::Text(Some(resolution.clone()))));
            fields.push(("resolved_at", Arg::Int(Some(now_ms))));
            fields.push(("pending_reason", Arg::Text(None)));
            stop_response(&mut clock_events, &mut fields, "解决即响应");
            if has(&cs, ClockTarget::Resolve) {
                if !running(&cs, ClockTarget::Resolve) {
                    clock_events.push((
                        ClockTarget::Resolve,
                        ClockEventKind::Resume,
                        "解决".into(),
                    ));
                }
                clock_events.push((ClockTarget::Resolve, ClockEventKind::Stop, "已解决".into()));
            }
            summary = format!("已解决：{resolution}");
        }
        Action::Close => {
            fields.push(("status", Arg::Text(Some("closed".into()))));
            fields.push(("closed_at", Arg::Int(Some(now_ms))));
            summary = if t.requester_id == Some(u.id) {
                "报障人确认解决，关闭".into()
            } else {
                "关闭".into()
            };
        }
        Action::Reopen => {
            let r = reason(&input.reason, "reason", "重新打开的原因")?;
            let since = t.resolved_at.unwrap_or(t.updated_at);
            let window = ctx.config.desk.reopen_window_days;
            if now_ms - since > window * 86_400_000 {
                return Err(AppError::Conflict(format!(
                    "工单解决已超过 {window} 天，不能重新打开，请新建工单并关联此单"
                )));
            }
            fields.push((
                "status",
                Arg::Text(Some(
                    if t.assignee_id.is_some() {
                        "in_progress"
                    } else {
                        "new"
                    }
                    .into(),
                )),
            ));
            fields.push(("reopen_count", Arg::Int(Some(t.reopen_count + 1))));
            fields.push(("resolved_at", Arg::Int(None)));
            fields.push(("closed_at", Arg::Int(None)));
            fields.push(("satisfaction", Arg::Int(None)));
            fields.push(("satisfaction_comment", Arg::Text(None)));
            if cs.iter().any(|c| c.target == ClockTarget::Resolve) {
                clock_events.push((
                    ClockTarget::Resolve,
                    ClockEventKind::Resume,
                    format!("重新打开：{r}"),
                ));
            }
            summary = format!("重新打开：{r}");
        }
        Action::Cancel => {
            let r = reason(&input.reason, "reason", "取消原因")?;
            fields.push(("status", Arg::Text(Some("canceled".into()))));
            fields.push(("cancel_reason", Arg::Text(Some(r.clone()))));
            fields.push(("closed_at", Arg::Int(Some(now_ms))));
            for c in &cs {
                if c.stopped_at.is_none() && c.status != ClockStatus::Waived {
                    clock_events.push((c.target, ClockEventKind::Waive, format!("工单取消：{r}")));
                }
            }
            summary = format!("取消：{r}");
        }
        Action::Supervise => {
            let note = reason(&input.note, "note", "督办意见")?;
            summary = format!("{}督办：{note}", u.display_name);
            data["note"] = json!(note);
        }
        Action::Rate => {
            if t.requester_id != Some(u.id) {
                return Err(AppError::Forbidden("只有报障人可以评价".into()));
            }
            if t.satisfaction.is_some() {
                return Err(AppError::Conflict("该工单已评价".into()));
            }
            let score = input
                .score
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| AppError::invalid("score", "评分应为 1 到 5 的整数"))?;
            let comment = input.comment.clone();
            if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
                return Err(AppError::invalid("comment", "评价内容不能超过 2000 个字符"));
            }
            fields.push(("satisfaction", Arg::Int(Some(score))));
            fields.push(("satisfaction_comment", Arg::Text(comment.clone())));
            if t.status == "resolved" {
                fields.push(("status", Arg::Text(Some("closed".into()))));
                fields.push(("closed_at", Arg::Int(Some(now_ms))));
            }
            summary = format!(
                "评价 {score} 星{}",
                comment.map(|c| format!("：{c}")).unwrap_or_default()
            );
            data["score"] = json!(score);
        }
    }
    if !fields.is_empty() {
        ctx.store
            .update_ticket_fields(&mut tx, id, &fields, now_ms)
            .await?;
    }
    for (target, kind, why) in &clock_events {
        let e = ClockEvent {
            at: now,
            kind: *kind,
            target_seconds: None,
            reason: why.clone(),
        };
        ctx.store.add_clock_event(&mut tx, id, *target, &e).await?;
    }
    if summary.is_empty() {
        summary = action.label().into();
    }
    let eid = public_step(ctx, &mut tx, id, now_ms, u, name, &summary, Some(data)).await?;
    if matches!(action, Action::Resolve) {
        // Resolving a ticket rectifies (整改) the inspection findings that opened it.
        ctx.store
            .rectify_findings_of_ticket(&mut tx, id, now_ms)
            .await?;
        // A consultation ticket becomes its line's 技术支持 record, once.
        // When the record would not pass the checks of a hand-entered one, the timeline
        // says why instead.
        if let Some(resolution) = &input.resolution
            && let Some(why) =
                crate::ops::support_from_ticket(ctx, &mut tx, u, &t, resolution.trim(), now_ms)
                    .await?
        {
            ctx.store
                .add_ticket_event(
                    &mut tx,
                    id,
                    now_ms,
                    None,
                    "system:operations",
                    "support_record_skipped",
                    &why,
                    None,
                    false,
                )
                .await?;
        }
    }
    if matches!(action, Action::Start | Action::CheckIn) {
        // Taking up a ticket acknowledges the alerts that opened it.
        ctx.store
            .acknowledge_alerts_of_ticket(&mut tx, id, &u.username, now_ms)
            .await?;
    }
    let event = match action {
        Action::Assign => Some("ticket.assigned"),
        Action::Supervise => Some("ticket.supervised"),
        Action::Resolve => Some("ticket.resolved"),
        Action::Reopen => Some("ticket.reopened"),
        _ => None,
    };
    if let Some(event) = event {
        let row = ctx.store.ticket_tx(&mut tx, id).await?;
        let who = row.assignee_id;
        crate::notify::enqueue_for_ticket(
            ctx,
            &mut tx,
            event,
            &row,
            who,
            &eid.to_string(),
            &summary,
        )
        .await?;
    }
    // The ticket row first, the audit chain's head last: every write takes the shared
    // rows in that order (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of(
        &format!("ticket.{name}"),
        "tickets",
        id,
        format!("{} {}", t.number, summary),
    )
    .before(json!({"status": t.status, "assignee_id": t.assignee_id}))
    .after(fields_json(&fields))
    .write(&mut tx, now_ms, &u.actor())
    .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}
