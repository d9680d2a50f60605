//! The wall display (大屏): full screen, dark, for 1920×1080, no navigation, drawn with
//! ECharts by `assets/screen.js` from the JSON it polls. A signed-in user opens `/screen`;
//! a wall opens `/display/{token}`, a display link that needs no login, creates no session
//! and reads nothing else. Admins create and revoke links on `/display-links`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use serde_json::{Value, json};

use super::{PageError, PageResult, layout};
use crate::domain::input::Labels;
use crate::error::AppError;
use crate::monitor::display::{self, DisplayLinkCreate};
use crate::monitor::screen;
use crate::web::AppState;
use crate::web::auth::PageUser;
use crate::web::extract::{form_input, parse_id};

fn render(
    st: &AppState,
    d: &Value,
    data_src: &str,
    signed_in: bool,
) -> Result<Html<String>, AppError> {
    st.ui.page(
        "screen.html",
        json!({"d": d, "data_src": data_src, "signed_in": signed_in}),
    )
}

/// `/screen` for a signed-in user who may read monitoring.
pub async fn page(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    let d = screen::wall_for(&st.ctx, &u).await?;
    Ok(render(&st, &d, "/api/v1/screen", true)?.into_response())
}

/// The system tiles alone (the first paint of the page renders the same partial).
pub async fn grid(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    let d = screen::wall_for(&st.ctx, &u).await?;
    Ok(Html(st.ui.render("screen_grid.html", json!({"d": d}))?).into_response())
}

/// `/display/{token}`: the wall display through a display link. No session is read,
/// made or touched; an unknown or revoked link gets 401 and a page that says so.
pub async fn display_page(State(st): State<AppState>, Path(token): Path<String>) -> PageResult {
    match screen::wall_for_link(&st.ctx, &token).await {
        Ok(d) => {
            let src = format!("/api/v1/display/{token}");
            let html = render(&st, &d, &src, false)?;
            Ok((
                [
                    (header::CACHE_CONTROL, "no-store"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
                html,
            )
                .into_response())
        }
        Err(AppError::Unauthorized(msg)) => Ok((
            StatusCode::UNAUTHORIZED,
            Html(super::message_page_html("展示链接无效", &msg)),
        )
            .into_response()),
        Err(e) => Err(PageError(e)),
    }
}

fn links_page(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    rows: Vec<Value>,
    created: Option<String>,
    error: String,
) -> PageResult {
    Ok(st
        .ui
        .page(
            "display_links.html",
            json!({"layout": layout(u, "大屏展示链接", "/display-links"), "links": rows,
                   "created": created, "error": error}),
        )?
        .into_response())
}

async fn rows(st: &AppState, u: &crate::accounts::AuthUser) -> Result<Vec<Value>, AppError> {
    let (rows, _) = display::list(&st.ctx, u, 500, 0).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut v = display::link_json(r);
            v["created_local"] = json!(crate::clock::local_minutes(r.created_at));
            v["used_local"] = json!(r.last_used_at.map(crate::clock::local_minutes));
            v["revoked_local"] = json!(r.revoked_at.map(crate::clock::local_minutes));
            v
        })
        .collect())
}

pub async fn links(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    let r = rows(&st, &u).await?;
    links_page(&st, &u, r, None, String::new())
}

pub async fn create_link(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let fields: serde_json::Map<String, Value> = form
        .into_iter()
        .filter(|(k, _)| DisplayLinkCreate::LABELS.iter().any(|(n, _)| n == k))
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let outcome = match form_input::<DisplayLinkCreate>(fields) {
        Ok(c) => display::create(&st.ctx, &u, c).await,
        Err(e) => Err(e),
    };
    let (created, error) = match outcome {
        Ok((_, url)) => (Some(url), String::new()),
        Err(e @ AppError::Validation(_)) => (None, e.message()),
        Err(e) => return Err(PageError(e)),
    };
    let r = rows(&st, &u).await?;
    links_page(&st, &u, r, created, error)
}

pub async fn revoke_link(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
) -> PageResult {
    match display::revoke(&st.ctx, &u, parse_id(&id)?).await {
        Ok(()) | Err(AppError::NotFound) => Ok(Redirect::to("/display-links").into_response()),
        Err(e) => Err(PageError(e)),
    }
}
