//! Inspection indicators (巡检指标) over a period, overall and per target type, per system
//! and per engineer: tasks planned, completed, completed on time, the completion rate,
//! abnormal findings, findings rectified (整改) and the rectification rate. The reports and
//! `GET /inspections/stats` use the same numbers.
//!
//! A task counts as planned when its due time falls in the period; completed when it is
//! submitted or approved; on time when it was submitted by its due time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::task::{TaskStatus, on_time};
use super::template::TargetType;

/// What the indicators need of one task.
#[derive(Clone, Debug)]
pub struct TaskFact {
    pub target_type: TargetType,
    /// The system inspected (system targets), if any.
    pub system_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: TaskStatus,
    pub due_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Abnormal findings the task raised.
    pub findings: u32,
    /// Of those, the rectified ones.
    pub rectified: u32,
}

/// The indicators of one group of tasks. Rates are percentages with one decimal, and
/// `null` when nothing was planned (or found).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    pub planned: u32,
    pub completed: u32,
    pub completed_on_time: u32,
    pub completion_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub findings: u32,
    pub rectified: u32,
    pub rectification_rate: Option<f64>,
}

impl Counts {
    fn add(&mut self, f: &TaskFact) {
        self.planned += 1;
        if f.status.completed() {
            self.completed += 1;
            if f.submitted_at.is_some_and(|s| on_time(s, f.due_at)) {
                self.completed_on_time += 1;
            }
        }
        self.findings += f.findings;
        self.rectified += f.rectified.min(f.findings);
    }

    fn finish(&mut self) {
        self.completion_rate = rate(self.completed, self.planned);
        self.on_time_rate = rate(self.completed_on_time, self.planned);
        self.rectification_rate = rate(self.rectified, self.findings);
    }
}

/// `n / d` as a percentage with one decimal.
pub fn rate(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| (f64::from(n) * 1000.0 / f64::from(d)).round() / 10.0)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub overall: Counts,
    /// Keyed by `site`, `asset`, `system`.
    pub by_target_type: BTreeMap<&'static str, Counts>,
    /// Keyed by system id.
    pub by_system: BTreeMap<i64, Counts>,
    /// Keyed by the assignee's user id; unassigned tasks are left out of this group.
    pub by_engineer: BTreeMap<i64, Counts>,
}

/// The indicators of a set of tasks.
pub fn stats<'a>(facts: impl IntoIterator<Item = &'a TaskFact>) -> Stats {
    let mut s = Stats::default();
    for f in facts {
        s.overall.add(f);
        s.by_target_type
            .entry(f.target_type.as_str())
            .or_default()
            .add(f);
        if let Some(id) = f.system_id {
            s.by_system.entry(id).or_default().add(f);
        }
        if let Some(id) = f.assignee_id {
            s.by_engineer.entry(id).or_default().add(f);
        }
    }
    s.overall.finish();
    for c in s
        .by_target_type
        .values_mut()
        .chain(s.by_system.values_mut())
        .chain(s.by_engineer.values_mut())
    {
        c.finish();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn fact(
        tt: TargetType,
        sys: Option<i64>,
        who: i64,
        status: TaskStatus,
        late: Option<i64>,
    ) -> TaskFact {
        let due = Utc.with_ymd_and_hms(2025, 10, 15, 10, 0, 0).unwrap();
        TaskFact {
            target_type: tt,
            system_id: sys,
            assignee_id: Some(who),
            status,
            due_at: due,
            submitted_at: late.map(|m| due + Duration::minutes(m)),
            findings: 0,
            rectified: 0,
        }
    }

    #[test]
    fn indicators_match_hand_counts_per_group() {
        use TargetType::*;
        use TaskStatus::*;
        let mut facts = vec![
            fact(System, Some(1), 7, Approved, Some(-30)),
            fact(System, Some(1), 7, Submitted, Some(45)),
            fact(System, Some(2), 8, Overdue, None),
            fact(Site, None, 8, Approved, Some(0)),
            fact(Asset, None, 9, Returned, Some(-5)),
            fact(Asset, None, 9, Pending, None),
        ];
        facts[3].findings = 2;
        facts[3].rectified = 1;
        facts[0].findings = 1;
        facts[0].rectified = 1;
        let s = stats(&facts);
        assert_eq!(s.overall.planned, 6);
        assert_eq!(s.overall.completed, 3);
        assert_eq!(s.overall.completed_on_time, 2);
        assert_eq!(s.overall.completion_rate, Some(50.0));
        assert_eq!(s.overall.on_time_rate, Some(33.3));
        assert_eq!(s.overall.findings, 3);
        assert_eq!(s.overall.rectified, 2);
        assert_eq!(s.overall.rectification_rate, Some(66.7));
        let sys1 = &s.by_system[&1];
        assert_eq!(
            (sys1.planned, sys1.completed, sys1.completed_on_time),
            (2, 2, 1)
        );
        assert_eq!(s.by_system[&2].completion_rate, Some(0.0));
        assert_eq!(s.by_target_type["asset"].planned, 2);
        assert_eq!(s.by_target_type["asset"].completed, 0);
        assert_eq!(s.by_target_type["asset"].rectification_rate, None);
        assert_eq!(s.by_engineer[&8].planned, 2);
        assert_eq!(s.by_engineer[&8].completed_on_time, 1);
    }

    #[test]
    fn nothing_planned_gives_no_rates() {
        let s = stats(&[]);
        assert_eq!(s.overall, Counts::default());
        assert!(s.by_system.is_empty());
        assert_eq!(rate(1, 3), Some(33.3));
        assert_eq!(rate(2, 3), Some(66.7));
    }
}
