//! The monitor form: fields per probe kind (see `monitor_fields`), the upstream monitor as
//! a picker, the JSON box for what has no field, and the service's errors shown in Chinese
//! next to the field they are about.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};

use super::monitor_fields::{
    fieldsets, form_again, form_field, form_to_obj, obj_to_form, obj_to_patch,
};
use super::monitoring::{kinds, system_names};
use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::monitor::input::{MonitorCreate, MonitorUpdate};
use crate::monitor::spec;
use crate::store::monitor::MonitorRow;
use crate::web::AppState;
use crate::web::auth::{PageUser, require_perm};
use crate::web::extract::parse_id;

async fn form_page(
    st: &AppState,
    u: &AuthUser,
    editing: Option<&MonitorRow>,
    form: HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let names = system_names(st).await?;
    let mut systems: Vec<(i64, String)> = names.into_iter().collect();
    systems.sort();
    let systems: Vec<Value> = systems
        .iter()
        .map(|(i, n)| json!({"id": i, "name": n}))
        .collect();
    // The upstream picker: every monitor, by name, with its kind and target.
    let upstream: Vec<Value> = st
        .store
        .all_monitors()
        .await?
        .iter()
        .filter(|m| Some(m.id) != editing.map(|e| e.id))
        .map(|m| {
            json!({"id": m.id, "label": format!("{}（{}{}{}）", m.name, spec::label(spec::KINDS, &m.kind),
                   if m.target.is_empty() { "" } else { "，" }, m.target)})
        })
        .collect();
    // The kind of a stored monitor cannot change.
    let kind = editing
        .map(|m| m.kind.clone())
        .or_else(|| form.get("kind").cloned())
        .filter(|k| spec::KINDS.iter().any(|(c, _)| c == k))
        .unwrap_or_else(|| "http".into());
    // Each error next to its field; the ones without a field of the form on top.
    let mut by_field: HashMap<String, String> = HashMap::new();
    for e in errors {
        let f = form_field(&kind, &e.field);
        by_field
            .entry(f)
            .and_modify(|m| {
                m.push('；');
                m.push_str(&e.message);
            })
            .or_insert_with(|| e.message.clone());
    }
    let known: Vec<String> = super::monitor_fields::FORM_COMMON
        .iter()
        .chain(&["kind", "config"])
        .map(|s| s.to_string())
        .chain(
            super::monitor_fields::fields(&kind)
                .iter()
                .map(|f| format!("{kind}.{}", f.key)),
        )
        .collect();
    let general: Vec<&String> = by_field
        .iter()
        .filter(|(k, _)| !known.contains(k))
        .map(|(_, m)| m)
        .collect();
    // Editing shows only the monitor's own kind's fields: its kind cannot change.
    let shown_kinds: Vec<(&str, &str)> = spec::KINDS
        .iter()
        .filter(|(c, _)| editing.is_none() || *c == kind)
        .copied()
        .collect();
    let mut sets = fieldsets(&shown_kinds, &form, &by_field);
    if editing.is_some_and(|m| m.secret_enc.is_some()) {
        for f in sets
            .iter_mut()
            .filter_map(|fs| fs.get_mut("fields").and_then(Value::as_array_mut))
            .flatten()
            .filter(|f| f["input"] == "password")
        {
            f["placeholder"] = json!("已保存，留空则不修改");
        }
    }
    let (title, submit) = match editing {
        Some(_) => ("编辑监控", "保存修改"),
        None => ("新建监控", "保存"),
    };
    let kinds: Vec<Value> = kinds()
        .into_iter()
        .filter(|k| editing.is_none() || k["code"] == json!(kind))
        .collect();
    let html = st.ui.page(
        "monitor_form.html",
        json!({"layout": layout(u, title, "/monitors"), "title": title, "form": form, "kind": kind,
               "submit": submit, "editing": editing.map(|m| json!({"id": m.id, "name": m.name})),
               "errors": by_field, "error_count": errors.len(), "general": general, "kinds": kinds,
               "fieldsets": sets, "systems": systems, "upstream": upstream}),
    )?;
    Ok((status, html).into_response())
}

pub async fn new_form(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    require_perm(&u, Perm::WriteMonitoring)?;
    let form: HashMap<String, String> = [
        ("kind", "http"),
        ("interval_s", "60"),
        ("failures_before_down", "3"),
        ("priority", "P2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    form_page(&st, &u, None, form, &[], StatusCode::OK).await
}

pub async fn create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::WriteMonitoring)?;
    let input = form_to_obj(&form)
        .and_then(|obj| crate::domain::input::decode::<MonitorCreate>(Value::Object(obj)));
    let saved = match input {
        Ok(input) => crate::monitor::create(&st.ctx, &u, &input).await,
        Err(errs) => Err(AppError::Validation(errs)),
    };
    saved_or_again(&st, &u, None, &form, saved).await
}

/// After a save: the monitor's page; or the form again (422) with what was refused, by the
/// form's decoding or by the service.
async fn saved_or_again(
    st: &AppState,
    u: &AuthUser,
    editing: Option<&MonitorRow>,
    form: &HashMap<String, String>,
    saved: Result<MonitorRow, AppError>,
) -> PageResult {
    let errs = match saved {
        Ok(m) => return Ok(Redirect::to(&format!("/monitors/{}", m.id)).into_response()),
        Err(AppError::Validation(errs)) => errs,
        Err(e) => return Err(e.into()),
    };
    form_page(
        st,
        u,
        editing,
        form_again(form),
        &errs,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `GET /monitors/{id}/edit`: the form filled from the stored monitor, secrets left empty.
pub async fn edit_form(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    require_perm(&u, Perm::WriteMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    let form = obj_to_form(&m.definition());
    form_page(&st, &u, Some(&m), form, &[], StatusCode::OK).await
}

/// `POST /monitors/{id}/edit`: the form as a change of the monitor. A secret left empty
/// keeps the stored one; a field emptied goes back to its default.
pub async fn update(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(mut form): Form<HashMap<String, String>>,
) -> PageResult {
    require_perm(&u, Perm::WriteMonitoring)?;
    let m = st.store.monitor(parse_id(&id)?).await?;
    form.insert("kind".into(), m.kind.clone());
    let input = form_to_obj(&form).and_then(|obj| {
        crate::domain::input::decode::<MonitorUpdate>(Value::Object(obj_to_patch(obj)))
    });
    let saved = match input {
        Ok(input) => crate::monitor::update(&st.ctx, &u, m.id, &input).await,
        Err(errs) => Err(AppError::Validation(errs)),
    };
    saved_or_again(&st, &u, Some(&m), &form, saved).await
}
