//! `GET /backups/coverage?month=YYYY-MM`: per system and data set, the runs the schedule
//! expected in the month, those that succeeded, failed and were missed, the success rate
//! and the last good run.

use chrono::{Datelike, NaiveDate, TimeZone};
use serde_json::{Value, json};

use super::need_read;
use super::runs::flags_of;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::backup::RunStatus;
use crate::domain::backup_eval::{missed, slots};
use crate::domain::monitor::cron::Cron;
use crate::error::{AppError, AppResult};
use crate::store::backup::PolicyFilter;
use crate::store::backup_runs::RunFilter;

/// The month's bounds in epoch milliseconds (Beijing time).
fn month_bounds(month: &str) -> AppResult<(i64, i64)> {
    let bad = || {
        AppError::invalid(
            "month",
            format!("月份“{month}”无效：应为 YYYY-MM，如 2025-11"),
        )
    };
    let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
        .map_err(|_| bad())?;
    if !(2000..=2100).contains(&first.year()) {
        return Err(bad());
    }
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(bad)?;
    let ms = |d: NaiveDate| {
        crate::clock::beijing()
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.timestamp_millis())
            .ok_or_else(bad)
    };
    Ok((ms(first)?, ms(next)?))
}

pub async fn coverage(ctx: &Ctx, u: &AuthUser, month: &str) -> AppResult<Value> {
    need_read(u)?;
    let (from, to) = month_bounds(month)?;
    let now = ctx.clock.now_ms();
    let (policies, _) = ctx
        .store
        .backup_policies(&PolicyFilter::default(), 10_000, 0)
        .await?;
    // Drills as of the month's end (or now, for the current month).
    let drills = super::drills::status_of(ctx, &policies, Some(to)).await?;
    let mut items = Vec::new();
    for p in &policies {
        let f = RunFilter {
            policy_id: Some(p.id),
            ..Default::default()
        };
        // Runs of the month, and a day after it for the last slot's grace.
        let (runs, _) = ctx
            .store
            .backup_runs(
                &RunFilter {
                    from_ms: Some(from - 86_400_000),
                    to_ms: Some(to + 86_400_000),
                    ..f.clone()
                },
                100_000,
                0,
            )
            .await?;
        let in_month = |t: i64| t >= from && t < to;
        let succeeded = runs
            .iter()
            .filter(|r| r.status == RunStatus::Success.as_str() && in_month(r.started_at))
            .count();
        let failed = runs
            .iter()
            .filter(|r| r.status == RunStatus::Fail.as_str() && in_month(r.started_at))
            .count();
        let finishes: Vec<i64> = runs
            .iter()
            .filter(|r| r.status == RunStatus::Success.as_str())
            .filter_map(|r| r.finished_at)
            .collect();
        // Slots count from the policy's creation on.
        let expected = Cron::parse(&p.schedule)
            .map(|c| slots(&c, from.max(p.created_at), to, 50_000))
            .unwrap_or_default();
        let grace = p.grace_minutes * 60_000;
        let due = expected.iter().filter(|s| *s + grace <= now).count();
        let missed_slots = missed(&expected, grace, now, &finishes);
        let met = due - missed_slots.len();
        // The last good run up to the month's end: the latest success without flags.
        let (recent, _) = ctx
            .store
            .backup_runs(
                &RunFilter {
                    status: Some("success".into()),
                    to_ms: Some(to),
                    ..f
                },
                20,
                0,
            )
            .await?;
        let flags = flags_of(ctx, &recent).await?;
        let last_good = recent
            .iter()
            .zip(&flags)
            .find(|(_, f)| f.is_empty())
            .map(|(r, _)| json!({"id": r.id, "started_at": crate::clock::rfc3339(r.started_at), "size_bytes": r.size_bytes}));
        items.push(json!({
            "policy_id": p.id, "system_id": p.system_id, "system_code": p.system_code,
            "system_name": p.system_name, "data_set": p.data_set, "schedule": p.schedule,
            "expected": expected.len(), "due": due, "succeeded": succeeded, "failed": failed,
            "missed": missed_slots.len(),
            "missed_at": missed_slots.iter().map(|t| crate::clock::rfc3339(*t)).collect::<Vec<_>>(),
            "success_rate": if due == 0 { Value::Null } else { json!(met as f64 / due as f64) },
            "last_good_run": last_good,
            "last_drill": drills.get(&p.id).map_or(Value::Null, |d| d.last_drill.clone()),
            "drill_overdue": drills.get(&p.id).is_some_and(|d| d.drill_overdue),
        }));
    }
    Ok(json!({"month": month.trim(), "items": items}))
}
