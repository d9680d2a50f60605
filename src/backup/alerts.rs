//! Backup conditions become alerts (issue 14): a finished run's flags (failed, too small,
//! too large, shrunk, no checksum) and a scheduled run that did not happen each open one
//! alert per policy and condition through the monitoring alert path — one ticket per
//! episode, deduplicated, escalated like any other — and the policy's next good run
//! recovers them all.
//!
//! Keys: `backup:{policy}:{condition}`; event keys `backup-run:{run}:{flag}` and
//! `backup-missed:{policy}:{slot}`, so that evaluating the same run or slot twice is one
//! event.

use std::collections::HashMap;

use serde_json::json;

use super::runs::flags_of;
use crate::Ctx;
use crate::domain::backup::RunStatus;
use crate::domain::backup_eval::{Flag, latest_deadline, next_deadline};
use crate::domain::monitor::cron::Cron;
use crate::error::AppResult;
use crate::monitor::alerts::{Fire, Outcome, fire, resolve};
use crate::store::backup::{PolicyFilter, PolicyRow};
use crate::store::backup_runs::RunRow;

/// The condition a missed run is alerted under, beside the run flags.
pub const MISSED: &str = "missed";

/// Every condition a policy can be alerted for.
const CONDITIONS: [&str; 6] = [
    "failed",
    "too_small",
    "too_large",
    "shrunk",
    "no_checksum",
    MISSED,
];

/// How far back the missed-run check looks for a policy's latest deadline: a weekly
/// schedule's slot is at most 7 days back; a monthly one may be missed while yunwei was
/// down longer, and is then found on the next coverage view.
const LOOKBACK_MS: i64 = 8 * 86_400_000;

pub fn key(policy_id: i64, condition: &str) -> String {
    format!("backup:{policy_id}:{condition}")
}

fn what(p: &PolicyRow) -> String {
    format!(
        "{} {}",
        p.system_name.as_deref().unwrap_or("（系统已删除）"),
        p.data_set
    )
}

fn fire_for(ctx: &Ctx, p: &PolicyRow, condition: &str, title: String, desc: String) -> Fire {
    Fire {
        key: key(p.id, condition),
        source: "backup".into(),
        system_id: p.system(),
        priority: ctx.config.backup.alert_priority.clone(),
        title,
        description: Some(desc),
        labels: Some(json!({"policy_id": p.id, "condition": condition, "data_set": p.data_set})),
        ..Default::default()
    }
}

fn size_text(b: Option<i64>) -> String {
    match b {
        None => "未报告".into(),
        Some(b) if b >= 1 << 30 => format!("{:.2} GB", b as f64 / (1u64 << 30) as f64),
        Some(b) if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        Some(b) => format!("{b} 字节"),
    }
}

/// After a run has finished (reported by its job or recorded by hand): fires an alert for
/// each of its flags, or, for a good run, recovers every open alert of its policy. A run
/// older than the policy's latest finished run changes nothing: it is history.
pub async fn after_run(ctx: &Ctx, run: &RunRow) -> AppResult<()> {
    if RunStatus::parse(&run.status) == Some(RunStatus::Running) {
        return Ok(());
    }
    if ctx
        .store
        .backup_run_finished_after(run.policy_id, run.started_at, run.id)
        .await?
    {
        return Ok(());
    }
    let p = ctx.store.backup_policy(run.policy_id).await?;
    let flags = flags_of(ctx, std::slice::from_ref(run))
        .await?
        .pop()
        .unwrap_or_default();
    if flags.is_empty() {
        if RunStatus::parse(&run.status) == Some(RunStatus::Success) {
            recover(ctx, &p, run).await?;
        }
        return Ok(());
    }
    for f in flags {
        let title = format!("{}：{}", f.label(), what(&p));
        let mut desc = format!(
            "备份记录 #{}，开始于 {}，大小 {}",
            run.id,
            crate::clock::local_minutes(run.started_at),
            size_text(run.size_bytes)
        );
        match f {
            Flag::TooSmall | Flag::TooLarge => desc.push_str(&format!(
                "；预期 {} – {}",
                size_text(p.expected_min_bytes),
                size_text(p.expected_max_bytes)
            )),
            Flag::Shrunk => {
                desc.push_str(&format!("；较上次成功备份缩小超过 {}%", p.shrink_percent))
            }
            Flag::Failed => {
                if let Some(t) = run.log_tail.as_deref().filter(|t| !t.trim().is_empty()) {
                    let tail: String = t
                        .chars()
                        .rev()
                        .take(500)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    desc.push_str(&format!("\n日志末尾：\n{tail}"));
                }
            }
            Flag::NoChecksum => desc.push_str("；策略要求校验值，本次未报告"),
        }
        let mut fire_in = fire_for(ctx, &p, f.as_str(), title, desc);
        fire_in.event_key = Some(format!("backup-run:{}:{}", run.id, f.as_str()));
        fire(ctx, &fire_in).await?;
    }
    Ok(())
}

/// A good run recovers every open alert of its policy.
async fn recover(ctx: &Ctx, p: &PolicyRow, run: &RunRow) -> AppResult<usize> {
    let open = ctx
        .store
        .open_alert_keys_with_prefix(&format!("backup:{}:", p.id))
        .await?;
    let mut n = 0;
    for k in open {
        if !CONDITIONS.iter().any(|c| k == key(p.id, c)) {
            continue;
        }
        let note = format!(
            "{} 备份成功（记录 #{}，{}）",
            what(p),
            run.id,
            size_text(run.size_bytes)
        );
        let (_, o) = resolve(ctx, &k, &note, Some(&format!("backup-ok:{}:{k}", run.id))).await?;
        if o == Outcome::Resolved {
            n += 1;
        }
    }
    Ok(n)
}

/// Which of each policy's deadlines have been checked, so that a pass asks the database
/// only about policies whose deadline has just passed.
#[derive(Debug, Default)]
pub struct Watch {
    checked: HashMap<i64, i64>,
}

/// One pass of the missed-run check: for each policy whose latest deadline (scheduled
/// time + grace) has passed since the last pass, fires the `missed` alert when no run has
/// ended (succeeded or failed) since that scheduled time. Answers the number of alerts
/// fired and the next deadline of any policy (for the job to sleep until).
pub async fn check_missed(ctx: &Ctx, watch: &mut Watch) -> AppResult<(usize, Option<i64>)> {
    let now = ctx.clock.now_ms();
    let (policies, _) = ctx
        .store
        .backup_policies(&PolicyFilter::default(), 100_000, 0)
        .await?;
    let mut next: Option<i64> = None;
    let mut due: Vec<(&PolicyRow, i64)> = Vec::new();
    for p in &policies {
        let Ok(cron) = Cron::parse(&p.schedule) else {
            continue;
        };
        let grace = p.grace_minutes.max(0) * 60_000;
        if let Some(d) = next_deadline(&cron, grace, now, LOOKBACK_MS) {
            next = Some(next.map_or(d, |n: i64| n.min(d)));
        }
        // Slots count from the policy's creation on, as in the coverage.
        let from = (now - grace - LOOKBACK_MS)
            .max(p.created_at)
            .max(watch.checked.get(&p.id).copied().unwrap_or(i64::MIN));
        let Some(slot) = latest_deadline(&cron, grace, now, from) else {
            continue;
        };
        if watch.checked.get(&p.id) == Some(&slot) {
            continue;
        }
        due.push((p, slot));
    }
    watch
        .checked
        .retain(|id, _| policies.iter().any(|p| p.id == *id));
    if due.is_empty() {
        return Ok((0, next));
    }
    let last_finish = ctx.store.backup_last_finish().await?;
    let mut fired = 0;
    for (p, slot) in due {
        // A run that ended in failure is alerted as failed, not also as missed.
        let ok = last_finish.get(&p.id).is_some_and(|f| *f >= slot);
        if !ok {
            let title = format!("备份未按计划执行：{}", what(p));
            let desc = format!(
                "计划于 {} 执行的备份（{}，宽限 {} 分钟）到期仍无完成记录",
                crate::clock::local_minutes(slot),
                p.schedule,
                p.grace_minutes
            );
            let mut f = fire_for(ctx, p, MISSED, title, desc);
            f.event_key = Some(format!("backup-missed:{}:{slot}", p.id));
            let (_, o) = fire(ctx, &f).await?;
            if o != Outcome::Duplicate {
                fired += 1;
            }
        }
        watch.checked.insert(p.id, slot);
    }
    Ok((fired, next))
}
