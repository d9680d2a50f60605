//! Monitoring: monitor definitions, the probe engine, the state machine, heartbeats,
//! maintenance, alerts → tickets, intake from other monitors, and availability from raw
//! results rolled up by hour.
//!
//! The engine runs one task per monitor (jittered start, timeout below the interval, a
//! per-host concurrency cap); results go through a channel to one writer that stores
//! them in batches, steps each monitor's state machine and fires or resolves alerts.
//! State is persisted with every batch, so a restart neither re-notifies nor loses a
//! recovery.

pub mod alerts;
pub mod dns;
pub mod icmp;
pub mod input;
pub mod intake;
pub mod probe;
pub mod snmp;
pub mod x509;

pub use crate::domain::monitor::{cron, spec, state};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::monitor::{MaintenanceRow, MonitorRow, NewResult, SavedState, Tally};
use crate::store::{Optional, StoreError};
use state::{AlertAction, Base, Params, Runtime};

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

enum Control {
    Reload(i64),
    Remove(i64),
}

/// Shared by the engine, the API and tests.
pub struct Shared {
    runtimes: Mutex<HashMap<i64, Runtime>>,
    maintenance: std::sync::Mutex<Option<(std::time::Instant, Vec<MaintenanceRow>)>>,
    control: std::sync::Mutex<Option<mpsc::UnboundedSender<Control>>>,
    pub clients: probe::Clients,
    limits: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
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

    fn notify(&self, c: Control) {
        if let Ok(g) = self.control.lock()
            && let Some(tx) = g.as_ref()
        {
            let _ = tx.send(c);
        }
    }

    fn forget_maintenance(&self) {
        if let Ok(mut g) = self.maintenance.lock() {
            *g = None;
        }
    }

    fn limit_for(&self, host: &str, n: usize) -> Arc<tokio::sync::Semaphore> {
        let mut g = match self.limits.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.entry(host.to_string())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)))
            .clone()
    }
}

fn params(ctx: &Ctx, m: &MonitorRow) -> Params {
    Params {
        failures_before_down: m.failures_before_down,
        successes_before_up: m.successes_before_up,
        flap_threshold: ctx.config.monitoring.flap_threshold,
        flap_window_ms: ctx.config.monitoring.flap_window_minutes * 60_000,
    }
}

/// The host a monitor talks to, for the per-target cap.
fn host_of(m: &MonitorRow) -> String {
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

fn probe_spec(ctx: &Ctx, m: &MonitorRow) -> probe::ProbeSpec {
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

// ---- maintenance ---------------------------------------------------------------------

/// A recurring window: weekdays (1 = Monday … 7 = Sunday) and a daily span in Beijing
/// time, between `starts_at` and `ends_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub weekdays: Vec<u32>,
    pub start_min: u32,
    pub end_min: u32,
}

impl Recurrence {
    pub fn parse(v: &Value) -> Result<Recurrence, String> {
        let o = v.as_object().ok_or(
            "recurrence 应为对象，如 {\"weekdays\": [6], \"start\": \"22:00\", \"end\": \"23:59\"}",
        )?;
        for k in o.keys() {
            if !["weekdays", "start", "end"].contains(&k.as_str()) {
                return Err(format!(
                    "recurrence 不支持“{k}”，可用：weekdays、start、end"
                ));
            }
        }
        let weekdays: Vec<u32> = match o.get("weekdays") {
            None => (1..=7).collect(),
            Some(Value::Array(a)) => {
                let w: Vec<u32> = a
                    .iter()
                    .filter_map(Value::as_u64)
                    .map(|n| n as u32)
                    .collect();
                if w.len() != a.len() || w.iter().any(|d| !(1..=7).contains(d)) || w.is_empty() {
                    return Err("weekdays 应为 1（周一）到 7（周日）的数组".into());
                }
                w
            }
            Some(_) => return Err("weekdays 应为 1（周一）到 7（周日）的数组".into()),
        };
        let hm = |k: &str| -> Result<u32, String> {
            let s = o
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("请填写 {k}，如 \"22:00\""))?;
            let (h, m) = s.split_once(':').ok_or_else(|| format!("{k} 应为 HH:MM"))?;
            match (h.parse::<u32>(), m.parse::<u32>()) {
                (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
                (Ok(24), Ok(0)) => Ok(24 * 60),
                _ => Err(format!("{k} 应为 HH:MM")),
            }
        };
        let (start_min, end_min) = (hm("start")?, hm("end")?);
        if end_min <= start_min {
            return Err("end 应晚于 start（跨零点请分成两个窗口）".into());
        }
        Ok(Recurrence {
            weekdays,
            start_min,
            end_min,
        })
    }

    fn covers(&self, at: DateTime<Utc>) -> bool {
        let l = at.with_timezone(&crate::clock::beijing());
        let minute = l.hour() * 60 + l.minute();
        self.weekdays.contains(&l.weekday().number_from_monday())
            && minute >= self.start_min
            && minute < self.end_min
    }
}

pub fn window_covers(w: &MaintenanceRow, m: &MonitorRow, at_ms: i64) -> bool {
    let applies = match (w.monitor_id, w.system_id) {
        (Some(id), _) => id == m.id,
        (None, Some(s)) => m.system_id == Some(s),
        (None, None) => true,
    };
    if !applies || at_ms < w.starts_at || at_ms >= w.ends_at {
        return false;
    }
    match &w.recurrence {
        None => true,
        Some(r) => serde_json::from_str::<Value>(r)
            .ok()
            .and_then(|v| Recurrence::parse(&v).ok())
            .zip(DateTime::from_timestamp_millis(at_ms))
            .is_some_and(|(r, t)| r.covers(t)),
    }
}

async fn maintenance(ctx: &Ctx) -> AppResult<Vec<MaintenanceRow>> {
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

async fn load_runtime(ctx: &Ctx, m: &MonitorRow) -> AppResult<Runtime> {
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
                format!(
                    "检测失败（{}）：{}",
                    spec::label(spec::PHASES, f.outcome.phase.unwrap_or("")),
                    f.outcome.message
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
                        "监控“{}”（{} {}）连续 {} 次检测失败。\n失败环节：{}\n详情：{}",
                        m.name,
                        spec::label(spec::KINDS, &m.kind),
                        m.target,
                        m.failures_before_down,
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

fn jitter_ms(id: i64, interval_ms: u64) -> u64 {
    // A stable spread over the interval so 10,000 monitors do not fire together.
    let mut x = id as u64 ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % interval_ms.max(1)
}

async fn probe_loop(ctx: Ctx, id: i64, out: mpsc::Sender<Finished>) {
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
async fn heartbeat_loop(
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
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The advisory lock that elects the one replica probing a shared PostgreSQL database.
const ENGINE_LOCK: i64 = 0x7975_6e77_6569_6d31; // "yunweim1"

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

async fn run_engine(ctx: Ctx) {
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

// ---- definitions (API) -----------------------------------------------------------------

fn check_write(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::WriteMonitoring) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

async fn check_refs(ctx: &Ctx, d: &spec::MonitorDef, self_id: Option<i64>) -> AppResult<()> {
    let mut errs: Vec<FieldError> = Vec::new();
    if let Some(s) = d.system_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::SYSTEMS, s)
            .await
            .optional()?
            .is_none()
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {s} 不存在")));
    }
    if let Some(a) = d.asset_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::ASSETS, a)
            .await
            .optional()?
            .is_none()
    {
        errs.push(FieldError::new("asset_id", format!("设备编号 {a} 不存在")));
    }
    if let Some(dep) = d.depends_on {
        if Some(dep) == self_id {
            errs.push(FieldError::new("depends_on", "监控不能依赖自己"));
        } else {
            // Walk up the chain: no cycles.
            let mut cur = Some(dep);
            let mut seen = 0;
            while let Some(c) = cur {
                match ctx.store.monitor(c).await {
                    Ok(m) => {
                        if Some(m.id) == self_id || seen > 20 {
                            errs.push(FieldError::new("depends_on", "上游监控形成了循环依赖"));
                            break;
                        }
                        cur = m.depends_on;
                        seen += 1;
                    }
                    Err(StoreError::NotFound) if c == dep => {
                        errs.push(FieldError::new(
                            "depends_on",
                            format!("上游监控编号 {dep} 不存在"),
                        ));
                        break;
                    }
                    Err(StoreError::NotFound) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errs))
    }
}

fn new_token() -> String {
    let mut b = [0u8; 18];
    use password_hash::rand_core::RngCore;
    password_hash::rand_core::OsRng.fill_bytes(&mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

fn definition_input(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut o = obj.clone();
    // Heartbeats fail after the first missed deadline unless asked otherwise.
    if o.get("kind").and_then(Value::as_str) == Some("heartbeat") {
        o.entry("failures_before_down").or_insert(json!(1));
    }
    o
}

pub async fn create(ctx: &Ctx, u: &AuthUser, obj: &Map<String, Value>) -> AppResult<MonitorRow> {
    check_write(u)?;
    let d = spec::validate(&definition_input(obj)).map_err(AppError::Validation)?;
    check_refs(ctx, &d, None).await?;
    let secret = match &d.secret {
        Some(s) => Some(ctx.secrets.encrypt(s).map_err(AppError::Internal)?),
        None => None,
    };
    let token = (d.kind == "heartbeat").then(new_token);
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_monitor(&mut tx, &d, secret, token, now)
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "create",
            "monitors",
            id,
            format!("新建监控“{}”（{} {}）", d.name, d.kind, d.target),
        )
        .after(json!({"name": d.name, "kind": d.kind, "target": d.target, "config": d.config})),
    )
    .await?;
    tx.commit().await?;
    ctx.monitors.notify(Control::Reload(id));
    Ok(ctx.store.monitor(id).await?)
}

pub async fn update(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    patch: &Map<String, Value>,
) -> AppResult<MonitorRow> {
    check_write(u)?;
    let old = ctx.store.monitor(id).await?;
    if let Some(k) = patch.get("kind")
        && k.as_str() != Some(old.kind.as_str())
    {
        return Err(AppError::invalid(
            "kind",
            "监控类型不能修改，请新建一个监控",
        ));
    }
    let mut merged = old.definition();
    // A database URL shown without its password keeps the stored one.
    let mut keep_secret = true;
    for (k, v) in patch {
        if k == "target" && ["postgres", "mysql"].contains(&old.kind.as_str()) {
            keep_secret = !v
                .as_str()
                .is_some_and(|t| reqwest::Url::parse(t).is_ok_and(|u| u.password().is_some()));
        }
        merged.insert(k.clone(), v.clone());
    }
    // An SNMP community or v3 password not sent again (or sent back as "***") keeps its
    // stored value; the secret is then rebuilt from the validated definition.
    if old.kind == "snmp" {
        keep_secret = false;
        let stored = match &old.secret_enc {
            Some(enc) => Some(ctx.secrets.decrypt(enc).map_err(AppError::Internal)?),
            None => None,
        };
        keep_snmp_secrets(&old.config_map(), stored.as_deref(), &mut merged);
    }
    let d = spec::validate(&merged).map_err(AppError::Validation)?;
    check_refs(ctx, &d, Some(id)).await?;
    let secret = if keep_secret && old.secret_enc.is_some() {
        old.secret_enc.clone()
    } else {
        match &d.secret {
            Some(s) => Some(ctx.secrets.encrypt(s).map_err(AppError::Internal)?),
            None => None,
        }
    };
    let reset = d.target != old.target || d.paused != (old.paused != 0);
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .update_monitor(&mut tx, id, &d, secret, reset, now)
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of("update", "monitors", id, format!("修改监控“{}”", d.name))
            .before(Value::Object(old.definition()))
            .after(Value::Object(without_secrets(patch))),
    )
    .await?;
    tx.commit().await?;
    ctx.monitors.notify(if d.paused {
        Control::Remove(id)
    } else {
        Control::Reload(id)
    });
    if reset || d.paused {
        ctx.monitors.runtimes.lock().await.remove(&id);
    }
    Ok(ctx.store.monitor(id).await?)
}

/// Fills an SNMP monitor's merged definition with the stored community (v2c) or v3
/// passwords where the change leaves them out or sends "***", as long as the version
/// stays the same.
fn keep_snmp_secrets(
    old_config: &Map<String, Value>,
    stored: Option<&str>,
    merged: &mut Map<String, Value>,
) {
    let Some(stored) = stored else { return };
    let is_v3 = |c: &Map<String, Value>| match c.get("version") {
        Some(Value::String(v)) => matches!(v.trim().to_ascii_lowercase().as_str(), "3" | "v3"),
        Some(Value::Number(n)) => n.as_i64() == Some(3),
        _ => false,
    };
    let was_v3 = is_v3(old_config);
    let Some(Value::Object(config)) = merged.get_mut("config") else {
        return;
    };
    let missing = |c: &Map<String, Value>, k: &str| match c.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s == "***",
        Some(_) => false,
    };
    match (was_v3, is_v3(config)) {
        (false, false) if missing(config, "community") => {
            config.insert("community".into(), json!(stored));
        }
        (true, true) => {
            let passwords: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
            for k in snmp::SECRET_KEYS {
                if missing(config, k)
                    && let Some(p) = passwords.get(k)
                {
                    config.insert(k.into(), p.clone());
                }
            }
        }
        _ => {}
    }
}

/// A change as the audit log keeps it: SNMP communities and passwords as "***".
fn without_secrets(patch: &Map<String, Value>) -> Map<String, Value> {
    let mut p = patch.clone();
    if let Some(Value::Object(config)) = p.get_mut("config") {
        for k in ["community", "auth_password", "priv_password"] {
            if let Some(v) = config.get_mut(k)
                && !v.is_null()
            {
                *v = json!("***");
            }
        }
    }
    p
}

pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_write(u)?;
    let old = ctx.store.monitor(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_monitor(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of("delete", "monitors", id, format!("删除监控“{}”", old.name))
            .before(Value::Object(old.definition())),
    )
    .await?;
    tx.commit().await?;
    ctx.monitors.notify(Control::Remove(id));
    ctx.monitors.runtimes.lock().await.remove(&id);
    Ok(())
}

/// A heartbeat arrives: `kind` is `ping`, `start` or `fail`.
pub async fn heartbeat(
    ctx: &Ctx,
    token: &str,
    kind: &str,
    duration_ms: Option<f64>,
    size_bytes: Option<i64>,
) -> AppResult<MonitorRow> {
    let m = match ctx.store.monitor_by_token(token).await {
        Ok(m) => m,
        Err(crate::store::StoreError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if m.paused != 0 {
        return Ok(m);
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    match kind {
        "start" => ctx.store.heartbeat_start(&mut tx, m.id, now).await?,
        _ => ctx.store.heartbeat_ping(&mut tx, m.id, now).await?,
    }
    tx.commit().await?;
    if kind == "start" {
        return Ok(ctx.store.monitor(m.id).await?);
    }
    let duration = duration_ms.or_else(|| m.hb_started_at.map(|s| (now - s) as f64));
    let mut msg = if kind == "fail" {
        "任务报告失败".to_string()
    } else {
        "收到心跳".to_string()
    };
    if let Some(d) = duration {
        msg.push_str(&format!("，耗时 {:.1} 秒", d / 1000.0));
    }
    if let Some(s) = size_bytes {
        msg.push_str(&format!("，数据量 {s} 字节"));
    }
    let outcome = if kind == "fail" {
        probe::Outcome::fail("heartbeat", duration, msg)
    } else {
        probe::Outcome::ok(duration.unwrap_or(0.0), msg)
    };
    process(
        ctx,
        vec![Finished {
            monitor_id: m.id,
            at: now,
            covers_ms: 0,
            outcome,
            steps: true,
        }],
    )
    .await?;
    Ok(ctx.store.monitor(m.id).await?)
}

// ---- maintenance windows (API) ---------------------------------------------------------

pub async fn add_maintenance(
    ctx: &Ctx,
    u: &AuthUser,
    obj: &Map<String, Value>,
) -> AppResult<MaintenanceRow> {
    check_write(u)?;
    let mut errs = Vec::new();
    for k in obj.keys() {
        if ![
            "monitor_id",
            "system_id",
            "reason",
            "owner",
            "starts_at",
            "ends_at",
            "recurrence",
        ]
        .contains(&k.as_str())
        {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let id_of = |k: &str, errs: &mut Vec<FieldError>| match obj.get(k) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                errs.push(FieldError::new(k, "应为正整数编号"));
                None
            }
        },
    };
    let monitor_id = id_of("monitor_id", &mut errs);
    let system_id = id_of("system_id", &mut errs);
    let text = |k: &str, label: &str, errs: &mut Vec<FieldError>| match obj
        .get(k)
        .and_then(Value::as_str)
        .map(str::trim)
    {
        Some(s) if !s.is_empty() && s.chars().count() <= 500 => Some(s.to_string()),
        _ => {
            errs.push(FieldError::new(
                k,
                format!("请填写{label}（不超过 500 个字符）"),
            ));
            None
        }
    };
    let reason = text("reason", "维护原因", &mut errs);
    let owner = obj
        .get("owner")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| u.display_name.clone());
    let time = |k: &str, errs: &mut Vec<FieldError>| match obj.get(k).and_then(Value::as_str) {
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.timestamp_millis()),
            Err(_) => {
                errs.push(FieldError::new(
                    k,
                    "时间应为 RFC 3339 格式，如 2025-10-15T22:00:00+08:00",
                ));
                None
            }
        },
        None => {
            errs.push(FieldError::new(k, "请填写开始和结束时间（RFC 3339）"));
            None
        }
    };
    let starts = time("starts_at", &mut errs);
    let ends = time("ends_at", &mut errs);
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        errs.push(FieldError::new("ends_at", "结束时间应晚于开始时间"));
    }
    let recurrence = match obj.get("recurrence") {
        None | Some(Value::Null) => None,
        Some(v) => match Recurrence::parse(v) {
            Ok(_) => Some(v.to_string()),
            Err(e) => {
                errs.push(FieldError::new("recurrence", e));
                None
            }
        },
    };
    if let Some(mid) = monitor_id
        && ctx.store.monitor(mid).await.optional()?.is_none()
    {
        errs.push(FieldError::new(
            "monitor_id",
            format!("监控编号 {mid} 不存在"),
        ));
    }
    if let Some(s) = system_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::SYSTEMS, s)
            .await
            .optional()?
            .is_none()
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {s} 不存在")));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (Some(reason), Some(starts), Some(ends)) = (reason, starts, ends) else {
        return Err(AppError::Validation(errs));
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_maintenance(
            &mut tx,
            monitor_id,
            system_id,
            &reason,
            &owner,
            starts,
            ends,
            recurrence,
            u.uid(),
            now,
        )
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "create",
            "maintenance-windows",
            id,
            format!("维护窗口：{reason}（负责人 {owner}）"),
        )
        .after(Value::Object(obj.clone())),
    )
    .await?;
    tx.commit().await?;
    ctx.monitors.forget_maintenance();
    Ok(ctx.store.maintenance_window(id).await?)
}

pub async fn delete_maintenance(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_write(u)?;
    let w = ctx.store.maintenance_window(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_maintenance(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "delete",
            "maintenance-windows",
            id,
            format!("删除维护窗口：{}", w.reason),
        )
        .before(w.to_json()),
    )
    .await?;
    tx.commit().await?;
    ctx.monitors.forget_maintenance();
    Ok(())
}

// ---- rollups and availability -----------------------------------------------------------

const HOUR: i64 = 3_600_000;

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

const DAY: i64 = 24 * HOUR;

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
