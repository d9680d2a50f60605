//! Cloud resources (云资源, service line 4.2.14.3): a month's utilisation export read row by
//! row, the idle and over-used flags at configurable thresholds, and the per-system summary
//! with its trend against the previous months. Pure: the service resolves systems and
//! stores the rows.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::Labels;

/// Settings keys of the thresholds (percent).
pub const IDLE_KEY: &str = "cloud.idle_threshold";
pub const OVER_KEY: &str = "cloud.over_threshold";
pub const IDLE_DEFAULT: f64 = 10.0;
pub const OVER_DEFAULT: f64 = 85.0;

/// The flag thresholds, in percent: a resource is idle when its average CPU and average
/// memory use are both below `idle`, over-used when a peak or the disk use is above `over`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub idle: f64,
    pub over: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle: IDLE_DEFAULT,
            over: OVER_DEFAULT,
        }
    }
}

impl Labels for Thresholds {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("idle", "空闲阈值（%）"), ("over", "过载阈值（%）")];
}

impl Thresholds {
    /// Every problem at once: both within 0–100, idle below over.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let ok = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
        if !ok(self.idle) {
            errs.push(FieldError::new(
                "idle",
                "空闲阈值应为 0 到 100 之间的百分数",
            ));
        }
        if !ok(self.over) {
            errs.push(FieldError::new(
                "over",
                "过载阈值应为 0 到 100 之间的百分数",
            ));
        }
        if errs.is_empty() && self.idle >= self.over {
            errs.push(FieldError::new("idle", "空闲阈值应低于过载阈值"));
        }
        errs
    }

    /// The thresholds from their stored settings; a missing or unreadable one is its default.
    pub fn from_settings(idle: Option<&str>, over: Option<&str>) -> Thresholds {
        let read = |s: Option<&str>, d: f64| {
            s.and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
                .unwrap_or(d)
        };
        let t = Thresholds {
            idle: read(idle, IDLE_DEFAULT),
            over: read(over, OVER_DEFAULT),
        };
        if t.check().is_empty() {
            t
        } else {
            Thresholds::default()
        }
    }
}

/// Utilisation of one resource in a month, in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub cpu_avg: f64,
    pub cpu_peak: f64,
    pub mem_avg: f64,
    pub mem_peak: f64,
    pub disk_used: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Flags {
    pub idle: bool,
    pub overused: bool,
}

pub fn flags(u: &Usage, t: &Thresholds) -> Flags {
    Flags {
        idle: u.cpu_avg < t.idle && u.mem_avg < t.idle,
        overused: u.cpu_peak > t.over || u.mem_peak > t.over || u.disk_used > t.over,
    }
}

/// The list filter `flag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Idle,
    Overused,
}

impl Flag {
    pub fn parse(s: &str) -> Option<Flag> {
        match s.trim() {
            "idle" | "空闲" => Some(Flag::Idle),
            "overused" | "过载" => Some(Flag::Overused),
            _ => None,
        }
    }
}

// ---- import ----------------------------------------------------------------------------

/// The columns of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Name,
    System,
    Period,
    Vcpu,
    MemoryGb,
    DiskGb,
    CpuAvg,
    CpuPeak,
    MemAvg,
    MemPeak,
    DiskUsed,
}

/// Each column: field name, Chinese header, other headers accepted.
pub const COLUMNS: &[(Col, &str, &str, &[&str])] = &[
    (
        Col::Name,
        "name",
        "名称",
        &["资源名称", "云主机名称", "虚拟机名称"],
    ),
    (
        Col::System,
        "system",
        "所属系统",
        &["系统", "系统名称", "系统编号"],
    ),
    (Col::Period, "period", "月份", &["期间", "统计月份"]),
    (
        Col::Vcpu,
        "vcpu",
        "vCPU",
        &["cpu", "cpu(核)", "vcpu(核)", "cpu核数"],
    ),
    (Col::MemoryGb, "memory_gb", "内存(GB)", &["内存", "内存(g)"]),
    (Col::DiskGb, "disk_gb", "磁盘(GB)", &["磁盘", "磁盘(g)"]),
    (
        Col::CpuAvg,
        "cpu_avg",
        "CPU平均(%)",
        &["cpu平均", "cpu平均利用率(%)"],
    ),
    (
        Col::CpuPeak,
        "cpu_peak",
        "CPU峰值(%)",
        &["cpu峰值", "cpu峰值利用率(%)"],
    ),
    (
        Col::MemAvg,
        "mem_avg",
        "内存平均(%)",
        &["内存平均", "内存平均利用率(%)"],
    ),
    (
        Col::MemPeak,
        "mem_peak",
        "内存峰值(%)",
        &["内存峰值", "内存峰值利用率(%)"],
    ),
    (
        Col::DiskUsed,
        "disk_used",
        "磁盘使用(%)",
        &["磁盘使用", "磁盘使用率(%)"],
    ),
];

fn norm(h: &str) -> String {
    h.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '％' => '%',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// The column a header names.
pub fn column_of(h: &str) -> Option<Col> {
    let h = norm(h);
    if h.is_empty() {
        return None;
    }
    COLUMNS
        .iter()
        .find(|(_, f, l, a)| h == *f || h == norm(l) || a.iter().any(|x| h == norm(x)))
        .map(|c| c.0)
}

fn label(c: Col) -> (&'static str, &'static str) {
    COLUMNS
        .iter()
        .find(|x| x.0 == c)
        .map_or(("", ""), |x| (x.1, x.2))
}

/// A problem of an import, by its line in the file and column (the same shape as the
/// inventory import's errors).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub field: String,
    pub message: String,
}

impl RowError {
    fn at(row: usize, c: Col, message: impl Into<String>) -> Self {
        let (field, column) = label(c);
        RowError {
            row,
            column: column.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One resource's month, as read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRow {
    pub name: String,
    pub system_id: i64,
    pub period: String,
    pub vcpu: i64,
    pub memory_gb: f64,
    pub disk_gb: f64,
    pub usage: Usage,
}

/// A month as `YYYY-MM`, from `2025-11`, `2025/11`, `2025-11-01`, `2025年11月` or `202511`.
pub fn parse_period(s: &str) -> Option<String> {
    let s = s.trim();
    let digits: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m) = match digits.as_slice() {
        [ym] if ym.len() == 6 => (ym.get(..4)?, ym.get(4..)?),
        [y, m] | [y, m, _] => (*y, *m),
        _ => return None,
    };
    if y.len() != 4 || m.is_empty() || m.len() > 2 {
        return None;
    }
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m)).then(|| format!("{y:04}-{m:02}"))
}

/// The `n` months before `period`, oldest first.
pub fn previous_months(period: &str, n: u32) -> Vec<String> {
    let Some(p) = parse_period(period) else {
        return Vec::new();
    };
    let (Some(y), Some(m)) = (
        p.get(..4).and_then(|y| y.parse::<i32>().ok()),
        p.get(5..).and_then(|m| m.parse::<i32>().ok()),
    ) else {
        return Vec::new();
    };
    let idx = y * 12 + (m - 1);
    (1..=n as i32)
        .rev()
        .map(|k| {
            let i = idx - k;
            format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1)
        })
        .collect()
}

fn number(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .trim_end_matches(['%', '％'])
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads the table of an import: the header row (a title row above it, as exports write
/// it, is skipped), then every data row; `system` finds an inventory system by name or code.
/// Every problem is reported, by line and column; nothing comes back when there is one.
pub fn parse_table(
    headers: &[String],
    rows: &[(usize, Vec<String>)],
    system: &dyn Fn(&str) -> Option<i64>,
) -> Result<Vec<(usize, ResourceRow)>, Vec<RowError>> {
    let names_a_column = |r: &[String]| r.iter().any(|h| column_of(h).is_some());
    let (header_line, headers, data) = match rows.split_first() {
        Some(((line, next), rest))
            if headers.iter().filter(|h| !h.trim().is_empty()).count() <= 1
                && !names_a_column(headers)
                && names_a_column(next) =>
        {
            (*line, next.as_slice(), rest)
        }
        _ => (1, headers, rows),
    };
    let mut errors = Vec::new();
    let mut mapping: Vec<Option<Col>> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let c = column_of(h);
        if let Some(c) = c
            && mapping.contains(&Some(c))
        {
            errors.push(RowError::at(
                header_line,
                c,
                format!(
                    "第 {} 列与前面的列都对应“{}”，请删除重复的列",
                    i + 1,
                    label(c).1
                ),
            ));
        }
        mapping.push(c);
    }
    for (c, _, l, _) in COLUMNS {
        if !mapping.contains(&Some(*c)) {
            errors.push(RowError::at(
                header_line,
                *c,
                format!("缺少“{l}”列，请按模板的列标题填写"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if data.is_empty() {
        return Err(vec![RowError {
            row: header_line + 1,
            column: String::new(),
            field: String::new(),
            message: "文件中没有数据行".into(),
        }]);
    }
    let mut out = Vec::new();
    let mut seen: HashSet<(String, i64, String)> = HashSet::new();
    for (line, cells) in data {
        let cell = |c: Col| {
            mapping
                .iter()
                .position(|m| *m == Some(c))
                .and_then(|i| cells.get(i))
                .map_or("", |s| s.trim())
        };
        match parse_row(*line, &cell, system) {
            Ok(r) => {
                if seen.insert((r.period.clone(), r.system_id, r.name.clone())) {
                    out.push((*line, r));
                } else {
                    errors.push(RowError::at(
                        *line,
                        Col::Name,
                        format!("“{}”在同一系统、同一月份中重复出现，请合并为一行", r.name),
                    ));
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One data row, every problem at once. `cell` gives a column's trimmed text.
pub fn parse_row<'a>(
    line: usize,
    cell: &dyn Fn(Col) -> &'a str,
    system: &dyn Fn(&str) -> Option<i64>,
) -> Result<ResourceRow, Vec<RowError>> {
    let mut errs = Vec::new();
    let name = cell(Col::Name).to_string();
    if name.is_empty() {
        errs.push(RowError::at(line, Col::Name, "请填写资源名称"));
    } else if name.chars().count() > 200 {
        errs.push(RowError::at(line, Col::Name, "资源名称不能超过 200 字"));
    }
    let sys = cell(Col::System);
    let system_id = if sys.is_empty() {
        errs.push(RowError::at(
            line,
            Col::System,
            "请填写所属系统（系统名称或编号）",
        ));
        None
    } else {
        let id = system(sys);
        if id.is_none() {
            let shown: String = sys.chars().take(60).collect();
            errs.push(RowError::at(
                line,
                Col::System,
                format!("系统“{shown}”不在资产台账中，请填写台账中的系统名称或编号"),
            ));
        }
        id
    };
    let period = parse_period(cell(Col::Period));
    if period.is_none() {
        errs.push(RowError::at(
            line,
            Col::Period,
            "月份应写作 2025-11 这样的年-月",
        ));
    }
    let vcpu = match number(cell(Col::Vcpu)) {
        Some(v) if v.fract() == 0.0 && (1.0..=100_000.0).contains(&v) => Some(v as i64),
        _ => {
            errs.push(RowError::at(
                line,
                Col::Vcpu,
                "vCPU 应为 1 到 100000 之间的整数",
            ));
            None
        }
    };
    let mut size = |c: Col, what: &str| match number(cell(c)) {
        Some(v) if v > 0.0 && v <= 10_000_000.0 => Some(v),
        _ => {
            errs.push(RowError::at(
                line,
                c,
                format!("{what}应为大于 0 的数字（单位 GB）"),
            ));
            None
        }
    };
    let memory_gb = size(Col::MemoryGb, "内存");
    let disk_gb = size(Col::DiskGb, "磁盘");
    let mut pct = |c: Col| match number(cell(c)) {
        Some(v) if (0.0..=100.0).contains(&v) => Some(v),
        _ => {
            errs.push(RowError::at(
                line,
                c,
                format!("{}应为 0 到 100 之间的百分数", label(c).1),
            ));
            None
        }
    };
    let (cpu_avg, cpu_peak, mem_avg, mem_peak, disk_used) = (
        pct(Col::CpuAvg),
        pct(Col::CpuPeak),
        pct(Col::MemAvg),
        pct(Col::MemPeak),
        pct(Col::DiskUsed),
    );
    if let (Some(a), Some(p)) = (cpu_avg, cpu_peak)
        && p < a
    {
        errs.push(RowError::at(
            line,
            Col::CpuPeak,
            "CPU 峰值不能低于 CPU 平均值",
        ));
    }
    if let (Some(a), Some(p)) = (mem_avg, mem_peak)
        && p < a
    {
        errs.push(RowError::at(
            line,
            Col::MemPeak,
            "内存峰值不能低于内存平均值",
        ));
    }
    match (
        system_id, period, vcpu, memory_gb, disk_gb, cpu_avg, cpu_peak, mem_avg, mem_peak,
        disk_used,
    ) {
        (
            Some(system_id),
            Some(period),
            Some(vcpu),
            Some(memory_gb),
            Some(disk_gb),
            Some(cpu_avg),
            Some(cpu_peak),
            Some(mem_avg),
            Some(mem_peak),
            Some(disk_used),
        ) if errs.is_empty() => Ok(ResourceRow {
            name,
            system_id,
            period,
            vcpu,
            memory_gb,
            disk_gb,
            usage: Usage {
                cpu_avg,
                cpu_peak,
                mem_avg,
                mem_peak,
                disk_used,
            },
        }),
        _ => Err(errs),
    }
}

// ---- summary ---------------------------------------------------------------------------

/// What the summary needs of a stored row.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub system_id: i64,
    pub period: String,
    pub vcpu: i64,
    pub memory_gb: f64,
    pub disk_gb: f64,
    pub usage: Usage,
}

/// Figures of a set of resources: counts and sums, and plain means of the utilisation
/// (each resource counts once), rounded to 0.1 %.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    pub resources: i64,
    pub vcpu: i64,
    pub memory_gb: f64,
    pub disk_gb: f64,
    pub cpu_avg: Option<f64>,
    pub mem_avg: Option<f64>,
    pub disk_used: Option<f64>,
    pub idle: i64,
    pub overused: i64,
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn figures<'a>(facts: impl IntoIterator<Item = &'a Fact>, t: &Thresholds) -> Figures {
    let mut f = Figures::default();
    let (mut cpu, mut mem, mut disk) = (0.0, 0.0, 0.0);
    for x in facts {
        f.resources += 1;
        f.vcpu += x.vcpu;
        f.memory_gb += x.memory_gb;
        f.disk_gb += x.disk_gb;
        cpu += x.usage.cpu_avg;
        mem += x.usage.mem_avg;
        disk += x.usage.disk_used;
        let fl = flags(&x.usage, t);
        f.idle += i64::from(fl.idle);
        f.overused += i64::from(fl.overused);
    }
    if f.resources > 0 {
        let n = f.resources as f64;
        f.cpu_avg = Some(round1(cpu / n));
        f.mem_avg = Some(round1(mem / n));
        f.disk_used = Some(round1(disk / n));
    }
    f.memory_gb = round1(f.memory_gb);
    f.disk_gb = round1(f.disk_gb);
    f
}

/// A month of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TrendPoint {
    pub period: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One system's month and its trend.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SystemSummary {
    pub system_id: i64,
    #[serde(flatten)]
    pub figures: Figures,
    /// The previous months, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Average CPU use now minus its mean over the previous months that had data.
    pub cpu_avg_change: Option<f64>,
    pub mem_avg_change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    pub period: String,
    pub thresholds: Thresholds,
    /// Systems with resources in the month or in one of the previous months.
    pub systems: Vec<SystemSummary>,
    pub total: Figures,
    pub total_trend: Vec<TrendPoint>,
}

fn change(now: Option<f64>, before: &[Option<f64>]) -> Option<f64> {
    let had: Vec<f64> = before.iter().flatten().copied().collect();
    if had.is_empty() {
        return None;
    }
    Some(round1(now? - had.iter().sum::<f64>() / had.len() as f64))
}

/// The summary of `period` from its facts and those of the `previous` months (oldest first).
pub fn summarize(period: &str, previous: &[String], facts: &[Fact], t: &Thresholds) -> Summary {
    let systems: BTreeSet<i64> = facts.iter().map(|f| f.system_id).collect();
    let of = |p: &str, s: Option<i64>| {
        figures(
            facts
                .iter()
                .filter(|f| f.period == p && s.is_none_or(|s| f.system_id == s)),
            t,
        )
    };
    let trend = |s: Option<i64>| -> Vec<TrendPoint> {
        previous
            .iter()
            .map(|p| TrendPoint {
                period: p.clone(),
                figures: of(p, s),
            })
            .collect()
    };
    let per: Vec<SystemSummary> = systems
        .into_iter()
        .map(|s| {
            let figures = of(period, Some(s));
            let trend = trend(Some(s));
            let cpu: Vec<Option<f64>> = trend.iter().map(|p| p.figures.cpu_avg).collect();
            let mem: Vec<Option<f64>> = trend.iter().map(|p| p.figures.mem_avg).collect();
            SystemSummary {
                system_id: s,
                cpu_avg_change: change(figures.cpu_avg, &cpu),
                mem_avg_change: change(figures.mem_avg, &mem),
                figures,
                trend,
            }
        })
        .collect();
    Summary {
        period: period.to_string(),
        thresholds: *t,
        systems: per,
        total: of(period, None),
        total_trend: trend(None),
    }
}

/// Counts per period, for the import's answer.
pub fn per_period(rows: &[(usize, ResourceRow)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, r) in rows {
        *m.entry(r.period.clone()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(cpu_avg: f64, cpu_peak: f64, mem_avg: f64, mem_peak: f64, disk_used: f64) -> Usage {
        Usage {
            cpu_avg,
            cpu_peak,
            mem_avg,
            mem_peak,
            disk_used,
        }
    }

    fn sys(s: &str) -> Option<i64> {
        match s {
            "A系统" | "4.1.2.1" => Some(1),
            "B系统" => Some(2),
            _ => None,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A line of the table: its number and its cells.
    fn row(line: usize, cells: &[&str]) -> (usize, Vec<String>) {
        (line, strings(cells))
    }

    const HEAD: &[&str] = &[
        "名称",
        "所属系统",
        "月份",
        "vCPU",
        "内存(GB)",
        "磁盘(GB)",
        "CPU平均(%)",
        "CPU峰值(%)",
        "内存平均(%)",
        "内存峰值(%)",
        "磁盘使用(%)",
    ];

    #[test]
    fn flags_follow_the_thresholds() {
        let t = Thresholds::default();
        assert_eq!(
            flags(&u(5.0, 20.0, 9.9, 30.0, 40.0), &t),
            Flags {
                idle: true,
                overused: false
            }
        );
        // Both averages must be below the idle threshold; exactly 10 is not idle.
        assert!(!flags(&u(5.0, 20.0, 10.0, 30.0, 40.0), &t).idle);
        // Any peak or the disk above 85 is over-used; exactly 85 is not.
        assert!(flags(&u(50.0, 85.1, 50.0, 60.0, 40.0), &t).overused);
        assert!(flags(&u(50.0, 60.0, 50.0, 90.0, 40.0), &t).overused);
        assert!(flags(&u(50.0, 60.0, 50.0, 60.0, 86.0), &t).overused);
        assert!(!flags(&u(50.0, 85.0, 50.0, 85.0, 85.0), &t).overused);
        // Changed thresholds change the flags.
        let t2 = Thresholds {
            idle: 20.0,
            over: 95.0,
        };
        assert!(flags(&u(15.0, 20.0, 15.0, 90.0, 40.0), &t2).idle);
        assert!(!flags(&u(15.0, 20.0, 15.0, 90.0, 40.0), &t2).overused);
    }

    #[test]
    fn thresholds_are_checked_and_read_from_settings() {
        assert!(Thresholds::default().check().is_empty());
        let bad = Thresholds {
            idle: -1.0,
            over: 101.0,
        };
        assert_eq!(bad.check().len(), 2);
        assert_eq!(
            Thresholds {
                idle: 50.0,
                over: 40.0
            }
            .check()[0]
                .field,
            "idle"
        );
        assert_eq!(
            Thresholds::from_settings(Some("15"), Some("90")),
            Thresholds {
                idle: 15.0,
                over: 90.0
            }
        );
        assert_eq!(
            Thresholds::from_settings(Some("x"), None),
            Thresholds::default()
        );
        assert_eq!(
            Thresholds::from_settings(Some("95"), Some("90")),
            Thresholds::default()
        );
    }

    #[test]
    fn periods_and_previous_months() {
        assert_eq!(parse_period("2025-11").as_deref(), Some("2025-11"));
        assert_eq!(parse_period("2025/1").as_deref(), Some("2025-01"));
        assert_eq!(parse_period("2025年3月").as_deref(), Some("2025-03"));
        assert_eq!(parse_period("2025-11-01").as_deref(), Some("2025-11"));
        assert_eq!(parse_period("202511").as_deref(), Some("2025-11"));
        for bad in ["2025-13", "25-11", "", "x", "1999-01", "2025-11-01-02"] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
        assert_eq!(
            previous_months("2025-02", 3),
            vec!["2024-11", "2024-12", "2025-01"]
        );
        assert!(previous_months("bad", 3).is_empty());
    }

    #[test]
    fn a_good_table_is_read_with_systems_by_name_or_code() {
        let rows = vec![
            row(
                2,
                &[
                    "vm-1", "A系统", "2025-11", "4", "8", "100", "5", "20", "6", "30", "40",
                ],
            ),
            row(
                3,
                &[
                    "vm-2", "4.1.2.1", "2025/11", "8", "16", "200", "50", "90%", "60", "70", "50",
                ],
            ),
        ];
        let out = parse_table(&strings(HEAD), &rows, &sys).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].1.system_id, 1);
        assert_eq!(out[1].1.usage.cpu_peak, 90.0);
        assert_eq!(per_period(&out).get("2025-11"), Some(&2));
    }

    #[test]
    fn every_bad_cell_is_named_by_row_and_column() {
        let rows = vec![
            row(
                2,
                &[
                    "vm-1", "A系统", "2025-11", "4", "8", "100", "5", "20", "6", "30", "40",
                ],
            ),
            row(
                3,
                &[
                    "",
                    "无此系统",
                    "2025-13",
                    "4.5",
                    "0",
                    "x",
                    "120",
                    "20",
                    "60",
                    "50",
                    "40",
                ],
            ),
            row(
                4,
                &[
                    "vm-1", "A系统", "2025-11", "4", "8", "100", "5", "20", "6", "30", "40",
                ],
            ),
        ];
        let errs = parse_table(&strings(HEAD), &rows, &sys).unwrap_err();
        let at: Vec<(usize, &str)> = errs.iter().map(|e| (e.row, e.column.as_str())).collect();
        for want in [
            (3, "名称"),
            (3, "所属系统"),
            (3, "月份"),
            (3, "vCPU"),
            (3, "内存(GB)"),
            (3, "磁盘(GB)"),
            (3, "CPU平均(%)"),
            (3, "内存峰值(%)"),
            (4, "名称"),
        ] {
            assert!(at.contains(&want), "{want:?} missing in {at:?}");
        }
        assert!(errs.iter().any(|e| e.message.contains("无此系统")));
        assert!(!at.iter().any(|(r, _)| *r == 2));
    }

    #[test]
    fn missing_columns_and_a_title_row() {
        let errs = parse_table(&strings(&["名称", "月份"]), &[], &sys).unwrap_err();
        assert_eq!(errs.len(), 9);
        let rows = vec![
            (2, strings(HEAD)),
            row(
                3,
                &[
                    "vm-1", "B系统", "2025-11", "4", "8", "100", "5", "20", "6", "30", "40",
                ],
            ),
        ];
        let out = parse_table(&strings(&["云资源利用率"]), &rows, &sys).unwrap();
        assert_eq!(out[0].0, 3);
        assert_eq!(out[0].1.system_id, 2);
    }

    fn fact(s: i64, p: &str, vcpu: i64, usage: Usage) -> Fact {
        Fact {
            system_id: s,
            period: p.into(),
            vcpu,
            memory_gb: 8.0,
            disk_gb: 100.0,
            usage,
        }
    }

    #[test]
    fn the_summary_counts_per_system_with_the_trend() {
        let t = Thresholds::default();
        let facts = vec![
            fact(1, "2025-11", 4, u(5.0, 20.0, 5.0, 20.0, 30.0)),
            fact(1, "2025-11", 8, u(50.0, 90.0, 40.0, 60.0, 30.0)),
            fact(2, "2025-11", 2, u(30.0, 40.0, 30.0, 40.0, 90.0)),
            fact(1, "2025-10", 4, u(20.0, 30.0, 20.0, 30.0, 30.0)),
            fact(1, "2025-09", 4, u(40.0, 50.0, 30.0, 40.0, 30.0)),
            fact(3, "2025-08", 4, u(1.0, 2.0, 1.0, 2.0, 3.0)),
        ];
        let prev = previous_months("2025-11", 3);
        let s = summarize("2025-11", &prev, &facts, &t);
        assert_eq!(s.systems.len(), 3);
        let a = &s.systems[0];
        assert_eq!(a.figures.resources, 2);
        assert_eq!(a.figures.vcpu, 12);
        assert_eq!(a.figures.memory_gb, 16.0);
        assert_eq!(a.figures.cpu_avg, Some(27.5));
        assert_eq!(a.figures.mem_avg, Some(22.5));
        assert_eq!(a.figures.idle, 1);
        assert_eq!(a.figures.overused, 1);
        assert_eq!(a.trend.len(), 3);
        assert_eq!(a.trend[0].period, "2025-08");
        assert_eq!(a.trend[0].figures.resources, 0);
        assert_eq!(a.trend[2].figures.cpu_avg, Some(20.0));
        // 27.5 against the mean of 40 and 20.
        assert_eq!(a.cpu_avg_change, Some(-2.5));
        let c = &s.systems[2];
        assert_eq!(c.figures.resources, 0);
        assert_eq!(c.figures.cpu_avg, None);
        assert_eq!(c.cpu_avg_change, None);
        assert_eq!(s.total.resources, 3);
        assert_eq!(s.total.idle, 1);
        assert_eq!(s.total.overused, 2);
        assert_eq!(s.total_trend[0].figures.idle, 1);
    }

    proptest! {
        #[test]
        fn the_row_parser_never_panics(cells in proptest::collection::vec(any::<String>(), 0..14),
                                       head in proptest::collection::vec(any::<String>(), 0..3)) {
            let mut headers = strings(HEAD);
            headers.extend(head);
            let r = parse_table(&headers, &[(2, cells.clone())], &sys);
            if let Ok(rows) = r {
                prop_assert_eq!(rows.len(), 1);
                let x = &rows[0].1;
                prop_assert!((0.0..=100.0).contains(&x.usage.cpu_avg));
                prop_assert!(x.vcpu >= 1);
            }
            let _ = parse_table(&cells, &[(2, cells.clone())], &sys);
            let _ = parse_period(cells.first().map_or("", String::as_str));
        }

        #[test]
        fn numbers_like_cells_never_panic(cells in proptest::collection::vec("[0-9.%,\\- 年月/]{0,12}", 11)) {
            let _ = parse_table(&strings(HEAD), &[(2, cells)], &sys);
        }
    }
}
