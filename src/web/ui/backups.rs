//! The backups page (备份监督, issue 14): a month's coverage per system and data set as
//! `GET /backups/coverage` counts it, its totals, a per-day heat map (ECharts, with a
//! plain table of the same days for readers without scripts), the month's recent runs
//! with their flags and the policies with their schedule, target and retention. Calls
//! the same `crate::backup` use cases as the API.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::backup::coverage::{self, size_label, totals};
use crate::backup::{policies, runs};
use crate::domain::backup_eval::DayStatus;
use crate::store::backup::PolicyFilter;
use crate::store::backup_runs::RunFilter;
use crate::web::AppState;
use crate::web::auth::PageUser;

/// How many of the month's runs the page lists (newest first).
const RUNS_SHOWN: i64 = 100;

/// The statuses in the heat map's order, its colour scale's values.
const STATUSES: [DayStatus; 6] = [
    DayStatus::Ok,
    DayStatus::Partial,
    DayStatus::Failed,
    DayStatus::Missed,
    DayStatus::None,
    DayStatus::Future,
];

/// The heat map's figures: the rows (system and data set), the days (1..), and each
/// cell as `[day index, row index, status index]`; the statuses with their labels.
fn heat(items: &[Value]) -> Value {
    let empty = Vec::new();
    let rows: Vec<String> = items
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["system_name"].as_str().unwrap_or_default(),
                v["data_set"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let days: Vec<String> = items
        .first()
        .and_then(|v| v["days"].as_array())
        .unwrap_or(&empty)
        .iter()
        .map(|d| {
            d["date"]
                .as_str()
                .and_then(|s| s.get(8..))
                .unwrap_or_default()
                .trim_start_matches('0')
                .to_string()
        })
        .collect();
    let mut cells = Vec::new();
    for (r, v) in items.iter().enumerate() {
        for (c, d) in v["days"].as_array().unwrap_or(&empty).iter().enumerate() {
            let s = STATUSES
                .iter()
                .position(|s| d["status"] == s.as_str())
                .unwrap_or(4);
            cells.push(json!([c, r, s]));
        }
    }
    json!({
        "rows": rows, "days": days, "cells": cells,
        "statuses": STATUSES.iter().map(|s| json!({"key": s.as_str(), "label": s.label()})).collect::<Vec<_>>(),
    })
}

/// Beijing's current month, `YYYY-MM`.
fn this_month(st: &AppState) -> String {
    st.ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .format("%Y-%m")
        .to_string()
}

pub async fn page(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let month = q
        .get("month")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| this_month(&st));
    let cov = coverage::coverage(&st.ctx, &u, &month).await?;
    let month = cov["month"].as_str().unwrap_or(&month).to_string();
    let mut items = cov["items"].as_array().cloned().unwrap_or_default();
    for v in &mut items {
        let days: Vec<Value> = v["days"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut d| {
                let label = STATUSES
                    .iter()
                    .find(|s| d["status"] == s.as_str())
                    .map_or("", |s| s.label());
                d["label"] = json!(label);
                d
            })
            .collect();
        v["days"] = json!(days);
        v["volume_label"] = json!(size_label(v["volume_bytes"].as_i64().unwrap_or(0)));
        v["success_rate_label"] = json!(crate::report::om::ratio(v["success_rate"].as_f64()));
        if let Some(s) = v["last_good_run"]["size_bytes"].as_i64() {
            v["last_good_run"]["size_label"] = json!(size_label(s));
        }
        let status = if v["due"].as_i64().unwrap_or(0) == 0 {
            ("未到期", "")
        } else if v["missed"].as_i64().unwrap_or(0) > 0 || v["failed"].as_i64().unwrap_or(0) > 0 {
            ("有失败或漏备", "expired")
        } else {
            ("正常", "valid")
        };
        v["status_label"] = json!(status.0);
        v["status_class"] = json!(status.1);
    }
    let (from, to) = coverage::month_bounds(&month)?;
    let (rows, runs_total) = runs::list(
        &st.ctx,
        &u,
        RunFilter {
            from_ms: Some(from),
            to_ms: Some(to),
            ..Default::default()
        },
        RUNS_SHOWN,
        0,
    )
    .await?;
    let flags = runs::flags_of(&st.ctx, &rows).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let demo = super::demo::demo_ids(&st, "backup_runs", &ids).await?;
    let recent: Vec<Value> = rows
        .iter()
        .zip(&flags)
        .map(|(r, f)| {
            let mut v = runs::run_json(r, f);
            v["demo"] = json!(demo.contains(&r.id));
            v["started_local"] = json!(crate::clock::local_minutes(r.started_at));
            v["size_label"] = json!(r.size_bytes.map(size_label));
            v
        })
        .collect();
    let (pols, _) = policies::list(&st.ctx, &u, PolicyFilter::default(), 10_000, 0).await?;
    let pols: Vec<Value> = pols
        .iter()
        .map(|p| {
            let mut v = policies::policy_json(p);
            v["expected_label"] = json!(match (p.expected_min_bytes, p.expected_max_bytes) {
                (Some(a), Some(b)) => format!("{} – {}", size_label(a), size_label(b)),
                (Some(a), None) => format!("≥ {}", size_label(a)),
                (None, Some(b)) => format!("≤ {}", size_label(b)),
                (None, None) => "不限".into(),
            });
            v
        })
        .collect();
    Ok(st
        .ui
        .page(
        "backups.html",
        json!({"layout": layout(&u, "备份监督", "/backups"), "month": month,
               "items": items, "totals": totals(&items), "heat": heat(&items),
               "runs": recent, "runs_total": runs_total, "runs_shown": RUNS_SHOWN,
               "policies": pols,
               "statuses": STATUSES.iter().map(|s| json!({"key": s.as_str(), "label": s.label()})).collect::<Vec<_>>()}),
        )?
        .into_response())
}
