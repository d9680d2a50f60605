//! The missed-backup watch (`backup::alerts::check_missed`): sleeps until the next
//! policy's deadline (schedule + grace), at most 2 s, so a run that did not happen is
//! alerted within 5 s of its deadline; policy changes are seen on the next pass.

use std::time::Duration;

use crate::Ctx;
use crate::backup::alerts::{Watch, check_missed};

/// The longest sleep between passes.
const MAX_WAIT_MS: i64 = 2_000;

pub async fn run(ctx: Ctx) {
    let mut watch = Watch::default();
    loop {
        let next = match check_missed(&ctx, &mut watch).await {
            Ok((_, next)) => next,
            Err(e) => {
                tracing::warn!(error = %e, "missed-backup pass failed");
                None
            }
        };
        let wait = next
            .map(|d| d - ctx.clock.now_ms())
            .unwrap_or(MAX_WAIT_MS)
            .clamp(100, MAX_WAIT_MS);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}
