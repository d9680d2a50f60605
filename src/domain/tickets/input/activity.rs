//! Acting on a ticket: its actions, comments, worklog and links.

use serde::Deserialize;
use utoipa::ToSchema;

use super::fault_report::FaultReport;
use super::{LinkKind, opt_coded, opt_int};
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};
use crate::domain::text::check_field;
use crate::domain::tickets::{Action, TicketId};

/// `POST /tickets/{id}/actions`: the action and the fields it needs.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketAction {
    pub action: Action,
    /// `assign`: the engineer.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub assignee_id: Option<i64>,
    /// `pend`, `reopen`, `cancel`, `assign` to someone else.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub reason: Option<String>,
    /// `resolve`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub resolution: Option<String>,
    /// `resolve` of an incident.
    #[serde(default)]
    pub fault_report: Option<FaultReport>,
    /// `resolve` without a site visit where one is required.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub remote_fix_reason: Option<String>,
    /// `supervise`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
    /// `rate`: 1 to 5.
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(minimum = 1, maximum = 5)]
    pub score: Option<i64>,
    /// `rate`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for TicketAction {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("action", "操作"),
        ("assignee_id", "处理人"),
        ("reason", "原因"),
        ("resolution", "处理结果"),
        ("fault_report", "故障报告"),
        ("remote_fix_reason", "远程解决原因"),
        ("note", "督办意见"),
        ("score", "评分"),
        ("comment", "评价内容"),
        ("symptom", "故障现象"),
        ("impact_scope", "影响范围"),
        ("started_at", "故障开始时间"),
        ("recovered_at", "恢复时间"),
        ("cause", "原因分析"),
        ("handling", "处理过程"),
        ("measures", "整改措施"),
    ];
}

impl TicketAction {
    /// The action with no fields.
    pub fn new(action: Action) -> Self {
        TicketAction {
            action,
            assignee_id: None,
            reason: None,
            resolution: None,
            fault_report: None,
            remote_fix_reason: None,
            note: None,
            score: None,
            comment: None,
        }
    }
}

/// `POST /tickets/{id}/comments`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
    /// Staff only: hidden from the requester.
    #[serde(default)]
    pub internal: Option<bool>,
}

impl Labels for CommentInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("body", "留言内容"), ("internal", "仅内部可见")];
}

impl CommentInput {
    /// The trimmed body, from 1 to 20,000 characters.
    pub fn check(&self) -> Result<&str, Vec<FieldError>> {
        let body = self.body.trim();
        if body.is_empty() || body.chars().count() > 20_000 {
            return Err(vec![FieldError::new(
                "body",
                "请填写留言内容（不超过 20000 个字符）",
            )]);
        }
        Ok(body)
    }
}

/// Longest worklog note, in characters.
pub const WORKLOG_NOTE_MAX: usize = 2_000;

/// `POST /tickets/{id}/worklogs`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorklogInput {
    /// 1 to 1440.
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i64,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
}

impl Labels for WorklogInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("minutes", "工时（分钟）"), ("note", "工作记录说明")];
}

impl WorklogInput {
    /// Minutes in range and the note's length, every problem at once.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errs = Vec::new();
        if !(1..=1440).contains(&self.minutes) {
            errs.push(FieldError::new("minutes", "工时应为 1 到 1440 分钟"));
        }
        if let Some(n) = &self.note
            && let Err(m) = check_field("工作记录说明", n, true, WORKLOG_NOTE_MAX)
        {
            errs.push(FieldError::new("note", m));
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

/// `POST /tickets/{id}/links`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The other ticket.
    #[schema(value_type = i64)]
    pub ticket_id: TicketId,
    /// Default `related`.
    #[serde(default, deserialize_with = "opt_coded")]
    pub kind: Option<LinkKind>,
}

impl Labels for LinkInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("ticket_id", "要关联的工单编号"), ("kind", "关联类型")];
}
