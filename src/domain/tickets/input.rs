//! The typed inputs of the desk's use cases (opening, editing and moving tickets,
//! comments, worklog, links, calendar days) and their rules: each struct is what the API
//! accepts, what the pages and jobs build, and the OpenAPI document's schema.
//!
//! Decoding (`crate::domain::input::decode`) refuses what does not fit the type, one field
//! at a time; the `check` functions here then report every other problem at once, and the
//! service adds what needs the database (existence of referenced records).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{
    Action, CHANGE_TYPES, FAULT_REPORT_FIELDS, KINDS, LEVELS, LINK_KINDS, SOURCES, TicketId,
};
use crate::domain::FieldError;
use crate::domain::entity::Choice;
use crate::domain::input::{Labels, de};
use crate::domain::roles::Role;
use crate::domain::text::check_field;

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

/// `POST /tickets`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    pub kind: TicketKind,
    /// Required for a change.
    #[serde(default, deserialize_with = "opt_coded")]
    pub change_type: Option<ChangeType>,
    /// Required; checked with the other rules (a form leaves it out when blank).
    #[serde(default)]
    #[schema(required = true, max_length = 200)]
    pub title: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub system_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub asset_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub source: Option<TicketSource>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub requester_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub requester_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub requester_contact: Option<String>,
    /// RFC 3339; staff logging a call may give an earlier time.
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub impact: Option<Level>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub urgency: Option<Level>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub assignee_id: Option<i64>,
}

impl Labels for TicketCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "工单类型"),
        ("change_type", "变更类型"),
        ("title", "标题"),
        ("description", "描述"),
        ("system_id", "系统"),
        ("asset_id", "设备"),
        ("category", "分类"),
        ("source", "来源"),
        ("requester_id", "报障人"),
        ("requester_name", "报障人姓名"),
        ("requester_contact", "联系方式"),
        ("reported_at", "报障时间"),
        ("impact", "影响程度"),
        ("urgency", "紧急程度"),
        ("assignee_id", "处理人"),
    ];
}

/// A ticket to open: a `TicketCreate` checked and completed with the opener's rules.
#[derive(Clone, Debug)]
pub struct CheckedCreate {
    pub kind: TicketKind,
    pub change_type: Option<ChangeType>,
    pub title: String,
    pub description: Option<String>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub category: Option<String>,
    pub source: TicketSource,
    pub requester_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub impact: Level,
    pub urgency: Level,
    pub assignee_id: Option<i64>,
}

impl TicketCreate {
    /// A ticket of `kind` titled `title`, everything else left to the defaults.
    pub fn new(kind: TicketKind, title: impl Into<String>) -> Self {
        TicketCreate {
            kind,
            change_type: None,
            title: title.into(),
            description: None,
            system_id: None,
            asset_id: None,
            category: None,
            source: None,
            requester_id: None,
            requester_name: None,
            requester_contact: None,
            reported_at: None,
            impact: None,
            urgency: None,
            assignee_id: None,
        }
    }

    /// The rules of opening a ticket by a user with `role` and id `user_id` at `now`:
    /// lengths, a change's type, the portal's limits for requesters, the reported time's
    /// window and who may name the engineer. Returns the completed ticket and every problem
    /// found (the ticket is only meaningful when there is none).
    pub fn check(
        &self,
        role: Role,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> (CheckedCreate, Vec<FieldError>) {
        let mut errs = Vec::new();
        if self.kind == TicketKind::Change && self.change_type.is_none() {
            errs.push(FieldError::new(
                "change_type",
                "变更工单须选择变更类型：系统升级、性能优化、漏洞修复或配置变更",
            ));
        }
        let title = self.title.trim();
        if title.is_empty() {
            errs.push(FieldError::new("title", "请填写标题"));
        } else {
            text_ok("title", "标题", title, 200, &mut errs);
        }
        let description = opt_text_ok("description", "描述", &self.description, 20_000, &mut errs);
        let category = opt_text_ok("category", "分类", &self.category, 50, &mut errs);
        let requester_name = opt_text_ok(
            "requester_name",
            "报障人姓名",
            &self.requester_name,
            50,
            &mut errs,
        );
        let requester_contact = opt_text_ok(
            "requester_contact",
            "联系方式",
            &self.requester_contact,
            100,
            &mut errs,
        );
        let mut reported_at =
            opt_text_ok("reported_at", "报障时间", &self.reported_at, 40, &mut errs)
                .and_then(|s| match DateTime::parse_from_rfc3339(&s) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => {
                        errs.push(FieldError::new(
                            "reported_at",
                            "报障时间应为 RFC 3339 时间，如 2025-10-15T09:30:00+08:00",
                        ));
                        None
                    }
                })
                .unwrap_or(now);
        let mut requester_id = self.requester_id;
        let mut source = self.source.unwrap_or(TicketSource::Api);
        if role == Role::Requester {
            // The portal: one's own ticket, reported now, about one of the systems.
            requester_id = Some(user_id);
            source = TicketSource::Portal;
            reported_at = now;
            if self.assignee_id.is_some() {
                errs.push(FieldError::new("assignee_id", "报障用户不能指定处理人"));
            }
            if self.system_id.is_none() {
                errs.push(FieldError::new("system_id", "请选择出现问题的系统"));
            }
        } else {
            if reported_at > now + Duration::minutes(5) {
                errs.push(FieldError::new("reported_at", "报障时间不能晚于当前时间"));
            }
            if reported_at < now - Duration::days(30) {
                errs.push(FieldError::new("reported_at", "报障时间不能早于 30 天前"));
            }
            if self.assignee_id.is_some() && !matches!(role, Role::Admin | Role::Manager) {
                errs.push(FieldError::new(
                    "assignee_id",
                    "只有项目经理可以在建单时指定处理人",
                ));
            }
        }
        let checked = CheckedCreate {
            kind: self.kind,
            change_type: self.change_type,
            title: title.to_string(),
            description,
            system_id: self.system_id,
            asset_id: self.asset_id,
            category,
            source,
            requester_id,
            requester_name,
            requester_contact,
            reported_at,
            impact: self.impact.unwrap_or(Level::Medium),
            urgency: self.urgency.unwrap_or(Level::Medium),
            assignee_id: self.assignee_id,
        };
        (checked, errs)
    }
}

/// `PATCH /tickets/{id}`: only the fields to change; `null` clears an optional field
/// (`id` and `number` are ignored).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub impact: Option<Level>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub urgency: Option<Level>,
    #[serde(default, deserialize_with = "patch_id")]
    #[schema(value_type = Option<i64>)]
    pub system_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch_id")]
    #[schema(value_type = Option<i64>)]
    pub asset_id: Option<Option<i64>>,
    /// Ignored.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub id: Option<Value>,
    /// Ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub number: Option<Value>,
}

impl Labels for TicketUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("title", "标题"),
        ("description", "描述"),
        ("category", "分类"),
        ("impact", "影响程度"),
        ("urgency", "紧急程度"),
        ("system_id", "系统"),
        ("asset_id", "设备"),
        ("id", "编号"),
        ("number", "工单号"),
    ];
}

impl TicketUpdate {
    /// Lengths and a non-blank title; a field that fails is dropped from the patch.
    pub fn check(&self) -> (TicketUpdate, Vec<FieldError>) {
        let mut errs = Vec::new();
        let title = match &self.title {
            None => None,
            Some(None) => {
                errs.push(FieldError::new("title", "请填写标题"));
                None
            }
            Some(Some(t)) => {
                let t = t.trim();
                text_ok("title", "标题", t, 200, &mut errs).then(|| Some(t.to_string()))
            }
        };
        let description = self
            .description
            .as_ref()
            .map(|d| opt_text_ok("description", "描述", d, 20_000, &mut errs));
        let category = self
            .category
            .as_ref()
            .map(|c| opt_text_ok("category", "分类", c, 50, &mut errs));
        let checked = TicketUpdate {
            title,
            description,
            category,
            impact: self.impact,
            urgency: self.urgency,
            system_id: self.system_id,
            asset_id: self.asset_id,
            id: None,
            number: None,
        };
        (checked, errs)
    }
}

/// The fault report a resolved incident carries: every field, times in RFC 3339.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultReport {
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub symptom: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub impact_scope: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true, format = DateTime)]
    pub started_at: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true, format = DateTime)]
    pub recovered_at: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub cause: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub handling: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub measures: Option<String>,
}

impl FaultReport {
    /// The field named `k` (one of `FAULT_REPORT_FIELDS`).
    pub fn get(&self, k: &str) -> Option<&str> {
        match k {
            "symptom" => self.symptom.as_deref(),
            "impact_scope" => self.impact_scope.as_deref(),
            "started_at" => self.started_at.as_deref(),
            "recovered_at" => self.recovered_at.as_deref(),
            "cause" => self.cause.as_deref(),
            "handling" => self.handling.as_deref(),
            "measures" => self.measures.as_deref(),
            _ => None,
        }
    }
}

/// Validates a fault report: every field present; times in RFC 3339 and in order. Returns
/// it as stored (a JSON object of trimmed texts).
pub fn validate_fault_report(
    r: Option<&FaultReport>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(r) = r else {
        return Err(vec![FieldError::new(
            "fault_report",
            "解决故障须填写故障报告：故障现象、影响范围、故障开始时间、恢复时间、原因分析、处理过程、整改措施",
        )]);
    };
    let mut errs = Vec::new();
    let mut out = Map::new();
    for (k, label) in FAULT_REPORT_FIELDS {
        match r.get(k).map(str::trim) {
            Some(s) if !s.is_empty() => {
                if k.ends_with("_at") && DateTime::parse_from_rfc3339(s).is_err() {
                    errs.push(FieldError::new(
                        format!("fault_report.{k}"),
                        format!("{label}应为时间，如 2025-10-15T09:30:00+08:00"),
                    ));
                } else if s.chars().count() > 10_000 {
                    errs.push(FieldError::new(
                        format!("fault_report.{k}"),
                        format!("{label}不能超过 10000 个字符"),
                    ));
                } else {
                    out.insert(k.to_string(), Value::String(s.to_string()));
                }
            }
            _ => errs.push(FieldError::new(
                format!("fault_report.{k}"),
                format!("请填写故障报告的“{label}”"),
            )),
        }
    }
    if errs.is_empty() {
        let t = |k: &str| {
            out.get(k)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        };
        if let (Some(a), Some(b)) = (t("started_at"), t("recovered_at"))
            && b < a
        {
            errs.push(FieldError::new(
                "fault_report.recovered_at",
                "恢复时间不能早于故障开始时间",
            ));
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// How far a reported time may lie after the server's clock: the reporter's clock may run
/// ahead (the same allowance as a ticket's `reported_at`).
const CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// A fault report's times against the moment the ticket is resolved: the fault cannot
/// have started or been recovered after it is reported resolved (beyond clock skew).
pub fn check_report_times(fr: &Map<String, Value>, resolved_at_ms: i64) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, label) in [("started_at", "故障开始时间"), ("recovered_at", "恢复时间")] {
        let t = fr
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        if let Some(t) = t
            && t.timestamp_millis() > resolved_at_ms + CLOCK_SKEW_MS
        {
            errs.push(FieldError::new(
                format!("fault_report.{k}"),
                format!(
                    "{label}不能晚于解决时间（{}），请填写实际发生的时间",
                    DateTime::<Utc>::from_timestamp_millis(resolved_at_ms)
                        .and_then(|t| {
                            chrono::FixedOffset::east_opt(8 * 3600).map(|bj| t.with_timezone(&bj))
                        })
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                ),
            ));
        }
    }
    errs
}

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

/// `PUT /calendars/{id}/days/{date}`: `working` true (working day), false (holiday) or
/// null (back to the weekday rule).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayInput {
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>, required = true)]
    pub working: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub reason: Option<String>,
}

impl Labels for CalendarDayInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("working", "上班（true）、放假（false）或恢复按星期（null）"),
        ("reason", "原因"),
    ];
}

impl CalendarDayInput {
    /// The day (`YYYY-MM-DD`) and the reason, required (up to 100 characters) unless the
    /// day goes back to the weekday rule.
    pub fn check(&self, date: &str) -> Result<(NaiveDate, String), Vec<FieldError>> {
        let mut errs = Vec::new();
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| errs.push(FieldError::new("date", "日期应为 YYYY-MM-DD")))
            .ok();
        let reason = self
            .reason
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string();
        if self.working.is_some() && (reason.is_empty() || reason.chars().count() > 100) {
            errs.push(FieldError::new(
                "reason",
                "请填写原因（不超过 100 个字符），如“国庆节”或“国庆节调休上班”",
            ));
        }
        match day {
            Some(d) if errs.is_empty() => Ok((d, reason)),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::decode;
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
