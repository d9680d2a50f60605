//! Backup oversight (issue 14): a backup policy's typed inputs and their rules, the
//! default expected size from a system's declared data volume, and who may do what.
//! Pure: no I/O.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::{Labels, de};
use super::monitor::cron::Cron;
use super::roles::Role;

/// Declares a closed set of values with their stored name and Chinese label.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident, $all:ident, $what:literal, [$($v:ident = $s:literal / $l:literal),+ $(,)?]) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }

        pub const $all: &[$name] = &[$($name::$v),+];

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                $all.iter().copied().find(|v| v.as_str() == s)
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$v => $l),+ }
            }
        }
    };
}

choice!(
    /// What a policy backs up.
    Scope, SCOPES, "范围", [Database = "database" / "数据库", Files = "files" / "文件", Both = "both" / "数据库和文件"]
);
choice!(
    /// How a policy backs up.
    Method, METHODS, "方式", [Full = "full" / "全量", Incremental = "incremental" / "增量", Log = "log" / "日志"]
);
choice!(
    /// Where a policy keeps its copies.
    Target, TARGETS, "存放", [Local = "local" / "本地", Offsite = "offsite" / "异地"]
);
choice!(
    /// How often a restore drill is due.
    DrillCadence, DRILL_CADENCES, "演练周期", [
        None = "none" / "不要求",
        Monthly = "monthly" / "每月",
        Quarterly = "quarterly" / "每季度",
        HalfYearly = "half_yearly" / "每半年",
        Yearly = "yearly" / "每年",
    ]
);

impl DrillCadence {
    /// The months between two drills, if any are required.
    pub fn months(self) -> Option<u32> {
        match self {
            DrillCadence::None => None,
            DrillCadence::Monthly => Some(1),
            DrillCadence::Quarterly => Some(3),
            DrillCadence::HalfYearly => Some(6),
            DrillCadence::Yearly => Some(12),
        }
    }
}

/// Bytes in the "G" the seed states volumes in (taken as GiB).
pub const GB: i64 = 1 << 30;

pub const DEFAULT_GRACE_MINUTES: i64 = 60;
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
pub const DEFAULT_SHRINK_PERCENT: i64 = 30;

/// The expected size of one run when the policy gives none, from the system's declared
/// data volume: a full backup 10 %–150 % of the volume (dumps compress; files grow), an
/// incremental or log backup up to the volume.
pub fn default_size_range(volume_gb: Option<f64>, method: Method) -> (Option<i64>, Option<i64>) {
    let Some(v) = volume_gb.filter(|v| v.is_finite() && *v > 0.0) else {
        return (None, None);
    };
    let bytes = |f: f64| (v * f * GB as f64).min(i64::MAX as f64 / 2.0) as i64;
    match method {
        Method::Full => (Some(bytes(0.1)), Some(bytes(1.5))),
        Method::Incremental | Method::Log => (None, Some(bytes(1.0))),
    }
}

/// Whether `role` may create, change or delete policies and record runs by hand.
pub fn may_write(role: Role) -> bool {
    matches!(role, Role::Engineer | Role::Manager | Role::Admin)
}

/// Whether `role` may see policies and runs: everyone but requesters.
pub fn may_read(role: Role) -> bool {
    role != Role::Requester
}

/// `POST /backup-policies`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyCreate {
    /// The inventory system.
    pub system_id: i64,
    /// The data set's name (a system may have several).
    pub data_set: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    pub scope: Scope,
    pub method: Method,
    /// Five-field cron in Beijing time, e.g. `0 2 * * *`.
    pub schedule: String,
    /// Minutes after the scheduled time by which a good run must have come (default 60).
    #[serde(default)]
    pub grace_minutes: Option<i64>,
    /// Default 30.
    #[serde(default)]
    pub retention_days: Option<i64>,
    pub target: Target,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub location: Option<String>,
    #[serde(default)]
    pub encrypted: bool,
    /// Bytes; by default from the system's data volume.
    #[serde(default)]
    pub expected_min_bytes: Option<i64>,
    #[serde(default)]
    pub expected_max_bytes: Option<i64>,
    #[serde(default)]
    pub checksum_required: bool,
    /// A run smaller than the last good one by more than this percentage is flagged
    /// (default 30).
    #[serde(default)]
    pub shrink_percent: Option<i64>,
    /// Default quarterly.
    #[serde(default)]
    pub drill_cadence: Option<DrillCadence>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
}

pub const POLICY_LABELS: &[(&str, &str)] = &[
    ("system_id", "系统"),
    ("data_set", "数据集"),
    ("description", "说明"),
    ("scope", "备份范围"),
    ("method", "备份方式"),
    ("schedule", "备份计划"),
    ("grace_minutes", "宽限分钟数"),
    ("retention_days", "保留天数"),
    ("target", "存放位置类型"),
    ("location", "存放位置"),
    ("encrypted", "是否加密"),
    ("expected_min_bytes", "预期最小字节数"),
    ("expected_max_bytes", "预期最大字节数"),
    ("checksum_required", "是否要求校验值"),
    ("shrink_percent", "缩减告警百分比"),
    ("drill_cadence", "恢复演练周期"),
    ("note", "备注"),
];

impl Labels for PolicyCreate {
    const LABELS: &'static [(&'static str, &'static str)] = POLICY_LABELS;
}

/// `PATCH /backup-policies/{id}`: the fields to change; `null` clears an optional one
/// (a cleared size bound stays unbounded; it is not defaulted again).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    pub data_set: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub scope: Option<Scope>,
    pub method: Option<Method>,
    pub schedule: Option<String>,
    pub grace_minutes: Option<i64>,
    pub retention_days: Option<i64>,
    pub target: Option<Target>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    pub encrypted: Option<bool>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub expected_min_bytes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub expected_max_bytes: Option<Option<i64>>,
    pub checksum_required: Option<bool>,
    pub shrink_percent: Option<i64>,
    pub drill_cadence: Option<DrillCadence>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

impl Labels for PolicyPatch {
    const LABELS: &'static [(&'static str, &'static str)] = POLICY_LABELS;
}

/// A policy's values after its rules: what is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub system_id: i64,
    pub data_set: String,
    pub description: Option<String>,
    pub scope: Scope,
    pub method: Method,
    pub schedule: String,
    pub grace_minutes: i64,
    pub retention_days: i64,
    pub target: Target,
    pub location: Option<String>,
    pub encrypted: bool,
    pub expected_min_bytes: Option<i64>,
    pub expected_max_bytes: Option<i64>,
    pub checksum_required: bool,
    pub shrink_percent: i64,
    pub drill_cadence: DrillCadence,
    pub note: Option<String>,
}

impl PolicyPatch {
    /// The policy after the change, for checking as a whole.
    pub fn apply(self, mut p: Policy) -> Policy {
        macro_rules! set {
            ($($f:ident),+) => { $(if let Some(v) = self.$f { p.$f = v; })+ };
        }
        set!(
            data_set,
            description,
            scope,
            method,
            schedule,
            grace_minutes,
            retention_days,
            target,
            location,
            encrypted,
            expected_min_bytes,
            expected_max_bytes,
            checksum_required,
            shrink_percent,
            drill_cadence,
            note
        );
        p
    }
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl PolicyCreate {
    /// The policy with its defaults: the size range from `volume_gb` (the system's
    /// declared data volume) when neither bound is given.
    pub fn into_policy(self, volume_gb: Option<f64>) -> Policy {
        let (min, max) = if self.expected_min_bytes.is_none() && self.expected_max_bytes.is_none() {
            default_size_range(volume_gb, self.method)
        } else {
            (self.expected_min_bytes, self.expected_max_bytes)
        };
        Policy {
            system_id: self.system_id,
            data_set: self.data_set,
            description: self.description,
            scope: self.scope,
            method: self.method,
            schedule: self.schedule,
            grace_minutes: self.grace_minutes.unwrap_or(DEFAULT_GRACE_MINUTES),
            retention_days: self.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
            target: self.target,
            location: self.location,
            encrypted: self.encrypted,
            expected_min_bytes: min,
            expected_max_bytes: max,
            checksum_required: self.checksum_required,
            shrink_percent: self.shrink_percent.unwrap_or(DEFAULT_SHRINK_PERCENT),
            drill_cadence: self.drill_cadence.unwrap_or(DrillCadence::Quarterly),
            note: self.note,
        }
    }
}

fn too_long(errs: &mut Vec<FieldError>, field: &str, label: &str, v: Option<&str>, max: usize) {
    if v.is_some_and(|s| s.chars().count() > max) {
        errs.push(FieldError::new(field, format!("{label}不能超过 {max} 字")));
    }
}

fn range(errs: &mut Vec<FieldError>, field: &str, label: &str, v: i64, lo: i64, hi: i64) {
    if v < lo || v > hi {
        errs.push(FieldError::new(
            field,
            format!("{label}应在 {lo} 到 {hi} 之间，现为 {v}"),
        ));
    }
}

/// Checks a policy's rules, every problem at once; answers it cleaned (trimmed texts,
/// empty ones as none).
pub fn check_policy(p: Policy) -> Result<Policy, Vec<FieldError>> {
    let mut errs = Vec::new();
    let data_set = p.data_set.trim().to_string();
    if data_set.is_empty() {
        errs.push(FieldError::new("data_set", "请填写数据集名称"));
    }
    too_long(&mut errs, "data_set", "数据集名称", Some(&data_set), 200);
    let description = clean(p.description);
    too_long(
        &mut errs,
        "description",
        "说明",
        description.as_deref(),
        2000,
    );
    let schedule = p.schedule.trim().to_string();
    if let Err(m) = Cron::parse(&schedule) {
        errs.push(FieldError::new("schedule", m));
    }
    range(
        &mut errs,
        "grace_minutes",
        "宽限分钟数",
        p.grace_minutes,
        0,
        7 * 24 * 60,
    );
    range(
        &mut errs,
        "retention_days",
        "保留天数",
        p.retention_days,
        1,
        36_500,
    );
    range(
        &mut errs,
        "shrink_percent",
        "缩减告警百分比",
        p.shrink_percent,
        1,
        100,
    );
    let location = clean(p.location);
    too_long(&mut errs, "location", "存放位置", location.as_deref(), 500);
    if p.target == Target::Offsite && location.is_none() {
        errs.push(FieldError::new(
            "location",
            "异地备份请填写存放位置（如机房、对象存储桶）",
        ));
    }
    for (f, l, v) in [
        ("expected_min_bytes", "预期最小字节数", p.expected_min_bytes),
        ("expected_max_bytes", "预期最大字节数", p.expected_max_bytes),
    ] {
        if v.is_some_and(|v| v < 0) {
            errs.push(FieldError::new(f, format!("{l}不能为负数")));
        }
    }
    if let (Some(lo), Some(hi)) = (p.expected_min_bytes, p.expected_max_bytes)
        && lo > hi
    {
        errs.push(FieldError::new(
            "expected_max_bytes",
            format!("预期最大字节数（{hi}）不能小于预期最小字节数（{lo}）"),
        ));
    }
    let note = clean(p.note);
    too_long(&mut errs, "note", "备注", note.as_deref(), 2000);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Policy {
        data_set,
        description,
        schedule,
        location,
        note,
        ..p
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PolicyCreate {
        serde_json::from_value(serde_json::json!({
            "system_id": 1, "data_set": " 业务库 ", "scope": "database", "method": "full",
            "schedule": "0 2 * * *", "target": "local",
        }))
        .unwrap()
    }

    #[test]
    fn defaults_come_from_the_declared_volume() {
        let p = check_policy(input().into_policy(Some(10.0))).unwrap();
        assert_eq!(p.data_set, "业务库");
        assert_eq!(p.grace_minutes, 60);
        assert_eq!(p.retention_days, 30);
        assert_eq!(p.shrink_percent, 30);
        assert_eq!(p.drill_cadence, DrillCadence::Quarterly);
        assert_eq!(p.expected_min_bytes, Some(GB));
        assert_eq!(p.expected_max_bytes, Some(15 * GB));
        let p = input().into_policy(None);
        assert_eq!((p.expected_min_bytes, p.expected_max_bytes), (None, None));
        let mut i = input();
        i.method = Method::Log;
        assert_eq!(
            default_size_range(Some(2.0), i.method),
            (None, Some(2 * GB))
        );
        // A bound given keeps the other open.
        i.expected_max_bytes = Some(5);
        let p = i.into_policy(Some(2.0));
        assert_eq!(
            (p.expected_min_bytes, p.expected_max_bytes),
            (None, Some(5))
        );
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut p = input().into_policy(None);
        p.data_set = "  ".into();
        p.schedule = "0 25 * * *".into();
        p.grace_minutes = -1;
        p.retention_days = 0;
        p.shrink_percent = 101;
        p.target = Target::Offsite;
        p.expected_min_bytes = Some(10);
        p.expected_max_bytes = Some(5);
        let errs = check_policy(p).unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "data_set",
                "expected_max_bytes",
                "grace_minutes",
                "location",
                "retention_days",
                "schedule",
                "shrink_percent"
            ]
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let p = input().into_policy(Some(1.0));
        let patch: PolicyPatch = serde_json::from_value(
            serde_json::json!({"expected_min_bytes": null, "retention_days": 7}),
        )
        .unwrap();
        let q = patch.apply(p.clone());
        assert_eq!(q.expected_min_bytes, None);
        assert_eq!(q.expected_max_bytes, p.expected_max_bytes);
        assert_eq!(q.retention_days, 7);
        assert_eq!(q.schedule, p.schedule);
    }

    #[test]
    fn roles() {
        assert!(may_write(Role::Engineer) && may_write(Role::Manager) && may_write(Role::Admin));
        assert!(!may_write(Role::Supervisor) && !may_write(Role::Auditor));
        assert!(may_read(Role::Supervisor) && may_read(Role::Auditor));
        assert!(!may_read(Role::Requester));
    }
}

// ---- runs ---------------------------------------------------------------------------------

/// What a job reports through its policy's URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Start,
    Success,
    Fail,
}

/// Where a run stands: `running` until its end is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    Fail,
}

pub const RUN_STATUSES: [RunStatus; 3] = [RunStatus::Running, RunStatus::Success, RunStatus::Fail];

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Fail => "fail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RUN_STATUSES.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "进行中",
            RunStatus::Success => "成功",
            RunStatus::Fail => "失败",
        }
    }
}

/// The longest log tail kept, in bytes; longer ones keep their end.
pub const MAX_LOG_TAIL: usize = 8 * 1024;

/// `log` bounded to [`MAX_LOG_TAIL`] bytes: its last part, on a character boundary, after a
/// note of how much was cut.
pub fn bound_log(log: &str) -> String {
    if log.len() <= MAX_LOG_TAIL {
        return log.to_string();
    }
    let mut start = log.len() - MAX_LOG_TAIL;
    while !log.is_char_boundary(start) {
        start += 1;
    }
    format!("……（日志过长，已截去前 {start} 字节）\n{}", &log[start..])
}

/// `POST /backup-runs/report/{token}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    pub status: ReportStatus,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub checksum: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub location: Option<String>,
    /// The end of the job's log; kept up to 8 KB (the end; the request is bounded by
    /// its body limit).
    #[serde(default)]
    pub log_tail: Option<String>,
}

pub const RUN_LABELS: &[(&str, &str)] = &[
    ("policy_id", "备份策略"),
    ("status", "状态"),
    ("started_at", "开始时间"),
    ("size_bytes", "备份大小（字节）"),
    ("duration_seconds", "耗时（秒）"),
    ("checksum", "校验值"),
    ("location", "存放位置"),
    ("log_tail", "日志"),
    ("note", "说明"),
];

impl Labels for RunReport {
    const LABELS: &'static [(&'static str, &'static str)] = RUN_LABELS;
}

/// `POST /backup-runs`: a run recorded by hand.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCreate {
    pub policy_id: i64,
    /// `success` or `fail`.
    pub status: RunStatus,
    /// RFC 3339, e.g. `2025-11-03T02:00:00+08:00`.
    pub started_at: String,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub checksum: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub location: Option<String>,
    /// Kept up to 8 KB (the end).
    #[serde(default)]
    pub log_tail: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub note: Option<String>,
}

impl Labels for RunCreate {
    const LABELS: &'static [(&'static str, &'static str)] = RUN_LABELS;
}

/// A run's measured values after their rules.
#[derive(Clone, Debug, PartialEq)]
pub struct RunValues {
    pub size_bytes: Option<i64>,
    pub duration_seconds: Option<f64>,
    pub checksum: Option<String>,
    pub location: Option<String>,
    pub log_tail: Option<String>,
}

/// Checks a run's measured values, every problem at once; the log is bounded, not refused.
pub fn check_run_values(
    size_bytes: Option<i64>,
    duration_seconds: Option<f64>,
    checksum: Option<String>,
    location: Option<String>,
    log_tail: Option<String>,
) -> Result<RunValues, Vec<FieldError>> {
    let mut errs = Vec::new();
    if size_bytes.is_some_and(|v| v < 0) {
        errs.push(FieldError::new("size_bytes", "备份大小不能为负数"));
    }
    if duration_seconds.is_some_and(|v| !v.is_finite() || !(0.0..=3_153_600_000.0).contains(&v)) {
        errs.push(FieldError::new(
            "duration_seconds",
            "耗时应为 0 到 3153600000 之间的秒数",
        ));
    }
    let checksum = clean(checksum);
    too_long(&mut errs, "checksum", "校验值", checksum.as_deref(), 200);
    let location = clean(location);
    too_long(&mut errs, "location", "存放位置", location.as_deref(), 500);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(RunValues {
        size_bytes,
        duration_seconds,
        checksum,
        location,
        log_tail: clean(log_tail).map(|l| bound_log(&l)),
    })
}

#[cfg(test)]
mod run_tests {
    use super::*;

    #[test]
    fn a_long_log_keeps_its_end_on_a_character_boundary() {
        assert_eq!(bound_log("short"), "short");
        let long = format!("{}{}", "备".repeat(5000), "END");
        let b = bound_log(&long);
        assert!(b.ends_with("END"));
        assert!(b.starts_with("……（日志过长，已截去前 "));
        let kept = b.split_once('\n').unwrap().1;
        assert!(kept.len() <= MAX_LOG_TAIL);
        assert!(kept.len() > MAX_LOG_TAIL - 3);
    }

    #[test]
    fn run_values_are_checked_together() {
        let e = check_run_values(Some(-1), Some(f64::NAN), Some("x".repeat(201)), None, None)
            .unwrap_err();
        let f: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["size_bytes", "duration_seconds", "checksum"]);
        let v = check_run_values(
            Some(5),
            Some(1.5),
            Some(" abc ".into()),
            None,
            Some(" ".into()),
        )
        .unwrap();
        assert_eq!(v.checksum.as_deref(), Some("abc"));
        assert_eq!(v.log_tail, None);
    }
}
