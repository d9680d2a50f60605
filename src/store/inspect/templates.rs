//! Inspection templates: the checklists a plan or task is built from.

use sqlx::{AssertSqlSafe, FromRow};

use super::conflict_on_unique;
use crate::store::db;
use crate::store::sql::{Columns, delete_by_id};
use crate::store::{Store, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub target_type: String,
    pub category: Option<String>,
    pub description: Option<String>,
    pub items: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TEMPLATE_COLS: &str =
    "id, name, target_type, category, description, items, created_at, updated_at";

/// A template's columns as written.
fn template_columns(
    name: &str,
    target_type: &str,
    category: Option<&str>,
    description: Option<&str>,
    items_json: &str,
) -> Columns {
    Columns::new()
        .set("name", name)
        .set("target_type", target_type)
        .set("category", category)
        .set("description", description)
        .set("items", items_json)
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_inspection_template(
        &self,
        tx: &mut Tx,
        name: &str,
        target_type: &str,
        category: Option<&str>,
        description: Option<&str>,
        items_json: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        template_columns(name, target_type, category, description, items_json)
            .created(now_ms)
            .insert(tx, "inspection_templates")
            .await
            .map_err(conflict_on_unique(name, "模板"))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update_inspection_template(
        &self,
        tx: &mut Tx,
        id: i64,
        name: &str,
        target_type: &str,
        category: Option<&str>,
        description: Option<&str>,
        items_json: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        template_columns(name, target_type, category, description, items_json)
            .set("updated_at", now_ms)
            .update(tx, "inspection_templates", id)
            .await
            .map_err(conflict_on_unique(name, "模板"))
    }

    /// How many plans and tasks use a template.
    pub async fn inspection_template_uses_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> StoreResult<(i64, i64)> {
        db::row(
            &mut **tx,
            "SELECT (SELECT COUNT(*) FROM inspection_plans WHERE template_id = $1), \
             (SELECT COUNT(*) FROM inspection_tasks WHERE template_id = $1)",
            id,
        )
        .await
    }

    pub async fn delete_inspection_template(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "inspection_templates", id).await
    }

    pub async fn inspection_templates(&self) -> StoreResult<Vec<TemplateRow>> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn inspection_template(&self, id: i64) -> StoreResult<TemplateRow> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates WHERE id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn inspection_template_in(
        conn: &mut crate::store::Conn,
        id: i64,
    ) -> StoreResult<TemplateRow> {
        let sql = format!("SELECT {TEMPLATE_COLS} FROM inspection_templates WHERE id = $1");
        db::one(&mut *conn, AssertSqlSafe(sql), id).await
    }

    pub async fn count_inspection_templates_in(conn: &mut crate::store::Conn) -> StoreResult<i64> {
        db::value(&mut *conn, "SELECT COUNT(*) FROM inspection_templates", ()).await
    }
}
