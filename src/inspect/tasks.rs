//! Inspection tasks: the list, a task with its readings and verdicts, saving readings item
//! by item, the actions (start, submit, approve, return), findings on submit, overdue
//! marking, and the indicators.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::input::{ResultsInput, TaskActionInput};
use super::{audit, check_read};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::field_error::FieldError;
use crate::domain::inspection::reading::{
    MonitorResult, assess, check_complete, check_save, fill_from_monitors, findings, from_monitor,
    photo_ids, value_of,
};
use crate::domain::inspection::stats::{Stats, TaskFact, stats};
use crate::domain::inspection::task::{Actor, TaskAction, TaskStatus, allowed_actions, transition};
use crate::domain::inspection::template::{Item, ItemKind, TargetType};
use crate::error::{AppError, AppResult};
use crate::store::inspect::{FindingRow, LatestResult, PhotoRow, TaskFilter, TaskRow};

pub(super) fn actor(u: &AuthUser, t: &TaskRow) -> Actor {
    Actor {
        role: u.role,
        is_assignee: t.assignee_id == Some(u.id),
    }
}

pub(super) fn status_of(t: &TaskRow) -> AppResult<TaskStatus> {
    TaskStatus::parse(&t.status)
        .ok_or_else(|| anyhow::anyhow!("task {} has status {}", t.id, t.status).into())
}

pub(super) fn items_of(t: &TaskRow) -> AppResult<Vec<Item>> {
    Ok(serde_json::from_str(&t.items).map_err(anyhow::Error::from)?)
}

pub(super) fn readings_of(t: &TaskRow) -> Map<String, Value> {
    serde_json::from_str(&t.readings).unwrap_or_default()
}

/// A task as the list shows it.
pub fn task_summary_json(t: &TaskRow) -> Value {
    json!({
        "id": t.id, "plan_id": t.plan_id, "template_id": t.template_id,
        "template_name": t.template_name, "target_type": t.target_type,
        "target_type_label": TargetType::parse(&t.target_type).map(TargetType::label),
        "target_id": t.target_id, "target_name": t.target_name, "system_id": t.system_id,
        "round_at": crate::clock::rfc3339(t.round_at), "due_at": crate::clock::rfc3339(t.due_at),
        "assignee_id": t.assignee_id, "assignee_name": t.assignee_name,
        "status": t.status,
        "status_label": TaskStatus::parse(&t.status).map(TaskStatus::label),
        "started_at": t.started_at.map(crate::clock::rfc3339),
        "submitted_at": t.submitted_at.map(crate::clock::rfc3339),
        "reviewed_at": t.reviewed_at.map(crate::clock::rfc3339),
        "review_comment": t.review_comment, "findings": t.findings,
    })
}

/// The monitor ids the items are bound to.
fn monitor_ids(items: &[Item]) -> Vec<i64> {
    items.iter().filter_map(|it| it.monitor_id).collect()
}

/// The latest results as the domain takes them.
fn monitor_results(
    rows: std::collections::HashMap<i64, LatestResult>,
) -> std::collections::HashMap<i64, MonitorResult> {
    rows.into_iter()
        .map(|(id, r)| {
            (
                id,
                MonitorResult {
                    monitor_id: r.monitor_id,
                    at: crate::clock::rfc3339(r.at),
                    class: r.class,
                    latency_ms: r.latency_ms,
                },
            )
        })
        .collect()
}

/// Inside a write: the items bound to a monitor without a hand reading take the monitor's
/// latest result. Answers whether any reading changed.
async fn fill_in(
    tx: &mut crate::store::Tx,
    items: &[Item],
    readings: &mut Map<String, Value>,
) -> AppResult<bool> {
    let ids = monitor_ids(items);
    if ids.is_empty() {
        return Ok(false);
    }
    let latest = crate::store::Store::latest_monitor_results_in(tx, &ids).await?;
    Ok(fill_from_monitors(
        items,
        readings,
        &monitor_results(latest),
    ))
}

/// "来自监控 · 10-15 08:00" for a reading filled in from a monitor.
fn source_label(v: &Value) -> Option<String> {
    if !from_monitor(v) {
        return None;
    }
    let at = v["at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| crate::clock::local_minutes(d.timestamp_millis()));
    Some(match at {
        Some(at) => format!("来自监控 · {at}"),
        None => "来自监控".to_string(),
    })
}

/// A task with its items, readings, each item's verdict and the actions the user may take.
/// `readings` are the task's, with monitor evidence filled in while it is editable; a photo
/// item lists its photos.
pub fn task_json(
    u: &AuthUser,
    t: &TaskRow,
    found: &[FindingRow],
    readings: &Map<String, Value>,
    photos: &[PhotoRow],
) -> AppResult<Value> {
    let items = items_of(t)?;
    let rows: Vec<Value> = items
        .iter()
        .map(|it| {
            let raw = readings.get(&it.key).cloned().unwrap_or(Value::Null);
            let v = value_of(&raw).clone();
            let a = assess(it, &raw);
            let ids = if it.kind == ItemKind::Photo {
                photo_ids(&v)
            } else {
                Vec::new()
            };
            let item_photos: Vec<Value> = ids
                .iter()
                .filter_map(|id| photos.iter().find(|p| p.id == *id))
                .map(super::photos::photo_json)
                .collect();
            json!({
                "key": it.key, "label": it.label, "kind": it.kind, "subsystem": it.subsystem,
                "method": it.method, "unit": it.unit, "min": it.min, "max": it.max,
                "count": it.count, "max_spread": it.max_spread, "choices": it.choices,
                "abnormal_choices": it.abnormal_choices, "required": it.required,
                "monitor_id": it.monitor_id, "range": it.range_text(),
                "value": v,
                "source": from_monitor(&raw).then_some("monitor"),
                "source_at": from_monitor(&raw).then(|| raw["at"].clone()),
                "source_label": source_label(&raw),
                "photos": item_photos,
                "verdict": a.as_ref().map(|a| a.verdict),
                "verdict_label": a.as_ref().map(|a| a.verdict.label()),
                "detail": a.and_then(|a| a.detail),
            })
        })
        .collect();
    let mut v = task_summary_json(t);
    v["items"] = Value::Array(rows);
    v["allowed_actions"] = json!(
        allowed_actions(status_of(t)?, actor(u, t))
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
    );
    v["finding_list"] = Value::Array(found.iter().map(finding_json).collect());
    Ok(v)
}

pub fn finding_json(f: &FindingRow) -> Value {
    json!({
        "id": f.id, "task_id": f.task_id, "item_key": f.item_key, "label": f.label,
        "detail": f.detail, "ticket_id": f.ticket_id, "ticket_number": f.ticket_number,
        "status": f.status,
        "status_label": if f.status == "rectified" { "已整改" } else { "待整改" },
        "target_type": f.target_type, "target_name": f.target_name, "system_id": f.system_id,
        "created_at": crate::clock::rfc3339(f.created_at),
        "rectified_at": f.rectified_at.map(crate::clock::rfc3339),
    })
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: &TaskFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<TaskRow>, i64)> {
    check_read(u)?;
    Ok(ctx.store.inspection_tasks(f, limit, offset).await?)
}

/// A task as `task_json` shows it. While the task is editable, the items bound to a
/// monitor without a hand reading show the monitor's latest result (not stored until the
/// task is started, saved or submitted).
pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<Value> {
    check_read(u)?;
    let t = ctx.store.inspection_task(id).await?;
    let (found, _) = list_findings(ctx, u, Some(id), None, 500, 0).await?;
    let items = items_of(&t)?;
    let mut readings = readings_of(&t);
    let ids = monitor_ids(&items);
    if status_of(&t)?.editable() && !ids.is_empty() {
        let latest = ctx.store.latest_monitor_results(&ids).await?;
        fill_from_monitors(&items, &mut readings, &monitor_results(latest));
    }
    let photos = if items.iter().any(|it| it.kind == ItemKind::Photo) {
        ctx.store.inspection_photos(id).await?
    } else {
        Vec::new()
    };
    task_json(u, &t, &found, &readings, &photos)
}

/// `GET /inspection-findings?task_id&status`: `status` is `open` or `rectified`.
pub async fn list_findings(
    ctx: &Ctx,
    u: &AuthUser,
    task_id: Option<i64>,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<FindingRow>, i64)> {
    check_read(u)?;
    if let Some(s) = status
        && !["open", "rectified"].contains(&s)
    {
        return Err(AppError::invalid("status", "status 应为 open 或 rectified"));
    }
    Ok(ctx
        .store
        .inspection_findings(task_id, status, limit, offset)
        .await?)
}

/// `POST /inspection-tasks/{id}/results`: saves the given readings (a draft as the
/// inspector goes); a pending or overdue task counts as started.
pub async fn save_results(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    input: ResultsInput,
) -> AppResult<Value> {
    check_read(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.inspection_task_for_update(&mut tx, id).await?;
    let status = status_of(&t)?;
    let who = actor(u, &t);
    if !who.does() {
        return Err(AppError::Forbidden(
            "只有任务的执行人或项目经理可以填写巡检结果".into(),
        ));
    }
    if !status.editable() {
        return Err(AppError::Conflict(format!(
            "任务当前为“{}”，不能再修改读数",
            status.label()
        )));
    }
    let items = items_of(&t)?;
    let errs = check_save(&items, &input.readings);
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let photos = crate::store::Store::inspection_photos_in(&mut tx, id).await?;
    let errs = check_photo_refs(&items, &input.readings, &photos);
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let mut readings = readings_of(&t);
    for (k, v) in input.readings {
        if v.is_null() {
            readings.remove(&k);
        } else {
            readings.insert(k, v);
        }
    }
    fill_in(&mut tx, &items, &mut readings).await?;
    let text = serde_json::to_string(&readings).map_err(anyhow::Error::from)?;
    ctx.store
        .save_inspection_readings(&mut tx, id, &text, now)
        .await?;
    if matches!(status, TaskStatus::Pending | TaskStatus::Overdue) {
        ctx.store
            .set_inspection_task_status(&mut tx, id, "in_progress", None, None, now)
            .await?;
    }
    let t = ctx.store.inspection_task_for_update(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "results",
        "inspection_tasks",
        id,
        format!("保存巡检读数：{} · {}", t.template_name, t.target_name),
        None,
        Some(json!({"readings": readings})),
    )
    .await?;
    let found = ctx
        .store
        .inspection_findings_of_task_in(&mut tx, id)
        .await?;
    let v = task_json(u, &t, &found, &readings, &photos)?;
    tx.commit().await?;
    Ok(v)
}

/// A photo reading may only name photos uploaded to this task for this item.
fn check_photo_refs(
    items: &[Item],
    input: &Map<String, Value>,
    photos: &[PhotoRow],
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for it in items.iter().filter(|it| it.kind == ItemKind::Photo) {
        let Some(v) = input.get(&it.key) else {
            continue;
        };
        if let Some(bad) = photo_ids(v)
            .into_iter()
            .find(|id| !photos.iter().any(|p| p.id == *id && p.item_key == it.key))
        {
            errs.push(FieldError::new(
                format!("readings.{}", it.key),
                format!(
                    "照片 #{bad} 不是本任务“{}”上传的照片，请先上传再引用",
                    it.label
                ),
            ));
        }
    }
    errs
}

/// `POST /inspection-tasks/{id}/actions`. Submitting checks the required items and
/// records each abnormal reading as a finding once (submitting again after a return adds
/// only new ones); then each new finding gets its ticket (`findings::open_tickets`).
pub async fn act(ctx: &Ctx, u: &AuthUser, id: i64, input: TaskActionInput) -> AppResult<Value> {
    let (v, new_findings) = act_on_task(ctx, u, id, input).await?;
    if new_findings.is_empty() {
        return Ok(v);
    }
    super::findings::open_tickets(ctx, &new_findings).await?;
    get(ctx, u, id).await
}

async fn act_on_task(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    input: TaskActionInput,
) -> AppResult<(Value, Vec<i64>)> {
    check_read(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.inspection_task_for_update(&mut tx, id).await?;
    let status = status_of(&t)?;
    let who = actor(u, &t);
    let next = transition(status, input.action, who).map_err(|m| {
        if (matches!(input.action, TaskAction::Start | TaskAction::Submit) && !who.does())
            || (matches!(input.action, TaskAction::Approve | TaskAction::Return) && !who.reviews())
        {
            AppError::Forbidden(m)
        } else {
            AppError::Conflict(m)
        }
    })?;
    if let Some(c) = &input.comment
        && let Err(m) = crate::domain::text::check_field("审核意见", c, true, 2_000)
    {
        return Err(AppError::invalid("comment", m));
    }
    if input.action == TaskAction::Return && input.comment.is_none() {
        return Err(AppError::invalid(
            "comment",
            "退回时请填写审核意见，说明需要重做的内容",
        ));
    }
    let mut new_findings = Vec::new();
    let mut count = None;
    let items = items_of(&t)?;
    let mut readings = readings_of(&t);
    let filled = matches!(input.action, TaskAction::Start | TaskAction::Submit)
        && fill_in(&mut tx, &items, &mut readings).await?;
    if filled {
        let text = serde_json::to_string(&readings).map_err(anyhow::Error::from)?;
        ctx.store
            .save_inspection_readings(&mut tx, id, &text, now)
            .await?;
    }
    if input.action == TaskAction::Submit {
        let errs: Vec<FieldError> = check_complete(&items, &readings);
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let found = findings(&items, &readings);
        count = Some(found.len() as i64);
        for f in &found {
            if let Some(fid) = ctx
                .store
                .insert_inspection_finding(&mut tx, id, &f.item_key, &f.label, &f.detail, now)
                .await?
            {
                new_findings.push(fid);
            }
        }
    }
    let reviewer = matches!(input.action, TaskAction::Approve | TaskAction::Return)
        .then(|| (u.id, input.comment.clone()));
    ctx.store
        .set_inspection_task_status(&mut tx, id, next.as_str(), reviewer, count, now)
        .await?;
    let after = ctx.store.inspection_task_for_update(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        input.action.as_str(),
        "inspection_tasks",
        id,
        format!(
            "巡检任务{}：{} · {}{}",
            input.action.label(),
            t.template_name,
            t.target_name,
            input
                .comment
                .as_deref()
                .map(|c| format!("（{c}）"))
                .unwrap_or_default()
        ),
        Some(json!({"status": t.status})),
        Some(if filled {
            json!({"status": after.status, "new_findings": new_findings, "readings": readings})
        } else {
            json!({"status": after.status, "new_findings": new_findings})
        }),
    )
    .await?;
    let found = ctx
        .store
        .inspection_findings_of_task_in(&mut tx, id)
        .await?;
    let photos = crate::store::Store::inspection_photos_in(&mut tx, id).await?;
    let v = task_json(u, &after, &found, &readings, &photos)?;
    tx.commit().await?;
    Ok((v, new_findings))
}

/// The job: tasks past their due time become overdue, and each assignee gets an in-app
/// message once per task.
pub async fn mark_overdue(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let late = ctx
        .store
        .mark_inspection_tasks_overdue(&mut tx, now)
        .await?;
    for t in &late {
        let due = DateTime::from_timestamp_millis(t.due_at)
            .map(|d| {
                d.with_timezone(&crate::clock::beijing())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let notice = crate::notify::texts::InspectionNotice {
            task_id: t.id,
            template: &t.template_name,
            target: &t.target_name,
            due: &due,
            assignee: t.assignee_name.as_deref().unwrap_or("未分派"),
        };
        crate::notify::enqueue_inspection_overdue(
            ctx,
            &mut tx,
            &notice,
            t.assignee_id,
            t.system_id,
        )
        .await?;
    }
    if !late.is_empty() {
        audit(
            &mut tx,
            now,
            &AuthUser::system("inspections"),
            "overdue",
            "inspection_tasks",
            late[0].id,
            format!("{} 个巡检任务逾期", late.len()),
            None,
            Some(json!({"tasks": late.iter().map(|l| l.id).collect::<Vec<_>>()})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(late.len())
}

/// `GET /inspections/stats?from&to`: the indicators of the tasks due in `[from, to)`.
pub async fn indicators(
    ctx: &Ctx,
    u: &AuthUser,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Stats> {
    check_read(u)?;
    let rows = ctx
        .store
        .inspection_facts(from.timestamp_millis(), to.timestamp_millis())
        .await?;
    let facts: Vec<TaskFact> = rows
        .iter()
        .filter_map(|r| {
            Some(TaskFact {
                target_type: TargetType::parse(&r.target_type)?,
                system_id: r.system_id,
                assignee_id: r.assignee_id,
                status: TaskStatus::parse(&r.status)?,
                due_at: DateTime::from_timestamp_millis(r.due_at)?,
                submitted_at: r.submitted_at.and_then(DateTime::from_timestamp_millis),
                findings: u32::try_from(r.findings).unwrap_or(0),
                rectified: u32::try_from(r.rectified).unwrap_or(0),
            })
        })
        .collect();
    Ok(stats(&facts))
}
