//! The duty roster.

use crate::store::db;
use crate::store::desk::Tx;
use crate::store::{Store, StoreResult};

use super::ShiftRow;
use crate::store::sql::delete_by_id;

/// The shifts overlapping `$1`..`$2`, in start order.
const SHIFTS_OVERLAPPING: &str = "SELECT id, user_id, starts_at, ends_at, role, note, created_at \
     FROM duty_shifts WHERE ends_at > $1 AND starts_at < $2 ORDER BY starts_at, id";

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
        db::all(self.pool(), SHIFTS_OVERLAPPING, (from, to)).await
    }

    pub async fn delete_shift(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "duty_shifts", id).await
    }

    /// Who is on call at `at` (primary first).
    pub async fn on_call(&self, at: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT user_id FROM duty_shifts WHERE starts_at <= $1 AND ends_at > $1 ORDER BY CASE WHEN role = 'primary' THEN 0 ELSE 1 END, id",
            at,
        )
        .await
    }

    /// The shifts overlapping `from`..`to`, read on the write's own transaction.
    pub async fn shifts_tx(&self, tx: &mut Tx, from: i64, to: i64) -> StoreResult<Vec<ShiftRow>> {
        db::all(&mut **tx, SHIFTS_OVERLAPPING, (from, to)).await
    }

    /// One shift, read on the write's own transaction (`NotFound` if there is none).
    pub async fn shift_tx(&self, tx: &mut Tx, id: i64) -> StoreResult<ShiftRow> {
        db::one(
            &mut **tx,
            "SELECT id, user_id, starts_at, ends_at, role, note, created_at FROM duty_shifts WHERE id = $1",
            id,
        )
        .await
    }

    /// Gives a shift to another person.
    pub async fn set_shift_user(&self, tx: &mut Tx, id: i64, user_id: i64) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE duty_shifts SET user_id = $1 WHERE id = $2",
            (user_id, id),
        )
        .await?;
        Ok(())
    }

    /// The display names of users, by id (for the roster's audit texts).
    pub async fn user_names_tx(&self, tx: &mut Tx, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        let mut out = Vec::new();
        for id in ids {
            let name: Option<String> = db::maybe_value(
                &mut **tx,
                "SELECT display_name FROM users WHERE id = $1",
                *id,
            )
            .await?;
            if let Some(n) = name {
                out.push((*id, n));
            }
        }
        Ok(out)
    }
}
