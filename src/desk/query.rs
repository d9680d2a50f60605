//! The ticket list's query: its filters and the period of statistics and exports, from
//! query-string values, for the API, the pages and the export alike.

use std::collections::HashMap;

use chrono::Datelike;

use crate::Ctx;
use crate::domain::tickets as tk;
use crate::error::{AppError, AppResult};
use crate::store::desk::TicketFilter;

use crate::clock::parse_time_param as time_param;

/// The end of a period: a time as given, or a date meaning "through that day" (the pages
/// and the statistics show the end day as included, so the list and the export must too).
pub fn end_param(v: &str) -> AppResult<i64> {
    let t = time_param("to", v)?;
    Ok(
        if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
            t + 86_400_000
        } else {
            t
        },
    )
}

/// A query-string value, trimmed; blank means "not given".
pub fn given<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The choices of a list filter as its message names them: "a、b、c".
pub fn choices(all: impl IntoIterator<Item = &'static str>) -> String {
    all.into_iter().collect::<Vec<_>>().join("、")
}

/// An optional choice from the query string as stored: `parse` gives the stored text
/// of a known choice; any other text is "没有`what` …，可选：`choices`" on field `k`.
pub fn opt_choice(
    q: &HashMap<String, String>,
    k: &str,
    parse: impl Fn(&str) -> Option<&'static str>,
    what: &str,
    choices: &str,
) -> AppResult<Option<String>> {
    match given(q, k) {
        None => Ok(None),
        Some(s) => parse(s)
            .map(|v| Some(v.to_string()))
            .ok_or_else(|| AppError::invalid(k, format!("没有{what} {s}，可选：{choices}"))),
    }
}

/// An optional positive id from the query string (`k` names it in the message).
pub fn opt_id(q: &HashMap<String, String>, k: &str) -> AppResult<Option<i64>> {
    match given(q, k) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|i| *i > 0)
            .map(Some)
            .ok_or_else(|| AppError::invalid(k, format!("{k} 应为正整数编号"))),
    }
}

/// An optional `from`/`to` range of a list filter, `to` as in [`end_param`]; when both
/// are given, `to` must be later.
pub fn opt_range(q: &HashMap<String, String>) -> AppResult<(Option<i64>, Option<i64>)> {
    let from = given(q, "from")
        .map(|v| time_param("from", v))
        .transpose()?;
    let to = given(q, "to").map(end_param).transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && b <= a
    {
        return Err(AppError::invalid("to", "to 应晚于 from"));
    }
    Ok((from, to))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field(e: AppError) -> (String, String) {
        match e {
            AppError::Validation(mut v) => {
                let f = v.remove(0);
                (f.field, f.message)
            }
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn an_optional_id_is_a_positive_number_and_blank_is_none() {
        assert_eq!(opt_id(&q(&[]), "plan_id").unwrap(), None);
        assert_eq!(opt_id(&q(&[("plan_id", " ")]), "plan_id").unwrap(), None);
        assert_eq!(opt_id(&q(&[("plan_id", "7")]), "plan_id").unwrap(), Some(7));
        for bad in ["0", "-1", "x"] {
            let (f, m) = field(opt_id(&q(&[("plan_id", bad)]), "plan_id").unwrap_err());
            assert_eq!(
                (f.as_str(), m.as_str()),
                ("plan_id", "plan_id 应为正整数编号")
            );
        }
    }

    #[test]
    fn an_optional_range_takes_a_date_as_through_that_day_and_must_be_ordered() {
        assert_eq!(opt_range(&q(&[])).unwrap(), (None, None));
        let (from, to) = opt_range(&q(&[("from", "2026-01-01"), ("to", "2026-01-01")])).unwrap();
        assert_eq!(to.unwrap() - from.unwrap(), 86_400_000);
        let (f, m) = field(
            opt_range(&q(&[
                ("from", "2026-01-02"),
                ("to", "2026-01-01T00:00:00Z"),
            ]))
            .unwrap_err(),
        );
        assert_eq!((f.as_str(), m.as_str()), ("to", "to 应晚于 from"));
        let (f, _) = field(opt_range(&q(&[("from", "tomorrow")])).unwrap_err());
        assert_eq!(f, "from");
    }
}
