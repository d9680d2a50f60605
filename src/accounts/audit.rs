//! Reading the audit log (the auditor and the supervisor, not the admin): its filters from
//! URL parameters, pages of records, one record, and the check of the hash chain.

use std::collections::HashMap;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::clock::parse_time_param;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::store::audit::{AuditFilter, AuditRow, Verification};

/// Who may read the log (pages and the API answer this before checking the filters).
pub fn check(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::ReadAudit) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The filters named in URL parameters (`actor`, `action`, `entity_type`, `entity_id`,
/// `from`, `to`, `q`); blank values are no filter, and a bad time is refused.
pub fn filter_from_query(q: &HashMap<String, String>) -> AppResult<AuditFilter> {
    let get = |k: &str| {
        q.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Ok(AuditFilter {
        actor: get("actor"),
        action: get("action"),
        entity_type: get("entity_type"),
        entity_id: get("entity_id"),
        from_ms: get("from")
            .map(|v| parse_time_param("from", &v))
            .transpose()?,
        to_ms: get("to").map(|v| parse_time_param("to", &v)).transpose()?,
        q: get("q"),
    })
}

/// One page of the records matching `f`, newest first, with the total.
pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: &AuditFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<AuditRow>, i64)> {
    check(u)?;
    Ok(ctx.store.list_audit(f, limit, offset).await?)
}

pub async fn record(ctx: &Ctx, u: &AuthUser, seq: i64) -> AppResult<AuditRow> {
    check(u)?;
    Ok(ctx.store.get_audit(seq).await?)
}

/// Walks the hash chain.
pub async fn verify(ctx: &Ctx, u: &AuthUser) -> AppResult<Verification> {
    check(u)?;
    Ok(ctx.store.verify_audit().await?)
}
