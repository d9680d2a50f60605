//! Leases that elect one replica for a long-running job on a shared PostgreSQL database:
//! a session-level advisory lock held on a connection of its own, released when that
//! connection's session ends.

use sqlx::Any;
use sqlx::pool::PoolConnection;

use super::db;
use super::{Store, StoreResult};

/// A PostgreSQL advisory lock, held for as long as this value keeps its connection.
pub struct AdvisoryLock {
    conn: PoolConnection<Any>,
}

impl Store {
    /// Tries to take the session-level advisory lock `key` on a connection of its own.
    /// `Ok(None)`: another session holds it. PostgreSQL only.
    ///
    /// Errors: no connection in time, or the query failing (`StoreError::Backend`).
    pub async fn try_advisory_lock(&self, key: i64) -> StoreResult<Option<AdvisoryLock>> {
        let mut conn = self.pool.acquire().await?;
        let got: i64 = db::value(
            &mut *conn,
            "SELECT CAST(CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END AS BIGINT)",
            key,
        )
        .await?;
        Ok((got == 1).then_some(AdvisoryLock { conn }))
    }
}

impl AdvisoryLock {
    /// Whether the lock's connection still answers; when it does not, the session (and
    /// so the lock) may be gone.
    pub async fn alive(&mut self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&mut *self.conn)
            .await
            .is_ok()
    }

    /// Releases the lock `key` and hands the connection back to the pool; a connection
    /// that cannot release it is closed instead (which releases it too).
    pub async fn release(mut self, key: i64) {
        let released = sqlx::query_scalar::<_, i64>(
            "SELECT CAST(CASE WHEN pg_advisory_unlock($1) THEN 1 ELSE 0 END AS BIGINT)",
        )
        .bind(key)
        .fetch_one(&mut *self.conn)
        .await;
        if !matches!(released, Ok(1)) {
            self.abandon();
        }
    }

    /// Gives up a lock whose connection broke: the connection is closed, never handed
    /// back to the pool.
    pub fn abandon(self) {
        drop(self.conn.detach());
    }
}
