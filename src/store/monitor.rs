//! Monitors, their results and rollups, state changes, maintenance windows, alerts,
//! integrations and the duty roster.

use serde_json::{Map, Value, json};
use sqlx::AssertSqlSafe;

use super::desk::Tx;
use super::entities::{Arg, bind_all, bind_all_as};
use super::{Store, StoreError, StoreResult, like_pattern};
use crate::clock::rfc3339;
use crate::domain::monitor::spec::MonitorDef;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MonitorRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub interval_s: i64,
    pub timeout_ms: i64,
    pub failures_before_down: i64,
    pub successes_before_up: i64,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub depends_on: Option<i64>,
    pub priority: String,
    pub config: String,
    pub secret_enc: Option<String>,
    pub token: Option<String>,
    pub paused: i64,
    pub auto_resolve: i64,
    pub state: String,
    pub base_state: String,
    pub state_since: i64,
    pub consecutive_failures: i64,
    pub consecutive_successes: i64,
    pub last_check_at: Option<i64>,
    pub last_ok: Option<i64>,
    pub last_latency_ms: Option<f64>,
    pub last_phase: Option<String>,
    pub last_message: Option<String>,
    pub hb_last_ping_at: Option<i64>,
    pub hb_started_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MonitorRow {
    pub fn config_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.config).unwrap_or_default()
    }

    /// The definition as the API shows it (and as a PATCH starts from).
    pub fn definition(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("kind".into(), json!(self.kind));
        if self.kind != "heartbeat" {
            m.insert("target".into(), json!(self.target));
        }
        m.insert("interval_s".into(), json!(self.interval_s));
        m.insert("timeout_ms".into(), json!(self.timeout_ms));
        m.insert(
            "failures_before_down".into(),
            json!(self.failures_before_down),
        );
        m.insert(
            "successes_before_up".into(),
            json!(self.successes_before_up),
        );
        m.insert("system_id".into(), json!(self.system_id));
        m.insert("asset_id".into(), json!(self.asset_id));
        m.insert("depends_on".into(), json!(self.depends_on));
        m.insert("priority".into(), json!(self.priority));
        m.insert("paused".into(), json!(self.paused != 0));
        m.insert("auto_resolve".into(), json!(self.auto_resolve != 0));
        m.insert("config".into(), Value::Object(self.config_map()));
        m
    }

    pub fn to_json(&self) -> Value {
        let mut m = self.definition();
        m.insert("id".into(), json!(self.id));
        m.insert("state".into(), json!(self.state));
        m.insert(
            "state_label".into(),
            json!(crate::domain::monitor::spec::label(
                crate::domain::monitor::spec::STATES,
                &self.state
            )),
        );
        m.insert("state_since".into(), json!(rfc3339(self.state_since)));
        m.insert(
            "last_check_at".into(),
            json!(self.last_check_at.map(rfc3339)),
        );
        m.insert("last_ok".into(), json!(self.last_ok.map(|v| v != 0)));
        m.insert("last_latency_ms".into(), json!(self.last_latency_ms));
        m.insert("last_phase".into(), json!(self.last_phase));
        m.insert("last_message".into(), json!(self.last_message));
        if self.kind == "heartbeat" {
            m.insert("token".into(), json!(self.token));
            m.insert(
                "heartbeat_url".into(),
                json!(
                    self.token
                        .as_ref()
                        .map(|t| format!("/api/v1/heartbeat/{t}"))
                ),
            );
            m.insert(
                "last_ping_at".into(),
                json!(self.hb_last_ping_at.map(rfc3339)),
            );
        }
        if self.secret_enc.is_some() {
            m.insert("has_secret".into(), json!(true));
        }
        m.insert("created_at".into(), json!(rfc3339(self.created_at)));
        m.insert("updated_at".into(), json!(rfc3339(self.updated_at)));
        Value::Object(m)
    }
}

#[derive(Clone, Debug, Default)]
pub struct MonitorFilter {
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub q: Option<String>,
}

/// One probe or heartbeat result to store.
#[derive(Clone, Debug)]
pub struct NewResult {
    pub monitor_id: i64,
    pub at: i64,
    pub covers_ms: i64,
    pub ok: bool,
    /// up | down | maintenance | unknown
    pub class: &'static str,
    pub latency_ms: Option<f64>,
    pub phase: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ResultRow {
    pub id: i64,
    pub at: i64,
    pub ok: i64,
    pub class: String,
    pub latency_ms: Option<f64>,
    pub phase: Option<String>,
    pub message: Option<String>,
}

impl ResultRow {
    pub fn to_json(&self) -> Value {
        json!({"at": rfc3339(self.at), "ok": self.ok != 0, "class": self.class, "latency_ms": self.latency_ms,
               "phase": self.phase, "message": self.message})
    }
}

/// The persisted part of a monitor's state machine.
#[derive(Clone, Debug)]
pub struct SavedState {
    pub state: String,
    pub base_state: String,
    pub state_since: i64,
    pub consecutive_failures: i64,
    pub consecutive_successes: i64,
    pub last_check_at: i64,
    pub last_ok: bool,
    pub last_latency_ms: Option<f64>,
    pub last_phase: Option<String>,
    pub last_message: Option<String>,
}

/// Milliseconds per class over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    pub up_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
    pub unknown_ms: i64,
    pub checks: i64,
    pub failures: i64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.up_ms += o.up_ms;
        self.down_ms += o.down_ms;
        self.maintenance_ms += o.maintenance_ms;
        self.unknown_ms += o.unknown_ms;
        self.checks += o.checks;
        self.failures += o.failures;
    }

    pub fn availability(&self) -> Option<f64> {
        let known = self.up_ms + self.down_ms;
        (known > 0).then(|| self.up_ms as f64 / known as f64)
    }

    pub fn to_json(&self) -> Value {
        json!({"availability": self.availability(), "up_seconds": self.up_ms / 1000, "down_seconds": self.down_ms / 1000,
               "unknown_seconds": self.unknown_ms / 1000, "maintenance_seconds": self.maintenance_ms / 1000,
               "checks": self.checks, "failures": self.failures})
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MaintenanceRow {
    pub id: i64,
    pub monitor_id: Option<i64>,
    pub system_id: Option<i64>,
    pub reason: String,
    pub owner: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub recurrence: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

impl MaintenanceRow {
    pub fn to_json(&self) -> Value {
        let rec: Value = self
            .recurrence
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        json!({"id": self.id, "monitor_id": self.monitor_id, "system_id": self.system_id, "reason": self.reason,
               "owner": self.owner, "starts_at": rfc3339(self.starts_at), "ends_at": rfc3339(self.ends_at),
               "recurrence": rec, "created_at": rfc3339(self.created_at)})
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub dedup_key: String,
    pub source: String,
    pub integration_id: Option<i64>,
    pub monitor_id: Option<i64>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub status: String,
    pub priority: String,
    pub title: String,
    pub description: Option<String>,
    pub labels: Option<String>,
    pub ticket_id: Option<i64>,
    pub episodes: i64,
    pub fire_count: i64,
    pub started_at: i64,
    pub last_fired_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub escalated_at: Option<i64>,
    pub silenced_until: Option<i64>,
    pub silence_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AlertRow {
    pub fn to_json(&self, now_ms: i64) -> Value {
        let labels: Value = self
            .labels
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        json!({"id": self.id, "dedup_key": self.dedup_key, "source": self.source, "integration_id": self.integration_id,
               "monitor_id": self.monitor_id, "system_id": self.system_id, "asset_id": self.asset_id, "status": self.status,
               "priority": self.priority, "title": self.title, "description": self.description, "labels": labels,
               "ticket_id": self.ticket_id, "episodes": self.episodes, "fire_count": self.fire_count,
               "started_at": rfc3339(self.started_at), "last_fired_at": rfc3339(self.last_fired_at),
               "acknowledged_at": self.acknowledged_at.map(rfc3339), "acknowledged_by": self.acknowledged_by,
               "resolved_at": self.resolved_at.map(rfc3339), "escalated_at": self.escalated_at.map(rfc3339),
               "silenced": self.silenced_until.is_some_and(|s| s > now_ms),
               "silenced_until": self.silenced_until.map(rfc3339), "silence_reason": self.silence_reason})
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AlertEventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub summary: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub token_hash: String,
    pub system_id: Option<i64>,
    pub enabled: i64,
    pub last_event_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IntegrationRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "kind": self.kind, "name": self.name, "system_id": self.system_id, "enabled": self.enabled != 0,
               "url": format!("/api/v1/integrations/{}", self.kind),
               "last_event_at": self.last_event_at.map(rfc3339), "created_at": rfc3339(self.created_at)})
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ShiftRow {
    pub id: i64,
    pub user_id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub role: String,
    pub note: Option<String>,
    pub created_at: i64,
}

impl ShiftRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "user_id": self.user_id, "starts_at": rfc3339(self.starts_at), "ends_at": rfc3339(self.ends_at),
               "role": self.role, "note": self.note})
    }
}

const MONITOR_COLS: &str = "id, name, kind, target, interval_s, timeout_ms, failures_before_down, successes_before_up, \
     system_id, asset_id, depends_on, priority, config, secret_enc, token, paused, auto_resolve, state, base_state, state_since, \
     consecutive_failures, consecutive_successes, last_check_at, last_ok, last_latency_ms, last_phase, last_message, \
     hb_last_ping_at, hb_started_at, created_at, updated_at";

const ALERT_COLS: &str = "id, dedup_key, source, integration_id, monitor_id, system_id, asset_id, status, priority, \
     title, description, labels, ticket_id, episodes, fire_count, started_at, last_fired_at, acknowledged_at, \
     acknowledged_by, resolved_at, escalated_at, silenced_until, silence_reason, created_at, updated_at";

/// SQL for the milliseconds each result covers inside [$1, $2), clipped.
const CLIPPED: &str = "(CASE WHEN at + covers_ms > $2 THEN $2 ELSE at + covers_ms END) - (CASE WHEN at < $1 THEN $1 ELSE at END)";

/// Deletes one row by id from a table named in code; `NotFound` when there was none.
async fn delete_row(tx: &mut Tx, table: &'static str, id: i64) -> StoreResult<()> {
    let n = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = $1")))
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
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
        let state = if d.paused { "paused" } else { "pending" };
        Ok(sqlx::query_scalar(
            "INSERT INTO monitors (name, kind, target, interval_s, timeout_ms, failures_before_down, successes_before_up, \
             system_id, asset_id, depends_on, priority, config, secret_enc, token, paused, state, base_state, state_since, created_at, updated_at, auto_resolve) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'pending', $17, $17, $17, $18) RETURNING id",
        )
        .bind(d.name.clone())
        .bind(d.kind.clone())
        .bind(d.target.clone())
        .bind(d.interval_s)
        .bind(d.timeout_ms)
        .bind(d.failures_before_down)
        .bind(d.successes_before_up)
        .bind(d.system_id)
        .bind(d.asset_id)
        .bind(d.depends_on)
        .bind(d.priority.clone())
        .bind(Value::Object(d.config.clone()).to_string())
        .bind(secret_enc)
        .bind(token)
        .bind(i64::from(d.paused))
        .bind(state.to_string())
        .bind(now_ms)
        .bind(i64::from(d.auto_resolve))
        .fetch_one(&mut **tx)
        .await?)
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
        let reset = if reset_state {
            ", state = $15, base_state = 'pending', state_since = $14, consecutive_failures = 0, consecutive_successes = 0"
        } else {
            ""
        };
        let state = if d.paused { "paused" } else { "pending" };
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE monitors SET name = $1, kind = $2, target = $3, interval_s = $4, timeout_ms = $5, failures_before_down = $6, \
             successes_before_up = $7, system_id = $8, asset_id = $9, depends_on = $10, priority = $11, config = $12, \
             secret_enc = $13, updated_at = $14, paused = $16, auto_resolve = $18{reset} WHERE id = $17"
        )))
        .bind(d.name.clone())
        .bind(d.kind.clone())
        .bind(d.target.clone())
        .bind(d.interval_s)
        .bind(d.timeout_ms)
        .bind(d.failures_before_down)
        .bind(d.successes_before_up)
        .bind(d.system_id)
        .bind(d.asset_id)
        .bind(d.depends_on)
        .bind(d.priority.clone())
        .bind(Value::Object(d.config.clone()).to_string())
        .bind(secret_enc)
        .bind(now_ms)
        .bind(state.to_string())
        .bind(i64::from(d.paused))
        .bind(id)
        .bind(i64::from(d.auto_resolve))
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_monitor(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_row(tx, "monitors", id).await
    }

    pub async fn monitor(&self, id: i64) -> StoreResult<MonitorRow> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MONITOR_COLS} FROM monitors WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn monitor_by_token(&self, token: &str) -> StoreResult<MonitorRow> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MONITOR_COLS} FROM monitors WHERE token = $1 AND kind = 'heartbeat'"
        )))
        .bind(token.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn all_monitors(&self) -> StoreResult<Vec<MonitorRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MONITOR_COLS} FROM monitors ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn list_monitors(
        &self,
        f: &MonitorFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<MonitorRow>, i64)> {
        let mut wh = vec!["1=1".to_string()];
        let mut args: Vec<Arg> = Vec::new();
        let mut push = |cond: &str, a: Arg| {
            args.push(a);
            wh.push(cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(s) = f.system_id {
            push("system_id = ?", Arg::Int(Some(s)));
        }
        if let Some(s) = f.asset_id {
            push("asset_id = ?", Arg::Int(Some(s)));
        }
        if let Some(k) = &f.kind {
            push("kind = ?", Arg::Text(Some(k.clone())));
        }
        if let Some(s) = &f.state {
            push("state = ?", Arg::Text(Some(s.clone())));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            push(
                "(LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(target) LIKE ? ESCAPE '\\')",
                Arg::Text(Some(like_pattern(q))),
            );
        }
        let where_sql = wh.join(" AND ");
        let total: i64 = bind_all(
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM monitors WHERE {where_sql}"
            ))),
            &args,
        )
        .fetch_one(self.pool())
        .await?;
        let n = args.len();
        let mut args2 = args.clone();
        args2.push(Arg::Int(Some(limit)));
        args2.push(Arg::Int(Some(offset)));
        let rows = bind_all_as(
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {MONITOR_COLS} FROM monitors WHERE {where_sql} ORDER BY id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ))),
            &args2,
        )
        .fetch_all(self.pool())
        .await?;
        Ok((rows, total))
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
        sqlx::query(
            "UPDATE monitors SET state = $1, state_since = $2 WHERE id = $3 AND state <> $1",
        )
        .bind(state.to_string())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
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
            super::entities::bind_query(sqlx::query(AssertSqlSafe(sql)), &args)
                .execute(&mut **tx)
                .await?;
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
        Ok(sqlx::query_as(
            "SELECT monitor_id, at FROM monitor_state_changes WHERE at >= $1 \
             AND ((from_state = 'up' AND to_state = 'down') OR (from_state = 'down' AND to_state = 'up') \
                  OR to_state = 'flapping') ORDER BY at",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn state_changes(&self, id: i64, limit: i64) -> StoreResult<Vec<Value>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, from_state, to_state, reason FROM monitor_state_changes WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(self.pool())
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
        Ok(sqlx::query_as(
            "SELECT id, at, ok, class, latency_ms, phase, message FROM monitor_results \
             WHERE monitor_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC LIMIT $4",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
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
        let rows: Vec<(i64, i64, Option<f64>, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT monitor_id, at, latency_ms, ok FROM monitor_results WHERE monitor_id IN ({}) AND at >= $1 ORDER BY at",
            list.join(",")
        )))
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        for (m, at, l, ok) in rows {
            out.entry(m).or_default().push((at, l, ok != 0));
        }
        Ok(out)
    }

    /// A finished run: its time is the last ping, and the run's start is cleared.
    pub async fn heartbeat_ping(&self, tx: &mut Tx, id: i64, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE monitors SET hb_last_ping_at = $1, hb_started_at = NULL WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn heartbeat_start(&self, tx: &mut Tx, id: i64, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE monitors SET hb_started_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

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
        let rows: Vec<Row> =
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT monitor_id, \
                 CAST(SUM(CASE WHEN class = 'up' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN class = 'down' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN class = 'maintenance' THEN {CLIPPED} ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN at >= $1 THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN at >= $1 AND ok = 0 THEN 1 ELSE 0 END) AS BIGINT), \
                 AVG(CASE WHEN at >= $1 THEN latency_ms END), MAX(CASE WHEN at >= $1 THEN latency_ms END) \
                 FROM monitor_results WHERE at >= $3 AND at < $2 AND at + covers_ms > $1{filter} GROUP BY monitor_id"
            )))
            .bind(from)
            .bind(to)
            .bind(from - 86_400_000)
            .fetch_all(self.pool())
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
        for (m, t, avg, max) in rows {
            sqlx::query(
                "INSERT INTO monitor_rollups (monitor_id, hour, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures, latency_avg_ms, latency_max_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, -1.0), NULLIF($10, -1.0)) \
                 ON CONFLICT (monitor_id, hour) DO UPDATE SET up_ms = excluded.up_ms, down_ms = excluded.down_ms, \
                 maintenance_ms = excluded.maintenance_ms, unknown_ms = excluded.unknown_ms, checks = excluded.checks, \
                 failures = excluded.failures, latency_avg_ms = excluded.latency_avg_ms, latency_max_ms = excluded.latency_max_ms",
            )
            .bind(*m)
            .bind(hour)
            .bind(t.up_ms)
            .bind(t.down_ms)
            .bind(t.maintenance_ms)
            .bind(t.unknown_ms)
            .bind(t.checks)
            .bind(t.failures)
            .bind(avg.unwrap_or(-1.0))
            .bind(max.unwrap_or(-1.0))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Recomputes the daily rollups of the Beijing day `[day, day + 24 h)` from its hours.
    pub async fn roll_day(&self, tx: &mut Tx, day: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO monitor_daily (monitor_id, day, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures) \
             SELECT monitor_id, $1, CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
                    CAST(SUM(unknown_ms) AS BIGINT), CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM monitor_rollups WHERE hour >= $1 AND hour < $2 GROUP BY monitor_id \
             ON CONFLICT (monitor_id, day) DO UPDATE SET up_ms = excluded.up_ms, down_ms = excluded.down_ms, \
             maintenance_ms = excluded.maintenance_ms, unknown_ms = excluded.unknown_ms, checks = excluded.checks, \
             failures = excluded.failures",
        )
        .bind(day)
        .bind(day + 86_400_000)
        .execute(&mut **tx)
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
        let row: Sums = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
             CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM {table} WHERE monitor_id = $1 AND {col} >= $2 AND {col} < $3"
        )))
        .bind(id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
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
        Ok(sqlx::query_scalar("SELECT MAX(hour) FROM monitor_rollups")
            .fetch_one(self.pool())
            .await?)
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
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT hour, CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), CAST(SUM(maintenance_ms) AS BIGINT), \
             CAST(SUM(unknown_ms) AS BIGINT), CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM monitor_rollups WHERE monitor_id IN ({}) AND hour >= $1 AND hour < $2 GROUP BY hour ORDER BY hour",
            list.join(",")
        )))
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
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
        Ok(
            sqlx::query_as("SELECT id, created_at FROM monitors WHERE system_id = $1 ORDER BY id")
                .bind(system_id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn purge_results(&self, before: i64, rollups_before: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM monitor_results WHERE at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM monitor_rollups WHERE hour < $1")
            .bind(rollups_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM monitor_daily WHERE day < $1")
            .bind(rollups_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
        Ok(sqlx::query_as(
            "SELECT id, monitor_id, system_id, reason, owner, starts_at, ends_at, recurrence, created_by, created_at \
             FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at",
        )
        .bind(active_after)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn maintenance_window(&self, id: i64) -> StoreResult<MaintenanceRow> {
        sqlx::query_as(
            "SELECT id, monitor_id, system_id, reason, owner, starts_at, ends_at, recurrence, created_by, created_at \
             FROM maintenance_windows WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn delete_maintenance(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_row(tx, "maintenance_windows", id).await
    }

    // ---- alerts ------------------------------------------------------------------------

    pub async fn alert_by_key_tx(&self, tx: &mut Tx, key: &str) -> StoreResult<Option<AlertRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE dedup_key = $1"
        )))
        .bind(key.to_string())
        .fetch_optional(&mut **tx)
        .await?)
    }

    pub async fn alert(&self, id: i64) -> StoreResult<AlertRow> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)
    }

    pub async fn alert_tx(&self, tx: &mut Tx, id: i64) -> StoreResult<AlertRow> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_alert(
        &self,
        tx: &mut Tx,
        key: &str,
        source: &str,
        integration_id: Option<i64>,
        monitor_id: Option<i64>,
        system_id: Option<i64>,
        asset_id: Option<i64>,
        priority: &str,
        title: &str,
        description: Option<&str>,
        labels: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO alerts (dedup_key, source, integration_id, monitor_id, system_id, asset_id, status, priority, title, \
             description, labels, episodes, fire_count, started_at, last_fired_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, 1, 1, $11, $11, $11, $11) RETURNING id",
        )
        .bind(key.to_string())
        .bind(source.to_string())
        .bind(integration_id)
        .bind(monitor_id)
        .bind(system_id)
        .bind(asset_id)
        .bind(priority.to_string())
        .bind(title.to_string())
        .bind(description.map(str::to_string))
        .bind(labels)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// A firing alert fired again: one more firing, now the last.
    pub async fn record_alert_refire(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "fire_count = fire_count + 1, last_fired_at = $1",
            now_ms,
            &[],
        )
        .await
    }

    /// A resolved alert fires again: a new episode starting now, unacknowledged and not
    /// escalated, with the firing's title, priority and description.
    pub async fn reopen_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        title: &str,
        priority: &str,
        description: Option<&str>,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "status = 'firing', episodes = episodes + 1, fire_count = fire_count + 1, started_at = $1, \
             last_fired_at = $1, resolved_at = NULL, acknowledged_at = NULL, acknowledged_by = NULL, \
             escalated_at = NULL, title = $3, priority = $4, description = $5",
            now_ms,
            &[
                Arg::Text(Some(title.to_string())),
                Arg::Text(Some(priority.to_string())),
                Arg::Text(description.map(str::to_string)),
            ],
        )
        .await
    }

    pub async fn resolve_alert(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(tx, id, "status = 'resolved', resolved_at = $1", now_ms, &[])
            .await
    }

    pub async fn acknowledge_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        by: &str,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $3",
            now_ms,
            &[Arg::Text(Some(by.to_string()))],
        )
        .await
    }

    /// Silences notifications about an alert until `until_ms`.
    pub async fn silence_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        until_ms: i64,
        reason: &str,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "silenced_until = $3, silence_reason = $4",
            now_ms,
            &[
                Arg::Int(Some(until_ms)),
                Arg::Text(Some(reason.to_string())),
            ],
        )
        .await
    }

    pub async fn mark_alert_escalated(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(tx, id, "escalated_at = $1", now_ms, &[])
            .await
    }

    /// Links an alert to the ticket opened for it.
    pub async fn set_alert_ticket(
        &self,
        tx: &mut Tx,
        id: i64,
        ticket_id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "ticket_id = $3",
            now_ms,
            &[Arg::Int(Some(ticket_id))],
        )
        .await
    }

    /// Runs an UPDATE on one alert with `$1` = now and `$2` = id, plus extra arguments;
    /// `set_sql` is always one of the constants above, never a caller's text.
    async fn update_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        set_sql: &'static str,
        now_ms: i64,
        extra: &[Arg],
    ) -> StoreResult<()> {
        let mut args = vec![Arg::Int(Some(now_ms)), Arg::Int(Some(id))];
        args.extend_from_slice(extra);
        super::entities::bind_query(
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE alerts SET updated_at = $1, {set_sql} WHERE id = $2"
            ))),
            &args,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records an alert event; answers false when its idempotency key was seen before.
    pub async fn add_alert_event(
        &self,
        tx: &mut Tx,
        alert_id: i64,
        at: i64,
        kind: &str,
        summary: &str,
        key: Option<&str>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO alert_events (alert_id, at, kind, summary, idempotency_key) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(alert_id)
        .bind(at)
        .bind(kind.to_string())
        .bind(summary.to_string())
        .bind(key.map(str::to_string))
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    pub async fn alert_event_seen(&self, tx: &mut Tx, key: &str) -> StoreResult<bool> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT id FROM alert_events WHERE idempotency_key = $1")
                .bind(key.to_string())
                .fetch_optional(&mut **tx)
                .await?;
        Ok(n.is_some())
    }

    pub async fn alert_events(&self, alert_id: i64) -> StoreResult<Vec<AlertEventRow>> {
        Ok(sqlx::query_as(
            "SELECT id, at, kind, summary FROM alert_events WHERE alert_id = $1 ORDER BY id",
        )
        .bind(alert_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn list_alerts(
        &self,
        status: Option<&str>,
        source: Option<&str>,
        system_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<AlertRow>, i64)> {
        let mut wh = vec!["1=1".to_string()];
        let mut args = Vec::new();
        match status {
            Some("open") => wh.push("status <> 'resolved'".into()),
            Some(s) => {
                args.push(Arg::Text(Some(s.to_string())));
                wh.push(format!("status = ${}", args.len()));
            }
            None => {}
        }
        if let Some(s) = source {
            args.push(Arg::Text(Some(s.to_string())));
            wh.push(format!("source = ${}", args.len()));
        }
        if let Some(s) = system_id {
            args.push(Arg::Int(Some(s)));
            wh.push(format!("system_id = ${}", args.len()));
        }
        let w = wh.join(" AND ");
        let total: i64 = bind_all(
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM alerts WHERE {w}"
            ))),
            &args,
        )
        .fetch_one(self.pool())
        .await?;
        let n = args.len();
        args.push(Arg::Int(Some(limit)));
        args.push(Arg::Int(Some(offset)));
        let rows = bind_all_as(
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {ALERT_COLS} FROM alerts WHERE {w} ORDER BY last_fired_at DESC, id DESC LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ))),
            &args,
        )
        .fetch_all(self.pool())
        .await?;
        Ok((rows, total))
    }

    /// Firing alerts nobody acknowledged since `before` and not yet escalated.
    pub async fn alerts_to_escalate(&self, before: i64, now_ms: i64) -> StoreResult<Vec<AlertRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE status = 'firing' AND escalated_at IS NULL AND started_at <= $1 \
             AND (silenced_until IS NULL OR silenced_until <= $2) ORDER BY id"
        )))
        .bind(before)
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?)
    }

    /// Alerts of a ticket still firing: acknowledging the ticket acknowledges them.
    pub async fn acknowledge_alerts_of_ticket(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        who: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<i64>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM alerts WHERE ticket_id = $1 AND status = 'firing'")
                .bind(ticket_id)
                .fetch_all(&mut **tx)
                .await?;
        for id in &ids {
            sqlx::query(
                "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1 WHERE id = $3",
            )
            .bind(now_ms)
            .bind(who.to_string())
            .bind(*id)
            .execute(&mut **tx)
            .await?;
            self.add_alert_event(
                tx,
                *id,
                now_ms,
                "acknowledged",
                &format!("{who} 受理工单，告警已确认"),
                None,
            )
            .await?;
        }
        Ok(ids)
    }

    pub async fn open_alert_for_monitor(&self, monitor_id: i64) -> StoreResult<bool> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM alerts WHERE dedup_key = $1 AND status <> 'resolved'",
        )
        .bind(format!("monitor:{monitor_id}"))
        .fetch_optional(self.pool())
        .await?;
        Ok(n.is_some())
    }

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
        delete_row(tx, "integrations", id).await
    }

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
