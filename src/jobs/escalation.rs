//! Escalating firing alerts nobody acknowledged (`monitor::alerts::escalate_tick`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::monitor::alerts::escalate_tick(ctx).await {
        tracing::warn!(error = %e, "alert escalation pass failed");
    }
}
