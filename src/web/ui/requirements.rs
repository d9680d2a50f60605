//! The requirements page (需求与改进): the list with its filters and pages, the form to
//! propose one, and a requirement's page with its status history and the status changes
//! the user may make. Calls the same `crate::requirements` use cases as the API.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::requirements::{
    PRIORITIES, Priority, RequirementCreate, SOURCES, STATUSES, Source, Status, Transition,
};
use crate::error::AppError;
use crate::requirements as reqs;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::PageUser;
use crate::web::extract::parse_id;

const FILTER_KEYS: [&str; 5] = ["line_id", "system_id", "status", "source", "q"];

fn choices<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Value {
    Value::Array(
        all.iter()
            .map(|v| json!({"code": code(*v), "label": label(*v)}))
            .collect(),
    )
}

/// The field errors by field, several joined, for the form to show next to each field.
fn by_field(errs: &[FieldError]) -> Map<String, Value> {
    let mut m: Map<String, Value> = Map::new();
    for e in errs {
        let msg = match m.get(&e.field).and_then(Value::as_str) {
            Some(before) => format!("{before}；{}", e.message),
            None => e.message.clone(),
        };
        m.insert(e.field.clone(), json!(msg));
    }
    m
}

/// The list's address with the filters kept and another offset.
fn page_href(q: &HashMap<String, String>, offset: i64, limit: i64) -> String {
    let mut pairs: Vec<(&str, String)> = FILTER_KEYS
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*k, v.clone()))
        })
        .collect();
    pairs.push(("offset", offset.to_string()));
    if limit != crate::web::api::DEFAULT_LIMIT {
        pairs.push(("limit", limit.to_string()));
    }
    format!(
        "/requirements?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// The list page; `form` and `errs` are a refused proposal shown again (422).
async fn render_list(
    st: &AppState,
    u: &AuthUser,
    q: &HashMap<String, String>,
    form: Map<String, Value>,
    errs: &[FieldError],
) -> PageResult {
    let p = Paging::from_query(q)?;
    let f = crate::web::api::requirements::filter(q)?;
    let (rows, total) = reqs::list(&st.ctx, u, f, p.limit, p.offset).await?;
    let items: Vec<Value> = rows.iter().map(reqs::requirement_json).collect();
    // The service lines to choose from, for the roles that may read them (not requesters).
    let lines = match crate::ops::lines(&st.ctx, u).await {
        Ok(l) => l,
        Err(AppError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| json!({"id": l.id.to_string(), "label": format!("{} {}", l.code, l.name)}))
        .collect();
    let systems: Vec<Value> = st
        .ctx
        .store
        .system_names()
        .await?
        .into_iter()
        .map(|(id, name)| json!({"id": id.to_string(), "label": name}))
        .collect();
    let filters: Map<String, Value> = FILTER_KEYS
        .iter()
        .map(|k| (k.to_string(), json!(q.get(*k).cloned().unwrap_or_default())))
        .collect();
    let prev = (p.offset > 0).then(|| page_href(q, (p.offset - p.limit).max(0), p.limit));
    let next = (p.offset + p.limit < total).then(|| page_href(q, p.offset + p.limit, p.limit));
    Ok(st.ui.form_page(
        "requirements.html",
        json!({"layout": layout(u, "需求与改进", "/requirements"), "items": items,
                   "total": total, "offset": p.offset, "limit": p.limit,
                   "shown_to": (p.offset + items.len() as i64),
                   "prev": prev, "next": next, "filters": filters,
                   "lines": lines, "systems": systems,
                   "statuses": choices(&STATUSES, Status::as_str, Status::label),
                   "sources": choices(&SOURCES, Source::as_str, Source::label),
                   "priorities": choices(&PRIORITIES, Priority::as_str, Priority::label),
                   "can_create": reqs::may_create(u), "form": form,
                   "errors": by_field(errs), "has_errors": !errs.is_empty()}),
        !errs.is_empty(),
    )?)
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    render_list(&st, &u, &q, Map::new(), &[]).await
}

/// The form as the typed proposal: blanks left out, ids as numbers, the change tickets
/// from a list separated by commas or spaces. A ticket number that is not a number is
/// answered as its field's error.
fn proposal_of(form: &HashMap<String, String>) -> (Value, Vec<FieldError>) {
    let mut m = Map::new();
    let mut errs = Vec::new();
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "system_id" | "line_id" => {
                m.insert(k.clone(), v.parse::<i64>().map_or(json!(v), |n| json!(n)));
            }
            "ticket_ids" => {
                let parts: Vec<&str> = v
                    .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .collect();
                let ids: Vec<i64> = parts.iter().filter_map(|s| s.parse().ok()).collect();
                if ids.len() == parts.len() {
                    m.insert(k.clone(), json!(ids));
                } else {
                    errs.push(FieldError::new(
                        "ticket_ids",
                        "关联变更工单请填写工单编号（数字），多个以逗号分隔",
                    ));
                }
            }
            _ => {
                m.insert(k.clone(), json!(v));
            }
        }
    }
    (Value::Object(m), errs)
}

pub async fn create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if !reqs::may_create(&u) {
        return Err(AppError::forbidden().into());
    }
    let shown: Map<String, Value> = form.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let (input, mut errs) = proposal_of(&form);
    match crate::domain::input::decode::<RequirementCreate>(input) {
        Ok(r) if errs.is_empty() => match reqs::create(&st.ctx, &u, r).await {
            Ok(row) => {
                return Ok(Redirect::to(&format!("/requirements/{}", row.id)).into_response());
            }
            Err(AppError::Validation(e)) => errs.extend(e),
            Err(e) => return Err(e.into()),
        },
        Ok(_) => {}
        Err(e) => errs.extend(e),
    }
    render_list(&st, &u, &HashMap::new(), shown, &errs).await
}

/// A requirement's page; `reason` and `errs` are a refused status change shown again (422).
async fn render_detail(
    st: &AppState,
    u: &AuthUser,
    id: i64,
    tried: Option<&str>,
    reason: &str,
    errs: &[FieldError],
) -> PageResult {
    let row = reqs::get(&st.ctx, u, id).await?;
    let mut r = reqs::requirement_json(&row);
    if let Some(history) = r.get_mut("history").and_then(Value::as_array_mut) {
        for h in history {
            let at = h
                .get("at")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| crate::clock::local_minutes(t.timestamp_millis()));
            let from = h
                .get("from")
                .and_then(Value::as_str)
                .and_then(Status::parse)
                .map(Status::label);
            if let Some(o) = h.as_object_mut() {
                o.insert("at_local".into(), json!(at));
                o.insert("from_label".into(), json!(from));
            }
        }
    }
    let moves: Vec<Value> = reqs::allowed_transitions(u, &row)
        .into_iter()
        .map(|(to, needs_reason)| {
            json!({"to": to.as_str(), "label": to.label(), "needs_reason": needs_reason})
        })
        .collect();
    Ok(st.ui.form_page(
        "requirement.html",
        json!({"layout": layout(u, &format!("需求 #{id}"), "/requirements"), "r": r,
                   "created_at": crate::clock::local_minutes(row.created_at),
                   "status_at": crate::clock::local_minutes(row.status_at),
                   "moves": moves, "tried": tried, "reason": reason,
                   "errors": by_field(errs)}),
        !errs.is_empty(),
    )?)
}

pub async fn detail(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    render_detail(&st, &u, parse_id(&id)?, None, "", &[]).await
}

pub async fn transition(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let to = form.get("to").map(|s| s.trim()).unwrap_or_default();
    let reason = form.get("reason").map(|s| s.trim()).unwrap_or_default();
    let input = json!({"to": to, "reason": (!reason.is_empty()).then_some(reason)});
    let errs = match crate::domain::input::decode::<Transition>(input) {
        Ok(t) => match reqs::transition(&st.ctx, &u, id, t).await {
            Ok(_) => return Ok(Redirect::to(&format!("/requirements/{id}")).into_response()),
            Err(AppError::Validation(e)) => e,
            Err(e) => return Err(e.into()),
        },
        Err(e) => e,
    };
    render_detail(&st, &u, id, Some(to), reason, &errs).await
}
