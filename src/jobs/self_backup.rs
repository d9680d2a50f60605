//! The scheduled self-backup (`backup::scheduled::run_once`) at each time of
//! `backup.self_schedule` (Beijing time).

use std::time::Duration;

use crate::Ctx;
use crate::domain::monitor::cron::Cron;

pub async fn run(ctx: Ctx) {
    let Ok(cron) = Cron::parse(&ctx.config.backup.self_schedule) else {
        return;
    };
    loop {
        let now = ctx.clock.now_ms();
        let Some(next) = chrono::DateTime::from_timestamp_millis(now)
            .and_then(|t| cron.next_after(t))
            .map(|t| t.timestamp_millis())
        else {
            return;
        };
        // Sleep in short steps, so that a clock that jumps is followed.
        while ctx.clock.now_ms() < next {
            let left = (next - ctx.clock.now_ms()).clamp(10, 30_000);
            tokio::time::sleep(Duration::from_millis(left as u64)).await;
        }
        if let Err(e) = crate::backup::scheduled::run_once(&ctx).await {
            tracing::error!(error = %e, "scheduled self-backup: recording its run failed");
        }
    }
}
