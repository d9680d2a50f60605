//! SLA clocks as an event log. A clock (first response, on-site arrival, resolution) is
//! started, paused with a reason, resumed and stopped; its target may be recomputed when
//! the priority changes. Replaying the log on a calendar gives the elapsed working time,
//! the due time and whether it was breached, and explains each step. Paused time never
//! counts, on any calendar, and a new target keeps the time already accrued.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calendar::Calendar;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockTarget {
    Response,
    Onsite,
    Resolve,
}

impl ClockTarget {
    pub const ALL: [ClockTarget; 3] = [
        ClockTarget::Response,
        ClockTarget::Onsite,
        ClockTarget::Resolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockTarget::Response => "response",
            ClockTarget::Onsite => "onsite",
            ClockTarget::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ClockTarget::Response => "首次响应",
            ClockTarget::Onsite => "到场",
            ClockTarget::Resolve => "解决",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockEventKind {
    Start,
    Pause,
    Resume,
    Stop,
    /// The target changed (priority or policy change); carries the new target.
    Retarget,
    /// The target no longer applies (e.g. on-site arrival waived for a remote fix).
    Waive,
}

impl ClockEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockEventKind::Start => "start",
            ClockEventKind::Pause => "pause",
            ClockEventKind::Resume => "resume",
            ClockEventKind::Stop => "stop",
            ClockEventKind::Retarget => "retarget",
            ClockEventKind::Waive => "waive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Start,
            Self::Pause,
            Self::Resume,
            Self::Stop,
            Self::Retarget,
            Self::Waive,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClockEvent {
    pub at: DateTime<Utc>,
    pub kind: ClockEventKind,
    /// Target in seconds for `Start` and `Retarget`.
    pub target_seconds: Option<i64>,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    NotStarted,
    Running,
    Paused,
    Met,
    Breached,
    Waived,
}

/// The replayed state of one clock at `now`.
#[derive(Clone, Debug, Serialize)]
pub struct ClockState {
    pub target: ClockTarget,
    pub status: ClockStatus,
    pub target_seconds: Option<i64>,
    /// Working seconds counted so far (paused time excluded).
    pub elapsed_seconds: i64,
    /// When the target is reached if the clock keeps running; none while paused or stopped.
    pub due_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Fraction of the target used (0–1+).
    pub used: f64,
    pub breached: bool,
    /// One line per event: what happened and the running total.
    pub explanation: Vec<String>,
}

/// Replays a clock's events (in order) on a calendar at `now`.
pub fn replay(
    target: ClockTarget,
    events: &[ClockEvent],
    cal: &Calendar,
    now: DateTime<Utc>,
) -> ClockState {
    let mut target_s: Option<i64> = None;
    let mut elapsed = 0i64;
    let mut running_since: Option<DateTime<Utc>> = None;
    let mut started = false;
    let mut stopped_at = None;
    let mut waived = false;
    let mut explanation = Vec::new();
    for e in events {
        let t = crate::clock::local_minutes(e.at.timestamp_millis());
        match e.kind {
            ClockEventKind::Start => {
                if !started {
                    started = true;
                    target_s = e.target_seconds;
                    running_since = Some(e.at);
                    explanation.push(format!(
                        "{t} 开始计时，时限 {}",
                        fmt_duration(target_s.unwrap_or(0))
                    ));
                }
            }
            ClockEventKind::Pause => {
                if let Some(since) = running_since.take() {
                    elapsed += cal.seconds_between(since, e.at);
                    explanation.push(format!(
                        "{t} 暂停（{}），已用 {}",
                        e.reason,
                        fmt_duration(elapsed)
                    ));
                }
            }
            ClockEventKind::Resume => {
                if started && running_since.is_none() && stopped_at.is_none() && !waived {
                    running_since = Some(e.at);
                    explanation.push(format!("{t} 恢复计时（{}）", e.reason));
                }
            }
            ClockEventKind::Stop => {
                if let Some(since) = running_since.take() {
                    elapsed += cal.seconds_between(since, e.at);
                }
                if started && stopped_at.is_none() {
                    stopped_at = Some(e.at);
                    explanation.push(format!(
                        "{t} 停止计时（{}），共用 {}",
                        e.reason,
                        fmt_duration(elapsed)
                    ));
                }
            }
            ClockEventKind::Retarget => {
                if started {
                    target_s = e.target_seconds;
                    explanation.push(format!(
                        "{t} 时限改为 {}（{}），已用时间保留 {}",
                        fmt_duration(target_s.unwrap_or(0)),
                        e.reason,
                        fmt_duration(
                            elapsed
                                + running_since
                                    .map(|s| cal.seconds_between(s, e.at))
                                    .unwrap_or(0)
                        )
                    ));
                }
            }
            ClockEventKind::Waive => {
                if let Some(since) = running_since.take() {
                    elapsed += cal.seconds_between(since, e.at);
                }
                waived = true;
                explanation.push(format!("{t} 不再适用（{}）", e.reason));
            }
        }
        // A reopen after a stop: Resume clears the stop.
        if e.kind == ClockEventKind::Resume && stopped_at.is_some() && started && !waived {
            stopped_at = None;
            running_since = Some(e.at);
            explanation.push(format!(
                "{t} 重新开始计时（{}），已用 {}",
                e.reason,
                fmt_duration(elapsed)
            ));
        }
    }
    let live = running_since
        .map(|s| cal.seconds_between(s, now))
        .unwrap_or(0);
    let total = elapsed + live;
    let due_at = match (running_since, target_s) {
        (Some(since), Some(ts)) => cal.add_seconds(since, (ts - elapsed).max(0)),
        _ => None,
    };
    let breached = target_s.is_some_and(|ts| total > ts) && !waived;
    let status = if !started {
        ClockStatus::NotStarted
    } else if waived {
        ClockStatus::Waived
    } else if stopped_at.is_some() {
        if breached {
            ClockStatus::Breached
        } else {
            ClockStatus::Met
        }
    } else if breached {
        ClockStatus::Breached
    } else if running_since.is_some() {
        ClockStatus::Running
    } else {
        ClockStatus::Paused
    };
    let used = match target_s {
        Some(ts) if ts > 0 => total as f64 / ts as f64,
        _ => 0.0,
    };
    ClockState {
        target,
        status,
        target_seconds: target_s,
        elapsed_seconds: total,
        due_at,
        stopped_at,
        used,
        breached,
        explanation,
    }
}

/// `2小时30分`, `3天4小时`.
pub fn fmt_duration(seconds: i64) -> String {
    // Under a minute in seconds: "0分" read as "no time at all" for a 40-second MTTA.
    if (0..60).contains(&seconds) {
        return format!("{seconds}秒");
    }
    let m = seconds / 60;
    let (d, h, mi) = (m / 1440, (m % 1440) / 60, m % 60);
    let mut s = String::new();
    if d > 0 {
        s.push_str(&format!("{d}天"));
    }
    if h > 0 {
        s.push_str(&format!("{h}小时"));
    }
    if mi > 0 || s.is_empty() {
        s.push_str(&format!("{mi}分"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{CalendarKind, cn_overrides, parse_periods};

    #[test]
    fn a_duration_under_a_minute_reads_in_seconds_not_as_zero_minutes() {
        assert_eq!(fmt_duration(40), "40秒");
        assert_eq!(fmt_duration(0), "0秒");
        assert_eq!(fmt_duration(60), "1分");
        assert_eq!(fmt_duration(3 * 3600 + 5 * 60), "3小时5分");
    }
    use chrono::{Duration, TimeZone};

    fn bj(s: &str) -> DateTime<Utc> {
        crate::clock::beijing()
            .from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
    }

    fn work() -> Calendar {
        Calendar {
            kind: CalendarKind::WorkingHours,
            periods: parse_periods("08:30-12:00,14:00-17:30").unwrap(),
            overrides: cn_overrides(),
        }
    }

    fn ev(at: &str, kind: ClockEventKind, target_h: Option<i64>, reason: &str) -> ClockEvent {
        ClockEvent {
            at: bj(at),
            kind,
            target_seconds: target_h.map(|h| h * 3600),
            reason: reason.into(),
        }
    }

    #[test]
    fn glpi_10594_pending_time_over_a_weekend_is_counted_on_the_same_calendar_as_the_due_date() {
        // 8 working hours, started Friday 2025-10-17 09:00, pending Friday 10:00 → Monday 10:00.
        let evs = [
            ev("2025-10-17 09:00", ClockEventKind::Start, Some(8), ""),
            ev("2025-10-17 10:00", ClockEventKind::Pause, None, "等待用户"),
            ev("2025-10-20 10:00", ClockEventKind::Resume, None, "用户回复"),
        ];
        let s = replay(ClockTarget::Resolve, &evs, &work(), bj("2025-10-20 10:00"));
        assert_eq!(s.elapsed_seconds, 3600);
        // 7 h left from Monday 10:00: 10:00–12:00 (2 h), 14:00–17:30 (3.5 h), Tuesday 08:30 + 1.5 h.
        assert_eq!(s.due_at, Some(bj("2025-10-21 10:00")));
    }

    #[test]
    fn glpi_15605_a_new_target_after_a_priority_change_keeps_the_time_already_used_and_excludes_pauses()
     {
        let cal = Calendar::always();
        let evs = [
            ev("2025-10-13 09:00", ClockEventKind::Start, Some(8), ""),
            ev(
                "2025-10-13 10:00",
                ClockEventKind::Pause,
                None,
                "等待第三方",
            ),
            ev("2025-10-13 15:00", ClockEventKind::Resume, None, ""),
            ev(
                "2025-10-13 16:00",
                ClockEventKind::Retarget,
                Some(4),
                "优先级改为 P2",
            ),
        ];
        let s = replay(ClockTarget::Resolve, &evs, &cal, bj("2025-10-13 16:00"));
        assert_eq!(s.elapsed_seconds, 2 * 3600);
        assert_eq!(s.target_seconds, Some(4 * 3600));
        // 2 h left, counted from the last resume (15:00) with 1 h used before the pause.
        assert_eq!(s.due_at, Some(bj("2025-10-13 18:00")));
    }

    #[test]
    fn glpi_7946_a_paused_clock_is_never_breached() {
        let evs = [
            ev("2025-10-13 09:00", ClockEventKind::Start, Some(1), ""),
            ev("2025-10-13 09:30", ClockEventKind::Pause, None, "等待用户"),
        ];
        let s = replay(
            ClockTarget::Resolve,
            &evs,
            &Calendar::always(),
            bj("2025-10-15 09:00"),
        );
        assert_eq!(s.status, ClockStatus::Paused);
        assert!(!s.breached);
        assert_eq!(s.due_at, None);
    }

    #[test]
    fn zammad_a_ticket_paused_for_days_does_not_escalate_instantly_when_reopened() {
        let evs = [
            ev("2025-10-13 09:00", ClockEventKind::Start, Some(4), ""),
            ev("2025-10-13 10:00", ClockEventKind::Stop, None, "已解决"),
            ev("2025-10-16 09:00", ClockEventKind::Resume, None, "重新打开"),
        ];
        let s = replay(
            ClockTarget::Resolve,
            &evs,
            &Calendar::always(),
            bj("2025-10-16 09:00"),
        );
        assert_eq!(s.status, ClockStatus::Running);
        assert!(!s.breached);
        assert_eq!(s.due_at, Some(bj("2025-10-16 12:00")));
    }

    #[test]
    fn zammad_3180_a_7x24_clock_runs_through_midnight_without_a_gap() {
        let evs = [ev("2025-10-13 23:30", ClockEventKind::Start, Some(1), "")];
        let s = replay(
            ClockTarget::Response,
            &evs,
            &Calendar::always(),
            bj("2025-10-13 23:30"),
        );
        assert_eq!(s.due_at, Some(bj("2025-10-14 00:30")));
        let s = replay(
            ClockTarget::Response,
            &evs,
            &Calendar::always(),
            bj("2025-10-14 00:31"),
        );
        assert!(s.breached);
    }

    #[test]
    fn a_stopped_clock_is_met_or_breached_by_its_working_time() {
        let evs = [
            ev("2025-10-17 17:00", ClockEventKind::Start, Some(1), ""),
            ev("2025-10-20 09:00", ClockEventKind::Stop, None, "已响应"),
        ];
        let s = replay(ClockTarget::Response, &evs, &work(), bj("2025-10-21 09:00"));
        assert_eq!(s.status, ClockStatus::Met);
        assert_eq!(s.elapsed_seconds, 3600);
        let s = replay(
            ClockTarget::Response,
            &evs,
            &Calendar::always(),
            bj("2025-10-21 09:00"),
        );
        assert_eq!(s.status, ClockStatus::Breached);
        let _ = Duration::zero();
    }
}
