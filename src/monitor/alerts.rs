//! Alerts: identity is a dedup key; one episode opens exactly one incident ticket; a
//! re-fire within the configured window reopens the same ticket; recovery notes the
//! ticket; taking up the ticket acknowledges the alert; an alert nobody acknowledges is
//! escalated to whoever is on duty and the managers.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::{Perm, Role};
use crate::domain::tickets::input::{
    FaultReport, Level, LinkInput, LinkKind, TicketAction, TicketCreate, TicketKind, TicketSource,
};
use crate::domain::tickets::{Action, AlertId, TicketId};
use crate::error::{AppError, AppResult};
use crate::store::Optional;
use crate::store::audit::NewAuditEvent;
use crate::store::monitor::AlertRow;

/// What a source says is wrong.
#[derive(Clone, Debug, Default)]
pub struct Fire {
    pub key: String,
    pub source: String,
    pub integration_id: Option<i64>,
    pub monitor_id: Option<i64>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub priority: String,
    pub title: String,
    pub description: Option<String>,
    pub labels: Option<Value>,
    /// The source's own identity of this notification: the same key twice is one event.
    pub event_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new alert (or a new episode) with a new ticket.
    Opened,
    /// A new episode within the window: the previous ticket was reopened.
    Reopened,
    /// Still firing: counted, no new ticket.
    Refired,
    /// This exact event was seen before: nothing changed.
    Duplicate,
    Resolved,
    /// Nothing to resolve.
    NotOpen,
}

fn system_user() -> AuthUser {
    AuthUser::system("monitoring")
}

/// impact/urgency giving `priority` under the configured matrix.
fn levels_for(ctx: &Ctx, priority: &str) -> (String, String) {
    for i in ["high", "medium", "low"] {
        for u in ["high", "medium", "low"] {
            if ctx.config.desk.priority_matrix.priority(i, u) == priority {
                return (i.into(), u.into());
            }
        }
    }
    ("medium".into(), "medium".into())
}

async fn open_ticket(ctx: &Ctx, f: &Fire, alert_id: i64) -> AppResult<i64> {
    let (impact, urgency) = levels_for(ctx, &f.priority);
    let title: String = format!("【监控告警】{}", f.title)
        .chars()
        .take(200)
        .collect();
    let mut t = TicketCreate::new(TicketKind::Incident, title);
    t.source = Some(TicketSource::Monitoring);
    let mut desc = f.description.clone().unwrap_or_default();
    desc.push_str(&format!("\n\n告警标识：{}（来源：{}）", f.key, f.source));
    t.description = Some(desc.trim().to_string());
    t.impact = Level::parse(&impact);
    t.urgency = Level::parse(&urgency);
    t.category = Some("监控告警".into());
    // The references may have gone since the monitor or source was set up.
    if let Some(s) = f.system_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::SYSTEMS, s)
            .await
            .optional()?
            .is_some()
    {
        t.system_id = Some(s);
    }
    if let Some(a) = f.asset_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::ASSETS, a)
            .await
            .optional()?
            .is_some()
    {
        t.asset_id = Some(a);
    }
    let t = crate::desk::open_ticket_for(ctx, &system_user(), &t, Some(AlertId(alert_id))).await?;
    Ok(t.id)
}

/// A timeline entry on the alert's ticket, plus the rules' notifications unless silenced.
async fn note_ticket(
    ctx: &Ctx,
    a: &AlertRow,
    kind: &str,
    event: Option<&str>,
    summary: &str,
) -> AppResult<()> {
    let Some(tid) = a.ticket_id else {
        return Ok(());
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let eid = ctx
        .store
        .add_ticket_event(
            &mut tx,
            tid,
            now,
            None,
            "system:monitoring",
            kind,
            summary,
            Some(json!({"alert_id": a.id})),
            false,
        )
        .await?;
    let silenced = a.silenced_until.is_some_and(|s| s > now);
    if let Some(event) = event
        && !silenced
    {
        let t = ctx.store.ticket_tx(&mut tx, tid).await?;
        crate::notify::enqueue_for_ticket(
            ctx,
            &mut tx,
            event,
            &t,
            t.assignee_id,
            &format!("a{}-{eid}", a.id),
            summary,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn fire(ctx: &Ctx, f: &Fire) -> AppResult<(AlertRow, Outcome)> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    if let Some(k) = &f.event_key
        && ctx.store.alert_event_seen(&mut tx, k).await?
    {
        let a = ctx
            .store
            .alert_by_key_tx(&mut tx, &f.key)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        return Ok((a, Outcome::Duplicate));
    }
    let labels = f.labels.as_ref().map(Value::to_string);
    let existing = ctx.store.alert_by_key_tx(&mut tx, &f.key).await?;
    let (id, outcome, previous) = match existing {
        None => {
            let id = ctx
                .store
                .insert_alert(
                    &mut tx,
                    &f.key,
                    &f.source,
                    f.integration_id,
                    f.monitor_id,
                    f.system_id,
                    f.asset_id,
                    &f.priority,
                    &f.title,
                    f.description.as_deref(),
                    labels,
                    now,
                )
                .await?;
            ctx.store
                .add_alert_event(&mut tx, id, now, "fired", &f.title, f.event_key.as_deref())
                .await?;
            (id, Outcome::Opened, None)
        }
        Some(a) if a.status != "resolved" => {
            ctx.store.record_alert_refire(&mut tx, a.id, now).await?;
            ctx.store
                .add_alert_event(
                    &mut tx,
                    a.id,
                    now,
                    "refired",
                    &f.title,
                    f.event_key.as_deref(),
                )
                .await?;
            (a.id, Outcome::Refired, Some(a))
        }
        Some(a) => {
            let within = a
                .resolved_at
                .is_some_and(|r| now - r <= ctx.config.monitoring.refire_window_minutes * 60_000);
            ctx.store
                .reopen_alert(
                    &mut tx,
                    a.id,
                    now,
                    &f.title,
                    &f.priority,
                    f.description.as_deref(),
                )
                .await?;
            ctx.store
                .add_alert_event(
                    &mut tx,
                    a.id,
                    now,
                    "fired",
                    &format!("再次触发（第 {} 次）：{}", a.episodes + 1, f.title),
                    f.event_key.as_deref(),
                )
                .await?;
            let outcome = if within && a.ticket_id.is_some() {
                Outcome::Reopened
            } else {
                Outcome::Opened
            };
            (a.id, outcome, Some(a))
        }
    };
    tx.commit().await?;
    let mut outcome = outcome;
    match outcome {
        Outcome::Opened => {
            let tid = open_ticket(ctx, f, id).await?;
            if let Some(prev) = previous.as_ref().and_then(|p| p.ticket_id) {
                // Keep the episodes of one alert findable from each other.
                let link = LinkInput {
                    ticket_id: TicketId(prev),
                    kind: Some(LinkKind::Related),
                };
                let _ = crate::desk::link(ctx, &system_user(), TicketId(tid), &link).await;
            }
        }
        Outcome::Reopened => {
            let prev = previous.as_ref().and_then(|p| p.ticket_id).unwrap_or(0);
            let t = ctx.store.ticket(prev).await?;
            let reopened = if ["resolved", "closed"].contains(&t.status.as_str()) {
                let mut body = TicketAction::new(Action::Reopen);
                body.reason = Some(format!("监控告警再次触发：{}", f.title));
                crate::desk::apply_action(ctx, &system_user(), TicketId(prev), &body)
                    .await
                    .is_ok()
            } else {
                // Still open (nobody resolved it): the same ticket carries on.
                !["canceled"].contains(&t.status.as_str())
            };
            if reopened {
                let a = ctx.store.alert(id).await?;
                note_ticket(
                    ctx,
                    &a,
                    "alert_fired",
                    Some("alert.firing"),
                    &format!("告警再次触发：{}", f.title),
                )
                .await?;
            } else {
                open_ticket(ctx, f, id).await?;
                outcome = Outcome::Opened;
            }
        }
        Outcome::Refired if previous.as_ref().is_some_and(|p| p.ticket_id.is_none()) => {
            // The ticket was never opened (a crash right after the alert): open it now.
            open_ticket(ctx, f, id).await?;
        }
        _ => {}
    }
    let a = ctx.store.alert(id).await?;
    if outcome == Outcome::Opened {
        note_ticket(
            ctx,
            &a,
            "alert_fired",
            Some("alert.firing"),
            &format!("告警触发：{}", f.title),
        )
        .await?;
    }
    Ok((a, outcome))
}

/// Resolves the alert with `key`, if open; notes the ticket.
pub async fn resolve(
    ctx: &Ctx,
    key: &str,
    note: &str,
    event_key: Option<&str>,
) -> AppResult<(Option<AlertRow>, Outcome)> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    if let Some(k) = event_key
        && ctx.store.alert_event_seen(&mut tx, k).await?
    {
        let a = ctx.store.alert_by_key_tx(&mut tx, key).await?;
        tx.commit().await?;
        return Ok((a, Outcome::Duplicate));
    }
    let Some(a) = ctx.store.alert_by_key_tx(&mut tx, key).await? else {
        return Ok((None, Outcome::NotOpen));
    };
    if a.status == "resolved" {
        return Ok((Some(a), Outcome::NotOpen));
    }
    ctx.store.resolve_alert(&mut tx, a.id, now).await?;
    ctx.store
        .add_alert_event(&mut tx, a.id, now, "resolved", note, event_key)
        .await?;
    tx.commit().await?;
    let a = ctx.store.alert(a.id).await?;
    note_ticket(
        ctx,
        &a,
        "alert_resolved",
        Some("alert.resolved"),
        &format!("告警恢复：{note}"),
    )
    .await?;
    auto_resolve_ticket(ctx, &a, note).await?;
    Ok((Some(a), Outcome::Resolved))
}

/// An action a user may take on an alert from the alert list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    Silence,
}

impl AlertAction {
    /// The form value (`do`) that asks for this action.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "acknowledge",
            AlertAction::Silence => "silence",
        }
    }
}

/// The actions an alert offers a user of `role`: none to a reader or on a resolved
/// alert; a firing alert can be acknowledged; an open one (firing or acknowledged) can be
/// silenced.
pub fn allowed_actions(role: Role, a: &AlertRow) -> Vec<AlertAction> {
    actions_for_status(role, &a.status)
}

fn actions_for_status(role: Role, status: &str) -> Vec<AlertAction> {
    if !role.can(Perm::WriteMonitoring) || status == "resolved" {
        return Vec::new();
    }
    let mut actions = Vec::new();
    if status == "firing" {
        actions.push(AlertAction::Acknowledge);
    }
    actions.push(AlertAction::Silence);
    actions
}

/// Acknowledges an alert by hand (the ticket is taken up separately).
pub async fn acknowledge(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<AlertRow> {
    if !u.role.can(crate::domain::roles::Perm::WriteMonitoring) {
        return Err(AppError::forbidden());
    }
    let a = ctx.store.alert(id).await?;
    if a.status != "firing" {
        return Err(AppError::Conflict(if a.status == "resolved" {
            "告警已恢复，无需确认".into()
        } else {
            "告警已确认".into()
        }));
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .acknowledge_alert(&mut tx, id, now, &u.username)
        .await?;
    ctx.store
        .add_alert_event(
            &mut tx,
            id,
            now,
            "acknowledged",
            &format!("{} 确认告警", u.display_name),
            None,
        )
        .await?;
    audit(
        ctx,
        &mut tx,
        u,
        id,
        "alert.acknowledge",
        &format!("确认告警“{}”", a.title),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ctx.store.alert(id).await?)
}

/// Silences an alert's notifications and escalation until a time, with a reason.
pub async fn silence(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    minutes: i64,
    reason: &str,
) -> AppResult<AlertRow> {
    if !u.role.can(crate::domain::roles::Perm::WriteMonitoring) {
        return Err(AppError::forbidden());
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(
            "reason",
            "请填写静默原因（不超过 500 个字符）",
        ));
    }
    if !(1..=7 * 24 * 60).contains(&minutes) {
        return Err(AppError::invalid(
            "minutes",
            "静默时长应为 1 到 10080 分钟（7 天）",
        ));
    }
    let a = ctx.store.alert(id).await?;
    let now = ctx.clock.now_ms();
    let until = now + minutes * 60_000;
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .silence_alert(&mut tx, id, now, until, reason)
        .await?;
    let summary = format!("{} 静默告警 {minutes} 分钟：{reason}", u.display_name);
    ctx.store
        .add_alert_event(&mut tx, id, now, "silenced", &summary, None)
        .await?;
    audit(
        ctx,
        &mut tx,
        u,
        id,
        "alert.silence",
        &format!("静默告警“{}”：{reason}", a.title),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ctx.store.alert(id).await?)
}

async fn audit(
    _ctx: &Ctx,
    tx: &mut crate::store::desk::Tx,
    u: &AuthUser,
    id: i64,
    action: &str,
    summary: &str,
    now: i64,
) -> AppResult<()> {
    NewAuditEvent::of(action, "alerts", id, summary)
        .write(tx, now, &u.actor())
        .await?;
    Ok(())
}

/// Escalates firing alerts nobody acknowledged in time to whoever is on duty and to the
/// managers (in-app messages plus the rules for `alert.escalated`); opens the ticket of
/// any alert that lost it to a crash. Answers how many were escalated.
pub async fn escalate_tick(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.clock.now_ms();
    let before = now - ctx.config.monitoring.escalate_after_minutes * 60_000;
    let due = ctx.store.alerts_to_escalate(before, now).await?;
    let mut n = 0;
    for a in due {
        let mut targets = ctx.store.on_call(now).await?;
        targets.extend(ctx.store.active_user_ids_with_roles(&["manager"]).await?);
        targets.sort_unstable();
        targets.dedup();
        let mins = (now - a.started_at) / 60_000;
        let summary = format!(
            "告警“{}”已 {mins} 分钟无人确认，升级通知值班人员和项目经理",
            a.title
        );
        let mut tx = ctx.store.write_tx().await?;
        ctx.store.mark_alert_escalated(&mut tx, a.id, now).await?;
        ctx.store
            .add_alert_event(&mut tx, a.id, now, "escalated", &summary, None)
            .await?;
        let subject = format!("【告警升级】{}", a.title);
        for uid in &targets {
            ctx.store
                .add_inbox(
                    &mut tx,
                    &format!("alert.escalated:{}:{}:user{uid}", a.id, a.started_at),
                    *uid,
                    "alert.escalated",
                    a.ticket_id,
                    &subject,
                    &summary,
                    now,
                )
                .await?;
        }
        if let Some(tid) = a.ticket_id {
            let t = ctx.store.ticket_tx(&mut tx, tid).await?;
            crate::notify::enqueue_for_ticket(
                ctx,
                &mut tx,
                "alert.escalated",
                &t,
                t.assignee_id,
                &format!("a{}-{}", a.id, a.started_at),
                &summary,
            )
            .await?;
        }
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// When the monitor asks for it, resolves the alert's ticket on recovery, with a fault
/// report holding what monitoring saw; cause and measures are left for the engineer to
/// complete (the ticket can be reopened). A ticket nobody has taken up yet is left as it
/// is, with a note, so the desk's indicators are not flattered.
/// A backup alert's ticket is resolved the same way when a good run recovers it.
async fn auto_resolve_ticket(ctx: &Ctx, a: &AlertRow, note: &str) -> AppResult<()> {
    let Some(tid) = a.ticket_id else {
        return Ok(());
    };
    // What recovered, for the fault report's scope; and the cause left to complete.
    let (what, fallback, cause) = match a.monitor_id {
        Some(mid) => {
            let Some(m) = ctx.store.monitor(mid).await.optional()? else {
                return Ok(());
            };
            if m.auto_resolve == 0 {
                return Ok(());
            }
            (
                format!("监控“{}”", m.name),
                format!("监控“{}”的目标 {}", m.name, m.target),
                "监控检测到服务自行恢复，原因待工程师补充",
            )
        }
        None if a.source == "backup" => (
            "备份".to_string(),
            a.title.clone(),
            "后续备份已成功，原因待工程师补充",
        ),
        None => return Ok(()),
    };
    let t = ctx.store.ticket(tid).await?;
    if !["assigned", "in_progress", "pending"].contains(&t.status.as_str()) {
        if t.status == "new" {
            note_ticket(
                ctx,
                a,
                "alert_auto_resolve_skipped",
                None,
                "监控已恢复，但工单尚未分派，未自动解决",
            )
            .await?;
        }
        return Ok(());
    }
    let now = ctx.clock.now_ms();
    let report = FaultReport {
        symptom: Some(
            format!(
                "{}：{}",
                a.title,
                a.description.as_deref().unwrap_or_default()
            )
            .chars()
            .take(2000)
            .collect(),
        ),
        impact_scope: Some(
            t.system_name
                .clone()
                .map(|s| format!("{s}（{what}）"))
                .unwrap_or(fallback),
        ),
        started_at: Some(crate::clock::rfc3339(a.started_at)),
        recovered_at: Some(crate::clock::rfc3339(now)),
        cause: Some(cause.into()),
        handling: Some(format!("监控自动恢复：{note}")),
        measures: Some("待工程师补充".into()),
    };
    let mut body = TicketAction::new(Action::Resolve);
    body.fault_report = Some(report);
    body.resolution = Some("监控检测到恢复，按监控规则自动解决".into());
    if t.onsite_at.is_none() {
        body.remote_fix_reason = Some("服务自行恢复，无需到场".into());
    }
    if let Err(e) = crate::desk::apply_action(ctx, &system_user(), TicketId(tid), &body).await {
        note_ticket(
            ctx,
            a,
            "alert_auto_resolve_skipped",
            None,
            &format!("监控已恢复，自动解决未成功：{}", e.message()),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod action_tests {
    use super::*;

    #[test]
    fn writers_acknowledge_firing_and_silence_open_alerts() {
        use AlertAction::{Acknowledge, Silence};
        assert_eq!(
            actions_for_status(Role::Admin, "firing"),
            vec![Acknowledge, Silence]
        );
        assert_eq!(
            actions_for_status(Role::Admin, "acknowledged"),
            vec![Silence]
        );
        assert!(actions_for_status(Role::Admin, "resolved").is_empty());
        assert!(actions_for_status(Role::Auditor, "firing").is_empty());
    }
}
