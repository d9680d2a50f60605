//! Refuses control characters (NUL included) and over-long strings in every JSON body,
//! form body and query string before any handler sees them, so both databases give the
//! same answer (PostgreSQL refuses NUL in text; SQLite would store it). Single-line and
//! per-field length rules stay with each field's validation; see `domain::text`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use crate::domain::text::{TextProblem, scan_json, scan_pairs};
use crate::error::{AppError, FieldError};

fn refuse(api: bool, p: TextProblem) -> Response {
    if api {
        AppError::Validation(vec![FieldError::new(p.path, p.message)]).into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            Html(super::ui::message_page_html(
                "提交的内容无法保存",
                &p.message,
            )),
        )
            .into_response()
    }
}

pub async fn text_guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    if let Some(q) = req.uri().query()
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        && let Err(p) = scan_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        return refuse(api, p);
    }
    let ct = super::extract::content_type(&req);
    let is_json = ct.starts_with("application/json") || ct.contains("+json");
    let is_form = ct.starts_with("application/x-www-form-urlencoded");
    if !is_json && !is_form {
        return next.run(req).await;
    }
    // Bodies of these types are small (the route's own limit applies again later).
    let limit = st.config.max_body_bytes.max(1024 * 1024);
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return if api {
                AppError::PayloadTooLarge(format!(
                    "请求体超过 {} KB 的上限，请缩小后重试",
                    limit / 1024
                ))
                .into_response()
            } else {
                (StatusCode::PAYLOAD_TOO_LARGE, "提交的内容超过大小上限").into_response()
            };
        }
    };
    let checked = if is_json {
        // Unparseable JSON is left to the handler, which answers with its own error.
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => scan_json(&v),
            Err(_) => Ok(()),
        }
    } else {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            Ok(pairs) => scan_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            Err(_) => Ok(()),
        }
    };
    if let Err(p) = checked {
        return refuse(api, p);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
