//! Operations pages (运营服务): the service lines, and a line's page where its staff record
//! their work — a keyboard-first form (focus starts in the first field, Tab moves on,
//! Enter saves; recent requesters offered as you type), this month's indicators and the
//! latest records.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use chrono::{Datelike, TimeZone};
use serde_json::{Map, Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::operations::{
    CHANNELS, FieldKind, ORG_LEVELS, RESULTS, RecordCreate, RecordType,
};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::store::operations::RecordFilter;
use crate::web::AppState;
use crate::web::auth::{PageUser, same_origin};
use crate::web::extract::parse_id;

/// This month in Beijing time: `[from, to)` and its label.
fn this_month(
    st: &AppState,
) -> (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    String,
) {
    let bj = crate::clock::beijing();
    let today = st.ctx.clock.now().with_timezone(&bj).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let at = |d: chrono::NaiveDate| {
        bj.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    };
    (
        at(first),
        at(next),
        format!("{} 年 {} 月", first.year(), first.month()),
    )
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let lines = crate::ops::lines(&st.ctx, &u).await?;
    let mine = u.role == Role::Operator && !q.contains_key("all");
    let (from, to, _) = this_month(&st);
    let mut items = Vec::new();
    for l in &lines {
        let staff: Vec<i64> = serde_json::from_str(&l.staff_ids).unwrap_or_default();
        if mine && !staff.contains(&u.id) {
            continue;
        }
        let f = RecordFilter {
            line_id: Some(l.id),
            from_ms: Some(from.timestamp_millis()),
            to_ms: Some(to.timestamp_millis()),
            ..Default::default()
        };
        let (_, month_total) = crate::ops::records(&st.ctx, &u, f, 0, 0).await?;
        let types: Vec<&str> = crate::ops::line_types(l)
            .into_iter()
            .map(RecordType::label)
            .collect();
        items.push(
            json!({"id": l.id, "code": l.code, "name": l.name, "types": types.join("、"),
                          "month_total": month_total, "report_cadence": l.report_cadence}),
        );
    }
    Ok(st
        .ui
        .page(
            "operations.html",
            json!({"layout": layout(&u, "运营服务", "/operations"), "items": items, "mine": mine}),
        )?
        .into_response())
}

fn may_write(u: &AuthUser, line: &Value) -> bool {
    match u.role {
        Role::Admin | Role::Manager => true,
        Role::Operator => line["staff_ids"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i.as_i64() == Some(u.id))),
        _ => false,
    }
}

async fn render(
    st: &AppState,
    u: &AuthUser,
    id: i64,
    form: Map<String, Value>,
    error: Option<String>,
    saved: Option<String>,
) -> PageResult {
    let row = crate::ops::line(&st.ctx, u, id).await?;
    let line = crate::ops::line_json(&row);
    let types = crate::ops::line_types(&row);
    let kind = form
        .get("type")
        .and_then(Value::as_str)
        .and_then(RecordType::parse)
        .filter(|t| types.contains(t))
        .or_else(|| types.first().copied())
        .unwrap_or(RecordType::Support);
    let mut form = form;
    form.insert("type".into(), json!(kind.as_str()));
    let fields: Vec<Value> = kind
        .fields()
        .iter()
        .map(|f| {
            let (choices, number) = match f.kind {
                FieldKind::Choice(c) => (Some(c.to_vec()), false),
                FieldKind::Text { .. } => (None, false),
                FieldKind::Count { .. } | FieldKind::Percent => (None, true),
            };
            json!({"key": f.key, "label": f.label, "required": f.required, "choices": choices,
                   "number": number, "value": form.get(&format!("data.{}", f.key))})
        })
        .collect();
    let (from, to, month_label) = this_month(st);
    let stats = crate::ops::indicators(&st.ctx, u, id, from, to).await?;
    let trend = trend(st, u, id, from, to).await?;
    let f = RecordFilter {
        line_id: Some(id),
        ..Default::default()
    };
    let (rows, total) = crate::ops::records(&st.ctx, u, f, 50, 0).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let demo = super::demo::demo_ids(st, "work_records", &ids).await?;
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"at": crate::clock::local_minutes(r.occurred_at), "demo": demo.contains(&r.id), "type_label": RecordType::parse(&r.kind).map(RecordType::label),
                   "requester": r.requester, "summary": r.summary, "result": r.result,
                   "duration_minutes": r.duration_minutes, "operator_name": r.operator_name})
        })
        .collect();
    let recent = crate::ops::recent_requesters(&st.ctx, u, id).await?;
    let now_local = st
        .ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let type_links: Vec<Value> = types
        .iter()
        .map(|t| json!({"code": t.as_str(), "label": t.label()}))
        .collect();
    let refused = error.is_some();
    Ok(st.ui.form_page(
        "operation_line.html",
        json!({"layout": layout(u, &row.name, "/operations"), "line": line, "types": type_links,
                   "fields": fields, "form": form, "error": error, "saved": saved,
                   "can_write": may_write(u, &line), "stats": stats, "month_label": month_label,
                   "trend": trend,
                   "records": records, "total": total, "recent": recent, "now_local": now_local,
                   "channels": CHANNELS, "org_levels": ORG_LEVELS, "results": RESULTS}),
        refused,
    )?)
}

/// The charts' figures: the last twelve months (this one included), each month's records
/// by type and its satisfaction, as `GET /service-lines/{id}/stats` answers for that month.
/// Passed to the template as a value and written with `tojson` (no user text in it).
async fn trend(
    st: &AppState,
    u: &AuthUser,
    id: i64,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Value, AppError> {
    let bj = crate::clock::beijing();
    let start = from
        .with_timezone(&bj)
        .date_naive()
        .checked_sub_months(chrono::Months::new(11))
        .and_then(|d| {
            bj.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .single()
        })
        .map_or(from, |t| t.with_timezone(&chrono::Utc));
    let months = crate::ops::months::monthly(&st.ctx, u, id, start, to).await?;
    let codes: Vec<RecordType> = crate::domain::operations::RECORD_TYPES
        .into_iter()
        .filter(|t| {
            months
                .iter()
                .any(|m| m.ind.stats.by_type.contains_key(t.as_str()))
        })
        .collect();
    let series: Vec<Value> = codes
        .iter()
        .map(|t| {
            let counts: Vec<u32> = months
                .iter()
                .map(|m| m.ind.stats.by_type.get(t.as_str()).copied().unwrap_or(0))
                .collect();
            json!({"type": t.as_str(), "label": t.label(), "counts": counts})
        })
        .collect();
    let rows: Vec<Value> = months
        .iter()
        .map(|m| {
            let s = &m.ind.stats;
            json!({"month": m.month, "total": s.total, "rated": s.rated,
                   "satisfaction": s.satisfaction})
        })
        .collect();
    Ok(json!({
        "months": months.iter().map(|m| m.month.clone()).collect::<Vec<_>>(),
        "series": series,
        "satisfaction": months.iter().map(|m| m.ind.stats.satisfaction).collect::<Vec<_>>(),
        "rows": rows,
    }))
}

pub async fn line(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let mut form = Map::new();
    if let Some(t) = q.get("type") {
        form.insert("type".into(), json!(t));
    }
    let saved = q.get("saved").map(|s| format!("记录 #{s}"));
    render(&st, &u, id, form, None, saved).await
}

/// The form as the typed record: blanks left out, numbers as numbers, `data.*` fields
/// gathered into `data`.
fn record_of(line_id: i64, form: &HashMap<String, String>) -> Value {
    let mut m = Map::new();
    let mut data = Map::new();
    m.insert("line_id".into(), json!(line_id));
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if let Some(key) = k.strip_prefix("data.") {
            data.insert(key.to_string(), json!(v));
            continue;
        }
        let value = match (k.as_str(), v.parse::<i64>()) {
            ("duration_minutes", Ok(n)) => json!(n),
            _ => json!(v),
        };
        m.insert(k.clone(), value);
    }
    if !data.is_empty() {
        m.insert("data".into(), Value::Object(data));
    }
    Value::Object(m)
}

pub async fn create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let shown: Map<String, Value> = form.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let errs = match crate::domain::input::decode::<RecordCreate>(record_of(id, &form)) {
        Ok(r) => match crate::ops::create_record(&st.ctx, &u, r).await {
            Ok(row) => {
                let to = format!("/operations/lines/{id}?type={}&saved={}", row.kind, row.id);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(AppError::Validation(errs)) => errs,
            Err(e) => return Err(e.into()),
        },
        Err(errs) => errs,
    };
    let msg = errs
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("；");
    render(&st, &u, id, shown, Some(msg), None).await
}

/// The confirmation page of a link (no account needed): the record and a rating form, or
/// why the link does not open.
async fn confirm_page(
    st: &AppState,
    token: &str,
    state: &str,
    record: Option<&crate::store::operations::RecordRow>,
    error: Option<String>,
    status: StatusCode,
    who: Option<&AuthUser>,
) -> PageResult {
    let mut r = st
        .ui
        .page(
            "confirm.html",
            json!({"state": state, "token": token, "error": error,
                   "signed_in": who.map(|u| u.display_name.clone()),
                   "record": record.map(crate::ops::record_json),
                   "at": record.map(|r| crate::clock::local_minutes(r.occurred_at)),
                   "ratings": crate::domain::operations::RATINGS}),
        )?
        .into_response();
    *r.status_mut() = status;
    Ok(r)
}

/// The public confirmation page's rate limit: `gate::CONFIRM_PAGE_LIMIT` requests per
/// minute and client IP (GET and POST alike): the 429 page with `Retry-After` when over.
fn confirm_limit(
    st: &AppState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> Option<axum::response::Response> {
    let ip = crate::web::auth::request_ip(st, peer, headers);
    let ip = ip.parse::<std::net::IpAddr>().ok()?;
    match st.ctx.gates.confirm_pages.hit(ip, st.ctx.clock.now_ms()) {
        Ok(()) => None,
        Err(wait) => {
            let e = AppError::TooManyRequests {
                message: format!("请求过于频繁，请 {wait} 秒后再试"),
                retry_after: Some(wait),
            };
            let mut r = super::error_page(&e);
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(wait),
            );
            Some(r)
        }
    }
}

/// The account signed in on this browser, if any (the confirmation page needs none).
async fn signed_in(st: &AppState, headers: &HeaderMap, ip: String) -> Option<AuthUser> {
    let token = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == crate::web::auth::SESSION_COOKIE).then(|| v.to_string())
        })?;
    crate::accounts::authenticate(&st.ctx, &token, Some(ip))
        .await
        .ok()
        .filter(|u| !u.must_change_password)
}

pub async fn confirm_form(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    if let Some(r) = confirm_limit(&st, peer, &headers) {
        return Ok(r);
    }
    let (record, state) = crate::ops::confirmation_view(&st.ctx, &token).await?;
    let (name, status) = match state {
        crate::ops::LinkState::Open => ("open", StatusCode::OK),
        crate::ops::LinkState::Expired => ("expired", StatusCode::GONE),
        crate::ops::LinkState::Unknown => ("unknown", StatusCode::NOT_FOUND),
    };
    let shown = record.as_ref().filter(|_| name == "open");
    let who = signed_in(
        &st,
        &headers,
        crate::web::auth::request_ip(&st, peer, &headers),
    )
    .await;
    confirm_page(&st, &token, name, shown, None, status, who.as_ref()).await
}

pub async fn confirm_submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if let Some(r) = confirm_limit(&st, peer, &headers) {
        return Ok(r);
    }
    if !same_origin(&headers) {
        return Err(AppError::forbidden().into());
    }
    let by = signed_in(
        &st,
        &headers,
        crate::web::auth::request_ip(&st, peer, &headers),
    )
    .await;
    let input = json!({"rating": form.get("rating").cloned().unwrap_or_default(),
                       "comment": form.get("comment").cloned()});
    let result = match crate::domain::input::decode::<crate::ops::Confirmation>(input) {
        Ok(c) => crate::ops::confirm(&st.ctx, &token, c, by.as_ref()).await,
        Err(errs) => Err(AppError::Validation(errs)),
    };
    match result {
        Ok(r) => {
            confirm_page(
                &st,
                &token,
                "done",
                Some(&r),
                None,
                StatusCode::OK,
                by.as_ref(),
            )
            .await
        }
        Err(AppError::Validation(errs)) => {
            let (record, _) = crate::ops::confirmation_view(&st.ctx, &token).await?;
            let msg = errs
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；");
            confirm_page(
                &st,
                &token,
                "open",
                record.as_ref(),
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
                by.as_ref(),
            )
            .await
        }
        Err(AppError::Conflict(_)) => {
            confirm_page(&st, &token, "expired", None, None, StatusCode::GONE, None).await
        }
        Err(AppError::NotFound) => {
            confirm_page(
                &st,
                &token,
                "unknown",
                None,
                None,
                StatusCode::NOT_FOUND,
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
