//! The demo data before going live: its status (is there any, what was generated, how
//! many rows per table) and its removal by the admin, in one transaction with one audit
//! record (`demo.remove`); the contract's own data (the seed inventory, systems, contract
//! record, deliverables, backup policies, service lines, templates) stays.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;

/// What the admin types (or the API sends as `confirm`) to remove the demo data.
pub const CONFIRMATION: &str = "删除演示数据";

/// How many blocking records of each kind a refusal names.
const BLOCKERS_PER_KIND: usize = 5;

/// Whether `u` may read the demo status: the admin, the project manager and the purchaser.
pub fn may_read(u: &AuthUser) -> bool {
    matches!(u.role, Role::Admin | Role::Manager | Role::Supervisor)
}

/// The demo data now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoStatus {
    pub loaded: bool,
    /// When the history was generated (RFC 3339), if it was.
    pub generated_at: Option<String>,
    /// What the generation wrote (`HistorySummary`), if it was.
    pub summary: Option<Value>,
    pub counts: Vec<TableCount>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

impl DemoStatus {
    pub fn total(&self) -> i64 {
        self.counts.iter().map(|c| c.rows).sum()
    }
}

/// What a removal deleted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Removal {
    /// Rows deleted (or references cleared, `table.column`) per table.
    pub removed: Vec<TableCount>,
    /// The demo rows that were marked (the `counts` of the status before).
    pub marked: Vec<TableCount>,
}

fn nothing_to_remove() -> AppError {
    AppError::Conflict("系统中没有演示数据，无需删除".into())
}

/// The demo status, for the admin, the manager and the supervisor.
pub async fn status(ctx: &Ctx, u: &AuthUser) -> AppResult<DemoStatus> {
    if !may_read(u) {
        return Err(AppError::forbidden());
    }
    read_status(ctx).await
}

async fn read_status(ctx: &Ctx) -> AppResult<DemoStatus> {
    let counts: Vec<TableCount> = ctx
        .store
        .demo_counts()
        .await?
        .into_iter()
        .map(|(table, rows)| TableCount { table, rows })
        .collect();
    let history: Option<Value> = ctx
        .store
        .get_setting("demo.history")
        .await?
        .and_then(|s| serde_json::from_str(&s).ok());
    Ok(DemoStatus {
        loaded: !counts.is_empty(),
        generated_at: history
            .as_ref()
            .and_then(|h| h.get("generated_at"))
            .and_then(Value::as_str)
            .map(str::to_string),
        summary: history.and_then(|mut h| h.get_mut("summary").map(Value::take)),
        counts,
    })
}

/// Removes every demo row and what depends on it, for the admin only, once `confirm`
/// is [`CONFIRMATION`]. Refused (409, naming them) while real open work is in the hands
/// of demo accounts: reassign it first. Historical references of real records to demo
/// accounts are cleared (the names stored beside them stay).
pub async fn remove(ctx: &Ctx, u: &AuthUser, confirm: Option<&str>) -> AppResult<Removal> {
    if u.role != Role::Admin {
        return Err(AppError::Forbidden("只有系统管理员可以删除演示数据".into()));
    }
    if confirm.map(str::trim) != Some(CONFIRMATION) {
        return Err(AppError::BadRequest(format!(
            "请确认删除：请求须带 {{\"confirm\": \"{CONFIRMATION}\"}}（页面上请输入“{CONFIRMATION}”）"
        )));
    }
    if !ctx.store.demo_loaded().await? {
        return Err(nothing_to_remove());
    }
    // Read before the transaction: a task holding one reads on it only.
    let monitors = ctx.store.demo_row_ids("monitors").await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    // What is marked, read again on the transaction: a removal that ran meanwhile (another
    // admin, another replica) leaves nothing to do.
    let marked: Vec<TableCount> = ctx
        .store
        .demo_counts_in(&mut tx)
        .await?
        .into_iter()
        .map(|(table, rows)| TableCount { table, rows })
        .collect();
    if marked.is_empty() {
        return Err(nothing_to_remove());
    }
    let generated_at = ctx
        .store
        .setting_in(&mut tx, "demo.history")
        .await?
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|h| {
            h.get("generated_at")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let blockers = ctx
        .store
        .demo_blockers_in(&mut tx, now, BLOCKERS_PER_KIND)
        .await?;
    if !blockers.is_empty() {
        return Err(AppError::Conflict(format!(
            "以下真实记录仍由演示人员负责，请先改派或处理后再删除演示数据：{}",
            blockers.join("；")
        )));
    }
    let removed: Vec<TableCount> = ctx
        .store
        .remove_demo_in(&mut tx)
        .await?
        .into_iter()
        .map(|(t, rows)| TableCount {
            table: t.to_string(),
            rows,
        })
        .collect();
    let total: i64 = marked.iter().map(|c| c.rows).sum();
    NewAuditEvent::about(
        "demo.remove",
        "demo",
        format!("删除演示数据：共 {total} 条标记记录及其关联数据"),
    )
    .before(json!({"generated_at": generated_at, "counts": &marked}))
    .after(json!({"removed": &removed}))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    ctx.store.clear_read_caches();
    crate::monitor::forget(ctx, &monitors).await;
    tracing::info!(total, "demo data removed");
    Ok(Removal { removed, marked })
}

/// Whether a record is demo data (for its page's "演示数据" tag).
pub async fn is_demo(ctx: &Ctx, tbl: &str, id: i64) -> AppResult<bool> {
    Ok(ctx.store.is_demo_row(tbl, id).await?)
}

/// Which of `ids` of table `tbl` are demo data, in one query (for a list page).
pub async fn demo_ids(
    ctx: &Ctx,
    tbl: &str,
    ids: &[i64],
) -> AppResult<std::collections::HashSet<i64>> {
    Ok(ctx.store.demo_ids(tbl, ids).await?)
}
