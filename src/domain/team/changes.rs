//! Personnel changes (人员变更): the written request of the contractor, or the purchaser's
//! request to replace the project manager, its states and who moves it, and the
//! comparison of the incoming member's qualifications with the outgoing one's. Pure.
//!
//! Decision on a less qualified incoming member: the contract says 调入人员的资历和从业经验
//! 不低于调出人员. A request whose incoming member has fewer years of experience, fewer
//! years of project management (when the outgoing one has any), or lacks a certificate
//! the outgoing member holds (by name) is flagged `less_qualified`, and it is refused
//! (422 on `justification`) unless a written justification is given; the purchaser then
//! decides with the comparison in front of them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::CertificateInput;
use crate::domain::field_error::FieldError;
use crate::domain::input::{Labels, de};
use crate::domain::roles::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// 承包方书面申请调整团队成员.
    ContractorRequest,
    /// 采购人要求更换项目经理 (two weeks to replace).
    PurchaserRequest,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ContractorRequest => "contractor_request",
            ChangeKind::PurchaserRequest => "purchaser_request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ChangeKind::ContractorRequest, ChangeKind::PurchaserRequest]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::ContractorRequest => "承包方申请",
            ChangeKind::PurchaserRequest => "采购人要求更换项目经理",
        }
    }

    /// Who may file it: the contractor's manager (or the admin on their behalf) a
    /// contractor request; the purchaser (`supervisor`) a replacement of the manager.
    pub fn may_file(self, role: Role) -> bool {
        match self {
            ChangeKind::ContractorRequest => matches!(role, Role::Manager | Role::Admin),
            ChangeKind::PurchaserRequest => role == Role::Supervisor,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    Requested,
    Approved,
    Refused,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Requested => "requested",
            ChangeStatus::Approved => "approved",
            ChangeStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ChangeStatus::Requested,
            ChangeStatus::Approved,
            ChangeStatus::Refused,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChangeStatus::Requested => "待审批",
            ChangeStatus::Approved => "已批准",
            ChangeStatus::Refused => "已拒绝",
        }
    }
}

/// Only the purchaser (`supervisor`) approves or refuses a personnel change.
pub fn may_decide(role: Role) -> bool {
    role == Role::Supervisor
}

/// `POST /personnel-changes`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeCreate {
    /// `contractor_request` (default) or `purchaser_request` (the supervisor asks to
    /// replace the project manager; the incoming member is nominated later).
    #[serde(default)]
    pub kind: Option<ChangeKind>,
    /// Who leaves (a staff id).
    #[serde(deserialize_with = "de::opt_id")]
    pub leaving_staff_id: Option<i64>,
    /// Who joins: an existing staff id ...
    #[serde(default, deserialize_with = "de::opt_id")]
    pub joining_staff_id: Option<i64>,
    /// ... or a new member's fields as `POST /staff` takes them (created on approval).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub joining: Option<Map<String, Value>>,
    /// The new member's certificates (with `joining`).
    #[serde(default)]
    pub joining_certificates: Vec<CertificateInput>,
    pub reason: String,
    /// Required when the incoming member is less qualified than the outgoing one.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub justification: Option<String>,
}

impl Labels for ChangeCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "变更类型"),
        ("leaving_staff_id", "调出人员"),
        ("joining_staff_id", "调入人员"),
        ("joining", "调入人员信息"),
        ("joining_certificates", "调入人员证书"),
        ("reason", "申请理由"),
        ("justification", "资历差异说明"),
    ];
}

/// `POST /personnel-changes/{id}/nominate`: the contractor names the incoming manager of a
/// purchaser's request.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Nomination {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub joining_staff_id: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub joining: Option<Map<String, Value>>,
    #[serde(default)]
    pub joining_certificates: Vec<CertificateInput>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub justification: Option<String>,
}

impl Labels for Nomination {
    const LABELS: &'static [(&'static str, &'static str)] = ChangeCreate::LABELS;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Refuse,
}

/// `POST /personnel-changes/{id}/decision`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub decision: DecisionKind,
    /// Required for a refusal.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for Decision {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("decision", "审批结论"), ("comment", "审批意见")];
}

/// Checks a decision's comment: a refusal says why; at most 2000 characters.
pub fn check_decision(d: &Decision) -> Result<Option<String>, Vec<FieldError>> {
    match (&d.comment, d.decision) {
        (None, DecisionKind::Refuse) => Err(vec![FieldError::new(
            "comment",
            "拒绝人员变更须填写审批意见（理由）",
        )]),
        (Some(c), _) if c.chars().count() > 2000 => Err(vec![FieldError::new(
            "comment",
            "审批意见不能超过 2000 个字符",
        )]),
        (c, _) => Ok(c.clone()),
    }
}

/// Checks the reason and justification texts.
pub fn check_texts(reason: Option<&str>, justification: Option<&str>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(r) = reason {
        let r = r.trim();
        if r.is_empty() {
            errs.push(FieldError::new("reason", "请填写申请理由"));
        } else if r.chars().count() > 2000 {
            errs.push(FieldError::new("reason", "申请理由不能超过 2000 个字符"));
        }
    }
    if justification.is_some_and(|j| j.chars().count() > 2000) {
        errs.push(FieldError::new(
            "justification",
            "资历差异说明不能超过 2000 个字符",
        ));
    }
    errs
}

/// What the comparison looks at of one member.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Profile {
    pub name: String,
    pub years_experience: Option<i64>,
    pub pm_years: Option<i64>,
    /// (name, expires_on) of each certificate.
    pub certificates: Vec<(String, Option<NaiveDate>)>,
}

/// The incoming member against the outgoing one.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub less_qualified: bool,
    /// Each way the incoming member falls short, in Chinese.
    pub shortfalls: Vec<String>,
    pub outgoing: Value,
    pub incoming: Value,
}

fn profile_json(p: &Profile, today: NaiveDate) -> Value {
    json!({
        "name": p.name, "years_experience": p.years_experience, "pm_years": p.pm_years,
        "certificates": p.certificates.iter().map(|(n, e)| json!({
            "name": n, "expires_on": e.map(|d| d.to_string()),
            "valid": e.is_none_or(|d| d >= today)})).collect::<Vec<_>>(),
    })
}

/// Compares the incoming member's years of experience, years of project management and
/// valid certificates with the outgoing one's.
pub fn compare(outgoing: &Profile, incoming: &Profile, today: NaiveDate) -> Comparison {
    let mut shortfalls = Vec::new();
    let years = |v: Option<i64>| v.unwrap_or(0);
    if years(incoming.years_experience) < years(outgoing.years_experience) {
        shortfalls.push(format!(
            "从业年限 {} 年，低于调出人员的 {} 年",
            years(incoming.years_experience),
            years(outgoing.years_experience)
        ));
    }
    if years(incoming.pm_years) < years(outgoing.pm_years) {
        shortfalls.push(format!(
            "项目管理年限 {} 年，低于调出人员的 {} 年",
            years(incoming.pm_years),
            years(outgoing.pm_years)
        ));
    }
    let valid = |p: &Profile| -> Vec<String> {
        p.certificates
            .iter()
            .filter(|(_, e)| e.is_none_or(|d| d >= today))
            .map(|(n, _)| n.trim().to_lowercase())
            .collect()
    };
    let theirs = valid(incoming);
    for (name, expires) in &outgoing.certificates {
        if expires.is_none_or(|d| d >= today) && !theirs.contains(&name.trim().to_lowercase()) {
            shortfalls.push(format!("缺少调出人员持有的有效证书“{name}”"));
        }
    }
    Comparison {
        less_qualified: !shortfalls.is_empty(),
        shortfalls,
        outgoing: profile_json(outgoing, today),
        incoming: profile_json(incoming, today),
    }
}

/// The refusal of a less qualified incoming member without a justification.
pub fn justification_needed(c: &Comparison, justification: Option<&str>) -> Option<FieldError> {
    (c.less_qualified && justification.is_none_or(|j| j.trim().is_empty())).then(|| {
        FieldError::new(
            "justification",
            format!(
                "调入人员资历低于调出人员（{}），合同要求不低于调出人员；如确需调整，请在 justification 中说明理由",
                c.shortfalls.join("；")
            ),
        )
    })
}

/// The fields of a new member that a change may not set (they follow from the change).
pub const JOINING_FIXED: &[&str] = &["status", "left_on", "user_id"];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_incoming_member_with_fewer_years_or_a_missing_certificate_is_less_qualified() {
        let today = d("2025-03-01");
        let out = Profile {
            name: "甲".into(),
            years_experience: Some(8),
            pm_years: Some(5),
            certificates: vec![
                ("PMP".into(), Some(d("2026-01-01"))),
                ("OCP".into(), Some(d("2024-01-01"))),
            ],
        };
        let same = Profile {
            name: "乙".into(),
            years_experience: Some(8),
            pm_years: Some(6),
            certificates: vec![("pmp".into(), None)],
        };
        let c = compare(&out, &same, today);
        assert!(!c.less_qualified, "{:?}", c.shortfalls);
        assert!(justification_needed(&c, None).is_none());
        let weaker = Profile {
            name: "丙".into(),
            years_experience: Some(3),
            pm_years: Some(5),
            certificates: vec![],
        };
        let c = compare(&out, &weaker, today);
        assert!(c.less_qualified);
        assert_eq!(c.shortfalls.len(), 2, "{:?}", c.shortfalls);
        assert!(justification_needed(&c, Some("  ")).is_some());
        assert!(justification_needed(&c, Some("经采购人面谈认可")).is_none());
    }

    #[test]
    fn a_refusal_needs_a_comment() {
        let d = Decision {
            decision: DecisionKind::Refuse,
            comment: None,
        };
        assert!(check_decision(&d).is_err());
    }
}
