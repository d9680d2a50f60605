//! The accepted request bodies of the desk's use cases (tickets, comments, worklog, links,
//! calendar days), as typed structs: the OpenAPI document's schemas. The service still
//! validates the JSON object field by field; a unit test holds these field lists to the
//! service's own (`CREATE_KEYS`, `ACTION_KEYS`, `UPDATE_KEYS`).

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Incident,
    Request,
    Problem,
    Change,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    Upgrade,
    Optimisation,
    VulnerabilityFix,
    Configuration,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    Portal,
    Phone,
    OnSite,
    Api,
    Monitoring,
    Inspection,
}

/// Impact or urgency.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    High,
    Medium,
    Low,
}

/// `POST /tickets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    pub kind: TicketKind,
    /// Required for a change.
    pub change_type: Option<ChangeType>,
    #[schema(max_length = 200)]
    pub title: String,
    pub description: Option<String>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub category: Option<String>,
    pub source: Option<TicketSource>,
    pub requester_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    /// RFC 3339; staff logging a call may give an earlier time.
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub assignee_id: Option<i64>,
}

/// `PATCH /tickets/{id}`: only the fields to change (`id` and `number` are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    #[schema(max_length = 200)]
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub id: Option<i64>,
    pub number: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Assign,
    Start,
    Pend,
    Resume,
    CheckIn,
    Resolve,
    Close,
    Reopen,
    Cancel,
    Supervise,
    Rate,
}

/// The fault report a resolved incident carries: every field, times in RFC 3339.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FaultReport {
    pub symptom: String,
    pub impact_scope: String,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub recovered_at: String,
    pub cause: String,
    pub handling: String,
    pub measures: String,
}

/// `POST /tickets/{id}/actions`: the action and the fields it needs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketAction {
    pub action: ActionKind,
    /// `assign`: the engineer.
    pub assignee_id: Option<i64>,
    /// `pend`, `reopen`, `cancel`, `supervise`.
    pub reason: Option<String>,
    /// `resolve`.
    pub resolution: Option<String>,
    /// `resolve` of an incident.
    pub fault_report: Option<FaultReport>,
    /// `resolve` without a site visit where one is required.
    pub remote_fix_reason: Option<String>,
    pub note: Option<String>,
    /// `rate`: 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub score: Option<i64>,
    /// `rate`.
    pub comment: Option<String>,
}

/// `POST /tickets/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentInput {
    pub body: String,
    /// Staff only: hidden from the requester.
    pub internal: Option<bool>,
}

/// `POST /tickets/{id}/worklogs`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorklogInput {
    pub minutes: i64,
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Related,
    Duplicate,
    CausedBy,
    Parent,
    Child,
}

/// `POST /tickets/{id}/links`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkInput {
    pub ticket_id: i64,
    /// Default `related`.
    pub kind: Option<LinkKind>,
}

/// `PUT /calendars/{id}/days/{date}`: `working` true (working day), false (holiday) or
/// null (back to the weekday rule).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CalendarDayInput {
    #[schema(value_type = Option<bool>)]
    pub working: Value,
    pub reason: Option<String>,
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

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn the_documented_bodies_list_exactly_the_fields_the_desk_accepts() {
        assert_eq!(
            fields::<TicketCreate>(),
            sorted(super::super::open::CREATE_KEYS)
        );
        assert_eq!(
            fields::<TicketAction>(),
            sorted(super::super::lifecycle::ACTION_KEYS)
        );
        assert_eq!(
            fields::<TicketUpdate>(),
            sorted(super::super::edit::UPDATE_KEYS)
        );
        let report: Vec<&str> = crate::domain::tickets::FAULT_REPORT_FIELDS
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(fields::<FaultReport>(), sorted(&report));
    }
}
