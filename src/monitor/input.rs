//! The accepted request bodies of monitoring's use cases (monitors, maintenance windows,
//! silences, integrations, the duty roster), as typed structs: the OpenAPI document's
//! schemas. The service still validates the JSON object field by field; a unit test holds
//! the monitor's fields to `spec::COMMON_KEYS`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MonitorKind {
    Http,
    Tcp,
    Icmp,
    Dns,
    Tls,
    Snmp,
    Postgres,
    Mysql,
    Heartbeat,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

/// `POST /monitors`. The keys of `config` depend on the kind (HTTP `method`, `headers`,
/// `body`, `expected_status`, `keyword`, …; SNMP community or v3 credentials; database
/// credentials), see `monitor::spec`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorCreate {
    pub name: String,
    pub kind: MonitorKind,
    /// URL, host, host:port or DSN, by kind; none for a heartbeat.
    pub target: Option<String>,
    /// Seconds between checks (default 60).
    pub interval_s: Option<i64>,
    pub timeout_ms: Option<i64>,
    pub failures_before_down: Option<i64>,
    pub successes_before_up: Option<i64>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    /// A monitor this one depends on: while it is down, this one is unreachable, not down.
    pub depends_on: Option<i64>,
    pub priority: Option<Priority>,
    pub paused: Option<bool>,
    pub auto_resolve: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<HashMap<String, Value>>,
}

/// `PATCH /monitors/{id}`: only the fields to change, merged into the stored definition
/// and validated as a whole. The kind cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorUpdate {
    pub name: Option<String>,
    pub kind: Option<MonitorKind>,
    pub target: Option<String>,
    pub interval_s: Option<i64>,
    pub timeout_ms: Option<i64>,
    pub failures_before_down: Option<i64>,
    pub successes_before_up: Option<i64>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub depends_on: Option<i64>,
    pub priority: Option<Priority>,
    pub paused: Option<bool>,
    pub auto_resolve: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<HashMap<String, Value>>,
}

/// A weekly recurrence: the weekdays (1 Monday … 7 Sunday) and a daily window.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// Default: every day.
    pub weekdays: Option<Vec<u32>>,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

/// `POST /maintenance-windows`: a monitor or a system (or neither: everything), and when.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceInput {
    pub monitor_id: Option<i64>,
    pub system_id: Option<i64>,
    pub reason: String,
    pub owner: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub recurrence: Option<Recurrence>,
}

/// `POST /alerts/{id}/silence`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceInput {
    pub minutes: i64,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    Alertmanager,
    Zabbix,
    Events,
}

/// `POST /integrations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    pub kind: IntegrationKind,
    pub name: String,
    /// The system whose tickets the alerts of this source open.
    pub system_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftRole {
    Primary,
    Backup,
}

/// `POST /duty-shifts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    /// An engineer, operator or manager.
    pub user_id: i64,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Default `primary`.
    pub role: Option<ShiftRole>,
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<T: ToSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).unwrap_or_default();
        let mut keys: Vec<String> = v["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    #[test]
    fn the_documented_monitor_bodies_list_exactly_the_fields_the_service_accepts() {
        let mut common: Vec<String> = super::super::spec::COMMON_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        common.sort();
        assert_eq!(fields::<MonitorCreate>(), common);
        assert_eq!(fields::<MonitorUpdate>(), common);
    }
}
