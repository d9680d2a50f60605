//! In-app messages (站内消息): one's own messages, newest first, and marking them read.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::AppResult;
use crate::store::notify::InboxRow;

/// One page of the user's messages (only the unread ones if asked), with the total and
/// the unread count.
pub async fn messages(
    ctx: &Ctx,
    u: &AuthUser,
    unread_only: bool,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<InboxRow>, i64, i64)> {
    Ok(ctx.store.inbox(u.id, unread_only, limit, offset).await?)
}

pub async fn unread(ctx: &Ctx, u: &AuthUser) -> AppResult<i64> {
    Ok(ctx.store.unread_count(u.id).await?)
}

/// Marks one of the user's messages read; returns the unread count left.
pub async fn mark_read(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<i64> {
    ctx.store
        .mark_read(u.id, Some(id), ctx.clock.now_ms())
        .await?;
    unread(ctx, u).await
}

/// Marks all the user's messages read; returns how many were unread.
pub async fn mark_all_read(ctx: &Ctx, u: &AuthUser) -> AppResult<u64> {
    Ok(ctx.store.mark_read(u.id, None, ctx.clock.now_ms()).await?)
}

/// Opens a message: marks it read and returns the ticket it is about, if any.
pub async fn open(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<Option<i64>> {
    ctx.store
        .mark_read(u.id, Some(id), ctx.clock.now_ms())
        .await?;
    let (rows, _, _) = ctx.store.inbox(u.id, false, 1000, 0).await?;
    Ok(rows.iter().find(|r| r.id == id).and_then(|r| r.ticket_id))
}
