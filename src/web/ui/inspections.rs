//! Inspection pages (巡检): the task list, and a task filled in item by item on a phone —
//! big controls, the normal range beside each reading, a draft saved as you go (htmx posts
//! the form on every change), then submit; reviewers approve or return with a comment.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::inspection::task::{TaskAction, TaskStatus};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::inspect::input::{ResultsInput, TaskActionInput};
use crate::store::inspect::TaskFilter;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::PageUser;
use crate::web::extract::parse_id;

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let p = Paging::from_query(&q)?;
    let status = q
        .get("status")
        .and_then(|s| TaskStatus::parse(s))
        .map(|s| s.as_str().to_string());
    // Inspectors see their own tasks unless they ask for all.
    let mine = matches!(u.role, Role::Engineer | Role::Operator) && !q.contains_key("all");
    let f = TaskFilter {
        status: status.clone(),
        assignee_id: mine.then_some(u.id),
        ..Default::default()
    };
    let (rows, total) = crate::inspect::tasks::list(&st.ctx, &u, &f, p.limit, p.offset).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({"id": t.id, "template": t.template_name, "target": t.target_name,
                   "due": crate::clock::local_minutes(t.due_at), "status": t.status,
                   "status_label": TaskStatus::parse(&t.status).map(TaskStatus::label),
                   "assignee": t.assignee_name, "findings": t.findings})
        })
        .collect();
    let statuses: Vec<Value> = TaskStatus::ALL
        .iter()
        .map(|s| json!({"code": s.as_str(), "label": s.label()}))
        .collect();
    Ok(st
        .ui
        .page(
            "inspection_list.html",
            json!({"layout": layout(&u, "巡检任务", "/inspections"), "items": items, "total": total,
                   "offset": p.offset, "limit": p.limit, "status": status, "mine": mine,
                   "statuses": statuses}),
        )?
        .into_response())
}

async fn render(
    st: &AppState,
    u: &AuthUser,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let task = crate::inspect::tasks::get(&st.ctx, u, id).await?;
    let demo = super::demo::is_demo(st, "inspection_tasks", id).await?;
    let mut r = st
        .ui
        .page(
            "inspection_task.html",
            json!({"layout": layout(u, "巡检任务", "/inspections"), "task": task, "demo": demo, "error": error,
                   "due": task["due_at"].as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                       .map(|d| crate::clock::local_minutes(d.timestamp_millis()))}),
        )?
        .into_response();
    *r.status_mut() = status;
    Ok(r)
}

pub async fn task(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    render(&st, &u, parse_id(&id)?, None, StatusCode::OK).await
}

/// The first value of `name` in a posted form, trimmed; `None` when absent or blank.
fn form_value(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The readings the form holds, keyed as the items are: `r[KEY]`, or `r[KEY][i]` for a
/// per-instance item. A blank field clears its reading; numbers are sent as numbers. A
/// value filled in from a monitor that the inspector left unchanged is not sent.
fn readings_of(task: &Value, form: &[(String, String)]) -> Map<String, Value> {
    let get = |name: &str| form_value(form, name);
    let number = |s: String| match s.parse::<f64>() {
        Ok(n) if n.is_finite() => json!(n),
        _ => json!(s),
    };
    let mut out = Map::new();
    for it in task["items"].as_array().into_iter().flatten() {
        let key = it["key"].as_str().unwrap_or_default();
        let kind = it["kind"].as_str().unwrap_or_default();
        if kind == "photo" {
            continue;
        }
        let v = match (kind, it["count"].as_u64()) {
            ("number", Some(n)) => {
                let cells: Vec<Value> = (0..n)
                    .map(|i| get(&format!("r[{key}][{i}]")).map_or(Value::Null, number))
                    .collect();
                if cells.iter().all(Value::is_null) {
                    Value::Null
                } else {
                    Value::Array(cells)
                }
            }
            ("number", None) => get(&format!("r[{key}]")).map_or(Value::Null, number),
            _ => get(&format!("r[{key}]")).map_or(Value::Null, Value::String),
        };
        // A value shown from a monitor and left as it is stays the monitor's evidence.
        if it["source"] == "monitor" && v == it["value"] {
            continue;
        }
        out.insert(key.to_string(), v);
    }
    out
}

fn messages(e: &AppError) -> Option<String> {
    match e {
        AppError::Validation(errs) => Some(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
        AppError::Conflict(m) | AppError::Forbidden(m) => Some(m.clone()),
        _ => None,
    }
}

/// The task form: `action` is save, submit, approve or return.
pub async fn post(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let field = |k: &str| form_value(&form, k);
    let action = field("action").unwrap_or_else(|| "save".into());
    let result = async {
        if matches!(action.as_str(), "save" | "submit") {
            let task = crate::inspect::tasks::get(&st.ctx, &u, id).await?;
            let readings = readings_of(&task, &form);
            crate::inspect::tasks::save_results(&st.ctx, &u, id, ResultsInput { readings }).await?;
        }
        let act = match action.as_str() {
            "submit" => Some(TaskAction::Submit),
            "approve" => Some(TaskAction::Approve),
            "return" => Some(TaskAction::Return),
            "start" => Some(TaskAction::Start),
            _ => None,
        };
        if let Some(a) = act {
            crate::inspect::tasks::act(
                &st.ctx,
                &u,
                id,
                TaskActionInput {
                    action: a,
                    comment: field("comment"),
                },
            )
            .await?;
        }
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/inspections/tasks/{id}")).into_response()),
        Err(e) => match messages(&e) {
            Some(m) => render(&st, &u, id, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

/// htmx autosave on every change: saves the draft and answers the line that says so.
pub async fn draft(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let task = crate::inspect::tasks::get(&st.ctx, &u, id).await?;
    let readings = readings_of(&task, &form);
    let at = crate::clock::local_seconds(st.ctx.clock.now_ms());
    let line = match crate::inspect::tasks::save_results(&st.ctx, &u, id, ResultsInput { readings })
        .await
    {
        Ok(_) => format!("<span class=\"ok\" id=\"draft-saved\">草稿已保存 {at}</span>"),
        Err(e) => match messages(&e) {
            Some(m) => format!(
                "<span class=\"error\" id=\"draft-error\">未保存：{}</span>",
                html_escape(&m)
            ),
            None => return Err(e.into()),
        },
    };
    Ok(Html(line).into_response())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The photos of a photo item as the page shows them: thumbnails that open the picture,
/// and a line saying what happened.
fn photo_strip(key: &str, label: &str, photos: &[Value], note: Option<(&str, &str)>) -> String {
    let mut out = format!("<div class=\"photos\" id=\"photos-{}\">", html_escape(key));
    for (i, p) in photos.iter().enumerate() {
        let url = html_escape(p["url"].as_str().unwrap_or_default());
        out.push_str(&format!(
            "<a href=\"{url}\" target=\"_blank\"><img class=\"thumb\" src=\"{url}\" alt=\"{} 照片 {}\" loading=\"lazy\"></a>",
            html_escape(label),
            i + 1
        ));
    }
    if photos.is_empty() {
        out.push_str("<span class=\"muted\">尚未拍照</span>");
    }
    if let Some((class, text)) = note {
        out.push_str(&format!(
            "<span class=\"{class}\" role=\"status\">{}</span>",
            html_escape(text)
        ));
    }
    out.push_str("</div>");
    out
}

/// A photo taken on the task page (htmx, multipart `file` and `item`): uploads it at once
/// and answers the item's thumbnails, or the reason it was refused.
pub async fn photo(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    mp: axum::extract::Multipart,
) -> PageResult {
    let id = parse_id(&id)?;
    let (item_key, result) =
        match crate::web::api::inspections::read_photo_upload(mp, st.config.max_attachment_bytes)
            .await
        {
            Ok(((name, data), item)) => {
                let r = crate::inspect::photos::upload(&st.ctx, &u, id, &item, &name, &data).await;
                (Some(item), r.map(|p| p.file_name))
            }
            Err(e) => (None, Err(e)),
        };
    let note = match result {
        Ok(name) => ("ok", format!("已上传 {name}")),
        Err(e)
            if e.status().is_client_error()
                && !matches!(e, AppError::NotFound | AppError::Unauthorized(_)) =>
        {
            let msg = messages(&e).unwrap_or_else(|| e.message());
            ("error", format!("未上传：{msg}"))
        }
        Err(e) => return Err(e.into()),
    };
    let task = crate::inspect::tasks::get(&st.ctx, &u, id).await?;
    let photo_items: Vec<&Value> = task["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|it| it["kind"] == "photo")
        .collect();
    // The item the upload named, or (when it named none that exists) the first photo item.
    let item = photo_items
        .iter()
        .find(|it| item_key.as_deref().is_some_and(|k| it["key"] == k))
        .or(photo_items.first())
        .map(|it| (*it).clone())
        .unwrap_or(Value::Null);
    let key = item["key"].as_str().unwrap_or_default();
    let photos = item["photos"].as_array().cloned().unwrap_or_default();
    let label = item["label"].as_str().unwrap_or_default();
    Ok(Html(photo_strip(key, label, &photos, Some((note.0, &note.1)))).into_response())
}
