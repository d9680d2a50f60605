//! Importing work records from a CSV or XLSX file onto a line.

use serde_json::{Value, json};

use super::records::stored;
use super::{line_types, may_write};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::operations::{RecordCreate, check_record};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::transfer::records::{import_failed, read_upload_table};

/// Imports a CSV or XLSX of work records onto a line, with the inventory's import rules:
/// bounded parsing off the runtime, every bad row and column named, and nothing imported
/// when there is any. Columns by their Chinese headers (`domain::operations::import`).
pub async fn import_records(
    ctx: &Ctx,
    u: &AuthUser,
    line_id: i64,
    file_name: &str,
    data: &[u8],
) -> AppResult<Value> {
    use crate::domain::operations::import::{field_of, row_json};
    use crate::store::entities::RowError;
    if !matches!(u.role, Role::Admin | Role::Manager | Role::Operator) {
        return Err(AppError::forbidden());
    }
    let line = match ctx.store.service_line(line_id).await {
        Ok(l) => l,
        Err(crate::store::StoreError::NotFound) => {
            return Err(AppError::invalid(
                "line_id",
                format!("服务条线 {line_id} 不存在"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if !may_write(u, &line) {
        return Err(AppError::forbidden());
    }
    let table = read_upload_table(ctx, data).await?;
    // A title row above the header (as the exports write it) is skipped.
    let maps = |row: &[String]| row.iter().any(|h| field_of(h).is_some());
    let (headers, rows): (&[String], &[(usize, Vec<String>)]) = match table.rows.split_first() {
        Some(((_, next), rest)) if !maps(&table.headers) && maps(next) => (next, rest),
        _ => (&table.headers, &table.rows),
    };
    let fields: Vec<Option<String>> = headers.iter().map(|h| field_of(h)).collect();
    let ignored: Vec<String> = headers
        .iter()
        .zip(&fields)
        .filter(|(h, f)| f.is_none() && !h.trim().is_empty())
        .map(|(h, _)| h.clone())
        .collect();
    let column_of = |field: &str| -> String {
        headers
            .iter()
            .zip(&fields)
            .find(|(_, f)| f.as_deref() == Some(field))
            .map(|(h, _)| h.clone())
            .or_else(|| {
                crate::domain::operations::RECORD_LABELS
                    .iter()
                    .find(|(k, _)| *k == field)
                    .map(|(_, l)| (*l).to_string())
            })
            .unwrap_or_else(|| field.to_string())
    };
    let mut errors: Vec<RowError> = Vec::new();
    if !fields.iter().any(|f| f.as_deref() == Some("summary")) {
        errors.push(RowError {
            row: 1,
            column: "问题或工作内容".into(),
            field: "summary".into(),
            message: "缺少“问题或工作内容”列".into(),
        });
    }
    let now = ctx.clock.now();
    let types = line_types(&line);
    let mut values = Vec::new();
    if errors.is_empty() {
        for (row, cells) in rows {
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let checked =
                crate::domain::input::decode::<RecordCreate>(row_json(line_id, &fields, cells))
                    .and_then(|r| check_record(&r, &types, now).map(|c| (r, c)));
            match checked {
                // The import has no system or ticket columns.
                Ok((r, c)) => values.push(stored(line_id, &r, c)),
                Err(errs) => {
                    for e in errs {
                        let column = column_of(&e.field);
                        errors.push(RowError {
                            row: *row,
                            column,
                            field: e.field,
                            message: e.message,
                        });
                    }
                }
            }
            if errors.len() >= 1000 {
                break;
            }
        }
    }
    if !errors.is_empty() {
        return Err(import_failed(errors));
    }
    let now_ms = now.timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    for v in &values {
        ctx.store
            .insert_work_record(&mut tx, v, u.id, "import", now_ms)
            .await?;
    }
    NewAuditEvent {
        action: "import".into(),
        entity_type: "work_records".into(),
        entity_id: None,
        summary: format!(
            "从 {file_name} 导入 {} 条运营记录到 {} {}",
            values.len(),
            line.code,
            line.name
        ),
        before: None,
        after: Some(json!({"line_id": line_id, "rows": values.len()})),
    }
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(json!({"imported": values.len(), "ignored_columns": ignored}))
}
