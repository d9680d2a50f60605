//! The duty roster.

use crate::store::desk::Tx;
use crate::store::{Store, StoreResult};

use super::{ShiftRow, delete_row};

impl Store {
    // ---- duty roster -------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_shift(
        &self,
        tx: &mut Tx,
        user_id: i64,
        starts_at: i64,
        ends_at: i64,
        role: &str,
        note: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO duty_shifts (user_id, starts_at, ends_at, role, note, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(starts_at)
        .bind(ends_at)
        .bind(role.to_string())
        .bind(note)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn shifts(&self, from: i64, to: i64) -> StoreResult<Vec<ShiftRow>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, starts_at, ends_at, role, note, created_at FROM duty_shifts \
             WHERE ends_at > $1 AND starts_at < $2 ORDER BY starts_at, id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn delete_shift(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_row(tx, "duty_shifts", id).await
    }

    /// Who is on call at `at` (primary first).
    pub async fn on_call(&self, at: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM duty_shifts WHERE starts_at <= $1 AND ends_at > $1 ORDER BY CASE WHEN role = 'primary' THEN 0 ELSE 1 END, id",
        )
        .bind(at)
        .fetch_all(self.pool())
        .await?)
    }
}
