//! The deliverables calendar (交付物日历): what is overdue, due this week and due this
//! month, with each instance's status (`contract::deliverables::due_between`).

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::domain::deliverables::Area;
use crate::error::AppError;
use crate::store::contract::DeliverableRow;
use crate::web::AppState;
use crate::web::auth::PageUser;

fn row(d: &DeliverableRow, i: &Value) -> Value {
    let owner = match (&d.line_code, &d.line_name) {
        (Some(c), Some(n)) => format!("{c} {n}"),
        _ => Area::parse(&d.area).map_or("", Area::label).to_string(),
    };
    json!({
        "due_date": i["due_date"], "section": d.section, "name": d.name, "owner": owner,
        "label": i["label"], "status": i["status"], "status_label": i["status_label"],
        "source": if d.report_kind.is_some() { "系统生成" } else { "上传" },
    })
}

pub async fn calendar(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    crate::contract::check_read(&u)?;
    let today = st.ctx.clock.today();
    let week_start = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let week_end = week_start + Duration::days(6);
    let month_start = today.with_day(1).unwrap_or(today);
    let month_end = month_start
        .checked_add_months(chrono::Months::new(1))
        .map_or(today, |n: NaiveDate| n - Duration::days(1));
    let layout = layout(&u, "交付物日历", "/deliverables");
    let (s, due) =
        match crate::contract::deliverables::due_between(&st.ctx, None, week_end.max(month_end))
            .await
        {
            Ok(x) => x,
            Err(AppError::Conflict(m)) => {
                return Ok(st
                    .ui
                    .page("deliverables.html", json!({"layout": layout, "missing": m}))?
                    .into_response());
            }
            Err(e) => return Err(e.into()),
        };
    let date = |i: &Value| {
        i["due_date"]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let pick = |f: &dyn Fn(NaiveDate, &Value) -> bool| -> Vec<Value> {
        due.iter()
            .filter(|(_, i)| date(i).is_some_and(|d| f(d, i)))
            .map(|(d, i)| row(d, i))
            .collect()
    };
    let overdue = pick(&|_, i| i["status"] == "overdue");
    let week = pick(&|d, _| d >= week_start && d <= week_end);
    let month = pick(&|d, _| d >= month_start && d <= month_end);
    let registered = st.ctx.store.all_deliverables().await?.len();
    let sections = json!([
        {"id": "overdue", "title": "逾期未交", "items": overdue, "empty": "没有逾期的交付物。"},
        {"id": "week", "title": format!("本周到期（{week_start} 至 {week_end}）"), "items": week, "empty": "本周没有到期的交付物。"},
        {"id": "month", "title": format!("本月到期（{} 年 {} 月）", month_start.year(), month_start.month()), "items": month, "empty": "本月没有到期的交付物。"},
    ]);
    Ok(st
        .ui
        .page(
            "deliverables.html",
            json!({"layout": layout, "sections": sections, "today": s.today.to_string(), "registered": registered}),
        )?
        .into_response())
}

/// The 符合性审查 checklist (`/acceptance?period=om|operations|all`): per area the
/// deliverables due, accepted and open, the open instances, the team compliance checks and
/// the package's download.
pub async fn acceptance(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    let sc = crate::contract::acceptance::scope(q.get("period").map(String::as_str))?;
    let layout = layout(&u, "符合性审查", "/acceptance");
    let s = match crate::contract::acceptance::overview(&st.ctx, &u, sc).await {
        Ok(s) => s,
        Err(AppError::Conflict(m)) => {
            return Ok(st
                .ui
                .page("acceptance.html", json!({"layout": layout, "missing": m}))?
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(st
        .ui
        .page(
            "acceptance.html",
            json!({"layout": layout, "s": s, "period": sc.as_str()}),
        )?
        .into_response())
}
