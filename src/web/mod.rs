//! The HTTP edge: router, shared state, authentication extractors, metrics, static assets.

pub mod api;
pub mod auth;
pub mod extract;
pub mod metrics;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Ctx;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub ui: Arc<ui::Ui>,
    pub metrics: Arc<metrics::Metrics>,
}

impl std::ops::Deref for AppState {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

pub fn router(ctx: Ctx) -> Router {
    let max_body = ctx.config.max_body_bytes;
    let state = AppState {
        ctx,
        ui: Arc::new(ui::Ui::new()),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/static/{*path}", get(static_asset))
        .nest("/api/v1", api::router(&state))
        .merge(ui::router())
        // After routing, so the route template (MatchedPath) is known.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.store.ping().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    let mut body = st.metrics.render();
    // Every monitor's state and last latency, from the database (any replica answers).
    if let Ok(ms) = st.store.all_monitors().await {
        body.push_str(&metrics::render_monitors(
            &ms,
            st.monitors
                .probes_total
                .load(std::sync::atomic::Ordering::Relaxed),
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        let body = serde_json::json!({"error": {"code": "no_route", "message": "接口不存在，请查看 /api/v1/openapi.json", "details": null}});
        (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
    } else {
        ui::not_found_page()
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        let body = serde_json::json!({"error": {"code": "method_not_allowed", "message": "该地址不支持此请求方法", "details": null}});
        (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "不支持的请求方法").into_response()
    }
}

struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "htmx.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/htmx.min.js"),
    },
    Asset {
        path: "app.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/app.css"),
    },
    Asset {
        path: "echarts.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/echarts.min.js"),
    },
    Asset {
        path: "charts.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/charts.js"),
    },
    Asset {
        path: "app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
];

async fn static_asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Background upkeep every 30 s: the SLA monitor (warnings, breaches, auto-close), alert
/// escalation, hourly rollups of probe results with retention, and idle sessions.
pub async fn housekeeping(ctx: Ctx) {
    // The first pass waits a tick, so that starting up and a CLI command run right after
    // do not compete for the SQLite write lock.
    let period = Duration::from_secs(30);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = crate::desk::sla_tick(&ctx).await {
            tracing::warn!(error = %e, "SLA monitor pass failed");
        }
        if let Err(e) = crate::monitor::alerts::escalate_tick(&ctx).await {
            tracing::warn!(error = %e, "alert escalation pass failed");
        }
        // Rollups: each finished hour once (the first pass catches up to a week).
        if n.is_multiple_of(10)
            && let Err(e) = crate::monitor::rollup_tick(&ctx, 24 * 7).await
        {
            tracing::warn!(error = %e, "rolling up probe results failed");
        }
        if n.is_multiple_of(10) {
            let idle = ctx.config.security.idle_timeout_minutes * 60_000;
            if let Err(e) = ctx
                .store
                .purge_idle_sessions(ctx.clock.now_ms() - idle)
                .await
            {
                tracing::warn!(error = %e, "purging idle sessions failed");
            }
        }
        n += 1;
    }
}
