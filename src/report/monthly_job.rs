//! The monthly report job: on the 1st (Beijing), last month's documents, each made once.

use chrono::Datelike;

use super::{
    Format, Period, PeriodInput, ReportKind, ReportRequest, Scope, generate, params_of, period,
};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};

/// The advisory lock under which one replica at a time runs [`monthly`] on PostgreSQL.
const MONTHLY_LOCK: i64 = 0x7975_6e77_6569_7270; // "yunweirp"

/// The job: from the 1st of a month (Beijing), last month's 《月度巡检报告》 for the
/// infrastructure and the systems, as DOCX and XLSX, once each, for a scope that had
/// inspections that month, and 《云资源利用率月度情况报表》 once that month's cloud
/// utilisation has been imported; 《备份监督月报》 when a backup policy existed that
/// month; the 统计报表 of the lines that deliver one, last month's
/// or, in the first month of a quarter, the quarter before's as the line's cadence says
/// (`statistics_job`). Answers how many it made. On a PostgreSQL database shared by
/// replicas, one replica at a time checks and generates (an advisory lock), so that two
/// never make the same document.
pub async fn monthly(ctx: &Ctx) -> AppResult<usize> {
    // One pass at a time within this process, too.
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = IN_PROCESS.lock().await;
    if ctx.store.backend() != crate::store::Backend::Postgres {
        return monthly_unlocked(ctx).await;
    }
    let Some(lock) = ctx.store.try_advisory_lock(MONTHLY_LOCK).await? else {
        return Ok(0);
    };
    let made = monthly_unlocked(ctx).await;
    lock.release(MONTHLY_LOCK).await;
    made
}

/// Whether a report of `req`'s kind, period start, format and parameters exists.
pub(super) async fn already_made(ctx: &Ctx, req: &ReportRequest) -> AppResult<bool> {
    let p = period(&req.period).map_err(|m| AppError::invalid("period", m))?;
    Ok(ctx
        .store
        .report_exists(
            req.kind.as_str(),
            p.from.timestamp_millis(),
            req.format.as_str(),
            &params_of(req).to_string(),
        )
        .await?)
}

/// Makes `req` unless `already_made`; answers 1 when it made one.
pub(super) async fn make_once(ctx: &Ctx, who: &AuthUser, req: &ReportRequest) -> AppResult<usize> {
    if already_made(ctx, req).await? {
        return Ok(0);
    }
    generate(ctx, who, req).await?;
    Ok(1)
}

/// The period a job's `label` (`2025-11`, `2025-Q4`) names.
pub(super) fn labelled(label: &str) -> AppResult<Period> {
    period(&PeriodInput::Text(label.to_string())).map_err(|m| AppError::invalid("period", m))
}

/// Whether service line `line_id` kept work records in `p`.
pub(super) async fn line_has_records(ctx: &Ctx, line_id: i64, p: &Period) -> AppResult<bool> {
    let (from_ms, to_ms) = (p.from.timestamp_millis(), p.to.timestamp_millis());
    Ok(!ctx
        .store
        .work_record_facts(line_id, from_ms, to_ms)
        .await?
        .is_empty())
}

/// A request of `kind` over the period `label` in `format` with the given scope and line.
pub(super) fn request(
    kind: ReportKind,
    label: &str,
    format: Format,
    scope: Option<Scope>,
    line_id: Option<i64>,
) -> ReportRequest {
    ReportRequest {
        kind,
        period: PeriodInput::Text(label.to_string()),
        format,
        scope,
        plan_id: None,
        line_id,
        system_id: None,
    }
}

async fn monthly_unlocked(ctx: &Ctx) -> AppResult<usize> {
    let today = ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .date_naive();
    let Some(last) = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
    else {
        return Ok(0);
    };
    let label = last.format("%Y-%m").to_string();
    let p = labelled(&label)?;
    let who = AuthUser::system("reports");
    let mut made = 0;
    for scope in [Scope::Infrastructure, Scope::Systems] {
        let types: &[&str] = match scope {
            Scope::Infrastructure => &["site", "asset"],
            Scope::Systems => &["system"],
        };
        // No inspections in that month, no document.
        let none = ctx
            .store
            .inspection_tasks_for_report(
                p.from.timestamp_millis(),
                p.to.timestamp_millis(),
                types,
                None,
            )
            .await?
            .is_empty();
        if none {
            continue;
        }
        for format in [Format::Docx, Format::Xlsx] {
            let req = request(
                ReportKind::InspectionMonthly,
                &label,
                format,
                Some(scope),
                None,
            );
            made += make_once(ctx, &who, &req).await?;
        }
    }
    // 《运维月报》 (DOCX and XLSX) of last month, once, when the desk had tickets that month.
    let had_tickets = ctx
        .store
        .any_ticket_reported(p.from.timestamp_millis(), p.to.timestamp_millis())
        .await?;
    if had_tickets {
        for format in [Format::Docx, Format::Xlsx] {
            let req = request(ReportKind::OmMonthly, &label, format, None, None);
            made += make_once(ctx, &who, &req).await?;
        }
    }
    // 《云资源利用率月度情况报表》 once last month's utilisation has been imported.
    if ctx.store.cloud_period_count(&label).await? > 0 {
        for format in [Format::Docx, Format::Xlsx] {
            let req = request(ReportKind::CloudUtilization, &label, format, None, None);
            made += make_once(ctx, &who, &req).await?;
        }
    }
    // 《备份监督月报》 (DOCX and XLSX) of last month, once, when a backup policy existed
    // in it.
    let month_end = p.to.timestamp_millis();
    let (policies, _) = ctx
        .store
        .backup_policies(&crate::store::backup::PolicyFilter::default(), 100_000, 0)
        .await?;
    if policies.iter().any(|p| p.created_at < month_end) {
        for format in [Format::Docx, Format::Xlsx] {
            let req = request(ReportKind::BackupMonthly, &label, format, None, None);
            made += make_once(ctx, &who, &req).await?;
        }
    }
    made += super::statistics_job::statistics(ctx, &who, today).await?;
    // The 运营月报 of every service line with records that month (DOCX).
    for line in ctx.store.service_lines().await? {
        if !line_has_records(ctx, line.id, &p).await? {
            continue;
        }
        let req = request(
            ReportKind::LineMonthly,
            &label,
            Format::Docx,
            None,
            Some(line.id),
        );
        made += make_once(ctx, &who, &req).await?;
    }
    Ok(made)
}
