//! The typed inputs of managing notification channels and rules (`notify::manage`), and
//! the OpenAPI document's schemas of their request bodies.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::input::Labels;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
    Wecom,
    Dingtalk,
    Sms,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Sms => "sms",
        }
    }
}

/// `POST /notification-channels`. The keys of `config` depend on the kind (see
/// `channels::keys`): email `host`, `port`, `tls`, `username`, `password`, `from`, `to`;
/// webhook `url`, `secret`; wecom `url`; dingtalk `url`, `secret`; sms `url`,
/// `body_template`, `to`. Secrets are stored encrypted and never shown again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelCreate {
    pub kind: ChannelKind,
    pub name: String,
    /// Default true.
    pub enabled: Option<bool>,
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

impl Labels for ChannelCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "通道类型"),
        ("name", "通道名称"),
        ("enabled", "启用"),
        ("config", "通道配置"),
    ];
}

/// `PATCH /notification-channels/{id}`: the kind cannot change (sending the current one is
/// accepted); a secret left out of `config` keeps its stored value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
    pub kind: Option<ChannelKind>,
    /// Accepted and ignored, so a channel as shown can be sent back.
    pub id: Option<i64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Labels for ChannelUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "通道类型"),
        ("name", "通道名称"),
        ("enabled", "启用"),
        ("config", "通道配置"),
        ("id", "编号"),
        ("created_at", "创建时间"),
        ("updated_at", "修改时间"),
    ];
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
pub enum EventName {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    #[serde(rename = "ticket.supervised")]
    TicketSupervised,
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    #[serde(rename = "ticket.reopened")]
    TicketReopened,
    #[serde(rename = "sla.warning")]
    SlaWarning,
    #[serde(rename = "sla.breached")]
    SlaBreached,
    #[serde(rename = "alert.firing")]
    AlertFiring,
    #[serde(rename = "alert.resolved")]
    AlertResolved,
    #[serde(rename = "alert.escalated")]
    AlertEscalated,
    #[serde(rename = "inspection.overdue")]
    InspectionOverdue,
}

impl EventName {
    pub const ALL: [EventName; 11] = [
        EventName::TicketCreated,
        EventName::TicketAssigned,
        EventName::TicketSupervised,
        EventName::TicketResolved,
        EventName::TicketReopened,
        EventName::SlaWarning,
        EventName::SlaBreached,
        EventName::AlertFiring,
        EventName::AlertResolved,
        EventName::AlertEscalated,
        EventName::InspectionOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventName::TicketCreated => "ticket.created",
            EventName::TicketAssigned => "ticket.assigned",
            EventName::TicketSupervised => "ticket.supervised",
            EventName::TicketResolved => "ticket.resolved",
            EventName::TicketReopened => "ticket.reopened",
            EventName::SlaWarning => "sla.warning",
            EventName::SlaBreached => "sla.breached",
            EventName::AlertFiring => "alert.firing",
            EventName::AlertResolved => "alert.resolved",
            EventName::AlertEscalated => "alert.escalated",
            EventName::InspectionOverdue => "inspection.overdue",
        }
    }
}

/// `POST /notification-rules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleCreate {
    pub event: EventName,
    pub channel_id: i64,
    pub to_assignee: Option<bool>,
    pub to_requester: Option<bool>,
    /// Only tickets of this priority, P1 to P4.
    pub priority: Option<String>,
    /// Only tickets of this system.
    pub system_id: Option<i64>,
}

impl Labels for RuleCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("event", "事件"),
        ("channel_id", "通知通道"),
        ("to_assignee", "通知处理人"),
        ("to_requester", "通知报告人"),
        ("priority", "优先级"),
        ("system_id", "系统"),
    ];
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_events_are_the_events_rules_accept() {
        let v = serde_json::to_value(<super::EventName as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
        let mut documented: Vec<String> = v["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        documented.sort();
        let mut known: Vec<String> = super::super::EVENTS
            .iter()
            .map(|(e, _)| e.to_string())
            .collect();
        known.sort();
        assert_eq!(documented, known);
        let mut listed: Vec<&str> = super::EventName::ALL.iter().map(|e| e.as_str()).collect();
        listed.sort();
        assert_eq!(listed, known);
    }
}
