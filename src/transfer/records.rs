//! Importing and exporting inventory records: the use cases the API, the pages and the
//! CLI call.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::entity::EntitySpec;
use crate::error::{AppError, AppResult};
use crate::store::entities::{ImportFailure, RowError};

/// Parses and imports a file in one transaction; every bad row and column is reported
/// and nothing is imported when there is any.
pub async fn import_file(
    ctx: &Ctx,
    u: &AuthUser,
    spec: &'static EntitySpec,
    file_name: &str,
    data: &[u8],
) -> AppResult<Value> {
    let table = read_upload_table(ctx, data).await?;
    let parsed = super::parse_import(spec, &table).map_err(import_failed)?;
    match ctx
        .store
        .import_entities(spec, parsed.rows, &u.actor(), ctx.clock.now_ms(), file_name)
        .await
    {
        Ok(n) => Ok(json!({"imported": n, "ignored_columns": parsed.ignored_columns})),
        Err(ImportFailure::Rows(errors)) => Err(import_failed(errors)),
        Err(ImportFailure::Store(e)) => Err(e.into()),
    }
}

/// Reads an uploaded CSV or XLSX file into a table: refused when empty, parsed off the
/// async runtime, a few at a time, within the configured limits.
pub async fn read_upload_table(ctx: &Ctx, data: &[u8]) -> AppResult<super::Table> {
    if data.is_empty() {
        return Err(AppError::invalid("file", "上传的文件为空"));
    }
    // Parsing is CPU work on untrusted bytes: off the async runtime, a few at a time, and
    // within the configured limits (a file over one is refused before it is allocated).
    let _slot = ctx
        .gates
        .imports
        .acquire()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("import gate closed: {e}")))?;
    let limits = ctx.config.import.clone();
    let owned = data.to_vec();
    tokio::task::spawn_blocking(move || super::read_table(&owned, &limits))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("import parser task failed: {e}")))?
        .map_err(|e| AppError::invalid("file", e.0))
}

/// The 422 of an import with bad rows: how many problems, the first in the message, every
/// one by row and column in the details; nothing was imported.
pub fn import_failed(errors: Vec<RowError>) -> AppError {
    let n = errors.len();
    let first = errors.first().map(|e| {
        if e.column.is_empty() {
            format!("第 {} 行：{}", e.row, e.message)
        } else {
            format!("第 {} 行“{}”列：{}", e.row, e.column, e.message)
        }
    });
    AppError::Unprocessable {
        code: "import_failed",
        message: format!(
            "导入失败，共 {n} 处错误，未导入任何数据。{}",
            first.unwrap_or_default()
        ),
        details: json!({"errors": errors}),
    }
}

/// Renders a collection as CSV or XLSX: the bytes, their MIME type and a file name
/// with today's date.
pub async fn export_file(
    ctx: &Ctx,
    spec: &'static EntitySpec,
    format: &str,
) -> AppResult<(Vec<u8>, &'static str, String)> {
    let items = ctx.store.all_entities(spec).await?;
    let date = ctx.clock.today().format("%Y%m%d");
    match format {
        "csv" => Ok((
            super::write_csv(spec, &items)?,
            "text/csv; charset=utf-8",
            format!("{}-{date}.csv", spec.name),
        )),
        "xlsx" => Ok((
            super::write_xlsx(spec, &items)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("{}-{date}.xlsx", spec.name),
        )),
        _ => Err(AppError::invalid("format", "format 可选：xlsx、csv")),
    }
}
