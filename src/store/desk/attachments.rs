//! Ticket attachment rows.

use serde_json::{Value, json};

use crate::store::db;
use crate::store::{Store, StoreResult};

use super::Tx;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub internal: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

impl AttachmentRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "ticket_id": self.ticket_id, "file_name": self.file_name, "content_type": self.content_type,
               "size": self.size, "sha256": self.sha256, "internal": self.internal != 0, "uploaded_by": self.uploaded_by_name,
               "created_at": crate::clock::rfc3339(self.created_at)})
    }
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_attachment(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        file_name: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
        stored_path: &str,
        internal: bool,
        user: (i64, &str),
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO attachments (ticket_id, file_name, content_type, size, sha256, stored_path, internal, uploaded_by, uploaded_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(ticket_id)
        .bind(file_name.to_string())
        .bind(content_type.to_string())
        .bind(size)
        .bind(sha256.to_string())
        .bind(stored_path.to_string())
        .bind(i64::from(internal))
        .bind(user.0)
        .bind(user.1.to_string())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn attachments(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<AttachmentRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM attachments WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id",
            (ticket_id, i64::from(include_internal)),
        )
        .await
    }

    pub async fn attachment(&self, ticket_id: i64, id: i64) -> StoreResult<AttachmentRow> {
        db::one(
            self.pool(),
            "SELECT * FROM attachments WHERE ticket_id = $1 AND id = $2",
            (ticket_id, id),
        )
        .await
    }
}
