//! The monthly job's quarterly part: in January, April, July and October, the 统计报表
//! (`line_statistics`, DOCX and XLSX) of the quarter before for every service line whose
//! statistics cadence is quarterly (`report_cadence = "quarterly"`, 4.2.16 in the demo
//! after the seed's 数据统计季报) and that kept records in that quarter; once each.

use chrono::{Datelike, NaiveDate};

use super::{Format, PeriodInput, ReportKind, ReportRequest, generate, params_of, period};
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

/// Makes the quarter's missing 统计报表; answers how many.
pub(super) async fn statistics(ctx: &Ctx, who: &AuthUser, today: NaiveDate) -> AppResult<usize> {
    let Some(label) = previous_quarter(today) else {
        return Ok(0);
    };
    let p =
        period(&PeriodInput::Text(label.clone())).map_err(|m| AppError::invalid("period", m))?;
    let (from_ms, to_ms) = (p.from.timestamp_millis(), p.to.timestamp_millis());
    let mut made = 0;
    for line in ctx.store.service_lines().await? {
        if line.report_cadence != "quarterly"
            || ctx
                .store
                .work_record_facts(line.id, from_ms, to_ms)
                .await?
                .is_empty()
        {
            continue;
        }
        for format in [Format::Docx, Format::Xlsx] {
            let req = ReportRequest {
                kind: ReportKind::LineStatistics,
                period: PeriodInput::Text(label.clone()),
                format,
                scope: None,
                plan_id: None,
                line_id: Some(line.id),
                system_id: None,
            };
            let exists = ctx
                .store
                .report_exists(
                    req.kind.as_str(),
                    from_ms,
                    format.as_str(),
                    &params_of(&req).to_string(),
                )
                .await?;
            if exists {
                continue;
            }
            match generate(ctx, who, &req).await {
                Ok(_) => made += 1,
                // A quarter over the records one report reads: said in the log, and the
                // other lines' reports still made.
                Err(AppError::Validation(errs)) => {
                    let why: Vec<String> = errs.into_iter().map(|e| e.message).collect();
                    tracing::warn!(line = %line.code, period = %label, reason = %why.join("；"),
                        "quarterly statistics report not made");
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
