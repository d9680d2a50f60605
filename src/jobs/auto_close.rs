//! Closing resolved tickets nobody confirmed in time (`desk::auto_close_tick`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::desk::auto_close_tick(ctx).await {
        tracing::warn!(error = %e, "auto-closing resolved tickets failed");
    }
}
