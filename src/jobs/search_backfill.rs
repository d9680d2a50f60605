//! Fills the search index for records that have no row, once at start, in the
//! background: after an upgrade from before migration 0029 or a restore (archives leave
//! the index out), the server answers at once while the index fills in short write
//! transactions; records written meanwhile index themselves.

use std::time::Instant;

use crate::Ctx;
use crate::store::search::KINDS;

/// One pass over every searched kind; logs what it wrote and its own failure.
pub async fn run(ctx: Ctx) {
    if let Err(e) = backfill(&ctx).await {
        tracing::error!(error = %e, "search index backfill failed; it runs again at the next start");
    }
}

/// Indexes every record without an index row; answers how many rows it wrote.
pub async fn backfill(ctx: &Ctx) -> crate::store::StoreResult<u64> {
    let started = Instant::now();
    let mut written = 0u64;
    for kind in KINDS {
        let mut after = 0i64;
        loop {
            let (last, n) = ctx
                .store
                .backfill_search_step(kind, after, ctx.clock.now_ms())
                .await?;
            written += n;
            match last {
                Some(l) => after = l,
                None => break,
            }
            // Writers queued behind a step go first.
            tokio::task::yield_now().await;
        }
    }
    if written > 0 {
        ctx.store.analyze_search().await?;
        tracing::info!(
            rows = written,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index filled"
        );
    }
    Ok(written)
}
