//! Global search over tickets (number, title, text), knowledge (resolved tickets with
//! their resolution), assets, systems and staff, narrowed to what the caller may see: the
//! ticket visibility rule is [`super::restrict_to_visible`], the inventory's
//! `inventory::can_read`. The API, the header box, the `/search` page and the similar-
//! ticket suggestion all call [`search`].

use std::collections::HashMap;

use serde::Serialize;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory as inv;
use crate::domain::search::{self as ds, Query};
use crate::error::{AppError, AppResult};
use crate::store::desk::TicketFilter;
use crate::store::search::{Hit, Scope};

/// Default and largest number of results.
pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 50;
/// Characters of a result's snippet.
const SNIPPET_CHARS: usize = 80;

/// What a search answers: the first `limit` results and how many matched (counted up to
/// 1,000 per group).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub items: Vec<SearchItem>,
    pub total: i64,
}

/// One result.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SearchItem {
    /// ticket, knowledge, asset, system or staff
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
    pub title: String,
    pub url: String,
    pub snippet: String,
}

/// The result types a caller may ask for with `type`.
pub const TYPES: &[&str] = &["ticket", "knowledge", "asset", "system", "staff"];

/// A parsed search request.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub raw: String,
    pub query: Query,
    pub limit: i64,
    pub kind: Option<&'static str>,
}

impl SearchRequest {
    /// Reads `q`, `limit` and `type` from query-string values; a bad value is a field
    /// error in Chinese.
    pub fn from_query(q: &HashMap<String, String>) -> AppResult<SearchRequest> {
        let typed = q.get("q").map(String::as_str).unwrap_or_default();
        let raw = typed.trim().to_string();
        let mut query = Query::parse(typed).map_err(|e| AppError::invalid("q", e.message()))?;
        query.any = match q.get("match").map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None | Some("all") => false,
            Some("any") => true,
            Some(_) => return Err(AppError::invalid("match", "match 应为 all 或 any")),
        };
        let limit = match q.get("limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::invalid("limit", format!("limit 应为 1–{MAX_LIMIT} 的整数"))
                })?,
        };
        let kind = match q.get("type").map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => None,
            Some(t) => Some(*TYPES.iter().find(|k| **k == t).ok_or_else(|| {
                AppError::invalid(
                    "type",
                    "type 应为 ticket、knowledge、asset、system 或 staff 之一",
                )
            })?),
        };
        Ok(SearchRequest {
            raw,
            query,
            limit,
            kind,
        })
    }
}

/// What the caller may search, from the roles' rules.
fn scope(u: &AuthUser, kind: Option<&str>) -> Scope {
    let mut f = TicketFilter::default();
    super::restrict_to_visible(u, &mut f);
    let inventory: Vec<&'static str> = [
        ("asset", &inv::ASSETS),
        ("system", &inv::SYSTEMS),
        ("staff", &inv::STAFF),
    ]
    .into_iter()
    .filter(|(k, spec)| {
        crate::inventory::can_read(spec, u.role) && kind.is_none_or(|want| want == *k)
    })
    .map(|(k, _)| k)
    .collect();
    Scope {
        inventory,
        tickets: matches!(kind, None | Some("ticket") | Some("knowledge")),
        owner_id: f.requester_id,
        knowledge_only: kind == Some("knowledge"),
    }
}

/// Searches what the caller may see.
pub async fn search(ctx: &Ctx, u: &AuthUser, req: &SearchRequest) -> AppResult<SearchResult> {
    let scope = scope(u, req.kind);
    let prefix = Query::number_prefix(&req.raw);
    let (hits, total) = ctx
        .store
        .search(&req.query, prefix.as_deref(), &scope, req.limit)
        .await?;
    let items = hits
        .into_iter()
        .map(|h| item(h, &req.query, scope.knowledge_only))
        .collect();
    Ok(SearchResult { items, total })
}

fn item(h: Hit, q: &Query, knowledge: bool) -> SearchItem {
    let (kind, url) = match h.kind.as_str() {
        "ticket" if knowledge => ("knowledge", format!("/tickets/{}", h.ref_id)),
        "ticket" => ("ticket", format!("/tickets/{}", h.ref_id)),
        "asset" => ("asset", format!("/assets/{}", h.ref_id)),
        "system" => ("system", format!("/systems/{}", h.ref_id)),
        _ => ("staff", format!("/staff/{}", h.ref_id)),
    };
    let title = match &h.key {
        Some(k) => format!("{k} {}", h.title),
        None => h.title.clone(),
    };
    let source = if knowledge {
        h.resolution.as_deref()
    } else {
        h.body.as_deref()
    };
    SearchItem {
        kind: kind.into(),
        id: h.ref_id,
        title,
        url,
        snippet: ds::snippet(source.unwrap_or(""), q, SNIPPET_CHARS),
    }
}
