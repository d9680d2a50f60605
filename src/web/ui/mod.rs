//! Server-rendered pages in Chinese (minijinja, auto-escaped), with htmx for partial
//! updates. Pages call the same services as the API.

pub mod admin;
pub mod backups;
pub mod cloud;
pub mod contract;
pub mod demo;
pub mod duty;
pub mod holidays;
pub mod inbox;
pub mod inspections;
pub mod inventory;
pub mod monitor_fields;
pub mod monitor_form;
pub mod monitoring;
pub mod operations;
pub mod pages;
pub mod reports;
pub mod requirements;
pub mod screen;
pub mod search;
pub mod team;
pub mod tickets;

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use percent_encoding::utf8_percent_encode;
use serde::Serialize;

use super::AppState;
use crate::accounts::AuthUser;
use crate::domain::roles::{Perm, Role};
use crate::error::AppError;
use crate::web::auth::QUERY_VALUE;

const TEMPLATES: &[(&str, &str)] = &[
    ("demo.html", include_str!("../../../templates/demo.html")),
    (
        "inspection_list.html",
        include_str!("../../../templates/inspection_list.html"),
    ),
    (
        "inspection_task.html",
        include_str!("../../../templates/inspection_task.html"),
    ),
    (
        "reports.html",
        include_str!("../../../templates/reports.html"),
    ),
    (
        "confirm.html",
        include_str!("../../../templates/confirm.html"),
    ),
    (
        "operations.html",
        include_str!("../../../templates/operations.html"),
    ),
    (
        "operation_line.html",
        include_str!("../../../templates/operation_line.html"),
    ),
    (
        "requirements.html",
        include_str!("../../../templates/requirements.html"),
    ),
    (
        "requirement.html",
        include_str!("../../../templates/requirement.html"),
    ),
    ("cloud.html", include_str!("../../../templates/cloud.html")),
    (
        "backups.html",
        include_str!("../../../templates/backups.html"),
    ),
    (
        "deliverables.html",
        include_str!("../../../templates/deliverables.html"),
    ),
    (
        "acceptance.html",
        include_str!("../../../templates/acceptance.html"),
    ),
    (
        "report_texts.html",
        include_str!("../../../templates/report_texts.html"),
    ),
    ("base.html", include_str!("../../../templates/base.html")),
    (
        "macros.html",
        include_str!("../../../templates/macros.html"),
    ),
    ("login.html", include_str!("../../../templates/login.html")),
    (
        "password.html",
        include_str!("../../../templates/password.html"),
    ),
    (
        "overview.html",
        include_str!("../../../templates/overview.html"),
    ),
    (
        "entity_list.html",
        include_str!("../../../templates/entity_list.html"),
    ),
    (
        "entity_table.html",
        include_str!("../../../templates/entity_table.html"),
    ),
    (
        "entity_detail.html",
        include_str!("../../../templates/entity_detail.html"),
    ),
    (
        "entity_form.html",
        include_str!("../../../templates/entity_form.html"),
    ),
    ("users.html", include_str!("../../../templates/users.html")),
    (
        "user_form.html",
        include_str!("../../../templates/user_form.html"),
    ),
    ("audit.html", include_str!("../../../templates/audit.html")),
    (
        "tokens.html",
        include_str!("../../../templates/tokens.html"),
    ),
    (
        "message.html",
        include_str!("../../../templates/message.html"),
    ),
    (
        "ticket_list.html",
        include_str!("../../../templates/ticket_list.html"),
    ),
    ("desk.html", include_str!("../../../templates/desk.html")),
    (
        "messages.html",
        include_str!("../../../templates/messages.html"),
    ),
    (
        "search.html",
        include_str!("../../../templates/search.html"),
    ),
    (
        "calendars.html",
        include_str!("../../../templates/calendars.html"),
    ),
    (
        "calendar.html",
        include_str!("../../../templates/calendar.html"),
    ),
    (
        "calendar_import.html",
        include_str!("../../../templates/calendar_import.html"),
    ),
    (
        "monitors.html",
        include_str!("../../../templates/monitors.html"),
    ),
    (
        "monitor_form.html",
        include_str!("../../../templates/monitor_form.html"),
    ),
    (
        "monitor_detail.html",
        include_str!("../../../templates/monitor_detail.html"),
    ),
    (
        "alerts.html",
        include_str!("../../../templates/alerts.html"),
    ),
    (
        "screen.html",
        include_str!("../../../templates/screen.html"),
    ),
    (
        "screen_grid.html",
        include_str!("../../../templates/screen_grid.html"),
    ),
    (
        "display_links.html",
        include_str!("../../../templates/display_links.html"),
    ),
    (
        "system_overview.html",
        include_str!("../../../templates/system_overview.html"),
    ),
    ("duty.html", include_str!("../../../templates/duty.html")),
    ("team.html", include_str!("../../../templates/team.html")),
    (
        "ticket_form.html",
        include_str!("../../../templates/ticket_form.html"),
    ),
    (
        "ticket_detail.html",
        include_str!("../../../templates/ticket_detail.html"),
    ),
];

pub struct Ui {
    env: Environment<'static>,
}

impl Default for Ui {
    fn default() -> Self {
        Self::new()
    }
}

impl Ui {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // `{{ asset("app.css") }}`: the content-hashed URL, cached by browsers for a year.
        // The URL is `/static/` and a compiled-in name with hex digits: nothing to escape
        // (auto-escaping would write the slashes as `&#x2f;`).
        env.add_function("asset", |name: &str| {
            crate::web::assets::url(name)
                .map(minijinja::Value::from_safe_string)
                .ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("no static asset named {name}"),
                    )
                })
        });
        // `{{ n|num }}`: a count with thousands separators (`100,000`); anything else as is.
        env.add_filter("num", |v: minijinja::Value| -> String {
            match i64::try_from(v.clone()) {
                Ok(n) => crate::domain::home::thousands(n),
                Err(_) => v.to_string(),
            }
        });
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                // Templates are compiled into the binary and covered by tests.
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        Ui { env }
    }

    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, AppError> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("template {name}: {e}")))?;
        t.render(minijinja::Value::from(minijinja::value::Serde(&ctx)))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))
    }

    pub fn page<S: Serialize>(&self, name: &str, ctx: S) -> Result<Html<String>, AppError> {
        self.render(name, ctx).map(Html)
    }

    /// A page that shows a form: 422 when what was posted was refused, else 200.
    pub fn form_page<S: Serialize>(
        &self,
        name: &str,
        ctx: S,
        refused: bool,
    ) -> Result<Response, AppError> {
        let status = if refused {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        Ok((status, self.page(name, ctx)?).into_response())
    }
}

/// One item of the left navigation.
#[derive(Serialize)]
pub struct NavItem {
    pub group: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// What every page's layout needs: the user and the navigation they may see.
#[derive(Serialize)]
pub struct Layout {
    pub user_name: String,
    pub username: String,
    pub role_label: &'static str,
    /// The header's "who": the name, and the role when the name does not already say it
    /// (the admin account is called 系统管理员).
    pub who: String,
    pub nav: Vec<NavItem>,
    pub title: String,
    /// The demo banner, while demo rows exist (see [`demo_flag`]).
    pub demo: Option<DemoBanner>,
}

/// The layout's "演示数据" banner: the admin also gets the link to the removal page.
#[derive(Serialize)]
pub struct DemoBanner {
    pub admin: bool,
}

tokio::task_local! {
    /// Whether demo rows existed when this page request came in (set by [`demo_flag`]).
    static DEMO_LOADED: bool;
}

/// Middleware of the pages: whether demo rows exist, for the layout's banner (cached,
/// see `Store::demo_banner`; unset, as in a unit test, means no banner).
pub async fn demo_flag(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let loaded = match st.store.demo_banner().await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the demo marks");
            false
        }
    };
    DEMO_LOADED.scope(loaded, next.run(req)).await
}

/// Whether this page request saw demo rows.
pub fn demo_loaded() -> bool {
    DEMO_LOADED.try_with(|b| *b).unwrap_or(false)
}

/// A list page's query as `k=v&` pairs (percent-encoded, empty values and the `skip` keys
/// left out), to which the pager and the sort links append their own.
pub fn query_base(q: &HashMap<String, String>, skip: &[&str]) -> String {
    q.iter()
        .filter(|(k, v)| !skip.contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{}={}&",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )
        })
        .collect()
}

pub fn layout(u: &AuthUser, title: &str, current: &str) -> Layout {
    let mut nav = Vec::new();
    let mut add = |group, label, href: &'static str| {
        nav.push(NavItem {
            group,
            label,
            href,
            active: current == href,
        });
    };
    add("", "概览", "/");
    if u.role == Role::Requester {
        add("服务台", "我要报障", "/tickets/new");
        add("服务台", "我的工单", "/tickets");
    } else {
        add("服务台", "服务台概览", "/desk");
        add("服务台", "工单", "/tickets");
        if !matches!(u.role, Role::Auditor | Role::Supervisor) {
            add("服务台", "新建工单", "/tickets/new");
        }
        // With the rest of the desk: the navigation shows a group's heading each time
        // the group changes, so a group split in two was listed twice.
        if u.role.can(Perm::ReadInventory) {
            add("服务台", "SLA 策略", "/sla-policies");
            add("服务台", "工作日历", "/calendars");
        }
    }
    if u.role.can(Perm::ReadMonitoring) {
        add("监控告警", "监控大屏", "/screen");
        add("监控告警", "监控项", "/monitors");
        add("监控告警", "告警", "/alerts");
        add("监控告警", "值班表", "/duty");
    }
    if u.role.can(Perm::ReadInventory) {
        add("资产与配置", "机房", "/sites");
        add("资产与配置", "设备", "/assets");
        add("资产与配置", "信息系统", "/systems");
        add("资产与配置", "团队成员", "/staff");
        add("资产与配置", "岗位安排", "/assignments");
        add("资产与配置", "团队合规", "/team");
    } else if u.role.can(Perm::ReadSystems) {
        add("资产与配置", "信息系统", "/systems");
    }
    if u.role.can(Perm::ManageUsers) {
        add("安全与审计", "账号管理", "/users");
        add("安全与审计", "大屏展示链接", "/display-links");
    }
    if u.role.can(Perm::ReadAudit) {
        add("安全与审计", "审计日志", "/audit");
    }
    if u.role != Role::Requester {
        add("巡检与报告", "巡检任务", "/inspections");
        add("巡检与报告", "报告", "/reports");
        add("巡检与报告", "交付物日历", "/deliverables");
        if matches!(
            u.role,
            Role::Supervisor | Role::Auditor | Role::Manager | Role::Admin
        ) {
            add("巡检与报告", "符合性审查", "/acceptance");
        }
    }
    if u.role != Role::Requester {
        add("运营服务", "服务条线", "/operations");
    }
    // Everyone reads requirements (a requester their own); every role but the requester
    // reads the cloud resources (`crate::requirements`, `crate::cloud::check_read`).
    add("运营服务", "需求与改进", "/requirements");
    if u.role != Role::Requester {
        add("运营服务", "云资源利用率", "/cloud");
    }
    // Everyone but requesters reads backups (`domain::backup::may_read`).
    if crate::domain::backup::may_read(u.role) {
        add("运营服务", "备份监督", "/backups");
    }
    add("我的", "消息", "/messages");
    add("我的", "修改密码", "/password");
    if u.role != Role::Requester {
        add("我的", "API 令牌", "/tokens");
    }
    Layout {
        user_name: u.display_name.clone(),
        username: u.username.clone(),
        role_label: u.role.label(),
        who: if u.display_name == u.role.label() {
            u.display_name.clone()
        } else {
            format!("{}（{}）", u.display_name, u.role.label())
        },
        nav,
        title: title.to_string(),
        demo: demo_loaded().then_some(DemoBanner {
            admin: u.role == Role::Admin,
        }),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route(
            "/password",
            get(pages::password_form).post(pages::password_submit),
        )
        .route("/tokens", get(pages::tokens).post(pages::token_create))
        .route("/tokens/{id}/revoke", post(pages::token_revoke))
        .route("/users", get(admin::users).post(admin::user_create))
        .route("/users/new", get(admin::user_new))
        .route(
            "/users/{id}",
            get(admin::user_edit).post(admin::user_update),
        )
        .route("/users/{id}/reset", post(admin::user_reset))
        .route("/audit", get(admin::audit))
        .route("/demo", get(demo::page).post(demo::remove))
        .route("/audit/export", get(admin::audit_export))
        .route(
            "/tickets",
            get(tickets::list)
                .post(tickets::create)
                .layer(axum::extract::DefaultBodyLimit::max(6 * 64 * 1024 * 1024)),
        )
        .route("/tickets/new", get(tickets::new_form))
        .route("/desk", get(tickets::overview))
        .route("/inspections", get(inspections::list))
        .route(
            "/inspections/tasks/{id}",
            get(inspections::task).post(inspections::post),
        )
        .route("/inspections/tasks/{id}/draft", post(inspections::draft))
        .route(
            "/inspections/tasks/{id}/photos",
            post(inspections::photo).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route("/reports", get(reports::list).post(reports::generate))
        .route("/deliverables", get(contract::calendar))
        .route("/acceptance", get(contract::acceptance))
        .route(
            "/confirm/{token}",
            get(operations::confirm_form).post(operations::confirm_submit),
        )
        .route("/operations", get(operations::list))
        .route("/operations/lines/{id}", get(operations::line))
        .route("/operations/lines/{id}/records", post(operations::create))
        .route(
            "/requirements",
            get(requirements::list).post(requirements::create),
        )
        .route("/requirements/{id}", get(requirements::detail))
        .route(
            "/requirements/{id}/transition",
            post(requirements::transition),
        )
        .route("/cloud", get(cloud::page))
        .route("/backups", get(backups::page))
        .route(
            "/cloud/import",
            post(cloud::import).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route("/reports/{id}/file", get(reports::file))
        .route("/team", get(team::page))
        .route("/team/changes", post(team::file))
        .route("/team/changes/{id}/decision", post(team::decide))
        .route("/reports/texts", get(reports::texts))
        .route("/reports/texts/{key}", post(reports::save_text))
        .route("/search", get(search::page))
        .route("/messages", get(inbox::messages))
        .route("/messages/badge", get(inbox::badge))
        .route("/messages/read-all", post(inbox::read_all))
        .route("/messages/{id}/open", post(inbox::open))
        .route("/monitors", get(monitoring::list).post(monitoring::create))
        .route("/monitors/new", get(monitoring::new_form))
        .route("/monitors/{id}", get(monitoring::detail))
        .route(
            "/monitors/{id}/edit",
            get(monitoring::edit_form).post(monitoring::update),
        )
        .route("/monitors/{id}/action", post(monitoring::action))
        .route("/alerts", get(monitoring::alerts))
        .route("/alerts/{id}/action", post(monitoring::alert_action))
        .route("/screen", get(screen::page))
        .route("/screen/grid", get(screen::grid))
        .route("/display/{token}", get(screen::display_page))
        .route(
            "/display-links",
            get(screen::links).post(screen::create_link),
        )
        .route("/display-links/{id}/revoke", post(screen::revoke_link))
        .route("/duty", get(duty::page))
        .route("/duty/shifts", post(duty::add))
        .route("/duty/copy", post(duty::copy))
        .route("/duty/swap", post(duty::swap))
        .route("/duty/delete", post(duty::delete))
        .route("/calendars", get(inbox::calendars))
        .route("/calendars/{id}", get(inbox::calendar))
        .route("/calendars/{id}/days", post(inbox::set_day))
        .route(
            "/calendars/{id}/import",
            post(holidays::preview).layer(axum::extract::DefaultBodyLimit::max(
                crate::web::api::calendars::BODY_LIMIT,
            )),
        )
        .route("/calendars/{id}/import/confirm", post(holidays::confirm))
        .route("/tickets/{id}", get(tickets::detail))
        .route("/tickets/{id}/action", post(tickets::action))
        .route("/tickets/{id}/comment", post(tickets::comment))
        .route(
            "/tickets/{id}/attach",
            post(tickets::attach).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route(
            "/{collection}",
            get(inventory::list).post(inventory::create),
        )
        .route("/{collection}/new", get(inventory::new_form))
        .route("/{collection}/import", post(inventory::import))
        .route(
            "/{collection}/{id}",
            get(inventory::detail).post(inventory::update),
        )
        .route("/{collection}/{id}/edit", get(inventory::edit_form))
        .route("/{collection}/{id}/delete", post(inventory::delete))
}

fn message_html(title: &str, message: &str) -> String {
    // A page that cannot fail to render: the message template is compiled in.
    Ui::new()
        .render(
            "message.html",
            serde_json::json!({"title": title, "message": message}),
        )
        .unwrap_or_else(|_| "出错了".to_string())
}

/// A plain message page (for answers made outside a page handler).
pub fn message_page_html(title: &str, message: &str) -> String {
    message_html(title, message)
}

pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(message_html(
            "页面不存在",
            "您访问的页面不存在，请从左侧导航进入。",
        )),
    )
        .into_response()
}

pub fn error_page(e: &AppError) -> Response {
    if let AppError::Internal(err) = e {
        tracing::error!(error = ?err, "page failed");
    }
    (e.status(), Html(message_html("无法完成操作", &e.message()))).into_response()
}

/// A page handler's result: errors render as a page, not JSON.
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

pub type PageResult = Result<Response, PageError>;

/// A form post from this site. A post whose `Origin` names another site is refused with the
/// 403 page before the handler runs (defence in depth next to the SameSite session cookie):
/// every page handler that changes something takes it, so none can forget the check.
pub struct SameOrigin;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SameOrigin {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        if crate::web::auth::same_origin(&parts.headers) {
            Ok(SameOrigin)
        } else {
            Err(AppError::forbidden().into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let ui = Ui::new();
        for (name, _) in TEMPLATES {
            assert!(ui.env.get_template(name).is_ok(), "{name} does not compile");
        }
    }

    /// The Content-Security-Policy (`web::headers`) refuses inline script and style: a
    /// template that used them would work in no browser.
    #[test]
    fn no_template_uses_inline_script_or_style() {
        for (name, src) in TEMPLATES {
            let lower = src.to_ascii_lowercase();
            assert!(!lower.contains(" style="), "{name}: style attribute");
            assert!(!lower.contains("<style"), "{name}: <style> element");
            assert!(!lower.contains("javascript:"), "{name}: javascript: URL");
            for (i, _) in lower.match_indices("<script") {
                let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
                assert!(tag.contains(" src="), "{name}: inline <script>");
            }
            // Event handler attributes: ` onclick=`, ` onsubmit=`...
            for (i, _) in lower.match_indices(" on") {
                let word: String = lower[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                assert!(
                    !lower[i + 1 + word.len()..].starts_with('='),
                    "{name}: {word}= handler"
                );
            }
            assert!(!lower.contains("hx-on"), "{name}: hx-on needs eval");
        }
    }

    #[test]
    fn pages_link_static_assets_by_their_content_hash() {
        let ui = Ui::new();
        let html = ui
            .render(
                "message.html",
                serde_json::json!({"title": "t", "message": "m"}),
            )
            .unwrap();
        let url = crate::web::assets::url("app.css").unwrap();
        assert!(url.starts_with("/static/app.") && url.ends_with(".css") && url.len() > 20);
        assert!(html.contains(&format!("href=\"{url}\"")), "{html}");
        for (name, src) in TEMPLATES {
            assert!(
                !src.contains("\"/static/"),
                "{name} links /static/ without asset()"
            );
        }
    }
}
