//! Opening tickets: validation, assignment from the inventory and the first SLA clocks.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::calendar::Calendar;
use crate::domain::roles::Role;
use crate::domain::sla::{ClockEvent, ClockEventKind, ClockState, ClockTarget};
use crate::domain::tickets::input::TicketCreate;
use crate::domain::tickets::{self as tk, AlertId};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::Store;
use crate::store::audit::NewAuditEvent;
use crate::store::desk::{NewTicket, TicketRow};

use super::{add_detail, is_staff, public_step, replay_all, sla_fields, ticket_json_base};

/// Opens a ticket. Staff may log a phone call with an earlier `reported_at` and name the
/// requester; requesters open their own tickets through the portal.
pub async fn open_ticket(ctx: &Ctx, u: &AuthUser, input: &TicketCreate) -> AppResult<TicketRow> {
    Ok(open_ticket_with_clocks(ctx, u, input, None).await?.0)
}

/// Opens a ticket; with `alert_id`, the alert points at the new ticket in the same
/// transaction, so an alert never ends up with two tickets or none after a crash.
pub async fn open_ticket_for(
    ctx: &Ctx,
    u: &AuthUser,
    input: &TicketCreate,
    alert_id: Option<AlertId>,
) -> AppResult<TicketRow> {
    Ok(open_ticket_with_clocks(ctx, u, input, alert_id).await?.0)
}

/// The ticket as the API answers a creation: its clocks as computed on the writer's
/// transaction and no links yet, so the answer costs no further database round trip.
pub fn created_json(u: &AuthUser, t: &TicketRow, clocks: &[ClockState]) -> Value {
    let mut v = ticket_json_base(t);
    add_detail(&mut v, u, t, clocks, &[]);
    v
}

/// What a ticket is opened from; the origin points at the new ticket in the ticket's own
/// transaction, so it never ends up with two tickets or none after a crash.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    Alert(AlertId),
    /// An inspection finding (`inspection_findings.id`) that has no ticket yet; if it has
    /// one by the time this ticket would be written, nothing is written (409).
    Finding(i64),
}

/// Opens a ticket for its origin.
pub async fn open_ticket_from(
    ctx: &Ctx,
    u: &AuthUser,
    input: &TicketCreate,
    origin: Origin,
) -> AppResult<TicketRow> {
    Ok(open_ticket_with_origin(ctx, u, input, Some(origin))
        .await?
        .0)
}

/// Opens a ticket and returns it with its replayed clocks.
pub async fn open_ticket_with_clocks(
    ctx: &Ctx,
    u: &AuthUser,
    input: &TicketCreate,
    alert_id: Option<AlertId>,
) -> AppResult<(TicketRow, Vec<ClockState>)> {
    open_ticket_with_origin(ctx, u, input, alert_id.map(Origin::Alert)).await
}

async fn open_ticket_with_origin(
    ctx: &Ctx,
    u: &AuthUser,
    input: &TicketCreate,
    origin: Option<Origin>,
) -> AppResult<(TicketRow, Vec<ClockState>)> {
    if !(is_staff(u.role) || u.role == Role::Requester) {
        return Err(AppError::forbidden());
    }
    let now = ctx.clock.now();
    let (c, mut errs) = input.check(u.role, u.id, now);
    let (system_id, asset_id, requester_id) = (c.system_id, c.asset_id, c.requester_id);
    let mut assignee_id = c.assignee_id;
    // From here on everything runs on one transaction: the references are checked, the
    // number drawn and the rows written on the same connection.
    let duty = if c
        .category
        .as_deref()
        .is_some_and(|c| tk::DATABASE_CATEGORIES.iter().any(|d| c.contains(d)))
    {
        "dba"
    } else {
        "om_engineer"
    };
    let mut tx = ctx.store.write_tx().await?;
    let refs = Store::ticket_refs_in(
        &mut tx,
        system_id,
        asset_id,
        requester_id,
        assignee_id,
        duty,
    )
    .await?;
    if let Some(i) = system_id
        && refs.system_name.is_none()
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {i} 不存在")));
    }
    if let Some(i) = asset_id
        && refs.asset_name.is_none()
    {
        errs.push(FieldError::new("asset_id", format!("设备编号 {i} 不存在")));
    }
    if let Some(rid) = requester_id
        && refs.requester_username.is_none()
    {
        errs.push(FieldError::new(
            "requester_id",
            format!("用户编号 {rid} 不存在"),
        ));
    }
    if assignee_id.is_some()
        && !refs
            .assignee_role
            .as_deref()
            .is_some_and(|r| ["engineer", "operator", "manager"].contains(&r))
    {
        errs.push(FieldError::new(
            "assignee_id",
            "处理人须为在用的工程师、运营人员或项目经理账号",
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let kind = c.kind.code().to_string();
    let (impact, urgency) = (c.impact.code().to_string(), c.urgency.code().to_string());
    let priority = ctx.config.desk.priority_matrix.priority(&impact, &urgency);
    // Assignment from the inventory: the system's DBA for database work, else its O&M
    // engineer; the queue when the slot is not filled.
    let mut auto_assigned = false;
    let mut assignee_name = refs.assignee_name;
    if assignee_id.is_none()
        && system_id.is_some()
        && let Some((slot_id, slot_name)) = refs.slot_user
    {
        assignee_id = Some(slot_id);
        assignee_name = Some(slot_name);
        auto_assigned = true;
    }
    let policies = ctx.store.policies_in(&mut tx).await?;
    let policy = policies.matching(&kind, &priority, system_id);
    let calendar_id = match &policy {
        Some(p) => Some(p.calendar_id),
        None => policies.always_calendar_id,
    };
    // Clocks start at the fault report, which staff may date back for a phone call.
    let targets = [
        (
            ClockTarget::Response,
            policy.as_ref().and_then(|p| p.response_minutes),
        ),
        (
            ClockTarget::Onsite,
            if kind == "incident" {
                policy
                    .as_ref()
                    .and_then(|p| p.onsite_minutes)
                    .or(Some(ctx.config.desk.onsite_minutes))
            } else {
                None
            },
        ),
        (
            ClockTarget::Resolve,
            policy.as_ref().and_then(|p| p.resolve_minutes),
        ),
    ];
    let clock_starts: Vec<(ClockTarget, ClockEvent)> = targets
        .into_iter()
        .filter_map(|(target, minutes)| {
            Some((
                target,
                ClockEvent {
                    at: c.reported_at,
                    kind: ClockEventKind::Start,
                    target_seconds: Some(minutes? * 60),
                    reason: "报障".into(),
                },
            ))
        })
        .collect();
    // The SLA fields are known before the row exists: replay the clocks just started.
    let cal = match calendar_id {
        Some(c) => ctx.store.calendar_in(&mut tx, c).await?,
        None => Calendar::always(),
    };
    let mut by_target: std::collections::BTreeMap<String, Vec<ClockEvent>> = Default::default();
    for (target, e) in &clock_starts {
        by_target
            .entry(target.as_str().to_string())
            .or_default()
            .push(e.clone());
    }
    let clocks = replay_all(&by_target, &cal, now);
    let sla = sla_fields(
        &clocks,
        &cal,
        policy.as_ref().map_or(75, |p| p.warn_percent),
        true,
        now,
        &[],
    );
    let status = if assignee_id.is_some() {
        "assigned"
    } else {
        "new"
    };
    let nt = NewTicket {
        kind: kind.clone(),
        change_type: c.change_type.map(|t| t.code().to_string()),
        title: c.title,
        description: c.description,
        system_id,
        asset_id,
        category: c.category,
        source: c.source.code().to_string(),
        requester_id,
        requester_name: c
            .requester_name
            .or_else(|| (u.role == Role::Requester).then(|| u.display_name.clone())),
        requester_contact: c.requester_contact,
        reported_at: c.reported_at.timestamp_millis(),
        impact,
        urgency,
        priority: priority.clone(),
        assignee_id,
        status: status.into(),
        sla_policy_id: policy.as_ref().map(|p| p.id),
        calendar_id,
        created_by: u.uid(),
        sla,
    };
    let prefix = c.kind.number_prefix();
    let day = now
        .with_timezone(&crate::clock::beijing())
        .format("%Y%m%d")
        .to_string();
    let now_ms = now.timestamp_millis();
    // The day's counter keeps numbers gapless, so its row stays locked until commit. On
    // SQLite (one writer) that costs nothing: draw it first. On PostgreSQL everything is
    // written under a provisional, unique number and the real one replaces it in one
    // statement just before the audit record and the commit.
    let late_number = ctx.store.backend() == crate::store::Backend::Postgres;
    let provisional = if late_number {
        let mut salt = [0u8; 8];
        password_hash::rand_core::RngCore::fill_bytes(
            &mut password_hash::rand_core::OsRng,
            &mut salt,
        );
        format!("~{}", crate::store::audit::hex(&salt))
    } else {
        ctx.store.next_ticket_number(&mut tx, prefix, &day).await?
    };
    let mut row = ctx
        .store
        .insert_ticket(&mut tx, &provisional, &nt, now_ms)
        .await?;
    row.system_name = refs.system_name;
    row.asset_name = refs.asset_name;
    row.requester_username = refs.requester_username;
    row.assignee_name.clone_from(&assignee_name);
    let id = row.id;
    ctx.store
        .add_clock_events(&mut tx, id, &clock_starts)
        .await?;
    let mut number = provisional.clone();
    let summary = format!(
        "{}建单：{}（{}，{}）",
        u.display_name,
        number,
        tk::label(tk::KINDS, &kind),
        priority
    );
    let created_event = public_step(ctx, &mut tx, id, now_ms, u, "created", &summary, None).await?;
    crate::notify::enqueue_for_ticket(
        ctx,
        &mut tx,
        "ticket.created",
        &row,
        assignee_id,
        &created_event.to_string(),
        &summary,
    )
    .await?;
    if let Some(a) = assignee_id {
        let how = if auto_assigned {
            "按系统岗位自动分派"
        } else {
            "建单时指定"
        };
        let name = assignee_name.unwrap_or_else(|| format!("用户 #{a}"));
        let eid = public_step(
            ctx,
            &mut tx,
            id,
            now_ms,
            u,
            "assigned",
            &format!("{how}给 {name}"),
            Some(json!({"assignee_id": a})),
        )
        .await?;
        crate::notify::enqueue_for_ticket(
            ctx,
            &mut tx,
            "ticket.assigned",
            &row,
            Some(a),
            &eid.to_string(),
            how,
        )
        .await?;
    }
    match origin {
        Some(Origin::Alert(aid)) => {
            ctx.store
                .set_alert_ticket(&mut tx, aid.0, id, now_ms)
                .await?;
        }
        Some(Origin::Finding(fid)) if !ctx.store.set_finding_ticket(&mut tx, fid, id).await? => {
            return Err(AppError::Conflict(format!(
                "巡检问题 #{fid} 已有工单，未重复创建"
            )));
        }
        Some(Origin::Finding(_)) | None => {}
    }
    let after = |number: &str| json!({"number": number, "kind": kind, "priority": priority, "status": status, "assignee_id": assignee_id});
    if late_number {
        // The number draw and the audit record are one statement that runs in the
        // commit's own round trip: the day's counter row and the audit chain's head are
        // held the least.
        let audit = NewAuditEvent::of("create", "tickets", id, summary).after(after(&provisional));
        ctx.store
            .finalize_ticket_number_pg(
                &mut tx,
                id,
                prefix,
                &day,
                &provisional,
                now_ms,
                &u.actor(),
                audit,
            )
            .await?;
        number = tx
            .commit_returning(crate::store::desk::NUMBER_COLUMN)
            .await?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "the commit did not answer the ticket's number"
                ))
            })?;
        row.number.clone_from(&number);
    } else {
        NewAuditEvent::of("create", "tickets", id, summary)
            .after(after(&number))
            .write_and_commit(tx, now_ms, &u.actor())
            .await?;
    }
    Ok((row, clocks))
}
