//! Sweeps: expired read-cache entries and idle sessions.

use crate::Ctx;

/// Drops expired cache entries, even when nothing new is cached.
pub fn caches(ctx: &Ctx) {
    ctx.store.sweep_caches(ctx.clock.now_ms());
}

/// Deletes sessions idle longer than the configured timeout.
pub async fn idle_sessions(ctx: &Ctx) {
    let idle = ctx.config.security.idle_timeout_minutes * 60_000;
    if let Err(e) = ctx
        .store
        .purge_idle_sessions(ctx.clock.now_ms() - idle)
        .await
    {
        tracing::warn!(error = %e, "purging idle sessions failed");
    }
}
