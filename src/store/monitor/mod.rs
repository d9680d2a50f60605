//! Monitors, their results and rollups, state changes, maintenance windows, alerts,
//! integrations and the duty roster.

mod alerts;
mod availability;
mod integrations;
mod monitors;
mod roster;

use serde_json::{Map, Value, json};

use super::{entities, is_unique_violation};
use crate::clock::rfc3339;

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
