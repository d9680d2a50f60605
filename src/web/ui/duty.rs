//! The duty roster page (值班表): who is on call now, a week grid (people × days) and a
//! month grid (a calendar) of the shifts; managers add, delete, copy a week to a later one
//! and swap two shifts' people through the forms under the grid (plain forms that work
//! without JavaScript; `duty.js` fills them from a click in the grid).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::domain::monitor::roster::{beijing_date, beijing_midnight, monday_of};
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::monitor::duty;
use crate::monitor::input::{CopyWeekInput, ShiftInput, ShiftRole, SwapInput};
use crate::store::monitor::ShiftRow;
use crate::web::AppState;
use crate::web::auth::{PageUser, QUERY_VALUE, require_perm, same_origin};
use crate::web::extract::parse_id;

const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const DAY: i64 = 86_400_000;

fn hm(ms: i64) -> String {
    crate::clock::local_seconds(ms)
        .get(11..16)
        .unwrap_or_default()
        .to_string()
}

fn md(ms: i64) -> String {
    crate::clock::local_seconds(ms)
        .get(5..16)
        .unwrap_or_default()
        .to_string()
}

fn role_label(role: &str) -> &'static str {
    if role == "primary" {
        "主班"
    } else {
        "备班"
    }
}

/// A shift as a chip of the grid.
fn chip(s: &ShiftRow, names: &HashMap<i64, String>, now: i64) -> Value {
    let start_day = beijing_date(s.starts_at);
    let end_day = beijing_date(s.ends_at - 1);
    let to = if end_day == start_day {
        hm(s.ends_at)
    } else if end_day == start_day + Duration::days(1) {
        format!("次日 {}", hm(s.ends_at))
    } else {
        md(s.ends_at)
    };
    json!({"id": s.id, "user_id": s.user_id, "name": names.get(&s.user_id).cloned().unwrap_or_else(|| format!("用户 #{}", s.user_id)),
           "from": hm(s.starts_at), "to": to, "role": s.role, "role_label": role_label(&s.role), "note": s.note,
           "now": s.starts_at <= now && s.ends_at > now,
           "label": format!("#{} {} {} 至 {} {}", s.id, names.get(&s.user_id).map(String::as_str).unwrap_or("?"),
                            md(s.starts_at), md(s.ends_at), role_label(&s.role))})
}

/// The roster's view (`month`, else `week`) and the date asked for, from the page's query
/// or from a roster form (which carries the view and date it was posted from).
fn view_and_date(q: &HashMap<String, String>) -> (&'static str, Option<NaiveDate>) {
    let view = if q.get("view").map(String::as_str) == Some("month") {
        "month"
    } else {
        "week"
    };
    let date = q
        .get("date")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    (view, date)
}

fn link(view: &str, date: NaiveDate) -> String {
    format!("/duty?view={view}&date={date}")
}

pub async fn page(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ReadMonitoring)?;
    let now = st.clock.now_ms();
    let today = beijing_date(now);
    let (view, date) = view_and_date(&q);
    let anchor = date.unwrap_or(today);
    let can_write = u.role.can(Perm::ManageIntegrations);
    // The days shown: one week from Monday, or the whole weeks around a month.
    let (first, days, prev, next, heading) = if view == "week" {
        let monday = monday_of(anchor);
        let sunday = monday + Duration::days(6);
        (
            monday,
            7,
            monday - Duration::days(7),
            monday + Duration::days(7),
            format!("{monday} 至 {sunday}"),
        )
    } else {
        let month_start = anchor.with_day(1).unwrap_or(anchor);
        let next_month = (month_start + Duration::days(32))
            .with_day(1)
            .unwrap_or(month_start);
        let prev_month = (month_start - Duration::days(1))
            .with_day(1)
            .unwrap_or(month_start);
        let grid_start = monday_of(month_start);
        let grid_end = monday_of(next_month - Duration::days(1)) + Duration::days(7);
        (
            grid_start,
            (grid_end - grid_start).num_days(),
            prev_month,
            next_month,
            format!("{} 年 {} 月", month_start.year(), month_start.month()),
        )
    };
    let from = beijing_midnight(first);
    let to = from + days * DAY;
    let (rows, _) = duty::shifts(&st.ctx, Some(from), Some(to)).await?;
    let on_call = duty::on_call_now(&st.ctx, now).await?;
    let (users, _) = st.store.list_users(None, None, 1000, 0).await?;
    let names: HashMap<i64, String> = users
        .iter()
        .map(|r| (r.id, r.display_name.clone()))
        .collect();
    let staff: Vec<Value> = users
        .iter()
        .filter(|r| {
            ["engineer", "operator", "manager"].contains(&r.role.as_str()) && r.disabled == 0
        })
        .map(|r| json!({"id": r.id, "name": r.display_name}))
        .collect();
    // Shifts by the Beijing day they start.
    let mut by_day: HashMap<NaiveDate, Vec<&ShiftRow>> = HashMap::new();
    for s in &rows {
        by_day.entry(beijing_date(s.starts_at)).or_default().push(s);
    }
    let dates: Vec<NaiveDate> = (0..days).map(|i| first + Duration::days(i)).collect();
    let header: Vec<Value> = dates
        .iter()
        .take(7)
        .map(|d| {
            json!({"date": d.to_string(), "weekday": WEEKDAYS[d.weekday().num_days_from_monday() as usize],
                   "md": format!("{}-{:02}", d.month(), d.day()), "today": *d == today})
        })
        .collect();
    let add_url = |user: Option<i64>, d: NaiveDate| {
        let mut s = format!("{}&new_day={d}", link(view, anchor));
        if let Some(u) = user {
            s.push_str(&format!("&new_user={u}"));
        }
        s + "#new-shift"
    };
    // Week grid: one row per person on the roster this week, then (for editors) everyone
    // else who may hold a shift, so that any cell can get one.
    let mut people: Vec<i64> = Vec::new();
    for s in &rows {
        if !people.contains(&s.user_id) {
            people.push(s.user_id);
        }
    }
    people.sort_by_key(|id| names.get(id).cloned().unwrap_or_default());
    if can_write {
        for p in &staff {
            if let Some(id) = p["id"].as_i64()
                && !people.contains(&id)
            {
                people.push(id);
            }
        }
    }
    let week_rows: Vec<Value> = if view == "week" {
        people
            .iter()
            .map(|uid| {
                let cells: Vec<Value> = dates
                    .iter()
                    .map(|d| {
                        let shifts: Vec<Value> = by_day
                            .get(d)
                            .map(|v| {
                                v.iter()
                                    .filter(|s| s.user_id == *uid)
                                    .map(|s| chip(s, &names, now))
                                    .collect()
                            })
                            .unwrap_or_default();
                        json!({"date": d.to_string(), "today": *d == today, "shifts": shifts,
                               "add": add_url(Some(*uid), *d)})
                    })
                    .collect();
                json!({"user_id": uid, "name": names.get(uid).cloned().unwrap_or_else(|| format!("用户 #{uid}")), "cells": cells})
            })
            .collect()
    } else {
        vec![]
    };
    let month_weeks: Vec<Value> = if view == "month" {
        dates
            .chunks(7)
            .map(|w| {
                let cells: Vec<Value> = w
                    .iter()
                    .map(|d| {
                        let shifts: Vec<Value> = by_day
                            .get(d)
                            .map(|v| v.iter().map(|s| chip(s, &names, now)).collect())
                            .unwrap_or_default();
                        json!({"date": d.to_string(), "day": d.day(), "today": *d == today,
                               "in_month": d.month() == anchor.month(), "shifts": shifts, "add": add_url(None, *d)})
                    })
                    .collect();
                json!({"monday": w[0].to_string(), "cells": cells})
            })
            .collect()
    } else {
        vec![]
    };
    let all: Vec<Value> = rows.iter().map(|s| chip(s, &names, now)).collect();
    // The add form, filled from a grid cell's link (or by duty.js without a reload).
    let new_day = q
        .get("new_day")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let new_shift = json!({"user_id": q.get("new_user").cloned().unwrap_or_default(),
        "starts_at": new_day.map(|d| format!("{d}T08:00")).unwrap_or_default(),
        "ends_at": new_day.map(|d| format!("{}T08:00", d + Duration::days(1))).unwrap_or_default()});
    let on_call: Vec<Value> = on_call
        .iter()
        .map(|o| json!({"name": o.name, "role": role_label(&o.role), "from": md(o.starts_at), "to": md(o.ends_at)}))
        .collect();
    Ok(st
        .ui
        .page(
            "duty.html",
            json!({"layout": layout(&u, "值班表", "/duty"), "view": view, "date": anchor.to_string(), "heading": heading,
                   "prev": link(view, prev), "next": link(view, next), "this": link(view, today),
                   "week_link": link("week", anchor), "month_link": link("month", anchor),
                   "copy_week": if view == "week" { first.to_string() } else { monday_of(anchor).to_string() },
                   "header": header, "week_rows": week_rows, "month_weeks": month_weeks, "shifts": all,
                   "staff": staff, "on_call": on_call, "new_shift": new_shift, "now": crate::clock::local_seconds(now),
                   "can_write": can_write, "error": q.get("error"), "notice": q.get("notice")}),
        )?
        .into_response())
}

/// Where a roster form goes back to: the view and date it was posted from.
fn back(form: &HashMap<String, String>, key: &str, msg: &str) -> Redirect {
    let (view, date) = view_and_date(form);
    let date = date.map(|d| format!("&date={d}")).unwrap_or_default();
    Redirect::to(&format!(
        "/duty?view={view}{date}&{key}={}",
        percent_encoding::utf8_percent_encode(msg, QUERY_VALUE)
    ))
}

/// A service error for the roster's forms: validation messages go back to the page.
fn outcome<T>(
    form: &HashMap<String, String>,
    r: Result<T, AppError>,
    done: impl FnOnce(T) -> String,
) -> PageResult {
    match r {
        Ok(v) => Ok(back(form, "notice", &done(v)).into_response()),
        Err(AppError::Validation(errs)) => {
            let msg: Vec<String> = errs.iter().map(|e| e.message.clone()).collect();
            Ok(back(form, "error", &msg.join("；")).into_response())
        }
        Err(e @ AppError::NotFound) => Ok(back(form, "error", &e.message()).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// A `datetime-local` value (`2025-03-03T08:00`, Beijing time) as RFC 3339; anything
/// else is passed on for the service to refuse.
fn local_time(v: Option<&String>) -> String {
    let v = v.map(|s| s.trim()).unwrap_or_default();
    NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| format!("{}+08:00", t.format("%Y-%m-%dT%H:%M:%S")))
        .unwrap_or_else(|_| v.to_string())
}

fn check_origin(headers: &HeaderMap) -> Result<(), AppError> {
    if same_origin(headers) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub async fn add(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_origin(&headers)?;
    let starts = local_time(form.get("starts_at"));
    let ends = local_time(form.get("ends_at"));
    if starts.is_empty()
        || ends.is_empty()
        || !starts.ends_with("+08:00")
        || !ends.ends_with("+08:00")
    {
        return Ok(back(&form, "error", "请填写开始和结束时间（日期和时刻）").into_response());
    }
    let Some(user_id) = form
        .get("user_id")
        .and_then(|v| v.trim().parse::<i64>().ok())
    else {
        return Ok(back(&form, "error", "请选择值班人员").into_response());
    };
    let input = ShiftInput {
        user_id,
        starts_at: starts,
        ends_at: ends,
        role: Some(if form.get("role").map(String::as_str) == Some("backup") {
            ShiftRole::Backup
        } else {
            ShiftRole::Primary
        }),
        note: form
            .get("note")
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
    };
    let r = duty::add_shift(&st.ctx, &u, input).await;
    outcome(&form, r, |s| {
        format!(
            "已排班：{} 至 {}",
            crate::clock::local_minutes(s.starts_at),
            crate::clock::local_minutes(s.ends_at)
        )
    })
}

pub async fn copy(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_origin(&headers)?;
    let weeks_ahead = form.get("weeks_ahead").and_then(|w| w.trim().parse().ok());
    let input = CopyWeekInput {
        week: form.get("week").cloned().unwrap_or_default(),
        weeks_ahead,
    };
    let r = duty::copy_week(&st.ctx, &u, input).await;
    outcome(&form, r, |o| {
        format!(
            "已把 {} 那一周的 {} 个班次复制到 {} 那一周{}",
            o.from_week,
            o.created.len(),
            o.to_week,
            if o.skipped > 0 {
                format!("（{} 个已存在或人员已停用，跳过）", o.skipped)
            } else {
                String::new()
            }
        )
    })
}

pub async fn swap(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_origin(&headers)?;
    let id = |k: &str| form.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let (Some(first), Some(second)) = (id("first"), id("second")) else {
        return Ok(back(&form, "error", "请选择要互换的两个班次").into_response());
    };
    let r = duty::swap_shifts(&st.ctx, &u, SwapInput { first, second }).await;
    outcome(&form, r, |_| "已互换两个班次的值班人员".to_string())
}

pub async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageUser(u): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_origin(&headers)?;
    let id = form.get("id").map(String::as_str).unwrap_or_default();
    let r = duty::delete_shift(&st.ctx, &u, parse_id(id)?).await;
    outcome(&form, r, |_| "已删除该班次".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datetime_local_value_is_beijing_time() {
        assert_eq!(
            local_time(Some(&"2025-03-03T08:00".to_string())),
            "2025-03-03T08:00:00+08:00"
        );
        assert_eq!(local_time(Some(&"x".to_string())), "x");
    }
}
