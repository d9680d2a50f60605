//! Alert intake sources (Alertmanager, Zabbix, generic events): their definitions, and
//! the token each request of a source is authenticated by.

use serde_json::json;

use super::input::IntegrationInput;
use super::monitors::{random_token, system_exists};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::NewAuditEvent;
use crate::store::monitor::IntegrationRow;

fn check_manage(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::ManageIntegrations) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Adds a source; answers it with its token, which is stored only as a hash.
pub async fn add_integration(
    ctx: &Ctx,
    u: &AuthUser,
    input: IntegrationInput,
) -> AppResult<(IntegrationRow, String)> {
    check_manage(u)?;
    let mut errs = Vec::new();
    let kind = input.kind.as_str();
    let name = input.name.trim();
    if name.is_empty() || crate::domain::text::check_field("名称", name, false, 100).is_err() {
        errs.push(FieldError::new(
            "name",
            "请填写接入源名称（不超过 100 个字符）",
        ));
    }
    let system_id = input.system_id;
    match system_id {
        Some(n) if n <= 0 => errs.push(FieldError::new("system_id", "system_id 应为正整数")),
        Some(n) if !system_exists(ctx, n).await? => {
            errs.push(FieldError::new("system_id", format!("系统编号 {n} 不存在")));
        }
        _ => {}
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let token = format!("ywi_{}", random_token(24));
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_integration(
            &mut tx,
            kind,
            name,
            &crate::accounts::token_hash(&token),
            system_id,
            now,
        )
        .await?;
    NewAuditEvent::of(
        "create",
        "integrations",
        id,
        format!("新建告警接入源“{name}”（{kind}）"),
    )
    .after(json!({"kind": kind, "name": name, "system_id": system_id}))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok((ctx.store.integration(id).await?, token))
}

/// Deletes a source: its token stops working.
pub async fn delete_integration(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(u)?;
    let i = ctx.store.integration(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_integration(&mut tx, id).await?;
    NewAuditEvent::of(
        "delete",
        "integrations",
        id,
        format!("删除告警接入源“{}”", i.name),
    )
    .before(i.to_json())
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(())
}

/// The source a request speaks for, by its token (from `Authorization: Bearer` or
/// `?token=`); it must be of `kind`. Notes the time of its last event.
pub async fn source(ctx: &Ctx, token: Option<&str>, kind: &str) -> AppResult<IntegrationRow> {
    let token = token.ok_or_else(|| {
        AppError::Unauthorized("缺少接入令牌：Authorization: Bearer 令牌，或 ?token=".into())
    })?;
    let i = ctx
        .store
        .integration_by_token(&crate::accounts::token_hash(token))
        .await?
        .ok_or_else(|| AppError::Unauthorized("接入令牌无效或已停用".into()))?;
    if i.kind != kind {
        return Err(AppError::Forbidden(format!(
            "该令牌属于 {} 接入源，不能用于 {kind}",
            i.kind
        )));
    }
    ctx.store
        .touch_integration(i.id, ctx.clock.now_ms())
        .await?;
    Ok(i)
}
