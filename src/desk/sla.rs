//! SLA clocks: replay, the cached due times, and the SLA monitor (warnings, breaches,
//! escalation) with auto-close.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Ctx;
use crate::domain::calendar::Calendar;
use crate::domain::sla::{ClockEvent, ClockState, ClockStatus, ClockTarget, fmt_duration, replay};
use crate::error::AppResult;
use crate::store::audit::NewAuditEvent;
use crate::store::desk::{SlaFields, TicketRow, Tx};
use crate::store::entities::Arg;
use crate::store::{Actor, Store, StoreError};

/// The replayed clocks of a ticket at the clock's now.
pub async fn clocks(ctx: &Ctx, t: &TicketRow) -> AppResult<Vec<ClockState>> {
    let mut conn =
        crate::store::Conn::from(ctx.store.pool().acquire().await.map_err(StoreError::from)?);
    clocks_in(ctx, &mut conn, t).await
}

/// The replayed clocks of a ticket, read on `conn` (a writer's transaction derefs to one).
pub async fn clocks_in(
    ctx: &Ctx,
    conn: &mut crate::store::Conn,
    t: &TicketRow,
) -> AppResult<Vec<ClockState>> {
    let cal = match t.calendar_id {
        Some(id) => ctx.store.calendar_in(conn, id).await?,
        None => Calendar::always(),
    };
    let events = Store::clock_events_in(conn, t.id).await?;
    Ok(replay_all(&events, &cal, ctx.clock.now()))
}

pub(super) fn replay_all(
    events: &std::collections::BTreeMap<String, Vec<ClockEvent>>,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> Vec<ClockState> {
    ClockTarget::ALL
        .iter()
        .filter_map(|target| {
            events
                .get(target.as_str())
                .map(|evs| replay(*target, evs, cal, now))
        })
        .collect()
}

/// Replays the clocks and caches due times, the breach flag and the time the SLA monitor
/// next needs to look at the ticket, in a transaction of its own.
pub async fn refresh_sla(ctx: &Ctx, id: i64) -> AppResult<Vec<ClockState>> {
    let mut tx = ctx.store.write_tx().await?;
    let cs = refresh_sla_in(ctx, &mut tx, id).await?;
    tx.commit().await?;
    Ok(cs)
}

/// Replays the clocks on the writer's transaction and stores due times, the breach flag
/// and the time the SLA monitor next needs to look at the ticket.
pub async fn refresh_sla_in(ctx: &Ctx, tx: &mut Tx, id: i64) -> AppResult<Vec<ClockState>> {
    let t = ctx.store.ticket_tx(tx, id).await?;
    let cal = match t.calendar_id {
        Some(id) => ctx.store.calendar_in(tx, id).await?,
        None => Calendar::always(),
    };
    let events = Store::clock_events_in(tx, id).await?;
    let now = ctx.clock.now();
    let cs = replay_all(&events, &cal, now);
    let warn = match t.sla_policy_id {
        Some(p) => match ctx.store.policy_in(tx, p).await {
            Ok(p) => p.warn_percent,
            Err(crate::store::StoreError::NotFound) => 75,
            Err(e) => return Err(e.into()),
        },
        None => 75,
    };
    let open = !matches!(t.status.as_str(), "closed" | "canceled");
    // The timeline's warnings and breaches matter only once a clock is past its warning.
    let markers = if cs.iter().any(|c| {
        c.breached
            || c.target_seconds
                .is_some_and(|target| c.elapsed_seconds * 100 >= target * warn)
    }) {
        Store::sla_markers_in(tx, id).await?
    } else {
        Vec::new()
    };
    let f = sla_fields(&cs, &cal, warn, open, now, &markers);
    ctx.store.set_sla_fields(tx, id, &f, t.updated_at).await?;
    Ok(cs)
}

/// The SLA fields of a ticket from its replayed clocks: due times, the breach flag, and
/// when the SLA monitor next needs to look (the next warning or due time, or now when a
/// warning or breach is due but not yet on the timeline, as `markers` tell).
pub fn sla_fields(
    cs: &[ClockState],
    cal: &Calendar,
    warn: i64,
    open: bool,
    now: DateTime<Utc>,
    markers: &[(String, String)],
) -> SlaFields {
    let due = |target: ClockTarget| {
        cs.iter()
            .find(|c| c.target == target)
            .and_then(|c| c.due_at)
            .map(|d| d.timestamp_millis())
    };
    let recorded = |kind: &str, marker: &str| markers.iter().any(|(k, m)| k == kind && m == marker);
    let mut next: Option<DateTime<Utc>> = None;
    for c in cs.iter().filter(|c| {
        open && c.stopped_at.is_none()
            && matches!(c.status, ClockStatus::Running | ClockStatus::Breached)
    }) {
        let Some(target) = c.target_seconds else {
            continue;
        };
        let marker = format!("\"{}\"", c.target.as_str());
        let candidate = if c.breached {
            (!recorded("sla_breached", &marker)).then_some(now)
        } else if c.elapsed_seconds * 100 < target * warn {
            cal.add_seconds(now, (target * warn + 99) / 100 - c.elapsed_seconds)
        } else if recorded("sla_warning", &marker) {
            c.due_at
        } else {
            Some(now)
        };
        next = match (next, candidate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    SlaFields {
        response_due_at: due(ClockTarget::Response),
        onsite_due_at: due(ClockTarget::Onsite),
        resolve_due_at: due(ClockTarget::Resolve),
        breached: cs.iter().any(|c| c.breached),
        next_check_at: next.map(|d| d.timestamp_millis()),
    }
}

pub(super) fn running(cs: &[ClockState], target: ClockTarget) -> bool {
    cs.iter().any(|c| {
        c.target == target
            && matches!(c.status, ClockStatus::Running | ClockStatus::Breached)
            && c.stopped_at.is_none()
    })
}

pub(super) fn has(cs: &[ClockState], target: ClockTarget) -> bool {
    cs.iter()
        .any(|c| c.target == target && c.status != ClockStatus::Waived && c.stopped_at.is_none())
}

/// One pass of the SLA monitor, as the scheduler runs its two jobs: warnings and
/// breaches (`check_sla_clocks`), then auto-close (`auto_close_tick`). Returns how many
/// warnings and breaches it recorded.
pub async fn sla_tick(ctx: &Ctx) -> AppResult<usize> {
    let notes = check_sla_clocks(ctx).await?;
    auto_close_tick(ctx).await?;
    Ok(notes)
}

/// Warnings at the policy's threshold and breaches, each once per clock (and not while
/// paused), escalated on the timeline to the manager and the supervisor. Returns how many
/// it recorded.
pub async fn check_sla_clocks(ctx: &Ctx) -> AppResult<usize> {
    let mut notes = 0;
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    for id in ctx.store.tickets_due_for_sla_check(now_ms).await? {
        let t = ctx.store.ticket(id).await?;
        let mut recorded = false;
        let warn = match t.sla_policy_id {
            Some(p) => match ctx.store.policy(p).await {
                Ok(p) => p.warn_percent,
                Err(StoreError::NotFound) => 75,
                Err(e) => return Err(e.into()),
            },
            None => 75,
        };
        let cs = refresh_sla(ctx, id).await?;
        for c in cs.iter().filter(|c| {
            c.stopped_at.is_none()
                && c.status != ClockStatus::Paused
                && c.status != ClockStatus::Waived
        }) {
            let (kind, marker, summary) = if c.breached {
                (
                    "sla_breached",
                    format!("\"{}\"", c.target.as_str()),
                    format!(
                        "{}超时（时限 {}），已升级至项目经理和甲方",
                        c.target.label(),
                        fmt_duration(c.target_seconds.unwrap_or(0))
                    ),
                )
            } else if c.used * 100.0 >= warn as f64 {
                (
                    "sla_warning",
                    format!("\"{}\"", c.target.as_str()),
                    format!(
                        "{}时限已用 {}%，将于 {} 到期",
                        c.target.label(),
                        (c.used * 100.0).round(),
                        c.due_at
                            .map(|d| crate::clock::local_minutes(d.timestamp_millis()))
                            .unwrap_or_default()
                    ),
                )
            } else {
                continue;
            };
            // The check and the record on one transaction: two replicas never both record.
            let mut tx = ctx.store.write_tx().await?;
            if Store::has_ticket_event_in(&mut tx, id, kind, &marker).await? {
                continue;
            }
            let eid = ctx
                .store
                .add_ticket_event(
                    &mut tx,
                    id,
                    now_ms,
                    None,
                    "system:sla",
                    kind,
                    &summary,
                    Some(Value::String(c.target.as_str().into())),
                    false,
                )
                .await?;
            let event = if c.breached {
                "sla.breached"
            } else {
                "sla.warning"
            };
            crate::notify::enqueue_for_ticket(
                ctx,
                &mut tx,
                event,
                &t,
                t.assignee_id,
                &eid.to_string(),
                &summary,
            )
            .await?;
            tx.commit().await?;
            notes += 1;
            recorded = true;
        }
        if recorded {
            // The next look moves on to the due time (or stops after a breach).
            refresh_sla(ctx, id).await?;
        }
    }
    Ok(notes)
}

/// Closes resolved tickets nobody confirmed or rated within the configured days, each
/// with a timeline entry and an audit record. Returns how many it closed.
pub async fn auto_close_tick(ctx: &Ctx) -> AppResult<usize> {
    let now_ms = ctx.clock.now_ms();
    let mut closed = 0;
    let cutoff = now_ms - ctx.config.desk.auto_close_days * 86_400_000;
    for id in ctx.store.resolved_before(cutoff).await? {
        let mut tx = ctx.store.write_tx().await?;
        ctx.store
            .update_ticket_fields(
                &mut tx,
                id,
                &[
                    ("status", Arg::Text(Some("closed".into()))),
                    ("closed_at", Arg::Int(Some(now_ms))),
                ],
                now_ms,
            )
            .await?;
        let summary = format!(
            "解决后 {} 天未确认，自动关闭",
            ctx.config.desk.auto_close_days
        );
        ctx.store
            .add_ticket_event(
                &mut tx,
                id,
                now_ms,
                None,
                "system:desk",
                "auto_closed",
                &summary,
                None,
                false,
            )
            .await?;
        NewAuditEvent::of("ticket.auto_close", "tickets", id, summary)
            .write_and_commit(tx, now_ms, &Actor::system("desk"))
            .await?;
        closed += 1;
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::sla::ClockEventKind;
    use crate::store::desk::{PolicyRule, PolicySet};

    fn start(at: DateTime<Utc>, minutes: i64) -> Vec<ClockEvent> {
        vec![ClockEvent {
            at,
            kind: ClockEventKind::Start,
            target_seconds: Some(minutes * 60),
            reason: "报障".into(),
        }]
    }

    fn resolve_clock(reported: DateTime<Utc>, minutes: i64, now: DateTime<Utc>) -> Vec<ClockState> {
        let cal = Calendar::always();
        vec![replay(
            ClockTarget::Resolve,
            &start(reported, minutes),
            &cal,
            now,
        )]
    }

    #[test]
    fn a_fresh_clock_is_next_looked_at_when_its_warning_falls_due() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let cs = resolve_clock(t0, 100, t0);
        let f = sla_fields(&cs, &Calendar::always(), 75, true, t0, &[]);
        assert_eq!(
            f.resolve_due_at,
            Some((t0 + Duration::minutes(100)).timestamp_millis())
        );
        assert_eq!(
            f.next_check_at,
            Some((t0 + Duration::minutes(75)).timestamp_millis())
        );
        assert!(!f.breached);
    }

    #[test]
    fn a_warning_or_breach_not_yet_on_the_timeline_is_due_now_and_once_recorded_is_not() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let cal = Calendar::always();
        // Past the warning (80 of 100 minutes): due now until the warning is recorded, then
        // at the due time.
        let now = t0 + Duration::minutes(80);
        let cs = resolve_clock(t0, 100, now);
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, now, &[]).next_check_at,
            Some(now.timestamp_millis())
        );
        let warned = [("sla_warning".to_string(), "\"resolve\"".to_string())];
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, now, &warned).next_check_at,
            Some((t0 + Duration::minutes(100)).timestamp_millis())
        );
        // Breached: due now until the breach is recorded, then never again.
        let late = t0 + Duration::minutes(130);
        let cs = resolve_clock(t0, 100, late);
        let f = sla_fields(&cs, &cal, 75, true, late, &warned);
        assert!(f.breached);
        assert_eq!(f.next_check_at, Some(late.timestamp_millis()));
        let both = [
            warned[0].clone(),
            ("sla_breached".to_string(), "\"resolve\"".to_string()),
        ];
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, late, &both).next_check_at,
            None
        );
        // A closed ticket is never looked at again.
        assert_eq!(
            sla_fields(&cs, &cal, 75, false, late, &[]).next_check_at,
            None
        );
    }

    fn rule(id: i64, priority: &str, system_id: Option<i64>) -> PolicyRule {
        PolicyRule {
            id,
            kind: "incident".into(),
            priority: priority.into(),
            system_id,
            calendar_id: 1,
            response_minutes: Some(30),
            onsite_minutes: None,
            resolve_minutes: Some(240),
            warn_percent: 75,
        }
    }

    #[test]
    fn a_systems_own_policy_wins_over_the_general_one_and_the_lowest_id_breaks_ties() {
        let set = PolicySet {
            rules: vec![
                rule(1, "P2", None),
                rule(2, "P2", Some(7)),
                rule(3, "P2", Some(7)),
                rule(4, "P1", None),
            ],
            always_calendar_id: Some(1),
        };
        assert_eq!(
            set.matching("incident", "P2", Some(7)).map(|p| p.id),
            Some(2)
        );
        assert_eq!(
            set.matching("incident", "P2", Some(8)).map(|p| p.id),
            Some(1)
        );
        assert_eq!(set.matching("incident", "P2", None).map(|p| p.id), Some(1));
        assert_eq!(
            set.matching("incident", "P1", Some(7)).map(|p| p.id),
            Some(4)
        );
        assert_eq!(set.matching("request", "P2", Some(7)).map(|p| p.id), None);
    }
}
