//! Restore drills (issue 14, part 3): a policy's data restored somewhere as a test, with
//! the RTO achieved (duration) and the RPO reached (drill start minus the restored data's
//! time), its result and verifier; and each policy's drill status by its cadence.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{need_read, need_write};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::backup::DrillCadence;
use crate::domain::backup_drill::{
    DrillCreate, DrillDraft, DrillPatch, DrillResult, beijing_date, check_drill, drill_status,
    rpo_seconds,
};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::backup::PolicyRow;
use crate::store::backup_drills::{DrillBrief, DrillFilter, DrillRow};

pub fn drill_json(d: &DrillRow) -> Value {
    json!({
        "id": d.id, "policy_id": d.policy_id, "system_id": d.system_id, "system_name": d.system_name,
        "data_set": d.data_set, "drilled_at": crate::clock::rfc3339(d.drilled_at),
        "date": beijing_date(d.drilled_at).map(|x| x.to_string()),
        "scope": d.scope, "target": d.target, "duration_seconds": d.duration_seconds,
        "rto_seconds": d.duration_seconds,
        "data_point": d.data_point.map(crate::clock::rfc3339),
        "rpo_seconds": rpo_seconds(d.drilled_at, d.data_point),
        "result": d.result, "result_label": DrillResult::parse(&d.result).map(DrillResult::label),
        "verifier": d.verifier, "verifier_user_id": d.verifier_user_id,
        "verifier_user_name": d.verifier_username, "note": d.note, "created_by": d.created_by,
        "created_at": crate::clock::rfc3339(d.created_at), "updated_at": crate::clock::rfc3339(d.updated_at),
    })
}

/// The stored drill as entered, for a patch to apply to.
fn as_draft(d: &DrillRow) -> AppResult<DrillDraft> {
    Ok(DrillDraft {
        policy_id: d.policy_id,
        drilled_at: crate::clock::rfc3339(d.drilled_at),
        scope: Some(d.scope.clone()),
        target: Some(d.target.clone()),
        duration_seconds: d.duration_seconds,
        data_point: d.data_point.map(crate::clock::rfc3339),
        result: DrillResult::parse(&d.result)
            .ok_or_else(|| anyhow::anyhow!("restore drill {} has an unknown result", d.id))?,
        verifier: d.verifier.clone(),
        verifier_user_id: d.verifier_user_id,
        note: d.note.clone(),
    })
}

/// Checks a drill as a whole, with what needs the database (its policy and verifying
/// user exist), every problem at once.
async fn checked(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    d: DrillDraft,
) -> AppResult<crate::domain::backup_drill::Drill> {
    let policy_id = d.policy_id;
    let user_id = d.verifier_user_id;
    let (d, mut errs) = match check_drill(d, ctx.clock.now_ms()) {
        Ok(d) => (Some(d), Vec::new()),
        Err(e) => (None, e),
    };
    if policy_id <= 0 || ctx.store.backup_policy_in(tx, policy_id).await?.is_none() {
        errs.push(FieldError::new(
            "policy_id",
            format!("备份策略 {policy_id} 不存在"),
        ));
    }
    if let Some(uid) = user_id
        && !ctx.store.user_exists_in(tx, uid).await?
    {
        errs.push(FieldError::new(
            "verifier_user_id",
            format!("用户 {uid} 不存在"),
        ));
    }
    match d {
        Some(d) if errs.is_empty() => Ok(d),
        _ => Err(AppError::Validation(errs)),
    }
}

fn summary(d: &DrillRow) -> String {
    format!(
        "{} {}（{}）",
        d.system_name.as_deref().unwrap_or_default(),
        d.data_set.as_deref().unwrap_or_default(),
        DrillResult::parse(&d.result).map_or("", DrillResult::label)
    )
}

pub async fn create(ctx: &Ctx, u: &AuthUser, c: DrillCreate) -> AppResult<DrillRow> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let d = checked(ctx, &mut tx, c.into()).await?;
    let id = ctx
        .store
        .insert_restore_drill(&mut tx, &d, u.id, now_ms)
        .await?;
    let row = drill_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of(
        "create",
        "restore_drills",
        id,
        format!("登记恢复演练：{}", summary(&row)),
    )
    .after(drill_json(&row))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(row)
}

/// The drill as stored on `tx`; one that is gone is "not found".
async fn drill_in(ctx: &Ctx, tx: &mut crate::store::Tx, id: i64) -> AppResult<DrillRow> {
    ctx.store
        .restore_drill_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn update(ctx: &Ctx, u: &AuthUser, id: i64, patch: DrillPatch) -> AppResult<DrillRow> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = drill_in(ctx, &mut tx, id).await?;
    let d = checked(ctx, &mut tx, patch.apply(as_draft(&old)?)).await?;
    ctx.store
        .update_restore_drill(&mut tx, id, &d, now_ms)
        .await?;
    let new = drill_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of(
        "update",
        "restore_drills",
        id,
        format!("修改恢复演练 #{id}：{}", summary(&new)),
    )
    .before(drill_json(&old))
    .after(drill_json(&new))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(new)
}

/// Deletes a drill with its evidence files.
pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = drill_in(ctx, &mut tx, id).await?;
    let paths = ctx.store.delete_restore_drill(&mut tx, id).await?;
    NewAuditEvent::of(
        "delete",
        "restore_drills",
        id,
        format!(
            "删除恢复演练 #{id}：{}，连同 {} 个证明材料",
            summary(&old),
            paths.len()
        ),
    )
    .before(drill_json(&old))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    for p in paths {
        let _ = tokio::fs::remove_file(ctx.config.data_dir.join(p)).await;
    }
    Ok(())
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: DrillFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<DrillRow>, i64)> {
    need_read(u)?;
    Ok(ctx.store.restore_drills(&f, limit, offset).await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<DrillRow> {
    need_read(u)?;
    Ok(ctx.store.restore_drill(id).await?)
}

// ---- drill status of policies ---------------------------------------------------------------

/// A policy's drill status: its last drill, when the next is due and whether it is overdue.
#[derive(Clone, Debug)]
pub struct PolicyDrills {
    pub last_drill: Value,
    pub drill_due: Option<String>,
    pub drill_overdue: bool,
}

/// The drill status of each policy of `policies`, by policy id, as of the injected clock,
/// or as of `until` (epoch ms, exclusive) when that is earlier: drills from then on are
/// not counted, and overdue is judged on the day before it (a past month's end).
pub async fn status_of(
    ctx: &Ctx,
    policies: &[PolicyRow],
    until: Option<i64>,
) -> AppResult<HashMap<i64, PolicyDrills>> {
    let now = ctx.clock.now_ms();
    let until = until.filter(|t| *t <= now);
    let briefs = ctx.store.restore_drill_briefs().await?;
    let mut by_policy: HashMap<i64, Vec<&DrillBrief>> = HashMap::new();
    for b in briefs
        .iter()
        .filter(|b| until.is_none_or(|t| b.drilled_at < t))
    {
        by_policy.entry(b.policy_id).or_default().push(b);
    }
    let today = match until {
        Some(t) => beijing_date(t - 1).unwrap_or_else(|| ctx.clock.today()),
        None => ctx.clock.today(),
    };
    let mut out = HashMap::new();
    for p in policies {
        // Latest first within the policy (the store's order).
        let drills = by_policy.get(&p.id).map(Vec::as_slice).unwrap_or_default();
        let last = drills.first();
        let last_passed = drills
            .iter()
            .find(|d| d.result == DrillResult::Passed.as_str())
            .and_then(|d| beijing_date(d.drilled_at));
        let cadence = DrillCadence::parse(&p.drill_cadence).unwrap_or(DrillCadence::None);
        let created = beijing_date(p.created_at).unwrap_or(today);
        let s = drill_status(cadence, created, last_passed, today);
        out.insert(
            p.id,
            PolicyDrills {
                last_drill: last.map_or(Value::Null, |d| {
                    json!({
                        "id": d.id,
                        "date": beijing_date(d.drilled_at).map(|x| x.to_string()),
                        "drilled_at": crate::clock::rfc3339(d.drilled_at),
                        "result": d.result,
                        "result_label": DrillResult::parse(&d.result).map(DrillResult::label),
                    })
                }),
                drill_due: s.due.map(|d| d.to_string()),
                drill_overdue: s.overdue,
            },
        );
    }
    Ok(out)
}

/// The policies' JSON with their drill status (`last_drill`, `drill_due`, `drill_overdue`).
pub async fn policies_json(ctx: &Ctx, rows: &[PolicyRow]) -> AppResult<Vec<Value>> {
    let status = status_of(ctx, rows, None).await?;
    Ok(rows
        .iter()
        .map(|p| {
            let mut v = super::policies::policy_json(p);
            if let Some(s) = status.get(&p.id) {
                v["last_drill"] = s.last_drill.clone();
                v["drill_due"] = json!(s.drill_due);
                v["drill_overdue"] = json!(s.drill_overdue);
            }
            v
        })
        .collect())
}
