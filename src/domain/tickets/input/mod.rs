//! The typed inputs of the desk's use cases (opening, editing and moving tickets,
//! comments, worklog, links, calendar days) and their rules: each struct is what the API
//! accepts, what the pages and jobs build, and the OpenAPI document's schema.
//!
//! Decoding (`crate::domain::input::decode`) refuses what does not fit the type, one field
//! at a time; the `check` functions here then report every other problem at once, and the
//! service adds what needs the database (existence of referenced records).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{CHANGE_TYPES, KINDS, LEVELS, LINK_KINDS, SOURCES};
use crate::domain::FieldError;
use crate::domain::entity::Choice;
use crate::domain::input::de;
use crate::domain::text::check_field;

mod activity;
mod calendar;
mod fault_report;
mod ticket;

pub use activity::{CommentInput, LinkInput, TicketAction, WORKLOG_NOTE_MAX, WorklogInput};
pub use calendar::CalendarDayInput;
pub use fault_report::{FaultReport, check_report_times, validate_fault_report};
pub use ticket::{CheckedCreate, TicketCreate, TicketUpdate};

/// "“x”无效，可选：故障（incident）、…": completed with the field's label by `decode`.
fn invalid_choice(choices: &[Choice], v: &str) -> String {
    let opts: Vec<String> = choices
        .iter()
        .map(|c| format!("{}（{}）", c.label, c.code))
        .collect();
    format!("“{v}”无效，可选：{}", opts.join("、"))
}

/// A closed list of codes, each with its Chinese label; decoded from the code or the label.
macro_rules! coded {
    ($(#[$m:meta])* $name:ident, $choices:expr, { $($v:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($v),+
        }

        impl $name {
            /// The code stored in the database.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$v => $code),+
                }
            }

            /// The Chinese label.
            pub fn label(self) -> String {
                super::label($choices, self.code())
            }

            /// From the code or the Chinese label.
            pub fn parse(s: &str) -> Option<Self> {
                match super::choice($choices, s.trim())? {
                    $($code => Some(Self::$v),)+
                    _ => None,
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| D::Error::custom(invalid_choice($choices, &s)))
            }
        }
    };
}

coded!(
    /// incident, request, problem or change.
    TicketKind, KINDS, {
    Incident = "incident",
    Request = "request",
    Problem = "problem",
    Change = "change",
});

coded!(ChangeType, CHANGE_TYPES, {
    Upgrade = "upgrade",
    Optimisation = "optimisation",
    VulnerabilityFix = "vulnerability_fix",
    Configuration = "configuration",
});

coded!(TicketSource, SOURCES, {
    Portal = "portal",
    Phone = "phone",
    OnSite = "on_site",
    Api = "api",
    Monitoring = "monitoring",
    Inspection = "inspection",
});

coded!(
    /// Impact or urgency.
    Level, LEVELS, {
    High = "high",
    Medium = "medium",
    Low = "low",
});

coded!(LinkKind, LINK_KINDS, {
    Related = "related",
    Duplicate = "duplicate",
    CausedBy = "caused_by",
    Parent = "parent",
    Child = "child",
});

impl TicketKind {
    /// The prefix of the ticket's number.
    pub fn number_prefix(self) -> &'static str {
        match self {
            TicketKind::Incident => "INC",
            TicketKind::Request => "REQ",
            TicketKind::Problem => "PRB",
            TicketKind::Change => "CHG",
        }
    }
}

impl LinkKind {
    /// The link the other ticket gets.
    pub fn inverse_code(self) -> &'static str {
        match self {
            LinkKind::Parent => "child",
            LinkKind::Child => "parent",
            LinkKind::CausedBy => "causes",
            k => k.code(),
        }
    }
}

/// An optional choice: `null` and a blank string mean "not given".
fn opt_coded<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        v => T::deserialize(v).map(Some).map_err(D::Error::custom),
    }
}

/// An optional integer: a number or a numeric string (forms); blank means "not given".
fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom("应为整数")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("应为整数")),
        _ => Err(D::Error::custom("应为整数")),
    }
}

/// A patched text: absent is `None` (unchanged), `null` or blank is `Some(None)` (cleared).
fn patch_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    de::opt_text(d).map(Some)
}

/// A patched id: absent is `None` (unchanged), `null` or blank is `Some(None)` (cleared).
fn patch_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    de::opt_id(d).map(Some)
}

/// A value that must be given but may be `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// A text of up to `max` characters (single-line up to 200); the error names `key`.
fn text_ok(key: &str, label: &str, v: &str, max: usize, errs: &mut Vec<FieldError>) -> bool {
    match check_field(label, v, max > 200, max) {
        Ok(()) => true,
        Err(m) => {
            errs.push(FieldError::new(key, m));
            false
        }
    }
}

/// An optional text checked by `text_ok`; dropped when it fails.
fn opt_text_ok(
    key: &str,
    label: &str,
    v: &Option<String>,
    max: usize,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let v = v.as_deref()?.trim();
    text_ok(key, label, v, max, errs).then(|| v.to_string())
}

/// A required text of at most 2000 characters (reasons, notes, resolutions).
pub fn required_text(v: Option<&str>, key: &str, what: &str) -> Result<String, FieldError> {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= 2000 => Ok(s.to_string()),
        Some(s) if !s.is_empty() => {
            Err(FieldError::new(key, format!("{what}不能超过 2000 个字符")))
        }
        _ => Err(FieldError::new(key, format!("请填写{what}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::FAULT_REPORT_FIELDS;
    use super::*;
    use crate::domain::input::{Labels, decode};
    use crate::domain::roles::Role;
    use chrono::Utc;
    use serde_json::json;

    fn fields<T: utoipa::PartialSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).unwrap_or_default();
        v["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn labelled<T: utoipa::PartialSchema + Labels>() {
        for f in fields::<T>() {
            assert!(
                T::LABELS.iter().any(|(k, _)| *k == f),
                "{f} has no Chinese label"
            );
        }
    }

    #[test]
    fn every_documented_field_has_a_chinese_label() {
        labelled::<TicketCreate>();
        labelled::<TicketUpdate>();
        labelled::<TicketAction>();
        labelled::<CommentInput>();
        labelled::<WorklogInput>();
        labelled::<LinkInput>();
        labelled::<CalendarDayInput>();
        let report: Vec<&str> = FAULT_REPORT_FIELDS.iter().map(|(k, _)| *k).collect();
        let mut documented = fields::<FaultReport>();
        documented.sort();
        let mut expected: Vec<String> = report.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(documented, expected);
        for (k, label) in FAULT_REPORT_FIELDS {
            assert!(TicketAction::LABELS.contains(&(k, label)), "{k}");
        }
    }

    #[test]
    fn choices_decode_from_the_code_or_the_chinese_label() {
        let c: TicketCreate =
            decode(json!({"kind": "变更", "change_type": "漏洞修复", "title": "x", "impact": ""}))
                .unwrap();
        assert_eq!(c.kind, TicketKind::Change);
        assert_eq!(c.change_type, Some(ChangeType::VulnerabilityFix));
        assert_eq!(c.impact, None);
        let e = decode::<TicketCreate>(json!({"kind": "outage", "title": "x"})).unwrap_err();
        assert_eq!(e[0].field, "kind");
        assert_eq!(
            e[0].message,
            "工单类型“outage”无效，可选：故障（incident）、服务请求/咨询（request）、问题（problem）、变更（change）"
        );
    }

    #[test]
    fn opening_reports_every_problem_at_once() {
        let now = Utc::now();
        let mut c = TicketCreate::new(TicketKind::Change, "  ");
        c.reported_at = Some("yesterday".into());
        c.assignee_id = Some(3);
        let (_, errs) = c.check(Role::Engineer, 1, now);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["change_type", "title", "reported_at", "assignee_id"]
        );
        let (t, errs) =
            TicketCreate::new(TicketKind::Request, "打印机").check(Role::Requester, 7, now);
        assert_eq!(errs[0].message, "请选择出现问题的系统");
        assert_eq!((t.requester_id, t.source), (Some(7), TicketSource::Portal));
    }

    #[test]
    fn a_patch_tells_a_cleared_field_from_an_absent_one() {
        let p: TicketUpdate = decode(json!({"description": null, "system_id": ""})).unwrap();
        assert_eq!(p.description, Some(None));
        assert_eq!(p.system_id, Some(None));
        assert_eq!(p.category, None);
        let p: TicketUpdate = decode(json!({"title": " "})).unwrap();
        assert_eq!(p.check().1[0].message, "请填写标题");
    }

    #[test]
    fn a_calendar_day_needs_working_even_when_null() {
        assert!(decode::<CalendarDayInput>(json!({"working": null})).is_ok());
        let e = decode::<CalendarDayInput>(json!({"reason": "x"})).unwrap_err();
        assert_eq!(e[0].field, "working");
    }
}
