//! The notification outbox: a delivery pass every 2 seconds (`notify::deliver_due`, which
//! claims due messages with a lease so that replicas do not send one twice).

use std::time::Duration;

use crate::Ctx;

pub async fn run(ctx: Ctx) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(e) = crate::notify::deliver_due(&ctx).await {
            tracing::warn!(error = ?e, "notification pass failed");
        }
    }
}
