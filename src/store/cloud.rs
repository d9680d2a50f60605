//! Cloud resources per month (migration 0019).

use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::{Store, StoreResult, Tx};
use crate::domain::cloud::{Fact, Flag, ResourceRow, Thresholds, Usage};

#[derive(Clone, Debug, FromRow)]
pub struct CloudRow {
    pub id: i64,
    pub name: String,
    pub system_id: i64,
    pub system_name: Option<String>,
    pub system_code: Option<String>,
    pub period: String,
    pub vcpu: i64,
    pub memory_gb: f64,
    pub disk_gb: f64,
    pub cpu_avg: f64,
    pub cpu_peak: f64,
    pub mem_avg: f64,
    pub mem_peak: f64,
    pub disk_used: f64,
    pub created_at: i64,
}

impl CloudRow {
    pub fn usage(&self) -> Usage {
        Usage {
            cpu_avg: self.cpu_avg,
            cpu_peak: self.cpu_peak,
            mem_avg: self.mem_avg,
            mem_peak: self.mem_peak,
            disk_used: self.disk_used,
        }
    }

    pub fn fact(&self) -> Fact {
        Fact {
            system_id: self.system_id,
            period: self.period.clone(),
            vcpu: self.vcpu,
            memory_gb: self.memory_gb,
            disk_gb: self.disk_gb,
            usage: self.usage(),
        }
    }
}

const SELECT: &str = "SELECT c.id, c.name, c.system_id, s.name AS system_name, s.code AS system_code, \
     c.period, c.vcpu, c.memory_gb, c.disk_gb, c.cpu_avg, c.cpu_peak, c.mem_avg, c.mem_peak, \
     c.disk_used, c.created_at FROM cloud_resources c LEFT JOIN systems s ON s.id = c.system_id";

/// The list's filters; `flag` is judged at `thresholds`.
#[derive(Clone, Debug, Default)]
pub struct CloudFilter {
    pub period: Option<String>,
    pub system_id: Option<i64>,
    pub flag: Option<Flag>,
    pub thresholds: Thresholds,
}

impl CloudFilter {
    /// The WHERE clause and its text arguments (ids and the checked, finite thresholds are
    /// inlined as numbers).
    fn clause(&self) -> (String, Vec<String>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut args = Vec::new();
        if let Some(p) = &self.period {
            args.push(p.clone());
            w.push(format!("c.period = ${}", args.len()));
        }
        if let Some(s) = self.system_id {
            w.push(format!("c.system_id = {s}"));
        }
        let (idle, over) = (self.thresholds.idle, self.thresholds.over);
        match self.flag {
            Some(Flag::Idle) => w.push(format!("c.cpu_avg < {idle:?} AND c.mem_avg < {idle:?}")),
            Some(Flag::Overused) => w.push(format!(
                "(c.cpu_peak > {over:?} OR c.mem_peak > {over:?} OR c.disk_used > {over:?})"
            )),
            None => {}
        }
        (w.join(" AND "), args)
    }
}

impl Store {
    /// Removes a month's rows; answers how many there were.
    pub async fn delete_cloud_period(&self, tx: &mut Tx, period: &str) -> StoreResult<u64> {
        db::exec(
            &mut **tx,
            "DELETE FROM cloud_resources WHERE period = $1",
            period.to_string(),
        )
        .await
    }

    pub async fn insert_cloud_resource(
        &self,
        tx: &mut Tx,
        r: &ResourceRow,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO cloud_resources (name, system_id, period, vcpu, memory_gb, disk_gb, cpu_avg, cpu_peak, mem_avg, mem_peak, disk_used, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(r.name.clone())
        .bind(r.system_id)
        .bind(r.period.clone())
        .bind(r.vcpu)
        .bind(r.memory_gb)
        .bind(r.disk_gb)
        .bind(r.usage.cpu_avg)
        .bind(r.usage.cpu_peak)
        .bind(r.usage.mem_avg)
        .bind(r.usage.mem_peak)
        .bind(r.usage.disk_used)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn cloud_resource(&self, id: i64) -> StoreResult<CloudRow> {
        let sql = format!("{SELECT} WHERE c.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn cloud_resource_in(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<CloudRow>> {
        let sql = format!("{SELECT} WHERE c.id = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), id).await
    }

    pub async fn delete_cloud_resource(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        super::sql::delete_by_id(tx, "cloud_resources", id).await
    }

    /// A page of rows (newest month first, then by system and name) and how many match.
    pub async fn cloud_resources(
        &self,
        f: &CloudFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<CloudRow>, i64)> {
        let (w, args) = f.clause();
        let sql = format!(
            "{SELECT} WHERE {w} ORDER BY c.period DESC, c.system_id, c.name, c.id LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows: Vec<CloudRow> = q.fetch_all(self.pool()).await?;
        let mut c = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM cloud_resources c WHERE {w}"
        )));
        for a in &args {
            c = c.bind(a.clone());
        }
        let total: i64 = c.fetch_one(self.pool()).await?;
        Ok((rows, total))
    }

    /// How many rows a month has.
    pub async fn cloud_period_count(&self, period: &str) -> StoreResult<i64> {
        db::value(
            self.pool(),
            "SELECT COUNT(*) FROM cloud_resources WHERE period = $1",
            period.to_string(),
        )
        .await
    }

    /// Every row of the given months, by system and name.
    pub async fn cloud_resources_of(&self, periods: &[String]) -> StoreResult<Vec<CloudRow>> {
        if periods.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=periods.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "{SELECT} WHERE c.period IN ({}) ORDER BY c.period, c.system_id, c.name, c.id",
            marks.join(", ")
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for p in periods {
            q = q.bind(p.clone());
        }
        Ok(q.fetch_all(self.pool()).await?)
    }

    /// Every inventory system as (id, name, code), for an import to resolve.
    pub async fn system_keys_in(
        &self,
        tx: &mut Tx,
    ) -> StoreResult<Vec<(i64, String, Option<String>)>> {
        db::all(&mut **tx, "SELECT id, name, code FROM systems", ()).await
    }

    /// Systems' names by id.
    pub async fn system_names(&self) -> StoreResult<Vec<(i64, String)>> {
        db::all(self.pool(), "SELECT id, name FROM systems ORDER BY id", ()).await
    }
}
