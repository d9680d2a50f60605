//! The demo's monitors: yunwei's own `/healthz` and `/readyz` on the configured listen
//! address, its port on the loopback, and one check per system (each probing yunwei's
//! health endpoint, so they stay up once the engine runs) — with a probe history of the
//! simulated days rolled up by the real rollup job, so availability and charts have data.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::demo::Rng;
use crate::domain::monitor::input::{MonitorCreate, MonitorKind, Priority};
use std::collections::{BTreeMap, BTreeSet};

use crate::store::monitor::{NewResult, Tally};

use super::tickets::Outage;

const HOUR: i64 = 3_600_000;
const FIVE_MIN: i64 = 300_000;

/// One monitor's rollup of an hour: (monitor, tally, average and maximum latency).
type HourRow = (i64, Tally, Option<f64>, Option<f64>);

fn monitor(
    name: String,
    kind: MonitorKind,
    target: String,
    system_id: Option<i64>,
) -> MonitorCreate {
    MonitorCreate {
        name,
        kind,
        target: Some(target),
        interval_s: Some(60),
        timeout_ms: None,
        failures_before_down: None,
        successes_before_up: None,
        system_id,
        asset_id: None,
        depends_on: None,
        priority: Some(Priority::P2),
        paused: None,
        auto_resolve: None,
        config: None,
    }
}

/// Creates the monitors; answers (monitor id, system id or 0) for each.
pub async fn create(
    sim: &Ctx,
    admin: &AuthUser,
    systems: &[(i64, String)],
) -> anyhow::Result<Vec<(i64, i64)>> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("demo monitor: {e}");
    let mut addr = sim.config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    }
    let base = format!("http://{addr}");
    let mut out = Vec::new();
    let own = [
        monitor(
            "运维平台存活检查（/healthz）".into(),
            MonitorKind::Http,
            format!("{base}/healthz"),
            None,
        ),
        monitor(
            "运维平台就绪检查（/readyz）".into(),
            MonitorKind::Http,
            format!("{base}/readyz"),
            None,
        ),
        monitor(
            "运维平台服务端口（本机）".into(),
            MonitorKind::Tcp,
            format!("127.0.0.1:{}", addr.port()),
            None,
        ),
    ];
    for m in &own {
        let row = crate::monitor::create(sim, admin, m).await.map_err(err)?;
        out.push((row.id, 0));
    }
    for (sid, name) in systems {
        let m = monitor(
            format!("{name} 访问检查（演示）"),
            MonitorKind::Http,
            format!("{base}/healthz"),
            Some(*sid),
        );
        let row = crate::monitor::create(sim, admin, &m).await.map_err(err)?;
        out.push((row.id, *sid));
    }
    Ok(out)
}

/// Writes the probe results of `[start, now)` (one per four hours, one per hour over the
/// last week, one per five minutes over the last day; down within the outages) and their
/// hourly and daily rollups. Raw results are written only within their retention (the
/// rollup job would purge older ones at once); the rollups are tallied here from the same
/// series exactly as `tally_results` would, and written with the rollup job's own store
/// functions — reading 2,000 hours back from the database cost seconds.
pub async fn history(
    sim: &Ctx,
    rng: &Rng,
    monitors: &[(i64, i64)],
    outages: &[Outage],
    start: i64,
    now: i64,
) -> anyhow::Result<usize> {
    let mut r = rng.fork(3);
    let recent = (now - 24 * HOUR).max(start);
    let week = (now - 7 * 24 * HOUR).max(start);
    let keep_from = now - sim.config.monitoring.results_retention_days * 24 * HOUR;
    let current_hour = now - now.rem_euclid(HOUR);
    let mut rows = Vec::new();
    let mut hours: BTreeMap<i64, Vec<HourRow>> = BTreeMap::new();
    for (mid, _) in monitors {
        let base = r.range(8, 60) as f64;
        // Per hour of this monitor: the tally and the latencies of the checks in it.
        let mut per_hour: BTreeMap<i64, (Tally, Vec<f64>)> = BTreeMap::new();
        let mut at = start;
        while at < now {
            let step = if at < week {
                4 * HOUR
            } else if at < recent {
                HOUR
            } else {
                FIVE_MIN
            };
            let at_end = (at + step).min(now);
            let down = outages
                .iter()
                .any(|o| o.monitor_id == *mid && o.from < at_end && o.to > at);
            // Latency rises in office hours (Beijing 09–18).
            let hour = ((at / HOUR) + 8).rem_euclid(24);
            let busy = if (9..18).contains(&hour) { 1.6 } else { 1.0 };
            let latency = (base * busy + r.range(0, 25) as f64).round();
            // The hours the result covers, clipped as the rollup clips it.
            let mut h = at - at.rem_euclid(HOUR);
            while h < at_end && h < current_hour {
                let covered = at_end.min(h + HOUR) - at.max(h);
                let e = per_hour.entry(h).or_default();
                if down {
                    e.0.down_ms += covered;
                } else {
                    e.0.up_ms += covered;
                }
                if at >= h && at < h + HOUR {
                    e.0.checks += 1;
                    if down {
                        e.0.failures += 1;
                    } else {
                        e.1.push(latency);
                    }
                }
                h += HOUR;
            }
            if at >= keep_from {
                rows.push(NewResult {
                    monitor_id: *mid,
                    at,
                    covers_ms: at_end - at,
                    ok: !down,
                    class: if down { "down" } else { "up" },
                    latency_ms: (!down).then_some(latency),
                    phase: down.then(|| "connect".to_string()),
                    message: down.then(|| "连接超时（演示数据）".to_string()),
                });
            }
            at = at_end;
        }
        for (h, (mut t, lat)) in per_hour {
            t.unknown_ms = HOUR - t.up_ms - t.down_ms - t.maintenance_ms;
            let avg = (!lat.is_empty()).then(|| lat.iter().sum::<f64>() / lat.len() as f64);
            let max = lat.iter().copied().reduce(f64::max);
            hours.entry(h).or_default().push((*mid, t, avg, max));
        }
    }
    let n = rows.len();
    let mut tx = sim.store.write_tx().await?;
    sim.store.insert_results(&mut tx, &rows).await?;
    let mut days = BTreeSet::new();
    for (h, rs) in &hours {
        sim.store.upsert_rollups(&mut tx, *h, rs).await?;
        days.insert(crate::monitor::day_start(*h));
    }
    for d in days {
        sim.store.roll_day(&mut tx, d).await?;
    }
    for (mid, _) in monitors {
        sim.store
            .set_monitor_state(&mut tx, *mid, "up", now)
            .await?;
    }
    tx.commit().await?;
    Ok(n)
}
