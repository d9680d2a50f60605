//! The deliverables register (交付物): what the contract names, where it belongs, how often
//! it is due and by when (a due rule on the working calendar), and the schedule of its
//! instances over a service period with their status. Pure: the working calendar comes
//! in as a function.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::{Labels, de};

macro_rules! named_enum {
    ($name:ident, $all:ident, $( $v:ident => $s:literal, $l:literal ),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $v ),+ }
        pub const $all: &[$name] = &[ $( $name::$v ),+ ];
        impl $name {
            pub fn as_str(self) -> &'static str { match self { $( $name::$v => $s ),+ } }
            pub fn label(self) -> &'static str { match self { $( $name::$v => $l ),+ } }
            pub fn parse(s: &str) -> Option<Self> { $all.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

named_enum!(Area, AREAS,
    Infrastructure => "infrastructure", "基础设施运维",
    Systems => "systems", "软件系统运维",
    Operations => "operations", "系统业务运营",
);

named_enum!(Cadence, CADENCES,
    Once => "once", "一次性",
    Monthly => "monthly", "每月",
    Quarterly => "quarterly", "每季度",
    Yearly => "yearly", "每年",
    PerEvent => "per_event", "按事件",
    AtAcceptance => "at_acceptance", "验收时",
);

named_enum!(Anchor, ANCHORS,
    PeriodEnd => "period_end", "期末后",
    PeriodStart => "period_start", "期初后",
);

named_enum!(Status, STATUSES,
    Pending => "pending", "待提交",
    Submitted => "submitted", "已提交待审",
    Accepted => "accepted", "已验收",
    Returned => "returned", "已退回",
    Overdue => "overdue", "已逾期",
);

named_enum!(Decision, DECISIONS,
    Accept => "accept", "验收通过",
    Return => "return", "退回修改",
);

/// When an instance is due: `days` (working or calendar) after its period's end (or start).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueRule {
    pub anchor: Anchor,
    pub days: i64,
    /// Working days on the working calendar (holidays and make-up days), else calendar days.
    pub working: bool,
}

impl DueRule {
    pub fn label(&self) -> String {
        let unit = if self.working { "个工作日" } else { "天" };
        format!("{}{}{unit}内", self.anchor.label(), self.days)
    }
}

/// `POST /deliverables`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverableCreate {
    pub section: String,
    pub name: String,
    pub area: Area,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub line_id: Option<i64>,
    pub cadence: Cadence,
    pub due: DueRule,
    /// The report kind that generates it (e.g. `line_monthly`); absent: uploaded.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub report_kind: Option<String>,
    /// The outline of an authored document's template.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub outline: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
}

/// `PATCH /deliverables/{id}`: what is given replaces the stored value (`line_id`,
/// `report_kind`, `outline` and `note` may be set to null).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverablePatch {
    pub section: Option<String>,
    pub name: Option<String>,
    pub area: Option<Area>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub line_id: Option<Option<i64>>,
    pub cadence: Option<Cadence>,
    pub due: Option<DueRule>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub report_kind: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub outline: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

const LABELS: &[(&str, &str)] = &[
    ("section", "章节"),
    ("name", "交付物名称"),
    ("area", "所属领域"),
    ("line_id", "服务条线"),
    ("cadence", "提交周期"),
    ("due", "提交期限"),
    ("anchor", "期限起算"),
    ("days", "期限天数"),
    ("working", "按工作日"),
    ("report_kind", "生成方式"),
    ("outline", "模板提纲"),
    ("note", "备注"),
];

impl Labels for DeliverableCreate {
    const LABELS: &'static [(&'static str, &'static str)] = LABELS;
}

impl Labels for DeliverablePatch {
    const LABELS: &'static [(&'static str, &'static str)] = LABELS;
}

impl DeliverablePatch {
    pub fn apply(self, mut c: DeliverableCreate) -> DeliverableCreate {
        if let Some(v) = self.section {
            c.section = v;
        }
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.area {
            c.area = v;
        }
        if let Some(v) = self.line_id {
            c.line_id = v;
        }
        if let Some(v) = self.cadence {
            c.cadence = v;
        }
        if let Some(v) = self.due {
            c.due = v;
        }
        if let Some(v) = self.report_kind {
            c.report_kind = v;
        }
        if let Some(v) = self.outline {
            c.outline = v;
        }
        if let Some(v) = self.note {
            c.note = v;
        }
        c
    }
}

/// `POST .../review`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub decision: Decision,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for Review {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("decision", "审核结论"), ("comment", "审核意见")];
}

/// Checks a review: a return needs a comment saying what to change.
pub fn check_review(r: &Review) -> Result<(), Vec<FieldError>> {
    let n = r.comment.as_deref().map_or(0, |c| c.chars().count());
    if r.decision == Decision::Return && n == 0 {
        return Err(vec![FieldError::new(
            "comment",
            "退回时请填写审核意见，说明需要修改的内容",
        )]);
    }
    if n > 2000 {
        return Err(vec![FieldError::new(
            "comment",
            "审核意见不能超过 2000 个字",
        )]);
    }
    Ok(())
}

/// Checks a deliverable; `known_kind` tells whether a report kind exists.
pub fn check_deliverable(
    c: &DeliverableCreate,
    known_kind: impl Fn(&str) -> bool,
) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    let sec = c.section.trim();
    if sec.is_empty()
        || sec.len() > 20
        || !sec
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit()))
    {
        errs.push(FieldError::new("section", "章节应写成 4.2.14.1 这样的编号"));
    }
    let n = c.name.trim().chars().count();
    if n == 0 || n > 200 {
        errs.push(FieldError::new(
            "name",
            "请填写交付物名称（不超过 200 个字）",
        ));
    }
    match (c.area, c.line_id) {
        (Area::Operations, None) => errs.push(FieldError::new(
            "line_id",
            "系统业务运营的交付物请选择所属服务条线",
        )),
        (Area::Infrastructure | Area::Systems, Some(_)) => errs.push(FieldError::new(
            "line_id",
            "运维类交付物不属于服务条线，请删除 line_id",
        )),
        _ => {}
    }
    if !(0..=120).contains(&c.due.days) {
        errs.push(FieldError::new("due.days", "期限天数应为 0 到 120"));
    }
    if let Some(k) = &c.report_kind
        && !known_kind(k)
    {
        errs.push(FieldError::new(
            "report_kind",
            format!("没有报告类型 {k}；由文件上传的交付物请不填写"),
        ));
    }
    if c.outline
        .as_deref()
        .is_some_and(|o| o.chars().count() > 5000)
    {
        errs.push(FieldError::new("outline", "模板提纲不能超过 5000 个字"));
    }
    if c.note.as_deref().is_some_and(|o| o.chars().count() > 1000) {
        errs.push(FieldError::new("note", "备注不能超过 1000 个字"));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// One due instance: its key, the period it covers (both days included) and its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub key: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub label: String,
}

/// The instances a cadence schedules over a service period `[start, end]`: each calendar
/// month (or quarter) that overlaps it, clipped to it; one for the year, for once and for
/// acceptance; none for per-event deliverables (their instances are the events recorded).
pub fn occurrences(cadence: Cadence, start: NaiveDate, end: NaiveDate) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let whole = |key: &str, label: &str| Occurrence {
        key: key.into(),
        from: start,
        to: end,
        label: label.into(),
    };
    match cadence {
        Cadence::Monthly | Cadence::Quarterly => {
            let step = if cadence == Cadence::Monthly { 1 } else { 3 };
            let mut first = start.with_day(1).unwrap_or(start);
            if step == 3 {
                let m0 = (first.month() - 1) / 3 * 3 + 1;
                first = first.with_month(m0).unwrap_or(first);
            }
            while first <= end && out.len() < 120 {
                let next = first
                    .checked_add_months(chrono::Months::new(step))
                    .unwrap_or(end + Duration::days(1));
                let last = next - Duration::days(1);
                let (key, label) = if step == 1 {
                    (
                        format!("{}-{:02}", first.year(), first.month()),
                        format!("{} 年 {} 月", first.year(), first.month()),
                    )
                } else {
                    let q = (first.month() - 1) / 3 + 1;
                    (
                        format!("{}-Q{q}", first.year()),
                        format!("{} 年第 {q} 季度", first.year()),
                    )
                };
                out.push(Occurrence {
                    key,
                    from: first.max(start),
                    to: last.min(end),
                    label,
                });
                first = next;
            }
        }
        Cadence::Yearly => out.push(whole("year", "服务期")),
        Cadence::Once => out.push(whole("once", "服务期")),
        Cadence::AtAcceptance => out.push(whole("acceptance", "项目验收")),
        Cadence::PerEvent => {}
    }
    out
}

/// The occurrence of a per-event deliverable on `date` (key `YYYY-MM-DD`).
pub fn event_occurrence(key: &str) -> Option<Occurrence> {
    let d = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
    Some(Occurrence {
        key: key.into(),
        from: d,
        to: d,
        label: format!("{} 事件", d.format("%Y-%m-%d")),
    })
}

/// The due date of an occurrence. From the anchor day (the period's last day, or the day
/// before its first), `days` days on: with working days, only working days count and the
/// due date is the `days`-th working day after the anchor (0 days: the anchor day if it is
/// a working day, else the next working day).
pub fn due_date(
    rule: &DueRule,
    o: &Occurrence,
    is_working: impl Fn(NaiveDate) -> bool,
) -> NaiveDate {
    let anchor = match rule.anchor {
        Anchor::PeriodEnd => o.to,
        Anchor::PeriodStart => o.from - Duration::days(1),
    };
    if !rule.working {
        return anchor + Duration::days(rule.days.max(0));
    }
    let mut d = anchor;
    if rule.days <= 0 {
        let mut guard = 0;
        while !is_working(d) && guard < 60 {
            d += Duration::days(1);
            guard += 1;
        }
        return d;
    }
    let mut left = rule.days;
    let mut guard = 0;
    while left > 0 && guard < 400 {
        d += Duration::days(1);
        guard += 1;
        if is_working(d) {
            left -= 1;
        }
    }
    d
}

/// The status of an instance: its stored review state, or pending; a pending or returned
/// instance whose due date has passed (in Beijing dates) is overdue.
pub fn status(stored: Option<Status>, due: NaiveDate, today: NaiveDate) -> Status {
    match stored {
        Some(s @ (Status::Submitted | Status::Accepted)) => s,
        s => {
            if today > due {
                Status::Overdue
            } else {
                s.unwrap_or(Status::Pending)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// 2024: 1–7 October off, Sunday 29 September and Saturday 12 October worked.
    fn working_2024(x: NaiveDate) -> bool {
        if x == d(2024, 9, 29) || x == d(2024, 10, 12) {
            return true;
        }
        if (d(2024, 10, 1)..=d(2024, 10, 7)).contains(&x) {
            return false;
        }
        !matches!(x.weekday(), Weekday::Sat | Weekday::Sun)
    }

    #[test]
    fn monthly_instances_cover_every_month_the_period_touches_clipped_to_it() {
        let o = occurrences(Cadence::Monthly, d(2024, 9, 22), d(2025, 9, 21));
        assert_eq!(o.len(), 13);
        assert_eq!(
            (o[0].key.as_str(), o[0].from, o[0].to),
            ("2024-09", d(2024, 9, 22), d(2024, 9, 30))
        );
        assert_eq!((o[12].key.as_str(), o[12].to), ("2025-09", d(2025, 9, 21)));
        let q = occurrences(Cadence::Quarterly, d(2024, 9, 22), d(2025, 9, 21));
        let keys: Vec<&str> = q.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
        );
        assert_eq!(q[1].from, d(2024, 10, 1));
    }

    #[test]
    fn five_working_days_after_september_skip_national_day_and_land_on_the_make_up_saturday() {
        let o = &occurrences(Cadence::Monthly, d(2024, 9, 22), d(2025, 9, 21))[0];
        let rule = DueRule {
            anchor: Anchor::PeriodEnd,
            days: 5,
            working: true,
        };
        assert_eq!(due_date(&rule, o, working_2024), d(2024, 10, 12));
        let cal = DueRule {
            working: false,
            ..rule
        };
        assert_eq!(due_date(&cal, o, working_2024), d(2024, 10, 5));
        let start = DueRule {
            anchor: Anchor::PeriodStart,
            days: 1,
            working: true,
        };
        assert_eq!(due_date(&start, o, working_2024), d(2024, 9, 23));
    }

    #[test]
    fn an_instance_is_overdue_after_its_due_day_unless_submitted_or_accepted() {
        let due = d(2024, 10, 12);
        assert_eq!(status(None, due, due), Status::Pending);
        assert_eq!(status(None, due, d(2024, 10, 13)), Status::Overdue);
        assert_eq!(
            status(Some(Status::Returned), due, d(2024, 10, 13)),
            Status::Overdue
        );
        assert_eq!(
            status(Some(Status::Submitted), due, d(2024, 10, 13)),
            Status::Submitted
        );
        assert_eq!(
            status(Some(Status::Accepted), due, d(2025, 1, 1)),
            Status::Accepted
        );
    }
}
