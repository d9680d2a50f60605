//! The simulated history of the demo: `days` days up to the clock's "now", generated from a
//! fixed seed through the services with a manual clock set to each event's time, so two
//! loads at the same "now" write the same records. Every row it adds is marked as demo
//! data.

use std::time::Instant;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::clock::Clock;
use crate::domain::demo::Rng;

use super::tickets::{DAY, set_clock};

/// The longest history `--demo-days` accepts.
pub const MAX_DAYS: u32 = 366;

/// The seed of every demo history ("yunwei" in ASCII).
const SEED: u64 = 0x0000_7975_6E77_6569;

/// What a history load wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct HistorySummary {
    pub days: u32,
    pub tickets: usize,
    pub monitors: usize,
    pub probe_results: usize,
    pub backup_runs: usize,
    pub restore_drills: usize,
    pub work_records: usize,
    pub duty_shifts: usize,
    pub inspection_plans: usize,
    pub inspection_tasks: usize,
    /// Tasks submitted (a task returned and done again counts twice).
    pub inspection_submissions: usize,
    pub inspection_findings: usize,
    pub marked_rows: i64,
    pub skipped_steps: usize,
    pub elapsed_ms: u128,
    /// Milliseconds per phase, for the performance notes.
    pub phases: Vec<(&'static str, u128)>,
}

/// Generates `days` days of history ending at the clock's "now" and marks it as demo data.
pub async fn load_history(ctx: &Ctx, days: u32) -> anyhow::Result<HistorySummary> {
    let started = Instant::now();
    let now = ctx.clock.now_ms();
    let start = crate::monitor::day_start(now) - i64::from(days) * DAY;
    let marks = ctx.store.demo_marks().await?;
    let mut sim = ctx.clone();
    sim.clock = Clock::manual(ctx.clock.now());
    let rng = Rng::new(SEED);
    let admin = AuthUser::system("demo");
    // The team and the monitors exist from the first simulated day.
    let mut phases = Vec::new();
    let mut lap = Instant::now();
    let mut phase = |name: &'static str| {
        phases.push((name, lap.elapsed().as_millis()));
        lap = Instant::now();
    };
    set_clock(&sim, start);
    let people = super::people::create(&sim, start, now).await?;
    phase("people");
    let systems = sim.store.demo_systems().await?;
    let monitors = super::monitors::create(&sim, &admin, &systems).await?;
    phase("monitors");
    let desk = super::tickets::run(&sim, &rng, start, now, &people, &systems, &monitors).await?;
    phase("tickets");
    set_clock(&sim, now);
    let probe_results =
        super::monitors::history(&sim, &rng, &monitors, &desk.outages, start, now).await?;
    phase("probe history");
    let backup_runs = super::records::backup_runs(&sim, &rng, start, now).await?;
    let restore_drills = super::records::drills(&sim, &people, start, now).await?;
    let work_records = super::records::work_records(&sim, &rng, &people, start, now).await?;
    let duty_shifts = super::records::duty_shifts(&sim, &people, start, now).await?;
    phase("records");
    let inspections = super::inspections::run(&sim, &rng, &people, &systems, start, now).await?;
    phase("inspections");
    let marked_rows = ctx.store.mark_demo_rows(&marks).await?;
    phase("marks");
    let summary = HistorySummary {
        days,
        tickets: desk.tickets,
        monitors: monitors.len(),
        probe_results,
        backup_runs,
        restore_drills,
        work_records,
        duty_shifts,
        inspection_plans: inspections.plans,
        inspection_tasks: inspections.tasks,
        inspection_submissions: inspections.submitted,
        inspection_findings: inspections.findings,
        marked_rows,
        skipped_steps: desk.failed_steps + inspections.failed_steps,
        elapsed_ms: started.elapsed().as_millis(),
        phases,
    };
    ctx.store
        .set_setting(
            "demo.history",
            &serde_json::json!({"generated_at": crate::clock::rfc3339(now), "summary": &summary})
                .to_string(),
            now,
        )
        .await?;
    tracing::info!(?summary, "demo history loaded");
    Ok(summary)
}
