//! Request counts and latency histograms by route, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    next_id: AtomicU64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut g = match self.routes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let s = g
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *s.by_status.entry(status).or_default() += 1;
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let g = match self.routes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out = String::new();
        out.push_str("# HELP yunwei_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE yunwei_http_requests_total counter\n");
        for ((m, r), s) in g.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "yunwei_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(r)
                );
            }
        }
        out.push_str(
            "# HELP yunwei_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE yunwei_http_request_duration_seconds histogram\n");
        for ((m, r), s) in g.iter() {
            let r = esc(r);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "yunwei_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "yunwei_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "yunwei_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "yunwei_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                s.count
            );
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Times every request, counts it under its route template, and logs it in a span with a
/// request id. Unmatched paths are counted under one label so scanners cannot blow up
/// the label set.
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
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

/// Monitor gauges: `yunwei_monitor_up` (1 up, 0 down/unreachable, absent otherwise),
/// `yunwei_monitor_state` (one series per state, 1 for the current one) and the last
/// latency in seconds.
pub fn render_monitors(ms: &[crate::store::monitor::MonitorRow], probes: u64) -> String {
    let mut out = String::new();
    out.push_str("# HELP yunwei_monitor_up Whether the monitor's target is up (1) or down (0).\n");
    out.push_str("# TYPE yunwei_monitor_up gauge\n");
    for m in ms {
        let v = match m.state.as_str() {
            "up" => "1",
            "down" | "unreachable" => "0",
            _ => continue,
        };
        let _ = writeln!(
            out,
            "yunwei_monitor_up{{monitor_id=\"{}\",name=\"{}\",kind=\"{}\"}} {v}",
            m.id,
            esc(&m.name),
            m.kind
        );
    }
    out.push_str("# HELP yunwei_monitor_state The monitor's state (1 for the current one).\n");
    out.push_str("# TYPE yunwei_monitor_state gauge\n");
    for m in ms {
        let _ = writeln!(
            out,
            "yunwei_monitor_state{{monitor_id=\"{}\",state=\"{}\"}} 1",
            m.id, m.state
        );
    }
    out.push_str("# HELP yunwei_monitor_latency_seconds Latency of the monitor's last check.\n");
    out.push_str("# TYPE yunwei_monitor_latency_seconds gauge\n");
    for m in ms {
        if let Some(l) = m.last_latency_ms {
            let _ = writeln!(
                out,
                "yunwei_monitor_latency_seconds{{monitor_id=\"{}\"}} {}",
                m.id,
                l / 1000.0
            );
        }
    }
    out.push_str("# HELP yunwei_probes_total Probes run by this process.\n");
    out.push_str("# TYPE yunwei_probes_total counter\n");
    let _ = writeln!(out, "yunwei_probes_total {probes}");
    out
}
