//! The probe engine: one task per monitor, the writer that stores results in batches and
//! steps each monitor's state machine, heartbeats, and the engine's lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

use super::maintenance::*;
use super::state::{AlertAction, Base, Params, Runtime};
use super::{alerts, cron, probe, spec};
use crate::Ctx;
use crate::domain::monitor::probe_error;
use crate::error::{AppError, AppResult};
use crate::store::Optional;
use crate::store::monitor::{MaintenanceRow, MonitorRow, NewResult, SavedState};

/// A finished probe, on its way to the writer.
#[derive(Debug)]
pub struct Finished {
    pub monitor_id: i64,
    pub at: i64,
    pub covers_ms: i64,
    pub outcome: probe::Outcome,
    /// Informational results (a heartbeat's own ping) do not step the state machine.
    pub steps: bool,
}

pub(super) enum Control {
    Reload(i64),
    Remove(i64),
}

/// Shared by the engine, the API and tests.
pub struct Shared {
    pub(super) runtimes: Mutex<HashMap<i64, Runtime>>,
    pub(super) maintenance: std::sync::Mutex<Option<(std::time::Instant, Vec<MaintenanceRow>)>>,
    pub(super) control: std::sync::Mutex<Option<mpsc::UnboundedSender<Control>>>,
    pub clients: probe::Clients,
    pub(super) limits: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// Probes started and finished, for /metrics and the benchmark.
    pub probes_total: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub fn new(tls: Arc<crate::tls::Trust>) -> anyhow::Result<Shared> {
        Ok(Shared {
            runtimes: Mutex::new(HashMap::new()),
            maintenance: std::sync::Mutex::new(None),
            control: std::sync::Mutex::new(None),
            clients: probe::Clients::new(tls)?,
            limits: std::sync::Mutex::new(HashMap::new()),
            probes_total: Default::default(),
        })
    }

    pub(super) fn notify(&self, c: Control) {
        if let Ok(g) = self.control.lock()
            && let Some(tx) = g.as_ref()
        {
            let _ = tx.send(c);
        }
    }

    pub(super) fn forget_maintenance(&self) {
        if let Ok(mut g) = self.maintenance.lock() {
            *g = None;
        }
    }

    pub(super) fn limit_for(&self, host: &str, n: usize) -> Arc<tokio::sync::Semaphore> {
        let mut g = match self.limits.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.entry(host.to_string())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)))
            .clone()
    }
}

pub(super) fn params(ctx: &Ctx, m: &MonitorRow) -> Params {
    Params {
        failures_before_down: m.failures_before_down,
        successes_before_up: m.successes_before_up,
        flap_threshold: ctx.config.monitoring.flap_threshold,
        flap_window_ms: ctx.config.monitoring.flap_window_minutes * 60_000,
    }
}

/// The host a monitor talks to, for the per-target cap.
pub(super) fn host_of(m: &MonitorRow) -> String {
    match m.kind.as_str() {
        "http" | "postgres" | "mysql" => {
            reqwest::Url::parse(&m.target.replacen("mariadb://", "mysql://", 1))
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default()
        }
        "heartbeat" => String::new(),
        _ => spec::split_host_port(&m.target, Some(0))
            .map(|(h, _)| h)
            .unwrap_or_default(),
    }
}

pub(super) fn probe_spec(ctx: &Ctx, m: &MonitorRow) -> probe::ProbeSpec {
    probe::ProbeSpec {
        id: m.id,
        kind: m.kind.clone(),
        target: m.target.clone(),
        timeout: Duration::from_millis(m.timeout_ms.max(1) as u64),
        config: m.config_map(),
        secret: m
            .secret_enc
            .as_deref()
            .and_then(|s| ctx.secrets.decrypt(s).ok()),
    }
}

pub(super) async fn maintenance(ctx: &Ctx) -> AppResult<Vec<MaintenanceRow>> {
    let sh = &ctx.monitors;
    if let Ok(g) = sh.maintenance.lock()
        && let Some((at, rows)) = g.as_ref()
        && at.elapsed() < Duration::from_secs(30)
    {
        return Ok(rows.clone());
    }
    // Windows that ended a day ago no longer matter to new results.
    let rows = ctx
        .store
        .maintenance_windows(ctx.clock.now_ms() - 86_400_000)
        .await?;
    if let Ok(mut g) = sh.maintenance.lock() {
        *g = Some((std::time::Instant::now(), rows.clone()));
    }
    Ok(rows)
}

// ---- processing results --------------------------------------------------------------

pub(super) async fn load_runtime(ctx: &Ctx, m: &MonitorRow) -> AppResult<Runtime> {
    let mut rt = Runtime::new(
        Base::parse(&m.base_state),
        &m.state,
        m.state_since,
        m.consecutive_failures,
        m.consecutive_successes,
    );
    rt.last_at = m.last_check_at;
    rt.alert_open = ctx.store.open_alert_for_monitor(m.id).await?;
    let since = ctx.clock.now_ms() - ctx.config.monitoring.flap_window_minutes * 60_000;
    for (id, at) in ctx.store.recent_flips(since).await? {
        if id == m.id {
            rt.flips.push_back(at);
        }
    }
    Ok(rt)
}

/// Stores results, steps the state machines, and fires or resolves alerts. Results of
/// one monitor must arrive in order.
pub async fn process(ctx: &Ctx, batch: Vec<Finished>) -> AppResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let windows = maintenance(ctx).await?;
    let mut runtimes = ctx.monitors.runtimes.lock().await;
    let mut rows: HashMap<i64, MonitorRow> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    let mut saved: Vec<(i64, SavedState)> = Vec::new();
    let mut changes: Vec<(i64, i64, String, String, String)> = Vec::new();
    let mut actions: Vec<(MonitorRow, AlertAction, probe::Outcome)> = Vec::new();
    for f in batch {
        let (m, fresh) = match rows.get(&f.monitor_id) {
            Some(m) => (m.clone(), false),
            None => match ctx.store.monitor(f.monitor_id).await {
                Ok(m) => {
                    rows.insert(m.id, m.clone());
                    (m, true)
                }
                // Deleted while the probe ran.
                Err(crate::store::StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            },
        };
        if m.paused != 0 {
            continue;
        }
        // Another process may have moved this monitor on since we last saw it.
        let stale = fresh
            && runtimes.get(&m.id).is_some_and(|rt| {
                rt.last_at != m.last_check_at
                    || rt.shown != m.state
                    || rt.base.as_str() != m.base_state
                    || rt.failures != m.consecutive_failures
                    || rt.successes != m.consecutive_successes
            });
        if stale || !runtimes.contains_key(&m.id) {
            let rt = load_runtime(ctx, &m).await?;
            runtimes.insert(m.id, rt);
        }
        let dep_down = match m.depends_on {
            Some(d) if d != m.id => {
                if !runtimes.contains_key(&d)
                    && let Some(dm) = ctx.store.monitor(d).await.optional()?
                {
                    let rt = load_runtime(ctx, &dm).await?;
                    runtimes.insert(d, rt);
                }
                runtimes
                    .get(&d)
                    .is_some_and(|r| matches!(r.base, Base::Down | Base::Unreachable))
            }
            _ => false,
        };
        let in_maint = windows.iter().any(|w| window_covers(w, &m, f.at));
        let class = if in_maint {
            "maintenance"
        } else if f.outcome.ok {
            "up"
        } else if dep_down {
            "unknown"
        } else {
            "down"
        };
        results.push(NewResult {
            monitor_id: m.id,
            at: f.at,
            covers_ms: f.covers_ms,
            ok: f.outcome.ok,
            class,
            latency_ms: f.outcome.latency_ms,
            phase: f.outcome.phase.map(str::to_string),
            message: Some(f.outcome.message.chars().take(1000).collect()),
        });
        if !f.steps {
            continue;
        }
        let p = params(ctx, &m);
        let Some(rt) = runtimes.get_mut(&m.id) else {
            continue;
        };
        let step = rt.step(f.outcome.ok, f.at, dep_down, in_maint, &p);
        if let Some((from, to)) = &step.changed {
            let reason = if f.outcome.ok {
                format!("检测成功：{}", f.outcome.message)
            } else {
                let e = probe_error::explain(f.outcome.phase, &f.outcome.message);
                format!(
                    "检测失败（{}）：{}{}",
                    spec::label(spec::PHASES, f.outcome.phase.unwrap_or("")),
                    e.summary,
                    if e.detail.is_empty() {
                        String::new()
                    } else {
                        format!("（原始错误：{}）", e.detail)
                    }
                )
            };
            changes.push((m.id, f.at, from.clone(), to.clone(), reason));
        }
        saved.retain(|(id, _)| *id != m.id);
        saved.push((
            m.id,
            SavedState {
                state: rt.shown.clone(),
                base_state: rt.base.as_str().into(),
                state_since: rt.since,
                consecutive_failures: rt.failures,
                consecutive_successes: rt.successes,
                last_check_at: f.at,
                last_ok: f.outcome.ok,
                last_latency_ms: f.outcome.latency_ms,
                last_phase: f.outcome.phase.map(str::to_string),
                last_message: Some(f.outcome.message.chars().take(1000).collect()),
            },
        ));
        if step.alert != AlertAction::None {
            actions.push((m.clone(), step.alert, f.outcome.clone()));
        }
    }
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.insert_results(&mut tx, &results).await?;
    ctx.store.save_states(&mut tx, &saved).await?;
    for (id, at, from, to, reason) in &changes {
        ctx.store
            .add_state_change(&mut tx, *id, *at, from, to, reason)
            .await?;
    }
    tx.commit().await?;
    for (m, action, outcome) in actions {
        let key = format!("monitor:{}", m.id);
        let r = match action {
            AlertAction::Fire => {
                let f = alerts::Fire {
                    key,
                    source: "monitor".into(),
                    monitor_id: Some(m.id),
                    system_id: m.system_id,
                    asset_id: m.asset_id,
                    priority: m.priority.clone(),
                    title: format!("{} 故障", m.name),
                    description: Some(format!(
                        "监控“{}”（{} {}）连续 {} 次检测失败。\n原因：{}\n失败环节：{}\n详情（原始错误）：{}",
                        m.name,
                        spec::label(spec::KINDS, &m.kind),
                        m.target,
                        m.failures_before_down,
                        probe_error::explain(outcome.phase, &outcome.message).summary,
                        spec::label(spec::PHASES, outcome.phase.unwrap_or("")),
                        outcome.message
                    )),
                    ..Default::default()
                };
                alerts::fire(ctx, &f).await.map(|_| true)
            }
            AlertAction::Resolve => alerts::resolve(
                ctx,
                &key,
                &format!("“{}”检测恢复正常：{}", m.name, outcome.message),
                None,
            )
            .await
            .map(|_| false),
            AlertAction::None => continue,
        };
        match r {
            Ok(open) => {
                if let Some(rt) = runtimes.get_mut(&m.id) {
                    rt.alert_open = open;
                }
            }
            // The state is saved; the next result retries the alert.
            Err(e) => tracing::warn!(monitor = m.id, error = %e, "alert update failed"),
        }
    }
    Ok(())
}

/// The time (epoch ms) after which a heartbeat monitor is silent: the next expected
/// ping after the last one (or creation), plus the grace. `None` for an invalid plan.
pub fn heartbeat_deadline(m: &MonitorRow) -> Option<i64> {
    let c = m.config_map();
    let grace = c.get("grace_s").and_then(Value::as_i64).unwrap_or(300) * 1000;
    let last = m.hb_last_ping_at.unwrap_or(m.created_at);
    let due = if let Some(p) = c.get("period_s").and_then(Value::as_i64) {
        Some(last + p * 1000)
    } else {
        c.get("schedule")
            .and_then(Value::as_str)
            .and_then(|s| cron::Cron::parse(s).ok())
            .and_then(|cr| DateTime::from_timestamp_millis(last).and_then(|t| cr.next_after(t)))
            .map(|t| t.timestamp_millis())
    };
    due.map(|d| d + grace)
}

/// A heartbeat monitor's verdict at `now`: ok, or how overdue it is.
pub fn heartbeat_verdict(m: &MonitorRow, now: i64) -> probe::Outcome {
    match heartbeat_deadline(m) {
        Some(deadline) if now > deadline => {
            let late_s = (now - deadline) / 1000;
            let late = if late_s < 60 {
                format!("{late_s} 秒")
            } else {
                format!("{} 分钟", late_s / 60)
            };
            probe::Outcome::fail(
                "heartbeat",
                None,
                format!(
                    "应于 {} 前收到心跳，已超时 {late}",
                    crate::clock::local_seconds(deadline)
                ),
            )
        }
        Some(deadline) => probe::Outcome::ok(
            0.0,
            format!(
                "下次心跳应在 {} 前到达",
                crate::clock::local_seconds(deadline)
            ),
        ),
        None => probe::Outcome::fail("heartbeat", None, "心跳计划无效"),
    }
}

/// Runs one check of a monitor now and processes it (the "检测" button; tests).
pub async fn check_now(ctx: &Ctx, id: i64) -> AppResult<probe::Outcome> {
    let m = ctx.store.monitor(id).await?;
    if m.paused != 0 {
        return Err(AppError::Conflict("监控已暂停，恢复后才能检测".into()));
    }
    let now = ctx.clock.now_ms();
    let outcome = if m.kind == "heartbeat" {
        heartbeat_verdict(&m, now)
    } else {
        probe::run(&probe_spec(ctx, &m), &ctx.monitors.clients).await
    };
    ctx.monitors
        .probes_total
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    process(
        ctx,
        vec![Finished {
            monitor_id: id,
            at: now,
            covers_ms: m.interval_s * 1000,
            outcome: outcome.clone(),
            steps: true,
        }],
    )
    .await?;
    Ok(outcome)
}

// ---- the engine ----------------------------------------------------------------------

pub(super) fn jitter_ms(id: i64, interval_ms: u64) -> u64 {
    // A stable spread over the interval so 10,000 monitors do not fire together.
    let mut x = id as u64 ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % interval_ms.max(1)
}

pub(super) async fn probe_loop(ctx: Ctx, id: i64, out: mpsc::Sender<Finished>) {
    let m = match ctx.store.monitor(id).await {
        Ok(m) => m,
        Err(crate::store::StoreError::NotFound) => return,
        Err(e) => {
            tracing::warn!(error = %e, monitor = id, "cannot read the monitor; its probe stops");
            return;
        }
    };
    if m.paused != 0 {
        return;
    }
    let interval = Duration::from_millis((m.interval_s.max(1) * 1000) as u64);
    if m.kind == "heartbeat" {
        return heartbeat_loop(ctx, id, interval, m.interval_s * 1000, out).await;
    }
    let spec = probe_spec(&ctx, &m);
    let host = host_of(&m);
    let cap = ctx
        .monitors
        .limit_for(&host, ctx.config.monitoring.per_target_concurrency);
    tokio::time::sleep(Duration::from_millis(jitter_ms(
        id,
        interval.as_millis() as u64,
    )))
    .await;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = ctx.clock.now_ms();
        let outcome = {
            let Ok(_permit) = cap.acquire().await else {
                return;
            };
            probe::run(&spec, &ctx.monitors.clients).await
        };
        ctx.monitors
            .probes_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let f = Finished {
            monitor_id: id,
            at: now,
            covers_ms: m.interval_s * 1000,
            outcome,
            steps: true,
        };
        if out.send(f).await.is_err() {
            return;
        }
    }
}

/// A heartbeat monitor's task: a verdict on every interval (for availability), and one
/// the moment its deadline passes, so silence is noticed at the deadline rather than up
/// to an interval later. The timer is keyed by the deadline read fresh from the row: a
/// ping moves the deadline on and the timer re-arms when it wakes; a change to the
/// monitor restarts the task (`Control::Reload`); a test's manual clock wakes it when
/// moved.
pub(super) async fn heartbeat_loop(
    ctx: Ctx,
    id: i64,
    interval: Duration,
    covers_ms: i64,
    out: mpsc::Sender<Finished>,
) {
    let mut clock_moves = ctx.clock.moved();
    let mut next_tick = tokio::time::Instant::now()
        + Duration::from_millis(jitter_ms(id, interval.as_millis() as u64));
    // The deadline whose passing has been reported, so it is reported once.
    let mut reported: Option<i64> = None;
    loop {
        let m = match ctx.store.monitor(id).await {
            Ok(m) => m,
            Err(crate::store::StoreError::NotFound) => return,
            Err(e) => {
                tracing::warn!(monitor = id, error = %e, "reading a heartbeat monitor failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut wake = next_tick;
        if let Some(deadline) = heartbeat_deadline(&m)
            && reported != Some(deadline)
        {
            // Just past the deadline: the verdict is "late" only after it. Short of
            // it, never less than 50 ms, so a clock standing at the deadline (a test's)
            // does not spin.
            let now = ctx.clock.now_ms();
            let wait_ms = if now > deadline {
                0
            } else {
                (deadline + 1 - now).max(50) as u64
            };
            wake = wake.min(tokio::time::Instant::now() + Duration::from_millis(wait_ms));
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            // Time moved by hand (tests): re-arm the timer against the new "now".
            _ = clock_moves.next() => continue,
        }
        let tick = tokio::time::Instant::now() >= next_tick;
        if tick {
            next_tick += interval;
            let now = tokio::time::Instant::now();
            if next_tick <= now {
                next_tick = now + interval;
            }
        }
        // The ping time may have changed while we slept: read it fresh.
        let m = match ctx.store.monitor(id).await {
            Ok(m) => m,
            Err(crate::store::StoreError::NotFound) => return,
            Err(_) => continue,
        };
        let now = ctx.clock.now_ms();
        let passed = heartbeat_deadline(&m).filter(|d| now > *d);
        let newly_late = passed.is_some() && passed != reported;
        if !tick && !newly_late {
            // A ping moved the deadline on, or the clock moved short of it: re-arm.
            continue;
        }
        if passed.is_some() {
            reported = passed;
        }
        ctx.monitors
            .probes_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let f = Finished {
            monitor_id: id,
            at: now,
            // The interval's verdicts cover the time; one at a deadline between them
            // only steps the state, or availability would count that span twice.
            covers_ms: if tick { covers_ms } else { 0 },
            outcome: heartbeat_verdict(&m, now),
            steps: true,
        };
        if out.send(f).await.is_err() {
            return;
        }
    }
}

/// Aborts its task when dropped, so stopping the engine stops everything it started.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The advisory lock that elects the one replica probing a shared PostgreSQL database.
pub(super) const ENGINE_LOCK: i64 = 0x7975_6e77_6569_6d31; // "yunweim1"

/// Runs the engine until the process stops. On PostgreSQL, only the replica holding an
/// advisory lock probes; the others wait and take over when it goes away (its session
/// ends, so the lock is released).
pub async fn run(ctx: Ctx) {
    if ctx.store.backend() != crate::store::Backend::Postgres {
        return run_engine(ctx).await;
    }
    loop {
        match ctx.store.try_advisory_lock(ENGINE_LOCK).await {
            Ok(Some(mut lock)) => {
                tracing::info!("this replica runs the monitoring engine");
                let engine = AbortOnDrop(tokio::spawn(crate::store::lane::tracked(run_engine(
                    ctx.clone(),
                ))));
                // The lock lives as long as its connection: check it, stop if it broke.
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if !lock.alive().await {
                        break;
                    }
                }
                drop(engine);
                tracing::warn!("lost the monitoring lock's connection; engine stopped");
                lock.abandon();
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot take the monitoring lock"),
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

pub(super) async fn run_engine(ctx: Ctx) {
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    if let Ok(mut g) = ctx.monitors.control.lock() {
        *g = Some(ctl_tx);
    }
    let (res_tx, mut res_rx) = mpsc::channel::<Finished>(20_000);
    let writer_ctx = ctx.clone();
    let _writer = AbortOnDrop(tokio::spawn(crate::store::lane::tracked(async move {
        let mut batch = Vec::new();
        while let Some(f) = res_rx.recv().await {
            batch.push(f);
            // Gather what else is waiting, up to a few thousand, then write once.
            while batch.len() < 5000 {
                match res_rx.try_recv() {
                    Ok(f) => batch.push(f),
                    Err(_) => break,
                }
            }
            if let Err(e) = process(&writer_ctx, std::mem::take(&mut batch)).await {
                tracing::warn!(error = %e, "storing probe results failed");
            }
            // Let results accumulate a little: fewer, larger transactions.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })));
    let mut tasks: HashMap<i64, AbortOnDrop> = HashMap::new();
    match ctx.store.all_monitors().await {
        Ok(all) => {
            for m in all {
                if m.paused == 0 {
                    tasks.insert(
                        m.id,
                        AbortOnDrop(tokio::spawn(crate::store::lane::tracked(probe_loop(
                            ctx.clone(),
                            m.id,
                            res_tx.clone(),
                        )))),
                    );
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "loading monitors failed"),
    }
    tracing::info!(monitors = tasks.len(), "monitoring started");
    while let Some(c) = ctl_rx.recv().await {
        let (Control::Reload(id) | Control::Remove(id)) = c;
        // Dropping the old task aborts it.
        tasks.remove(&id);
        ctx.monitors.runtimes.lock().await.remove(&id);
        if matches!(c, Control::Reload(_)) {
            tasks.insert(
                id,
                AbortOnDrop(tokio::spawn(crate::store::lane::tracked(probe_loop(
                    ctx.clone(),
                    id,
                    res_tx.clone(),
                )))),
            );
        }
    }
}
