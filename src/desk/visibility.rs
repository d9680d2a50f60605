//! Requester visibility: a requester sees only the tickets they reported, in lists and
//! one by one; staff see every ticket. The API and the pages both go through here.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::desk::{TicketFilter, TicketRow};

/// Narrows a ticket list filter to what the user may see: a requester's list holds only
/// their own tickets, whatever the query asked for.
pub fn restrict_to_visible(u: &AuthUser, f: &mut TicketFilter) {
    if u.role == Role::Requester {
        f.requester_id = Some(u.id);
    }
}

/// Loads a ticket the user may see. Another requester's ticket does not exist as far as
/// this requester can tell: `NotFound`, as for a missing id.
pub async fn visible_ticket(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<TicketRow> {
    let t = ctx.store.ticket(id).await?;
    if !super::can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    Ok(t)
}
