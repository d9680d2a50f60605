//! Rollups by hour and availability per monitor and day.

use chrono::TimeZone;
use serde_json::{Value, json};

use crate::Ctx;
use crate::error::{AppError, AppResult};
use crate::store::monitor::Tally;

// ---- rollups and availability -----------------------------------------------------------

pub(super) const HOUR: i64 = 3_600_000;

/// A reporting period: `to` after `from`, at most 6 years.
pub fn check_period(from: i64, to: i64) -> AppResult<()> {
    if to <= from {
        return Err(AppError::invalid("to", "to 应晚于 from"));
    }
    if to - from > 6 * 366 * 86_400_000 {
        return Err(AppError::invalid("to", "区间不能超过 6 年"));
    }
    Ok(())
}

/// Rolls up every finished hour not rolled up yet (at most the last `max_hours`), and
/// purges results and rollups past their retention. Answers the hours written.
pub async fn rollup_tick(ctx: &Ctx, max_hours: i64) -> AppResult<i64> {
    let now = ctx.clock.now_ms();
    let current = now - now.rem_euclid(HOUR);
    let from = match ctx.store.last_rollup_hour().await? {
        Some(h) => (h + HOUR).max(current - max_hours * HOUR),
        None => current - max_hours * HOUR,
    };
    // Read first, then write everything in one short transaction, and only when there is
    // something to write: an idle installation never takes the write lock here.
    let mut hours = Vec::new();
    let mut hour = from;
    while hour < current {
        let rows = ctx.store.tally_results(hour, hour + HOUR, None).await?;
        // Monitors with no result in the hour get nothing: their time is unknown, and
        // availability counts unknown from the hours without a rollup too.
        if !rows.is_empty() {
            hours.push((hour, rows));
        }
        hour += HOUR;
    }
    let n = hours.len() as i64;
    if n == 0 {
        return Ok(0);
    }
    let mut tx = ctx.store.write_tx().await?;
    let mut days = std::collections::BTreeSet::new();
    for (h, rows) in &hours {
        ctx.store.upsert_rollups(&mut tx, *h, rows).await?;
        days.insert(day_start(*h));
    }
    for d in days {
        ctx.store.roll_day(&mut tx, d).await?;
    }
    tx.commit().await?;
    let m = &ctx.config.monitoring;
    ctx.store
        .purge_results(
            now - m.results_retention_days * 86_400_000,
            now - m.rollup_retention_days * 86_400_000,
        )
        .await?;
    Ok(n)
}

/// The Beijing midnight at or before `t` (ms).
pub fn day_start(t: i64) -> i64 {
    const EIGHT_HOURS: i64 = 8 * HOUR;
    (t + EIGHT_HOURS).div_euclid(DAY) * DAY - EIGHT_HOURS
}

pub(super) const DAY: i64 = 24 * HOUR;

/// Availability of monitors over [from, to): whole Beijing days from the daily rollups,
/// whole hours from the hourly ones, the edges and what is not rolled up yet from raw
/// results. Time before a monitor existed and after now is not counted; time without any
/// result is unknown.
pub async fn availability(
    ctx: &Ctx,
    monitors: &[(i64, i64)],
    from: i64,
    to: i64,
) -> AppResult<Tally> {
    let now = ctx.clock.now_ms();
    let mut total = Tally::default();
    let last_rolled = ctx
        .store
        .last_rollup_hour()
        .await?
        .map(|h| h + HOUR)
        .unwrap_or(0);
    for &(id, created) in monitors {
        let start = from.max(created);
        let end = to.min(now);
        if end <= start {
            continue;
        }
        let rolled_end = end.min(last_rolled).max(start);
        // [start, h0) raw · [h0, d0) hours · [d0, d1) days · [d1, h1) hours · [h1, end) raw
        let h0 = (start + HOUR - 1).div_euclid(HOUR) * HOUR;
        let h1 = rolled_end.div_euclid(HOUR) * HOUR;
        let mut t = Tally::default();
        let mut raw: Vec<(i64, i64)> = Vec::new();
        if h1 > h0 {
            let d0 = day_start(h0 + DAY - 1).max(h0);
            let d1 = day_start(h1).min(h1);
            if d1 > d0 {
                t.add(&ctx.store.tally_rolled(id, d0, d1, true).await?);
                for (a, b) in [(h0, d0), (d1, h1)] {
                    if b > a {
                        t.add(&ctx.store.tally_rolled(id, a, b, false).await?);
                    }
                }
            } else {
                t.add(&ctx.store.tally_rolled(id, h0, h1, false).await?);
            }
            raw.push((start, h0));
            raw.push((h1, end));
        } else {
            raw.push((start, end));
        }
        for (a, b) in raw {
            if b <= a {
                continue;
            }
            let rows = ctx.store.tally_results(a, b, Some(&[id])).await?;
            match rows.first() {
                Some((_, x, _, _)) => t.add(x),
                None => t.unknown_ms += b - a,
            }
        }
        total.add(&t);
    }
    Ok(total)
}

/// Per-day availability of a set of monitors over [from, to) in Beijing days, from the
/// rollups (for charts and reports).
pub async fn daily(
    ctx: &Ctx,
    monitors: &[(i64, i64)],
    from: i64,
    to: i64,
) -> AppResult<Vec<Value>> {
    let ids: Vec<i64> = monitors.iter().map(|(i, _)| *i).collect();
    let hours = ctx.store.rollup_hours(&ids, from, to).await?;
    let tz = crate::clock::beijing();
    let mut days: std::collections::BTreeMap<String, Tally> = Default::default();
    for (h, t) in hours {
        let day = tz
            .timestamp_millis_opt(h)
            .single()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        days.entry(day).or_default().add(&t);
    }
    Ok(days
        .into_iter()
        .map(|(d, t)| {
            let mut v = t.to_json();
            v["date"] = json!(d);
            v
        })
        .collect())
}
