//! Service calendars: 7×24, or working hours on working days, where working days follow
//! the State Council's holiday arrangements including make-up working days (调休).
//! Times are computed in Beijing time (UTC+8, no DST).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

use crate::clock::beijing;

/// An exception to the Monday–Friday rule.
#[derive(Clone, Debug, PartialEq)]
pub struct DayOverride {
    pub working: bool,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CalendarKind {
    /// 7×24: every minute counts.
    Always,
    /// Working hours on working days.
    WorkingHours,
}

#[derive(Clone, Debug)]
pub struct Calendar {
    pub kind: CalendarKind,
    /// Working periods of a working day, in Beijing time, sorted and disjoint.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
    pub overrides: BTreeMap<NaiveDate, DayOverride>,
}

/// Parses `08:30-12:00,14:00-17:30` into sorted, disjoint periods.
pub fn parse_periods(s: &str) -> Result<Vec<(NaiveTime, NaiveTime)>, String> {
    let mut out = Vec::new();
    for part in s
        .split([',', '，', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (a, b) = part
            .split_once('-')
            .ok_or_else(|| format!("时间段“{part}”应写成 08:30-12:00"))?;
        let t = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M")
                .map_err(|_| format!("时间“{x}”应写成 HH:MM"))
        };
        let (a, b) = (t(a)?, t(b)?);
        if a >= b {
            return Err(format!("时间段“{part}”的结束时间应晚于开始时间"));
        }
        out.push((a, b));
    }
    out.sort();
    if out.is_empty() {
        return Err("请至少填写一个工作时间段".into());
    }
    if out.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err("工作时间段不能重叠".into());
    }
    Ok(out)
}

impl Calendar {
    pub fn always() -> Self {
        Calendar {
            kind: CalendarKind::Always,
            periods: vec![],
            overrides: BTreeMap::new(),
        }
    }

    /// Whether a date is a working day: an override decides, else Monday–Friday.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.overrides.get(&d) {
            Some(o) => o.working,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// Why a date is (not) a working day: the override's reason, or 周末 / 工作日.
    pub fn day_reason(&self, d: NaiveDate) -> String {
        match self.overrides.get(&d) {
            Some(o) => o.reason.clone(),
            None if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) => "周末".into(),
            None => "工作日".into(),
        }
    }

    /// Working intervals (UTC) of one Beijing date.
    fn intervals_of(&self, d: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(d) {
            return vec![];
        }
        self.periods
            .iter()
            .filter_map(|(a, b)| {
                let s = beijing().from_local_datetime(&d.and_time(*a)).single()?;
                let e = beijing().from_local_datetime(&d.and_time(*b)).single()?;
                Some((s.with_timezone(&Utc), e.with_timezone(&Utc)))
            })
            .collect()
    }

    fn local_date(t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&beijing()).date_naive()
    }

    /// The instant `minutes` of calendar time after `start`.
    pub fn add_minutes(&self, start: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        self.add_seconds(start, minutes * 60)
    }

    /// The instant `seconds` of calendar time after `start`. Searches at most ~3 years of
    /// days, so a calendar with no working time cannot loop forever (then `None`).
    pub fn add_seconds(&self, start: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if self.kind == CalendarKind::Always {
            return Some(start + Duration::seconds(seconds));
        }
        let mut remaining = Duration::seconds(seconds.max(0));
        let mut day = Self::local_date(start);
        for _ in 0..1100 {
            for (s, e) in self.intervals_of(day) {
                let from = s.max(start);
                if from >= e {
                    continue;
                }
                let avail = e - from;
                if remaining <= avail {
                    return Some(from + remaining);
                }
                remaining -= avail;
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// Calendar minutes (possibly fractional, as seconds) between two instants.
    pub fn seconds_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        if self.kind == CalendarKind::Always {
            return (b - a).num_seconds();
        }
        let mut total = 0;
        let mut day = Self::local_date(a);
        let last = Self::local_date(b);
        while day <= last {
            for (s, e) in self.intervals_of(day) {
                let from = s.max(a);
                let to = e.min(b);
                if to > from {
                    total += (to - from).num_seconds();
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        total
    }
}

/// (first (month, day), last (month, day), holiday name)
pub type HolidayRange = ((u32, u32), (u32, u32), &'static str);

/// One year's holiday arrangement: holiday ranges and make-up working days.
pub struct Arrangement {
    pub year: i32,
    pub source: &'static str,
    /// (first day, last day, name)
    pub holidays: &'static [HolidayRange],
    /// (month, day, name of the holiday it makes up for)
    pub workdays: &'static [((u32, u32), &'static str)],
}

/// The State Council's arrangements (国务院办公厅关于部分节假日安排的通知) for 2024–2026.
/// Cross-checked against the PyPI package chinese-calendar 1.11 in CI.
pub const CN_ARRANGEMENTS: &[Arrangement] = &[
    Arrangement {
        year: 2024,
        source: "国办发明电〔2023〕7号",
        holidays: &[
            ((1, 1), (1, 1), "元旦"),
            ((2, 10), (2, 17), "春节"),
            ((4, 4), (4, 6), "清明节"),
            ((5, 1), (5, 5), "劳动节"),
            ((6, 10), (6, 10), "端午节"),
            ((9, 15), (9, 17), "中秋节"),
            ((10, 1), (10, 7), "国庆节"),
        ],
        workdays: &[
            ((2, 4), "春节"),
            ((2, 18), "春节"),
            ((4, 7), "清明节"),
            ((4, 28), "劳动节"),
            ((5, 11), "劳动节"),
            ((9, 14), "中秋节"),
            ((9, 29), "国庆节"),
            ((10, 12), "国庆节"),
        ],
    },
    Arrangement {
        year: 2025,
        source: "国办发明电〔2024〕12号",
        holidays: &[
            ((1, 1), (1, 1), "元旦"),
            ((1, 28), (2, 4), "春节"),
            ((4, 4), (4, 6), "清明节"),
            ((5, 1), (5, 5), "劳动节"),
            ((5, 31), (6, 2), "端午节"),
            ((10, 1), (10, 8), "国庆节、中秋节"),
        ],
        workdays: &[
            ((1, 26), "春节"),
            ((2, 8), "春节"),
            ((4, 27), "劳动节"),
            ((9, 28), "国庆节"),
            ((10, 11), "国庆节"),
        ],
    },
    Arrangement {
        year: 2026,
        source: "国办发明电〔2025〕7号",
        holidays: &[
            ((1, 1), (1, 3), "元旦"),
            ((2, 15), (2, 23), "春节"),
            ((4, 4), (4, 6), "清明节"),
            ((5, 1), (5, 5), "劳动节"),
            ((6, 19), (6, 21), "端午节"),
            ((9, 25), (9, 27), "中秋节"),
            ((10, 1), (10, 7), "国庆节"),
        ],
        workdays: &[
            ((1, 4), "元旦"),
            ((2, 14), "春节"),
            ((2, 28), "春节"),
            ((5, 9), "劳动节"),
            ((9, 20), "国庆节"),
            ((10, 10), "国庆节"),
        ],
    },
];

/// The overrides of the shipped arrangements: holidays not working, make-up days working.
pub fn cn_overrides() -> BTreeMap<NaiveDate, DayOverride> {
    let mut m = BTreeMap::new();
    for a in CN_ARRANGEMENTS {
        m.extend(arrangement_overrides(a));
    }
    m
}

/// The overrides of one shipped year.
pub fn arrangement_overrides(a: &Arrangement) -> BTreeMap<NaiveDate, DayOverride> {
    let mut m = BTreeMap::new();
    for ((m1, d1), (m2, d2), name) in a.holidays {
        let (Some(mut d), Some(end)) = (
            NaiveDate::from_ymd_opt(a.year, *m1, *d1),
            NaiveDate::from_ymd_opt(a.year, *m2, *d2),
        ) else {
            continue;
        };
        while d <= end {
            m.insert(
                d,
                DayOverride {
                    working: false,
                    reason: format!("{name}（{}）", a.source),
                },
            );
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
    }
    for ((mo, da), name) in a.workdays {
        if let Some(d) = NaiveDate::from_ymd_opt(a.year, *mo, *da) {
            m.insert(
                d,
                DayOverride {
                    working: true,
                    reason: format!("{name}调休上班（{}）", a.source),
                },
            );
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        Calendar {
            kind: CalendarKind::WorkingHours,
            periods: parse_periods("08:30-12:00,14:00-17:30").unwrap(),
            overrides: cn_overrides(),
        }
    }

    fn bj(s: &str) -> DateTime<Utc> {
        beijing()
            .from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_request_just_before_national_day_is_due_after_the_holiday() {
        // Monday 2025-09-30 17:00, 4 working hours: 30 min that day, then the holiday
        // 10-01..10-08, then Thursday 10-09 from 08:30: 3.5 h → 12:00.
        assert_eq!(
            cal().add_minutes(bj("2025-09-30 17:00"), 240),
            Some(bj("2025-10-09 12:00"))
        );
    }

    #[test]
    fn a_make_up_saturday_is_a_working_day() {
        // Saturday 2025-10-11 is a make-up working day.
        let c = cal();
        assert!(c.is_working_day(NaiveDate::from_ymd_opt(2025, 10, 11).unwrap()));
        assert_eq!(
            c.add_minutes(bj("2025-10-10 17:00"), 60),
            Some(bj("2025-10-11 09:00"))
        );
        // An ordinary Saturday is not.
        assert_eq!(
            c.add_minutes(bj("2025-10-17 17:00"), 60),
            Some(bj("2025-10-20 09:00"))
        );
    }

    #[test]
    fn lunch_break_and_nights_do_not_count() {
        let c = cal();
        assert_eq!(
            c.seconds_between(bj("2025-10-13 11:00"), bj("2025-10-13 15:00")),
            2 * 3600
        );
        assert_eq!(
            c.seconds_between(bj("2025-10-13 17:00"), bj("2025-10-14 09:00")),
            3600
        );
        assert_eq!(
            Calendar::always().seconds_between(bj("2025-10-13 17:00"), bj("2025-10-14 09:00")),
            16 * 3600
        );
    }

    #[test]
    fn bad_periods_are_refused() {
        assert!(parse_periods("9-18").is_err());
        assert!(parse_periods("12:00-08:00").is_err());
        assert!(parse_periods("08:00-12:00,11:00-13:00").is_err());
    }
}
