//! Inspection rounds generated a day ahead by each active plan
//! (`inspect::plans::generate_ahead`), and tasks past their due time marked overdue with a
//! message to the assignee (`inspect::tasks::mark_overdue`), and findings left without a
//! ticket given one (`inspect::findings::open_missing_tickets`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::inspect::plans::generate_ahead(ctx).await {
        tracing::warn!(error = %e, "generating inspection rounds failed");
    }
    if let Err(e) = crate::inspect::findings::open_missing_tickets(ctx).await {
        tracing::warn!(error = %e, "opening the tickets of inspection findings failed");
    }
    if let Err(e) = crate::inspect::tasks::mark_overdue(ctx).await {
        tracing::warn!(error = %e, "marking overdue inspection tasks failed");
    }
}
