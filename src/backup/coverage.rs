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
use crate::domain::backup_eval::{MonthRuns, month_days, per_day};
use crate::error::{AppError, AppResult};
use crate::store::backup::PolicyFilter;
use crate::store::backup_runs::RunFilter;

/// The month's bounds in epoch milliseconds (Beijing time).
pub fn month_bounds(month: &str) -> AppResult<(i64, i64)> {
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
    let first = chrono::DateTime::from_timestamp_millis(from)
        .unwrap_or_default()
        .with_timezone(&crate::clock::beijing())
        .date_naive();
    let (days, _) = month_days(first, crate::clock::beijing());
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
        // Slots count from the policy's creation on.
        let check = super::success::policy_slots(p, &runs, (from, to), now, 50_000);
        let (due, met) = (check.due, check.met());
        let (expected, missed_slots) = (check.slots, check.missed);
        let grace = p.grace_minutes.max(0) * 60_000;
        let of = |st: RunStatus| -> Vec<i64> {
            runs.iter()
                .filter(|r| r.status == st.as_str() && in_month(r.started_at))
                .map(|r| r.started_at)
                .collect()
        };
        let month_runs = MonthRuns {
            slots: expected.clone(),
            missed: missed_slots.clone(),
            succeeded: of(RunStatus::Success),
            failed: of(RunStatus::Fail),
        };
        let volume: i64 = runs
            .iter()
            .filter(|r| r.status == RunStatus::Success.as_str() && in_month(r.started_at))
            .filter_map(|r| r.size_bytes)
            .fold(0i64, |a, b| a.saturating_add(b.max(0)));
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
            "policy_id": p.id, "system_id": p.system(), "builtin": p.builtin, "system_code": p.system_code,
            "system_name": p.system_name, "data_set": p.data_set, "schedule": p.schedule,
            "expected": expected.len(), "due": due, "succeeded": succeeded, "failed": failed,
            "missed": missed_slots.len(),
            "missed_at": missed_slots.iter().map(|t| crate::clock::rfc3339(*t)).collect::<Vec<_>>(),
            "success_rate": if due == 0 { Value::Null } else { json!(met as f64 / due as f64) },
            "last_good_run": last_good,
            "last_drill": drills.get(&p.id).map_or(Value::Null, |d| d.last_drill.clone()),
            "drill_overdue": drills.get(&p.id).is_some_and(|d| d.drill_overdue),
            "volume_bytes": volume,
            "days": per_day(&days, to, &month_runs, grace, now),
        }));
    }
    Ok(json!({"month": month.trim(), "items": items}))
}

/// Bytes as "1.5 GB" (binary units, as the seed's volumes are taken).
pub fn size_label(bytes: i64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = bytes.max(0) as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{} B", bytes.max(0))
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// The month's totals over the coverage's items: the success rate is the due slots met
/// against the due slots, as each item's.
pub fn totals(items: &[Value]) -> Value {
    let n = |k: &str| {
        items
            .iter()
            .map(|v| v[k].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    let (due, missed) = (n("due"), n("missed"));
    let volume = n("volume_bytes");
    let rate = (due > 0).then(|| (due - missed) as f64 / due as f64);
    let systems: std::collections::BTreeSet<i64> = items
        .iter()
        .filter_map(|v| v["system_id"].as_i64())
        .collect();
    let problems = items
        .iter()
        .filter(|v| v["failed"].as_i64().unwrap_or(0) + v["missed"].as_i64().unwrap_or(0) > 0)
        .count();
    json!({
        "policies": items.len(), "systems": systems.len(), "expected": n("expected"), "due": due,
        "succeeded": n("succeeded"), "failed": n("failed"), "missed": missed,
        "problem_policies": problems,
        "success_rate": rate,
        "success_rate_label": crate::domain::backup_eval::ratio_label(rate),
        "volume_bytes": volume, "volume_label": size_label(volume),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_totals() {
        assert_eq!(size_label(0), "0 B");
        assert_eq!(size_label(1536), "1.5 KB");
        assert_eq!(size_label(3 << 40), "3.0 TB");
        let t = totals(&[
            json!({"system_id": 1, "expected": 30, "due": 10, "succeeded": 9, "failed": 1, "missed": 1, "volume_bytes": 1024}),
            json!({"system_id": 1, "expected": 30, "due": 10, "succeeded": 10, "failed": 0, "missed": 0, "volume_bytes": 1024}),
        ]);
        assert_eq!(t["policies"], 2);
        assert_eq!(t["systems"], 1);
        assert_eq!(t["success_rate"], 0.95);
        assert_eq!(t["success_rate_label"], "95%");
        assert_eq!(t["problem_policies"], 1);
        assert_eq!(t["volume_label"], "2.0 KB");
    }
}
