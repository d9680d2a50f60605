//! The reports page (报告): generate a document for a period and download what was made.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::error::AppError;
use crate::report::ReportRequest;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::PageUser;
use crate::web::extract::parse_id;

async fn render(
    st: &AppState,
    u: &AuthUser,
    q: &HashMap<String, String>,
    form: Value,
    error: Option<String>,
) -> PageResult {
    let p = Paging::from_query(q)?;
    let (rows, total) = crate::report::list(&st.ctx, u, p.limit, p.offset).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "kind": r.kind, "period": r.period_label, "format": r.format,
                   "file_name": r.file_name, "size_kb": (r.size + 1023) / 1024,
                   "created_by": r.created_by, "at": crate::clock::local_minutes(r.created_at)})
        })
        .collect();
    let last_month = (st.ctx.clock.today() - chrono::Duration::days(28))
        .format("%Y-%m")
        .to_string();
    // The service lines, for the line reports (技术支持服务表, 运营月报).
    let lines: Vec<Value> = crate::ops::lines(&st.ctx, u)
        .await?
        .iter()
        .map(|l| json!({"id": l.id.to_string(), "label": format!("{} {}", l.code, l.name)}))
        .collect();
    Ok(st
        .ui
        .page(
            "reports.html",
            json!({"layout": layout(u, "报告", "/reports"), "items": items, "total": total,
                   "offset": p.offset, "limit": p.limit, "form": form, "error": error,
                   "default_period": last_month, "lines": lines}),
        )?
        .into_response())
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    render(&st, &u, &q, json!({}), None).await
}

/// The form as the typed request: blank fields and other kinds' fields are left out, ids
/// are numbers.
fn request_of(form: &HashMap<String, String>) -> Value {
    let mut m = Map::new();
    // The form shows every kind's fields; only the chosen kind's are sent on.
    let own: &[&str] = match form.get("kind").map(|s| s.trim()) {
        Some("inspection_cycle") => &["plan_id"],
        Some("requirements_list") => &["line_id", "system_id"],
        Some("support_table" | "line_monthly" | "line_statistics" | "line_summary") => &["line_id"],
        Some("cloud_utilization" | "om_monthly" | "quality_report" | "backup_monthly") => &[],
        _ => &["scope"],
    };
    for k in [
        "kind",
        "period",
        "format",
        "scope",
        "plan_id",
        "line_id",
        "system_id",
    ] {
        if !matches!(k, "kind" | "period" | "format") && !own.contains(&k) {
            continue;
        }
        if let Some(v) = form.get(k).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let v = match (k, v.parse::<i64>()) {
                ("plan_id" | "line_id" | "system_id", Ok(n)) => json!(n),
                _ => json!(v),
            };
            m.insert(k.into(), v);
        }
    }
    if let Some(Value::String(p)) = m.get("period").cloned()
        && let Some((from, to)) = p.split_once("..")
    {
        m.insert(
            "period".into(),
            json!({"from": from.trim(), "to": to.trim()}),
        );
    }
    Value::Object(m)
}

/// The page again with what was typed and why it was refused (422).
async fn refused(
    st: &AppState,
    u: &AuthUser,
    shown: Value,
    errs: &[crate::domain::FieldError],
) -> PageResult {
    let msg = errs
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("；");
    let mut r = render(st, u, &HashMap::new(), shown, Some(msg)).await?;
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

pub async fn generate(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let shown = json!(form);
    let req: ReportRequest = match crate::domain::input::decode(request_of(&form)) {
        Ok(r) => r,
        Err(errs) => {
            return refused(&st, &u, shown, &errs).await;
        }
    };
    match crate::report::generate(&st.ctx, &u, &req).await {
        Ok(_) => Ok(Redirect::to("/reports").into_response()),
        Err(AppError::Validation(errs)) => refused(&st, &u, shown, &errs).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn file(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let (name, ct, bytes) = crate::report::file(&st.ctx, &u, parse_id(&id)?).await?;
    Ok(crate::web::download::file(
        HeaderValue::from_static(ct),
        &name,
        bytes,
    ))
}

async fn render_texts(
    st: &AppState,
    u: &AuthUser,
    error: Option<String>,
    saved: Option<&str>,
) -> PageResult {
    let blocks = crate::report::texts::list(&st.ctx, u).await?;
    let can_edit = matches!(
        u.role,
        crate::domain::roles::Role::Admin | crate::domain::roles::Role::Manager
    );
    let mut r = st
        .ui
        .page(
            "report_texts.html",
            json!({"layout": layout(u, "报告文字", "/reports"), "blocks": blocks,
                   "can_edit": can_edit, "error": error, "saved": saved}),
        )?
        .into_response();
    if error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// `GET /reports/texts`: the editable paragraphs, with their variables.
pub async fn texts(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    render_texts(&st, &u, None, None).await
}

/// `POST /reports/texts/{key}`: `action=save` with `text`, or `action=reset`.
pub async fn save_text(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let text = match form.get("action").map(String::as_str) {
        Some("reset") => None,
        _ => Some(form.get("text").cloned().unwrap_or_default()),
    };
    let input = crate::report::texts::TextUpdate { text: Some(text) };
    match crate::report::texts::update(&st.ctx, &u, &key, input).await {
        Ok(b) => render_texts(&st, &u, None, Some(b.label)).await,
        Err(AppError::Validation(errs)) => {
            let msg = errs
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；");
            render_texts(&st, &u, Some(msg), None).await
        }
        Err(e) => Err(e.into()),
    }
}
