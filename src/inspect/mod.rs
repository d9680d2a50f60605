//! Inspections (巡检) as a service: templates, plans that generate rounds of tasks, the
//! tasks' readings and review, findings that become tickets, and the indicators. Each write
//! use case validates its typed input, runs on one write transaction and writes its audit
//! record last (docs/ARCHITECTURE.md, "How a write flows").

pub mod findings;
pub mod input;
pub mod photos;
pub mod plans;
pub mod tasks;
pub mod templates;

use serde_json::Value;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::Tx;
use crate::store::audit::NewAuditEvent;

/// Templates and plans: the contractor's manager (and the admin).
pub fn check_manage(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Reading templates, plans, tasks and indicators: everyone but requesters.
pub fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

/// Appends the audit record of an inspection write (the last statement before commit).
#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &mut Tx,
    now_ms: i64,
    u: &AuthUser,
    action: &str,
    entity_type: &str,
    id: i64,
    summary: String,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    NewAuditEvent {
        before,
        after,
        ..NewAuditEvent::of(action, entity_type, id, summary)
    }
    .write(tx, now_ms, &u.actor())
    .await?;
    Ok(())
}

/// The shipped templates, added once to a database that has none (the demo, and a new
/// installation); afterwards they are ordinary records an admin edits.
pub async fn ensure_builtin_templates(ctx: &Ctx) -> AppResult<usize> {
    let mut tx = ctx.store.write_tx().await?;
    if crate::store::Store::count_inspection_templates_in(&mut tx).await? > 0 {
        return Ok(0);
    }
    let now = ctx.clock.now().timestamp_millis();
    let all = crate::domain::inspection::builtin::all();
    let system = AuthUser::system("inspections");
    for t in &all {
        let items = serde_json::to_string(&t.items).map_err(anyhow::Error::from)?;
        let id = templates::insert(ctx, &mut tx, t, &items, now).await?;
        audit(
            &mut tx,
            now,
            &system,
            "create",
            "inspection_templates",
            id,
            format!("内置巡检模板“{}”", t.name),
            None,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(all.len())
}
