//! Pages for the admin (accounts) and for the auditor and supervisor (audit log).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};

use super::{PageResult, layout, query_base};
use crate::accounts::{self, input::UserCreate, input::UserUpdate};
use crate::domain::roles::{ALL_ROLES, Perm, Role};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, require_perm};
use crate::web::extract::{form_input, parse_id};

fn roles() -> Vec<Value> {
    ALL_ROLES
        .iter()
        .map(|r| json!({"code": r.as_str(), "label": r.label()}))
        .collect()
}

pub async fn users(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    let p = Paging::from_query(&q)?;
    let search = q.get("q").cloned().unwrap_or_default();
    let (rows, total) =
        accounts::list_users(&st, &u, Some(search.as_str()), None, p.limit, p.offset).await?;
    let now = st.clock.now_ms();
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = r.to_json(now);
            v["role_label"] = json!(Role::parse(&r.role).map(|x| x.label()).unwrap_or("?"));
            v["last_login"] = json!(r.last_login_at.map(crate::clock::local_minutes));
            v
        })
        .collect();
    Ok(st.ui.page("users.html", json!({ "layout": layout(&u, "账号管理", "/users"), "items": items, "total": total, "q": search }))?.into_response())
}

pub async fn user_new(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    Ok(st
        .ui
        .page("user_form.html", json!({ "layout": layout(&u, "新建账号", "/users"), "roles": roles(), "user": (), "errors": Vec::<Value>::new(), "form": json!({}) }))?
        .into_response())
}

pub async fn user_create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    let fields = form.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let result = match form_input::<UserCreate>(fields) {
        Ok(input) => accounts::create_user(&st, &u, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(row) => Ok(Redirect::to(&format!("/users/{}?created=1", row.id)).into_response()),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let errors = match &e {
                AppError::Validation(errs) => errs
                    .iter()
                    .map(|x| json!({"field": x.field, "message": x.message}))
                    .collect(),
                other => vec![json!({"field": "username", "message": other.message()})],
            };
            let html = st.ui.page(
                "user_form.html",
                json!({ "layout": layout(&u, "新建账号", "/users"), "roles": roles(), "user": (), "errors": errors, "form": json!(form) }),
            )?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn user_edit(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    let row = accounts::user(&st, &u, parse_id(&id)?).await?;
    let notice = if q.contains_key("created") {
        "账号已创建；首次登录时须修改初始密码"
    } else if q.contains_key("saved") {
        "已保存"
    } else if q.contains_key("reset") {
        "密码已重置；该用户下次登录时须修改密码"
    } else {
        ""
    };
    let user = row.to_json(st.clock.now_ms());
    let demo = super::demo::is_demo(&st, "users", row.id).await?;
    Ok(st
        .ui
        .page(
            "user_form.html",
            json!({ "layout": layout(&u, "账号", "/users"), "demo": demo, "roles": roles(), "user": user.clone(), "errors": Vec::<Value>::new(), "form": user, "notice": notice }),
        )?
        .into_response())
}

pub async fn user_update(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    let id = parse_id(&id)?;
    // A blank name leaves the name as it is; the checkboxes are sent only when ticked.
    let mut fields: serde_json::Map<String, Value> = form
        .iter()
        .filter(|(k, v)| {
            ["role", "phone", "email"].contains(&k.as_str())
                || (k.as_str() == "display_name" && !v.trim().is_empty())
        })
        .map(|(k, v)| (k.clone(), json!(v.trim())))
        .collect();
    fields.insert("disabled".into(), json!(form.contains_key("disabled")));
    fields.insert("unlock".into(), json!(form.contains_key("unlock")));
    let input = form_input::<UserUpdate>(fields)?;
    accounts::update_user(&st, &u, id, input).await?;
    Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response())
}

pub async fn user_reset(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::ManageUsers)?;
    let id = parse_id(&id)?;
    let pw = form.get("new_password").cloned().unwrap_or_default();
    accounts::reset_password(&st.ctx, &u, id, &pw).await?;
    Ok(Redirect::to(&format!("/users/{id}?reset=1")).into_response())
}

pub async fn audit(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    accounts::audit::check(&u)?;
    let p = Paging::from_query(&q)?;
    let f = accounts::audit::filter_from_query(&q)?;
    let (rows, total) = accounts::audit::list(&st, &u, &f, p.limit, p.offset).await?;
    let items = crate::history::audit_lines(&st.ctx, &rows).await?;
    let verification = match accounts::audit::verify(&st, &u).await? {
        crate::store::audit::Verification::Intact { records } => {
            json!({"intact": true, "records": records})
        }
        crate::store::audit::Verification::Broken { seq, reason } => {
            json!({"intact": false, "seq": seq, "reason": reason})
        }
    };
    let base = query_base(&q, &["offset"]);
    Ok(st
        .ui
        .page(
            "audit.html",
            json!({ "layout": layout(&u, "审计日志", "/audit"), "items": items, "total": total, "q": json!(q),
                       "verification": verification, "actions": crate::domain::history::ACTIONS, "offset": p.offset, "limit": p.limit, "base": base }),
        )?
        .into_response())
}

/// `/audit/export`: the filtered audit log as CSV, readable, with the raw codes.
pub async fn audit_export(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    accounts::audit::check(&u)?;
    let f = accounts::audit::filter_from_query(&q)?;
    let bytes = crate::history::audit_csv(&st.ctx, &u, &f).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
