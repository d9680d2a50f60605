//! Authentication extractors. The API takes `Authorization: Bearer TOKEN`; pages take the
//! session cookie. A cookie is accepted by the API for reads only, so a cross-site form can
//! never change data through it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use crate::accounts::{AuthUser, authenticate};
use crate::domain::roles::Perm;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "yunwei_session";

/// The client's address: the TCP peer, or what a trusted proxy says in `X-Forwarded-For`.
pub fn request_ip(st: &AppState, peer: SocketAddr, headers: &axum::http::HeaderMap) -> String {
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    crate::gate::client_ip(peer.ip(), xff, &st.gates.trusted_proxies).to_string()
}

pub fn client_ip(parts: &Parts, st: &AppState) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| request_ip(st, c.0, &parts.headers))
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|kv| {
                let (k, val) = kv.trim().split_once('=')?;
                (k == name).then(|| val.to_string())
            })
        })
}

/// Any signed-in user, even one who must change their password first.
pub struct ApiUserAnyState(pub AuthUser);

impl FromRequestParts<AppState> for ApiUserAnyState {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, st);
        let token = match bearer(parts) {
            Some(t) => t,
            None => match cookie(parts, SESSION_COOKIE) {
                Some(t) if parts.method == Method::GET || parts.method == Method::HEAD => t,
                Some(_) => {
                    return Err(AppError::Unauthorized(
                        "接口修改数据须使用 Authorization: Bearer 令牌".into(),
                    ));
                }
                None => {
                    return Err(AppError::Unauthorized(
                        "请先登录：缺少 Authorization: Bearer 令牌".into(),
                    ));
                }
            },
        };
        Ok(ApiUserAnyState(authenticate(&st.ctx, &token, ip).await?))
    }
}

/// A signed-in user in good standing (password not due for change).
pub struct ApiUser(pub AuthUser);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let ApiUserAnyState(u) = ApiUserAnyState::from_request_parts(parts, st).await?;
        if u.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(ApiUser(u))
    }
}

impl ApiUser {
    pub fn require(&self, perm: Perm) -> Result<(), AppError> {
        require_perm(&self.0, perm)
    }
}

/// Forbidden unless `u`'s role has `perm`.
pub fn require_perm(u: &AuthUser, perm: Perm) -> Result<(), AppError> {
    if u.role.can(perm) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Forbidden for a requester: what only the service's own staff may see or do.
pub fn staff_only(u: &AuthUser) -> Result<(), AppError> {
    if u.role == crate::domain::roles::Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

/// A page's user: redirected to the login page when absent, to the password page when
/// the password must be changed.
pub struct PageUser(pub AuthUser);

pub enum PageRejection {
    Login(String),
    ChangePassword,
    Error(AppError),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::Login(next) => {
                let next = percent_encoding::utf8_percent_encode(&next, QUERY_VALUE);
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            PageRejection::ChangePassword => Redirect::to("/password").into_response(),
            PageRejection::Error(e) => super::ui::error_page(&e),
        }
    }
}

/// RFC 3986 unreserved characters plus `/`, which a query value may hold as it is (it keeps
/// `?next=/tickets/7` readable). Not for header parameters: see `web::download`.
pub const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

async fn page_user(parts: &mut Parts, st: &AppState) -> Result<AuthUser, PageRejection> {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Some(token) = cookie(parts, SESSION_COOKIE) else {
        return Err(PageRejection::Login(next));
    };
    match authenticate(&st.ctx, &token, client_ip(parts, st)).await {
        Ok(u) => Ok(u),
        Err(AppError::Unauthorized(_)) => Err(PageRejection::Login(next)),
        Err(e) => Err(PageRejection::Error(e)),
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let u = page_user(parts, st).await?;
        if u.must_change_password {
            return Err(PageRejection::ChangePassword);
        }
        Ok(PageUser(u))
    }
}

/// A page's user who may still have to change the password (the password page itself).
pub struct PageUserAnyState(pub AuthUser);

impl FromRequestParts<AppState> for PageUserAnyState {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        Ok(PageUserAnyState(page_user(parts, st).await?))
    }
}

/// Refuses a form post whose Origin is another site (defence in depth next to SameSite).
pub fn same_origin(parts_headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = parts_headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let Some(host) = parts_headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    origin.split_once("://").map(|(_, h)| h) == Some(host)
}
