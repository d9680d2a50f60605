//! The team (服务团队): its roles, the documents each member must have on file, the
//! configurable rules of the contract (size, the manager's experience, document expiry, the
//! two-week manager replacement) and the typed inputs of certificates. Pure: no I/O.
//!
//! The compliance checks are in `compliance`, personnel changes in `changes`.

pub mod changes;
pub mod compliance;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::Choice;
use super::field_error::FieldError;
use super::input::{Labels, de};

/// A member's role on the team.
pub const TEAM_ROLES: &[Choice] = &[
    Choice::new("project_manager", "项目经理"),
    Choice::new("technical_lead", "技术负责人"),
    Choice::new("om_engineer", "运维工程师"),
    Choice::new("dba", "数据库工程师"),
    Choice::new("operations", "运营人员"),
    Choice::new("other", "其他"),
];

pub const YES_NO: &[Choice] = &[Choice::new("no", "否"), Choice::new("yes", "是")];

pub const STAFF_STATUSES: &[Choice] =
    &[Choice::new("active", "在岗"), Choice::new("left", "已离开")];

/// The documents every member must have on file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 社保证明 (or another external proof of employment).
    EmploymentProof,
    /// 保密协议.
    Confidentiality,
}

pub const DOC_KINDS: [DocKind; 2] = [DocKind::EmploymentProof, DocKind::Confidentiality];

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::EmploymentProof => "employment_proof",
            DocKind::Confidentiality => "confidentiality",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        DOC_KINDS.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DocKind::EmploymentProof => "任职证明（社保证明）",
            DocKind::Confidentiality => "保密协议",
        }
    }
}

/// The rules of the contract that the compliance checks apply, stored in the settings
/// (`team.rules`); the defaults are the seed's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeamRules {
    /// 服务团队成员不得少于 20 人.
    pub min_team_size: i64,
    /// 项目经理应具备 3 年以上项目管理经验.
    pub manager_min_years: i64,
    /// A document expiring within this many days is at risk.
    pub document_warning_days: i64,
    /// 采购人要求更换项目经理的，两周内调整到位.
    pub manager_replacement_days: i64,
}

pub const RULES_KEY: &str = "team.rules";

impl Default for TeamRules {
    fn default() -> Self {
        TeamRules {
            min_team_size: 20,
            manager_min_years: 3,
            document_warning_days: 30,
            manager_replacement_days: 14,
        }
    }
}

/// `PATCH /contract/compliance/rules`: the values given replace the ones in force.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesPatch {
    pub min_team_size: Option<i64>,
    pub manager_min_years: Option<i64>,
    pub document_warning_days: Option<i64>,
    pub manager_replacement_days: Option<i64>,
}

impl Labels for RulesPatch {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("min_team_size", "团队最少人数"),
        ("manager_min_years", "项目经理最少项目管理年限"),
        ("document_warning_days", "证明材料到期提醒天数"),
        ("manager_replacement_days", "更换项目经理期限（天）"),
    ];
}

impl TeamRules {
    /// The rules stored as JSON; anything unreadable gives the defaults.
    pub fn from_setting(v: Option<&str>) -> TeamRules {
        v.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    /// Applies a patch, checking every value (all problems at once).
    pub fn apply(&self, p: &RulesPatch) -> Result<TeamRules, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut range = |field: &str, v: Option<i64>, cur: i64, min: i64, max: i64| match v {
            None => cur,
            Some(n) if (min..=max).contains(&n) => n,
            Some(_) => {
                errs.push(FieldError::new(
                    field,
                    format!("{}应在 {min} 到 {max} 之间", RulesPatch::label(field)),
                ));
                cur
            }
        };
        let r = TeamRules {
            min_team_size: range(
                "min_team_size",
                p.min_team_size,
                self.min_team_size,
                1,
                1000,
            ),
            manager_min_years: range(
                "manager_min_years",
                p.manager_min_years,
                self.manager_min_years,
                0,
                50,
            ),
            document_warning_days: range(
                "document_warning_days",
                p.document_warning_days,
                self.document_warning_days,
                0,
                365,
            ),
            manager_replacement_days: range(
                "manager_replacement_days",
                p.manager_replacement_days,
                self.manager_replacement_days,
                1,
                365,
            ),
        };
        if errs.is_empty() { Ok(r) } else { Err(errs) }
    }
}

/// `POST /staff/{id}/certificates`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateInput {
    /// The certificate's name (e.g. 信息系统项目管理师, PMP, OCP).
    pub name: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub number: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub issued_on: Option<String>,
    /// YYYY-MM-DD; left out when it does not expire.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub expires_on: Option<String>,
}

impl Labels for CertificateInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("name", "证书名称"),
        ("number", "证书编号"),
        ("issued_on", "发证日期"),
        ("expires_on", "有效期至"),
    ];
}

/// A day `YYYY-MM-DD`, or the message that says how to write it.
pub fn parse_day(field: &str, label: &str, s: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            format!("{label}“{s}”格式不正确，请填写日期，如 2025-06-30"),
        )
    })
}

/// A checked certificate: trimmed name, dates parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    pub name: String,
    pub number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

impl CertificateInput {
    /// Checks the certificate, prefixing fields with `path` (for nested inputs).
    pub fn check(&self, path: &str) -> Result<Certificate, Vec<FieldError>> {
        let f = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        let mut errs = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errs.push(FieldError::new(f("name"), "请填写证书名称"));
        } else if name.chars().count() > 100 {
            errs.push(FieldError::new(f("name"), "证书名称不能超过 100 个字符"));
        }
        if self
            .number
            .as_ref()
            .is_some_and(|n| n.chars().count() > 100)
        {
            errs.push(FieldError::new(f("number"), "证书编号不能超过 100 个字符"));
        }
        let mut day = |k: &str, label: &str, v: &Option<String>| match v {
            None => None,
            Some(s) => match parse_day(&f(k), label, s) {
                Ok(d) => Some(d),
                Err(e) => {
                    errs.push(e);
                    None
                }
            },
        };
        let issued_on = day("issued_on", "发证日期", &self.issued_on);
        let expires_on = day("expires_on", "有效期至", &self.expires_on);
        if let (Some(i), Some(e)) = (issued_on, expires_on)
            && e < i
        {
            errs.push(FieldError::new(f("expires_on"), "有效期至不能早于发证日期"));
        }
        if errs.is_empty() {
            Ok(Certificate {
                name,
                number: self.number.clone(),
                issued_on,
                expires_on,
            })
        } else {
            Err(errs)
        }
    }
}

/// Checks a document's validity period (both days required, until not before from).
pub fn check_validity(
    valid_from: Option<&str>,
    valid_until: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut day = |k: &str, label: &str, v: Option<&str>| match v.map(str::trim) {
        None | Some("") => {
            errs.push(FieldError::new(
                k,
                format!("请填写{label}（如 2025-06-30）"),
            ));
            None
        }
        Some(s) => match parse_day(k, label, s) {
            Ok(d) => Some(d),
            Err(e) => {
                errs.push(e);
                None
            }
        },
    };
    let from = day("valid_from", "生效日期", valid_from);
    let until = day("valid_until", "有效期至", valid_until);
    match (from, until) {
        (Some(f), Some(u)) if u < f => Err(vec![FieldError::new(
            "valid_until",
            "有效期至不能早于生效日期",
        )]),
        (Some(f), Some(u)) if errs.is_empty() => Ok((f, u)),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_patch_out_of_range_names_each_field_and_keeps_the_rest() {
        let r = TeamRules::default();
        let errs = r
            .apply(&RulesPatch {
                min_team_size: Some(0),
                manager_min_years: Some(99),
                ..Default::default()
            })
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["min_team_size", "manager_min_years"]);
        let ok = r
            .apply(&RulesPatch {
                min_team_size: Some(25),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ok.min_team_size, 25);
        assert_eq!(ok.manager_min_years, 3);
    }

    #[test]
    fn a_validity_period_must_not_end_before_it_starts() {
        assert!(check_validity(Some("2025-01-01"), Some("2024-12-31")).is_err());
        assert!(check_validity(None, Some("2024-12-31")).is_err());
        assert!(check_validity(Some("2025-01-01"), Some("2025-12-31")).is_ok());
    }
}
