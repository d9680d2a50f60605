//! The HTTP edge: router, shared state, authentication extractors, metrics, static assets.

pub mod api;
pub mod assets;
pub mod auth;
pub mod download;
pub mod extract;
pub mod headers;
pub mod metrics;
pub mod text_guard;
pub mod ui;

use std::sync::Arc;

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
    let policy = headers::Policy {
        hsts: ctx.config.security.secure_cookies,
    };
    let state = AppState {
        ctx,
        ui: Arc::new(ui::Ui::new()),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/static/{*path}", get(assets::serve))
        .nest("/api/v1", api::router(&state))
        .merge(ui::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::demo_flag,
        )))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        // Inside routing, so the route template (MatchedPath) is known; unmatched paths
        // (the fallback) are counted too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            text_guard::text_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        // Counts the write transactions a request holds, so that `Store::pool` can refuse
        // a pool read made while one is open.
        .layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| {
                crate::store::lane::tracked(next.run(req))
            },
        ))
        // Outermost, so that every response gets them, rejections included.
        .layer(axum::middleware::map_response_with_state(
            policy,
            headers::add,
        ))
        .with_state(state)
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.store.ping().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// The Prometheus exposition, for a bearer credential only: the configured
/// `metrics_token` (what Prometheus' `authorization` setting sends) or the API token of a
/// user who may read monitoring.
async fn metrics_text(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let unauthorized = |msg: &str| {
        let mut r = crate::error::AppError::Unauthorized(msg.into()).into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"yunwei metrics\""),
        );
        r
    };
    let Some(token) = token else {
        return unauthorized(
            "读取监控指标须提供 Authorization: Bearer 令牌（metrics_token 或 API 令牌）",
        );
    };
    let configured = st.config.metrics_token.as_ref().is_some_and(|m| {
        use sha2::Digest;
        // Compare digests so the time taken does not depend on where the strings differ.
        sha2::Sha256::digest(m.0.as_bytes()) == sha2::Sha256::digest(token.as_bytes())
    });
    if !configured {
        match crate::accounts::authenticate(&st.ctx, &token, None).await {
            Ok(u) if u.role.can(crate::domain::roles::Perm::ReadMonitoring) => {}
            Ok(_) => return crate::error::AppError::forbidden().into_response(),
            Err(_) => return unauthorized("令牌无效或已过期"),
        }
    }
    // Every monitor's state and last latency, from the database (any replica answers).
    // A failing read still serves the process's own metrics, and says so in the log.
    let monitors = match st.store.all_monitors().await {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the monitors");
            None
        }
    };
    let body = st.metrics.render(
        monitors.as_deref(),
        st.monitors
            .probes_total
            .load(std::sync::atomic::Ordering::Relaxed),
        st.store.writer_stats(),
    );
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
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
