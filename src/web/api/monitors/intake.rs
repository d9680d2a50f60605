//! What other systems push: Alertmanager webhooks, Zabbix events, generic events (each
//! authenticated by its source's token), and heartbeats (by the monitor's token).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::{AppError, AppResult};
use crate::monitor::{intake, integrations};
use crate::store::monitor::IntegrationRow;
use crate::web::AppState;

/// The integration a request speaks for: bearer token or `?token=`, of the right kind.
async fn intake_source(
    st: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    kind: &str,
) -> AppResult<IntegrationRow> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .or_else(|| q.get("token").map(String::as_str));
    integrations::source(&st.ctx, token, kind).await
}

/// An intake body as read by axum: a body over the route's limit is a 413 in Chinese.
type IntakeBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The intake body's bytes; the service bounds and parses them.
fn body_bytes(body: IntakeBody) -> AppResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "请求体超过上限 {} 字节（1 MB），请减少一次发送的告警数量",
                intake::MAX_BODY_BYTES
            ))
        } else {
            AppError::BadRequest("无法读取请求体".into())
        }
    })
}

/// `POST /integrations/alertmanager`: the Alertmanager webhook (version 4).
#[utoipa::path(
    post,
    path = "/integrations/alertmanager",
    tag = "intake",
    summary = "Alertmanager webhook（version 4）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::AlertmanagerWebhook,
    responses((status = 200, description = "成功", body = crate::web::api::openapi::Record))
)]
pub async fn intake_alertmanager(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Json<Value>> {
    let src = intake_source(&st, &headers, &q, "alertmanager").await?;
    let out = intake::alertmanager(&st.ctx, &src, &body_bytes(body)?).await?;
    let out: Vec<Value> = out
        .iter()
        .map(|r| {
            json!({"fingerprint": r.fingerprint, "status": r.status,
                   "outcome": intake::outcome_str(&r.outcome),
                   "alert_id": r.alert.as_ref().map(|a| a.id),
                   "ticket_id": r.alert.as_ref().and_then(|a| a.ticket_id)})
        })
        .collect();
    Ok(Json(json!({"received": out.len(), "results": out})))
}

/// `POST /integrations/zabbix`: the payload of the media type shipped in
/// `integrations/zabbix/media_yunwei.yaml`; answers the ticket to write back as tags.
#[utoipa::path(
    post,
    path = "/integrations/zabbix",
    tag = "intake",
    summary = "Zabbix 媒介（integrations/zabbix/media_yunwei.yaml）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::ZabbixEvent,
    responses((status = 200, description = "成功", body = crate::web::api::openapi::Record))
)]
pub async fn intake_zabbix(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Json<Value>> {
    let src = intake_source(&st, &headers, &q, "zabbix").await?;
    let r = intake::zabbix(&st.ctx, &src, &body_bytes(body)?).await?;
    let mut tags = Map::new();
    if let Some(t) = &r.ticket {
        tags.insert("__yunwei_ticket".into(), json!(t.number));
        tags.insert("__yunwei_ticket_id".into(), json!(t.id.to_string()));
    }
    Ok(Json(
        json!({"outcome": intake::outcome_str(&r.outcome), "alert_id": r.alert.as_ref().map(|a| a.id),
                   "ticket_id": r.ticket.as_ref().map(|t| t.id), "ticket_number": r.ticket.as_ref().map(|t| t.number.clone()),
                   "tags": tags}),
    ))
}

/// `POST /integrations/events`: a generic event in the PagerDuty Events v2 shape.
#[utoipa::path(
    post,
    path = "/integrations/events",
    tag = "intake",
    summary = "通用事件（PagerDuty Events v2 格式）",
    params(("token" = Option<String>, Query, description = "接入令牌（也可用 Authorization: Bearer）")),
    request_body = crate::monitor::input::EventInput,
    responses((status = 202, description = "已接收", body = crate::web::api::openapi::Record))
)]
pub async fn intake_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: IntakeBody,
) -> AppResult<Response> {
    let src = intake_source(&st, &headers, &q, "events").await?;
    let dedup = intake::event(&st.ctx, &src, &body_bytes(body)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
    )
        .into_response())
}

// ---- heartbeats --------------------------------------------------------------------------

/// The answer to a heartbeat.
#[derive(utoipa::ToSchema)]
pub struct BeatAnswer {
    pub ok: bool,
    pub monitor_id: i64,
    pub state: String,
}

#[utoipa::path(
    method(get, post),
    path = "/heartbeat/{token}",
    tag = "intake",
    summary = "心跳（任务成功）",
    params(("token" = String, Path, description = "心跳令牌"), ("duration_s" = Option<f64>, Query, description = "任务耗时（秒）"), ("duration_ms" = Option<f64>, Query, description = "任务耗时（毫秒）"), ("size_bytes" = Option<f64>, Query, description = "产出大小（字节）")),
    responses((status = 200, description = "已记录", body = BeatAnswer))
)]
pub async fn heartbeat(
    State(st): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let m = crate::monitor::beat(&st.ctx, &token, "ping", &q, &body).await?;
    Ok(Json(
        json!({"ok": true, "monitor_id": m.id, "state": m.state}),
    ))
}

#[utoipa::path(
    method(get, post),
    path = "/heartbeat/{token}/{action}",
    tag = "intake",
    summary = "任务开始（start）或失败（fail）",
    params(("token" = String, Path, description = "心跳令牌"), ("action" = String, Path, description = "start 或 fail"), ("duration_s" = Option<f64>, Query, description = "任务耗时（秒）"), ("duration_ms" = Option<f64>, Query, description = "任务耗时（毫秒）"), ("size_bytes" = Option<f64>, Query, description = "产出大小（字节）")),
    responses((status = 200, description = "已记录", body = BeatAnswer))
)]
pub async fn heartbeat_action(
    State(st): State<AppState>,
    Path((token, action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    if action == "ping" {
        // Only `start` and `fail` are actions; a ping is `/heartbeat/{token}`.
        return Err(AppError::NotFound);
    }
    let m = crate::monitor::beat(&st.ctx, &token, &action, &q, &body).await?;
    Ok(Json(
        json!({"ok": true, "monitor_id": m.id, "state": m.state}),
    ))
}
