//! Service-desk indicators over a period, with the definitions of cn-ops §1.1:
//! MTTA = mean(first response − report), MTTR = mean(resolution − report) of incidents,
//! SLA compliance = resolved without any breached clock / resolved,
//! on-site within target = incidents on site within their target / incidents that needed
//! someone on site (not fixed remotely), first-time fix = resolved never reopened / resolved,
//! satisfaction = mean score and share of 4–5 among rated.

use std::collections::BTreeMap;

use serde::Serialize;

/// The columns of one ticket the indicators need.
#[derive(Clone, Debug)]
pub struct StatRow {
    pub kind: String,
    pub status: String,
    pub priority: String,
    pub system: Option<String>,
    pub assignee: Option<String>,
    pub reported_at: i64,
    pub first_response_at: Option<i64>,
    pub onsite_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub reopen_count: i64,
    pub sla_breached: bool,
    pub satisfaction: Option<i64>,
    pub onsite_waived: bool,
    /// The on-site target in minutes, when the ticket had one.
    pub onsite_target_min: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Indicators {
    pub tickets: i64,
    pub incidents: i64,
    pub open: i64,
    pub resolved: i64,
    /// Mean minutes to first response.
    pub mtta_minutes: Option<f64>,
    /// Mean minutes from report to resolution, incidents only.
    pub mttr_minutes: Option<f64>,
    pub sla_compliance: Option<f64>,
    pub onsite_within_target: Option<f64>,
    pub onsite_required: i64,
    pub first_time_fix: Option<f64>,
    pub satisfaction_mean: Option<f64>,
    pub satisfaction_good_share: Option<f64>,
    pub rated: i64,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub fn indicators(rows: &[&StatRow]) -> Indicators {
    let closed = |s: &str| matches!(s, "resolved" | "closed");
    let resolved: Vec<&&StatRow> = rows
        .iter()
        .filter(|r| closed(&r.status) && r.resolved_at.is_some())
        .collect();
    let mtta: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            r.first_response_at
                .map(|f| (f - r.reported_at) as f64 / 60_000.0)
        })
        .collect();
    let mttr: Vec<f64> = resolved
        .iter()
        .filter(|r| r.kind == "incident")
        .filter_map(|r| r.resolved_at.map(|t| (t - r.reported_at) as f64 / 60_000.0))
        .collect();
    let onsite_needed: Vec<&&StatRow> = rows
        .iter()
        .filter(|r| {
            r.kind == "incident"
                && r.onsite_target_min.is_some()
                && !r.onsite_waived
                && r.status != "canceled"
        })
        .filter(|r| r.onsite_at.is_some() || closed(&r.status))
        .collect();
    let onsite_ok = onsite_needed
        .iter()
        .filter(|r| match (r.onsite_at, r.onsite_target_min) {
            (Some(at), Some(m)) => at - r.reported_at <= m * 60_000,
            _ => false,
        })
        .count();
    let rated: Vec<i64> = rows.iter().filter_map(|r| r.satisfaction).collect();
    Indicators {
        tickets: rows.len() as i64,
        incidents: rows.iter().filter(|r| r.kind == "incident").count() as i64,
        open: rows
            .iter()
            .filter(|r| !closed(&r.status) && r.status != "canceled")
            .count() as i64,
        resolved: resolved.len() as i64,
        mtta_minutes: mean(&mtta),
        mttr_minutes: mean(&mttr),
        sla_compliance: ratio(
            resolved.iter().filter(|r| !r.sla_breached).count(),
            resolved.len(),
        ),
        onsite_within_target: ratio(onsite_ok, onsite_needed.len()),
        onsite_required: onsite_needed.len() as i64,
        first_time_fix: ratio(
            resolved.iter().filter(|r| r.reopen_count == 0).count(),
            resolved.len(),
        ),
        satisfaction_mean: mean(&rated.iter().map(|s| *s as f64).collect::<Vec<_>>()),
        satisfaction_good_share: ratio(rated.iter().filter(|s| **s >= 4).count(), rated.len()),
        rated: rated.len() as i64,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    pub total: Indicators,
    pub by_system: BTreeMap<String, Indicators>,
    pub by_engineer: BTreeMap<String, Indicators>,
    pub open_by_priority: BTreeMap<String, i64>,
}

pub fn overview(rows: &[StatRow]) -> Overview {
    let all: Vec<&StatRow> = rows.iter().collect();
    let mut sys: BTreeMap<String, Vec<&StatRow>> = BTreeMap::new();
    let mut eng: BTreeMap<String, Vec<&StatRow>> = BTreeMap::new();
    let mut open_by_priority: BTreeMap<String, i64> = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|p| (p.to_string(), 0))
        .collect();
    for r in rows {
        sys.entry(r.system.clone().unwrap_or_else(|| "（未指定系统）".into()))
            .or_default()
            .push(r);
        eng.entry(r.assignee.clone().unwrap_or_else(|| "（待分派）".into()))
            .or_default()
            .push(r);
        if !matches!(r.status.as_str(), "resolved" | "closed" | "canceled") {
            *open_by_priority.entry(r.priority.clone()).or_default() += 1;
        }
    }
    Overview {
        total: indicators(&all),
        by_system: sys.into_iter().map(|(k, v)| (k, indicators(&v))).collect(),
        by_engineer: eng.into_iter().map(|(k, v)| (k, indicators(&v))).collect(),
        open_by_priority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, status: &str) -> StatRow {
        StatRow {
            kind: kind.into(),
            status: status.into(),
            priority: "P3".into(),
            system: Some("OA".into()),
            assignee: Some("eng".into()),
            reported_at: 0,
            first_response_at: Some(10 * 60_000),
            onsite_at: None,
            resolved_at: None,
            reopen_count: 0,
            sla_breached: false,
            satisfaction: None,
            onsite_waived: false,
            onsite_target_min: Some(120),
        }
    }

    #[test]
    fn indicators_follow_their_definitions() {
        let mut a = row("incident", "closed");
        a.onsite_at = Some(90 * 60_000);
        a.resolved_at = Some(180 * 60_000);
        a.satisfaction = Some(5);
        let mut b = row("incident", "resolved");
        b.onsite_at = Some(150 * 60_000);
        b.resolved_at = Some(300 * 60_000);
        b.sla_breached = true;
        b.reopen_count = 1;
        b.first_response_at = Some(30 * 60_000);
        b.satisfaction = Some(3);
        let mut c = row("incident", "resolved");
        c.onsite_waived = true;
        c.resolved_at = Some(60 * 60_000);
        let d = row("request", "in_progress");
        let o = overview(&[a, b, c, d]);
        let t = &o.total;
        assert_eq!(t.tickets, 4);
        assert_eq!(t.resolved, 3);
        assert_eq!(t.open, 1);
        assert_eq!(t.mttr_minutes, Some(180.0));
        assert_eq!(t.mtta_minutes, Some(15.0));
        assert_eq!(t.onsite_required, 2);
        assert_eq!(t.onsite_within_target, Some(0.5));
        assert_eq!(t.sla_compliance, Some(2.0 / 3.0));
        assert_eq!(t.first_time_fix, Some(2.0 / 3.0));
        assert_eq!(t.satisfaction_mean, Some(4.0));
        assert_eq!(t.satisfaction_good_share, Some(0.5));
        assert_eq!(o.open_by_priority["P3"], 1);
    }
}
