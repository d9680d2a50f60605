//! Login, logout, password change, the current user, and personal API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts;
use crate::error::{AppError, AppResult};
use crate::web::AppState;
use crate::web::auth::{ApiUser, ApiUserAnyState};
use crate::web::extract::{ApiJson, parse_id};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

/// The answer to a login.
#[derive(ToSchema)]
pub struct LoginAnswer {
    /// The session token: `Authorization: Bearer TOKEN`.
    pub token: String,
    /// The password must be changed before anything else.
    pub must_change_password: bool,
    pub password_expired: bool,
    pub idle_timeout_minutes: i64,
    #[schema(value_type = Object)]
    pub user: serde_json::Value,
}

/// Unread in-app messages left (and how many were marked).
#[derive(ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
    pub marked: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    summary = "登录，返回令牌",
    request_body = LoginBody,
    responses((status = 200, description = "登录成功", body = LoginAnswer))
)]
pub async fn login(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> AppResult<Json<serde_json::Value>> {
    let out = accounts::login(
        &st.ctx,
        &body.username,
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

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    summary = "退出登录",
    responses((status = 204, description = "完成"))
)]
pub async fn logout(
    State(st): State<AppState>,
    ApiUserAnyState(u): ApiUserAnyState,
) -> AppResult<StatusCode> {
    accounts::logout(&st.ctx, &u).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    summary = "修改本人密码",
    request_body = PasswordBody,
    responses((status = 204, description = "完成"))
)]
pub async fn change_password(
    State(st): State<AppState>,
    ApiUserAnyState(u): ApiUserAnyState,
    ApiJson(body): ApiJson<PasswordBody>,
) -> AppResult<StatusCode> {
    accounts::change_password(&st.ctx, &u, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    summary = "当前用户",
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
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

#[utoipa::path(
    get,
    path = "/api-tokens",
    tag = "auth",
    summary = "本人的 API 令牌",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_tokens(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<serde_json::Value>> {
    let rows = st.store.list_api_tokens(u.id).await?;
    Ok(Json(super::all_json(&rows, |r| r.to_json())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    /// Days until it expires (default 90).
    #[serde(default = "default_days")]
    pub expires_in_days: i64,
}

fn default_days() -> i64 {
    90
}

#[utoipa::path(
    post,
    path = "/api-tokens",
    tag = "auth",
    summary = "创建 API 令牌（明文只返回一次）",
    request_body = TokenBody,
    responses((status = 201, description = "已创建；token 为令牌明文", body = super::openapi::Record))
)]
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

#[utoipa::path(
    delete,
    path = "/api-tokens/{id}",
    tag = "auth",
    summary = "吊销 API 令牌",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn revoke_token(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<StatusCode> {
    accounts::revoke_api_token(&st, &u, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me/messages[?unread=true]` — one's own in-app messages, newest first.
#[utoipa::path(
    get,
    path = "/me/messages",
    tag = "auth",
    summary = "本人的站内消息",
    params(super::openapi::PagingQuery, ("unread" = Option<bool>, Query, description = "true 只看未读")),
    responses((status = 200, description = "列表；unread 为未读数", body = super::openapi::Page))
)]
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
    let (rows, total, unread) =
        crate::notify::inbox::messages(&st, &u, unread_only, p.limit, p.offset).await?;
    let items: Vec<_> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(
        json!({"items": items, "total": total, "unread": unread, "limit": p.limit, "offset": p.offset}),
    ))
}

/// `POST /api/v1/me/messages/{id}/read`.
#[utoipa::path(
    post,
    path = "/me/messages/{id}/read",
    tag = "auth",
    summary = "标记一条站内消息为已读",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "剩余未读数", body = UnreadCount))
)]
pub async fn read_message(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<Json<serde_json::Value>> {
    let unread = crate::notify::inbox::mark_read(&st, &u, parse_id(&id)?).await?;
    Ok(Json(json!({"unread": unread})))
}

/// `POST /api/v1/me/messages/read-all`.
#[utoipa::path(
    post,
    path = "/me/messages/read-all",
    tag = "auth",
    summary = "全部标记为已读",
    responses((status = 200, description = "已标记条数与剩余未读数", body = UnreadCount))
)]
pub async fn read_all_messages(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<serde_json::Value>> {
    let n = crate::notify::inbox::mark_all_read(&st, &u).await?;
    Ok(Json(json!({"marked": n, "unread": 0})))
}
