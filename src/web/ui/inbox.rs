//! In-app messages (站内消息) and the holiday calendar editor.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, PageUserAnyState, staff_only};
use crate::web::extract::parse_id;

pub async fn messages(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    q.entry("limit".into()).or_insert_with(|| "30".into());
    let p = Paging::from_query(&q)?;
    let unread_only = q.get("unread").map(String::as_str) == Some("true");
    let (rows, total, unread) =
        crate::notify::inbox::messages(&st, &u, unread_only, p.limit, p.offset).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "subject": r.subject, "body": r.body, "ticket_id": r.ticket_id, "read": r.read_at.is_some(),
                   "at": crate::clock::local_minutes(r.created_at)})
        })
        .collect();
    Ok(st
        .ui
        .page(
            "messages.html",
            json!({"layout": layout(&u, "消息", "/messages"), "items": items, "total": total, "unread": unread,
                   "unread_only": unread_only, "offset": p.offset, "limit": p.limit}),
        )?
        .into_response())
}

/// The unread count for the top bar, fetched by htmx.
/// Answers plain text whatever the session state, so htmx never swaps a login or
/// password page into the top bar.
pub async fn badge(
    State(st): State<AppState>,
    user: Result<
        PageUserAnyState,
        <PageUserAnyState as axum::extract::FromRequestParts<AppState>>::Rejection,
    >,
) -> PageResult {
    let Ok(PageUserAnyState(u)) = user else {
        return Ok(Html("消息".to_string()).into_response());
    };
    let n = crate::notify::inbox::unread(&st, &u).await?;
    let html = if n > 0 {
        format!(
            "消息<span class=\"badge\" id=\"unread\">{}</span>",
            n.min(99)
        )
    } else {
        "消息".to_string()
    };
    Ok(Html(html).into_response())
}

/// Opens a message: marks it read and goes to its ticket.
pub async fn open(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
) -> PageResult {
    let to = crate::notify::inbox::open(&st, &u, parse_id(&id)?)
        .await?
        .map(|t| format!("/tickets/{t}"))
        .unwrap_or_else(|| "/messages".into());
    Ok(Redirect::to(&to).into_response())
}

pub async fn read_all(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
) -> PageResult {
    crate::notify::inbox::mark_all_read(&st, &u).await?;
    Ok(Redirect::to("/messages").into_response())
}

pub async fn calendars(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    let crate::holidays::CalendarOverview {
        calendars: rows,
        years,
        warning,
    } = crate::holidays::calendar_overview(&st.ctx, &u).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "name": r.name, "kind": if r.kind == "always" { "7×24" } else { "工作时间" },
                   "always": r.kind == "always", "years": years.get(&r.id).cloned().unwrap_or_default(),
                   "periods": r.periods, "description": r.description})
        })
        .collect();
    Ok(st
        .ui
        .page(
            "calendars.html",
            json!({"layout": layout(&u, "工作日历", "/calendars"), "items": items, "warning": warning}),
        )?
        .into_response())
}

#[allow(clippy::too_many_arguments)]
async fn render_calendar(
    st: &AppState,
    u: &AuthUser,
    id: i64,
    year: i32,
    error: &str,
    form: Value,
    status: StatusCode,
    imported: &str,
) -> PageResult {
    staff_only(u)?;
    let row = st.store.calendar_row(id).await?;
    let cal = st.store.calendar(id).await?;
    let always = row.kind == "always";
    let mut months = Vec::new();
    let mut special = Vec::new();
    for m in 1..=12u32 {
        let Some(first) = NaiveDate::from_ymd_opt(year, m, 1) else {
            continue;
        };
        // Leading blanks so that the grid starts on Monday.
        let mut cells: Vec<Value> = (0..first.weekday().num_days_from_monday())
            .map(|_| Value::Null)
            .collect();
        let mut d = first;
        while d.month() == m {
            let working = always || cal.is_working_day(d);
            let reason = if always {
                String::new()
            } else {
                cal.day_reason(d)
            };
            let weekend = d.weekday().num_days_from_monday() >= 5;
            let off = cal.overrides.contains_key(&d);
            if off {
                special.push(json!({"date": d.to_string(), "working": working, "reason": reason}));
            }
            cells.push(
                json!({"day": d.day(), "date": d.to_string(), "working": working, "reason": reason,
                              "override": off, "weekend": weekend}),
            );
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        months.push(json!({"month": m, "cells": cells}));
    }
    let can_edit = u.role.can(Perm::WriteInventory) && !always;
    let warning = if always {
        None
    } else {
        crate::holidays::next_year_warning(&st.ctx).await?
    };
    let html = st.ui.page(
        "calendar.html",
        json!({"layout": layout(u, &row.name, "/calendars"), "cal": {"id": row.id, "name": row.name, "periods": row.periods,
               "description": row.description, "always": always}, "year": year, "prev": year - 1, "next": year + 1,
               "months": months, "special": special, "can_edit": can_edit, "error": error, "form": form,
               "warning": warning, "imported": imported}),
    )?;
    Ok((status, html).into_response())
}

pub(super) fn year_of(q: &HashMap<String, String>, now_ms: i64) -> Result<i32, AppError> {
    match q.get("year").map(String::as_str) {
        None | Some("") => Ok(chrono::DateTime::from_timestamp_millis(now_ms)
            .map(|t| t.with_timezone(&crate::clock::beijing()).year())
            .unwrap_or(2026)),
        Some(s) => s
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| AppError::invalid("year", "年份应为 2000 到 2100 之间的整数")),
    }
}

pub async fn calendar(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let year = year_of(&q, st.clock.now_ms())?;
    // `imported=added,changed,removed` after a confirmed holiday import.
    let imported = q
        .get("imported")
        .and_then(|s| {
            let n: Vec<usize> = s
                .split(',')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            match n.as_slice() {
                [a, c, r] => Some(format!("新增 {a} 天、修改 {c} 天、删除 {r} 天")),
                _ => None,
            }
        })
        .unwrap_or_default();
    render_calendar(&st, &u, id, year, "", json!({}), StatusCode::OK, &imported).await
}

/// Sets one day: `date`, `mode` = holiday | workday | default, `reason`.
pub async fn set_day(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let date = form.get("date").cloned().unwrap_or_default();
    let year = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map(|d| d.year())
        .unwrap_or_else(|_| year_of(&HashMap::new(), st.clock.now_ms()).unwrap_or(2026));
    let working = match form.get("mode").map(String::as_str) {
        Some("holiday") => Ok(Some(false)),
        Some("workday") => Ok(Some(true)),
        Some("default") => Ok(None),
        _ => Err(AppError::invalid(
            "mode",
            "请选择放假、调休上班或恢复按星期",
        )),
    };
    let reason = form.get("reason").cloned().unwrap_or_default();
    let result = match working {
        Ok(working) => {
            let input = crate::domain::tickets::input::CalendarDayInput {
                working,
                reason: Some(reason),
            };
            crate::desk::set_calendar_day(&st.ctx, &u, id, &date, &input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/calendars/{id}?year={year}&saved={date}")).into_response())
        }
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let status = e.status();
            render_calendar(&st, &u, id, year, &e.message(), json!(form), status, "").await
        }
        Err(e) => Err(e.into()),
    }
}
