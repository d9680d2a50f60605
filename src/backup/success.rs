//! The backup success rate of a period, as the contract's quality target measures it: of
//! the scheduled runs whose deadline (schedule + grace) fell in the period, those met by a
//! successful run by their deadline — the figures of `GET /backups/coverage`, over any
//! range.

use crate::Ctx;
use crate::domain::backup::RunStatus;
use crate::domain::backup_eval::{SlotCheck, check_slots};
use crate::error::AppResult;
use crate::store::backup::{PolicyFilter, PolicyRow};
use crate::store::backup_runs::{RunFilter, RunRow};

/// Scheduled runs due in `[from, to)` (by the clock), those met, and the runs recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Success {
    pub policies: usize,
    pub due: usize,
    pub met: usize,
    pub runs: i64,
}

impl Success {
    pub fn rate(&self) -> Option<f64> {
        (self.due > 0).then(|| self.met as f64 / self.due as f64)
    }
}

/// The scheduled runs of policy `p` in `[from, to)` (counted from its creation on, at
/// most `cap`) and which of them `runs` met.
pub fn policy_slots(
    p: &PolicyRow,
    runs: &[RunRow],
    (from, to): (i64, i64),
    now: i64,
    cap: usize,
) -> SlotCheck {
    let finishes: Vec<i64> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Success.as_str())
        .filter_map(|r| r.finished_at)
        .collect();
    check_slots(
        &p.schedule,
        p.grace_minutes,
        p.created_at,
        from,
        to,
        now,
        &finishes,
        cap,
    )
}

pub async fn success(ctx: &Ctx, from: i64, to: i64) -> AppResult<Success> {
    let now = ctx.clock.now_ms();
    let (policies, _) = ctx
        .store
        .backup_policies(&PolicyFilter::default(), 100_000, 0)
        .await?;
    let mut s = Success {
        policies: policies.len(),
        ..Default::default()
    };
    for p in &policies {
        let f = RunFilter {
            policy_id: Some(p.id),
            from_ms: Some(from - 86_400_000),
            to_ms: Some(to + 86_400_000),
            ..Default::default()
        };
        let (runs, _) = ctx.store.backup_runs(&f, 100_000, 0).await?;
        s.runs += runs
            .iter()
            .filter(|r| r.started_at >= from && r.started_at < to)
            .count() as i64;
        let c = policy_slots(p, &runs, (from, to), now, 100_000);
        s.due += c.due;
        s.met += c.met();
    }
    Ok(s)
}
