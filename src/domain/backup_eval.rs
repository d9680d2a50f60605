//! Evaluation of backup runs and schedules (issue 14): which conditions a run is flagged
//! with, and which scheduled times of a policy went without a successful run by their
//! deadline (schedule + grace). Pure: no I/O; times are epoch milliseconds.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

use super::backup::RunStatus;
use super::monitor::cron::Cron;

/// A condition a run is flagged with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The job reported a failure.
    Failed,
    /// Smaller than the policy's expected minimum.
    TooSmall,
    /// Larger than the policy's expected maximum.
    TooLarge,
    /// Smaller than the last good run by more than the policy's percentage.
    Shrunk,
    /// No checksum where the policy requires one.
    NoChecksum,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Failed => "failed",
            Flag::TooSmall => "too_small",
            Flag::TooLarge => "too_large",
            Flag::Shrunk => "shrunk",
            Flag::NoChecksum => "no_checksum",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Flag::Failed => "备份失败",
            Flag::TooSmall => "小于预期大小",
            Flag::TooLarge => "大于预期大小",
            Flag::Shrunk => "较上次成功备份明显缩小",
            Flag::NoChecksum => "缺少校验值",
        }
    }
}

/// What of a policy a run is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub expected_min_bytes: Option<i64>,
    pub expected_max_bytes: Option<i64>,
    pub checksum_required: bool,
    /// 1–100.
    pub shrink_percent: i64,
}

/// What of a run is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunFacts {
    pub status: RunStatus,
    pub size_bytes: Option<i64>,
    pub has_checksum: bool,
}

/// The flags of a run, in order; `last_good` is the size of the policy's last good run
/// before it. A running run has none yet; a failed one is flagged only as failed.
pub fn run_flags(rules: &Rules, run: &RunFacts, last_good: Option<i64>) -> Vec<Flag> {
    match run.status {
        RunStatus::Running => return Vec::new(),
        RunStatus::Fail => return vec![Flag::Failed],
        RunStatus::Success => {}
    }
    let mut flags = Vec::new();
    if let Some(size) = run.size_bytes {
        if rules.expected_min_bytes.is_some_and(|m| size < m) {
            flags.push(Flag::TooSmall);
        }
        if rules.expected_max_bytes.is_some_and(|m| size > m) {
            flags.push(Flag::TooLarge);
        }
        // size < last × (100 − p) / 100, in i128 so no size overflows.
        if let Some(last) = last_good.filter(|l| *l > 0) {
            let p = i128::from(rules.shrink_percent.clamp(0, 100));
            if i128::from(size) * 100 < i128::from(last) * (100 - p) {
                flags.push(Flag::Shrunk);
            }
        }
    }
    if rules.checksum_required && !run.has_checksum {
        flags.push(Flag::NoChecksum);
    }
    flags
}

/// Whether a run counts as good: it succeeded and is flagged with nothing.
pub fn is_good(run: &RunFacts, flags: &[Flag]) -> bool {
    run.status == RunStatus::Success && flags.is_empty()
}

/// The scheduled times in `[from, to)`, at most `cap` of them.
pub fn slots(cron: &Cron, from: i64, to: i64, cap: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let Some(mut t) = DateTime::<Utc>::from_timestamp_millis(from - 1) else {
        return out;
    };
    // `next_after` is strictly after its minute: start just before `from`'s minute.
    t -= chrono::Duration::seconds(59);
    while out.len() < cap {
        let Some(n) = cron.next_after(t) else { break };
        let ms = n.timestamp_millis();
        if ms >= to {
            break;
        }
        if ms >= from {
            out.push(ms);
        }
        t = n;
    }
    out
}

/// Of `slots`, those whose deadline (`slot + grace`) has passed by `now` without a
/// successful run finished in `[slot, slot + grace]`. `successes` are finish times.
pub fn missed(slots: &[i64], grace_ms: i64, now: i64, successes: &[i64]) -> Vec<i64> {
    slots
        .iter()
        .copied()
        .filter(|s| s + grace_ms <= now)
        .filter(|s| !successes.iter().any(|f| *f >= *s && *f <= s + grace_ms))
        .collect()
}

/// A policy's scheduled runs over a period, as coverage and the success rate count them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotCheck {
    /// The scheduled times in the period from the policy's creation on.
    pub slots: Vec<i64>,
    /// How many of them are due: their deadline (`slot + grace`) has passed by `now`.
    pub due: usize,
    /// The due ones with no successful run finished by their deadline.
    pub missed: Vec<i64>,
}

impl SlotCheck {
    /// The due slots met by a successful run.
    pub fn met(&self) -> usize {
        self.due - self.missed.len()
    }
}

/// The slots of `schedule` in `[from, to)` counted from `created_at` (a negative grace
/// counts as none), at most `cap`; an unreadable schedule has none.
#[allow(clippy::too_many_arguments)]
pub fn check_slots(
    schedule: &str,
    grace_minutes: i64,
    created_at: i64,
    from: i64,
    to: i64,
    now: i64,
    successes: &[i64],
    cap: usize,
) -> SlotCheck {
    let Ok(cron) = Cron::parse(schedule) else {
        return SlotCheck::default();
    };
    let grace = grace_minutes.max(0) * 60_000;
    let slots = slots(&cron, from.max(created_at), to, cap);
    let due = slots.iter().filter(|t| *t + grace <= now).count();
    let missed = missed(&slots, grace, now, successes);
    SlotCheck { slots, due, missed }
}

/// The latest scheduled time in `[from, now - grace]`, i.e. whose deadline (`slot +
/// grace`) has passed by `now`.
pub fn latest_deadline(cron: &Cron, grace_ms: i64, now: i64, from: i64) -> Option<i64> {
    let to = now - grace_ms + 1;
    if from >= to {
        return None;
    }
    slots(cron, from, to, 100_000).last().copied()
}

/// The next deadline (`slot + grace`) after `now`, if a slot falls within `within` ms.
pub fn next_deadline(cron: &Cron, grace_ms: i64, now: i64, within: i64) -> Option<i64> {
    let from = now - grace_ms + 1;
    slots(cron, from, from + within, 1)
        .first()
        .map(|s| s + grace_ms)
}

/// A ratio (0–1) as "99.95%" (to two decimals of a percent), or "—" without one; as
/// the reports show rates.
pub fn ratio_label(v: Option<f64>) -> String {
    v.map_or("—".into(), |r| {
        format!(
            "{}%",
            super::inspection::template::num((r * 10_000.0).round() / 100.0)
        )
    })
}

/// How a day of a month went for one policy, as the heat map colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    /// Every due slot met, at least one success.
    Ok,
    /// Failed runs and no success.
    Failed,
    /// Missed slots, no failed run and no success.
    Missed,
    /// Successes and failed runs or missed slots both.
    Partial,
    /// Nothing expected and nothing ran.
    None,
    /// Not begun yet, or its slots not due yet and nothing ran.
    Future,
}

impl DayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DayStatus::Ok => "ok",
            DayStatus::Failed => "failed",
            DayStatus::Missed => "missed",
            DayStatus::Partial => "partial",
            DayStatus::None => "none",
            DayStatus::Future => "future",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DayStatus::Ok => "正常",
            DayStatus::Failed => "失败",
            DayStatus::Missed => "漏备",
            DayStatus::Partial => "部分成功",
            DayStatus::None => "无计划",
            DayStatus::Future => "未到期",
        }
    }
}

/// What of a policy's month is split into days: the slots (scheduled times), the missed
/// ones among them, and the start times of the successful and failed runs, all in the
/// month.
#[derive(Clone, Debug, Default)]
pub struct MonthRuns {
    pub slots: Vec<i64>,
    pub missed: Vec<i64>,
    pub succeeded: Vec<i64>,
    pub failed: Vec<i64>,
}

/// One day's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD` in the offset the days were cut in.
    pub date: String,
    pub expected: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub missed: usize,
    pub status: DayStatus,
}

/// The days of the month beginning at `first`, in `tz`: each with its start (epoch ms),
/// then the month's end.
pub fn month_days(first: NaiveDate, tz: FixedOffset) -> (Vec<(NaiveDate, i64)>, i64) {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).single())
            .map_or(0, |t| t.timestamp_millis())
    };
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let days = first
        .iter_days()
        .take_while(|d| *d < next)
        .map(|d| (d, start(d)))
        .collect();
    (days, start(next))
}

/// The month's figures per day (`days` from [`month_days`], `to` the month's end): every
/// time counted on the day it falls in, so that the days add up to the month. A day is
/// `future` when it has not begun by `now`, or nothing of it is due or ran yet.
pub fn per_day(
    days: &[(NaiveDate, i64)],
    to: i64,
    m: &MonthRuns,
    grace_ms: i64,
    now: i64,
) -> Vec<DayFigures> {
    days.iter()
        .enumerate()
        .map(|(i, (date, from))| {
            let end = days.get(i + 1).map_or(to, |d| d.1);
            let count = |v: &[i64]| v.iter().filter(|t| **t >= *from && **t < end).count();
            let expected = count(&m.slots);
            let due = m
                .slots
                .iter()
                .filter(|t| **t >= *from && **t < end && **t + grace_ms <= now)
                .count();
            let (succeeded, failed, missed) =
                (count(&m.succeeded), count(&m.failed), count(&m.missed));
            let status = if *from > now || (due == 0 && succeeded == 0 && failed == 0) {
                if *from > now || expected > 0 {
                    DayStatus::Future
                } else {
                    DayStatus::None
                }
            } else if failed + missed == 0 {
                DayStatus::Ok
            } else if succeeded > 0 {
                DayStatus::Partial
            } else if failed > 0 {
                DayStatus::Failed
            } else {
                DayStatus::Missed
            };
            DayFigures {
                date: date.format("%Y-%m-%d").to_string(),
                expected,
                succeeded,
                failed,
                missed,
                status,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const RULES: Rules = Rules {
        expected_min_bytes: Some(100),
        expected_max_bytes: Some(1000),
        checksum_required: true,
        shrink_percent: 30,
    };

    fn ok(size: i64) -> RunFacts {
        RunFacts {
            status: RunStatus::Success,
            size_bytes: Some(size),
            has_checksum: true,
        }
    }

    fn bj(d: u32, h: u32, mi: u32) -> i64 {
        crate::clock::beijing()
            .with_ymd_and_hms(2025, 11, d, h, mi, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn each_condition_is_flagged() {
        assert_eq!(run_flags(&RULES, &ok(500), Some(500)), []);
        assert_eq!(run_flags(&RULES, &ok(50), None), [Flag::TooSmall]);
        assert_eq!(run_flags(&RULES, &ok(5000), None), [Flag::TooLarge]);
        // 30 % below the last good size is still fine; more is not.
        assert_eq!(run_flags(&RULES, &ok(700), Some(1000)), []);
        assert_eq!(run_flags(&RULES, &ok(699), Some(1000)), [Flag::Shrunk]);
        let mut r = ok(500);
        r.has_checksum = false;
        assert_eq!(run_flags(&RULES, &r, None), [Flag::NoChecksum]);
        r.status = RunStatus::Fail;
        assert_eq!(run_flags(&RULES, &r, None), [Flag::Failed]);
        r.status = RunStatus::Running;
        assert_eq!(run_flags(&RULES, &r, None), []);
        assert!(is_good(&ok(500), &[]));
        assert!(!is_good(&ok(50), &[Flag::TooSmall]));
    }

    #[test]
    fn a_slot_without_a_success_by_its_deadline_is_missed() {
        let cron = Cron::parse("0 2 * * *").unwrap();
        let s = slots(&cron, bj(1, 0, 0), bj(4, 0, 0), 100);
        assert_eq!(s, [bj(1, 2, 0), bj(2, 2, 0), bj(3, 2, 0)]);
        // A slot exactly at `from` counts.
        assert_eq!(slots(&cron, bj(1, 2, 0), bj(2, 2, 0), 100), [bj(1, 2, 0)]);
        let grace = 60 * 60_000;
        // The 1st met in time, the 2nd late, the 3rd not yet due.
        let successes = [bj(1, 2, 40), bj(2, 3, 30)];
        assert_eq!(missed(&s, grace, bj(3, 2, 59), &successes), [bj(2, 2, 0)]);
        // At the 3rd's deadline it is missed too.
        assert_eq!(
            missed(&s, grace, bj(3, 3, 0), &successes),
            [bj(2, 2, 0), bj(3, 2, 0)]
        );
        // A whole month of daily slots.
        assert_eq!(
            slots(&cron, bj(1, 0, 0), bj(30, 0, 0) + 86_400_000, 100).len(),
            30
        );
    }

    #[test]
    fn slots_count_from_creation_and_due_ones_are_met_or_missed() {
        // Created on the 2nd at noon: the 1st's and 2nd's 02:00 slots are not its own.
        let successes = [bj(3, 2, 30)];
        let c = check_slots(
            "0 2 * * *",
            60,
            bj(2, 12, 0),
            bj(1, 0, 0),
            bj(6, 0, 0),
            bj(4, 3, 0),
            &successes,
            100,
        );
        assert_eq!(c.slots, [bj(3, 2, 0), bj(4, 2, 0), bj(5, 2, 0)]);
        // The 3rd met, the 4th's deadline just passed without a run, the 5th not due.
        assert_eq!(
            (c.due, c.met(), c.missed.clone()),
            (2, 1, vec![bj(4, 2, 0)])
        );
        // A negative grace counts as none; an unreadable schedule has no slots.
        let c = check_slots(
            "0 2 * * *",
            -5,
            0,
            bj(1, 0, 0),
            bj(2, 0, 0),
            bj(2, 0, 0),
            &[],
            100,
        );
        assert_eq!((c.due, c.met()), (1, 0));
        assert_eq!(
            check_slots(
                "每天",
                60,
                0,
                bj(1, 0, 0),
                bj(2, 0, 0),
                bj(2, 0, 0),
                &[],
                100
            ),
            SlotCheck::default()
        );
    }

    #[test]
    fn the_latest_passed_and_the_next_deadline() {
        let cron = Cron::parse("0 2 * * *").unwrap();
        let grace = 60 * 60_000;
        let week = 7 * 86_400_000;
        // Just before the 3rd's deadline the latest passed slot is the 2nd's.
        assert_eq!(
            latest_deadline(&cron, grace, bj(3, 2, 59), bj(3, 2, 59) - week),
            Some(bj(2, 2, 0))
        );
        // At the deadline exactly it is the 3rd's.
        assert_eq!(
            latest_deadline(&cron, grace, bj(3, 3, 0), bj(3, 3, 0) - week),
            Some(bj(3, 2, 0))
        );
        // Nothing from `from` on.
        assert_eq!(
            latest_deadline(&cron, grace, bj(3, 3, 0), bj(3, 2, 1)),
            None
        );
        assert_eq!(
            next_deadline(&cron, grace, bj(3, 2, 59), week),
            Some(bj(3, 3, 0))
        );
        assert_eq!(
            next_deadline(&cron, grace, bj(3, 3, 0), week),
            Some(bj(4, 3, 0))
        );
        let yearly = Cron::parse("0 0 1 1 *").unwrap();
        assert_eq!(next_deadline(&yearly, 0, bj(3, 3, 0), week), None);
    }

    #[test]
    fn a_month_is_split_into_days_with_their_status() {
        let first = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
        let (days, to) = month_days(first, crate::clock::beijing());
        assert_eq!(days.len(), 30);
        assert_eq!(days[0].1, bj(1, 0, 0));
        assert_eq!(days[29].1, bj(30, 0, 0));
        assert_eq!(to, bj(30, 0, 0) + 86_400_000);
        let cron = Cron::parse("0 2 * * *").unwrap();
        let grace = 3_600_000;
        let s = slots(&cron, days[0].1, to, 100);
        let now = bj(6, 12, 0);
        // 1st ok, 2nd missed, 3rd failed, 4th failed then retried, 5th late success, 6th
        // missed by noon.
        let succeeded = vec![bj(1, 2, 10), bj(4, 2, 50), bj(5, 3, 30)];
        let failed = vec![bj(3, 2, 5), bj(4, 2, 5)];
        let ends: Vec<i64> = succeeded.iter().map(|t| t + 60_000).collect();
        let m = MonthRuns {
            missed: missed(&s, grace, now, &ends),
            slots: s,
            succeeded,
            failed,
        };
        let d = per_day(&days, to, &m, grace, now);
        let st: Vec<&str> = d.iter().take(8).map(|x| x.status.as_str()).collect();
        assert_eq!(
            st,
            [
                "ok", "missed", "failed", "partial", "partial", "missed", "future", "future"
            ]
        );
        assert_eq!(d[0].date, "2025-11-01");
        assert_eq!((d[2].expected, d[2].failed, d[2].missed), (1, 1, 1));
        // The 4th: the failed run, then a success in time.
        assert_eq!((d[3].succeeded, d[3].failed, d[3].missed), (1, 1, 0));
        // Nothing expected, nothing ran: none; a day not begun: future.
        let empty = per_day(&days, to, &MonthRuns::default(), grace, now);
        assert_eq!(empty[0].status, DayStatus::None);
        assert_eq!(empty[10].status, DayStatus::Future);
    }

    proptest! {
        #[test]
        fn the_next_deadline_is_after_now_and_the_latest_not(h in 0u32..24, m in 0u32..60, g in 0i64..600) {
            let cron = Cron::parse("*/15 * * * *").unwrap();
            let now = bj(10, h, m) + 17_000;
            let grace = g * 60_000;
            let next = next_deadline(&cron, grace, now, 86_400_000).unwrap();
            prop_assert!(next > now && next - now <= 15 * 60_000);
            let last = latest_deadline(&cron, grace, now, now - 86_400_000).unwrap();
            prop_assert!(last + grace <= now && now - (last + grace) < 15 * 60_000);
        }

        #[test]
        fn flags_follow_the_bounds(size in 0i64..i64::MAX, last in proptest::option::of(0i64..i64::MAX),
                                   lo in proptest::option::of(0i64..i64::MAX), p in 1i64..=100) {
            let rules = Rules { expected_min_bytes: lo, expected_max_bytes: None, checksum_required: false, shrink_percent: p };
            let f = run_flags(&rules, &ok(size), last);
            prop_assert_eq!(f.contains(&Flag::TooSmall), lo.is_some_and(|l| size < l));
            prop_assert!(!f.contains(&Flag::TooLarge) && !f.contains(&Flag::NoChecksum));
            // Never flagged as shrunk when at least as big as the last good run.
            if last.is_none_or(|l| size >= l) {
                prop_assert!(!f.contains(&Flag::Shrunk));
            }
        }

        #[test]
        fn the_days_add_up_to_the_month(cron in prop::sample::select(vec!["0 2 * * *", "0 */6 * * *", "30 1 * * 1-5", "0 3 1,15 * *"]),
                                        ok in proptest::collection::vec(0i64..31 * 86_400_000, 0..40),
                                        bad in proptest::collection::vec(0i64..31 * 86_400_000, 0..20),
                                        now_off in 0i64..40 * 86_400_000, month in 1u32..=12) {
            let first = NaiveDate::from_ymd_opt(2025, month, 1).unwrap();
            let (days, to) = month_days(first, crate::clock::beijing());
            let from = days[0].1;
            let in_month = |v: &Vec<i64>| v.iter().map(|t| from + t).filter(|t| *t < to).collect::<Vec<_>>();
            let (succeeded, failed) = (in_month(&ok), in_month(&bad));
            let s = slots(&Cron::parse(cron).unwrap(), from, to, 1000);
            let now = from + now_off;
            let m = MonthRuns { missed: missed(&s, 3_600_000, now, &succeeded), slots: s, succeeded, failed };
            let d = per_day(&days, to, &m, 3_600_000, now);
            prop_assert_eq!(d.len(), days.len());
            prop_assert_eq!(d.iter().map(|x| x.expected).sum::<usize>(), m.slots.len());
            prop_assert_eq!(d.iter().map(|x| x.succeeded).sum::<usize>(), m.succeeded.len());
            prop_assert_eq!(d.iter().map(|x| x.failed).sum::<usize>(), m.failed.len());
            prop_assert_eq!(d.iter().map(|x| x.missed).sum::<usize>(), m.missed.len());
            for x in &d {
                // A day with a problem is never ok; one without is never failed or missed.
                let bad = x.failed + x.missed > 0;
                prop_assert!(!(bad && x.status == DayStatus::Ok));
                prop_assert!(bad || !matches!(x.status, DayStatus::Failed | DayStatus::Missed | DayStatus::Partial));
            }
        }

        #[test]
        fn a_success_at_each_slot_leaves_none_missed(n in 1usize..40, offset in 0i64..=60) {
            let cron = Cron::parse("0 */6 * * *").unwrap();
            let s = slots(&cron, bj(1, 0, 0), bj(1, 0, 0) + n as i64 * 6 * 3_600_000, 1000);
            prop_assert_eq!(s.len(), n);
            let done: Vec<i64> = s.iter().map(|t| t + offset * 60_000).collect();
            prop_assert!(missed(&s, 3_600_000, i64::MAX / 2, &done).is_empty());
            prop_assert_eq!(missed(&s, 3_600_000, i64::MAX / 2, &[]).len(), n);
        }
    }
}
