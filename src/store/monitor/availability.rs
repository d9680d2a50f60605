//! Availability: rollups, state changes and maintenance windows.

use sqlx::AssertSqlSafe;

use crate::store::db;
use crate::store::desk::Tx;
use crate::store::entities::Arg;
use crate::store::{Store, StoreResult};

use super::{CLIPPED, MaintenanceRow, Tally};
use crate::store::sql::{delete_by_id, delete_older_in_batches};

/// Rows a purge of monitoring data deletes per write transaction.
pub const PURGE_BATCH: i64 = 5_000;

impl Store {
    // ---- availability ------------------------------------------------------------------

    /// Tallies raw results over [from, to) per monitor (those in `ids`, or all).
    pub async fn tally_results(
        &self,
        from: i64,
        to: i64,
        ids: Option<&[i64]>,
    ) -> StoreResult<Vec<(i64, Tally, Option<f64>, Option<f64>)>> {
        let filter = match ids {
            Some(ids) if !ids.is_empty() => format!(
                " AND monitor_id IN ({})",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
            Some(_) => return Ok(vec![]),
            None => String::new(),
        };
        // A result stands for at most a day, so older rows need not be read.
        type Row = (i64, i64, i64, i64, i64, i64, Option<f64>, Option<f64>);
        let sql = format!(
            "SELECT monitor_id, \
             CAST(SUM(CASE WHEN class = 'up' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN class = 'down' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN class = 'maintenance' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN at >= $1 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN at >= $1 AND ok = 0 THEN 1 ELSE 0 END) AS BIGINT), \
             AVG(CASE WHEN at >= $1 THEN latency_ms END), MAX(CASE WHEN at >= $1 THEN latency_ms END) \
             FROM monitor_results WHERE at >= $3 AND at < $2 AND at + covers_ms > $1{filter} GROUP BY monitor_id"
        );
        let rows: Vec<Row> = db::all(
            self.pool(),
            AssertSqlSafe(sql),
            (from, to, from - 86_400_000),
        )
        .await?;
        let span = to - from;
        Ok(rows
            .into_iter()
            .map(|(m, up, down, maint, checks, failures, avg, max)| {
                let mut t = Tally {
                    up_ms: up,
                    down_ms: down,
                    maintenance_ms: maint,
                    unknown_ms: 0,
                    checks,
                    failures,
                };
                // Overlapping results (a manual check between scheduled ones) must not
                // make a period longer than itself.
                let covered = up + down + maint;
                if covered > span && covered > 0 {
                    let f = span as f64 / covered as f64;
                    t.up_ms = (up as f64 * f) as i64;
                    t.down_ms = (down as f64 * f) as i64;
                    t.maintenance_ms = span - t.up_ms - t.down_ms;
                }
                t.unknown_ms = span - t.up_ms - t.down_ms - t.maintenance_ms;
                (m, t, avg, max)
            })
            .collect())
    }

    pub async fn upsert_rollups(
        &self,
        tx: &mut Tx,
        hour: i64,
        rows: &[(i64, Tally, Option<f64>, Option<f64>)],
    ) -> StoreResult<()> {
        // Multi-row upserts in chunks: an hour of a few thousand monitors (or a long
        // backfill) is a few statements, not one per monitor. A missing latency travels as
        // -1.0 and becomes NULL in SQL (a NULL float parameter is typed unreliably through
        // sqlx's Any driver on PostgreSQL).
        for chunk in rows.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO monitor_rollups (monitor_id, hour, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures, latency_avg_ms, latency_max_ms) VALUES ",
            );
            let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 10);
            for (i, (m, t, avg, max)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let b = args.len();
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, NULLIF(${}, -1.0), NULLIF(${}, -1.0))",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
                args.extend([
                    Arg::Int(Some(*m)),
                    Arg::Int(Some(hour)),
                    Arg::Int(Some(t.up_ms)),
                    Arg::Int(Some(t.down_ms)),
                    Arg::Int(Some(t.maintenance_ms)),
                    Arg::Int(Some(t.unknown_ms)),
                    Arg::Int(Some(t.checks)),
                    Arg::Int(Some(t.failures)),
                    Arg::Float(Some(avg.unwrap_or(-1.0))),
                    Arg::Float(Some(max.unwrap_or(-1.0))),
                ]);
            }
            sql.push_str(
                " ON CONFLICT (monitor_id, hour) DO UPDATE SET up_ms = excluded.up_ms, down_ms = excluded.down_ms, \
                 maintenance_ms = excluded.maintenance_ms, unknown_ms = excluded.unknown_ms, checks = excluded.checks, \
                 failures = excluded.failures, latency_avg_ms = excluded.latency_avg_ms, latency_max_ms = excluded.latency_max_ms",
            );
            crate::store::db::exec(&mut **tx, AssertSqlSafe(sql), args).await?;
        }
        Ok(())
    }

    /// Recomputes the daily rollups of the Beijing day `[day, day + 24 h)` from its hours.
    pub async fn roll_day(&self, tx: &mut Tx, day: i64) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "INSERT INTO monitor_daily (monitor_id, day, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures) \
             SELECT monitor_id, $1, CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
             CAST(SUM(unknown_ms) AS BIGINT), CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM monitor_rollups WHERE hour >= $1 AND hour < $2 GROUP BY monitor_id \
             ON CONFLICT (monitor_id, day) DO UPDATE SET up_ms = excluded.up_ms, down_ms = excluded.down_ms, \
             maintenance_ms = excluded.maintenance_ms, unknown_ms = excluded.unknown_ms, checks = excluded.checks, \
             failures = excluded.failures",
            (day, day + 86_400_000),
        )
        .await?;
        Ok(())
    }

    /// One monitor's rollups over [from, to), whole hours (`daily` false) or whole
    /// Beijing days (`daily` true). A span without a row had no result: it is unknown.
    pub async fn tally_rolled(
        &self,
        id: i64,
        from: i64,
        to: i64,
        daily: bool,
    ) -> StoreResult<Tally> {
        let (table, col) = if daily {
            ("monitor_daily", "day")
        } else {
            ("monitor_rollups", "hour")
        };
        type Sums = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let sql = format!(
            "SELECT CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
             CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM {table} WHERE monitor_id = $1 AND {col} >= $2 AND {col} < $3"
        );
        let row: Sums = db::row(self.pool(), AssertSqlSafe(sql), (id, from, to)).await?;
        let (up_ms, down_ms, maintenance_ms) =
            (row.0.unwrap_or(0), row.1.unwrap_or(0), row.2.unwrap_or(0));
        Ok(Tally {
            up_ms,
            down_ms,
            maintenance_ms,
            unknown_ms: (to - from) - up_ms - down_ms - maintenance_ms,
            checks: row.3.unwrap_or(0),
            failures: row.4.unwrap_or(0),
        })
    }

    /// The latest hour rolled up, if any.
    pub async fn last_rollup_hour(&self) -> StoreResult<Option<i64>> {
        db::value(self.pool(), "SELECT MAX(hour) FROM monitor_rollups", ()).await
    }

    /// Per-day sums of rollups for a set of monitors (`day` = Beijing midnight in ms).
    pub async fn rollup_hours(
        &self,
        ids: &[i64],
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, Tally)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT hour, CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
             CAST(SUM(unknown_ms) AS BIGINT), CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM monitor_rollups WHERE monitor_id IN ({}) AND hour >= $1 AND hour < $2 GROUP BY hour ORDER BY hour",
            list.join(",")
        );
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> =
            db::all(self.pool(), AssertSqlSafe(sql), (from, to)).await?;
        Ok(rows
            .into_iter()
            .map(|(h, up, down, m, u, c, f)| {
                (
                    h,
                    Tally {
                        up_ms: up,
                        down_ms: down,
                        maintenance_ms: m,
                        unknown_ms: u,
                        checks: c,
                        failures: f,
                    },
                )
            })
            .collect())
    }

    pub async fn monitor_ids_of_system(&self, system_id: i64) -> StoreResult<Vec<(i64, i64)>> {
        db::all(
            self.pool(),
            "SELECT id, created_at FROM monitors WHERE system_id = $1 ORDER BY id",
            system_id,
        )
        .await
    }

    /// Removes raw results older than `before` and rollups older than `rollups_before`,
    /// [`PURGE_BATCH`] rows per write transaction (see `sql::delete_older_in_batches`):
    /// an hour of 10,000 monitors' results is 600,000 rows.
    pub async fn purge_results(&self, before: i64, rollups_before: i64) -> StoreResult<u64> {
        self.purge_results_in_batches(before, rollups_before, PURGE_BATCH)
            .await
    }

    /// [`Store::purge_results`] with another batch size.
    pub async fn purge_results_in_batches(
        &self,
        before: i64,
        rollups_before: i64,
        batch: i64,
    ) -> StoreResult<u64> {
        let n = delete_older_in_batches(self, "monitor_results", "id", "at", before, batch).await?;
        delete_older_in_batches(
            self,
            "monitor_rollups",
            "monitor_id, hour",
            "hour",
            rollups_before,
            batch,
        )
        .await?;
        delete_older_in_batches(
            self,
            "monitor_daily",
            "monitor_id, day",
            "day",
            rollups_before,
            batch,
        )
        .await?;
        Ok(n)
    }

    // ---- maintenance -------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_maintenance(
        &self,
        tx: &mut Tx,
        monitor_id: Option<i64>,
        system_id: Option<i64>,
        reason: &str,
        owner: &str,
        starts_at: i64,
        ends_at: i64,
        recurrence: Option<String>,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO maintenance_windows (monitor_id, system_id, reason, owner, starts_at, ends_at, recurrence, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(monitor_id)
        .bind(system_id)
        .bind(reason.to_string())
        .bind(owner.to_string())
        .bind(starts_at)
        .bind(ends_at)
        .bind(recurrence)
        .bind(created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn maintenance_windows(&self, active_after: i64) -> StoreResult<Vec<MaintenanceRow>> {
        db::all(
            self.pool(),
            "SELECT id, monitor_id, system_id, reason, owner, starts_at, ends_at, recurrence, created_by, created_at \
             FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at",
            active_after,
        )
        .await
    }

    pub async fn maintenance_window(&self, id: i64) -> StoreResult<MaintenanceRow> {
        db::one(
            self.pool(),
            "SELECT id, monitor_id, system_id, reason, owner, starts_at, ends_at, recurrence, created_by, created_at \
             FROM maintenance_windows WHERE id = $1",
            id,
        )
        .await
    }

    pub async fn delete_maintenance(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "maintenance_windows", id).await
    }
}
