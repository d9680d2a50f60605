//! Managing notification channels and rules (admin and manager): who may, the checks of
//! the typed inputs, and each write with its audit record on one transaction.

use serde_json::{Map, Value, json};

use super::channels;
use super::input::{ChannelCreate, ChannelUpdate, RuleCreate};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::notify::{ChannelRow, OutboxRow, RuleRow};
use crate::store::{Optional, Tx};

/// Channels, rules and the outbox are for the admin and the manager.
pub fn check_manage(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// A channel as it may be shown: secrets as "***".
pub fn shown(ctx: &Ctx, c: &ChannelRow) -> Value {
    let mut cfg: Map<String, Value> = serde_json::from_str(&c.config).unwrap_or_default();
    if let Some(enc) = &c.secret_enc
        && let Ok(plain) = ctx.secrets.decrypt(enc)
    {
        let secret: Map<String, Value> = serde_json::from_str(&plain).unwrap_or_default();
        for k in secret.keys() {
            cfg.insert(k.clone(), json!("***"));
        }
    }
    json!({"id": c.id, "kind": c.kind, "name": c.name, "config": cfg, "enabled": c.enabled != 0,
           "created_at": crate::clock::rfc3339(c.created_at), "updated_at": crate::clock::rfc3339(c.updated_at)})
}

pub async fn list_channels(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<ChannelRow>> {
    check_manage(u)?;
    Ok(ctx.store.channels().await?)
}

pub async fn channel(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<ChannelRow> {
    check_manage(u)?;
    Ok(ctx.store.channel(id).await?)
}

pub async fn list_rules(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<RuleRow>> {
    check_manage(u)?;
    Ok(ctx.store.rules().await?)
}

pub async fn rule(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<RuleRow> {
    check_manage(u)?;
    Ok(ctx.store.rule(id).await?)
}

/// One page of the outbox, newest first, with the total.
pub async fn outbox(
    ctx: &Ctx,
    u: &AuthUser,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<OutboxRow>, i64)> {
    check_manage(u)?;
    Ok(ctx.store.outbox(limit, offset).await?)
}

/// Appends the audit record of a change on the change's transaction and commits both.
async fn commit_audited(
    ctx: &Ctx,
    tx: Tx,
    now: i64,
    u: &AuthUser,
    ev: NewAuditEvent,
) -> AppResult<()> {
    ev.write_and_commit(tx, now, &u.actor()).await?;
    // Every write here changes a rule or a channel: the writes that notify read them anew.
    ctx.store.forget_rules();
    Ok(())
}

/// A channel's name: trimmed, not blank, at most 100 characters on one line.
fn channel_name(name: &str, errs: &mut Vec<FieldError>) -> Option<String> {
    let n = name.trim();
    if !n.is_empty() && crate::domain::text::check_field("通道名称", n, false, 100).is_ok() {
        Some(n.to_string())
    } else {
        errs.push(FieldError::new(
            "name",
            "请填写通道名称（不超过 100 个字符）",
        ));
        None
    }
}

/// Validates a configuration (secrets not sent keep `old_secret`) and encrypts its
/// secret part: (public part, encrypted secrets).
fn split_config(
    ctx: &Ctx,
    kind: &str,
    cfg: &Map<String, Value>,
    old_secret: &Map<String, Value>,
    errs: &mut Vec<FieldError>,
) -> AppResult<(Map<String, Value>, Option<String>)> {
    let (public, secret) = match channels::validate(kind, cfg, old_secret) {
        Ok(x) => x,
        Err(e) => {
            errs.extend(e);
            return Ok((Map::new(), None));
        }
    };
    let secret_enc = if secret.is_empty() || !errs.is_empty() {
        None
    } else {
        Some(ctx.secrets.encrypt(&Value::Object(secret).to_string())?)
    };
    Ok((public, secret_enc))
}

pub async fn create_channel(
    ctx: &Ctx,
    u: &AuthUser,
    input: ChannelCreate,
) -> AppResult<ChannelRow> {
    check_manage(u)?;
    let mut errs = Vec::new();
    let kind = input.kind.as_str();
    let name = channel_name(&input.name, &mut errs);
    let (public, secret_enc) = split_config(ctx, kind, &input.config, &Map::new(), &mut errs)?;
    let Some(name) = name.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let enabled = input.enabled.unwrap_or(true);
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_channel(
            &mut tx,
            kind,
            &name,
            &Value::Object(public.clone()).to_string(),
            secret_enc,
            enabled,
            now,
        )
        .await?;
    let ev = NewAuditEvent::of(
        "create",
        "notification_channels",
        id,
        format!("新建通知通道：{name}（{kind}）"),
    )
    .after(json!({"kind": kind, "name": name, "config": public}));
    commit_audited(ctx, tx, now, u, ev).await?;
    Ok(ctx.store.channel(id).await?)
}

/// Changes a channel: the kind cannot change; a secret left out of `config` (or sent back
/// as "***") keeps its stored value.
pub async fn update_channel(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    input: ChannelUpdate,
) -> AppResult<ChannelRow> {
    check_manage(u)?;
    let old = ctx.store.channel(id).await?;
    let mut errs = Vec::new();
    if input.kind.is_some_and(|k| k.as_str() != old.kind) {
        errs.push(FieldError::new("kind", "通道类型创建后不能修改"));
    }
    let name = match &input.name {
        Some(n) => channel_name(n, &mut errs),
        None => Some(old.name.clone()),
    };
    let enabled = input.enabled.unwrap_or(old.enabled != 0);
    let old_secret: Map<String, Value> = match &old.secret_enc {
        Some(enc) => serde_json::from_str(&ctx.secrets.decrypt(enc)?).unwrap_or_default(),
        None => Map::new(),
    };
    let cfg = match input.config {
        Some(m) => m,
        None => serde_json::from_str(&old.config).unwrap_or_default(),
    };
    let (public, secret_enc) = split_config(ctx, &old.kind, &cfg, &old_secret, &mut errs)?;
    let Some(name) = name.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
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
    let old_config = serde_json::from_str::<Value>(&old.config).unwrap_or(Value::Null);
    let ev = NewAuditEvent::of(
        "update",
        "notification_channels",
        id,
        format!("修改通知通道：{name}"),
    )
    .before(json!({"name": old.name, "config": old_config, "enabled": old.enabled != 0}))
    .after(json!({"name": name, "config": public, "enabled": enabled}));
    commit_audited(ctx, tx, now, u, ev).await?;
    Ok(ctx.store.channel(id).await?)
}

pub async fn delete_channel(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(u)?;
    let old = ctx.store.channel(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_channel(&mut tx, id).await?;
    let ev = NewAuditEvent::of(
        "delete",
        "notification_channels",
        id,
        format!("删除通知通道：{}", old.name),
    )
    .before(json!({"name": old.name, "kind": old.kind}));
    commit_audited(ctx, tx, now, u, ev).await
}

/// Adds a rule; the channel and the system it names must exist (read on the write's
/// transaction).
pub async fn create_rule(ctx: &Ctx, u: &AuthUser, input: RuleCreate) -> AppResult<RuleRow> {
    check_manage(u)?;
    let mut errs = Vec::new();
    let event = input.event.as_str();
    let priority = match input.priority {
        None => None,
        Some(p) if ["P1", "P2", "P3", "P4"].contains(&p.as_str()) => Some(p),
        Some(_) => {
            errs.push(FieldError::new("priority", "priority 应为 P1–P4"));
            None
        }
    };
    if priority.is_some() && !event.starts_with("ticket.") && !event.starts_with("sla.") {
        errs.push(FieldError::new(
            "priority",
            "该事件不是工单事件，没有优先级：请清空优先级",
        ));
    }
    let to_assignee = input.to_assignee.unwrap_or(false);
    let to_requester = input.to_requester.unwrap_or(false);
    let channel_id = input.channel_id;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    if channel_id <= 0
        || ctx
            .store
            .channel_in(&mut tx, channel_id)
            .await
            .optional()?
            .is_none()
    {
        errs.push(FieldError::new("channel_id", "请选择已存在的通知通道"));
    }
    let system_id = match input.system_id {
        None => None,
        Some(s)
            if ctx
                .store
                .entity_exists_in(&mut tx, &crate::domain::inventory::SYSTEMS, s)
                .await? =>
        {
            Some(s)
        }
        Some(_) => {
            errs.push(FieldError::new("system_id", "系统不存在"));
            None
        }
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let id = ctx
        .store
        .insert_rule(
            &mut tx,
            event,
            channel_id,
            to_assignee,
            to_requester,
            priority.clone(),
            system_id,
            now,
        )
        .await?;
    let ev = NewAuditEvent::of(
        "create",
        "notification_rules",
        id,
        format!("新建通知规则：{event} → 通道 #{channel_id}"),
    )
    .after(
        json!({"event": event, "channel_id": channel_id, "to_assignee": to_assignee,
                  "to_requester": to_requester, "priority": priority, "system_id": system_id}),
    );
    commit_audited(ctx, tx, now, u, ev).await?;
    Ok(ctx.store.rule(id).await?)
}

pub async fn delete_rule(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_rule(&mut tx, id).await?;
    let ev = NewAuditEvent::of(
        "delete",
        "notification_rules",
        id,
        format!("删除通知规则 #{id}"),
    );
    commit_audited(ctx, tx, now, u, ev).await
}
