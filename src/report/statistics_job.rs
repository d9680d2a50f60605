//! The monthly job's statistics part: the 统计报表 (`line_statistics`, DOCX and XLSX) of
//! the lines that deliver one, over the period their cadence says, for the lines that kept
//! records in it; once each.
//! - A line whose `report_cadence` is `quarterly` (4.2.16 in the demo, after the seed's
//!   数据统计季报): in January, April, July and October, the quarter before.
//! - A monthly line whose deliverables name a 统计报表 (4.2.2, 4.2.6 and 4.2.12 in the
//!   demo): on the 1st, last month.

use chrono::{Datelike, NaiveDate};

use super::monthly_job::{already_made, labelled, line_has_records, request};
use super::{Format, ReportKind, generate};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};

/// The quarter before the one `today` (Beijing) opens, as `YYYY-Qn`, when `today` is in
/// the first month of a quarter.
pub fn previous_quarter(today: NaiveDate) -> Option<String> {
    if !matches!(today.month(), 1 | 4 | 7 | 10) {
        return None;
    }
    let last = today
        .with_day(1)?
        .checked_sub_months(chrono::Months::new(3))?;
    Some(format!("{}-Q{}", last.year(), (last.month() - 1) / 3 + 1))
}

/// Whether a line's deliverables (a JSON list of names) include a 统计报表.
pub fn delivers_statistics(deliverables: &str) -> bool {
    serde_json::from_str::<Vec<String>>(deliverables)
        .unwrap_or_default()
        .iter()
        .any(|d| d.contains("统计报表"))
}

/// Makes the missing 统计报表 due on `today` (Beijing); answers how many.
pub(super) async fn statistics(ctx: &Ctx, who: &AuthUser, today: NaiveDate) -> AppResult<usize> {
    let quarter = previous_quarter(today);
    let Some(month) = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .map(|d| d.format("%Y-%m").to_string())
    else {
        return Ok(0);
    };
    let mut made = 0;
    for line in ctx.store.service_lines().await? {
        let label = match (line.report_cadence.as_str(), &quarter) {
            ("quarterly", Some(q)) => q.clone(),
            ("quarterly", None) => continue,
            _ if delivers_statistics(&line.deliverables) => month.clone(),
            _ => continue,
        };
        let p = labelled(&label)?;
        if !line_has_records(ctx, line.id, &p).await? {
            continue;
        }
        for format in [Format::Docx, Format::Xlsx] {
            let req = request(
                ReportKind::LineStatistics,
                &label,
                format,
                None,
                Some(line.id),
            );
            if already_made(ctx, &req).await? {
                continue;
            }
            match generate(ctx, who, &req).await {
                Ok(_) => made += 1,
                // A period over the records one report reads: said in the log, and the
                // other lines' reports still made.
                Err(AppError::Validation(errs)) => {
                    let why: Vec<String> = errs.into_iter().map(|e| e.message).collect();
                    tracing::warn!(line = %line.code, period = %label, reason = %why.join("；"),
                        "statistics report not made");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_delivers_statistics_when_a_deliverable_names_a_statistics_report() {
        assert!(delivers_statistics(
            r#"["技术支持服务表", "运营服务统计报表"]"#
        ));
        assert!(!delivers_statistics(
            r#"["技术支持服务表", "数据统计季报"]"#
        ));
        assert!(!delivers_statistics("not json"));
    }

    #[test]
    fn the_first_month_of_a_quarter_names_the_quarter_before() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(previous_quarter(d(2026, 1, 1)).as_deref(), Some("2025-Q4"));
        assert_eq!(previous_quarter(d(2025, 4, 1)).as_deref(), Some("2025-Q1"));
        assert_eq!(previous_quarter(d(2025, 7, 15)).as_deref(), Some("2025-Q2"));
        assert_eq!(previous_quarter(d(2025, 10, 1)).as_deref(), Some("2025-Q3"));
        for m in [2, 3, 5, 6, 8, 9, 11, 12] {
            assert_eq!(previous_quarter(d(2025, m, 1)), None, "{m}");
        }
    }
}
