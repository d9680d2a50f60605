//! A line's indicators month by month: the figures of `GET /service-lines/{id}/stats` over
//! each calendar month (Beijing time) of a period, cut to the period at both ends. The
//! line page's charts and the period summary (`line_summary`) read them, so that a month's
//! figure in either equals what the API answers for that month.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::LineIndicators;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};

/// Most months one call counts (a five-year range is 61 at most).
pub const MAX_MONTHS: usize = 72;

/// One month of a period.
pub struct MonthIndicators {
    /// `YYYY-MM`.
    pub month: String,
    pub ind: LineIndicators,
}

/// The Beijing calendar months meeting `[from, to)`, each as (label, start, end) cut to
/// the period.
pub fn month_spans(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    let bj = crate::clock::beijing();
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| bj.from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
    };
    let local = from.with_timezone(&bj).date_naive();
    let mut first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1);
    let mut out = Vec::new();
    while let Some(m) = first {
        let Some(ms) = start(m) else { break };
        if ms >= to || out.len() >= MAX_MONTHS {
            break;
        }
        let next = m.checked_add_months(chrono::Months::new(1));
        let Some(me) = next.and_then(start) else {
            break;
        };
        out.push((m.format("%Y-%m").to_string(), ms.max(from), me.min(to)));
        first = next;
    }
    out
}

/// The line's indicators of every month of `[from, to)`, oldest first.
pub async fn monthly(
    ctx: &Ctx,
    u: &AuthUser,
    line_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<MonthIndicators>> {
    let spans = month_spans(from, to);
    if spans.len() >= MAX_MONTHS {
        return Err(AppError::invalid(
            "period",
            format!("按月统计的期间不能超过 {MAX_MONTHS} 个月"),
        ));
    }
    let mut out = Vec::with_capacity(spans.len());
    for (month, a, b) in spans {
        let ind = super::indicators(ctx, u, line_id, a, b).await?;
        out.push(MonthIndicators { month, ind });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bj(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        crate::clock::beijing()
            .with_ymd_and_hms(y, m, d, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn months_are_beijing_calendar_months_cut_to_the_period() {
        let s = month_spans(bj(2025, 1, 1), bj(2026, 1, 1));
        assert_eq!(s.len(), 12);
        assert_eq!(s[0].0, "2025-01");
        assert_eq!(s[11].0, "2025-12");
        assert_eq!(s[1].1, bj(2025, 2, 1));
        assert_eq!(s[11].2, bj(2026, 1, 1));
        let r = month_spans(bj(2025, 10, 15), bj(2025, 12, 3));
        let labels: Vec<&str> = r.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(labels, ["2025-10", "2025-11", "2025-12"]);
        assert_eq!((r[0].1, r[2].2), (bj(2025, 10, 15), bj(2025, 12, 3)));
        assert!(month_spans(bj(2025, 1, 1), bj(2025, 1, 1)).is_empty());
    }
}
