//! The search results page (`/search?q=`), where Enter in the header's search box leads;
//! the same service as `GET /api/v1/search`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::{PageResult, layout};
use crate::desk::{self, SearchRequest};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::auth::PageUser;

/// Labels of the result types.
const TYPE_LABELS: &[(&str, &str)] = &[
    ("ticket", "工单"),
    ("knowledge", "知识"),
    ("asset", "设备"),
    ("system", "系统"),
    ("staff", "人员"),
];

pub async fn page(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    let raw = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    q.insert("limit".into(), desk::SEARCH_MAX_LIMIT.to_string());
    let (items, total, error) = if raw.is_empty() {
        (Vec::new(), 0, None)
    } else {
        match SearchRequest::from_query(&q) {
            Ok(req) => {
                let r = desk::search(&st.ctx, &u, &req).await?;
                (r.items, r.total, None)
            }
            Err(AppError::Validation(v)) => {
                (Vec::new(), 0, v.into_iter().next().map(|f| f.message))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let items: Vec<_> = items
        .into_iter()
        .map(|i| {
            let label = TYPE_LABELS
                .iter()
                .find(|(k, _)| *k == i.kind)
                .map_or("", |(_, l)| *l);
            json!({"type": i.kind, "type_label": label, "title": i.title, "url": i.url, "snippet": i.snippet})
        })
        .collect();
    Ok(st
        .ui
        .page(
            "search.html",
            json!({"layout": layout(&u, "搜索", "/search"), "q": raw, "items": items,
                   "total": total, "error": error, "types": TYPE_LABELS}),
        )?
        .into_response())
}
