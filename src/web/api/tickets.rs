//! Tickets, their actions, timeline, comments and worklog; service calendars.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{Paging, all_json, created_id};
use crate::desk;
use crate::domain::roles::Role;
use crate::domain::tickets::TicketId;
use crate::domain::tickets::input::{
    CalendarDayInput, CommentInput, LinkInput, TicketAction, TicketCreate, TicketUpdate,
    WorklogInput,
};
use crate::error::{AppError, AppResult};
use crate::store::desk::TicketPageQuery;
use crate::web::AppState;
use crate::web::auth::{ApiUser, staff_only};
use crate::web::extract::{Input, file_field, multipart, next_field, parse_id, too_large};

/// The ticket list's filters (also those of the export).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Statuses, comma-separated: new, assigned, in_progress, pending, resolved, closed, canceled.
    pub status: Option<String>,
    /// `true`: open tickets only.
    pub open: Option<bool>,
    /// incident, request, problem or change.
    pub kind: Option<String>,
    /// P1 to P4.
    pub priority: Option<String>,
    pub source: Option<String>,
    pub system_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub requester_id: Option<i64>,
    /// RFC 3339 time or date: reported at or after.
    pub from: Option<String>,
    /// RFC 3339 time: reported before; or a date: reported on or before that day.
    pub to: Option<String>,
    /// `true`: with a breached SLA; `false`: without.
    pub breached: Option<bool>,
}

/// The days of a calendar in a period.
#[derive(utoipa::ToSchema)]
pub struct CalendarDays {
    pub calendar_id: i64,
    pub items: Vec<CalendarDay>,
}

#[derive(utoipa::ToSchema)]
pub struct CalendarDay {
    #[schema(format = Date)]
    pub date: String,
    pub working: bool,
    pub reason: String,
}

/// A multipart attachment upload.
#[derive(utoipa::ToSchema)]
pub struct AttachmentUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `true`: hidden from the requester.
    #[schema(nullable = false, pattern = "^(true|false)$")]
    pub internal: Option<String>,
}

#[utoipa::path(
    get,
    path = "/tickets",
    tag = "tickets",
    summary = "工单列表（报障人只看到自己的）",
    params(super::openapi::SearchQuery, TicketQuery, ("mine" = Option<bool>, Query, description = "true 只看指派给自己的"), ("after" = Option<String>, Query, description = "上一页返回的 next_cursor")),
    responses((status = 200, description = "列表；next_cursor 用于下一页", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let p = Paging::from_query(&q)?;
    let mut f = desk::ticket_filter(&q)?;
    desk::restrict_to_visible(&u, &mut f);
    if q.get("mine").map(String::as_str) == Some("true") {
        f.assignee_id = Some(u.id);
    }
    let after = match q.get("after").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| AppError::invalid("after", "after 应为上一页返回的 next_cursor"))?,
        ),
    };
    let page = st
        .store
        .list_tickets(
            &f,
            TicketPageQuery {
                limit: p.limit,
                offset: p.offset,
                after,
            },
        )
        .await?;
    let mut items = Vec::with_capacity(page.rows.len());
    for t in &page.rows {
        items.push(desk::ticket_json(&st.ctx, &u, t, false).await?);
    }
    // `next_cursor` is opaque to clients: pass it back as `after` for the next page.
    Ok(Json(json!({
        "total": page.total,
        "items": items,
        "next_cursor": page.next_cursor.map(|id| id.to_string()),
    })))
}

#[utoipa::path(
    post,
    path = "/tickets",
    tag = "tickets",
    summary = "新建工单",
    request_body = crate::domain::tickets::input::TicketCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Input(input): Input<TicketCreate>,
) -> AppResult<Response> {
    let (t, clocks) = desk::open_ticket_with_clocks(&st.ctx, &u, &input, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(desk::created_json(&u, &t, &clocks)),
    )
        .into_response())
}

async fn visible(
    st: &AppState,
    u: &crate::accounts::AuthUser,
    id: &str,
) -> AppResult<crate::store::desk::TicketRow> {
    desk::visible_ticket(&st.ctx, u, parse_id(id)?).await
}

#[utoipa::path(
    get,
    path = "/tickets/{id}",
    tag = "tickets",
    summary = "工单详情（含计时、可用操作、关联）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    Ok(Json(desk::ticket_json(&st.ctx, &u, &t, true).await?))
}

#[utoipa::path(
    patch,
    path = "/tickets/{id}",
    tag = "tickets",
    summary = "修改工单字段",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::domain::tickets::input::TicketUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<TicketUpdate>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    let t = desk::update_ticket(&st.ctx, &u, TicketId(t.id), &input).await?;
    Ok(Json(desk::ticket_json(&st.ctx, &u, &t, true).await?))
}

#[utoipa::path(
    post,
    path = "/tickets/{id}/actions",
    tag = "tickets",
    summary = "工单操作（指派、开始、挂起、解决、关闭等）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::domain::tickets::input::TicketAction,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn action(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<TicketAction>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    let t = desk::apply_action(&st.ctx, &u, TicketId(t.id), &input).await?;
    Ok(Json(desk::ticket_json(&st.ctx, &u, &t, true).await?))
}

#[utoipa::path(
    get,
    path = "/tickets/{id}/events",
    tag = "tickets",
    summary = "工单时间线",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn events(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    let rows = st
        .store
        .ticket_events(t.id, u.role != Role::Requester)
        .await?;
    Ok(Json(all_json(&rows, |r| r.to_json())))
}

#[utoipa::path(
    get,
    path = "/tickets/{id}/comments",
    tag = "tickets",
    summary = "工单评论",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn comments(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    let rows = st.store.comments(t.id, u.role != Role::Requester).await?;
    Ok(Json(all_json(
        &rows,
        |c| json!({"id": c.id, "author": c.author_name, "body": c.body, "internal": c.internal != 0, "created_at": crate::clock::rfc3339(c.created_at)}),
    )))
}

#[utoipa::path(
    post,
    path = "/tickets/{id}/comments",
    tag = "tickets",
    summary = "添加评论",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::domain::tickets::input::CommentInput,
    responses((status = 201, description = "已添加", body = super::openapi::Created))
)]
pub async fn add_comment(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<CommentInput>,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    let cid = desk::comment(&st.ctx, &u, TicketId(t.id), &input).await?;
    Ok(created_id(cid))
}

#[utoipa::path(
    get,
    path = "/tickets/{id}/worklogs",
    tag = "tickets",
    summary = "工时记录",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn worklogs(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    staff_only(&u)?;
    let rows = st.store.worklogs(t.id).await?;
    Ok(Json(all_json(
        &rows,
        |w| json!({"id": w.id, "user": w.user_name, "minutes": w.minutes, "note": w.note, "created_at": crate::clock::rfc3339(w.created_at)}),
    )))
}

#[utoipa::path(
    post,
    path = "/tickets/{id}/worklogs",
    tag = "tickets",
    summary = "登记工时",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::domain::tickets::input::WorklogInput,
    responses((status = 201, description = "已登记", body = super::openapi::Created))
)]
pub async fn add_worklog(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<WorklogInput>,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    let wid = desk::worklog(&st.ctx, &u, TicketId(t.id), &input).await?;
    Ok(created_id(wid))
}

#[utoipa::path(
    get,
    path = "/calendars",
    tag = "calendars",
    summary = "服务日历",
    responses((status = 200, description = "列表；warning 提示缺少节假日安排的年份", body = super::openapi::Page))
)]
pub async fn calendars(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    let crate::holidays::CalendarOverview {
        calendars: rows,
        years,
        warning,
    } = crate::holidays::calendar_overview(&st.ctx, &u).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = r.to_json();
            v["years"] = json!(years.get(&r.id).cloned().unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(
        json!({"total": rows.len(), "items": items, "warning": warning}),
    ))
}

#[utoipa::path(
    get,
    path = "/calendars/{id}",
    tag = "calendars",
    summary = "服务日历详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn calendar_one(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    staff_only(&u)?;
    Ok(Json(st.store.calendar_row(parse_id(&id)?).await?.to_json()))
}

fn date_param(q: &HashMap<String, String>, k: &str) -> AppResult<NaiveDate> {
    let v = q
        .get(k)
        .ok_or_else(|| AppError::invalid(k, format!("请提供 {k}=YYYY-MM-DD")))?;
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(k, format!("{k} 应为 YYYY-MM-DD 日期")))
}

#[utoipa::path(
    get,
    path = "/calendars/{id}/days",
    tag = "calendars",
    summary = "日历逐日安排",
    params(("id" = i64, Path, description = "编号", example = 1), ("from" = String, Query, description = "起始日期 YYYY-MM-DD"), ("to" = String, Query, description = "结束日期 YYYY-MM-DD，区间不超过 3 年")),
    responses((status = 200, description = "逐日是否上班及原因", body = CalendarDays))
)]
pub async fn calendar_days(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    staff_only(&u)?;
    let id = parse_id(&id)?;
    let row = st.store.calendar_row(id).await?;
    let (from, to) = (date_param(&q, "from")?, date_param(&q, "to")?);
    if to < from || (to - from).num_days() > 1096 {
        return Err(AppError::invalid(
            "to",
            "to 应不早于 from，且区间不超过 3 年",
        ));
    }
    let cal = st.store.calendar(id).await?;
    let mut items = Vec::new();
    let mut d = from;
    while d <= to {
        let (working, reason) = if row.kind == "always" {
            (true, "7×24".to_string())
        } else {
            (cal.is_working_day(d), cal.day_reason(d))
        };
        items.push(
            json!({"date": d.format("%Y-%m-%d").to_string(), "working": working, "reason": reason}),
        );
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    Ok(Json(json!({"calendar_id": id, "items": items})))
}

/// Marks a day as holiday or make-up working day (`{"working": bool, "reason": ...}`), or
/// back to the weekday rule (`{"working": null}`).
#[utoipa::path(
    put,
    path = "/calendars/{id}/days/{date}",
    tag = "calendars",
    summary = "设置某天上班或放假",
    params(("id" = i64, Path, description = "编号", example = 1), ("date" = String, Path, description = "日期 YYYY-MM-DD")),
    request_body = crate::domain::tickets::input::CalendarDayInput,
    responses((status = 204, description = "完成"))
)]
pub async fn set_calendar_day(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, date)): Path<(String, String)>,
    Input(input): Input<CalendarDayInput>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    crate::desk::set_calendar_day(&st.ctx, &u, id, &date, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tickets/{id}/fault-report?format=docx|json`: the 故障报告 of a resolved incident.
#[utoipa::path(
    get,
    path = "/tickets/{id}/fault-report",
    tag = "tickets",
    summary = "故障报告（Word 或 JSON）",
    params(("id" = i64, Path, description = "编号", example = 1), ("format" = Option<String>, Query, description = "docx（默认）或 json")),
    responses((status = 200, description = "故障报告", content((super::openapi::Record = "application/json"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))))
)]
pub async fn fault_report(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    let report: serde_json::Map<String, Value> = t
        .fault_report
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| AppError::Conflict("该工单还没有故障报告：故障工单解决时填写".into()))?;
    match q.get("format").map(String::as_str).unwrap_or("docx") {
        "json" => Ok(Json(Value::Object(report)).into_response()),
        "docx" => {
            let bytes = crate::report::fault::docx(&st.ctx, &t, &report).await?;
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        axum::http::HeaderValue::from_static(
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        ),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        crate::web::download::attachment(&format!(
                            "fault-report-{}.docx",
                            t.number
                        )),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(AppError::invalid("format", "format 可选：docx、json")),
    }
}

/// `GET /tickets/stats?from=&to=`: MTTA, MTTR, SLA compliance, on-site within target,
/// first-time fix and satisfaction, in total, per system and per engineer.
#[utoipa::path(
    get,
    path = "/tickets/stats",
    tag = "tickets",
    summary = "工单统计（按类型、优先级、SLA）",
    params(("from" = Option<String>, Query, description = "RFC 3339 时间或日期，默认本月 1 日"), ("to" = Option<String>, Query, description = "RFC 3339 时间或日期（含当天），默认现在")),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn stats(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    staff_only(&u)?;
    let (from, to) = desk::period(&st.ctx, &q)?;
    let rows = st.store.ticket_stat_rows(from, to).await?;
    let o = crate::domain::desk_stats::overview(&rows);
    let mut v = serde_json::to_value(o).map_err(anyhow::Error::from)?;
    v["from"] = json!(crate::clock::rfc3339(from));
    v["to"] = json!(crate::clock::rfc3339(to));
    Ok(Json(v))
}

#[utoipa::path(
    get,
    path = "/tickets/{id}/attachments",
    tag = "tickets",
    summary = "工单附件",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn attachments(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let t = visible(&st, &u, &id).await?;
    let rows = st
        .store
        .attachments(t.id, u.role != Role::Requester)
        .await?;
    Ok(Json(all_json(&rows, |a| a.to_json())))
}

/// `POST /tickets/{id}/attachments`: multipart field `file` (and optional `internal`).
#[utoipa::path(
    post,
    path = "/tickets/{id}/attachments",
    tag = "tickets",
    summary = "上传附件（multipart 字段 file，可选 internal=true）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn upload(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    let mut mp = multipart(req, &st, "字段名 file").await?;
    let too_big = too_large("附件", st.config.max_attachment_bytes);
    let mut file = None;
    let mut internal = false;
    while let Some(field) = next_field(&mut mp, &too_big).await? {
        match field.name() {
            Some("file") => file = Some(file_field(field, &too_big).await?),
            Some("internal") => internal = field.text().await.unwrap_or_default() == "true",
            _ => {}
        }
    }
    let (name, data) =
        file.ok_or_else(|| AppError::invalid("file", "请在表单字段 file 中上传附件"))?;
    let aid = desk::attach(&st.ctx, &u, t.id, &name, &data, internal).await?;
    let row = st.store.attachment(t.id, aid).await?;
    Ok((StatusCode::CREATED, Json(row.to_json())).into_response())
}

#[utoipa::path(
    get,
    path = "/tickets/{id}/attachments/{attachment_id}",
    tag = "tickets",
    summary = "下载附件",
    params(("id" = i64, Path, description = "编号", example = 1), ("attachment_id" = i64, Path, description = "附件编号")),
    responses((status = 200, description = "附件内容（上传时的类型）", content_type = "*/*", body = Vec<u8>))
)]
pub async fn download(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path((id, aid)): Path<(String, String)>,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    let a = st.store.attachment(t.id, parse_id(&aid)?).await?;
    if a.internal != 0 && u.role == Role::Requester {
        return Err(AppError::NotFound);
    }
    let bytes = desk::read_stored(&st.ctx, &a.stored_path).await?;
    Ok(crate::web::download::uploaded(
        &a.content_type,
        &a.file_name,
        bytes,
    ))
}

/// `POST /tickets/{id}/links` `{"ticket_id": N, "kind": "related"|"duplicate"|"caused_by"|"parent"|"child"}`.
#[utoipa::path(
    post,
    path = "/tickets/{id}/links",
    tag = "tickets",
    summary = "关联另一张工单",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::domain::tickets::input::LinkInput,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn add_link(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    Input(input): Input<LinkInput>,
) -> AppResult<Response> {
    let t = visible(&st, &u, &id).await?;
    desk::link(&st.ctx, &u, TicketId(t.id), &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(desk::ticket_json(&st.ctx, &u, &st.store.ticket(t.id).await?, true).await?),
    )
        .into_response())
}
