//! Alert-intake integrations.

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
        Ok(sqlx::query_as(
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn integration(&self, id: i64) -> StoreResult<IntegrationRow> {
        sqlx::query_as(
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn integration_by_token(&self, hash: &str) -> StoreResult<Option<IntegrationRow>> {
        Ok(sqlx::query_as(
            "SELECT id, kind, name, token_hash, system_id, enabled, last_event_at, created_at, updated_at FROM integrations \
             WHERE token_hash = $1 AND enabled = 1",
        )
        .bind(hash.to_string())
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn touch_integration(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE integrations SET last_event_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_integration(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "integrations", id).await
    }
}
