//! Alert-intake integrations.

use crate::store::db;
use crate::store::desk::Tx;
use crate::store::{Store, StoreError, StoreResult};

use super::IntegrationRow;
use crate::store::sql::delete_by_id;

impl Store {
    // ---- integrations ------------------------------------------------------------------

    pub async fn insert_integration(
        &self,
        tx: &mut Tx,
        kind: &str,
        name: &str,
        token_hash: &str,
        system_id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO integrations (kind, name, token_hash, system_id, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        )
        .bind(kind.to_string())
        .bind(name.to_string())
        .bind(token_hash.to_string())
        .bind(system_id)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                StoreError::Conflict(format!("名称“{name}”已被其他接入源使用"))
            } else {
                e.into()
            }
        })
    }

    pub async fn integrations(&self) -> StoreResult<Vec<IntegrationRow>> {
        db::all(
            self.pool(),
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations ORDER BY id",
            (),
        )
        .await
    }

    pub async fn integration(&self, id: i64) -> StoreResult<IntegrationRow> {
        db::one(
            self.pool(),
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations WHERE id = $1",
            id,
        )
        .await
    }

    pub async fn integration_by_token(&self, hash: &str) -> StoreResult<Option<IntegrationRow>> {
        db::maybe(
            self.pool(),
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations \
             WHERE token_hash = $1 AND enabled = 1",
            hash.to_string(),
        )
        .await
    }

    pub async fn touch_integration(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write_one(
            "UPDATE integrations SET last_event_at = $1 WHERE id = $2",
            (now_ms, id),
        )
        .await
    }

    pub async fn delete_integration(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "integrations", id).await
    }
}
