//! The demo marker: which rows the simulated demo history generated (`demo_items`).

use sqlx::AssertSqlSafe;

use super::{Store, StoreResult};

/// The tables whose rows the demo history generates, in the order an admin would remove
/// them (dependents first).
pub const DEMO_TABLES: &[&str] = &[
    "restore_drills",
    "backup_runs",
    "work_records",
    "inspection_findings",
    "inspection_tasks",
    "inspection_plans",
    "alerts",
    "tickets",
    "duty_shifts",
    "monitors",
    "staff",
    "users",
];

impl Store {
    /// The highest id of each demo table now (0 for an empty table): the rows above it
    /// are the ones a generation adds.
    pub async fn demo_marks(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        let mut out = Vec::with_capacity(DEMO_TABLES.len());
        for t in DEMO_TABLES {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {t}");
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(self.pool())
                .await?;
            out.push((*t, n));
        }
        Ok(out)
    }

    /// Marks every row added since `marks` as demo data, in one transaction.
    pub async fn mark_demo_rows(&self, marks: &[(&'static str, i64)]) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let mut n = 0;
        for (t, after) in marks {
            if !DEMO_TABLES.contains(t) {
                continue;
            }
            let sql = format!(
                "INSERT INTO demo_items (tbl, row_id) SELECT '{t}', id FROM {t} WHERE id > $1"
            );
            let r = sqlx::query(AssertSqlSafe(sql))
                .bind(*after)
                .execute(&mut *tx)
                .await?;
            n += r.rows_affected() as i64;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// How many rows are marked as demo data, per table.
    pub async fn demo_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT tbl, COUNT(*) FROM demo_items GROUP BY tbl ORDER BY tbl")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Whether a row is demo data.
    pub async fn is_demo_row(&self, tbl: &str, id: i64) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM demo_items WHERE tbl = $1 AND row_id = $2")
                .bind(tbl.to_string())
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        Ok(n > 0)
    }
}

impl Store {
    /// The contract's staffing slots: (assignment id, system id, duty, work mode), by id.
    pub async fn demo_slots(&self) -> StoreResult<Vec<(i64, i64, String, String)>> {
        Ok(
            sqlx::query_as("SELECT id, system_id, duty, work_mode FROM assignments ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The systems' ids and names, by id.
    pub async fn demo_systems(&self) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT id, name FROM systems ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }
}

impl Store {
    /// The backup policies' ids and data sets, by id.
    pub async fn demo_policies(&self) -> StoreResult<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, data_set FROM backup_policies ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The service lines' ids and names, by id.
    pub async fn demo_lines(&self) -> StoreResult<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, name FROM service_lines ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }
}
