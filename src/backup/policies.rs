//! Backup policies: what is backed up, when, where and how big; each with a secret report
//! URL whose token is shown once (on creation and when re-issued) and stored hashed.

use serde_json::{Value, json};

use super::{need_read, need_write, new_token};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::backup::{
    DrillCadence, Method, Policy, PolicyCreate, PolicyPatch, Scope, Target, check_policy,
};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::backup::{PolicyFilter, PolicyRow};

/// The path of a policy's report URL, for a token.
pub fn report_path(token: &str) -> String {
    format!("/api/v1/backup-runs/report/{token}")
}

pub fn policy_json(p: &PolicyRow) -> Value {
    json!({
        "id": p.id, "system_id": p.system(), "builtin": p.builtin, "system_code": p.system_code, "system_name": p.system_name,
        "data_set": p.data_set, "description": p.description,
        "scope": p.scope, "scope_label": Scope::parse(&p.scope).map(Scope::label),
        "method": p.method, "method_label": Method::parse(&p.method).map(Method::label),
        "schedule": p.schedule, "grace_minutes": p.grace_minutes, "retention_days": p.retention_days,
        "target": p.target, "target_label": Target::parse(&p.target).map(Target::label),
        "location": p.location, "encrypted": p.encrypted != 0,
        "expected_min_bytes": p.expected_min_bytes, "expected_max_bytes": p.expected_max_bytes,
        "checksum_required": p.checksum_required != 0, "shrink_percent": p.shrink_percent,
        "drill_cadence": p.drill_cadence,
        "drill_cadence_label": DrillCadence::parse(&p.drill_cadence).map(DrillCadence::label),
        "note": p.note, "created_by": p.created_by,
        "created_at": crate::clock::rfc3339(p.created_at), "updated_at": crate::clock::rfc3339(p.updated_at),
    })
}

/// The stored policy as domain values, for a patch to apply to.
pub(crate) fn as_policy(p: &PolicyRow) -> AppResult<Policy> {
    let bad = |what: &str| anyhow::anyhow!("backup policy {} has {what}", p.id);
    Ok(Policy {
        system_id: p.system_id,
        data_set: p.data_set.clone(),
        description: p.description.clone(),
        scope: Scope::parse(&p.scope).ok_or_else(|| bad("an unknown scope"))?,
        method: Method::parse(&p.method).ok_or_else(|| bad("an unknown method"))?,
        schedule: p.schedule.clone(),
        grace_minutes: p.grace_minutes,
        retention_days: p.retention_days,
        target: Target::parse(&p.target).ok_or_else(|| bad("an unknown target"))?,
        location: p.location.clone(),
        encrypted: p.encrypted != 0,
        expected_min_bytes: p.expected_min_bytes,
        expected_max_bytes: p.expected_max_bytes,
        checksum_required: p.checksum_required != 0,
        shrink_percent: p.shrink_percent,
        drill_cadence: DrillCadence::parse(&p.drill_cadence)
            .ok_or_else(|| bad("an unknown drill cadence"))?,
        note: p.note.clone(),
    })
}

/// Checks a policy as a whole, with what needs the database (the data set's name is
/// free for its system), every problem at once.
async fn checked(ctx: &Ctx, tx: &mut crate::store::Tx, p: Policy, id: i64) -> AppResult<Policy> {
    let system_id = p.system_id;
    let (p, mut errs) = match check_policy(p) {
        Ok(p) => (Some(p), Vec::new()),
        Err(e) => (None, e),
    };
    if let Some(p) = &p
        && ctx
            .store
            .backup_policy_named_in(tx, system_id, &p.data_set, id)
            .await?
            .is_some()
    {
        errs.push(FieldError::new(
            "data_set",
            format!("该系统已有名为“{}”的备份策略", p.data_set),
        ));
    }
    match p {
        Some(p) if errs.is_empty() => Ok(p),
        _ => Err(AppError::Validation(errs)),
    }
}

/// Creates a policy; answers it with its report token (shown only now).
pub async fn create(ctx: &Ctx, u: &AuthUser, c: PolicyCreate) -> AppResult<(PolicyRow, String)> {
    need_write(u)?;
    create_as(ctx, Some(u), c).await
}

/// Creates a policy for `u`, or for the system when `None` (the demo data).
pub(crate) async fn create_as(
    ctx: &Ctx,
    u: Option<&AuthUser>,
    c: PolicyCreate,
) -> AppResult<(PolicyRow, String)> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let volume = if c.system_id > 0 {
        ctx.store.system_volume_in(&mut tx, c.system_id).await?
    } else {
        None
    };
    let Some(volume) = volume else {
        let mut errs = vec![FieldError::new(
            "system_id",
            format!("系统 {} 不存在", c.system_id),
        )];
        if let Err(e) = check_policy(c.into_policy(None)) {
            errs.extend(e);
        }
        return Err(AppError::Validation(errs));
    };
    let p = checked(ctx, &mut tx, c.into_policy(volume), 0).await?;
    let (token, hash) = new_token();
    let id = ctx
        .store
        .insert_backup_policy(&mut tx, &p, &hash, u.map(|u| u.id), now_ms)
        .await?;
    let row = policy_in(ctx, &mut tx, id).await?;
    let actor = u.map_or_else(|| crate::store::Actor::system("demo"), AuthUser::actor);
    NewAuditEvent::of(
        "create",
        "backup_policies",
        id,
        format!(
            "新建备份策略：{} {}",
            row.system_name.as_deref().unwrap_or_default(),
            p.data_set
        ),
    )
    .after(policy_json(&row))
    .write_and_commit(tx, now_ms, &actor)
    .await?;
    Ok((row, token))
}

/// The policy as stored on `tx`; one that is gone is "not found".
pub(super) async fn policy_in(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    id: i64,
) -> AppResult<PolicyRow> {
    ctx.store
        .backup_policy_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn update(ctx: &Ctx, u: &AuthUser, id: i64, patch: PolicyPatch) -> AppResult<PolicyRow> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = policy_in(ctx, &mut tx, id).await?;
    let p = checked(ctx, &mut tx, patch.apply(as_policy(&old)?), id).await?;
    ctx.store
        .update_backup_policy(&mut tx, id, &p, now_ms)
        .await?;
    let new = policy_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of(
        "update",
        "backup_policies",
        id,
        format!("修改备份策略 #{id}：{}", new.data_set),
    )
    .before(policy_json(&old))
    .after(policy_json(&new))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(new)
}

/// Issues a new report token; the old URL stops working at once.
pub async fn reissue_token(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(PolicyRow, String)> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let row = policy_in(ctx, &mut tx, id).await?;
    let (token, hash) = new_token();
    ctx.store
        .set_backup_policy_token(&mut tx, id, &hash, now_ms)
        .await?;
    NewAuditEvent::of(
        "update",
        "backup_policies",
        id,
        format!(
            "重新生成备份策略 #{id}（{}）的上报地址，旧地址作废",
            row.data_set
        ),
    )
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok((row, token))
}

/// Deletes a policy that has no runs or drills yet (one with them is evidence and stays).
pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = policy_in(ctx, &mut tx, id).await?;
    if old.builtin.is_some() {
        return Err(AppError::Conflict(
            "这是运维平台自身备份的内置策略，不能删除；不再需要自备份时，请清空配置 backup.self_schedule"
                .into(),
        ));
    }
    let runs = ctx.store.backup_run_count_in(&mut tx, id).await?;
    if runs > 0 {
        return Err(AppError::Conflict(format!(
            "该备份策略已有 {runs} 次备份记录，不能删除；如已停用，请在备注中说明"
        )));
    }
    let drills = ctx.store.restore_drill_count_in(&mut tx, id).await?;
    if drills > 0 {
        return Err(AppError::Conflict(format!(
            "该备份策略已有 {drills} 次恢复演练记录，不能删除；如已停用，请在备注中说明"
        )));
    }
    ctx.store.delete_backup_policy(&mut tx, id).await?;
    NewAuditEvent::of(
        "delete",
        "backup_policies",
        id,
        format!("删除备份策略 #{id}：{}", old.data_set),
    )
    .before(policy_json(&old))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(())
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: PolicyFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<PolicyRow>, i64)> {
    need_read(u)?;
    Ok(ctx.store.backup_policies(&f, limit, offset).await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<PolicyRow> {
    need_read(u)?;
    Ok(ctx.store.backup_policy(id).await?)
}

const DEMO: &str = include_str!("../../demo/backup_policies.json");

#[derive(serde::Deserialize)]
struct DemoDataSet {
    system_code: String,
    data_set: String,
    volume_gb: f64,
    source: String,
}

/// The demo's policies: one per data set the seed names (demo/backup_policies.json,
/// extracted by demo/extract_backup_policies.py), each sized from its own volume. The
/// seed gives no schedule, target or retention: these are demo defaults (daily 02:00 full,
/// local, 30 days) and the note says so. Their report tokens are not kept: re-issue one
/// to connect a job.
pub async fn load_demo(ctx: &Ctx) -> anyhow::Result<usize> {
    let sets: Vec<DemoDataSet> = serde_json::from_str(DEMO)?;
    let systems = ctx.store.system_codes().await?;
    for d in &sets {
        let system_id = systems
            .iter()
            .find(|(code, _)| code.as_deref() == Some(d.system_code.as_str()))
            .map(|(_, id)| *id)
            .ok_or_else(|| anyhow::anyhow!("demo backup policy: no system {}", d.system_code))?;
        let (min, max) = crate::domain::backup::default_size_range(Some(d.volume_gb), Method::Full);
        let c = PolicyCreate {
            system_id,
            data_set: d.data_set.clone(),
            description: Some(format!("演示数据：{}", d.source)),
            scope: Scope::Database,
            method: Method::Full,
            schedule: "0 2 * * *".into(),
            grace_minutes: None,
            retention_days: None,
            target: Target::Local,
            location: None,
            encrypted: false,
            expected_min_bytes: min,
            expected_max_bytes: max,
            checksum_required: false,
            shrink_percent: None,
            drill_cadence: None,
            note: Some(
                "招标文件未规定备份计划：演示默认每天 02:00 全量备份、本地保留 30 天、每季度恢复演练，请按实际修改"
                    .into(),
            ),
        };
        create_as(ctx, None, c)
            .await
            .map_err(|e| anyhow::anyhow!("demo backup policy {}: {e}", d.data_set))?;
    }
    Ok(sets.len())
}
