//! Holiday arrangement import into a calendar: `POST /calendars/{id}/import`, with a dry
//! run that returns the diff and a `confirm` flag for years that already have days.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::holidays::MAX_FILE_BYTES;
use crate::error::{AppError, AppResult};
use crate::holidays::{ImportOutcome, ImportRequest};
use crate::web::AppState;
use crate::web::auth::{ApiUser, require_perm};
use crate::web::extract::parse_id;

/// The request body limit of the import route: the file plus multipart framing.
pub const BODY_LIMIT: usize = MAX_FILE_BYTES + 16 * 1024;

fn too_big() -> AppError {
    AppError::PayloadTooLarge(format!(
        "节假日安排文件不能超过 {} KB，请只保留需要导入的年份",
        MAX_FILE_BYTES / 1024
    ))
}

/// The uploaded file: multipart field `file`, or the raw body.
pub async fn read_file(req: Request, st: &AppState) -> AppResult<(String, Vec<u8>)> {
    crate::web::extract::read_upload(req, st, too_big, "CSV 或 JSON").await
}

fn flag(q: &HashMap<String, String>, k: &str) -> AppResult<bool> {
    match q.get(k).map(|s| s.trim()) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(AppError::invalid(k, format!("{k} 应为 true 或 false"))),
    }
}

/// `POST /calendars/{id}/import?dry_run=&confirm=&base=`: 200 with the diff (`applied`
/// says whether it was written), 409 `confirmation_required` with the diff when the years
/// already have days and `confirm` is not set, 422 naming every bad row and column.
#[utoipa::path(
    post,
    path = "/calendars/{id}/import",
    tag = "calendars",
    summary = "导入节假日安排（CSV 或 JSON）",
    params(("id" = i64, Path, description = "编号", example = 1), ("dry_run" = Option<bool>, Query, description = "只计算差异，不做修改"), ("confirm" = Option<bool>, Query, description = "已有安排的年份也导入"), ("base" = Option<String>, Query, description = "预览返回的 base；日历在预览后被修改则 409")),
    request_body(content((Vec<crate::holidays::HolidayRowInput> = "application/json"), (String = "text/csv"), (super::inventory::FileUpload = "multipart/form-data"))),
    responses((status = 200, description = "差异；applied 表示是否已写入", body = super::openapi::Record), (status = 409, description = "已有安排，需确认（details 为差异）", body = super::openapi::ErrorBody))
)]
pub async fn import(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let ireq = ImportRequest {
        dry_run: flag(&q, "dry_run")?,
        confirm: flag(&q, "confirm")?,
        base: q.get("base").cloned(),
        label: None,
    };
    // Role and calendar are checked before the body is read.
    require_perm(&u, crate::domain::roles::Perm::WriteInventory)?;
    st.store.calendar_row(id).await?;
    let (name, data) = read_file(req, &st).await?;
    let out = crate::holidays::import(&st.ctx, &u, id, &name, &data, &ireq).await?;
    Ok(match out {
        ImportOutcome::Preview(d) => {
            let mut v = d.to_json();
            v["applied"] = json!(false);
            Json(v).into_response()
        }
        ImportOutcome::Applied(d) => {
            let mut v = d.to_json();
            v["applied"] = json!(true);
            Json(v).into_response()
        }
        ImportOutcome::NeedsConfirmation(d) => {
            let years = d
                .years
                .iter()
                .chain(d.merged_years.iter())
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join("、");
            (
                StatusCode::CONFLICT,
                Json(json!({"error": {
                    "code": "confirmation_required",
                    "message": format!("{years} 年已有节假日安排，导入将{}；未做任何修改。请核对差异后加 confirm=true（可带 base）重新提交", d.counts_text()),
                    "details": d.to_json(),
                }})),
            )
                .into_response()
        }
    })
}
