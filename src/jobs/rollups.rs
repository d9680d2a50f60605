//! Hourly rollups of probe results with retention (`monitor::rollup_tick`): each finished
//! hour once; a pass catches up at most a week.

use crate::Ctx;

/// The most hours one pass rolls up.
const MAX_HOURS: i64 = 24 * 7;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::monitor::rollup_tick(ctx, MAX_HOURS).await {
        tracing::warn!(error = %e, "rolling up probe results failed");
    }
}
