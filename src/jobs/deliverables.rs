//! Overdue deliverables: each instance past its due date and neither submitted nor
//! accepted alerts the managers once, in-app (`contract::deliverables::alert_overdue`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    match crate::contract::deliverables::alert_overdue(ctx).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(instances = n, "alerted overdue deliverables"),
        Err(e) => tracing::warn!(error = %e.message(), "alerting overdue deliverables failed"),
    }
}
