//! The admin's page for the demo data: what is there, and its removal before going live
//! (the same service as `DELETE /api/v1/demo`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::demo::remove::{self, CONFIRMATION, DemoStatus, TableCount};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::auth::PageUser;

/// The Chinese name of a demo table (or of a cleared reference, `table.column`).
fn table_label(t: &str) -> String {
    let (table, column) = t.split_once('.').unwrap_or((t, ""));
    let name = match table {
        "restore_drills" => "恢复演练",
        "backup_runs" => "备份记录",
        "backup_evidence_files" => "备份证据文件",
        "work_records" => "支持服务记录",
        "inspection_findings" => "巡检问题",
        "inspection_tasks" => "巡检任务",
        "inspection_photos" => "巡检照片",
        "inspection_plans" => "巡检计划",
        "alerts" => "告警",
        "alert_events" => "告警事件",
        "tickets" => "工单",
        "ticket_events" => "工单时间线",
        "sla_clock_events" => "SLA 计时事件",
        "ticket_links" => "工单关联",
        "ticket_comments" => "工单留言",
        "worklogs" => "工时记录",
        "attachments" => "工单附件",
        "notification_outbox" => "待发通知",
        "user_messages" => "站内消息",
        "search_docs" => "搜索索引",
        "duty_shifts" => "值班",
        "monitors" => "监控项",
        "monitor_results" => "监控结果",
        "monitor_rollups" => "监控小时汇总",
        "monitor_daily" => "监控日汇总",
        "monitor_state_changes" => "监控状态变化",
        "maintenance_windows" => "维护窗口",
        "staff" => "团队成员",
        "staff_certificates" => "成员证书",
        "staff_documents" => "成员材料",
        "assignments" => "岗位安排",
        "service_lines" => "服务条线",
        "users" => "账号",
        "sessions" => "会话",
        "api_tokens" => "API 令牌",
        "password_history" => "密码历史",
        "demo_items" => "演示数据标记",
        other => other,
    };
    if column.is_empty() {
        name.to_string()
    } else {
        format!("{name}（清除对演示记录的引用）")
    }
}

fn rows_json(counts: &[TableCount]) -> Vec<Value> {
    counts
        .iter()
        .map(|c| json!({"table": c.table, "label": table_label(&c.table), "rows": c.rows}))
        .collect()
}

fn page_json(s: &DemoStatus) -> Value {
    json!({
        "loaded": s.loaded,
        "generated_at": s.generated_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| crate::clock::local_minutes(t.timestamp_millis())),
        "days": s.summary.as_ref().and_then(|v| v.get("days")).cloned(),
        "counts": rows_json(&s.counts),
        "total": s.total(),
    })
}

pub async fn page(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    let s = remove::status(&st.ctx, &u).await?;
    Ok(st
        .ui
        .page(
            "demo.html",
            json!({
                "layout": layout(&u, "演示数据", "/demo"),
                "demo": page_json(&s),
                "admin": u.role == crate::domain::roles::Role::Admin,
                "confirmation": CONFIRMATION,
                "error": Value::Null,
                "removed": Value::Null,
            }),
        )?
        .into_response())
}

pub async fn remove(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let result = remove::remove(&st.ctx, &u, form.get("confirm").map(String::as_str)).await;
    let (error, removed) = match result {
        Ok(r) => (None, Some(rows_json(&r.marked))),
        // Refusals the admin can act on are shown on the page; others as an error page.
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => (Some(e.message()), None),
        Err(e) => return Err(e.into()),
    };
    let s = remove::status(&st.ctx, &u).await?;
    // The banner follows the state after the removal, not the one the request saw.
    let mut lay = layout(&u, "演示数据", "/demo");
    if !s.loaded {
        lay.demo = None;
    }
    let refused = error.is_some();
    Ok(st.ui.form_page(
        "demo.html",
        json!({
            "layout": lay,
            "demo": page_json(&s),
            "admin": true,
            "confirmation": CONFIRMATION,
            "error": error,
            "removed": removed,
        }),
        refused,
    )?)
}

/// Whether a record shown on a page is demo data; no query when the request saw no demo
/// rows at all.
pub async fn is_demo(st: &AppState, tbl: &str, id: i64) -> Result<bool, AppError> {
    if !super::demo_loaded() {
        return Ok(false);
    }
    remove::is_demo(&st.ctx, tbl, id).await
}

/// Which of a list page's records are demo data, in one query (none when the request
/// saw no demo rows).
pub async fn demo_ids(
    st: &AppState,
    tbl: &str,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>, AppError> {
    if !super::demo_loaded() {
        return Ok(Default::default());
    }
    remove::demo_ids(&st.ctx, tbl, ids).await
}
