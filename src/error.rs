//! `AppError`: the one error type at the HTTP edge, mapped to status and the
//! `{"error": {"code", "message", "details"}}` body in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use crate::domain::FieldError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422 with arbitrary details (import row/column reports).
    #[error("unprocessable: {message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("unauthorized")]
    Unauthorized(String),
    #[error("forbidden")]
    Forbidden(String),
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("account locked")]
    Locked(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge(String),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 503 with `Retry-After`: the database is busy (no connection came in time).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 429, with `Retry-After` in seconds when known.
    #[error("too many requests")]
    TooManyRequests {
        message: String,
        retry_after: Option<u64>,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid(errs) => AppError::Validation(errs),
            // Input the database refuses as data (PostgreSQL: a NUL in text, a number or
            // date out of range) is the caller's to fix, not a server error.
            StoreError::Backend(sqlx::Error::Database(d))
                if matches!(
                    d.code().as_deref(),
                    Some("22021" | "22P05" | "22003" | "22008" | "22P02")
                ) =>
            {
                AppError::BadRequest(
                    "输入中含有数据库不能保存的内容（如 NUL 字符、超出范围的数字或日期），请修改后重试"
                        .into(),
                )
            }
            // Every connection busy for the pool's whole acquire timeout: overload, which
            // the client may retry, not a server fault.
            StoreError::Backend(sqlx::Error::PoolTimedOut) => AppError::Unavailable(
                "系统繁忙，数据库连接暂时不足，请稍后重试".into(),
            ),
            StoreError::Backend(e) => AppError::Internal(anyhow::Error::new(e)),
            StoreError::Other(e) => AppError::Internal(e),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) | AppError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            AppError::Locked(_) => StatusCode::LOCKED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation_failed",
            AppError::Unprocessable { code, .. } => code,
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Locked(_) => "account_locked",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The user-facing message, in Chinese, saying what to do.
    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest(m)
            | AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::Locked(m)
            | AppError::Conflict(m)
            | AppError::PayloadTooLarge(m)
            | AppError::UnsupportedMediaType(m)
            | AppError::Unavailable(m) => m.clone(),
            AppError::Unprocessable { message, .. } | AppError::TooManyRequests { message, .. } => {
                message.clone()
            }
            AppError::Validation(errs) => match errs.as_slice() {
                [one] => one.message.clone(),
                _ => format!("有 {} 处输入需要修改，请查看各字段的提示", errs.len()),
            },
            AppError::PasswordChangeRequired => "请先修改密码后再继续操作".into(),
            AppError::NotFound => "记录不存在或已被删除".into(),
            AppError::Internal(_) => "服务器内部错误，请稍后重试或联系系统管理员".into(),
        }
    }

    pub fn details(&self) -> Value {
        match self {
            AppError::Validation(errs) => json!(errs),
            AppError::Unprocessable { details, .. } => details.clone(),
            _ => Value::Null,
        }
    }

    /// Too many password checks queued (a login storm): try again shortly.
    pub fn hasher_busy() -> Self {
        AppError::TooManyRequests {
            message: "登录请求过多，请稍后重试".into(),
            retry_after: Some(5),
        }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("当前角色无权执行此操作".into())
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let body = json!({"error": {"code": self.code(), "message": self.message(), "details": self.details()}});
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if let AppError::Unavailable(_) = &self {
            tracing::warn!("request refused: no database connection in time");
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("2"),
            );
        }
        if let AppError::TooManyRequests {
            retry_after: Some(s),
            ..
        } = &self
        {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*s),
            );
        }
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_a_503_with_retry_after_not_a_500() {
        let e = AppError::from(StoreError::Backend(sqlx::Error::PoolTimedOut));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[axum::http::header::RETRY_AFTER], "2");
    }

    #[test]
    fn other_backend_errors_stay_500() {
        let e = AppError::from(StoreError::Backend(sqlx::Error::RowNotFound));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
