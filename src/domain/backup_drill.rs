//! Restore drills (issue 14, part 3): a drill's typed inputs and their rules, and when a
//! policy's next drill is due by its cadence. Pure: no I/O.

use chrono::{DateTime, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::backup::DrillCadence;
use super::field_error::FieldError;
use super::input::{Labels, de};

/// How a drill went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillResult {
    /// Restored and verified.
    Passed,
    /// Restored in part, or with problems.
    Partial,
    /// Not restored.
    Failed,
}

pub const DRILL_RESULTS: [DrillResult; 3] = [
    DrillResult::Passed,
    DrillResult::Partial,
    DrillResult::Failed,
];

impl DrillResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillResult::Passed => "passed",
            DrillResult::Partial => "partial",
            DrillResult::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        DRILL_RESULTS.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DrillResult::Passed => "通过",
            DrillResult::Partial => "部分通过",
            DrillResult::Failed => "未通过",
        }
    }
}

/// The longest drill duration accepted: 100 years in seconds.
pub const MAX_DURATION_SECONDS: i64 = 3_153_600_000;

/// `POST /restore-drills`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillCreate {
    /// The backup policy whose data was restored.
    pub policy_id: i64,
    /// When the drill started: RFC 3339, or a date (Beijing midnight).
    pub drilled_at: String,
    /// What was restored (data set, tables, directories).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub scope: Option<String>,
    /// Where it was restored to (e.g. a test server).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub target: Option<String>,
    /// How long the restore took, in seconds (the RTO achieved).
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// The time of the restored data (the restore point): RFC 3339 or a date.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub data_point: Option<String>,
    pub result: DrillResult,
    /// Who verified the restored data, by name.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub verifier: Option<String>,
    /// Who verified the restored data, as a user.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub verifier_user_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
}

pub const DRILL_LABELS: &[(&str, &str)] = &[
    ("policy_id", "备份策略"),
    ("drilled_at", "演练时间"),
    ("scope", "恢复内容"),
    ("target", "恢复到"),
    ("duration_seconds", "恢复耗时（秒）"),
    ("data_point", "数据时间点"),
    ("result", "演练结果"),
    ("verifier", "验证人"),
    ("verifier_user_id", "验证人（用户）"),
    ("note", "备注"),
];

impl Labels for DrillCreate {
    const LABELS: &'static [(&'static str, &'static str)] = DRILL_LABELS;
}

/// `PATCH /restore-drills/{id}`: the fields to change; `null` clears an optional one.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillPatch {
    pub policy_id: Option<i64>,
    pub drilled_at: Option<String>,
    pub scope: Option<String>,
    pub target: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub duration_seconds: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub data_point: Option<Option<String>>,
    pub result: Option<DrillResult>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub verifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub verifier_user_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

impl Labels for DrillPatch {
    const LABELS: &'static [(&'static str, &'static str)] = DRILL_LABELS;
}

/// A drill as entered (times as text), before its rules.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillDraft {
    pub policy_id: i64,
    pub drilled_at: String,
    pub scope: Option<String>,
    pub target: Option<String>,
    pub duration_seconds: Option<i64>,
    pub data_point: Option<String>,
    pub result: DrillResult,
    pub verifier: Option<String>,
    pub verifier_user_id: Option<i64>,
    pub note: Option<String>,
}

impl From<DrillCreate> for DrillDraft {
    fn from(c: DrillCreate) -> Self {
        DrillDraft {
            policy_id: c.policy_id,
            drilled_at: c.drilled_at,
            scope: c.scope,
            target: c.target,
            duration_seconds: c.duration_seconds,
            data_point: c.data_point,
            result: c.result,
            verifier: c.verifier,
            verifier_user_id: c.verifier_user_id,
            note: c.note,
        }
    }
}

impl DrillPatch {
    /// The drill after the change, for checking as a whole.
    pub fn apply(self, mut d: DrillDraft) -> DrillDraft {
        if let Some(v) = self.policy_id {
            d.policy_id = v;
        }
        if let Some(v) = self.drilled_at {
            d.drilled_at = v;
        }
        if let Some(v) = self.scope {
            d.scope = Some(v);
        }
        if let Some(v) = self.target {
            d.target = Some(v);
        }
        if let Some(v) = self.duration_seconds {
            d.duration_seconds = v;
        }
        if let Some(v) = self.data_point {
            d.data_point = v;
        }
        if let Some(v) = self.result {
            d.result = v;
        }
        if let Some(v) = self.verifier {
            d.verifier = v;
        }
        if let Some(v) = self.verifier_user_id {
            d.verifier_user_id = v;
        }
        if let Some(v) = self.note {
            d.note = v;
        }
        d
    }
}

/// A drill's values after its rules: what is stored (times in epoch milliseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Drill {
    pub policy_id: i64,
    pub drilled_at: i64,
    pub scope: String,
    pub target: String,
    pub duration_seconds: Option<i64>,
    pub data_point: Option<i64>,
    pub result: DrillResult,
    pub verifier: Option<String>,
    pub verifier_user_id: Option<i64>,
    pub note: Option<String>,
}

/// Beijing time (UTC+8), the calendar drills are dated in.
fn beijing() -> chrono::FixedOffset {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => chrono::Offset::fix(&chrono::Utc),
    }
}

/// An RFC 3339 time, or a `YYYY-MM-DD` date (Beijing midnight), in epoch milliseconds.
pub fn parse_when(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(beijing())
        .single()
        .map(|t| t.timestamp_millis())
}

/// The Beijing calendar date of an epoch-milliseconds time.
pub fn beijing_date(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&beijing()).date_naive())
}

/// The recovery point reached: seconds from the restored data's time to the drill's start.
pub fn rpo_seconds(drilled_at: i64, data_point: Option<i64>) -> Option<i64> {
    data_point.map(|p| (drilled_at - p).div_euclid(1000))
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn too_long(errs: &mut Vec<FieldError>, field: &str, label: &str, v: Option<&str>, max: usize) {
    if v.is_some_and(|s| s.chars().count() > max) {
        errs.push(FieldError::new(field, format!("{label}不能超过 {max} 字")));
    }
}

/// Earliest drill time accepted: 2000-01-01.
const EARLIEST_MS: i64 = 946_684_800_000;

/// Checks a drill's rules at `now_ms`, every problem at once; answers it cleaned (trimmed
/// texts, empty ones as none, times parsed). Whether the policy and the verifying user
/// exist is the use case's to check.
pub fn check_drill(d: DrillDraft, now_ms: i64) -> Result<Drill, Vec<FieldError>> {
    let mut errs = Vec::new();
    let when_msg = "应为日期时间，如 2025-11-03T10:00:00+08:00，或日期 2025-11-03";
    let drilled_at = match parse_when(&d.drilled_at) {
        None => {
            errs.push(FieldError::new("drilled_at", format!("演练时间{when_msg}")));
            None
        }
        Some(t) if t > now_ms => {
            errs.push(FieldError::new("drilled_at", "演练时间不能晚于现在"));
            None
        }
        Some(t) if t < EARLIEST_MS => {
            errs.push(FieldError::new("drilled_at", "演练时间不能早于 2000 年"));
            None
        }
        Some(t) => Some(t),
    };
    let data_point = match clean(d.data_point) {
        None => None,
        Some(s) => match parse_when(&s) {
            None => {
                errs.push(FieldError::new(
                    "data_point",
                    format!("数据时间点{when_msg}"),
                ));
                None
            }
            Some(p) => {
                if drilled_at.is_some_and(|t| p > t) {
                    errs.push(FieldError::new(
                        "data_point",
                        "数据时间点（所恢复备份的时间）不能晚于演练时间",
                    ));
                }
                Some(p)
            }
        },
    };
    let scope = clean(d.scope);
    if scope.is_none() {
        errs.push(FieldError::new(
            "scope",
            "请填写恢复内容（如数据集、表或目录）",
        ));
    }
    too_long(&mut errs, "scope", "恢复内容", scope.as_deref(), 500);
    let target = clean(d.target);
    if target.is_none() {
        errs.push(FieldError::new(
            "target",
            "请填写恢复到何处（如测试服务器、备用库）",
        ));
    }
    too_long(&mut errs, "target", "恢复到", target.as_deref(), 500);
    if d.duration_seconds
        .is_some_and(|v| !(0..=MAX_DURATION_SECONDS).contains(&v))
    {
        errs.push(FieldError::new(
            "duration_seconds",
            format!("恢复耗时应为 0 到 {MAX_DURATION_SECONDS} 之间的秒数"),
        ));
    }
    let verifier = clean(d.verifier);
    too_long(&mut errs, "verifier", "验证人", verifier.as_deref(), 100);
    if verifier.is_none() && d.verifier_user_id.is_none() {
        errs.push(FieldError::new(
            "verifier",
            "请填写验证人（姓名或 verifier_user_id）",
        ));
    }
    let note = clean(d.note);
    too_long(&mut errs, "note", "备注", note.as_deref(), 2000);
    match (drilled_at, scope, target) {
        (Some(drilled_at), Some(scope), Some(target)) if errs.is_empty() => Ok(Drill {
            policy_id: d.policy_id,
            drilled_at,
            scope,
            target,
            duration_seconds: d.duration_seconds,
            data_point,
            result: d.result,
            verifier,
            verifier_user_id: d.verifier_user_id,
            note,
        }),
        _ => Err(errs),
    }
}

// ---- cadence ------------------------------------------------------------------------------

/// Where a policy stands with its drills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrillStatus {
    /// The date by which the next drill is due; none when the cadence asks for none.
    pub due: Option<NaiveDate>,
    /// Whether `today` is past the due date.
    pub overdue: bool,
}

/// When the next drill is due: `cadence` months after the last passed drill, or after the
/// policy's creation when none has passed; overdue from the day after that date on. A
/// month-end start ends on the shorter month's last day (31 Jan + 1 month = 28/29 Feb).
pub fn drill_status(
    cadence: DrillCadence,
    created: NaiveDate,
    last_passed: Option<NaiveDate>,
    today: NaiveDate,
) -> DrillStatus {
    let due = cadence.months().and_then(|m| {
        last_passed
            .unwrap_or(created)
            .checked_add_months(Months::new(m))
    });
    DrillStatus {
        due,
        overdue: due.is_some_and(|d| today > d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_764_000_000_000; // 2025-11-24

    fn draft() -> DrillDraft {
        let c: DrillCreate = serde_json::from_value(serde_json::json!({
            "policy_id": 1, "drilled_at": "2025-11-03T10:00:00+08:00", "scope": " 业务库 ",
            "target": "测试服务器", "duration_seconds": 3600,
            "data_point": "2025-11-03T02:00:00+08:00", "result": "passed", "verifier": "张三",
        }))
        .unwrap();
        c.into()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_good_drill_is_cleaned_and_its_rpo_computed() {
        let d = check_drill(draft(), NOW).unwrap();
        assert_eq!(d.scope, "业务库");
        assert_eq!(d.result, DrillResult::Passed);
        assert_eq!(rpo_seconds(d.drilled_at, d.data_point), Some(8 * 3600));
        assert_eq!(rpo_seconds(d.drilled_at, None), None);
        assert_eq!(
            DrillResult::parse("partial").map(DrillResult::label),
            Some("部分通过")
        );
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut d = draft();
        d.drilled_at = "2025-11-03T01:00:00+08:00".into();
        d.scope = Some("  ".into());
        d.target = None;
        d.duration_seconds = Some(-1);
        d.verifier = None;
        let errs = check_drill(d, NOW).unwrap_err();
        let mut f: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        f.sort();
        assert_eq!(
            f,
            [
                "data_point",
                "duration_seconds",
                "scope",
                "target",
                "verifier"
            ]
        );
        let mut d = draft();
        d.drilled_at = "2030-01-01".into();
        d.data_point = Some("yesterday".into());
        let errs = check_drill(d, NOW).unwrap_err();
        let f: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["drilled_at", "data_point"]);
        // A user as verifier is enough.
        let mut d = draft();
        d.verifier = None;
        d.verifier_user_id = Some(7);
        assert!(check_drill(d, NOW).is_ok());
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let p: DrillPatch = serde_json::from_value(
            serde_json::json!({"data_point": null, "result": "failed", "note": "x"}),
        )
        .unwrap();
        let d = p.apply(draft());
        assert_eq!(d.data_point, None);
        assert_eq!(d.result, DrillResult::Failed);
        assert_eq!(d.note.as_deref(), Some("x"));
        assert_eq!(d.scope, draft().scope);
        assert!(serde_json::from_value::<DrillPatch>(serde_json::json!({"bogus": 1})).is_err());
    }

    #[test]
    fn the_next_drill_is_due_a_cadence_after_the_last_passed_one() {
        let q = DrillCadence::Quarterly;
        let created = date(2025, 1, 15);
        let s = drill_status(q, created, None, date(2025, 4, 15));
        assert_eq!(s.due, Some(date(2025, 4, 15)));
        assert!(!s.overdue);
        assert!(drill_status(q, created, None, date(2025, 4, 16)).overdue);
        let s = drill_status(q, created, Some(date(2025, 3, 31)), date(2025, 6, 30));
        assert_eq!(s.due, Some(date(2025, 6, 30)));
        assert!(!s.overdue);
        let s = drill_status(
            DrillCadence::Monthly,
            created,
            Some(date(2025, 1, 31)),
            date(2025, 3, 1),
        );
        assert_eq!(s.due, Some(date(2025, 2, 28)));
        assert!(s.overdue);
        let s = drill_status(DrillCadence::None, created, None, date(2099, 1, 1));
        assert_eq!(
            s,
            DrillStatus {
                due: None,
                overdue: false
            }
        );
    }

    fn cadence() -> impl Strategy<Value = DrillCadence> {
        prop::sample::select(crate::domain::backup::DRILL_CADENCES.to_vec())
    }

    proptest! {
        #[test]
        fn due_is_cadence_months_on_and_overdue_only_after_it(
            c in cadence(),
            created in 0i64..40_000,
            last in prop::option::of(0i64..40_000),
            today in 0i64..50_000,
        ) {
            let base = date(2000, 1, 1);
            let day = |n: i64| base + chrono::Duration::days(n);
            let s = drill_status(c, day(created), last.map(day), day(today));
            match c.months() {
                None => prop_assert_eq!(s, DrillStatus { due: None, overdue: false }),
                Some(m) => {
                    let from = last.map(day).unwrap_or(day(created));
                    let due = s.due.unwrap();
                    let gap = (due - from).num_days();
                    prop_assert!(gap >= 28 * i64::from(m) - 3 && gap <= 31 * i64::from(m), "{gap}");
                    prop_assert_eq!(s.overdue, day(today) > due);
                    // A later passed drill never brings the due date forward.
                    let later = drill_status(c, day(created), Some(from + chrono::Duration::days(1)), day(today));
                    prop_assert!(later.due.unwrap() >= due);
                }
            }
        }

        #[test]
        fn rpo_is_never_negative_for_a_checked_drill(
            back in 0i64..10_000_000_000,
            off in 0i64..1_000_000_000,
        ) {
            let at = NOW - off;
            let mut d = draft();
            d.drilled_at = rfc(at);
            d.data_point = Some(rfc(at - back));
            let x = check_drill(d, NOW).unwrap();
            prop_assert_eq!(rpo_seconds(x.drilled_at, x.data_point), Some(back / 1000));
        }
    }

    fn rfc(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339()
    }
}
