//! The SLA monitor's pass: warnings and breaches (`desk::check_sla_clocks`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::desk::check_sla_clocks(ctx).await {
        tracing::warn!(error = %e, "SLA monitor pass failed");
    }
}
