//! Operations services (系统业务运营服务): the record types the service lines keep, the
//! typed input of a work record with its rules, and the indicators of a line over a
//! period. Pure: no I/O.
//!
//! Every record has the common facts (line, type, time, duration, requester, organisation,
//! channel, what was asked or done, the answer and result, system and ticket links);
//! each type adds its own fields in `data`, described by [`RecordType::fields`] and
//! checked by [`check_data`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::{Labels, de};

/// How a type-specific field is entered and checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldKind {
    Text {
        max: usize,
    },
    /// A whole number in `[min, max]`.
    Count {
        min: i64,
        max: i64,
    },
    /// A percentage, 0 to 100, one decimal.
    Percent,
    Choice(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

const fn text(key: &'static str, label: &'static str, required: bool) -> FieldSpec {
    FieldSpec {
        key,
        label,
        kind: FieldKind::Text { max: 500 },
        required,
    }
}

const fn count(key: &'static str, label: &'static str, required: bool) -> FieldSpec {
    FieldSpec {
        key,
        label,
        kind: FieldKind::Count {
            min: 0,
            max: 100_000_000,
        },
        required,
    }
}

/// The record types the seed names (4.2, and 4.2.7's six record kinds).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    /// 技术支持：用户咨询与帮助.
    Support,
    /// 账号权限：开通、变更、注销、重置、授权.
    Account,
    /// 数据更新：事项信息、基础数据、业务数据的更新.
    DataUpdate,
    /// 数据对账：办件过程数据等的对账.
    Reconciliation,
    /// 接口修订.
    InterfaceRevision,
    /// 好差评数据与办事评价覆盖率.
    Rating,
    /// 电子证照签发数据.
    Licence,
    /// 统计服务：为领导与地市提供的数据统计.
    Statistics,
}

pub const RECORD_TYPES: [RecordType; 8] = [
    RecordType::Support,
    RecordType::Account,
    RecordType::DataUpdate,
    RecordType::Reconciliation,
    RecordType::InterfaceRevision,
    RecordType::Rating,
    RecordType::Licence,
    RecordType::Statistics,
];

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Support => "support",
            RecordType::Account => "account",
            RecordType::DataUpdate => "data_update",
            RecordType::Reconciliation => "reconciliation",
            RecordType::InterfaceRevision => "interface_revision",
            RecordType::Rating => "rating",
            RecordType::Licence => "licence",
            RecordType::Statistics => "statistics",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RECORD_TYPES.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RecordType::Support => "技术支持",
            RecordType::Account => "账号权限",
            RecordType::DataUpdate => "数据更新",
            RecordType::Reconciliation => "数据对账",
            RecordType::InterfaceRevision => "接口修订",
            RecordType::Rating => "好差评",
            RecordType::Licence => "电子证照",
            RecordType::Statistics => "统计服务",
        }
    }

    /// The type's own fields, kept in `data`.
    pub fn fields(self) -> &'static [FieldSpec] {
        const ACCOUNT: &[FieldSpec] = &[
            FieldSpec {
                key: "action",
                label: "操作",
                kind: FieldKind::Choice(&["开通", "变更", "注销", "重置密码", "授权", "回收权限"]),
                required: true,
            },
            text("account", "账号", true),
            text("permission", "权限或角色", false),
        ];
        const DATA_UPDATE: &[FieldSpec] = &[
            text("object", "更新对象", true),
            count("items", "更新条数", false),
        ];
        const RECONCILIATION: &[FieldSpec] = &[
            text("object", "对账数据", true),
            count("matched", "一致条数", true),
            count("mismatched", "不一致条数", true),
            count("fixed", "已处理差异", false),
        ];
        const INTERFACE: &[FieldSpec] = &[
            text("interface", "接口名称", true),
            text("version", "版本", false),
        ];
        const RATING: &[FieldSpec] = &[
            count("good", "好评数", true),
            count("neutral", "中评数", false),
            count("bad", "差评数", true),
            FieldSpec {
                key: "coverage",
                label: "办事评价覆盖率（%）",
                kind: FieldKind::Percent,
                required: false,
            },
        ];
        const LICENCE: &[FieldSpec] = &[
            text("licence_type", "证照类型", true),
            count("issued", "签发数量", true),
        ];
        const STATISTICS: &[FieldSpec] = &[
            text("subject", "统计内容", true),
            text("recipient", "报送对象", false),
        ];
        match self {
            RecordType::Support => &[],
            RecordType::Account => ACCOUNT,
            RecordType::DataUpdate => DATA_UPDATE,
            RecordType::Reconciliation => RECONCILIATION,
            RecordType::InterfaceRevision => INTERFACE,
            RecordType::Rating => RATING,
            RecordType::Licence => LICENCE,
            RecordType::Statistics => STATISTICS,
        }
    }
}

/// How a request reached the operations staff.
pub const CHANNELS: &[&str] = &["电话", "企业微信", "粤政易", "现场", "邮件", "远程", "工单"];
/// Who asked.
pub const ORG_LEVELS: &[&str] = &["省厅及直属单位", "地市", "区县", "企业", "公众"];
/// How a request ended.
pub const RESULTS: &[&str] = &["已解决", "已转工单", "待跟进", "无法解决"];
/// The requester's rating (cn-ops §1.1, 1.7): satisfaction counts the first two.
pub const RATINGS: &[&str] = &["非常满意", "满意", "一般", "不满意"];

/// `POST /work-records`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCreate {
    pub line_id: i64,
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// When it happened (RFC 3339, or `YYYY-MM-DD HH:MM` in Beijing time); now if left out.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub occurred_at: Option<String>,
    pub duration_minutes: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub requester: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub organisation: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub org_level: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub channel: Option<String>,
    /// The question asked, or what was done.
    pub summary: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub answer: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub result: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub system_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub ticket_id: Option<i64>,
    /// The type's own fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

pub const RECORD_LABELS: &[(&str, &str)] = &[
    ("line_id", "服务条线"),
    ("type", "记录类型"),
    ("occurred_at", "发生时间"),
    ("duration_minutes", "耗时（分钟）"),
    ("requester", "服务对象"),
    ("organisation", "所属单位"),
    ("org_level", "单位层级"),
    ("channel", "服务方式"),
    ("summary", "问题或工作内容"),
    ("answer", "答复或处理过程"),
    ("result", "处理结果"),
    ("system_id", "系统"),
    ("ticket_id", "关联工单"),
    ("data", "类型字段"),
];

impl Labels for RecordCreate {
    const LABELS: &'static [(&'static str, &'static str)] = RECORD_LABELS;
}

/// `PATCH /work-records/{id}`: the fields to change; `null` clears an optional one.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    pub occurred_at: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub duration_minutes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub requester: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub organisation: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub org_level: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub channel: Option<Option<String>>,
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub answer: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub result: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub system_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub ticket_id: Option<Option<i64>>,
    /// Replaces the type's fields as a whole.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

impl Labels for RecordPatch {
    const LABELS: &'static [(&'static str, &'static str)] = RECORD_LABELS;
}

impl RecordPatch {
    /// The record after the change, for checking as a whole.
    pub fn apply(self, mut r: RecordCreate) -> RecordCreate {
        if let Some(v) = self.occurred_at {
            r.occurred_at = Some(v);
        }
        if let Some(v) = self.duration_minutes {
            r.duration_minutes = v;
        }
        if let Some(v) = self.requester {
            r.requester = v;
        }
        if let Some(v) = self.organisation {
            r.organisation = v;
        }
        if let Some(v) = self.org_level {
            r.org_level = v;
        }
        if let Some(v) = self.channel {
            r.channel = v;
        }
        if let Some(v) = self.summary {
            r.summary = v;
        }
        if let Some(v) = self.answer {
            r.answer = v;
        }
        if let Some(v) = self.result {
            r.result = v;
        }
        if let Some(v) = self.system_id {
            r.system_id = v;
        }
        if let Some(v) = self.ticket_id {
            r.ticket_id = v;
        }
        if let Some(v) = self.data {
            r.data = v;
        }
        r
    }
}

/// Parses a time as RFC 3339 or `YYYY-MM-DD HH:MM` / `YYYY-MM-DDTHH:MM` (Beijing).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let bj = chrono::FixedOffset::east_opt(8 * 3600)?;
    for f in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return n
                .and_local_timezone(bj)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    None
}

fn one_of(errs: &mut Vec<FieldError>, field: &str, v: &Option<String>, allowed: &[&str]) {
    if let Some(v) = v
        && !allowed.contains(&v.as_str())
    {
        errs.push(FieldError::new(
            field,
            format!("应为以下之一：{}", allowed.join("、")),
        ));
    }
}

fn too_long(errs: &mut Vec<FieldError>, field: &str, v: Option<&str>, max: usize) {
    if v.is_some_and(|s| s.chars().count() > max) {
        errs.push(FieldError::new(field, format!("不能超过 {max} 字")));
    }
}

/// Checks the type's own fields: known keys only, required ones present, counts whole
/// and in range, choices from their list. Answers the cleaned fields.
pub fn check_data(
    kind: RecordType,
    data: &Map<String, Value>,
    errs: &mut Vec<FieldError>,
) -> Map<String, Value> {
    let specs = kind.fields();
    let mut out = Map::new();
    for k in data.keys() {
        if !specs.iter().any(|s| s.key == k) {
            let known: Vec<&str> = specs.iter().map(|s| s.key).collect();
            errs.push(FieldError::new(
                format!("data.{k}"),
                if known.is_empty() {
                    format!("“{}”记录没有类型字段，请去掉 {k}", kind.label())
                } else {
                    format!(
                        "“{}”记录没有字段 {k}；可用字段：{}",
                        kind.label(),
                        known.join("、")
                    )
                },
            ));
        }
    }
    for s in specs {
        let field = format!("data.{}", s.key);
        let v = data.get(s.key).filter(|v| match v {
            Value::Null => false,
            Value::String(t) => !t.trim().is_empty(),
            _ => true,
        });
        let Some(v) = v else {
            if s.required {
                errs.push(FieldError::new(field, format!("请填写{}", s.label)));
            }
            continue;
        };
        match s.kind {
            FieldKind::Text { max } => match v.as_str() {
                Some(t) if t.trim().chars().count() <= max => {
                    out.insert(s.key.into(), Value::String(t.trim().to_string()));
                }
                Some(_) => errs.push(FieldError::new(
                    field,
                    format!("{}不能超过 {max} 字", s.label),
                )),
                None => errs.push(FieldError::new(field, format!("{}应为文字", s.label))),
            },
            FieldKind::Count { min, max } => {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|t| t.trim().parse().ok()));
                match n {
                    Some(n) if (min..=max).contains(&n) => {
                        out.insert(s.key.into(), Value::from(n));
                    }
                    _ => errs.push(FieldError::new(
                        field,
                        format!("{}应为 {min} 到 {max} 之间的整数", s.label),
                    )),
                }
            }
            FieldKind::Percent => {
                let n = v.as_f64().or_else(|| {
                    v.as_str()
                        .and_then(|t| t.trim().trim_end_matches('%').parse().ok())
                });
                match n {
                    Some(n) if (0.0..=100.0).contains(&n) => {
                        out.insert(s.key.into(), Value::from((n * 10.0).round() / 10.0));
                    }
                    _ => errs.push(FieldError::new(
                        field,
                        format!("{}应为 0 到 100 之间的数", s.label),
                    )),
                }
            }
            FieldKind::Choice(choices) => match v.as_str().map(str::trim) {
                Some(c) if choices.contains(&c) => {
                    out.insert(s.key.into(), Value::String(c.to_string()));
                }
                _ => errs.push(FieldError::new(
                    field,
                    format!("{}应为以下之一：{}", s.label, choices.join("、")),
                )),
            },
        }
    }
    out
}

/// A record checked against its rules: the parsed time and the cleaned type fields.
#[derive(Debug)]
pub struct Checked {
    pub occurred_at: DateTime<Utc>,
    pub data: Map<String, Value>,
}

/// Checks a record against the rules that need no database: the line keeps its type,
/// times are not in the future, durations and choices are sane, support records name
/// their requester. `line_types` are the types the line keeps.
pub fn check_record(
    r: &RecordCreate,
    line_types: &[RecordType],
    now: DateTime<Utc>,
) -> Result<Checked, Vec<FieldError>> {
    let mut errs = Vec::new();
    if !line_types.contains(&r.kind) {
        let kept: Vec<&str> = line_types.iter().map(|t| t.label()).collect();
        errs.push(FieldError::new(
            "type",
            if kept.is_empty() {
                "该服务条线未设置记录类型，请先在服务条线中设置".to_string()
            } else {
                format!(
                    "该服务条线不记录“{}”；可记录：{}",
                    r.kind.label(),
                    kept.join("、")
                )
            },
        ));
    }
    let occurred_at = match r.occurred_at.as_deref() {
        None => now,
        Some(s) => match parse_time(s) {
            Some(t) if t <= now + chrono::Duration::minutes(5) => t,
            Some(_) => {
                errs.push(FieldError::new("occurred_at", "发生时间不能晚于现在"));
                now
            }
            None => {
                errs.push(FieldError::new(
                    "occurred_at",
                    "时间格式应为“2025-11-03 09:30”或 RFC 3339",
                ));
                now
            }
        },
    };
    if r.duration_minutes
        .is_some_and(|d| !(0..=7 * 24 * 60).contains(&d))
    {
        errs.push(FieldError::new(
            "duration_minutes",
            "耗时应为 0 到 10080 分钟（7 天）",
        ));
    }
    if r.summary.trim().is_empty() {
        errs.push(FieldError::new("summary", "请填写问题或工作内容"));
    }
    too_long(&mut errs, "summary", Some(&r.summary), 2000);
    too_long(&mut errs, "answer", r.answer.as_deref(), 4000);
    too_long(&mut errs, "requester", r.requester.as_deref(), 100);
    too_long(&mut errs, "organisation", r.organisation.as_deref(), 200);
    one_of(&mut errs, "channel", &r.channel, CHANNELS);
    one_of(&mut errs, "org_level", &r.org_level, ORG_LEVELS);
    one_of(&mut errs, "result", &r.result, RESULTS);
    if r.kind == RecordType::Support {
        if r.requester.is_none() {
            errs.push(FieldError::new("requester", "技术支持记录请填写服务对象"));
        }
        if r.channel.is_none() {
            errs.push(FieldError::new("channel", "技术支持记录请选择服务方式"));
        }
    }
    if r.system_id.is_some_and(|s| s <= 0) {
        errs.push(FieldError::new("system_id", "系统编号应为正整数"));
    }
    if r.ticket_id.is_some_and(|s| s <= 0) {
        errs.push(FieldError::new("ticket_id", "工单编号应为正整数"));
    }
    let data = check_data(r.kind, &r.data, &mut errs);
    if errs.is_empty() {
        Ok(Checked { occurred_at, data })
    } else {
        Err(errs)
    }
}

/// The ticket category that makes a resolved request ticket a 技术支持 record.
pub const CONSULTATION: &str = "咨询";

/// Whether a ticket is a consultation: a request (服务请求/咨询) with category 咨询.
pub fn is_consultation(kind: &str, category: Option<&str>) -> bool {
    kind == "request" && category.map(str::trim) == Some(CONSULTATION)
}

/// A line's code as numbers for ordering (4.2.2 before 4.2.10); parts that are not
/// numbers order after those that are.
fn code_key(code: &str) -> Vec<(u64, String)> {
    code.split('.')
        .map(|p| (p.trim().parse::<u64>().unwrap_or(u64::MAX), p.to_string()))
        .collect()
}

/// The line serving `system_id`, of `lines` as (id, code, systems): the first by code
/// when several serve it, `None` when none does.
pub fn line_for_system(lines: &[(i64, String, Vec<i64>)], system_id: i64) -> Option<i64> {
    lines
        .iter()
        .filter(|(_, _, systems)| systems.contains(&system_id))
        .min_by(|a, b| code_key(&a.1).cmp(&code_key(&b.1)))
        .map(|(id, _, _)| *id)
}

/// What the indicators need of one record.
#[derive(Clone, Debug)]
pub struct RecordFact {
    pub kind: RecordType,
    pub channel: Option<String>,
    pub duration_minutes: Option<i64>,
    pub result: Option<String>,
    pub rating: Option<String>,
    pub summary: String,
}

/// A line's indicators over a period (cn-ops §1.1 and §1.8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct LineStats {
    pub total: u32,
    /// Records per type code.
    pub by_type: BTreeMap<String, u32>,
    /// Support records per channel.
    pub by_channel: BTreeMap<String, u32>,
    pub support: u32,
    /// Support records with a result of 已解决.
    pub resolved: u32,
    /// 解决率 = resolved / support, in percent, one decimal.
    pub resolution_rate: Option<f64>,
    /// Support records with a duration within the line's agreed minutes.
    pub handled_in_time: u32,
    /// Support records with a duration.
    pub timed: u32,
    pub in_time_rate: Option<f64>,
    /// Mean duration of the timed support records, in minutes, one decimal.
    pub average_minutes: Option<f64>,
    /// Rated records, and those rated 非常满意 or 满意.
    pub rated: u32,
    pub satisfied: u32,
    /// 满意度 = (非常满意 + 满意) / rated, in percent.
    pub satisfaction: Option<f64>,
    /// The most frequent questions of the support records (by their text), at most ten.
    pub top_questions: Vec<(String, u32)>,
}

fn rate(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| (f64::from(n) * 1000.0 / f64::from(d)).round() / 10.0)
}

pub fn line_stats(records: &[RecordFact], handle_minutes: i64) -> LineStats {
    let mut s = LineStats::default();
    let mut minutes: i64 = 0;
    let mut questions: BTreeMap<String, u32> = BTreeMap::new();
    for r in records {
        s.total += 1;
        *s.by_type.entry(r.kind.as_str().to_string()).or_default() += 1;
        if let Some(g) = &r.rating {
            s.rated += 1;
            if g == RATINGS[0] || g == RATINGS[1] {
                s.satisfied += 1;
            }
        }
        if r.kind != RecordType::Support {
            continue;
        }
        s.support += 1;
        if let Some(c) = &r.channel {
            *s.by_channel.entry(c.clone()).or_default() += 1;
        }
        if r.result.as_deref() == Some(RESULTS[0]) {
            s.resolved += 1;
        }
        if let Some(d) = r.duration_minutes {
            s.timed += 1;
            minutes += d;
            if d <= handle_minutes {
                s.handled_in_time += 1;
            }
        }
        let q: String = r.summary.trim().chars().take(60).collect();
        *questions.entry(q).or_default() += 1;
    }
    s.resolution_rate = rate(s.resolved, s.support);
    s.in_time_rate = rate(s.handled_in_time, s.timed);
    s.average_minutes =
        (s.timed > 0).then(|| (minutes as f64 * 10.0 / f64::from(s.timed)).round() / 10.0);
    s.satisfaction = rate(s.satisfied, s.rated);
    let mut top: Vec<(String, u32)> = questions.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    s.top_questions = top;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 3, 2, 0, 0).unwrap()
    }

    fn support() -> RecordCreate {
        crate::domain::input::decode(json!({
            "line_id": 1, "type": "support", "requester": "王科长", "channel": "电话",
            "summary": "如何导出月报", "occurred_at": "2025-11-03 09:30", "duration_minutes": 15,
        }))
        .unwrap()
    }

    #[test]
    fn a_support_record_is_checked_and_its_time_read_in_beijing() {
        let c = check_record(&support(), &[RecordType::Support], now()).unwrap();
        assert_eq!(
            c.occurred_at,
            Utc.with_ymd_and_hms(2025, 11, 3, 1, 30, 0).unwrap()
        );
    }

    #[test]
    fn every_rule_problem_is_reported_at_once() {
        let mut r = support();
        r.kind = RecordType::Rating;
        r.occurred_at = Some("2025-11-04 09:30".into());
        r.duration_minutes = Some(-1);
        r.channel = Some("飞鸽".into());
        r.summary = " ".into();
        r.data = json!({"good": -1, "colour": 1})
            .as_object()
            .unwrap()
            .clone();
        let errs = check_record(&r, &[RecordType::Support], now()).unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "channel",
                "data.bad",
                "data.colour",
                "data.good",
                "duration_minutes",
                "occurred_at",
                "summary",
                "type"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn type_fields_are_cleaned_counts_whole_and_choices_listed() {
        let mut errs = Vec::new();
        let d = check_data(
            RecordType::Reconciliation,
            json!({"object": " 办件过程数据 ", "matched": "120", "mismatched": 3})
                .as_object()
                .unwrap(),
            &mut errs,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            Value::Object(d),
            json!({"object": "办件过程数据", "matched": 120, "mismatched": 3})
        );
        let mut errs = Vec::new();
        check_data(
            RecordType::Account,
            json!({"action": "删库", "account": "a"})
                .as_object()
                .unwrap(),
            &mut errs,
        );
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("开通"), "{errs:?}");
        let mut errs = Vec::new();
        check_data(
            RecordType::Rating,
            json!({"good": 1.5, "bad": 0, "coverage": "101"})
                .as_object()
                .unwrap(),
            &mut errs,
        );
        let f: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, vec!["data.good", "data.coverage"]);
    }

    proptest::proptest! {
        /// Any row of any cells under any headers becomes a record or field errors,
        /// never a panic.
        #[test]
        fn any_import_row_is_decoded_and_checked_without_panicking(
            headers in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("类型".to_string()),
                    proptest::strategy::Just("耗时（分钟）".to_string()),
                    proptest::strategy::Just("问题或工作内容".to_string()),
                    proptest::strategy::Just("一致条数".to_string()),
                    proptest::strategy::Just("发生时间".to_string()),
                    "\\PC{0,8}",
                ],
                0..8,
            ),
            cells in proptest::collection::vec("\\PC{0,40}", 0..10),
        ) {
            let fields: Vec<Option<String>> = headers.iter().map(|h| import::field_of(h)).collect();
            let v = import::row_json(3, &fields, &cells);
            if let Ok(r) = crate::domain::input::decode::<RecordCreate>(v) {
                let _ = check_record(&r, &RECORD_TYPES, now());
            }
        }
    }

    #[test]
    fn a_consultation_is_a_request_of_category_consultation_served_by_the_first_line() {
        assert!(is_consultation("request", Some(" 咨询 ")));
        assert!(!is_consultation("request", Some("账号")));
        assert!(!is_consultation("request", None));
        assert!(!is_consultation("incident", Some("咨询")));
        let lines = vec![
            (1, "4.2.10".to_string(), vec![5, 6]),
            (2, "4.2.2".to_string(), vec![6]),
            (3, "4.2.3".to_string(), vec![7]),
        ];
        assert_eq!(line_for_system(&lines, 6), Some(2));
        assert_eq!(line_for_system(&lines, 5), Some(1));
        assert_eq!(line_for_system(&lines, 9), None);
    }

    #[test]
    fn indicators_count_as_the_reference_says() {
        let f =
            |kind, channel: &str, d: Option<i64>, result: &str, rating: Option<&str>, q: &str| {
                RecordFact {
                    kind,
                    channel: Some(channel.into()),
                    duration_minutes: d,
                    result: Some(result.into()),
                    rating: rating.map(String::from),
                    summary: q.into(),
                }
            };
        let s = line_stats(
            &[
                f(
                    RecordType::Support,
                    "电话",
                    Some(30),
                    "已解决",
                    Some("非常满意"),
                    "密码",
                ),
                f(
                    RecordType::Support,
                    "电话",
                    Some(300),
                    "已解决",
                    Some("一般"),
                    "密码",
                ),
                f(RecordType::Support, "现场", None, "待跟进", None, "导出"),
                f(
                    RecordType::Account,
                    "电话",
                    Some(5),
                    "已解决",
                    Some("满意"),
                    "开户",
                ),
            ],
            240,
        );
        assert_eq!((s.total, s.support, s.resolved), (4, 3, 2));
        assert_eq!(s.resolution_rate, Some(66.7));
        assert_eq!((s.handled_in_time, s.timed), (1, 2));
        assert_eq!(s.average_minutes, Some(165.0));
        assert_eq!((s.rated, s.satisfied, s.satisfaction), (3, 2, Some(66.7)));
        assert_eq!(s.by_channel["电话"], 2);
        assert_eq!(s.top_questions[0], ("密码".to_string(), 2));
        assert_eq!(line_stats(&[], 240).satisfaction, None);
    }
}

/// The columns of a work-record import, by their Chinese headers (the type's own fields
/// are read from columns named by their labels), and how a row becomes a record.
pub mod import {
    use serde_json::{Map, Value, json};

    use super::{RECORD_TYPES, RecordType};

    /// Header → field of [`super::RecordCreate`].
    pub const COLUMNS: &[(&str, &str)] = &[
        ("类型", "type"),
        ("记录类型", "type"),
        ("发生时间", "occurred_at"),
        ("时间", "occurred_at"),
        ("耗时（分钟）", "duration_minutes"),
        ("耗时(分钟)", "duration_minutes"),
        ("耗时", "duration_minutes"),
        ("服务对象", "requester"),
        ("所属单位", "organisation"),
        ("单位", "organisation"),
        ("单位层级", "org_level"),
        ("服务方式", "channel"),
        ("问题或工作内容", "summary"),
        ("问题描述", "summary"),
        ("工作内容", "summary"),
        ("答复或处理过程", "answer"),
        ("处理过程", "answer"),
        ("处理结果", "result"),
    ];

    /// The field a header names: a common field, or `data.<key>` for a type field's
    /// label (any type's).
    pub fn field_of(header: &str) -> Option<String> {
        let h = header.trim();
        if let Some((_, f)) = COLUMNS.iter().find(|(c, _)| *c == h) {
            return Some((*f).to_string());
        }
        RECORD_TYPES
            .iter()
            .flat_map(|t| t.fields())
            .find(|f| f.label == h || f.key == h)
            .map(|f| format!("data.{}", f.key))
    }

    /// A type given by its label (技术支持) or code (support).
    pub fn type_of(cell: &str) -> Option<RecordType> {
        let c = cell.trim();
        RecordType::parse(c).or_else(|| RECORD_TYPES.into_iter().find(|t| t.label() == c))
    }

    /// One row as the JSON of a record on `line_id`: blanks left out, a missing type is
    /// 技术支持, durations as numbers when they are, type fields gathered into `data`
    /// (only those of the row's type; others must be blank).
    pub fn row_json(line_id: i64, fields: &[Option<String>], cells: &[String]) -> Value {
        let mut m = Map::new();
        let mut data = Map::new();
        m.insert("line_id".into(), json!(line_id));
        for (f, cell) in fields.iter().zip(cells) {
            let (Some(f), v) = (f, cell.trim()) else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            if let Some(k) = f.strip_prefix("data.") {
                data.insert(k.to_string(), json!(v));
            } else if f == "type" {
                let t = type_of(v).map_or(v.to_string(), |t| t.as_str().to_string());
                m.insert("type".into(), json!(t));
            } else if f == "duration_minutes" {
                m.insert(
                    f.clone(),
                    v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
                );
            } else {
                m.insert(f.clone(), json!(v));
            }
        }
        m.entry("type").or_insert_with(|| json!("support"));
        let kind = m
            .get("type")
            .and_then(Value::as_str)
            .and_then(RecordType::parse);
        if let Some(kind) = kind {
            // Columns of other types' fields are ignored for this row.
            data.retain(|k, _| kind.fields().iter().any(|f| f.key == k));
        }
        if !data.is_empty() {
            m.insert("data".into(), Value::Object(data));
        }
        m.entry("summary").or_insert_with(|| json!(""));
        Value::Object(m)
    }
}

/// What the statistics report needs of one record.
#[derive(Clone, Debug)]
pub struct StatFact {
    pub kind: RecordType,
    /// `YYYY-MM` in Beijing time.
    pub month: String,
    pub channel: Option<String>,
    pub org_level: Option<String>,
    pub data: Map<String, Value>,
}

/// A line's statistics over a period (统计报表): records per month and type, support by
/// channel and by the requester's level, and the sums of the types' counted fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineStatistics {
    /// Month → type code → records.
    pub months: BTreeMap<String, BTreeMap<String, u32>>,
    pub by_channel: BTreeMap<String, u32>,
    pub by_level: BTreeMap<String, u32>,
    /// (type label, field label, sum), in the types' and fields' order.
    pub sums: Vec<(&'static str, &'static str, i64)>,
}

pub fn statistics(facts: &[StatFact]) -> LineStatistics {
    let mut s = LineStatistics::default();
    let mut sums: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for f in facts {
        *s.months
            .entry(f.month.clone())
            .or_default()
            .entry(f.kind.as_str().to_string())
            .or_default() += 1;
        if f.kind == RecordType::Support {
            *s.by_channel
                .entry(f.channel.clone().unwrap_or_else(|| "未填".into()))
                .or_default() += 1;
            *s.by_level
                .entry(f.org_level.clone().unwrap_or_else(|| "未填".into()))
                .or_default() += 1;
        }
        let ti = RECORD_TYPES.iter().position(|t| *t == f.kind).unwrap_or(0);
        for (fi, spec) in f.kind.fields().iter().enumerate() {
            if matches!(spec.kind, FieldKind::Count { .. })
                && let Some(n) = f.data.get(spec.key).and_then(Value::as_i64)
            {
                *sums.entry((ti, fi)).or_default() += n;
            }
        }
    }
    s.sums = sums
        .into_iter()
        .map(|((ti, fi), n)| {
            let t = RECORD_TYPES[ti];
            (t.label(), t.fields()[fi].label, n)
        })
        .collect();
    s
}

#[cfg(test)]
mod statistics_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statistics_count_months_channels_levels_and_sum_the_counted_fields() {
        let f = |kind, month: &str, channel: Option<&str>, data: Value| StatFact {
            kind,
            month: month.into(),
            channel: channel.map(String::from),
            org_level: None,
            data: data.as_object().cloned().unwrap_or_default(),
        };
        let s = statistics(&[
            f(RecordType::Support, "2025-10", Some("电话"), json!({})),
            f(RecordType::Support, "2025-11", Some("电话"), json!({})),
            f(RecordType::Support, "2025-11", None, json!({})),
            f(
                RecordType::Reconciliation,
                "2025-11",
                None,
                json!({"object": "办件", "matched": 100, "mismatched": 2}),
            ),
            f(
                RecordType::Reconciliation,
                "2025-12",
                None,
                json!({"object": "办件", "matched": 50, "mismatched": 1, "fixed": 1}),
            ),
            f(
                RecordType::Licence,
                "2025-12",
                None,
                json!({"licence_type": "x", "issued": 7}),
            ),
        ]);
        assert_eq!(s.months["2025-11"]["support"], 2);
        assert_eq!(s.months["2025-12"]["reconciliation"], 1);
        assert_eq!(s.by_channel["电话"], 2);
        assert_eq!(s.by_channel["未填"], 1);
        assert_eq!(s.by_level["未填"], 3);
        assert_eq!(
            s.sums,
            vec![
                ("数据对账", "一致条数", 150),
                ("数据对账", "不一致条数", 3),
                ("数据对账", "已处理差异", 1),
                ("电子证照", "签发数量", 7),
            ]
        );
    }
}
