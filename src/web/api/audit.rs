//! The audit log, readable by the auditor and the supervisor (not the admin).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::{Paging, parse_time_param};
use crate::domain::roles::Perm;
use crate::error::AppResult;
use crate::store::audit::{AuditFilter, Verification};
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::parse_id;

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

pub async fn list(
    State(st): State<AppState>,
    user: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    user.require(Perm::ReadAudit)?;
    let p = Paging::from_query(&q)?;
    let f = filter_from_query(&q)?;
    let (rows, total) = st.store.list_audit(&f, p.limit, p.offset).await?;
    Ok(Json(
        json!({"total": total, "items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}

pub async fn get_one(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    user.require(Perm::ReadAudit)?;
    Ok(Json(st.store.get_audit(parse_id(&id)?).await?.to_json()))
}

pub async fn verify(State(st): State<AppState>, user: ApiUser) -> AppResult<Json<Value>> {
    user.require(Perm::ReadAudit)?;
    Ok(Json(match st.store.verify_audit().await? {
        Verification::Intact { records } => json!({"intact": true, "records": records}),
        Verification::Broken { seq, reason } => {
            json!({"intact": false, "first_broken": seq, "reason": reason})
        }
    }))
}
