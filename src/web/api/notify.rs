//! Notification channels, rules and the outbox, managed by the admin and the manager.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Paging;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldError};
use crate::notify::{EVENTS, channels};
use crate::store::Optional;
use crate::store::audit::{NewAuditEvent, append};
use crate::store::notify::ChannelRow;
use crate::web::AppState;
use crate::web::auth::ApiUser;
use crate::web::extract::{ApiObject, parse_id};

fn require(u: &crate::accounts::AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// A channel as the API shows it: secrets as "***".
fn channel_json(st: &AppState, c: &ChannelRow) -> Value {
    let mut cfg: Map<String, Value> = serde_json::from_str(&c.config).unwrap_or_default();
    if let Some(enc) = &c.secret_enc
        && let Ok(plain) = st.secrets.decrypt(enc)
    {
        let secret: Map<String, Value> = serde_json::from_str(&plain).unwrap_or_default();
        for k in secret.keys() {
            cfg.insert(k.clone(), json!("***"));
        }
    }
    json!({"id": c.id, "kind": c.kind, "name": c.name, "config": cfg, "enabled": c.enabled != 0,
           "created_at": crate::clock::rfc3339(c.created_at), "updated_at": crate::clock::rfc3339(c.updated_at)})
}

fn name_of(obj: &Map<String, Value>, errs: &mut Vec<FieldError>) -> Option<String> {
    match obj.get("name").and_then(Value::as_str).map(str::trim) {
        Some(n)
            if !n.is_empty()
                && crate::domain::text::check_field("通道名称", n, false, 100).is_ok() =>
        {
            Some(n.to_string())
        }
        _ => {
            errs.push(FieldError::new(
                "name",
                "请填写通道名称（不超过 100 个字符）",
            ));
            None
        }
    }
}

fn bool_of(obj: &Map<String, Value>, key: &str, default: bool, errs: &mut Vec<FieldError>) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(FieldError::new(key, format!("{key} 应为 true 或 false")));
            default
        }
    }
}

#[utoipa::path(
    get,
    path = "/notification-channels",
    tag = "notify",
    summary = "通知通道（密钥不回显）",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_channels(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
) -> AppResult<Json<Value>> {
    require(&u)?;
    let rows = st.store.channels().await?;
    Ok(Json(
        json!({"total": rows.len(), "items": rows.iter().map(|c| channel_json(&st, c)).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    get,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "通知通道详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    require(&u)?;
    Ok(Json(channel_json(
        &st,
        &st.store.channel(parse_id(&id)?).await?,
    )))
}

#[utoipa::path(
    post,
    path = "/notification-channels",
    tag = "notify",
    summary = "新建通知通道",
    request_body = crate::notify::input::ChannelCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    require(&u)?;
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !["kind", "name", "config", "enabled"].contains(&k.as_str()) {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = name_of(&obj, &mut errs);
    let enabled = bool_of(&obj, "enabled", true, &mut errs);
    let cfg = match obj.get("config") {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            errs.push(FieldError::new("config", "请提供 config 对象"));
            Map::new()
        }
    };
    let split = channels::validate(&kind, &cfg, &Map::new());
    let (public, secret) = match split {
        Ok(x) => x,
        Err(e) => {
            errs.extend(e);
            (Map::new(), Map::new())
        }
    };
    let Some(name) = name.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let secret_enc = if secret.is_empty() {
        None
    } else {
        Some(st.secrets.encrypt(&Value::Object(secret).to_string())?)
    };
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    let id = st
        .store
        .insert_channel(
            &mut tx,
            &kind,
            &name,
            &Value::Object(public.clone()).to_string(),
            secret_enc,
            enabled,
            now,
        )
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent {
            action: "create".into(),
            entity_type: "notification_channels".into(),
            entity_id: Some(id.to_string()),
            summary: format!("新建通知通道：{name}（{kind}）"),
            before: None,
            after: Some(json!({"kind": kind, "name": name, "config": public})),
        },
    )
    .await?;
    tx.commit().await?;
    let row = st.store.channel(id).await?;
    Ok((StatusCode::CREATED, Json(channel_json(&st, &row))).into_response())
}

#[utoipa::path(
    patch,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "修改通知通道",
    params(("id" = i64, Path, description = "编号", example = 1)),
    request_body = crate::notify::input::ChannelUpdate,
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn update_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
    ApiObject(obj): ApiObject,
) -> AppResult<Json<Value>> {
    require(&u)?;
    let id = parse_id(&id)?;
    let old = st.store.channel(id).await?;
    let mut errs = Vec::new();
    for k in obj.keys() {
        if ![
            "name",
            "config",
            "enabled",
            "id",
            "kind",
            "created_at",
            "updated_at",
        ]
        .contains(&k.as_str())
        {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    if obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != old.kind)
    {
        errs.push(FieldError::new("kind", "通道类型创建后不能修改"));
    }
    let name = if obj.contains_key("name") {
        name_of(&obj, &mut errs)
    } else {
        Some(old.name.clone())
    };
    let enabled = bool_of(&obj, "enabled", old.enabled != 0, &mut errs);
    let old_secret: Map<String, Value> = match &old.secret_enc {
        Some(enc) => serde_json::from_str(&st.secrets.decrypt(enc)?).unwrap_or_default(),
        None => Map::new(),
    };
    let cfg = match obj.get("config") {
        Some(Value::Object(m)) => m.clone(),
        None => serde_json::from_str(&old.config).unwrap_or_default(),
        Some(_) => {
            errs.push(FieldError::new("config", "config 应为对象"));
            Map::new()
        }
    };
    let (public, secret) = match channels::validate(&old.kind, &cfg, &old_secret) {
        Ok(x) => x,
        Err(e) => {
            errs.extend(e);
            (Map::new(), Map::new())
        }
    };
    let Some(name) = name.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let secret_enc = if secret.is_empty() {
        None
    } else {
        Some(st.secrets.encrypt(&Value::Object(secret).to_string())?)
    };
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    st.store
        .update_channel(
            &mut tx,
            id,
            &name,
            &Value::Object(public.clone()).to_string(),
            secret_enc,
            enabled,
            now,
        )
        .await?;
    append(&mut tx, now, &u.actor(), NewAuditEvent {
        action: "update".into(), entity_type: "notification_channels".into(), entity_id: Some(id.to_string()),
        summary: format!("修改通知通道：{name}"), before: Some(json!({"name": old.name, "config": serde_json::from_str::<Value>(&old.config).unwrap_or(Value::Null), "enabled": old.enabled != 0})),
        after: Some(json!({"name": name, "config": public, "enabled": enabled})),
    }).await?;
    tx.commit().await?;
    Ok(Json(channel_json(&st, &st.store.channel(id).await?)))
}

#[utoipa::path(
    delete,
    path = "/notification-channels/{id}",
    tag = "notify",
    summary = "删除通知通道",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_channel(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    require(&u)?;
    let id = parse_id(&id)?;
    let old = st.store.channel(id).await?;
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    st.store.delete_channel(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent {
            action: "delete".into(),
            entity_type: "notification_channels".into(),
            entity_id: Some(id.to_string()),
            summary: format!("删除通知通道：{}", old.name),
            before: Some(json!({"name": old.name, "kind": old.kind})),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/notification-rules",
    tag = "notify",
    summary = "通知规则",
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn list_rules(State(st): State<AppState>, ApiUser(u): ApiUser) -> AppResult<Json<Value>> {
    require(&u)?;
    let rows = st.store.rules().await?;
    Ok(Json(
        json!({"total": rows.len(), "items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    get,
    path = "/notification-rules/{id}",
    tag = "notify",
    summary = "通知规则详情",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 200, description = "成功", body = super::openapi::Record))
)]
pub async fn get_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    require(&u)?;
    Ok(Json(st.store.rule(parse_id(&id)?).await?.to_json()))
}

#[utoipa::path(
    post,
    path = "/notification-rules",
    tag = "notify",
    summary = "新建通知规则",
    request_body = crate::notify::input::RuleCreate,
    responses((status = 201, description = "已创建", body = super::openapi::Record))
)]
pub async fn create_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    ApiObject(obj): ApiObject,
) -> AppResult<Response> {
    require(&u)?;
    let mut errs = Vec::new();
    for k in obj.keys() {
        if ![
            "event",
            "channel_id",
            "to_assignee",
            "to_requester",
            "priority",
            "system_id",
        ]
        .contains(&k.as_str())
        {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let event = obj
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !EVENTS.iter().any(|(e, _)| *e == event) {
        let opts: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
        errs.push(FieldError::new(
            "event",
            format!("event 可选：{}", opts.join("、")),
        ));
    }
    let channel_id = obj.get("channel_id").and_then(Value::as_i64);
    let channel_exists = match channel_id {
        Some(c) => st.store.channel(c).await.optional()?.is_some(),
        None => false,
    };
    if !channel_exists {
        errs.push(FieldError::new("channel_id", "请选择已存在的通知通道"));
    }
    let to_assignee = bool_of(&obj, "to_assignee", false, &mut errs);
    let to_requester = bool_of(&obj, "to_requester", false, &mut errs);
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if ["P1", "P2", "P3", "P4"].contains(&p.as_str()) => Some(p.clone()),
        Some(_) => {
            errs.push(FieldError::new("priority", "priority 应为 P1–P4"));
            None
        }
    };
    let system_id = match obj.get("system_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(s)
                if st
                    .store
                    .get_entity(&crate::domain::inventory::SYSTEMS, s)
                    .await
                    .optional()?
                    .is_some() =>
            {
                Some(s)
            }
            _ => {
                errs.push(FieldError::new("system_id", "系统不存在"));
                None
            }
        },
    };
    let Some(channel_id) = channel_id.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    let id = st
        .store
        .insert_rule(
            &mut tx,
            &event,
            channel_id,
            to_assignee,
            to_requester,
            priority.clone(),
            system_id,
            now,
        )
        .await?;
    append(&mut tx, now, &u.actor(), NewAuditEvent {
        action: "create".into(), entity_type: "notification_rules".into(), entity_id: Some(id.to_string()),
        summary: format!("新建通知规则：{event} → 通道 #{channel_id}"), before: None,
        after: Some(json!({"event": event, "channel_id": channel_id, "to_assignee": to_assignee, "to_requester": to_requester, "priority": priority, "system_id": system_id})),
    }).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(st.store.rule(id).await?.to_json()),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/notification-rules/{id}",
    tag = "notify",
    summary = "删除通知规则",
    params(("id" = i64, Path, description = "编号", example = 1)),
    responses((status = 204, description = "完成"))
)]
pub async fn delete_rule(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    require(&u)?;
    let id = parse_id(&id)?;
    let now = st.clock.now_ms();
    let mut tx = st.store.write_tx().await?;
    st.store.delete_rule(&mut tx, id).await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent {
            action: "delete".into(),
            entity_type: "notification_rules".into(),
            entity_id: Some(id.to_string()),
            summary: format!("删除通知规则 #{id}"),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/notification-outbox",
    tag = "notify",
    summary = "待发与已发通知",
    params(super::openapi::PagingQuery, ("status" = Option<String>, Query, description = "按状态筛选")),
    responses((status = 200, description = "列表", body = super::openapi::Page))
)]
pub async fn outbox(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    require(&u)?;
    let p = Paging::from_query(&q)?;
    let (rows, total) = st.store.outbox(p.limit, p.offset).await?;
    Ok(Json(
        json!({"total": total, "items": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}
