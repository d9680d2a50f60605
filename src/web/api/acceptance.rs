//! The acceptance package (验收资料包) and its 符合性审查 overview. Thin handlers over
//! `crate::contract::acceptance`; the package is streamed from its temporary file, which
//! is unlinked as soon as it is open (the stream keeps it readable, nothing is left behind).

use std::collections::HashMap;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::openapi::CannotView;
use crate::contract::acceptance;
use crate::error::{AppError, AppResult};
use crate::web::AppState;
use crate::web::auth::ApiUser;

fn period_of(q: &HashMap<String, String>) -> AppResult<crate::domain::acceptance::Scope> {
    acceptance::scope(q.get("period").map(String::as_str))
}

#[utoipa::path(get, path = "/acceptance-package", tag = "contract",
    summary = "下载验收资料包（ZIP）：各期已验收的最新版本、交付物清单.xlsx（含未验收事项）、团队符合性检查与服务质量评价报告、SHA256SUMS",
    params(("period" = Option<String>, Query, description = "om（运维服务期）、operations（运营服务期）或 all（默认）")),
    responses((status = 200, description = "ZIP", content_type = "application/zip", body = Vec<u8>),
        (status = 403, description = "无权下载", body = super::openapi::ErrorBody),
        (status = 409, description = "尚未录入合同服务期", body = super::openapi::ErrorBody),
        (status = 422, description = "period 有误", body = super::openapi::ErrorBody)))]
pub async fn download(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let sc = period_of(&q)?;
    let p = acceptance::build(&st.ctx, &u, sc).await?;
    let file = tokio::fs::File::open(&p.path).await;
    // Unlinked at once: the open handle still reads it, and nothing stays on disk.
    let _ = tokio::fs::remove_file(&p.path).await;
    let file = file.map_err(|e| AppError::Internal(anyhow::anyhow!("opening the package: {e}")))?;
    let stream = futures_util::stream::try_unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), f)))
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                crate::web::download::attachment(&p.file_name),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(p.size)),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(get, path = "/acceptance-package/summary", tag = "contract",
    summary = "符合性审查：各服务范围交付物的应交、已验收、未验收数，未验收事项和团队符合性检查",
    params(("period" = Option<String>, Query, description = "om、operations 或 all（默认）")),
    responses((status = 200, description = "概况", body = super::openapi::Record),
        CannotView,
        (status = 422, description = "period 有误", body = super::openapi::ErrorBody)))]
pub async fn summary(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let sc = period_of(&q)?;
    Ok(Json(acceptance::overview(&st.ctx, &u, sc).await?))
}
