//! Findings become tickets: each abnormal reading of a submitted task opens exactly one
//! incident (`source: inspection`). The finding points at its ticket in the ticket's own
//! transaction (`desk::Origin::Finding`), and a finding left without one (a crash between
//! the submit and its ticket) is picked up by the job. Resolving the ticket marks the
//! finding rectified (`desk` calls `Store::rectify_findings_of_ticket` on its resolve).

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::desk::Origin;
use crate::domain::tickets::input::{Level, TicketCreate, TicketKind, TicketSource};
use crate::error::{AppError, AppResult};
use crate::store::inspect::FindingRow;

fn ticket_for(
    f: &FindingRow,
    task_id: i64,
    assignee: Option<i64>,
    asset_id: Option<i64>,
) -> TicketCreate {
    let title: String = format!("【巡检异常】{} · {}", f.target_name, f.label)
        .chars()
        .take(200)
        .collect();
    let mut t = TicketCreate::new(TicketKind::Incident, title);
    t.source = Some(TicketSource::Inspection);
    t.description = Some(format!(
        "{}\n\n巡检任务 #{task_id}，问题 #{}（检查项 {}）。",
        f.detail, f.id, f.item_key
    ));
    t.system_id = f.system_id;
    t.asset_id = asset_id;
    t.category = Some("巡检发现".into());
    t.impact = Some(Level::Medium);
    t.urgency = Some(Level::Medium);
    t.requester_id = assignee;
    t
}

/// Opens the tickets of the given findings; answers the ticket ids opened. A finding that
/// has a ticket by then is skipped.
pub async fn open_tickets(ctx: &Ctx, finding_ids: &[i64]) -> AppResult<Vec<i64>> {
    let who = AuthUser::system("inspection");
    let mut opened = Vec::new();
    for fid in finding_ids {
        let Some(f) = ctx.store.inspection_finding(*fid).await? else {
            continue;
        };
        if f.ticket_id.is_some() {
            continue;
        }
        let task = ctx.store.inspection_task(f.task_id).await?;
        let asset = (task.target_type == "asset").then_some(task.target_id);
        let input = ticket_for(&f, task.id, task.assignee_id, asset);
        match crate::desk::open_ticket_from(ctx, &who, &input, Origin::Finding(f.id)).await {
            Ok(t) => opened.push(t.id),
            Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(opened)
}

/// The job's sweep: findings still without a ticket get one.
pub async fn open_missing_tickets(ctx: &Ctx) -> AppResult<usize> {
    let missing: Vec<i64> = ctx
        .store
        .findings_without_ticket()
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(open_tickets(ctx, &missing).await?.len())
}
