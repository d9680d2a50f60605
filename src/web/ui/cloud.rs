//! The cloud resources page (云资源利用率, service line 4.2.14.3): a month's utilisation
//! per system with its idle and over-used flags at the configured thresholds, the trend
//! against the previous months (a chart and a table of the same figures), the month's
//! resources, the import of an export (CSV/XLSX) and the way to its monthly report. Calls
//! the same `crate::cloud` use cases as the API.

use std::collections::HashMap;

use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::cloud::{self, ListQuery};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::auth::PageUser;

/// How many of the month's resources the page lists.
const ROWS_SHOWN: i64 = 500;

/// Last month in Beijing time, `YYYY-MM`: the month a monthly export is about.
fn last_month(st: &AppState) -> String {
    let today = st.ctx.clock.today();
    today
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(today)
        .format("%Y-%m")
        .to_string()
}

fn num(v: &Value, k: &str) -> Value {
    v.get(k).cloned().unwrap_or(Value::Null)
}

/// The chart's figures and the table of the same: each month (the previous ones, oldest
/// first, then `period`), the average CPU use of every system and the average CPU and
/// memory use of all resources. Written into the page with `tojson`.
fn trend(summary: &Value) -> Value {
    let empty = Vec::new();
    let total_trend = summary["total_trend"].as_array().unwrap_or(&empty);
    let mut months: Vec<Value> = total_trend.iter().map(|p| num(p, "period")).collect();
    months.push(num(summary, "period"));
    let mut series = vec![
        json!({"name": "全部资源 平均 CPU", "data": total_trend.iter().map(|p| num(p, "cpu_avg"))
            .chain([num(&summary["total"], "cpu_avg")]).collect::<Vec<_>>()}),
        json!({"name": "全部资源 平均内存", "data": total_trend.iter().map(|p| num(p, "mem_avg"))
            .chain([num(&summary["total"], "mem_avg")]).collect::<Vec<_>>()}),
    ];
    for s in summary["systems"].as_array().unwrap_or(&empty) {
        let name = s["system_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("系统 {}", s["system_id"]));
        let data: Vec<Value> = s["trend"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|p| num(p, "cpu_avg"))
            .chain([num(s, "cpu_avg")])
            .collect();
        series.push(json!({"name": format!("{name} 平均 CPU"), "data": data}));
    }
    json!({"months": months, "series": series})
}

/// The page for `period`, with what an import answered (`notice`, or its refusal and the
/// bad rows) and the status to answer with.
async fn render(
    st: &AppState,
    u: &AuthUser,
    period: &str,
    notice: Option<String>,
    import_error: Option<String>,
    import_rows: Vec<Value>,
    status: StatusCode,
) -> PageResult {
    let summary = cloud::summary(&st.ctx, u, period).await?;
    let period = summary["period"].as_str().unwrap_or(period).to_string();
    let q = ListQuery {
        period: Some(period.clone()),
        system_id: None,
        flag: None,
    };
    let (rows, total, t) = cloud::list(&st.ctx, u, q, ROWS_SHOWN, 0).await?;
    let resources: Vec<Value> = rows.iter().map(|r| cloud::row_json(r, &t)).collect();
    let may_import = cloud::check_write(u).is_ok();
    let mut r = st
        .ui
        .page(
            "cloud.html",
            json!({"layout": layout(u, "云资源利用率", "/cloud"), "period": period,
                   "summary": summary, "trend": trend(&summary), "resources": resources,
                   "total": total, "rows_shown": ROWS_SHOWN, "may_import": may_import,
                   "notice": notice, "import_error": import_error,
                   "import_rows": import_rows}),
        )?
        .into_response();
    *r.status_mut() = status;
    Ok(r)
}

pub async fn page(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    cloud::check_read(&u)?;
    let period = q
        .get("period")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| last_month(&st));
    render(&st, &u, &period, None, None, Vec::new(), StatusCode::OK).await
}

/// `POST /cloud/import` (multipart, the file in `file`, the month shown in `period`): the
/// page again with what was imported, or with every bad row and column (422, nothing
/// imported).
pub async fn import(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    mut mp: Multipart,
) -> PageResult {
    cloud::check_write(&u)?;
    let too_big = || {
        AppError::PayloadTooLarge(format!(
            "文件过大，最大 {} MB",
            st.config.max_import_bytes / 1024 / 1024
        ))
    };
    let mut file = None;
    let mut period = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(too_big().into()),
        };
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let data = field.bytes().await.map_err(|_| too_big())?;
                if data.len() > st.config.max_import_bytes {
                    return Err(too_big().into());
                }
                file = Some((name, data));
            }
            Some("period") => {
                let v = field.text().await.unwrap_or_default();
                period = Some(v.trim().chars().take(20).collect::<String>());
            }
            _ => {}
        }
    }
    let shown = period
        .filter(|p| crate::domain::cloud::parse_period(p).is_some())
        .unwrap_or_else(|| last_month(&st));
    let Some((name, data)) = file.filter(|(_, d)| !d.is_empty()) else {
        let msg = "请选择要导入的 CSV 或 XLSX 文件".to_string();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&st, &u, &shown, None, Some(msg), Vec::new(), status).await;
    };
    match cloud::import(&st.ctx, &u, &name, &data).await {
        Ok(v) => {
            // Show the latest month of the file.
            let month = v["periods"]
                .as_object()
                .and_then(|m| m.keys().next_back().cloned())
                .unwrap_or(shown);
            let msg = v["message"].as_str().map(str::to_string);
            render(&st, &u, &month, msg, None, Vec::new(), StatusCode::OK).await
        }
        Err(AppError::Unprocessable {
            message, details, ..
        }) => {
            let rows = details
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&st, &u, &shown, None, Some(message), rows, status).await
        }
        Err(e @ AppError::Validation(_)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&st, &u, &shown, None, Some(e.message()), Vec::new(), status).await
        }
        Err(e) => Err(e.into()),
    }
}
