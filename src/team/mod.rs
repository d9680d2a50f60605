//! The team (服务团队) as a service: members' certificates and documents (`members`), the
//! compliance checks of the contract's 服务人员 rules (`compliance`) and personnel changes
//! approved by the purchaser (`changes`). Each write runs on one transaction with its
//! audit record.
//!
//! Roles: every role that reads the inventory reads the team, its checks and its changes;
//! the admin and the manager keep members' certificates and documents and the rule values;
//! documents (social insurance proofs, agreements) are downloaded by the admin, the
//! manager, the purchaser and 监理 only.

pub mod changes;
pub mod compliance;
pub mod files;
pub mod members;

use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::{Perm, Role};
use crate::domain::team::{RULES_KEY, RulesPatch, TeamRules};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;

pub fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::ReadInventory) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub fn check_write(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The rule values in force (setting `team.rules`; the seed's when not set).
pub async fn rules(ctx: &Ctx) -> AppResult<TeamRules> {
    let v = ctx.store.get_setting(RULES_KEY).await?;
    Ok(TeamRules::from_setting(v.as_deref()))
}

/// The rule values in force, read inside a write transaction.
pub async fn rules_in(ctx: &Ctx, tx: &mut crate::store::Tx) -> AppResult<TeamRules> {
    let v = ctx.store.setting_in(tx, RULES_KEY).await?;
    Ok(TeamRules::from_setting(v.as_deref()))
}

/// `GET /contract/compliance/rules`.
pub async fn get_rules(ctx: &Ctx, u: &AuthUser) -> AppResult<TeamRules> {
    check_read(u)?;
    rules(ctx).await
}

/// `PATCH /contract/compliance/rules`: the admin or the manager changes rule values,
/// audited with the values before and after.
pub async fn set_rules(ctx: &Ctx, u: &AuthUser, p: RulesPatch) -> AppResult<TeamRules> {
    check_write(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = rules_in(ctx, &mut tx).await?;
    let new = old.apply(&p).map_err(AppError::Validation)?;
    let text = serde_json::to_string(&new).map_err(|e| AppError::Internal(e.into()))?;
    ctx.store
        .put_setting_in(&mut tx, RULES_KEY, &text, now)
        .await?;
    NewAuditEvent::of(
        "update",
        "settings",
        RULES_KEY,
        format!(
            "修改团队合规规则：团队不少于 {} 人，项目经理 {} 年以上，证明材料提前 {} 天提醒，更换项目经理 {} 天内",
            new.min_team_size,
            new.manager_min_years,
            new.document_warning_days,
            new.manager_replacement_days
        ),
    )
    .before(json!(old))
    .after(json!(new))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(new)
}
