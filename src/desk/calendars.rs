//! Working-hours calendars: the shipped calendars and SLA policies, and holiday or
//! make-up days.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::calendar::cn_overrides;
use crate::domain::roles::Perm;
use crate::domain::tickets::input::CalendarDayInput;
use crate::domain::tickets::{self as tk};
use crate::error::{AppError, AppResult};
use crate::store::Actor;
use crate::store::audit::NewAuditEvent;

/// (kind, priority, calendar id, response, on-site, resolve minutes)
type DefaultPolicy = (
    &'static str,
    &'static str,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
);

pub const DEFAULT_PERIODS: &str = "08:30-12:00,14:00-17:30";

/// Creates the shipped calendars and SLA policies when there are none. The figures are
/// defaults to edit, except the contract's 2-hour on-site target for incidents.
pub async fn ensure_defaults(ctx: &Ctx) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    if ctx.store.list_calendars().await?.is_empty() {
        ctx.store
            .create_calendar(
                "7×24",
                "always",
                None,
                "全天候，不区分节假日",
                &Default::default(),
                now,
            )
            .await?;
        ctx.store
            .create_calendar(
                "工作日（法定节假日与调休）",
                "working_hours",
                Some(DEFAULT_PERIODS),
                "周一至周五工作时间，按国务院办公厅节假日安排放假与调休上班（2024–2026 已内置，可编辑）",
                &cn_overrides(),
                now,
            )
            .await?;
    }
    if ctx.store.count_policies().await? == 0 {
        let cals = ctx.store.list_calendars().await?;
        let always = cals.iter().find(|c| c.kind == "always").map(|c| c.id);
        let work = cals
            .iter()
            .find(|c| c.kind == "working_hours")
            .map(|c| c.id)
            .or(always);
        let onsite = ctx.config.desk.onsite_minutes;
        // (kind, priority, calendar, response, onsite, resolve) in minutes.
        let rows: &[DefaultPolicy] = &[
            ("incident", "P1", always, 15, Some(onsite), 240),
            ("incident", "P2", always, 30, Some(onsite), 480),
            ("incident", "P3", always, 60, Some(onsite), 1440),
            ("incident", "P4", always, 120, Some(onsite), 2880),
            ("request", "P1", work, 30, None, 240),
            ("request", "P2", work, 60, None, 480),
            ("request", "P3", work, 120, None, 960),
            ("request", "P4", work, 240, None, 2400),
            ("problem", "P1", work, 60, None, 2400),
            ("problem", "P2", work, 120, None, 4800),
            ("problem", "P3", work, 240, None, 9600),
            ("problem", "P4", work, 480, None, 19200),
            ("change", "P1", work, 60, None, 960),
            ("change", "P2", work, 120, None, 2400),
            ("change", "P3", work, 240, None, 4800),
            ("change", "P4", work, 480, None, 9600),
        ];
        let spec = &tk::SLA_POLICIES;
        for (kind, prio, cal, resp, on, res) in rows {
            let obj = json!({"name": format!("{}{} 默认", tk::label(tk::KINDS, kind), prio), "kind": kind, "priority": prio,
                "calendar_id": cal, "response_minutes": resp, "onsite_minutes": on, "resolve_minutes": res});
            let Value::Object(obj) = obj else { continue };
            let vals = spec
                .validate_json(&obj, false, &[])
                .map_err(|e| anyhow::anyhow!("default policy: {e:?}"))?;
            ctx.store
                .create_entity(spec, vals, &Actor::system("defaults"), now)
                .await?;
        }
    }
    Ok(())
}

/// Marks a day (`YYYY-MM-DD`) of a working-hours calendar as holiday or make-up working
/// day, or back to the weekday rule (`working` = None). Audited.
pub async fn set_calendar_day(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    date: &str,
    input: &CalendarDayInput,
) -> AppResult<()> {
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    let row = ctx.store.calendar_row(id).await?;
    if row.kind == "always" {
        return Err(AppError::Conflict("7×24 日历没有节假日".into()));
    }
    let (day, reason) = input.check(date).map_err(AppError::Validation)?;
    let working = input.working;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .set_calendar_day(&mut tx, id, day, working, &reason)
        .await?;
    NewAuditEvent::of(
        "update",
        "calendars",
        id,
        format!(
            "日历“{}” {day}：{}",
            row.name,
            match working {
                Some(true) => format!("上班（{reason}）"),
                Some(false) => format!("放假（{reason}）"),
                None => "恢复按星期".into(),
            }
        ),
    )
    .after(json!({"date": date, "working": working, "reason": reason}))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    ctx.store.forget_calendars();
    Ok(())
}
