//! Monitor definitions (API): create, update, delete, heartbeats.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::engine::*;
use super::input::{MonitorCreate, MonitorUpdate};
use super::{probe, spec};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::NewAuditEvent;
use crate::store::monitor::{MonitorFilter, MonitorRow};
use crate::store::{Optional, StoreError};

// ---- definitions (API) -----------------------------------------------------------------

pub(super) fn check_write(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::WriteMonitoring) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub(super) async fn check_refs(
    ctx: &Ctx,
    d: &spec::MonitorDef,
    self_id: Option<i64>,
) -> AppResult<()> {
    let mut errs: Vec<FieldError> = Vec::new();
    if let Some(s) = d.system_id
        && !system_exists(ctx, s).await?
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {s} 不存在")));
    }
    if let Some(a) = d.asset_id
        && ctx
            .store
            .get_entity(&crate::domain::inventory::ASSETS, a)
            .await
            .optional()?
            .is_none()
    {
        errs.push(FieldError::new("asset_id", format!("设备编号 {a} 不存在")));
    }
    if let Some(dep) = d.depends_on {
        if Some(dep) == self_id {
            errs.push(FieldError::new("depends_on", "监控不能依赖自己"));
        } else {
            // Walk up the chain: no cycles.
            let mut cur = Some(dep);
            let mut seen = 0;
            while let Some(c) = cur {
                match ctx.store.monitor(c).await {
                    Ok(m) => {
                        if Some(m.id) == self_id || seen > 20 {
                            errs.push(FieldError::new("depends_on", "上游监控形成了循环依赖"));
                            break;
                        }
                        cur = m.depends_on;
                        seen += 1;
                    }
                    Err(StoreError::NotFound) if c == dep => {
                        errs.push(FieldError::new(
                            "depends_on",
                            format!("上游监控编号 {dep} 不存在"),
                        ));
                        break;
                    }
                    Err(StoreError::NotFound) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errs))
    }
}

/// Whether system `id` exists (a reference that maintenance windows, monitors and intake
/// sources check before they are written).
pub(super) async fn system_exists(ctx: &Ctx, id: i64) -> AppResult<bool> {
    Ok(ctx
        .store
        .get_entity(&crate::domain::inventory::SYSTEMS, id)
        .await
        .optional()?
        .is_some())
}

/// `bytes` random bytes, URL-safe base64 without padding: heartbeat and intake tokens.
pub(super) fn random_token(bytes: usize) -> String {
    use password_hash::rand_core::RngCore;
    let mut b = vec![0u8; bytes];
    password_hash::rand_core::OsRng.fill_bytes(&mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

pub async fn create(ctx: &Ctx, u: &AuthUser, input: &MonitorCreate) -> AppResult<MonitorRow> {
    check_write(u)?;
    let d = input.check().map_err(AppError::Validation)?;
    check_refs(ctx, &d, None).await?;
    let secret = match &d.secret {
        Some(s) => Some(ctx.secrets.encrypt(s).map_err(AppError::Internal)?),
        None => None,
    };
    let token = (d.kind == "heartbeat").then(|| random_token(18));
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_monitor(&mut tx, &d, secret, token, now)
        .await?;
    NewAuditEvent::of(
        "create",
        "monitors",
        id,
        format!("新建监控“{}”（{} {}）", d.name, d.kind, d.target),
    )
    .after(json!({"name": d.name, "kind": d.kind, "target": d.target, "config": d.config}))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    ctx.monitors.notify(Control::Reload(id));
    Ok(ctx.store.monitor(id).await?)
}

pub async fn update(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    patch: &MonitorUpdate,
) -> AppResult<MonitorRow> {
    check_write(u)?;
    let old = ctx.store.monitor(id).await?;
    let stored_secret = match (&old.secret_enc, old.kind.as_str()) {
        (Some(enc), "snmp") => Some(ctx.secrets.decrypt(enc).map_err(AppError::Internal)?),
        _ => None,
    };
    let checked = patch
        .check(&old.definition(), stored_secret.as_deref())
        .map_err(AppError::Validation)?;
    let d = checked.def;
    check_refs(ctx, &d, Some(id)).await?;
    let secret = if checked.keep_secret && old.secret_enc.is_some() {
        old.secret_enc.clone()
    } else {
        match &d.secret {
            Some(s) => Some(ctx.secrets.encrypt(s).map_err(AppError::Internal)?),
            None => None,
        }
    };
    let reset = d.target != old.target || d.paused != (old.paused != 0);
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .update_monitor(&mut tx, id, &d, secret, reset, now)
        .await?;
    NewAuditEvent::of("update", "monitors", id, format!("修改监控“{}”", d.name))
        .before(Value::Object(old.definition()))
        .after(Value::Object(patch.audit_map()))
        .write_and_commit(tx, now, &u.actor())
        .await?;
    ctx.monitors.notify(if d.paused {
        Control::Remove(id)
    } else {
        Control::Reload(id)
    });
    if reset || d.paused {
        ctx.monitors.runtimes.lock().await.remove(&id);
    }
    Ok(ctx.store.monitor(id).await?)
}

pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_write(u)?;
    let old = ctx.store.monitor(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_monitor(&mut tx, id).await?;
    NewAuditEvent::of("delete", "monitors", id, format!("删除监控“{}”", old.name))
        .before(Value::Object(old.definition()))
        .write_and_commit(tx, now, &u.actor())
        .await?;
    ctx.monitors.notify(Control::Remove(id));
    ctx.monitors.runtimes.lock().await.remove(&id);
    Ok(())
}

/// Stops probing monitors that were deleted in bulk (the demo data's removal).
pub async fn forget(ctx: &Ctx, ids: &[i64]) {
    for id in ids {
        ctx.monitors.notify(Control::Remove(*id));
    }
    let mut rt = ctx.monitors.runtimes.lock().await;
    for id in ids {
        rt.remove(id);
    }
}

/// A page of monitors by filter; an unknown kind or state is refused.
pub async fn list(
    ctx: &Ctx,
    f: &MonitorFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<MonitorRow>, i64)> {
    if let Some(k) = &f.kind
        && !spec::KINDS.iter().any(|(c, _)| c == k)
    {
        return Err(AppError::invalid("kind", "没有这种监控类型"));
    }
    if let Some(s) = &f.state
        && !spec::STATES.iter().any(|(c, _)| c == s)
    {
        return Err(AppError::invalid(
            "state",
            "state 应为 pending、up、down、unreachable、flapping、maintenance 或 paused",
        ));
    }
    Ok(ctx.store.list_monitors(f, limit, offset).await?)
}

/// A heartbeat request: `kind` is `ping`, `start` or `fail` (anything else is not
/// found). The task's duration and output size come from the query (`duration_ms`,
/// `duration_s`, `size_bytes`, refused when not a non-negative number) or, leniently,
/// from a JSON body, which wins.
pub async fn beat(
    ctx: &Ctx,
    token: &str,
    kind: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> AppResult<MonitorRow> {
    if !["ping", "start", "fail"].contains(&kind) {
        return Err(AppError::NotFound);
    }
    let mut duration_ms = None;
    let mut size = None;
    let num = |s: &str, k: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| AppError::invalid(k, format!("{k} 应为非负数")))
    };
    if let Some(s) = query.get("duration_ms") {
        duration_ms = Some(num(s, "duration_ms")?);
    }
    if let Some(s) = query.get("duration_s") {
        duration_ms = Some(num(s, "duration_s")? * 1000.0);
    }
    if let Some(s) = query.get("size_bytes") {
        size = Some(num(s, "size_bytes")? as i64);
    }
    if !body.is_empty()
        && let Ok(m) = super::intake::parse_object(body)
    {
        if let Some(d) = m.get("duration_s").and_then(Value::as_f64) {
            duration_ms = Some(d * 1000.0);
        }
        if let Some(d) = m.get("duration_ms").and_then(Value::as_f64) {
            duration_ms = Some(d);
        }
        if let Some(s) = m.get("size_bytes").and_then(Value::as_i64) {
            size = Some(s);
        }
    }
    heartbeat(ctx, token, kind, duration_ms, size).await
}

/// A heartbeat arrives: `kind` is `ping`, `start` or `fail`.
pub async fn heartbeat(
    ctx: &Ctx,
    token: &str,
    kind: &str,
    duration_ms: Option<f64>,
    size_bytes: Option<i64>,
) -> AppResult<MonitorRow> {
    let m = match ctx.store.monitor_by_token(token).await {
        Ok(m) => m,
        Err(crate::store::StoreError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if m.paused != 0 {
        return Ok(m);
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    match kind {
        "start" => ctx.store.heartbeat_start(&mut tx, m.id, now).await?,
        _ => ctx.store.heartbeat_ping(&mut tx, m.id, now).await?,
    }
    tx.commit().await?;
    if kind == "start" {
        return Ok(ctx.store.monitor(m.id).await?);
    }
    let duration = duration_ms.or_else(|| m.hb_started_at.map(|s| (now - s) as f64));
    let mut msg = if kind == "fail" {
        "任务报告失败".to_string()
    } else {
        "收到心跳".to_string()
    };
    if let Some(d) = duration {
        msg.push_str(&format!("，耗时 {:.1} 秒", d / 1000.0));
    }
    if let Some(s) = size_bytes {
        msg.push_str(&format!("，数据量 {s} 字节"));
    }
    let outcome = if kind == "fail" {
        probe::Outcome::fail("heartbeat", duration, msg)
    } else {
        probe::Outcome::ok(duration.unwrap_or(0.0), msg)
    };
    process(
        ctx,
        vec![Finished {
            monitor_id: m.id,
            at: now,
            covers_ms: 0,
            outcome,
            steps: true,
        }],
    )
    .await?;
    Ok(ctx.store.monitor(m.id).await?)
}
