//! The duty roster: who is on call, and the shifts that say so: add, delete, copy a week
//! to a later one, and swap two shifts' people. Managers (and admins) edit; every write is
//! audited.

use chrono::DateTime;

use serde::Serialize;
use utoipa::ToSchema;

use super::input::{CopyWeekInput, ShiftInput, ShiftRole, SwapInput};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::monitor::roster::{self, Slot};
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
    let who = ctx
        .store
        .user_names_tx(&mut tx, &[uid])
        .await?
        .pop()
        .map(|(_, n)| n)
        .unwrap_or_else(|| format!("用户 #{uid}"));
    NewAuditEvent::of(
        "create",
        "duty-shifts",
        id,
        format!(
            "排班：{} {} 至 {}",
            who,
            crate::clock::local_minutes(s),
            crate::clock::local_minutes(e)
        ),
    )
    .after(serde_json::to_value(&input).unwrap_or_default())
    .write_and_commit(tx, now, &u.actor())
    .await?;
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
        .write_and_commit(tx, now, &u.actor())
        .await?;
    Ok(())
}

const EDITORS: &[&str] = &["engineer", "operator", "manager"];

fn slot(r: &ShiftRow) -> Slot {
    Slot {
        user_id: r.user_id,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        role: r.role.clone(),
        note: r.note.clone(),
    }
}

/// What a week's copy did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CopyWeekOutcome {
    /// The Monday of the week copied (Beijing date).
    pub from_week: String,
    /// The Monday of the week the copies went to.
    pub to_week: String,
    /// The new shifts.
    #[schema(value_type = Vec<Object>)]
    pub created: Vec<serde_json::Value>,
    /// Shifts not copied: already there, or their person is no longer an active
    /// engineer, operator or manager.
    pub skipped: usize,
}

/// Copies the shifts that start in a week (Monday to Sunday, Beijing time) to the week
/// `weeks_ahead` later (default the next), skipping those already there. A week without
/// shifts is refused.
pub async fn copy_week(
    ctx: &Ctx,
    u: &AuthUser,
    input: CopyWeekInput,
) -> AppResult<CopyWeekOutcome> {
    require(u, Perm::ManageIntegrations)?;
    let mut errs = Vec::new();
    let day = match roster::parse_day("week", &input.week) {
        Ok(d) => Some(d),
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let weeks = input.weeks_ahead.unwrap_or(1);
    if !(1..=8).contains(&weeks) {
        errs.push(FieldError::new("weeks_ahead", "复制到几周后应为 1 到 8"));
    }
    let Some(day) = day else {
        return Err(AppError::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let monday = roster::monday_of(day);
    let from = roster::beijing_midnight(monday);
    let to = from + 7 * 86_400_000;
    let offset = weeks * 7 * 86_400_000;
    let mut tx = ctx.store.write_tx().await?;
    let source: Vec<ShiftRow> = ctx
        .store
        .shifts_tx(&mut tx, from, to)
        .await?
        .into_iter()
        .filter(|r| r.starts_at >= from && r.starts_at < to)
        .collect();
    if source.is_empty() {
        return Err(AppError::invalid(
            "week",
            format!("{monday} 那一周没有排班，没有可复制的班次"),
        ));
    }
    let existing: Vec<Slot> = ctx
        .store
        .shifts_tx(&mut tx, from + offset, to + offset + 31 * 86_400_000)
        .await?
        .iter()
        .map(slot)
        .collect();
    let mut active = Vec::new();
    let mut skipped = 0;
    for r in &source {
        if ctx
            .store
            .user_exists_with_role(&mut tx, r.user_id, EDITORS)
            .await?
        {
            active.push(slot(r));
        } else {
            skipped += 1;
        }
    }
    let (copies, already) = roster::copy_plan(&active, &existing, weeks);
    skipped += already;
    let now = ctx.clock.now_ms();
    let mut ids = Vec::new();
    for c in &copies {
        let id = ctx
            .store
            .insert_shift(
                &mut tx,
                c.user_id,
                c.starts_at,
                c.ends_at,
                &c.role,
                c.note.clone(),
                now,
            )
            .await?;
        ids.push(id);
    }
    let target = monday + chrono::Duration::days(7 * weeks);
    let created: Vec<serde_json::Value> = ctx
        .store
        .shifts_tx(&mut tx, from + offset, to + offset + 31 * 86_400_000)
        .await?
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| r.to_json())
        .collect();
    NewAuditEvent::of(
        "copy",
        "duty-shifts",
        ids.first().copied().unwrap_or_default(),
        format!(
            "复制排班：{monday} 那一周的 {} 个班次复制到 {target} 那一周（跳过 {skipped} 个）",
            ids.len()
        ),
    )
    .after(serde_json::json!({"week": monday.to_string(), "to_week": target.to_string(), "created": ids, "skipped": skipped}))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(CopyWeekOutcome {
        from_week: monday.to_string(),
        to_week: target.to_string(),
        created,
        skipped,
    })
}

/// Swaps the people of two shifts (held by two different people, both still active
/// engineers, operators or managers). Answers both shifts as they are now.
pub async fn swap_shifts(ctx: &Ctx, u: &AuthUser, input: SwapInput) -> AppResult<Vec<ShiftRow>> {
    require(u, Perm::ManageIntegrations)?;
    let mut tx = ctx.store.write_tx().await?;
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    for (field, id) in [("first", input.first), ("second", input.second)] {
        match ctx.store.shift_tx(&mut tx, id).await {
            Ok(r) => rows.push(r),
            Err(crate::store::StoreError::NotFound) => errs.push(FieldError::new(
                field,
                format!("班次 #{id} 不存在，请刷新值班表后重新选择"),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (a, b) = (&rows[0], &rows[1]);
    roster::check_swap((a.id, &slot(a)), (b.id, &slot(b))).map_err(AppError::Validation)?;
    for (field, r) in [("first", b), ("second", a)] {
        // Each person takes the other's shift: both must still be on the roster.
        if !ctx
            .store
            .user_exists_with_role(&mut tx, r.user_id, EDITORS)
            .await?
        {
            return Err(AppError::invalid(
                field,
                "该班次的值班人员已停用或不再是工程师、运营人员或项目经理，不能接班",
            ));
        }
    }
    ctx.store.set_shift_user(&mut tx, a.id, b.user_id).await?;
    ctx.store.set_shift_user(&mut tx, b.id, a.user_id).await?;
    let names = ctx
        .store
        .user_names_tx(&mut tx, &[a.user_id, b.user_id])
        .await?;
    let name = |id: i64| {
        names
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("用户 #{id}"))
    };
    let now = ctx.clock.now_ms();
    NewAuditEvent::of(
        "swap",
        "duty-shifts",
        a.id,
        format!(
            "互换排班：{} 的班次（{} 至 {}）与 {} 的班次（{} 至 {}）",
            name(a.user_id),
            crate::clock::local_minutes(a.starts_at),
            crate::clock::local_minutes(a.ends_at),
            name(b.user_id),
            crate::clock::local_minutes(b.starts_at),
            crate::clock::local_minutes(b.ends_at)
        ),
    )
    .before(serde_json::json!({"first": {"id": a.id, "user_id": a.user_id}, "second": {"id": b.id, "user_id": b.user_id}}))
    .after(serde_json::json!({"first": {"id": a.id, "user_id": b.user_id}, "second": {"id": b.id, "user_id": a.user_id}}))
    .write(&mut tx, now, &u.actor())
    .await?;
    let out = vec![
        ctx.store.shift_tx(&mut tx, a.id).await?,
        ctx.store.shift_tx(&mut tx, b.id).await?,
    ];
    tx.commit().await?;
    Ok(out)
}

/// One person on call now, with the shift that puts them there.
#[derive(Debug, Serialize)]
pub struct OnCall {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// Who is on call at `at` (primary first), with their shifts and names.
pub async fn on_call_now(ctx: &Ctx, at: i64) -> AppResult<Vec<OnCall>> {
    let rows = ctx.store.shifts(at, at + 1).await?;
    let mut rows: Vec<ShiftRow> = rows
        .into_iter()
        .filter(|r| r.starts_at <= at && r.ends_at > at)
        .collect();
    rows.sort_by_key(|r| (r.role != "primary", r.starts_at, r.id));
    let mut out = Vec::new();
    for r in rows {
        let name = ctx
            .store
            .user_by_id(r.user_id)
            .await
            .map(|u| u.display_name)
            .unwrap_or_else(|_| format!("用户 #{}", r.user_id));
        out.push(OnCall {
            user_id: r.user_id,
            name,
            role: r.role,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
        });
    }
    Ok(out)
}
