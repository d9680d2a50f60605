//! Login, logout, password change, the overview page and personal API tokens.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect};

use serde_json::json;

use super::{PageError, PageResult, layout};
use crate::accounts;
use crate::domain::inventory::ASSET_CATEGORIES;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::inventory::today;
use crate::web::AppState;
use crate::web::auth::{PageUser, PageUserAnyState, SESSION_COOKIE, same_origin};
use crate::web::extract::parse_id;

fn session_cookie(st: &AppState, token: &str, max_age_s: i64) -> String {
    let secure = if st.config.security.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    )
}

fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.clone(),
        _ => "/".into(),
    }
}

pub async fn login_form(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    Ok(st
        .ui
        .page(
            "login.html",
            json!({ "next": safe_next(q.get("next")), "error": "", "username": "" }),
        )?
        .into_response())
}

pub async fn login_submit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(AppError::forbidden().into());
    }
    let username = form
        .get("username")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    let render_err = |msg: String| -> PageResult {
        let html = st.ui.page(
            "login.html",
            json!({ "next": next.clone(), "error": msg, "username": username.clone() }),
        )?;
        Ok((axum::http::StatusCode::UNAUTHORIZED, html).into_response())
    };
    if username.is_empty() || password.is_empty() {
        return render_err("请填写用户名和密码".into());
    }
    let ip = crate::web::auth::request_ip(&st, addr, &headers);
    match accounts::login(&st.ctx, &username, &password, Some(ip)).await {
        Ok(out) => {
            let to = if out.must_change_password {
                "/password".to_string()
            } else {
                next.clone()
            };
            let cookie = session_cookie(&st, &out.token, 12 * 3600);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response())
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::Locked(_))) => render_err(e.message()),
        Err(e @ AppError::TooManyRequests { .. }) => {
            let html = st.ui.page(
                "login.html",
                json!({ "next": next.clone(), "error": e.message(), "username": username.clone() }),
            )?;
            let mut resp = (axum::http::StatusCode::TOO_MANY_REQUESTS, html).into_response();
            if let AppError::TooManyRequests {
                retry_after: Some(s),
                ..
            } = e
            {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(s));
            }
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(st): State<AppState>,
    PageUserAnyState(u): PageUserAnyState,
    _: super::SameOrigin,
) -> PageResult {
    accounts::logout(&st.ctx, &u).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&st, "", 0))],
        Redirect::to("/login"),
    )
        .into_response())
}

pub async fn password_form(
    State(st): State<AppState>,
    PageUserAnyState(u): PageUserAnyState,
) -> PageResult {
    let reason = if u.password_expired {
        "您的密码已超过有效期，请设置新密码"
    } else if u.must_change_password {
        "首次登录或密码被重置，请先设置新密码"
    } else {
        ""
    };
    Ok(st
        .ui
        .page("password.html", json!({ "layout": layout(&u, "修改密码", "/password"), "reason": reason, "error": "", "done": false, "policy": policy_text(&st) }))?
        .into_response())
}

fn policy_text(st: &AppState) -> String {
    let s = &st.config.security;
    format!(
        "至少 {} 个字符，包含小写字母、大写字母、数字、特殊符号中的至少 {} 类，不能包含用户名，不能与最近 {} 次密码相同；密码有效期 {} 天。",
        s.password_min_length, s.password_min_classes, s.password_history, s.password_max_age_days
    )
}

pub async fn password_submit(
    State(st): State<AppState>,
    PageUserAnyState(u): PageUserAnyState,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let current = form.get("current_password").cloned().unwrap_or_default();
    let new = form.get("new_password").cloned().unwrap_or_default();
    let confirm = form.get("confirm_password").cloned().unwrap_or_default();
    let result = if new != confirm {
        Err(AppError::invalid(
            "confirm_password",
            "两次输入的新密码不一致",
        ))
    } else {
        accounts::change_password(&st.ctx, &u, &current, &new).await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/?password_changed=1").into_response()),
        Err(e @ AppError::Validation(_)) => {
            let html = st.ui.page(
                "password.html",
                json!({ "layout": layout(&u, "修改密码", "/password"), "reason": "", "error": e.message(), "done": false, "policy": policy_text(&st) }),
            )?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn overview(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let lay = layout(&u, "概览", "/");
    let notice = if q.contains_key("password_changed") {
        "密码已修改"
    } else {
        ""
    };
    let home = crate::homes::home(&st.ctx, &u).await?;
    // The platform owner's home keeps the inventory at a glance (sites, equipment,
    // warranty, declared against counted) under the platform state.
    if u.role != Role::Admin {
        return Ok(st
            .ui
            .page(
                "overview.html",
                json!({ "layout": lay, "summary": (), "notice": notice, "home": home }),
            )?
            .into_response());
    }
    let t = today(&st.ctx);
    let s = crate::inventory::summary_as_of(&st.ctx, t).await?;
    let cats: Vec<_> = s
        .by_category
        .iter()
        .map(|c| {
            let label = ASSET_CATEGORIES.iter().find(|x| x.code == c.category).map(|x| x.label).unwrap_or("其他");
            json!({ "code": c.category.clone(), "label": label, "rows": c.rows, "quantity": c.quantity })
        })
        .collect();
    let declared: Vec<_> = s
        .declared
        .iter()
        .map(|d| {
            json!({ "label": d.label.clone(), "site": d.site_name.clone(), "declared": d.declared, "counted": d.counted,
                       "difference": d.difference, "source": d.source.clone() })
        })
        .collect();
    Ok(st
        .ui
        .page(
            "overview.html",
            json!({ "layout": lay, "summary": s, "categories": cats, "declared": declared, "notice": notice, "home": home,
                       "today": t.format("%Y-%m-%d").to_string() }),
        )?
        .into_response())
}

/// The API token page: the user's tokens, with the one just created (shown this once) or
/// why it was not.
async fn tokens_page(
    st: &AppState,
    u: &accounts::AuthUser,
    created: &str,
    error: &str,
) -> PageResult {
    let rows: Vec<_> = st
        .store
        .list_api_tokens(u.id)
        .await?
        .iter()
        .map(|r| r.to_json())
        .collect();
    Ok(st.ui.page("tokens.html", json!({ "layout": layout(u, "API 令牌", "/tokens"), "tokens": rows, "created": created, "error": error }))?.into_response())
}

pub async fn tokens(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    tokens_page(&st, &u, "", "").await
}

pub async fn token_create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let name = form.get("name").cloned().unwrap_or_default();
    let days = form
        .get("days")
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let (created, error) = match accounts::create_api_token(&st.ctx, &u, &name, days).await {
        Ok((token, _)) => (token, String::new()),
        Err(e @ AppError::Validation(_)) => (String::new(), e.message()),
        Err(e) => return Err(PageError(e)),
    };
    tokens_page(&st, &u, &created, &error).await
}

pub async fn token_revoke(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
) -> PageResult {
    st.store
        .revoke_api_token(u.id, parse_id(&id)?, &u.actor(), st.clock.now_ms())
        .await?;
    Ok(Redirect::to("/tokens").into_response())
}
