//! Service-desk pages: the ticket list, the portal and staff forms, and the ticket page
//! with its SLA timeline, actions, comments and process history.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::{NaiveDateTime, TimeZone};
use serde_json::{Map, Value, json};

use super::{PageResult, layout, query_base};
use crate::accounts::AuthUser;
use crate::desk;
use crate::domain::roles::Role;
use crate::domain::sla::{ClockStatus, fmt_duration};
use crate::domain::tickets as tk;
use crate::domain::tickets::input::{CommentInput, TicketAction, TicketCreate};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, staff_only};
use crate::web::extract::{form_input, parse_id};

fn choices(c: &[crate::domain::entity::Choice]) -> Vec<Value> {
    c.iter()
        .map(|c| json!({"code": c.code, "label": c.label}))
        .collect()
}

fn local(ms: Option<i64>) -> Option<String> {
    ms.map(crate::clock::local_minutes)
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    q.entry("limit".into()).or_insert_with(|| "20".into());
    let p = Paging::from_query(&q)?;
    let mut f = desk::ticket_filter(&q)?;
    let requester = u.role == Role::Requester;
    desk::restrict_to_visible(&u, &mut f);
    if q.get("mine").map(String::as_str) == Some("true") {
        f.assignee_id = Some(u.id);
    }
    let page = st
        .store
        .list_tickets(
            &f,
            crate::store::desk::TicketPageQuery {
                limit: p.limit,
                offset: p.offset,
                after: None,
            },
        )
        .await?;
    let (rows, total) = (page.rows, page.total);
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let demo = super::demo::demo_ids(&st, "tickets", &ids).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({"id": t.id, "number": t.number, "demo": demo.contains(&t.id), "title": t.title, "kind_label": tk::label(tk::KINDS, &t.kind), "priority": t.priority, "status": t.status,
                   "status_label": tk::label(tk::STATUSES, &t.status), "system_name": t.system_name, "assignee_name": t.assignee_name,
                   "reported": crate::clock::local_minutes(t.reported_at), "resolve_due": local(t.resolve_due_at), "breached": t.sla_breached != 0})
        })
        .collect();
    let base = query_base(&q, &["offset", "limit"]);
    let title = if requester { "我的工单" } else { "工单" };
    let notice = if q.contains_key("created") {
        "已提交，我们会尽快处理"
    } else {
        ""
    };
    Ok(st
        .ui
        .page(
            "ticket_list.html",
            json!({"layout": layout(&u, title, "/tickets"), "title": title, "items": items, "total": total, "q": q, "base": base,
                   "offset": p.offset, "limit": p.limit, "statuses": choices(tk::STATUSES), "kinds": choices(tk::KINDS),
                   "requester": requester, "notice": notice}),
        )?
        .into_response())
}

async fn form_page(
    st: &AppState,
    u: &AuthUser,
    form: Value,
    errors: Vec<Value>,
    status: StatusCode,
) -> PageResult {
    let systems: Vec<Value> = super::monitoring::systems(st)
        .await?
        .iter()
        .map(|s| json!({"id": s.get("id"), "name": s.get("name")}))
        .collect();
    let requester = u.role == Role::Requester;
    let kinds: Vec<Value> = if requester {
        choices(&tk::KINDS[..2])
    } else {
        choices(tk::KINDS)
    };
    let html = st.ui.page(
        "ticket_form.html",
        json!({"layout": layout(u, "新建工单", "/tickets/new"), "requester": requester, "kinds": kinds, "change_types": choices(tk::CHANGE_TYPES),
               "levels": choices(tk::LEVELS), "sources": choices(tk::SOURCES), "systems": systems, "form": form, "errors": errors}),
    )?;
    Ok((status, html).into_response())
}

pub async fn new_form(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    if matches!(u.role, Role::Auditor | Role::Supervisor) {
        return Err(AppError::forbidden().into());
    }
    form_page(&st, &u, json!({}), vec![], StatusCode::OK).await
}

/// `2025-10-15T09:30` from a datetime-local input, in Beijing time, as RFC 3339.
fn local_input_to_rfc3339(s: &str) -> Option<String> {
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok()?;
    crate::clock::beijing()
        .from_local_datetime(&t)
        .single()
        .map(|t| t.to_rfc3339())
}

/// Most files a requester may attach in the report form itself.
const FORM_MAX_FILES: usize = 5;

pub async fn create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    mut mp: axum::extract::Multipart,
) -> PageResult {
    let mut form: HashMap<String, String> = HashMap::new();
    let mut files: Vec<(String, axum::body::Bytes)> = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::PayloadTooLarge("表单或附件过大，或上传中断".into()).into());
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let data = field
                .bytes()
                .await
                .map_err(|_| AppError::PayloadTooLarge("附件过大或上传中断".into()))?;
            // An empty file input still sends a part with no name and no bytes.
            if !file_name.is_empty() || !data.is_empty() {
                files.push((file_name, data));
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            form.insert(name, text);
        }
    }
    let mut errors: Vec<Value> = Vec::new();
    if files.len() > FORM_MAX_FILES {
        errors.push(json!({"field": "files", "message": format!("一次最多上传 {FORM_MAX_FILES} 个附件，请删减后再提交")}));
    }
    for (name, data) in &files {
        if let Err(e) = desk::check_attachment(name, data, st.ctx.config.max_attachment_bytes) {
            errors.push(
                json!({"field": "files", "message": format!("附件“{name}”：{}", e.message())}),
            );
        }
    }
    if !errors.is_empty() {
        return form_page(
            &st,
            &u,
            json!(form),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let mut obj = Map::new();
    for (k, v) in &form {
        if v.trim().is_empty() {
            continue;
        }
        let v = if k == "reported_at" {
            local_input_to_rfc3339(v).unwrap_or_else(|| v.clone())
        } else {
            v.clone()
        };
        obj.insert(k.clone(), Value::String(v));
    }
    if u.role == Role::Requester {
        obj.retain(|k, _| {
            [
                "kind",
                "title",
                "description",
                "system_id",
                "category",
                "impact",
                "urgency",
            ]
            .contains(&k.as_str())
        });
    }
    let opened = match form_input::<TicketCreate>(obj) {
        Ok(input) => desk::open_ticket(&st.ctx, &u, &input).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(t) => {
            for (name, data) in &files {
                // Checked above; what can still fail here is the disk, which is a 500.
                desk::attach(&st.ctx, &u, t.id, name, data, false).await?;
            }
            Ok(Redirect::to(&format!("/tickets/{}?created=1", t.id)).into_response())
        }
        Err(AppError::Validation(errs)) => {
            let errors = errs
                .iter()
                .map(|e| json!({"field": e.field, "message": e.message}))
                .collect();
            form_page(
                &st,
                &u,
                json!(form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn clock_status_label(s: ClockStatus) -> &'static str {
    match s {
        ClockStatus::NotStarted => "未开始",
        ClockStatus::Running => "计时中",
        ClockStatus::Paused => "已暂停",
        ClockStatus::Met => "已达标",
        ClockStatus::Breached => "已超时",
        ClockStatus::Waived => "不适用",
    }
}

pub async fn detail(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let t = desk::visible_ticket(&st.ctx, &u, parse_id(&id)?).await?;
    render_detail(
        &st,
        &u,
        &t,
        if q.contains_key("created") {
            "工单已提交"
        } else {
            ""
        },
        "",
        StatusCode::OK,
    )
    .await
}

async fn render_detail(
    st: &AppState,
    u: &AuthUser,
    t: &crate::store::desk::TicketRow,
    notice: &str,
    error: &str,
    status: StatusCode,
) -> PageResult {
    let requester = u.role == Role::Requester;
    let clock_states = desk::clocks(&st.ctx, t).await?;
    let needs = desk::action_needs(t, &clock_states);
    let clocks: Vec<Value> = clock_states
        .iter()
        .map(|c| {
            json!({"label": c.target.label(), "status_label": clock_status_label(c.status), "target": c.target_seconds.map(fmt_duration),
                   "elapsed": fmt_duration(c.elapsed_seconds), "due": c.due_at.map(|d| crate::clock::local_minutes(d.timestamp_millis())),
                   "breached": c.breached, "explanation": c.explanation})
        })
        .collect();
    let fault_report: Vec<Value> = t
        .fault_report
        .as_deref()
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok())
        .map(|m| {
            tk::FAULT_REPORT_FIELDS
                .iter()
                .map(|(k, label)| {
                    let v = m.get(*k).and_then(Value::as_str).unwrap_or_default();
                    let v = if k.ends_with("_at") {
                        chrono::DateTime::parse_from_rfc3339(v)
                            .map(|d| crate::clock::local_minutes(d.timestamp_millis()))
                            .unwrap_or_else(|_| v.to_string())
                    } else {
                        v.to_string()
                    };
                    json!({"label": label, "value": v})
                })
                .collect()
        })
        .unwrap_or_default();
    let events =
        crate::history::timeline(&st.ctx, &st.store.ticket_events(t.id, !requester).await?).await?;
    let comments: Vec<Value> = st
        .store
        .comments(t.id, !requester)
        .await?
        .iter()
        .map(|c| json!({"at": crate::clock::local_minutes(c.created_at), "author": c.author_name, "body": c.body, "internal": c.internal != 0}))
        .collect();
    let workers: Vec<Value> = if requester {
        vec![]
    } else {
        let mut out = Vec::new();
        for role in ["engineer", "operator", "manager"] {
            let (rows, _) = st.store.list_users(None, Some(role), 500, 0).await?;
            out.extend(rows.iter().filter(|r| r.disabled == 0).map(
                |r| json!({"id": r.id, "name": format!("{}（{}）", r.display_name, r.username)}),
            ));
        }
        out
    };
    let attachments: Vec<Value> = st
        .store
        .attachments(t.id, !requester)
        .await?
        .iter()
        .map(|a| json!({"id": a.id, "file_name": a.file_name, "size": a.size, "uploaded_by": a.uploaded_by_name,
                        "created_at": crate::clock::local_minutes(a.created_at), "internal": a.internal != 0}))
        .collect();
    let demo = super::demo::is_demo(st, "tickets", t.id).await?;
    let html = st.ui.page(
        "ticket_detail.html",
        json!({"layout": layout(u, &t.number, "/tickets"), "demo": demo, "t": {
                "id": t.id, "number": t.number, "title": t.title, "kind": t.kind, "status": t.status, "change_type": t.change_type.as_deref().map(|c| tk::label(tk::CHANGE_TYPES, c)),
                "priority": t.priority, "system_name": t.system_name, "requester_name": t.requester_name, "requester_contact": t.requester_contact,
                "assignee_id": t.assignee_id, "assignee_name": t.assignee_name, "pending_reason": t.pending_reason, "satisfaction": t.satisfaction,
                "satisfaction_comment": t.satisfaction_comment, "description": t.description, "resolution": t.resolution, "onsite_at": t.onsite_at},
               "status_label": tk::label(tk::STATUSES, &t.status), "kind_label": tk::label(tk::KINDS, &t.kind),
               "reported": crate::clock::local_minutes(t.reported_at), "onsite": local(t.onsite_at), "clocks": clocks,
               "fault_report": fault_report, "actions": desk::allowed_actions(u, t), "workers": workers, "needs": needs,
               "events": events, "comments": comments, "requester": requester, "attachments": attachments,
               "max_mb": st.config.max_attachment_bytes / 1024 / 1024,
               "now_local": crate::clock::local_minutes(st.clock.now_ms()).replace(' ', "T"),
               "can_comment": u.role != Role::Auditor && !matches!(t.status.as_str(), "closed" | "canceled"),
               "notice": notice, "error": error}),
    )?;
    Ok((status, html).into_response())
}

pub async fn action(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let mut body = Map::new();
    let mut report = Map::new();
    for (k, v) in &form {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if let Some(f) = k.strip_prefix("fr_") {
            let v = if f.ends_with("_at") {
                local_input_to_rfc3339(v).unwrap_or_else(|| v.to_string())
            } else {
                v.to_string()
            };
            report.insert(f.to_string(), Value::String(v));
        } else {
            body.insert(k.clone(), Value::String(v.to_string()));
        }
    }
    if !report.is_empty() {
        body.insert("fault_report".into(), Value::Object(report));
    }
    let applied = match form_input::<TicketAction>(body) {
        Ok(input) => desk::apply_action(&st.ctx, &u, tk::TicketId(id), &input).await,
        Err(e) => Err(e),
    };
    match applied {
        Ok(t) => Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response()),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_) | AppError::Forbidden(_))) => {
            // A form refused before the service looked at the ticket: still only shown to
            // those who may see it.
            let t = desk::visible_ticket(&st.ctx, &u, id).await?;
            let msg = match &e {
                AppError::Validation(errs) => errs
                    .iter()
                    .map(|x| x.message.clone())
                    .collect::<Vec<_>>()
                    .join("；"),
                other => other.message(),
            };
            render_detail(&st, &u, &t, "", &msg, e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn comment(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = CommentInput {
        body: form.get("body").cloned().unwrap_or_default(),
        internal: Some(form.get("internal").map(String::as_str) == Some("true")),
    };
    desk::comment(&st.ctx, &u, tk::TicketId(id), &input).await?;
    Ok(Redirect::to(&format!("/tickets/{id}")).into_response())
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn minutes(v: Option<f64>) -> String {
    v.map(|m| fmt_duration((m * 60.0).round() as i64))
        .unwrap_or_else(|| "—".into())
}

fn row_fmt(name: &str, i: &crate::domain::desk_stats::Indicators) -> Value {
    json!({"name": name, "tickets": i.tickets, "open": i.open, "mtta": minutes(i.mtta_minutes), "mttr": minutes(i.mttr_minutes),
           "sla": pct(i.sla_compliance), "onsite": pct(i.onsite_within_target), "ftf": pct(i.first_time_fix),
           "sat": i.satisfaction_mean.map(|m| format!("{m:.2} 分 / {}", pct(i.satisfaction_good_share))).unwrap_or_else(|| "—".into())})
}

/// The desk overview: indicators over a period, in total, per system and per engineer.
pub async fn overview(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    staff_only(&u)?;
    let (from, to) = desk::period(&st.ctx, &q)?;
    let rows = st.store.ticket_stat_rows(from, to).await?;
    let o = crate::domain::desk_stats::overview(&rows);
    let day = |ms: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
            .map(|t| {
                t.with_timezone(&crate::clock::beijing())
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let groups = vec![
        (
            "按系统",
            o.by_system
                .iter()
                .map(|(k, v)| row_fmt(k, v))
                .collect::<Vec<_>>(),
        ),
        (
            "按工程师",
            o.by_engineer
                .iter()
                .map(|(k, v)| row_fmt(k, v))
                .collect::<Vec<_>>(),
        ),
    ];
    let holiday_warning = crate::holidays::next_year_warning(&st.ctx).await?;
    let t = &o.total;
    let fmt = json!({"mtta": minutes(t.mtta_minutes), "mttr": minutes(t.mttr_minutes), "sla": pct(t.sla_compliance),
        "onsite": pct(t.onsite_within_target), "ftf": pct(t.first_time_fix),
        "sat": t.satisfaction_mean.map(|m| format!("{m:.2}")).unwrap_or_else(|| "—".into())});
    Ok(st
        .ui
        .page(
            "desk.html",
            json!({"layout": layout(&u, "服务台概览", "/desk"), "total": t, "fmt": fmt, "groups": groups,
                   "open_by_priority": o.open_by_priority.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>(),
                   "from": day(from), "to": day(to - 1), "holiday_warning": holiday_warning}),
        )?
        .into_response())
}

pub async fn attach(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    mut mp: axum::extract::Multipart,
) -> PageResult {
    let id = parse_id(&id)?;
    let mut file = None;
    let mut internal = false;
    while let Ok(Some(field)) = mp.next_field().await {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_string();
                let data = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::PayloadTooLarge("附件过大或上传中断".into()))?;
                file = Some((name, data));
            }
            Some("internal") => internal = field.text().await.unwrap_or_default() == "true",
            _ => {}
        }
    }
    let Some((name, data)) = file else {
        return Err(AppError::invalid("file", "请选择要上传的文件").into());
    };
    match desk::attach(&st.ctx, &u, id, &name, &data, internal).await {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(
            e @ (AppError::Validation(_)
            | AppError::UnsupportedMediaType(_)
            | AppError::PayloadTooLarge(_)),
        ) => {
            let t = st.store.ticket(id).await?;
            render_detail(&st, &u, &t, "", &e.message(), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}
