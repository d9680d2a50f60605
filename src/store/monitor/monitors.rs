//! Monitor rows, their results and saved probe state.

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

use crate::clock::rfc3339;
use crate::domain::monitor::spec::MonitorDef;
use crate::store::db;
use crate::store::desk::Tx;
use crate::store::entities::Arg;
use crate::store::{Store, StoreResult};

use super::{MONITOR_COLS, MonitorFilter, MonitorRow, NewResult, ResultRow, SavedState};
use crate::store::sql::{Columns, Filter, delete_by_id};

/// The columns of a monitor's definition (not its probe state or push token).
fn definition_columns(d: &MonitorDef, secret_enc: Option<String>) -> Columns {
    Columns::new()
        .set("name", &d.name)
        .set("kind", &d.kind)
        .set("target", &d.target)
        .set("interval_s", d.interval_s)
        .set("timeout_ms", d.timeout_ms)
        .set("failures_before_down", d.failures_before_down)
        .set("successes_before_up", d.successes_before_up)
        .set("system_id", d.system_id)
        .set("asset_id", d.asset_id)
        .set("depends_on", d.depends_on)
        .set("priority", &d.priority)
        .set("config", Value::Object(d.config.clone()).to_string())
        .set("secret_enc", secret_enc)
        .set("paused", d.paused)
        .set("auto_resolve", d.auto_resolve)
}

/// The state a monitor (re)starts in.
fn start_state(d: &MonitorDef) -> &'static str {
    if d.paused { "paused" } else { "pending" }
}

impl Store {
    // ---- monitors ----------------------------------------------------------------------

    pub async fn insert_monitor(
        &self,
        tx: &mut Tx,
        d: &MonitorDef,
        secret_enc: Option<String>,
        token: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        definition_columns(d, secret_enc)
            .set("token", token)
            .set("state", start_state(d))
            .set("base_state", "pending")
            .set("state_since", now_ms)
            .created(now_ms)
            .insert(tx, "monitors")
            .await
    }

    /// Replaces the definition; a change of kind, target or pause restarts the state machine.
    pub async fn update_monitor(
        &self,
        tx: &mut Tx,
        id: i64,
        d: &MonitorDef,
        secret_enc: Option<String>,
        reset_state: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut c = definition_columns(d, secret_enc).set("updated_at", now_ms);
        if reset_state {
            c = c
                .set("state", start_state(d))
                .set("base_state", "pending")
                .set("state_since", now_ms)
                .set("consecutive_failures", 0_i64)
                .set("consecutive_successes", 0_i64);
        }
        c.update(tx, "monitors", id).await
    }

    pub async fn delete_monitor(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "monitors", id).await
    }

    pub async fn monitor(&self, id: i64) -> StoreResult<MonitorRow> {
        let sql = format!("SELECT {MONITOR_COLS} FROM monitors WHERE id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn monitor_by_token(&self, token: &str) -> StoreResult<MonitorRow> {
        let sql =
            format!("SELECT {MONITOR_COLS} FROM monitors WHERE token = $1 AND kind = 'heartbeat'");
        db::one(self.pool(), AssertSqlSafe(sql), token.to_string()).await
    }

    pub async fn all_monitors(&self) -> StoreResult<Vec<MonitorRow>> {
        let sql = format!("SELECT {MONITOR_COLS} FROM monitors ORDER BY id");
        db::all(self.pool(), AssertSqlSafe(sql), ()).await
    }

    pub async fn list_monitors(
        &self,
        f: &MonitorFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<MonitorRow>, i64)> {
        let mut w = Filter::new();
        w.eq("system_id", f.system_id)
            .eq("asset_id", f.asset_id)
            .eq("kind", f.kind.as_deref())
            .eq("state", f.state.as_deref())
            .search(
                &["name", "target"],
                f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()),
            );
        self.filtered_page(
            &format!("SELECT {MONITOR_COLS} FROM monitors"),
            "monitors",
            &w,
            "id",
            (limit, offset),
        )
        .await
    }

    pub async fn save_states(&self, tx: &mut Tx, states: &[(i64, SavedState)]) -> StoreResult<()> {
        for (id, s) in states {
            sqlx::query(
                "UPDATE monitors SET state = $1, base_state = $2, state_since = $3, consecutive_failures = $4, \
                 consecutive_successes = $5, last_check_at = $6, last_ok = $7, last_latency_ms = NULLIF($8, -1.0), last_phase = $9, \
                 last_message = $10 WHERE id = $11",
            )
            .bind(s.state.clone())
            .bind(s.base_state.clone())
            .bind(s.state_since)
            .bind(s.consecutive_failures)
            .bind(s.consecutive_successes)
            .bind(s.last_check_at)
            .bind(i64::from(s.last_ok))
            .bind(s.last_latency_ms.unwrap_or(-1.0))
            .bind(s.last_phase.clone())
            .bind(s.last_message.clone())
            .bind(*id)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub async fn set_monitor_state(
        &self,
        tx: &mut Tx,
        id: i64,
        state: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE monitors SET state = $1, state_since = $2 WHERE id = $3 AND state <> $1",
            (state.to_string(), now_ms, id),
        )
        .await?;
        Ok(())
    }

    pub async fn insert_results(&self, tx: &mut Tx, rs: &[NewResult]) -> StoreResult<()> {
        // Multi-row inserts in chunks keep a batch of thousands to a few statements.
        for chunk in rs.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO monitor_results (monitor_id, at, covers_ms, ok, class, latency_ms, phase, message) VALUES ",
            );
            // A missing latency is written as the literal NULL, not bound: a NULL float
            // parameter is typed unreliably through sqlx's Any driver on PostgreSQL.
            let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 8);
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let p = |args: &Vec<Arg>, k: usize| format!("${}", args.len() + k);
                let latency = match r.latency_ms {
                    Some(_) => p(&args, 6),
                    None => "NULL".to_string(),
                };
                sql.push_str(&format!(
                    "({}, {}, {}, {}, {}, {latency}, {}, {})",
                    p(&args, 1),
                    p(&args, 2),
                    p(&args, 3),
                    p(&args, 4),
                    p(&args, 5),
                    p(&args, if r.latency_ms.is_some() { 7 } else { 6 }),
                    p(&args, if r.latency_ms.is_some() { 8 } else { 7 }),
                ));
                args.extend([
                    Arg::Int(Some(r.monitor_id)),
                    Arg::Int(Some(r.at)),
                    Arg::Int(Some(r.covers_ms)),
                    Arg::Int(Some(i64::from(r.ok))),
                    Arg::Text(Some(r.class.to_string())),
                ]);
                if let Some(l) = r.latency_ms {
                    args.push(Arg::Float(Some(l)));
                }
                args.extend([Arg::Text(r.phase.clone()), Arg::Text(r.message.clone())]);
            }
            db::exec(&mut **tx, AssertSqlSafe(sql), args).await?;
        }
        Ok(())
    }

    pub async fn add_state_change(
        &self,
        tx: &mut Tx,
        id: i64,
        at: i64,
        from: &str,
        to: &str,
        reason: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO monitor_state_changes (monitor_id, at, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(at)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(reason.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Times of up↔down changes since `since`, for the flap detector after a restart.
    pub async fn recent_flips(&self, since: i64) -> StoreResult<Vec<(i64, i64)>> {
        db::all(
            self.pool(),
            "SELECT monitor_id, at FROM monitor_state_changes WHERE at >= $1 \
             AND ((from_state = 'up' AND to_state = 'down') OR (from_state = 'down' AND to_state = 'up') \
             OR to_state = 'flapping') ORDER BY at",
            since,
        )
        .await
    }

    pub async fn state_changes(&self, id: i64, limit: i64) -> StoreResult<Vec<Value>> {
        let rows: Vec<(i64, String, String, String)> = db::all(
            self.pool(),
            "SELECT at, from_state, to_state, reason FROM monitor_state_changes WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2",
            (id, limit),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, f, t, r)| json!({"at": rfc3339(at), "from": f, "to": t, "reason": r}))
            .collect())
    }

    pub async fn results(
        &self,
        id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResultRow>> {
        db::all(
            self.pool(),
            "SELECT id, at, ok, class, latency_ms, phase, message FROM monitor_results \
             WHERE monitor_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC LIMIT $4",
            (id, from, to, limit),
        )
        .await
    }

    /// Latest latencies of many monitors (for sparklines), oldest first per monitor.
    pub async fn recent_latencies(
        &self,
        ids: &[i64],
        since: i64,
    ) -> StoreResult<std::collections::HashMap<i64, Vec<(i64, Option<f64>, bool)>>> {
        let mut out: std::collections::HashMap<i64, Vec<(i64, Option<f64>, bool)>> =
            Default::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT monitor_id, at, latency_ms, ok FROM monitor_results WHERE monitor_id IN ({}) AND at >= $1 ORDER BY at",
            list.join(",")
        );
        let rows: Vec<(i64, i64, Option<f64>, i64)> =
            db::all(self.pool(), AssertSqlSafe(sql), since).await?;
        for (m, at, l, ok) in rows {
            out.entry(m).or_default().push((at, l, ok != 0));
        }
        Ok(out)
    }

    /// A finished run: its time is the last ping, and the run's start is cleared.
    pub async fn heartbeat_ping(&self, tx: &mut Tx, id: i64, at: i64) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE monitors SET hb_last_ping_at = $1, hb_started_at = NULL WHERE id = $2",
            (at, id),
        )
        .await?;
        Ok(())
    }

    pub async fn heartbeat_start(&self, tx: &mut Tx, id: i64, at: i64) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE monitors SET hb_started_at = $1 WHERE id = $2",
            (at, id),
        )
        .await?;
        Ok(())
    }
}
