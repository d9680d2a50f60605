//! The accepted request bodies of notification channels and rules, as typed structs: the
//! OpenAPI document's schemas. `web::api::notify` still checks the JSON object field by
//! field.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
    Wecom,
    Dingtalk,
    Sms,
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
    pub config: HashMap<String, Value>,
}

/// `PATCH /notification-channels/{id}`: the kind cannot change (sending the current one is
/// accepted); a secret left out of `config` keeps its stored value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<HashMap<String, Value>>,
    pub kind: Option<ChannelKind>,
    pub id: Option<i64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
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
    }
}
