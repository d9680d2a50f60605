//! Importing a whole file of records: every row or none.

use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::domain::FieldError;
use crate::domain::entity::{EntitySpec, Field, SqlValue};
use crate::store::audit::NewAuditEvent;
use crate::store::{Actor, Store, StoreError};

impl Store {
    /// Imports rows in one transaction: either every row is inserted or none is. `rows`
    /// carries the 1-based line number of each row in the file. Errors name row and column.
    pub async fn import_entities(
        &self,
        spec: &EntitySpec,
        rows: Vec<(usize, Vec<(&'static Field, SqlValue)>)>,
        actor: &Actor,
        now_ms: i64,
        file_name: &str,
    ) -> Result<i64, ImportFailure> {
        let mut tx = self.write_tx().await.map_err(ImportFailure::Store)?;
        let mut errors = Vec::new();
        let mut count = 0i64;
        let mut seen: std::collections::HashSet<(&'static str, String)> =
            std::collections::HashSet::new();
        for (line, mut values) in rows {
            let mut errs = Self::resolve_refs(&mut tx, &mut values)
                .await
                .map_err(ImportFailure::Store)?;
            // Uniqueness is checked before inserting: a failed INSERT would abort the whole
            // transaction on PostgreSQL and hide the remaining rows' problems.
            for (f, v) in &values {
                let SqlValue::Text(t) = v else { continue };
                if !spec.unique.contains(&f.name) {
                    continue;
                }
                if !seen.insert((f.name, t.clone())) {
                    errs.push(FieldError::new(
                        f.name,
                        format!("{}“{t}”在文件中重复出现", f.label),
                    ));
                    continue;
                }
                let sql = format!("SELECT COUNT(*) FROM {} WHERE {} = $1", spec.table, f.name);
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                    .bind(t.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| ImportFailure::Store(e.into()))?;
                if n > 0 {
                    errs.push(FieldError::new(f.name, format!("{}“{t}”已存在", f.label)));
                }
            }
            if !errs.is_empty() {
                errors.extend(
                    errs.into_iter()
                        .map(|e| RowError::from_field(spec, line, e)),
                );
                continue;
            }
            if !errors.is_empty() {
                // Keep checking the remaining rows but insert nothing more.
                continue;
            }
            self.insert_entity_tx(&mut tx, spec, &values, now_ms)
                .await
                .map_err(ImportFailure::Store)?;
            count += 1;
        }
        if !errors.is_empty() {
            // Dropping the transaction rolls everything back.
            return Err(ImportFailure::Rows(errors));
        }
        NewAuditEvent::about(
            "import",
            spec.name,
            format!("导入{}：{count} 条（文件 {file_name}）", spec.label),
        )
        .after(json!({"count": count, "file": file_name}))
        .write(&mut tx, now_ms, actor)
        .await
        .map_err(ImportFailure::Store)?;
        tx.commit().await.map_err(ImportFailure::Store)?;
        self.after_write(spec);
        Ok(count)
    }
}

/// One problem in an import file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn from_field(spec: &EntitySpec, row: usize, e: FieldError) -> Self {
        let column = spec
            .field(&e.field)
            .map(|f| f.label.to_string())
            .unwrap_or_else(|| e.field.clone());
        RowError {
            row,
            column,
            field: e.field,
            message: e.message,
        }
    }
}

#[derive(Debug)]
pub enum ImportFailure {
    Rows(Vec<RowError>),
    Store(StoreError),
}
