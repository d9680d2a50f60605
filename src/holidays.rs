//! Holiday arrangements of the working-hours calendars, for the API, the pages and the
//! CLI: importing a year's arrangement (preview, confirmation when the year already has
//! days, audit), adding the shipped years a database lacks at start, and the December
//! warning when next year has no arrangement yet.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::calendar::{CN_ARRANGEMENTS, DayOverride, arrangement_overrides};
use crate::domain::holidays::{self as hd, Diff, HolidayRow, ParseError};
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult};
use crate::store::Actor;
use crate::store::audit::NewAuditEvent;
use crate::store::desk::CalendarRow;

/// What an import request asks for.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// Only compute the diff.
    pub dry_run: bool,
    /// Apply even though the years concerned already have days.
    pub confirm: bool,
    /// The `base` of the preview that was confirmed: refused if the calendar changed since.
    pub base: Option<String>,
    /// The file name for the audit record, when `file_name` is not the user's (a page
    /// confirms the rows of its preview as JSON).
    pub label: Option<String>,
}

#[derive(Debug)]
pub enum ImportOutcome {
    /// A dry run: nothing changed.
    Preview(Diff),
    /// Applied (an empty diff changes nothing and is not audited).
    Applied(Diff),
    /// The years concerned already have days and `confirm` was not given: nothing changed.
    NeedsConfirmation(Diff),
}

/// Maps a parse failure to the HTTP edge: 413 for an oversized file, else 422 naming
/// every bad row and column.
pub fn parse_error(e: ParseError) -> AppError {
    match e {
        ParseError::TooLarge(m) => AppError::PayloadTooLarge(m),
        ParseError::Rows(errors) => AppError::Unprocessable {
            code: "import_failed",
            message: ParseError::Rows(errors.clone()).summary(),
            details: json!({"errors": errors}),
        },
    }
}

fn span(rows: &[HolidayRow]) -> Option<(NaiveDate, NaiveDate)> {
    let first = rows.iter().map(|r| r.date.year()).min()?;
    let last = rows.iter().map(|r| r.date.year()).max()?;
    Some((
        NaiveDate::from_ymd_opt(first, 1, 1)?,
        NaiveDate::from_ymd_opt(last, 12, 31)?,
    ))
}

/// The working-hours calendar the import goes to, or why not.
async fn target(ctx: &Ctx, u: &AuthUser, calendar_id: i64) -> AppResult<CalendarRow> {
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    let row = ctx.store.calendar_row(calendar_id).await?;
    if row.kind == "always" {
        return Err(AppError::Conflict(
            "7×24 日历没有节假日，请导入到工作时间日历".into(),
        ));
    }
    Ok(row)
}

/// Imports a holiday arrangement file (CSV or JSON) into a working-hours calendar.
/// Bad rows change nothing (422 naming row and column); a year that already has days is
/// only changed with `confirm`; an applied change is one transaction with its audit record.
pub async fn import(
    ctx: &Ctx,
    u: &AuthUser,
    calendar_id: i64,
    file_name: &str,
    data: &[u8],
    req: &ImportRequest,
) -> AppResult<ImportOutcome> {
    let cal = target(ctx, u, calendar_id).await?;
    let rows = hd::parse(data, file_name).map_err(parse_error)?;
    let Some((from, to)) = span(&rows) else {
        return Err(parse_error(ParseError::Rows(vec![])));
    };
    if req.dry_run {
        let existing = ctx
            .store
            .calendar_days_between(None, calendar_id, from, to)
            .await?;
        return Ok(ImportOutcome::Preview(hd::diff(&existing, &rows)));
    }
    let mut tx = ctx.store.write_tx().await?;
    let existing = ctx
        .store
        .calendar_days_between(Some(&mut tx), calendar_id, from, to)
        .await?;
    let diff = hd::diff(&existing, &rows);
    if let Some(base) = req.base.as_deref().filter(|b| !b.is_empty())
        && base != diff.base
    {
        return Err(AppError::Conflict(
            "预览之后日历已被修改，请重新上传文件核对差异后再确认".into(),
        ));
    }
    if diff.needs_confirmation && !req.confirm {
        return Ok(ImportOutcome::NeedsConfirmation(diff));
    }
    if diff.is_empty() {
        return Ok(ImportOutcome::Applied(diff));
    }
    let days: Vec<(NaiveDate, DayOverride)> = rows
        .iter()
        .map(|r| {
            (
                r.date,
                DayOverride {
                    working: r.working,
                    reason: r.reason.clone(),
                },
            )
        })
        .collect();
    ctx.store
        .replace_calendar_days(&mut tx, calendar_id, &diff.years, &days)
        .await?;
    let years: Vec<String> = diff
        .years
        .iter()
        .chain(diff.merged_years.iter())
        .map(i32::to_string)
        .collect();
    NewAuditEvent::of("import", "calendars", calendar_id, format!(
                "日历“{}”导入 {} 年节假日安排：{}（文件 {}）",
                cal.name,
                years.join("、"),
                diff.counts_text(),
                req.label
                    .as_deref()
                    .unwrap_or(file_name)
                    .chars()
                    .take(100)
                    .collect::<String>()
            )).before(json!({"removed": diff.to_json()["removed"], "changed": diff.to_json()["changed"]})).after(json!({"years": diff.years, "merged_years": diff.merged_years,
                "added": diff.added.len(), "changed": diff.changed.len(), "removed": diff.removed.len()}))
.write_and_commit(tx, ctx.clock.now_ms(), &u.actor())
    .await?;
    ctx.store.forget_calendars();
    Ok(ImportOutcome::Applied(diff))
}

/// Adds every shipped year (see `CN_ARRANGEMENTS`) that a working-hours calendar has no
/// day of, so an install made by an older release gets the years this release knows.
/// A year with any day (shipped, edited or imported) is left exactly as it is.
/// Returns the (calendar, year) pairs added.
pub async fn add_shipped_years(ctx: &Ctx) -> anyhow::Result<Vec<(i64, i32)>> {
    let mut added = Vec::new();
    for cal in ctx.store.list_calendars().await? {
        if cal.kind != "working_hours" {
            continue;
        }
        for a in CN_ARRANGEMENTS {
            let (Some(from), Some(to)) = (
                NaiveDate::from_ymd_opt(a.year, 1, 1),
                NaiveDate::from_ymd_opt(a.year, 12, 31),
            ) else {
                continue;
            };
            // Most starts find every year present: check without taking the write lock.
            if !ctx
                .store
                .calendar_days_between(None, cal.id, from, to)
                .await?
                .is_empty()
            {
                continue;
            }
            let mut tx = ctx.store.write_tx().await?;
            if !ctx
                .store
                .calendar_days_between(Some(&mut tx), cal.id, from, to)
                .await?
                .is_empty()
            {
                continue;
            }
            let n = ctx
                .store
                .add_missing_calendar_days(&mut tx, cal.id, &arrangement_overrides(a))
                .await?;
            if n > 0 {
                NewAuditEvent::of(
                    "import",
                    "calendars",
                    cal.id,
                    format!(
                        "日历“{}”补充内置的 {} 年节假日安排（{}），{n} 天",
                        cal.name, a.year, a.source
                    ),
                )
                .after(json!({"years": [a.year], "added": n, "source": a.source}))
                .write(&mut tx, ctx.clock.now_ms(), &Actor::system("holidays"))
                .await?;
                added.push((cal.id, a.year));
                tracing::info!(
                    calendar = cal.id,
                    year = a.year,
                    days = n,
                    "added a shipped holiday year"
                );
            }
            tx.commit().await?;
        }
    }
    if !added.is_empty() {
        ctx.store.forget_calendars();
    }
    Ok(added)
}

/// The service calendars as the API and the calendar page list them (staff only).
pub struct CalendarOverview {
    pub calendars: Vec<CalendarRow>,
    /// The years each calendar has a holiday schedule for.
    pub years: BTreeMap<i64, Vec<i32>>,
    /// Shown while next year's schedule is missing.
    pub warning: Option<String>,
}

/// The calendars, their years and the missing-schedule warning, for the service's staff.
pub async fn calendar_overview(ctx: &Ctx, u: &AuthUser) -> AppResult<CalendarOverview> {
    if u.role == crate::domain::roles::Role::Requester {
        return Err(AppError::forbidden());
    }
    Ok(CalendarOverview {
        calendars: ctx.store.list_calendars().await?,
        years: years_by_calendar(ctx).await?,
        warning: next_year_warning(ctx).await?,
    })
}

/// Years that hold at least one day, per calendar id.
pub async fn years_by_calendar(ctx: &Ctx) -> AppResult<BTreeMap<i64, Vec<i32>>> {
    let mut out: BTreeMap<i64, Vec<i32>> = BTreeMap::new();
    for (cal, year, _) in ctx.store.calendar_year_counts().await? {
        out.entry(cal).or_default().push(year);
    }
    Ok(out)
}

/// From 1 December (Beijing time), the warning that next year has no holiday arrangement
/// in some working-hours calendar; `None` before December or when every one has it.
pub async fn next_year_warning(ctx: &Ctx) -> AppResult<Option<String>> {
    let today = ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .date_naive();
    if today.month() != 12 {
        return Ok(None);
    }
    let next = today.year() + 1;
    let years = years_by_calendar(ctx).await?;
    let missing: Vec<String> = ctx
        .store
        .list_calendars()
        .await?
        .into_iter()
        .filter(|c| c.kind == "working_hours")
        .filter(|c| !years.get(&c.id).is_some_and(|ys| ys.contains(&next)))
        .map(|c| format!("“{}”", c.name))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "{next} 年的节假日安排尚未导入：工作日历{} 还没有 {next} 年的放假与调休安排，{next} 年的 SLA 将只按周一至周五计时。国务院办公厅发布通知后，请在“工作日历”页面上传导入，或运行 yunwei calendar import 文件。",
        missing.join("、")
    )))
}

/// One day of a holiday arrangement in a JSON import (`POST /calendars/{id}/import`); the
/// OpenAPI document's schema. The file is parsed by `domain::holidays`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayRowInput {
    #[schema(format = Date)]
    pub date: String,
    /// `true` / 上班 (a working weekend day) or `false` / 休息 (a holiday).
    pub working: serde_json::Value,
    #[schema(max_length = 100)]
    pub reason: String,
}
