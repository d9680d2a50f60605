//! The ticket list's query: its filters and the period of statistics and exports, from
//! query-string values, for the API, the pages and the export alike.

use std::collections::HashMap;

use chrono::Datelike;

use crate::Ctx;
use crate::domain::tickets as tk;
use crate::error::{AppError, AppResult};
use crate::store::desk::TicketFilter;

/// An RFC 3339 time or a `YYYY-MM-DD` date (Beijing midnight).
fn time_param(name: &str, v: &str) -> AppResult<i64> {
    crate::clock::parse_time_or_date(v).ok_or_else(|| {
        AppError::invalid(
            name,
            format!(
                "{name} 应为 RFC 3339 时间（如 2025-01-01T00:00:00+08:00）或日期（2025-01-01）"
            ),
        )
    })
}

/// The end of a period: a time as given, or a date meaning "through that day" (the pages
/// and the statistics show the end day as included, so the list and the export must too).
fn end_param(v: &str) -> AppResult<i64> {
    let t = time_param("to", v)?;
    Ok(
        if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
            t + 86_400_000
        } else {
            t
        },
    )
}

/// The ticket list's filters (also those of the export) from query-string values.
pub fn ticket_filter(q: &HashMap<String, String>) -> AppResult<TicketFilter> {
    let get = |k: &str| {
        q.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut f = TicketFilter {
        q: get("q"),
        ..Default::default()
    };
    if let Some(s) = get("status") {
        for part in s.split(',') {
            let code = tk::choice(tk::STATUSES, part)
                .ok_or_else(|| AppError::invalid("status", format!("状态“{part}”无效")))?;
            f.status.push(code.into());
        }
    }
    f.open_only = get("open").as_deref() == Some("true");
    if let Some(k) = get("kind") {
        f.kind = Some(
            tk::choice(tk::KINDS, &k)
                .ok_or_else(|| AppError::invalid("kind", format!("工单类型“{k}”无效")))?
                .into(),
        );
    }
    if let Some(p) = get("priority") {
        f.priority = Some(
            tk::choice(tk::PRIORITIES, &p)
                .ok_or_else(|| AppError::invalid("priority", "优先级应为 P1–P4"))?
                .into(),
        );
    }
    if let Some(s) = get("source") {
        f.source = Some(
            tk::choice(tk::SOURCES, &s)
                .ok_or_else(|| AppError::invalid("source", format!("来源“{s}”无效")))?
                .into(),
        );
    }
    let id = |k: &str| -> AppResult<Option<i64>> {
        get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| AppError::invalid(k, format!("{k} 应为编号")))
            })
            .transpose()
    };
    f.system_id = id("system_id")?;
    f.assignee_id = id("assignee_id")?;
    f.requester_id = id("requester_id")?;
    f.from_ms = get("from").map(|v| time_param("from", &v)).transpose()?;
    f.to_ms = get("to").map(|v| end_param(&v)).transpose()?;
    f.breached = match get("breached").as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::invalid("breached", "breached 应为 true 或 false")),
    };
    Ok(f)
}

/// The period of a stats or export request: `from`/`to` dates or times; default the
/// current month (Beijing).
pub fn period(ctx: &Ctx, q: &HashMap<String, String>) -> AppResult<(i64, i64)> {
    let now = ctx.clock.now().with_timezone(&crate::clock::beijing());
    let first = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default();
    let default_from = first.format("%Y-%m-%d").to_string();
    let from = time_param(
        "from",
        q.get("from").map(String::as_str).unwrap_or(&default_from),
    )?;
    let to = match q.get("to") {
        Some(t) => end_param(t)?,
        None => ctx.clock.now_ms() + 1,
    };
    if to <= from || to - from > 3 * 366 * 86_400_000 {
        return Err(AppError::invalid("to", "to 应晚于 from，且区间不超过 3 年"));
    }
    Ok((from, to))
}
