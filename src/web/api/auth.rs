//! Login, logout, password change, the current user, and personal API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::accounts;
use crate::error::{AppError, AppResult};
use crate::web::AppState;
use crate::web::auth::{ApiUser, ApiUserAnyState};
use crate::web::extract::{ApiJson, parse_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

pub async fn login(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> AppResult<Json<serde_json::Value>> {
    if body.username.trim().is_empty() || body.password.is_empty() {
        return Err(AppError::invalid("username", "请填写用户名和密码"));
    }
    let out = accounts::login(
        &st.ctx,
        body.username.trim(),
        &body.password,
        Some(crate::web::auth::request_ip(&st, addr, &headers)),
    )
    .await?;
    Ok(Json(json!({
        "token": out.token,
        "must_change_password": out.must_change_password,
        "password_expired": out.password_expired,
        "idle_timeout_minutes": st.config.security.idle_timeout_minutes,
        "user": out.user.to_json(st.clock.now_ms()),
    })))
}

pub async fn logout(
    State(st): State<AppState>,
    ApiUserAnyState(u): ApiUserAnyState,
) -> AppResult<StatusCode> {
    accounts::logout(&st.ctx, &u).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

pub async fn change_password(
    State(st): State<AppState>,
    ApiUserAnyState(u): ApiUserAnyState,
    ApiJson(body): ApiJson<PasswordBody>,
) -> AppResult<StatusCode> {
    accounts::change_password(&st.ctx, &u, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(
    State(st): State<AppState>,
    ApiUserAnyState(u): ApiUserAnyState,
) -> AppResult<Json<serde_json::Value>> {
    let row = st.store.user_by_id(u.id).await?;
    let mut v = row.to_json(st.clock.now_ms());
    v["password_expired"] = json!(u.password_expired);
    v["role_label"] = json!(u.role.label());
    Ok(Json(v))
}

pub async fn list_tokens(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<serde_json::Value>> {
    let rows = st.store.list_api_tokens(u.id).await?;
    let items: Vec<_> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    #[serde(default = "default_days")]
    pub expires_in_days: i64,
}

fn default_days() -> i64 {
    90
}

pub async fn create_token(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiJson(body): ApiJson<TokenBody>,
) -> AppResult<Response> {
    let (token, row) =
        accounts::create_api_token(&st.ctx, &u, &body.name, body.expires_in_days).await?;
    let mut v = row.to_json();
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub async fn revoke_token(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    st.store
        .revoke_api_token(u.id, id, &u.actor(), st.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me/messages[?unread=true]` — one's own in-app messages, newest first.
pub async fn list_messages(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Json<serde_json::Value>> {
    let p = super::Paging::from_query(&q)?;
    let unread_only = match q.get("unread").map(String::as_str) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::invalid("unread", "unread 只能是 true 或 false")),
    };
    let (rows, total, unread) = st.store.inbox(u.id, unread_only, p.limit, p.offset).await?;
    let items: Vec<_> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(
        json!({"items": items, "total": total, "unread": unread, "limit": p.limit, "offset": p.offset}),
    ))
}

/// `POST /api/v1/me/messages/{id}/read`.
pub async fn read_message(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    st.store
        .mark_read(u.id, Some(id), st.clock.now_ms())
        .await?;
    Ok(Json(json!({"unread": st.store.unread_count(u.id).await?})))
}

/// `POST /api/v1/me/messages/read-all`.
pub async fn read_all_messages(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<serde_json::Value>> {
    let n = st.store.mark_read(u.id, None, st.clock.now_ms()).await?;
    Ok(Json(json!({"marked": n, "unread": 0})))
}
