//! Display links: read-only links to the wall display (大屏) that an admin creates and
//! revokes. The token is shown once, in the link, and stored only as its SHA-256. Opening
//! a link needs no login, creates no session and keeps no user's session alive: the link's
//! token authorizes only the display's page and its data.

use password_hash::rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::Ctx;
use crate::accounts::{AuthUser, token_hash};
use crate::domain::input::Labels;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::store::audit::{NewAuditEvent, hex};
use crate::store::screen::DisplayLinkRow;

/// `POST /display-links`.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayLinkCreate {
    /// Where the display hangs, e.g. 龙口西机房值班室大屏; default 大屏链接.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Labels for DisplayLinkCreate {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("name", "名称"), ("description", "说明")];
}

/// The page a link opens.
pub fn link_path(token: &str) -> String {
    format!("/display/{token}")
}

pub fn link_json(r: &DisplayLinkRow) -> Value {
    json!({
        "id": r.id, "name": r.name, "description": r.description,
        "created_by": r.created_by, "created_by_name": r.created_by_name,
        "created_at": crate::clock::rfc3339(r.created_at),
        "revoked": r.revoked_at.is_some(),
        "revoked_at": r.revoked_at.map(crate::clock::rfc3339),
        "last_used_at": r.last_used_at.map(crate::clock::rfc3339),
    })
}

fn need_admin(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::ManageUsers) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Creates a link; returns it with its URL (the only time the token is shown).
pub async fn create(
    ctx: &Ctx,
    u: &AuthUser,
    c: DisplayLinkCreate,
) -> AppResult<(DisplayLinkRow, String)> {
    need_admin(u)?;
    let name = c
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("大屏链接")
        .to_string();
    if name.chars().count() > 100 {
        return Err(AppError::invalid("name", "名称不能超过 100 个字符"));
    }
    let description = c
        .description
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if description.is_some_and(|d| d.chars().count() > 500) {
        return Err(AppError::invalid("description", "说明不能超过 500 个字符"));
    }
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    let token = format!("yd_{}", hex(&b));
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_display_link(&mut tx, &name, description, &token_hash(&token), u.id, now)
        .await?;
    let row = ctx
        .store
        .display_link_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    NewAuditEvent::of(
        "create",
        "display_links",
        id,
        format!("新建大屏展示链接：{name}"),
    )
    .after(link_json(&row))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok((row, link_path(&token)))
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<DisplayLinkRow>, i64)> {
    need_admin(u)?;
    Ok(ctx.store.display_links(limit, offset).await?)
}

/// Revokes a link: its page and its data stop answering at once. Revoking a revoked link
/// changes nothing and says so (404: there is no live link with that number).
pub async fn revoke(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    need_admin(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let row = ctx
        .store
        .display_link_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.revoked_at.is_some() {
        return Err(AppError::NotFound);
    }
    ctx.store
        .revoke_display_link(&mut tx, id, u.id, now)
        .await?;
    NewAuditEvent::of(
        "revoke",
        "display_links",
        id,
        format!("撤销大屏展示链接：{}", row.name),
    )
    .before(link_json(&row))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(())
}

/// The live link a token opens; `Unauthorized` for an unknown or revoked one.
pub async fn authorize(ctx: &Ctx, token: &str) -> AppResult<DisplayLinkRow> {
    let bad = || AppError::Unauthorized("展示链接无效或已撤销，请向系统管理员索取新的链接".into());
    if !token.starts_with("yd_") || token.len() > 100 {
        return Err(bad());
    }
    let row = ctx
        .store
        .active_display_link(&token_hash(token))
        .await?
        .ok_or_else(bad)?;
    ctx.store
        .touch_display_link(row.id, ctx.clock.now_ms())
        .await?;
    Ok(row)
}
