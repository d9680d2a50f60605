//! The figures of the 运维月报 (O&M monthly report, cn-ops.md §1.2): the service desk's
//! indicators this period and the period before (the definitions of `desk_stats`, the same
//! figures `GET /tickets/stats` answers), incidents by priority, source, category and
//! system, the incident and change lists, and the availability of every system. Pure: the
//! report service reads the rows and the monitors' tallies and hands them here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::desk_stats::{Indicators, StatRow, indicators};
use super::entity::Choice;
use super::tickets::{CHANGE_TYPES, KINDS, SOURCES, STATUSES};

/// What the report needs of one ticket beyond the indicators' columns.
#[derive(Clone, Debug)]
pub struct TicketFact {
    pub stat: StatRow,
    pub number: String,
    pub title: String,
    pub source: String,
    pub category: Option<String>,
    pub change_type: Option<String>,
}

/// One system's availability over the period, from its monitors.
#[derive(Clone, Debug)]
pub struct SystemUptime {
    pub name: String,
    /// How many monitors watch it; 0 means it is not monitored.
    pub monitors: usize,
    /// Up / (up + down), `None` when nothing was measured.
    pub availability: Option<f64>,
    pub down_minutes: i64,
    pub unknown_minutes: i64,
}

/// One line of the incident list.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentLine {
    pub number: String,
    pub reported_at: i64,
    pub system: String,
    pub priority: String,
    pub title: String,
    pub source: String,
    pub status: String,
    /// Minutes from report to resolution, when resolved.
    pub minutes: Option<i64>,
}

/// One line of the change list.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeLine {
    pub number: String,
    pub reported_at: i64,
    pub system: String,
    pub change_type: String,
    pub title: String,
    pub status: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OmFigures {
    pub current: Indicators,
    pub previous: Indicators,
    /// Tickets by kind label (故障, 服务请求/咨询, 问题, 变更), in that order.
    pub by_kind: Vec<(String, i64)>,
    /// Incidents by priority, P1 to P4 (zeros kept).
    pub incidents_by_priority: Vec<(String, i64)>,
    /// Incidents by source label, most first.
    pub incidents_by_source: Vec<(String, i64)>,
    /// Incidents by category, most first ("未分类" for none).
    pub incidents_by_category: Vec<(String, i64)>,
    /// Systems with the most incidents, most first, at most ten.
    pub top_systems: Vec<(String, i64)>,
    /// Share of incidents found by monitoring or inspection (异常主动发现率).
    pub proactive_share: Option<f64>,
    pub incidents: Vec<IncidentLine>,
    pub changes: Vec<ChangeLine>,
    pub systems: Vec<SystemUptimeView>,
    /// Mean availability of the monitored systems that have a measurement.
    pub availability_mean: Option<f64>,
    pub systems_measured: usize,
    pub systems_total: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct SystemUptimeView {
    pub name: String,
    pub monitors: usize,
    pub availability: Option<f64>,
    pub down_minutes: i64,
    pub unknown_minutes: i64,
}

fn label(choices: &[Choice], code: &str) -> String {
    choices
        .iter()
        .find(|c| c.code == code)
        .map_or_else(|| code.to_string(), |c| c.label.to_string())
}

fn most_first(m: BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = m.into_iter().collect();
    // Stable on the name for equal counts (BTreeMap order).
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v
}

const NO_SYSTEM: &str = "（未指定系统）";

/// The report's figures. `previous` are the indicators' rows of the period before.
pub fn figures(
    tickets: &[TicketFact],
    previous: &[StatRow],
    systems: &[SystemUptime],
) -> OmFigures {
    let rows: Vec<&StatRow> = tickets.iter().map(|t| &t.stat).collect();
    let prev: Vec<&StatRow> = previous.iter().collect();
    let incidents: Vec<&TicketFact> = tickets
        .iter()
        .filter(|t| t.stat.kind == "incident" && t.stat.status != "canceled")
        .collect();
    let by_kind = KINDS
        .iter()
        .map(|k| {
            (
                k.label.to_string(),
                tickets.iter().filter(|t| t.stat.kind == k.code).count() as i64,
            )
        })
        .collect();
    let incidents_by_priority = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                incidents.iter().filter(|t| t.stat.priority == *p).count() as i64,
            )
        })
        .collect();
    let mut by_source = BTreeMap::new();
    let mut by_category = BTreeMap::new();
    let mut by_system = BTreeMap::new();
    for t in &incidents {
        *by_source.entry(label(SOURCES, &t.source)).or_insert(0) += 1;
        let cat = t
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or("未分类");
        *by_category.entry(cat.to_string()).or_insert(0) += 1;
        *by_system
            .entry(t.stat.system.clone().unwrap_or_else(|| NO_SYSTEM.into()))
            .or_insert(0) += 1;
    }
    let proactive = incidents
        .iter()
        .filter(|t| matches!(t.source.as_str(), "monitoring" | "inspection"))
        .count();
    let mut top_systems = most_first(by_system);
    top_systems.truncate(10);
    let status = |s: &str| label(STATUSES, s);
    let incident_lines = incidents
        .iter()
        .map(|t| IncidentLine {
            number: t.number.clone(),
            reported_at: t.stat.reported_at,
            system: t.stat.system.clone().unwrap_or_else(|| NO_SYSTEM.into()),
            priority: t.stat.priority.clone(),
            title: t.title.clone(),
            source: label(SOURCES, &t.source),
            status: status(&t.stat.status),
            minutes: t
                .stat
                .resolved_at
                .map(|r| (r - t.stat.reported_at).max(0) / 60_000),
        })
        .collect();
    let changes = tickets
        .iter()
        .filter(|t| t.stat.kind == "change" && t.stat.status != "canceled")
        .map(|t| ChangeLine {
            number: t.number.clone(),
            reported_at: t.stat.reported_at,
            system: t.stat.system.clone().unwrap_or_else(|| NO_SYSTEM.into()),
            change_type: t
                .change_type
                .as_deref()
                .map_or_else(|| "其他".to_string(), |c| label(CHANGE_TYPES, c)),
            title: t.title.clone(),
            status: status(&t.stat.status),
        })
        .collect();
    let measured: Vec<f64> = systems.iter().filter_map(|s| s.availability).collect();
    OmFigures {
        current: indicators(&rows),
        previous: indicators(&prev),
        by_kind,
        incidents_by_priority,
        incidents_by_source: most_first(by_source),
        incidents_by_category: most_first(by_category),
        top_systems,
        proactive_share: (!incidents.is_empty()).then(|| proactive as f64 / incidents.len() as f64),
        incidents: incident_lines,
        changes,
        systems: systems
            .iter()
            .map(|s| SystemUptimeView {
                name: s.name.clone(),
                monitors: s.monitors,
                availability: s.availability,
                down_minutes: s.down_minutes,
                unknown_minutes: s.unknown_minutes,
            })
            .collect(),
        availability_mean: (!measured.is_empty())
            .then(|| measured.iter().sum::<f64>() / measured.len() as f64),
        systems_measured: measured.len(),
        systems_total: systems.len(),
    }
}

/// One month of a longer period: its label (2025-11) and its [from, to) in ms.
#[derive(Clone, Debug)]
pub struct Month {
    pub label: String,
    pub from: i64,
    pub to: i64,
}

/// The indicators of the tickets reported in each month.
pub fn by_month(tickets: &[TicketFact], months: &[Month]) -> Vec<(String, Indicators)> {
    months
        .iter()
        .map(|m| {
            let rows: Vec<&StatRow> = tickets
                .iter()
                .map(|t| &t.stat)
                .filter(|r| r.reported_at >= m.from && r.reported_at < m.to)
                .collect();
            (m.label.clone(), indicators(&rows))
        })
        .collect()
}

/// The tickets of one scope of the 年终总结报告: the systems' (those naming a system) or
/// the infrastructure's (the machine room and devices: those naming none).
pub fn of_scope(tickets: Vec<TicketFact>, systems: bool) -> Vec<TicketFact> {
    tickets
        .into_iter()
        .filter(|t| t.stat.system.is_some() == systems)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, priority: &str, status: &str, reported: i64) -> StatRow {
        StatRow {
            kind: kind.into(),
            status: status.into(),
            priority: priority.into(),
            system: Some("环境监测系统".into()),
            assignee: None,
            reported_at: reported,
            first_response_at: Some(reported + 10 * 60_000),
            onsite_at: None,
            resolved_at: (status == "resolved").then_some(reported + 90 * 60_000),
            reopen_count: 0,
            sla_breached: false,
            satisfaction: None,
            onsite_waived: false,
            onsite_target_min: None,
        }
    }

    fn fact(
        kind: &str,
        priority: &str,
        status: &str,
        source: &str,
        cat: Option<&str>,
    ) -> TicketFact {
        TicketFact {
            stat: row(kind, priority, status, 1_000_000),
            number: format!("X-{kind}-{priority}"),
            title: "门户无法访问".into(),
            source: source.into(),
            category: cat.map(Into::into),
            change_type: (kind == "change").then(|| "upgrade".into()),
        }
    }

    #[test]
    fn incidents_are_counted_by_priority_source_category_and_system() {
        let t = vec![
            fact("incident", "P1", "resolved", "monitoring", Some("网络")),
            fact("incident", "P3", "assigned", "phone", None),
            fact("incident", "P3", "canceled", "phone", None),
            fact("request", "P4", "resolved", "portal", None),
            fact("change", "P3", "closed", "api", None),
        ];
        let sys = vec![
            SystemUptime {
                name: "A".into(),
                monitors: 2,
                availability: Some(0.99),
                down_minutes: 14,
                unknown_minutes: 0,
            },
            SystemUptime {
                name: "B".into(),
                monitors: 1,
                availability: Some(1.0),
                down_minutes: 0,
                unknown_minutes: 0,
            },
            SystemUptime {
                name: "C".into(),
                monitors: 0,
                availability: None,
                down_minutes: 0,
                unknown_minutes: 0,
            },
        ];
        let f = figures(&t, &[], &sys);
        assert_eq!(
            f.incidents_by_priority,
            vec![
                ("P1".into(), 1),
                ("P2".into(), 0),
                ("P3".into(), 1),
                ("P4".into(), 0)
            ]
        );
        assert_eq!(
            f.incidents_by_source,
            vec![("电话".into(), 1), ("监控告警".into(), 1)]
        );
        assert_eq!(
            f.incidents_by_category,
            vec![("未分类".into(), 1), ("网络".into(), 1)]
        );
        assert_eq!(f.top_systems, vec![("环境监测系统".into(), 2)]);
        assert_eq!(f.proactive_share, Some(0.5));
        assert_eq!(f.incidents.len(), 2);
        assert_eq!(f.incidents[0].minutes, Some(90));
        assert_eq!(f.incidents[1].minutes, None);
        assert_eq!(f.changes.len(), 1);
        assert_eq!(f.changes[0].change_type, "系统升级");
        assert_eq!(f.by_kind[0], ("故障".into(), 3));
        assert_eq!(f.by_kind[3], ("变更".into(), 1));
        assert_eq!(f.systems_measured, 2);
        assert_eq!(f.systems_total, 3);
        assert!((f.availability_mean.unwrap() - 0.995).abs() < 1e-9);
        // The indicators are desk_stats' own.
        assert_eq!(f.current.tickets, 5);
        assert_eq!(f.current.incidents, 3);
        assert_eq!(f.previous.tickets, 0);
    }

    #[test]
    fn months_count_their_own_tickets_and_scopes_split_on_the_system() {
        let mut a = fact("incident", "P1", "resolved", "phone", None);
        a.stat.reported_at = 100;
        let mut b = fact("request", "P4", "new", "portal", None);
        b.stat.reported_at = 250;
        b.stat.system = None;
        let months = [
            Month {
                label: "2025-01".into(),
                from: 0,
                to: 200,
            },
            Month {
                label: "2025-02".into(),
                from: 200,
                to: 300,
            },
        ];
        let m = by_month(&[a.clone(), b.clone()], &months);
        assert_eq!(m[0].0, "2025-01");
        assert_eq!((m[0].1.tickets, m[0].1.incidents), (1, 1));
        assert_eq!((m[1].1.tickets, m[1].1.incidents), (1, 0));
        assert_eq!(of_scope(vec![a.clone(), b.clone()], true).len(), 1);
        assert_eq!(of_scope(vec![a, b], false)[0].stat.kind, "request");
    }

    #[test]
    fn an_empty_month_has_no_rates() {
        let f = figures(&[], &[], &[]);
        assert_eq!(f.proactive_share, None);
        assert_eq!(f.availability_mean, None);
        assert!(f.incidents.is_empty() && f.changes.is_empty());
        assert_eq!(f.current.sla_compliance, None);
    }
}
