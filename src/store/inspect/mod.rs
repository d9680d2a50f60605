//! Inspections (migration 0014), by use case: templates, plans (with their targets),
//! tasks, findings and evidence (photos and monitor results). Writes take the caller's
//! `Tx`; list pages read through the pool.

mod evidence;
mod findings;
mod plans;
mod tasks;
mod templates;

pub use evidence::{LatestResult, NewPhoto, PhotoRow};
pub use findings::FindingRow;
pub use plans::{PlanRow, PlanWrite};
pub use tasks::{NewTask, OverdueRow, TaskFactRow, TaskFilter, TaskRow};
pub use templates::TemplateRow;

use super::StoreError;

/// Maps a uniqueness violation on a name to the conflict a user is shown.
fn conflict_on_unique(name: &str, what: &str) -> impl FnOnce(StoreError) -> StoreError {
    super::sql::unique_conflict(format!("{what}名称“{name}”已被使用，请换一个名称"))
}
