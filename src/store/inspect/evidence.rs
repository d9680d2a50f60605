//! An inspection's evidence: the photos taken on a task and the monitors' latest results.

use sqlx::{AssertSqlSafe, FromRow};

use crate::store::db;
use crate::store::sql::Columns;
use crate::store::{Store, StoreResult, Tx};

/// An inspection photo's record; the file is `stored_path` under the data directory.
#[derive(Clone, Debug, FromRow)]
pub struct PhotoRow {
    pub id: i64,
    pub task_id: i64,
    pub item_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub stored_path: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub created_at: i64,
}

const PHOTO_COLS: &str = "id, task_id, item_key, file_name, content_type, size, sha256, stored_path, \
     uploaded_by, uploaded_by_name, created_at";

/// A photo about to be recorded.
#[derive(Clone, Debug)]
pub struct NewPhoto<'a> {
    pub task_id: i64,
    pub item_key: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub stored_path: &'a str,
    pub uploaded_by: (i64, &'a str),
    pub created_at: i64,
}

/// A monitor's latest result, as evidence for an inspection item.
#[derive(Clone, Debug, FromRow)]
pub struct LatestResult {
    pub monitor_id: i64,
    pub at: i64,
    /// up | down | maintenance | unknown
    pub class: String,
    pub latency_ms: Option<f64>,
}

impl Store {
    pub async fn insert_inspection_photo(&self, tx: &mut Tx, p: &NewPhoto<'_>) -> StoreResult<i64> {
        Columns::new()
            .set("task_id", p.task_id)
            .set("item_key", p.item_key)
            .stored_file(
                (p.file_name, p.content_type),
                p.size,
                p.sha256,
                p.stored_path,
                p.uploaded_by,
            )
            .set("created_at", p.created_at)
            .insert(tx, "inspection_photos")
            .await
    }

    /// A task's photos, oldest first.
    pub async fn inspection_photos_in(
        conn: &mut crate::store::Conn,
        task_id: i64,
    ) -> StoreResult<Vec<PhotoRow>> {
        let sql =
            format!("SELECT {PHOTO_COLS} FROM inspection_photos WHERE task_id = $1 ORDER BY id");
        db::all(&mut *conn, AssertSqlSafe(sql), task_id).await
    }

    pub async fn inspection_photos(&self, task_id: i64) -> StoreResult<Vec<PhotoRow>> {
        let mut c = crate::store::Conn::from(self.pool().acquire().await?);
        Self::inspection_photos_in(&mut c, task_id).await
    }

    pub async fn inspection_photo(&self, task_id: i64, id: i64) -> StoreResult<PhotoRow> {
        let sql =
            format!("SELECT {PHOTO_COLS} FROM inspection_photos WHERE task_id = $1 AND id = $2");
        db::one(self.pool(), AssertSqlSafe(sql), (task_id, id)).await
    }

    // ---- monitors as evidence ------------------------------------------------------------

    /// Whether a monitor exists (template items bound to a monitor).
    pub async fn monitor_exists_in(conn: &mut crate::store::Conn, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(
            &mut *conn,
            "SELECT COUNT(*) FROM monitors WHERE id = $1",
            id,
        )
        .await?;
        Ok(n > 0)
    }

    /// The latest result of each monitor that has one.
    pub async fn latest_monitor_results_in(
        conn: &mut crate::store::Conn,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, LatestResult>> {
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if out.contains_key(id) {
                continue;
            }
            let row: Option<LatestResult> = db::maybe(
                &mut *conn,
                "SELECT monitor_id, at, class, latency_ms FROM monitor_results \
                 WHERE monitor_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
                *id,
            )
            .await?;
            if let Some(r) = row {
                out.insert(*id, r);
            }
        }
        Ok(out)
    }

    pub async fn latest_monitor_results(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, LatestResult>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut c = crate::store::Conn::from(self.pool().acquire().await?);
        Self::latest_monitor_results_in(&mut c, ids).await
    }
}
