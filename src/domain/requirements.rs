//! Requirements and improvements (需求和功能改进清单): the typed inputs of a requirement,
//! its life cycle (which status may follow which, when a reason is required, who may move
//! it where) and the counts per status of a list. Pure: no I/O.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::{Labels, de};
use super::roles::Role;

/// Where a requirement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// 用户提出.
    User,
    /// 巡检发现.
    Inspection,
    /// 问题工单.
    ProblemTicket,
    /// 监理或采购单位提出.
    Supervisor,
}

pub const SOURCES: [Source; 4] = [
    Source::User,
    Source::Inspection,
    Source::ProblemTicket,
    Source::Supervisor,
];

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::Inspection => "inspection",
            Source::ProblemTicket => "problem_ticket",
            Source::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        SOURCES.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::User => "用户提出",
            Source::Inspection => "巡检发现",
            Source::ProblemTicket => "问题工单",
            Source::Supervisor => "监理/采购单位",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    High,
    Medium,
    Low,
}

pub const PRIORITIES: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        PRIORITIES.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Priority::High => "高",
            Priority::Medium => "中",
            Priority::Low => "低",
        }
    }
}

/// Where a requirement stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Proposed,
    Analysing,
    Approved,
    Scheduled,
    InDevelopment,
    Delivered,
    Verified,
    Rejected,
}

pub const STATUSES: [Status; 8] = [
    Status::Proposed,
    Status::Analysing,
    Status::Approved,
    Status::Scheduled,
    Status::InDevelopment,
    Status::Delivered,
    Status::Verified,
    Status::Rejected,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Analysing => "analysing",
            Status::Approved => "approved",
            Status::Scheduled => "scheduled",
            Status::InDevelopment => "in_development",
            Status::Delivered => "delivered",
            Status::Verified => "verified",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        STATUSES.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Proposed => "已提出",
            Status::Analysing => "分析中",
            Status::Approved => "已批准",
            Status::Scheduled => "已排期",
            Status::InDevelopment => "开发中",
            Status::Delivered => "已交付",
            Status::Verified => "已验证",
            Status::Rejected => "已驳回",
        }
    }

    /// The statuses that may follow this one.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Proposed => &[Status::Analysing, Status::Rejected],
            Status::Analysing => &[Status::Approved, Status::Rejected],
            Status::Approved => &[Status::Scheduled],
            Status::Scheduled => &[Status::InDevelopment],
            Status::InDevelopment => &[Status::Delivered],
            Status::Delivered => &[Status::Verified, Status::InDevelopment],
            Status::Verified | Status::Rejected => &[],
        }
    }

    /// No status follows.
    pub fn is_final(self) -> bool {
        self.next().is_empty()
    }

    /// Position along the way forward (rejected, off the way, last).
    fn rank(self) -> usize {
        STATUSES.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Whether `role` may move a requirement to `to`: the manager and the admin through the
/// work (analysing … delivered, and rejected); `verified` only the purchaser
/// (`supervisor`), 监理 (`auditor`) or the manager.
pub fn may_move(role: Role, to: Status) -> bool {
    match to {
        Status::Verified => matches!(role, Role::Supervisor | Role::Auditor | Role::Manager),
        Status::Proposed => false,
        _ => matches!(role, Role::Manager | Role::Admin),
    }
}

/// The statuses `role` may move a requirement standing at `from` to: those that may follow
/// it and that the role may give, in the order of the life cycle. What the page offers as
/// buttons; `check_transition` and `may_move` still decide each request.
pub fn allowed_moves(role: Role, from: Status) -> Vec<Status> {
    from.next()
        .iter()
        .copied()
        .filter(|to| may_move(role, *to))
        .collect()
}

/// Whether moving `from` to `to` needs a reason: rejecting, and going back.
pub fn needs_reason(from: Status, to: Status) -> bool {
    to == Status::Rejected || to.rank() < from.rank()
}

/// Whether `role` may propose a requirement.
pub fn may_propose(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Manager | Role::Operator | Role::Engineer | Role::Requester
    )
}

/// `POST /requirements`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementCreate {
    /// The inventory system concerned.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub system_id: Option<i64>,
    /// The service line that collected it.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub line_id: Option<i64>,
    pub source: Source,
    pub title: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    pub priority: Priority,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub proposer_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub proposer_org: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub planned_date: Option<String>,
    /// The linked change tickets.
    #[serde(default)]
    pub ticket_ids: Vec<i64>,
}

pub const REQUIREMENT_LABELS: &[(&str, &str)] = &[
    ("system_id", "系统"),
    ("line_id", "服务条线"),
    ("source", "来源"),
    ("title", "需求名称"),
    ("description", "需求描述"),
    ("priority", "优先级"),
    ("status", "状态"),
    ("proposer_name", "提出人"),
    ("proposer_org", "提出单位"),
    ("planned_date", "计划完成日期"),
    ("ticket_ids", "关联变更工单"),
    ("to", "目标状态"),
    ("reason", "原因"),
];

impl Labels for RequirementCreate {
    const LABELS: &'static [(&'static str, &'static str)] = REQUIREMENT_LABELS;
}

/// `PATCH /requirements/{id}`: the fields to change; `null` clears an optional one.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementPatch {
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub system_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub line_id: Option<Option<i64>>,
    pub source: Option<Source>,
    pub title: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub proposer_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub proposer_org: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub planned_date: Option<Option<String>>,
    /// Replaces the linked change tickets.
    pub ticket_ids: Option<Vec<i64>>,
}

impl Labels for RequirementPatch {
    const LABELS: &'static [(&'static str, &'static str)] = REQUIREMENT_LABELS;
}

impl RequirementPatch {
    /// The requirement after the change, for checking as a whole.
    pub fn apply(self, mut r: RequirementCreate) -> RequirementCreate {
        if let Some(v) = self.system_id {
            r.system_id = v;
        }
        if let Some(v) = self.line_id {
            r.line_id = v;
        }
        if let Some(v) = self.source {
            r.source = v;
        }
        if let Some(v) = self.title {
            r.title = v;
        }
        if let Some(v) = self.description {
            r.description = v;
        }
        if let Some(v) = self.priority {
            r.priority = v;
        }
        if let Some(v) = self.proposer_name {
            r.proposer_name = v;
        }
        if let Some(v) = self.proposer_org {
            r.proposer_org = v;
        }
        if let Some(v) = self.planned_date {
            r.planned_date = v;
        }
        if let Some(v) = self.ticket_ids {
            r.ticket_ids = v;
        }
        r
    }
}

/// `POST /requirements/{id}/transition`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: Status,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub reason: Option<String>,
}

impl Labels for Transition {
    const LABELS: &'static [(&'static str, &'static str)] = REQUIREMENT_LABELS;
}

/// A requirement checked against its rules: cleaned texts, the planned date, the ticket
/// ids sorted without repeats.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub title: String,
    pub description: Option<String>,
    pub proposer_name: Option<String>,
    pub proposer_org: Option<String>,
    pub planned_date: Option<NaiveDate>,
    pub ticket_ids: Vec<i64>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn too_long(errs: &mut Vec<FieldError>, field: &str, label: &str, v: Option<&str>, max: usize) {
    if v.is_some_and(|s| s.chars().count() > max) {
        errs.push(FieldError::new(field, format!("{label}不能超过 {max} 字")));
    }
}

/// Checks what needs no database, every problem at once.
pub fn check_requirement(r: &RequirementCreate) -> Result<Checked, Vec<FieldError>> {
    let mut errs = Vec::new();
    let title = r.title.trim().to_string();
    if title.is_empty() {
        errs.push(FieldError::new("title", "请填写需求名称"));
    }
    too_long(&mut errs, "title", "需求名称", Some(&title), 200);
    let description = clean(&r.description);
    too_long(
        &mut errs,
        "description",
        "需求描述",
        description.as_deref(),
        4000,
    );
    let proposer_name = clean(&r.proposer_name);
    too_long(
        &mut errs,
        "proposer_name",
        "提出人",
        proposer_name.as_deref(),
        100,
    );
    let proposer_org = clean(&r.proposer_org);
    too_long(
        &mut errs,
        "proposer_org",
        "提出单位",
        proposer_org.as_deref(),
        200,
    );
    let planned_date = match clean(&r.planned_date) {
        None => None,
        Some(s) => match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Some(d),
            _ => {
                errs.push(FieldError::new(
                    "planned_date",
                    "计划完成日期格式应为“2025-12-31”",
                ));
                None
            }
        },
    };
    let mut ticket_ids = r.ticket_ids.clone();
    ticket_ids.sort_unstable();
    ticket_ids.dedup();
    if ticket_ids.iter().any(|t| *t <= 0) {
        errs.push(FieldError::new("ticket_ids", "关联变更工单应为正整数编号"));
    }
    if ticket_ids.len() > 50 {
        errs.push(FieldError::new("ticket_ids", "关联变更工单最多 50 个"));
    }
    if errs.is_empty() {
        Ok(Checked {
            title,
            description,
            proposer_name,
            proposer_org,
            planned_date,
            ticket_ids,
        })
    } else {
        Err(errs)
    }
}

/// Checks a status change: `to` may follow `from`, and a reason is given (at most 1000
/// characters) when rejecting or going back. Answers the cleaned reason.
pub fn check_transition(
    from: Status,
    to: Status,
    reason: Option<&str>,
) -> Result<Option<String>, Vec<FieldError>> {
    let mut errs = Vec::new();
    if !from.next().contains(&to) {
        let next: Vec<&str> = from.next().iter().map(|s| s.label()).collect();
        errs.push(FieldError::new(
            "to",
            if next.is_empty() {
                format!(
                    "需求已{}，状态不能再变更",
                    from.label().trim_start_matches('已')
                )
            } else {
                format!(
                    "“{}”的需求不能转为“{}”；可转为：{}",
                    from.label(),
                    to.label(),
                    next.join("、")
                )
            },
        ));
    }
    let reason = reason.map(str::trim).filter(|s| !s.is_empty());
    if reason.is_none() && needs_reason(from, to) {
        errs.push(FieldError::new(
            "reason",
            if to == Status::Rejected {
                "驳回需求请填写原因".to_string()
            } else {
                format!("退回“{}”请填写原因", to.label())
            },
        ));
    }
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        errs.push(FieldError::new("reason", "原因不能超过 1000 字"));
    }
    if errs.is_empty() {
        Ok(reason.map(str::to_string))
    } else {
        Err(errs)
    }
}

/// How many requirements stand at each status, every status listed (zeros included).
pub fn counts_by_status(statuses: &[Status]) -> BTreeMap<Status, u32> {
    let mut m: BTreeMap<Status, u32> = STATUSES.iter().map(|s| (*s, 0)).collect();
    for s in statuses {
        *m.entry(*s).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::decode;
    use serde_json::json;

    fn input() -> RequirementCreate {
        decode(json!({"source": "user", "title": " 增加导出 ", "priority": "high"})).unwrap()
    }

    fn fields(e: &[FieldError]) -> Vec<String> {
        e.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn a_requirement_is_cleaned_and_every_problem_reported_at_once() {
        let c = check_requirement(&input()).unwrap();
        assert_eq!(c.title, "增加导出");
        assert_eq!(c.planned_date, None);
        let mut r = input();
        r.ticket_ids = vec![3, 1, 3];
        r.planned_date = Some("2025-12-31".into());
        let c = check_requirement(&r).unwrap();
        assert_eq!(c.ticket_ids, vec![1, 3]);
        assert_eq!(c.planned_date, NaiveDate::from_ymd_opt(2025, 12, 31));
        let bad = RequirementCreate {
            title: "  ".into(),
            planned_date: Some("2025/12/31".into()),
            ticket_ids: vec![0],
            proposer_name: Some("张".repeat(101)),
            ..input()
        };
        let e = check_requirement(&bad).unwrap_err();
        assert_eq!(
            fields(&e),
            vec!["title", "proposer_name", "planned_date", "ticket_ids"]
        );
    }

    #[test]
    fn unknown_fields_and_statuses_are_refused_in_chinese() {
        let e = decode::<RequirementCreate>(
            json!({"source": "user", "title": "x", "priority": "high", "status": "verified"}),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "status");
        let e = decode::<Transition>(json!({"to": "done"})).unwrap_err();
        assert_eq!(e[0].field, "to");
        assert!(e[0].message.contains("目标状态"), "{}", e[0].message);
        let e = decode::<RequirementCreate>(
            json!({"source": "boss", "title": "x", "priority": "high"}),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "source");
    }

    #[test]
    fn the_life_cycle_moves_forward_and_back_only_as_allowed() {
        use Status::*;
        let ok = [
            (Proposed, Analysing),
            (Proposed, Rejected),
            (Analysing, Approved),
            (Analysing, Rejected),
            (Approved, Scheduled),
            (Scheduled, InDevelopment),
            (InDevelopment, Delivered),
            (Delivered, Verified),
        ];
        for (f, t) in ok {
            let reason = (t == Rejected).then_some("不在合同范围");
            assert!(check_transition(f, t, reason).is_ok(), "{f:?} -> {t:?}");
        }
        for (f, t) in [
            (Proposed, Approved),
            (Approved, Rejected),
            (Scheduled, Delivered),
            (Verified, InDevelopment),
            (Rejected, Analysing),
            (Proposed, Proposed),
        ] {
            let e = check_transition(f, t, Some("原因")).unwrap_err();
            assert_eq!(fields(&e), vec!["to"], "{f:?} -> {t:?}");
        }
        // A reason is required to reject and to go back, and nowhere else.
        let e = check_transition(Proposed, Rejected, Some("  ")).unwrap_err();
        assert_eq!(fields(&e), vec!["reason"]);
        let e = check_transition(Delivered, InDevelopment, None).unwrap_err();
        assert_eq!(fields(&e), vec!["reason"]);
        assert_eq!(
            check_transition(Delivered, InDevelopment, Some(" 验证未通过 ")).unwrap(),
            Some("验证未通过".into())
        );
        assert_eq!(check_transition(Proposed, Analysing, None).unwrap(), None);
        assert!(Verified.is_final() && Rejected.is_final() && !Delivered.is_final());
    }

    #[test]
    fn roles_move_the_work_and_only_the_purchaser_the_supervisor_or_the_manager_verify() {
        for r in [Role::Manager, Role::Admin] {
            assert!(may_move(r, Status::Analysing) && may_move(r, Status::Rejected));
        }
        for r in [
            Role::Operator,
            Role::Engineer,
            Role::Requester,
            Role::Supervisor,
        ] {
            assert!(!may_move(r, Status::Approved), "{r:?}");
        }
        for r in [Role::Supervisor, Role::Auditor, Role::Manager] {
            assert!(may_move(r, Status::Verified), "{r:?}");
        }
        for r in [Role::Admin, Role::Operator, Role::Engineer, Role::Requester] {
            assert!(!may_move(r, Status::Verified), "{r:?}");
        }
        assert!(may_propose(Role::Requester) && may_propose(Role::Operator));
        assert!(!may_propose(Role::Auditor));
    }

    #[test]
    fn the_moves_offered_are_those_the_role_may_make_from_the_status() {
        use Status::*;
        assert_eq!(
            allowed_moves(Role::Manager, Proposed),
            vec![Analysing, Rejected]
        );
        assert_eq!(allowed_moves(Role::Operator, Proposed), vec![]);
        assert_eq!(allowed_moves(Role::Admin, Delivered), vec![InDevelopment]);
        assert_eq!(
            allowed_moves(Role::Manager, Delivered),
            vec![Verified, InDevelopment]
        );
        assert_eq!(allowed_moves(Role::Supervisor, Delivered), vec![Verified]);
        assert_eq!(allowed_moves(Role::Supervisor, Proposed), vec![]);
        assert_eq!(allowed_moves(Role::Manager, Verified), vec![]);
        assert!(needs_reason(Proposed, Rejected) && needs_reason(Delivered, InDevelopment));
        assert!(!needs_reason(Proposed, Analysing) && !needs_reason(Delivered, Verified));
    }

    #[test]
    fn counts_list_every_status() {
        let c = counts_by_status(&[Status::Proposed, Status::Verified, Status::Proposed]);
        assert_eq!(c.len(), 8);
        assert_eq!(c[&Status::Proposed], 2);
        assert_eq!(c[&Status::Verified], 1);
        assert_eq!(c[&Status::Rejected], 0);
    }
}
