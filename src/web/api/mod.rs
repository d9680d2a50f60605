//! The JSON API under `/api/v1`.

pub mod audit;
pub mod auth;
pub mod calendars;
pub mod inventory;
pub mod monitors;
pub mod notify;
pub mod openapi;
pub mod ticket_export;
pub mod tickets;
pub mod users;

use std::collections::HashMap;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use super::AppState;
use crate::error::AppError;

pub fn router(state: &AppState) -> Router<AppState> {
    let import_limit = state.ctx.config.max_import_bytes;
    // Intake bodies have their own bound, checked before they are read whole.
    let intake_limit = DefaultBodyLimit::max(crate::monitor::intake::MAX_BODY_BYTES);
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/password", post(auth::change_password))
        .route("/me", get(auth::me))
        .route("/me/messages", get(auth::list_messages))
        .route("/me/messages/read-all", post(auth::read_all_messages))
        .route("/me/messages/{id}/read", post(auth::read_message))
        .route(
            "/api-tokens",
            get(auth::list_tokens).post(auth::create_token),
        )
        .route("/api-tokens/{id}", delete(auth::revoke_token))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get_one)
                .patch(users::update)
                .delete(users::remove),
        )
        .route("/users/{id}/reset-password", post(users::reset_password))
        .route("/audit-events", get(audit::list))
        .route("/audit-events/verify", get(audit::verify))
        .route("/audit-events/{id}", get(audit::get_one))
        .route("/inventory/summary", get(inventory::summary))
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/stats", get(tickets::stats))
        .route("/tickets/export", get(ticket_export::export))
        .route(
            "/tickets/{id}",
            get(tickets::get_one).patch(tickets::update),
        )
        .route("/tickets/{id}/actions", post(tickets::action))
        .route("/tickets/{id}/events", get(tickets::events))
        .route("/tickets/{id}/fault-report", get(tickets::fault_report))
        .route("/tickets/{id}/links", post(tickets::add_link))
        .route(
            "/tickets/{id}/attachments",
            get(tickets::attachments)
                .post(tickets::upload)
                .layer(DefaultBodyLimit::max(
                    state.ctx.config.max_attachment_bytes + 64 * 1024,
                )),
        )
        .route(
            "/tickets/{id}/attachments/{attachment_id}",
            get(tickets::download),
        )
        .route(
            "/tickets/{id}/comments",
            get(tickets::comments).post(tickets::add_comment),
        )
        .route(
            "/tickets/{id}/worklogs",
            get(tickets::worklogs).post(tickets::add_worklog),
        )
        .route(
            "/notification-channels",
            get(notify::list_channels).post(notify::create_channel),
        )
        .route(
            "/notification-channels/{id}",
            get(notify::get_channel)
                .patch(notify::update_channel)
                .delete(notify::delete_channel),
        )
        .route(
            "/notification-rules",
            get(notify::list_rules).post(notify::create_rule),
        )
        .route(
            "/notification-rules/{id}",
            get(notify::get_rule).delete(notify::delete_rule),
        )
        .route("/notification-outbox", get(notify::outbox))
        .route("/calendars", get(tickets::calendars))
        .route("/calendars/{id}", get(tickets::calendar_one))
        .route("/calendars/{id}/days", get(tickets::calendar_days))
        .route(
            "/calendars/{id}/import",
            post(calendars::import).layer(DefaultBodyLimit::max(calendars::BODY_LIMIT)),
        )
        .route(
            "/calendars/{id}/days/{date}",
            axum::routing::put(tickets::set_calendar_day),
        )
        .route("/monitors", get(monitors::list).post(monitors::create))
        .route(
            "/monitors/{id}",
            get(monitors::get_one)
                .patch(monitors::update)
                .delete(monitors::remove),
        )
        .route("/monitors/{id}/check", post(monitors::check))
        .route("/monitors/{id}/results", get(monitors::results))
        .route("/monitors/{id}/availability", get(monitors::availability))
        .route(
            "/systems/{id}/availability",
            get(monitors::system_availability),
        )
        .route(
            "/maintenance-windows",
            get(monitors::list_maintenance).post(monitors::create_maintenance),
        )
        .route(
            "/maintenance-windows/{id}",
            delete(monitors::delete_maintenance),
        )
        .route("/alerts", get(monitors::list_alerts))
        .route("/alerts/{id}", get(monitors::get_alert))
        .route(
            "/alerts/{id}/acknowledge",
            post(monitors::acknowledge_alert),
        )
        .route("/alerts/{id}/silence", post(monitors::silence_alert))
        .route(
            "/integrations",
            get(monitors::list_integrations).post(monitors::create_integration),
        )
        .route("/integrations/{id}", delete(monitors::delete_integration))
        .route(
            "/integrations/alertmanager",
            post(monitors::intake_alertmanager).layer(intake_limit),
        )
        .route(
            "/integrations/zabbix",
            post(monitors::intake_zabbix).layer(intake_limit),
        )
        .route(
            "/integrations/events",
            post(monitors::intake_events).layer(intake_limit),
        )
        .route(
            "/heartbeat/{token}",
            get(monitors::heartbeat).post(monitors::heartbeat),
        )
        .route(
            "/heartbeat/{token}/{action}",
            get(monitors::heartbeat_action).post(monitors::heartbeat_action),
        )
        .route(
            "/duty-shifts",
            get(monitors::list_shifts).post(monitors::create_shift),
        )
        .route("/duty-shifts/{id}", delete(monitors::delete_shift))
        .route("/systems/{id}/assets", get(inventory::system_assets))
        .route(
            "/systems/{id}/assets/{asset_id}",
            axum::routing::put(inventory::link_asset).delete(inventory::unlink_asset),
        )
        .route(
            "/systems/{id}/assignments",
            get(inventory::system_assignments),
        )
        .route(
            "/{collection}/import",
            post(inventory::import).layer(DefaultBodyLimit::max(import_limit)),
        )
        .route("/{collection}/export", get(inventory::export))
        .route(
            "/{collection}",
            get(inventory::list).post(inventory::create),
        )
        .route(
            "/{collection}/{id}",
            get(inventory::get_one)
                .patch(inventory::update)
                .delete(inventory::remove),
        )
        .route("/{collection}/{id}/history", get(inventory::history))
}

/// `limit` / `offset` of a list request.
#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

impl Paging {
    pub fn from_query(q: &HashMap<String, String>) -> Result<Paging, AppError> {
        let limit = match q.get("limit").map(String::as_str) {
            None | Some("") => DEFAULT_LIMIT,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::invalid("limit", format!("limit 应为 1 到 {MAX_LIMIT} 之间的整数"))
                })?,
        };
        let offset = match q.get("offset").map(String::as_str) {
            None | Some("") => 0,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| AppError::invalid("offset", "offset 应为不小于 0 的整数"))?,
        };
        Ok(Paging { limit, offset })
    }
}

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (Beijing midnight) from a query value.
pub fn parse_time_param(name: &str, v: &str) -> Result<i64, AppError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        && let Some(t) = d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(crate::clock::beijing()).single())
    {
        return Ok(t.timestamp_millis());
    }
    Err(AppError::invalid(
        name,
        format!("{name} 应为 RFC 3339 时间（如 2025-01-01T00:00:00+08:00）或日期（2025-01-01）"),
    ))
}
