//! The audit log, readable by the auditor and the supervisor (not the admin).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::{Paging, list_json};
use crate::accounts::audit;
use crate::error::AppResult;
use crate::store::audit::Verification;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::parse_id;

/// The audit log's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Username of the actor.
    pub actor: Option<String>,
    /// e.g. `create`, `update`, `delete`, `login`.
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// RFC 3339 time or date.
    pub from: Option<String>,
    /// RFC 3339 time or date.
    pub to: Option<String>,
}

#[utoipa::path(
    get,
    path = "/audit-events",
    tag = "audit",
    summary = "审计日志（监理、甲方）",
    params(super::openapi::SearchQuery, AuditQuery),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    user: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    audit::check(&user.0)?;
    let p = Paging::from_query(&q)?;
    let f = audit::filter_from_query(&q)?;
    let (rows, total) = audit::list(&st, &user.0, &f, p.limit, p.offset).await?;
    Ok(Json(list_json(&rows, total, |r| r.to_json())))
}

#[utoipa::path(
    get,
    path = "/audit-events/{id}",
    tag = "audit",
    summary = "审计记录",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    audit::check(&user.0)?;
    Ok(Json(
        audit::record(&st, &user.0, parse_id(&id)?).await?.to_json(),
    ))
}

#[utoipa::path(
    get,
    path = "/audit-events/verify",
    tag = "audit",
    summary = "校验审计日志哈希链",
    responses((status = 200, description = "intact 为 true 表示完整；否则 first_broken 为第一条被改动的记录", body = super::openapi::Record))
)]
pub async fn verify(State(st): State<AppState>, user: ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(match audit::verify(&st, &user.0).await? {
        Verification::Intact { records } => json!({"intact": true, "records": records}),
        Verification::Broken { seq, reason } => {
            json!({"intact": false, "first_broken": seq, "reason": reason})
        }
    }))
}
