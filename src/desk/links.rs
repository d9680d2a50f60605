//! Links between tickets.

use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::tickets::input::{LinkInput, LinkKind};
use crate::domain::tickets::{self as tk, TicketId};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;

use super::{is_staff, public_step};

/// Links two tickets (`related`, `duplicate`, `caused_by`, `parent`, `child`); the other
/// ticket gets the inverse link so both timelines show it.
pub async fn link(ctx: &Ctx, u: &AuthUser, id: TicketId, input: &LinkInput) -> AppResult<()> {
    let id = id.0;
    if !is_staff(u.role) {
        return Err(AppError::forbidden());
    }
    let other = input.ticket_id.0;
    let link_kind = input.kind.unwrap_or(LinkKind::Related);
    let kind = link_kind.code();
    if id == other {
        return Err(AppError::invalid("ticket_id", "不能关联工单自身"));
    }
    let mut tx = ctx.store.write_tx().await?;
    let a = ctx.store.ticket_for_update(&mut tx, id).await?;
    let b = match ctx.store.ticket_tx(&mut tx, other).await {
        Ok(b) => b,
        Err(crate::store::StoreError::NotFound) => {
            return Err(AppError::invalid(
                "ticket_id",
                format!("工单 #{other} 不存在"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let inverse = link_kind.inverse_code();
    let now_ms = ctx.clock.now_ms();
    ctx.store.add_link(&mut tx, id, other, kind, now_ms).await?;
    ctx.store
        .add_link(&mut tx, other, id, inverse, now_ms)
        .await?;
    let summary = format!(
        "关联工单 {}（{}）",
        b.number,
        tk::label(tk::LINK_KINDS, kind)
    );
    public_step(
        ctx,
        &mut tx,
        id,
        now_ms,
        u,
        "linked",
        &summary,
        Some(json!({"ticket_id": other, "kind": kind})),
    )
    .await?;
    public_step(
        ctx,
        &mut tx,
        other,
        now_ms,
        u,
        "linked",
        &format!("被工单 {} 关联", a.number),
        Some(json!({"ticket_id": id, "kind": inverse})),
    )
    .await?;
    NewAuditEvent::of("link", "tickets", id, format!("{} {summary}", a.number))
        .after(json!({"ticket_id": other, "kind": kind}))
        .write_and_commit(tx, now_ms, &u.actor())
        .await?;
    Ok(())
}
