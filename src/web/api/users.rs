//! Accounts, managed by the admin.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Paging;
use crate::accounts::{self, NewUser};
use crate::domain::roles::{Perm, Role};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::users::UserChanges;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{ApiJson, ApiObject, parse_id};

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    summary = "账号列表（系统管理员）",
    params(super::openapi::SearchQuery, ("role" = Option<String>, Query, description = "按角色筛选")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list(
    State(st): State<AppState>,
    user: ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    user.require(Perm::ManageUsers)?;
    let p = Paging::from_query(&q)?;
    let role = q.get("role").filter(|r| !r.is_empty());
    if let Some(r) = role {
        Role::parse(r).ok_or_else(|| AppError::invalid("role", format!("角色“{r}”不存在")))?;
    }
    let (rows, total) = st
        .store
        .list_users(
            q.get("q").map(String::as_str),
            role.map(String::as_str),
            p.limit,
            p.offset,
        )
        .await?;
    let now = st.clock.now_ms();
    Ok(Json(
        json!({"total": total, "items": rows.iter().map(|r| r.to_json(now)).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    summary = "账号详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_one(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    if user.0.id != id {
        user.require(Perm::ManageUsers)?;
    }
    Ok(Json(
        st.store.user_by_id(id).await?.to_json(st.clock.now_ms()),
    ))
}

fn opt_text(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    label: &str,
    max: usize,
    errs: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match obj.get(key)? {
        Value::Null => Some(None),
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) => {
            match crate::domain::text::check_field(label, s.trim(), max > 200, max) {
                Ok(()) => Some(Some(s.trim().to_string())),
                Err(m) => {
                    errs.push(FieldError::new(key, m));
                    None
                }
            }
        }
        _ => {
            errs.push(FieldError::new(key, format!("{label}应为文本")));
            None
        }
    }
}

fn parse_role(obj: &serde_json::Map<String, Value>, errs: &mut Vec<FieldError>) -> Option<Role> {
    let v = obj.get("role")?;
    match v.as_str().and_then(Role::parse) {
        Some(r) => Some(r),
        None => {
            errs.push(FieldError::new(
                "role",
                "角色无效，可选：admin、supervisor、auditor、manager、engineer、operator、requester",
            ));
            None
        }
    }
}

const USER_KEYS: &[&str] = &[
    "username",
    "display_name",
    "role",
    "password",
    "phone",
    "email",
    "disabled",
    "unlock",
];

fn unknown_keys(obj: &serde_json::Map<String, Value>, errs: &mut Vec<FieldError>) {
    for k in obj.keys() {
        if !USER_KEYS.contains(&k.as_str())
            && !["id", "created_at", "updated_at"].contains(&k.as_str())
        {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    summary = "新建账号",
    request_body = crate::accounts::input::UserCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create(
    State(st): State<AppState>,
    user: ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    user.require(Perm::ManageUsers)?;
    let mut errs = Vec::new();
    unknown_keys(&obj, &mut errs);
    let username = obj
        .get("username")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if username.is_empty() {
        errs.push(FieldError::new("username", "请填写用户名"));
    } else if let Err(m) = accounts::validate_username(&username) {
        errs.push(FieldError::new("username", m));
    }
    let display_name = opt_text(&obj, "display_name", "姓名", 50, &mut errs)
        .flatten()
        .unwrap_or_else(|| username.clone());
    let role = parse_role(&obj, &mut errs);
    if !obj.contains_key("role") {
        errs.push(FieldError::new("role", "请选择角色"));
    }
    let password = obj
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if password.is_empty() {
        errs.push(FieldError::new("password", "请填写初始密码"));
    }
    let phone = opt_text(&obj, "phone", "电话", 40, &mut errs).flatten();
    let email = opt_text(&obj, "email", "邮箱", 200, &mut errs).flatten();
    let Some(role) = role.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let row = accounts::create_user(
        &st.ctx,
        &user.0,
        NewUser {
            username,
            display_name,
            role,
            password,
            phone,
            email,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row.to_json(st.clock.now_ms()))).into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    summary = "修改账号（姓名、角色、停用、解锁）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::accounts::input::UserUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiObject(obj): ApiObject,
) -> AppResult<Json<Value>> {
    user.require(Perm::ManageUsers)?;
    let id = parse_id(&id)?;
    let mut errs = Vec::new();
    unknown_keys(&obj, &mut errs);
    if obj.contains_key("password") {
        errs.push(FieldError::new("password", "请使用“重置密码”修改他人密码"));
    }
    if let Some(u) = obj.get("username") {
        let current = st.store.user_by_id(id).await?;
        if u.as_str() != Some(current.username.as_str()) {
            errs.push(FieldError::new("username", "用户名创建后不能修改"));
        }
    }
    let mut ch = UserChanges {
        display_name: opt_text(&obj, "display_name", "姓名", 50, &mut errs)
            .map(|v| v.unwrap_or_default()),
        role: parse_role(&obj, &mut errs).map(|r| r.as_str().to_string()),
        phone: opt_text(&obj, "phone", "电话", 40, &mut errs),
        email: opt_text(&obj, "email", "邮箱", 200, &mut errs),
        ..Default::default()
    };
    if ch.display_name.as_deref() == Some("") {
        errs.push(FieldError::new("display_name", "请填写姓名"));
    }
    for (key, slot) in [("disabled", 0), ("unlock", 1)] {
        if let Some(v) = obj.get(key) {
            match v.as_bool() {
                Some(b) if slot == 0 => ch.disabled = Some(b),
                Some(b) => ch.unlock = b,
                None => errs.push(FieldError::new(key, format!("{key} 应为 true 或 false"))),
            }
        }
    }
    if id == user.0.id
        && (ch.disabled == Some(true) || ch.role.as_deref().is_some_and(|r| r != "admin"))
    {
        errs.push(FieldError::new(
            "role",
            "不能停用自己的账号或取消自己的管理员角色",
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let row = st
        .store
        .update_user(id, ch, &user.0.actor(), st.clock.now_ms())
        .await?;
    Ok(Json(row.to_json(st.clock.now_ms())))
}

#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    summary = "删除账号",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn remove(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    user.require(Perm::ManageUsers)?;
    let id = parse_id(&id)?;
    if id == user.0.id {
        return Err(AppError::Conflict("不能删除自己的账号".into()));
    }
    st.store
        .delete_user(id, &user.0.actor(), st.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub new_password: String,
}

#[utoipa::path(
    post,
    path = "/users/{id}/reset-password",
    tag = "users",
    summary = "重置密码（下次登录须修改）",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = ResetBody,
    responses((status = 204, description = "完成"))
)]
pub async fn reset_password(
    State(st): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResetBody>,
) -> AppResult<StatusCode> {
    user.require(Perm::ManageUsers)?;
    let id = parse_id(&id)?;
    accounts::reset_password(&st.ctx, &user.0, id, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
