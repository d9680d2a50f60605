//! Security headers on every response: pages, API, static assets, errors and the fallback.
//!
//! The Content-Security-Policy allows no inline script or style and no `eval`: pages load
//! their script and CSS from `/static/` only (htmx is told not to inject its indicator
//! `<style>`; see `templates/base.html`). A header a handler set itself (an attachment
//! download's own policy, say) is left alone.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// One year; subdomains are not included, since an agency's other hosts under the same
/// domain may not all speak TLS.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Send `Strict-Transport-Security` (the service is behind TLS: `secure_cookies`).
    pub hsts: bool,
}

/// `axum::middleware::map_response_with_state` function.
pub async fn add(State(policy): State<Policy>, mut res: Response) -> Response {
    let h = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        h.entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    if policy.hsts {
        set(header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY);
    }
    res
}
