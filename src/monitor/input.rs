//! The accepted request bodies of monitoring's use cases (monitors, maintenance windows,
//! silences, integrations, the duty roster, intake), as typed structs: the OpenAPI
//! document's schemas, and for maintenance windows, silences, integrations, shifts and
//! generic events the use case's input itself (decoded with
//! `crate::domain::input::decode`, Chinese names in [`Labels`]). The monitor inputs live
//! in the domain (`domain::monitor::input`) and are checked by their spec; a unit test
//! holds their fields to `spec::COMMON_KEYS`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::input::Labels;

pub use crate::domain::monitor::input::{MonitorCreate, MonitorKind, MonitorUpdate, Priority};

/// A weekly recurrence: the weekdays (1 Monday … 7 Sunday) and a daily window.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// Default: every day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<Vec<u32>>,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

/// `POST /maintenance-windows`: a monitor or a system (or neither: everything), and when.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_id: Option<i64>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
}

impl Labels for MaintenanceInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("monitor_id", "监控项"),
        ("system_id", "系统"),
        ("reason", "维护原因"),
        ("owner", "负责人"),
        ("starts_at", "开始时间"),
        ("ends_at", "结束时间"),
        ("recurrence", "重复规则"),
        ("recurrence.weekdays", "重复的星期"),
        ("recurrence.start", "每日开始时间"),
        ("recurrence.end", "每日结束时间"),
    ];
}

/// `POST /alerts/{id}/silence`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceInput {
    pub minutes: i64,
    pub reason: String,
}

impl Labels for SilenceInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("minutes", "静默时长（分钟）"), ("reason", "静默原因")];
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    Alertmanager,
    Zabbix,
    Events,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Alertmanager => "alertmanager",
            IntegrationKind::Zabbix => "zabbix",
            IntegrationKind::Events => "events",
        }
    }
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

impl Labels for IntegrationInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "接入源类型"),
        ("name", "接入源名称"),
        ("system_id", "系统"),
    ];
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftRole {
    Primary,
    Backup,
}

/// `POST /duty-shifts`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    /// An engineer, operator or manager.
    pub user_id: i64,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Default `primary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<ShiftRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ShiftRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ShiftRole::Primary => "primary",
            ShiftRole::Backup => "backup",
        }
    }
}

impl Labels for ShiftInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("user_id", "值班人员"),
        ("starts_at", "开始时间"),
        ("ends_at", "结束时间"),
        ("role", "班次角色"),
        ("note", "备注"),
    ];
}

/// `POST /duty-shifts/copy-week`: the shifts that start in one week (Monday to Sunday,
/// Beijing time) copied to a later week.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyWeekInput {
    /// Any day of the week to copy, `YYYY-MM-DD` (Beijing date).
    #[schema(example = "2025-03-03")]
    pub week: String,
    /// How many weeks later the copies go, 1 to 8 (default 1: the next week).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks_ahead: Option<i64>,
}

impl Labels for CopyWeekInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("week", "要复制的周"), ("weeks_ahead", "复制到几周后")];
}

/// `POST /duty-shifts/swap`: two shifts trade their people.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapInput {
    /// The id of one shift.
    pub first: i64,
    /// The id of the other shift, held by someone else.
    pub second: i64,
}

impl Labels for SwapInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("first", "第一个班次"), ("second", "第二个班次")];
}

/// One alert of an Alertmanager webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    /// `firing` or `resolved` (default: the webhook's status).
    pub status: Option<String>,
    /// `alertname`, `instance`, `severity` (critical, error, warning, info), `system_id`.
    pub labels: Option<HashMap<String, String>>,
    /// `summary`, `description`.
    pub annotations: Option<HashMap<String, String>>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
    pub fingerprint: Option<String>,
}

/// `POST /integrations/alertmanager`: an Alertmanager webhook, version 4 (its other
/// fields, such as `receiver` and `groupLabels`, are accepted and ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AlertmanagerWebhook {
    /// `"4"`.
    #[schema(pattern = "^4$")]
    pub version: String,
    pub status: Option<String>,
    pub alerts: Vec<AlertmanagerAlert>,
}

/// `POST /integrations/zabbix`: the fields the media type of
/// `integrations/zabbix/media_yunwei.yaml` sends (Zabbix macros, as text or numbers).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZabbixEvent {
    /// `{EVENT.ID}`.
    pub event_id: String,
    pub event_name: Option<String>,
    pub alert_subject: Option<String>,
    pub host_name: Option<String>,
    /// `1` problem, `0` recovery.
    pub event_value: Option<String>,
    /// `1` for an update (acknowledgement or comment).
    pub event_update_status: Option<String>,
    pub event_update_message: Option<String>,
    pub event_update_user: Option<String>,
    /// 0 (not classified) to 5 (disaster).
    pub event_nseverity: Option<String>,
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventSeverity {
    Critical,
    Error,
    Warning,
    Info,
}

/// The `payload` of a generic event.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventPayload {
    /// Required to trigger.
    pub summary: Option<String>,
    /// The affected object, e.g. a host name; required to trigger.
    pub source: Option<String>,
    pub severity: Option<EventSeverity>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_details: Option<HashMap<String, Value>>,
}

/// `POST /integrations/events`: an event in the PagerDuty Events v2 format.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub routing_key: Option<String>,
    pub event_action: EventAction,
    /// Required to acknowledge or resolve; derived from summary and source to trigger.
    #[schema(max_length = 255)]
    pub dedup_key: Option<String>,
    pub payload: Option<EventPayload>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub links: Option<Vec<Value>>,
    pub images: Option<Vec<Value>>,
}

impl Labels for EventInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("routing_key", "路由键"),
        ("event_action", "事件动作"),
        ("dedup_key", "去重键"),
        ("payload", "事件内容"),
        ("payload.summary", "告警摘要"),
        ("payload.source", "告警对象"),
        ("payload.severity", "告警级别"),
        ("payload.component", "组件"),
        ("payload.group", "分组"),
        ("payload.class", "类别"),
        ("payload.custom_details", "详情"),
        ("client", "客户端"),
        ("client_url", "客户端地址"),
        ("links", "链接"),
        ("images", "图片"),
    ];
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

    fn unlabelled<T: ToSchema + Labels>() -> Vec<String> {
        fields::<T>()
            .into_iter()
            .filter(|f| !T::LABELS.iter().any(|(k, _)| k == f))
            .collect()
    }

    #[test]
    fn every_field_of_a_typed_input_has_a_chinese_name_for_its_messages() {
        assert_eq!(unlabelled::<MonitorCreate>(), Vec::<String>::new());
        assert_eq!(unlabelled::<MonitorUpdate>(), Vec::<String>::new());
        assert_eq!(unlabelled::<MaintenanceInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<SilenceInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<IntegrationInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<ShiftInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<CopyWeekInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<SwapInput>(), Vec::<String>::new());
        assert_eq!(unlabelled::<EventInput>(), Vec::<String>::new());
    }

    #[test]
    fn a_shift_with_a_bad_role_is_refused_naming_the_choices() {
        let e = crate::domain::input::decode::<ShiftInput>(serde_json::json!({
            "user_id": 1, "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2026-01-02T00:00:00Z", "role": "night"}))
        .unwrap_err()
        .remove(0);
        assert_eq!(e.field, "role");
        assert_eq!(e.message, "班次角色“night”无效，可选：primary、backup");
    }
}
