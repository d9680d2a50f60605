//! The holiday import pages: upload a file, see the diff against the calendar, confirm.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::Datelike;
use serde_json::json;

use super::{PageResult, layout};
use crate::domain::holidays::{self as hd, ParseError};
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::holidays::{ImportOutcome, ImportRequest};
use crate::web::AppState;
use crate::web::auth::{PageUser, require_perm};
use crate::web::extract::parse_id;

/// `POST /calendars/{id}/import` (multipart `file`): the preview of what the file changes.
pub async fn preview(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> PageResult {
    require_perm(&u, Perm::WriteInventory)?;
    let id = parse_id(&id)?;
    let cal = st.store.calendar_row(id).await?;
    let mut file = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge(format!(
                    "节假日安排文件不能超过 {} KB",
                    hd::MAX_FILE_BYTES / 1024
                ))
                .into());
            }
            Err(_) => {
                return Err(AppError::BadRequest("上传内容无法解析，请重新选择文件".into()).into());
            }
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_string();
            let data = field.bytes().await.map_err(|_| {
                AppError::PayloadTooLarge(format!(
                    "文件过大（不能超过 {} KB）或上传中断",
                    hd::MAX_FILE_BYTES / 1024
                ))
            })?;
            file = Some((name, data));
        }
    }
    let Some((name, data)) = file else {
        return Err(AppError::invalid("file", "请选择要导入的节假日安排文件").into());
    };
    let name: String = name.chars().take(100).collect();
    let page = |ctx: serde_json::Value, status: StatusCode| -> PageResult {
        Ok((status, st.ui.page("calendar_import.html", ctx)?).into_response())
    };
    let title = format!("{} · 导入节假日安排", cal.name);
    let cal_json = json!({"id": cal.id, "name": cal.name});
    let rows = match hd::parse(&data, &name) {
        Ok(rows) => rows,
        Err(e) => {
            let (status, errors) = match &e {
                ParseError::TooLarge(m) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    vec![hd::RowError {
                        row: 0,
                        column: String::new(),
                        message: m.clone(),
                    }],
                ),
                ParseError::Rows(errs) => (StatusCode::UNPROCESSABLE_ENTITY, errs.clone()),
            };
            return page(
                json!({"layout": layout(&u, &title, "/calendars"), "cal": cal_json, "file_name": name,
                       "message": e.summary(), "errors": errors}),
                status,
            );
        }
    };
    let rows_json = hd::rows_to_json(&rows);
    let req = ImportRequest {
        dry_run: true,
        ..ImportRequest::default()
    };
    let diff =
        match crate::holidays::import(&st.ctx, &u, id, "preview.json", rows_json.as_bytes(), &req)
            .await?
        {
            ImportOutcome::Preview(d)
            | ImportOutcome::Applied(d)
            | ImportOutcome::NeedsConfirmation(d) => d,
        };
    let years: Vec<i32> = diff
        .years
        .iter()
        .chain(diff.merged_years.iter())
        .copied()
        .collect();
    page(
        json!({"layout": layout(&u, &title, "/calendars"), "cal": cal_json, "file_name": name,
               "diff": diff.to_json(), "years": years, "counts": diff.counts_text(), "empty": diff.is_empty(),
               "rows_json": rows_json}),
        StatusCode::OK,
    )
}

/// `POST /calendars/{id}/import/confirm`: applies the previewed rows, unless the calendar
/// changed since the preview.
pub async fn confirm(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::WriteInventory)?;
    let id = parse_id(&id)?;
    let rows = form.get("rows").cloned().unwrap_or_default();
    let req = ImportRequest {
        dry_run: false,
        confirm: true,
        base: Some(form.get("base").cloned().unwrap_or_default()),
        label: form.get("file_name").cloned(),
    };
    match crate::holidays::import(&st.ctx, &u, id, "confirm.json", rows.as_bytes(), &req).await? {
        ImportOutcome::Applied(d)
        | ImportOutcome::Preview(d)
        | ImportOutcome::NeedsConfirmation(d) => {
            let year = d
                .added
                .iter()
                .chain(d.removed.iter())
                .map(|r| r.date.year())
                .chain(d.changed.iter().map(|(_, a)| a.date.year()))
                .chain(d.years.iter().copied())
                .next()
                .unwrap_or(2026);
            Ok(Redirect::to(&format!(
                "/calendars/{id}?year={year}&imported={},{},{}",
                d.added.len(),
                d.changed.len(),
                d.removed.len()
            ))
            .into_response())
        }
    }
}
