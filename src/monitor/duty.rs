//! The duty roster: who is on call, and the shifts that say so.

use chrono::DateTime;

use super::input::{ShiftInput, ShiftRole};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Perm;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::NewAuditEvent;
use crate::store::monitor::ShiftRow;

/// The shifts overlapping `from`..`to` (default: 7 days ago to 31 days ahead), and who
/// is on call now (primary first). Reading needs `ReadMonitoring`, checked by the caller.
pub async fn shifts(
    ctx: &Ctx,
    from: Option<i64>,
    to: Option<i64>,
) -> AppResult<(Vec<ShiftRow>, Vec<i64>)> {
    let now = ctx.clock.now_ms();
    let from = from.unwrap_or(now - 7 * 86_400_000);
    let to = to.unwrap_or(now + 31 * 86_400_000);
    let rows = ctx.store.shifts(from, to).await?;
    let on_call = ctx.store.on_call(now).await?;
    Ok((rows, on_call))
}

fn require(u: &AuthUser, perm: Perm) -> AppResult<()> {
    if u.role.can(perm) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Adds a shift: an engineer, operator or manager on call between two times, at most
/// 31 days apart. Every problem is reported at once.
pub async fn add_shift(ctx: &Ctx, u: &AuthUser, input: ShiftInput) -> AppResult<ShiftRow> {
    require(u, Perm::ManageIntegrations)?;
    let mut errs = Vec::new();
    let time = |k: &str, v: &str, errs: &mut Vec<FieldError>| match DateTime::parse_from_rfc3339(v)
    {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errs.push(FieldError::new(k, format!("{k} 应为 RFC 3339 时间")));
            None
        }
    };
    let s = time("starts_at", &input.starts_at, &mut errs);
    let e = time("ends_at", &input.ends_at, &mut errs);
    if let (Some(s), Some(e)) = (s, e)
        && (e <= s || e - s > 31 * 86_400_000)
    {
        errs.push(FieldError::new(
            "ends_at",
            "结束应晚于开始，且一个班次不超过 31 天",
        ));
    }
    // The person is checked on the transaction that writes the shift.
    let uid = input.user_id;
    let mut tx = ctx.store.write_tx().await?;
    if uid <= 0
        || !ctx
            .store
            .user_exists_with_role(&mut tx, uid, &["engineer", "operator", "manager"])
            .await?
    {
        errs.insert(
            0,
            FieldError::new(
                "user_id",
                "值班人员须为在用的工程师、运营人员或项目经理账号",
            ),
        );
    }
    let (Some(s), Some(e)) = (s, e) else {
        return Err(AppError::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let role = input.role.unwrap_or(ShiftRole::Primary).as_str();
    let note = input
        .note
        .as_deref()
        .map(|n| n.chars().take(200).collect::<String>());
    let now = ctx.clock.now_ms();
    let id = ctx
        .store
        .insert_shift(&mut tx, uid, s, e, role, note, now)
        .await?;
    NewAuditEvent::of(
        "create",
        "duty-shifts",
        id,
        format!(
            "排班：用户 #{uid} {} 至 {}",
            crate::clock::local_minutes(s),
            crate::clock::local_minutes(e)
        ),
    )
    .after(serde_json::to_value(&input).unwrap_or_default())
    .write(&mut tx, now, &u.actor())
    .await?;
    tx.commit().await?;
    ctx.store
        .shifts(s, e)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)
}

/// Deletes a shift.
pub async fn delete_shift(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    require(u, Perm::ManageIntegrations)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_shift(&mut tx, id).await?;
    NewAuditEvent::of("delete", "duty-shifts", id, format!("删除排班 #{id}"))
        .write(&mut tx, now, &u.actor())
        .await?;
    tx.commit().await?;
    Ok(())
}
