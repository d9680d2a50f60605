//! Request counts and latency histograms by route, and the monitors' state, in the
//! Prometheus text format (0.0.4) through `prometheus-client`, which escapes label values.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::Instrument;

use super::AppState;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

type Labels = Vec<(&'static str, String)>;

fn new_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process's request metrics. Routes are templates (`/api/v1/tickets/{id}`), and every
/// path no route matches is counted under `route="unmatched"`, so scanners cannot grow the
/// label set.
pub struct Metrics {
    requests: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    next_id: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(new_histogram),
            next_id: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        self.requests
            .get_or_create(&vec![
                ("method", method.to_string()),
                ("route", route.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.durations
            .get_or_create(&vec![
                ("method", method.to_string()),
                ("route", route.to_string()),
            ])
            .observe(secs);
    }

    /// The exposition: request metrics, and the monitors' state when given.
    pub fn render(
        &self,
        monitors: Option<&[crate::store::monitor::MonitorRow]>,
        probes: u64,
        writer: Option<(u64, u64)>,
    ) -> String {
        let mut reg = Registry::default();
        reg.register(
            "yunwei_http_requests",
            "HTTP requests by route and status",
            self.requests.clone(),
        );
        reg.register(
            "yunwei_http_request_duration_seconds",
            "HTTP request latency by route",
            self.durations.clone(),
        );
        if let Some(ms) = monitors {
            register_monitors(&mut reg, ms, probes);
        }
        if let Some((commits, writers)) = writer {
            let c = ConstCounter::new(commits);
            reg.register(
                "yunwei_sqlite_group_commits",
                "Commits made by the SQLite writer (each acknowledges one or more writes)",
                c,
            );
            let w = ConstCounter::new(writers);
            reg.register(
                "yunwei_sqlite_writes_committed",
                "Write transactions acknowledged by the SQLite writer's group commits",
                w,
            );
        }
        let mut out = String::new();
        if let Err(e) = prometheus_text::encode(&mut out, &reg) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// Monitor gauges: `yunwei_monitor_up` (1 up, 0 down/unreachable, absent otherwise),
/// `yunwei_monitor_state` (one series per monitor, 1 for its current state) and the last
/// latency in seconds.
fn register_monitors(reg: &mut Registry, ms: &[crate::store::monitor::MonitorRow], probes: u64) {
    let up: Family<Labels, Gauge> = Family::default();
    let state: Family<Labels, Gauge> = Family::default();
    let latency: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    for m in ms {
        let id = m.id.to_string();
        match m.state.as_str() {
            "up" => {
                up.get_or_create(&vec![
                    ("monitor_id", id.clone()),
                    ("name", m.name.clone()),
                    ("kind", m.kind.clone()),
                ])
                .set(1);
            }
            "down" | "unreachable" => {
                up.get_or_create(&vec![
                    ("monitor_id", id.clone()),
                    ("name", m.name.clone()),
                    ("kind", m.kind.clone()),
                ])
                .set(0);
            }
            _ => {}
        }
        state
            .get_or_create(&vec![
                ("monitor_id", id.clone()),
                ("state", m.state.clone()),
            ])
            .set(1);
        if let Some(l) = m.last_latency_ms {
            latency
                .get_or_create(&vec![("monitor_id", id)])
                .set(l / 1000.0);
        }
    }
    reg.register(
        "yunwei_monitor_up",
        "Whether the monitor's target is up (1) or down (0)",
        up,
    );
    reg.register(
        "yunwei_monitor_state",
        "The monitor's state (1 for the current one)",
        state,
    );
    reg.register(
        "yunwei_monitor_latency_seconds",
        "Latency of the monitor's last check",
        latency,
    );
    reg.register(
        "yunwei_probes",
        "Probes run by this process",
        ConstCounter::new(probes),
    );
}

/// Times every request, counts it under its route template, and logs it in a span with a
/// request id.
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Known methods only: any token is a valid HTTP method, and each would be a new series.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let id = st.metrics.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let span = tracing::info_span!("request", request_id = id, method = %method, route = %route);
    let resp = next.run(req).instrument(span.clone()).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    st.metrics.observe(&method, &route, status, secs);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms = secs * 1000.0, "request failed");
        } else {
            tracing::debug!(status, latency_ms = secs * 1000.0, "request");
        }
    });
    resp
}
