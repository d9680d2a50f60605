//! The team page (团队合规): members with their documents and expiry, the compliance
//! checks with their states, and the personnel changes, with the purchaser's approve and
//! refuse buttons. It calls the same services as the API.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};

use super::{PageResult, layout};
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::team::changes::{ChangeStatus, Decision, DecisionKind};
use crate::domain::team::compliance::{CheckState, DocFacts, doc_state};
use crate::domain::team::{DOC_KINDS, DocKind, TEAM_ROLES};
use crate::error::AppError;
use crate::store::team::ChangeFilter;
use crate::team::{changes, compliance};
use crate::web::AppState;
use crate::web::auth::PageUser;
use crate::web::extract::parse_id;

/// The CSS class of a state's badge.
fn badge(s: CheckState) -> &'static str {
    match s {
        CheckState::Met => "valid",
        CheckState::AtRisk => "expiring",
        CheckState::Broken => "expired",
    }
}

async fn render(st: &AppState, u: &AuthUser, error: Option<String>) -> PageResult {
    let ctx = &st.ctx;
    let (checks, _) = compliance::compliance(ctx, u).await?;
    let rules = crate::team::rules(ctx).await?;
    let today = ctx.clock.today();
    let now = ctx.clock.now_ms();
    let docs = ctx.store.staff_documents(None).await?;
    let members: Vec<Value> = ctx
        .store
        .team_members()
        .await?
        .iter()
        .map(|m| {
            let mine: Vec<DocFacts> = docs
                .iter()
                .filter(|d| d.staff_id == m.id)
                .filter_map(|d| {
                    Some(DocFacts {
                        kind: DocKind::parse(&d.kind)?,
                        valid_from: chrono::NaiveDate::parse_from_str(&d.valid_from, "%Y-%m-%d")
                            .ok()?,
                        valid_until: chrono::NaiveDate::parse_from_str(&d.valid_until, "%Y-%m-%d")
                            .ok()?,
                    })
                })
                .collect();
            let documents: Vec<Value> = DOC_KINDS
                .iter()
                .map(|k| {
                    let (s, until, what) = doc_state(&mine, *k, today, rules.document_warning_days);
                    json!({"label": k.label(), "status": what, "class": badge(s),
                           "until": until.map(|d| d.to_string())})
                })
                .collect();
            let role = TEAM_ROLES
                .iter()
                .find(|c| Some(c.code) == m.team_role.as_deref())
                .map(|c| c.label);
            json!({"id": m.id, "name": m.name, "role": role, "position": m.position,
                   "key": m.key_staff == "yes", "active": m.status == "active",
                   "left_on": m.left_on, "years": m.years_experience, "pm_years": m.pm_years,
                   "documents": documents})
        })
        .collect();
    let (rows, total) = changes::list(ctx, u, ChangeFilter::default(), 100, 0).await?;
    let can_decide = u.role == Role::Supervisor;
    let items: Vec<Value> = rows
        .iter()
        .map(|c| {
            let mut v = changes::change_json(c, now);
            let open = c.status == ChangeStatus::Requested.as_str();
            let nominated = c.joining_staff_id.is_some() || c.joining_data.is_some();
            v["decidable"] = json!(can_decide && open && nominated);
            v["joining_label"] = json!(
                c.joining_name
                    .clone()
                    .or_else(|| v["joining"]["fields"]["name"].as_str().map(str::to_string))
            );
            v["due"] = json!(c.due_at.map(crate::clock::local_minutes));
            v
        })
        .collect();
    let checks: Vec<Value> = checks
        .iter()
        .map(|c| {
            json!({"name": c.name, "state": c.state_label, "class": badge(c.state),
                        "details": c.details})
        })
        .collect();
    let active: Vec<Value> = members
        .iter()
        .filter(|m| m["active"] == true)
        .map(|m| json!({"id": m["id"], "name": m["name"], "role": m["role"]}))
        .collect();
    let mut r = st
        .ui
        .page(
            "team.html",
            json!({"layout": layout(u, "团队合规", "/team"), "checks": checks,
                   "members": members, "changes": items, "total": total, "error": error,
                   "rules": rules, "active": active, "roles": TEAM_ROLES.iter()
                       .map(|c| json!({"code": c.code, "label": c.label})).collect::<Vec<_>>(),
                   "can_file": matches!(u.role, Role::Manager | Role::Admin),
                   "can_ask": u.role == Role::Supervisor}),
        )?
        .into_response();
    if error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn page(State(st): State<AppState>, PageUser(u): PageUser) -> PageResult {
    render(&st, &u, None).await
}

/// `POST /team/changes/{id}/decision`: the purchaser's approve or refuse button.
pub async fn decide(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_id(&id)?;
    let decision = match form.get("decision").map(String::as_str) {
        Some("approve") => DecisionKind::Approve,
        Some("refuse") => DecisionKind::Refuse,
        _ => return render(&st, &u, Some("请选择批准或拒绝".into())).await,
    };
    let comment = form
        .get("comment")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    match changes::decide(&st.ctx, &u, id, Decision { decision, comment }).await {
        Ok(_) => Ok(Redirect::to("/team").into_response()),
        Err(AppError::Validation(errs)) => render(&st, &u, Some(joined(&errs))).await,
        Err(AppError::Conflict(m)) => render(&st, &u, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

/// The form's fields as the typed request: blank fields left out, a new member's fields
/// gathered under `joining`; the purchaser's form asks to replace the manager.
fn change_of(u: &AuthUser, form: &HashMap<String, String>) -> Value {
    let get = |k: &str| form.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut m = serde_json::Map::new();
    if u.role == Role::Supervisor {
        m.insert("kind".into(), json!("purchaser_request"));
    }
    for k in [
        "leaving_staff_id",
        "joining_staff_id",
        "reason",
        "justification",
    ] {
        if let Some(v) = get(k) {
            m.insert(k.into(), json!(v));
        }
    }
    m.entry("reason").or_insert(json!(""));
    let mut joining = serde_json::Map::new();
    for (field, key) in [
        ("name", "joining_name"),
        ("team_role", "joining_team_role"),
        ("years_experience", "joining_years"),
        ("pm_years", "joining_pm_years"),
    ] {
        if let Some(v) = get(key) {
            joining.insert(field.into(), json!(v));
        }
    }
    if !joining.is_empty() {
        m.insert("joining".into(), Value::Object(joining));
    }
    Value::Object(m)
}

/// `POST /team/changes`: the manager's written request, or the purchaser's request to
/// replace the manager.
pub async fn file(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let input = match crate::domain::input::decode(change_of(&u, &form)) {
        Ok(i) => i,
        Err(errs) => return render(&st, &u, Some(joined(&errs))).await,
    };
    match changes::create(&st.ctx, &u, input).await {
        Ok(_) => Ok(Redirect::to("/team").into_response()),
        Err(AppError::Validation(errs)) => render(&st, &u, Some(joined(&errs))).await,
        Err(e) => Err(e.into()),
    }
}

fn joined(errs: &[crate::domain::FieldError]) -> String {
    errs.iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("；")
}
