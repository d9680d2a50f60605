//! The JSON API under `/api/v1`.

pub mod acceptance;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod backup_drills;
pub mod calendars;
pub mod cloud;
pub mod contract;
pub mod demo;
pub mod inspections;
pub mod inventory;
pub mod monitors;
pub mod notify;
pub mod openapi;
pub mod operations;
pub mod reports;
pub mod requirements;
pub mod screen;
pub mod search;
pub mod team;
pub mod ticket_export;
pub mod tickets;
pub mod users;

use std::collections::HashMap;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use serde_json::{Value, json};

use super::AppState;
use crate::error::AppError;

/// The body limits of the routes that take files (the document does not depend on them).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub import: usize,
    pub attachment: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            import: 10 * 1024 * 1024,
            attachment: 20 * 1024 * 1024,
        }
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    let limits = Limits {
        import: state.ctx.config.max_import_bytes,
        attachment: state.ctx.config.max_attachment_bytes,
    };
    routes(&limits).split_for_parts().0
}

/// Every route of the API with its documentation. Routes are only ever added with
/// `routes!`, which registers the handler and its `#[utoipa::path]` together; the test
/// `every_route_is_documented_and_every_documented_route_exists` holds the router's own
/// route table against the document.
pub fn routes(limits: &Limits) -> OpenApiRouter<AppState> {
    // Intake bodies have their own bound, checked before they are read whole.
    let intake_limit = DefaultBodyLimit::max(crate::monitor::intake::MAX_BODY_BYTES);
    OpenApiRouter::new()
        .routes(routes!(openapi::serve))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::me))
        .routes(routes!(auth::list_messages))
        .routes(routes!(auth::read_all_messages))
        .routes(routes!(auth::read_message))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get_one, users::update, users::remove))
        .routes(routes!(users::reset_password))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::get_one))
        .routes(routes!(demo::status, demo::remove))
        .routes(routes!(inventory::summary))
        .routes(routes!(search::search))
        .routes(routes!(
            inspections::list_templates,
            inspections::create_template
        ))
        .routes(routes!(
            inspections::get_template,
            inspections::update_template,
            inspections::delete_template
        ))
        .routes(routes!(inspections::list_plans, inspections::create_plan))
        .routes(routes!(
            inspections::get_plan,
            inspections::update_plan,
            inspections::delete_plan
        ))
        .routes(routes!(inspections::run_plan))
        .routes(routes!(inspections::list_tasks))
        .routes(routes!(inspections::get_task))
        .routes(routes!(inspections::save_results))
        .routes(routes!(inspections::task_action))
        .routes(
            routes!(inspections::upload_photo)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(inspections::photo))
        .routes(routes!(inspections::list_findings))
        .routes(routes!(inspections::stats))
        .routes(routes!(reports::list, reports::create))
        .routes(routes!(reports::get_one))
        .routes(routes!(reports::file))
        .routes(routes!(operations::list_lines, operations::create_line))
        .routes(routes!(operations::get_line, operations::update_line))
        .routes(routes!(operations::line_stats))
        .routes(routes!(operations::recent_requesters))
        .routes(routes!(operations::list_records, operations::create_record))
        .routes(routes!(operations::confirmation_link))
        .routes(routes!(operations::import_records).layer(DefaultBodyLimit::max(limits.import)))
        .routes(routes!(
            operations::get_record,
            operations::update_record,
            operations::delete_record
        ))
        .routes(routes!(cloud::list_cloud))
        .routes(routes!(cloud::import_cloud).layer(DefaultBodyLimit::max(limits.import)))
        .routes(routes!(cloud::cloud_summary))
        .routes(routes!(
            cloud::get_cloud_thresholds,
            cloud::set_cloud_thresholds
        ))
        .routes(routes!(cloud::get_cloud, cloud::delete_cloud))
        .routes(routes!(requirements::list, requirements::create))
        .routes(routes!(requirements::get_one, requirements::update))
        .routes(routes!(requirements::transition))
        .routes(routes!(backup::list_policies, backup::create_policy))
        .routes(routes!(
            backup::get_policy,
            backup::update_policy,
            backup::delete_policy
        ))
        .routes(routes!(backup::reissue_report_url))
        .routes(routes!(backup::list_runs, backup::create_run))
        .routes(routes!(backup::coverage))
        .routes(routes!(backup::report_run).layer(DefaultBodyLimit::max(256 * 1024)))
        .routes(routes!(
            backup_drills::list_drills,
            backup_drills::create_drill
        ))
        .routes(routes!(
            backup_drills::get_drill,
            backup_drills::update_drill,
            backup_drills::delete_drill
        ))
        .routes(
            routes!(
                backup_drills::list_drill_files,
                backup_drills::add_drill_file
            )
            .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(
            backup_drills::drill_file,
            backup_drills::delete_drill_file
        ))
        .routes(
            routes!(backup_drills::list_run_files, backup_drills::add_run_file)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(
            backup_drills::run_file,
            backup_drills::delete_run_file
        ))
        .routes(routes!(contract::get_contract, contract::update_contract))
        .routes(routes!(
            contract::list_deliverables,
            contract::create_deliverable
        ))
        .routes(routes!(
            contract::get_deliverable,
            contract::update_deliverable
        ))
        .routes(routes!(contract::deliverable_template))
        .routes(routes!(contract::list_instances))
        .routes(routes!(contract::get_instance))
        .routes(
            routes!(contract::submit_version)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(contract::version_file))
        .routes(routes!(contract::review_instance))
        .routes(routes!(acceptance::download))
        .routes(routes!(acceptance::summary))
        .routes(routes!(team::get_compliance))
        .routes(routes!(team::get_rules, team::set_rules))
        .routes(routes!(team::list_changes, team::create_change))
        .routes(routes!(team::get_change))
        .routes(routes!(team::decide_change))
        .routes(routes!(
            screen::list_display_links,
            screen::create_display_link
        ))
        .routes(routes!(screen::revoke_display_link))
        .routes(routes!(screen::display_screen))
        .routes(routes!(screen::screen_data))
        .routes(routes!(screen::system_overview))
        .routes(routes!(team::nominate_change))
        .routes(
            routes!(team::list_change_files, team::add_change_file)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(team::change_file))
        .routes(routes!(team::list_certificates, team::add_certificate))
        .routes(routes!(team::remove_certificate))
        .routes(
            routes!(team::list_documents, team::upload_document)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(team::document_file))
        .routes(routes!(reports::texts))
        .routes(routes!(reports::text, reports::update_text))
        .routes(routes!(tickets::list, tickets::create))
        .routes(routes!(tickets::stats))
        .routes(routes!(ticket_export::export))
        .routes(routes!(tickets::get_one, tickets::update))
        .routes(routes!(tickets::action))
        .routes(routes!(tickets::events))
        .routes(routes!(tickets::fault_report))
        .routes(routes!(tickets::add_link))
        .routes(
            routes!(tickets::attachments, tickets::upload)
                .layer(DefaultBodyLimit::max(limits.attachment + 64 * 1024)),
        )
        .routes(routes!(tickets::download))
        .routes(routes!(tickets::comments, tickets::add_comment))
        .routes(routes!(tickets::worklogs, tickets::add_worklog))
        .routes(routes!(notify::list_channels, notify::create_channel))
        .routes(routes!(
            notify::get_channel,
            notify::update_channel,
            notify::delete_channel
        ))
        .routes(routes!(notify::list_rules, notify::create_rule))
        .routes(routes!(notify::get_rule, notify::delete_rule))
        .routes(routes!(notify::outbox))
        .routes(routes!(tickets::calendars))
        .routes(routes!(tickets::calendar_one))
        .routes(routes!(tickets::calendar_days))
        .routes(routes!(calendars::import).layer(DefaultBodyLimit::max(calendars::BODY_LIMIT)))
        .routes(routes!(tickets::set_calendar_day))
        .routes(routes!(monitors::list, monitors::create))
        .routes(routes!(
            monitors::get_one,
            monitors::update,
            monitors::remove
        ))
        .routes(routes!(monitors::check))
        .routes(routes!(monitors::results))
        .routes(routes!(monitors::availability))
        .routes(routes!(monitors::system_availability))
        .routes(routes!(
            monitors::list_maintenance,
            monitors::create_maintenance
        ))
        .routes(routes!(monitors::delete_maintenance))
        .routes(routes!(monitors::alerts::list_alerts))
        .routes(routes!(monitors::alerts::get_alert))
        .routes(routes!(monitors::alerts::acknowledge_alert))
        .routes(routes!(monitors::alerts::silence_alert))
        .routes(routes!(
            monitors::integrations::list_integrations,
            monitors::integrations::create_integration
        ))
        .routes(routes!(monitors::integrations::delete_integration))
        .routes(routes!(monitors::intake::intake_alertmanager).layer(intake_limit))
        .routes(routes!(monitors::intake::intake_zabbix).layer(intake_limit))
        .routes(routes!(monitors::intake::intake_events).layer(intake_limit))
        .routes(routes!(monitors::intake::heartbeat))
        .routes(routes!(monitors::intake::heartbeat_action))
        .routes(routes!(
            monitors::duty::list_shifts,
            monitors::duty::create_shift
        ))
        .routes(routes!(monitors::duty::delete_shift))
        .routes(routes!(monitors::duty::copy_week))
        .routes(routes!(monitors::duty::swap_shifts))
        .routes(routes!(inventory::system_assets))
        .routes(routes!(inventory::link_asset, inventory::unlink_asset))
        .routes(routes!(inventory::system_assignments))
        .routes(routes!(inventory::import).layer(DefaultBodyLimit::max(limits.import)))
        .routes(routes!(inventory::export))
        .routes(routes!(inventory::list, inventory::create))
        .routes(routes!(
            inventory::get_one,
            inventory::update,
            inventory::remove
        ))
        .routes(routes!(inventory::history))
}

/// An import file (CSV or XLSX, multipart field `file` or the raw body) of at most
/// `max_import_bytes`.
pub async fn read_import(
    req: axum::extract::Request,
    st: &AppState,
) -> Result<(String, Vec<u8>), AppError> {
    let too_big = || {
        AppError::PayloadTooLarge(format!(
            "文件过大，最大 {} MB",
            st.config.max_import_bytes / 1024 / 1024
        ))
    };
    crate::web::extract::read_upload(req, st, too_big, "CSV 或 XLSX").await
}

/// A page of a list as answered: `{"total": …, "items": […]}`, every row shown with
/// `show`, `total` counting the whole filtered list.
pub fn list_json<T>(rows: &[T], total: i64, show: impl Fn(&T) -> Value) -> Value {
    json!({"total": total, "items": rows.iter().map(show).collect::<Vec<_>>()})
}

/// A whole list as answered: `{"total": …, "items": […]}` with every row.
pub fn all_json<T>(rows: &[T], show: impl Fn(&T) -> Value) -> Value {
    list_json(rows, rows.len() as i64, show)
}

/// `201 Created` with the new row's id: `{"id": …}`.
pub fn created_id(id: i64) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({ "id": id })),
    )
        .into_response()
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

pub use crate::clock::parse_time_param;
