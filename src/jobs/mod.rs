//! Scheduled background jobs: this scheduler and one file per job. Each job is a plain
//! async function that does one pass and logs its own failure; tests call the service
//! functions behind them directly. Every task runs inside `store::lane::tracked`, so
//! `Store::pool` can tell a read made while a write transaction is held.
//!
//! Jobs that must run on one replica only hold a lease: the notification outbox claims
//! messages with a lease (`Store::claim_due`), and the monitoring engine runs under a
//! PostgreSQL advisory lock (`Store::try_advisory_lock`, in `monitor::run`).

pub mod auto_close;
pub mod backups;
pub mod deliverables;
pub mod escalation;
pub mod inspections;
pub mod outbox;
pub mod reports;
pub mod rollups;
pub mod search_backfill;
pub mod self_backup;
pub mod sla;
pub mod sweeps;

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Ctx;
use crate::store::lane::tracked;

/// The running background tasks; dropping or `stop`ping it ends them.
pub struct Jobs {
    tasks: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Stops every task.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the housekeeping pass every 30 s, the outbox every 2 s, the search index
/// backfill once and, when monitoring is
/// enabled, the probe engine and the missed-backup watch; with `backup.self_schedule`, the
/// scheduled self-backup.
pub fn start(ctx: &Ctx) -> Jobs {
    let mut tasks = vec![
        tokio::spawn(tracked(housekeeping(ctx.clone()))),
        tokio::spawn(tracked(outbox::run(ctx.clone()))),
        tokio::spawn(tracked(search_backfill::run(ctx.clone()))),
    ];
    if !ctx.config.backup.self_schedule.trim().is_empty() {
        tasks.push(tokio::spawn(tracked(self_backup::run(ctx.clone()))));
    }
    if ctx.config.monitoring.enabled {
        tasks.push(tokio::spawn(tracked(crate::monitor::run(ctx.clone()))));
        tasks.push(tokio::spawn(tracked(backups::run(ctx.clone()))));
    }
    Jobs { tasks }
}

/// Every 30 s: the SLA monitor, auto-close, alert escalation, inspection rounds and
/// overdue tasks, cache sweeps; every tenth
/// pass (5 min) hourly rollups of probe results, idle sessions, the monthly reports and the
/// overdue deliverables.
async fn housekeeping(ctx: Ctx) {
    // The first pass waits a tick, so that starting up and a CLI command run right after
    // do not compete for the SQLite write lock.
    let period = Duration::from_secs(30);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        sla::run(&ctx).await;
        auto_close::run(&ctx).await;
        escalation::run(&ctx).await;
        inspections::run(&ctx).await;
        if n.is_multiple_of(10) {
            rollups::run(&ctx).await;
            reports::run(&ctx).await;
            deliverables::run(&ctx).await;
        }
        sweeps::caches(&ctx);
        if n.is_multiple_of(10) {
            sweeps::idle_sessions(&ctx).await;
        }
        n += 1;
    }
}
