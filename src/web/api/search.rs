//! Global search: `GET /search?q=&limit=&type=` over tickets, knowledge, assets, systems
//! and staff, within what the caller may see (`desk::search`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};

use crate::desk::{self, SearchRequest, SearchResult};
use crate::error::AppResult;
use crate::web::AppState;
use crate::web::auth::ApiUser;

/// The search's query parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to look for, 1 to 100 characters: words, Chinese text (two characters and
    /// more match as words), or the start of a ticket number such as `INC-20251015`.
    pub q: String,
    /// Results, 1 to 50 (default 10).
    pub limit: Option<i64>,
    /// Only one type: ticket, knowledge (resolved tickets with their resolution), asset,
    /// system or staff.
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `all` (default): every word must match, newest first; `any`: any word may match,
    /// best match first (the similar resolved tickets suggested while a ticket is written
    /// use `type=knowledge&match=any`).
    #[param(rename = "match")]
    pub match_: Option<String>,
}

#[utoipa::path(
    get,
    path = "/search",
    tag = "search",
    summary = "全局搜索：工单（编号、标题、内容）、知识（已解决工单的解决方法）、设备、系统、人员",
    params(SearchParams),
    responses((status = 200, description = "结果与匹配总数（每类最多计 1000）", body = SearchResult))
)]
pub async fn search(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<SearchResult>> {
    let req = SearchRequest::from_query(&q)?;
    Ok(Json(desk::search(&st.ctx, &u, &req).await?))
}
