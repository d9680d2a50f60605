//! Work records entered by hand: creating, changing and deleting them, and what each role
//! may read.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{ids, line_types, may_write, record_json};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::inventory::SYSTEMS;
use crate::domain::operations::{RecordCreate, RecordPatch, RecordType, check_record};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::operations::{LineRow, RecordFilter, RecordRow, RecordValues};

/// Checks what needs the database (the system and ticket exist) and turns a checked record
/// into stored values.
async fn values(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    r: &RecordCreate,
    line: &LineRow,
    now: DateTime<Utc>,
) -> AppResult<RecordValues> {
    let checked = check_record(r, &line_types(line), now);
    let mut errs = checked.as_ref().err().cloned().unwrap_or_default();
    if let Some(s) = r.system_id
        && s > 0
        && !ctx.store.entity_exists_in(tx, &SYSTEMS, s).await?
    {
        errs.push(FieldError::new("system_id", format!("系统 {s} 不存在")));
    }
    if let Some(t) = r.ticket_id
        && t > 0
        && !ctx.store.ticket_exists_in(tx, t).await?
    {
        errs.push(FieldError::new("ticket_id", format!("工单 {t} 不存在")));
    }
    match checked {
        Ok(c) if errs.is_empty() => Ok(stored(line.id, r, c)),
        _ => Err(AppError::Validation(errs)),
    }
}

/// A checked record as stored: texts trimmed, type fields as JSON.
pub(super) fn stored(
    line_id: i64,
    r: &RecordCreate,
    c: crate::domain::operations::Checked,
) -> RecordValues {
    let t = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_string());
    RecordValues {
        line_id,
        kind: r.kind.as_str().to_string(),
        occurred_at: c.occurred_at.timestamp_millis(),
        duration_minutes: r.duration_minutes,
        requester: t(&r.requester),
        organisation: t(&r.organisation),
        org_level: t(&r.org_level),
        channel: t(&r.channel),
        summary: r.summary.trim().to_string(),
        answer: t(&r.answer),
        result: t(&r.result),
        system_id: r.system_id,
        ticket_id: r.ticket_id,
        data: Value::Object(c.data).to_string(),
    }
}

async fn line_for_write(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    u: &AuthUser,
    line_id: i64,
) -> AppResult<LineRow> {
    if !matches!(u.role, Role::Admin | Role::Manager | Role::Operator) {
        return Err(AppError::forbidden());
    }
    let Some(line) = ctx.store.service_line_in(tx, line_id).await? else {
        return Err(AppError::invalid(
            "line_id",
            format!("服务条线 {line_id} 不存在"),
        ));
    };
    if !may_write(u, &line) {
        return Err(AppError::forbidden());
    }
    Ok(line)
}

pub async fn create_record(ctx: &Ctx, u: &AuthUser, r: RecordCreate) -> AppResult<RecordRow> {
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let line = line_for_write(ctx, &mut tx, u, r.line_id).await?;
    let v = values(ctx, &mut tx, &r, &line, now).await?;
    let id = ctx
        .store
        .insert_work_record(&mut tx, &v, u.id, "manual", now_ms)
        .await?;
    let row = record_in(ctx, &mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent::of(
            "create",
            "work_records",
            id,
            format!("{} {}：{}", line.code, r.kind.label(), v.summary),
        )
        .after(record_json(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A record read on the write's transaction; a missing one is not found.
pub(super) async fn record_in(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    id: i64,
) -> AppResult<RecordRow> {
    ctx.store
        .work_record_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The stored record as the input it came from, for a patch to apply to.
fn as_input(r: &RecordRow) -> AppResult<RecordCreate> {
    let data: Map<String, Value> = serde_json::from_str(&r.data).unwrap_or_default();
    Ok(RecordCreate {
        line_id: r.line_id,
        kind: RecordType::parse(&r.kind)
            .ok_or_else(|| anyhow::anyhow!("record {} has type {}", r.id, r.kind))?,
        occurred_at: Some(crate::clock::rfc3339(r.occurred_at)),
        duration_minutes: r.duration_minutes,
        requester: r.requester.clone(),
        organisation: r.organisation.clone(),
        org_level: r.org_level.clone(),
        channel: r.channel.clone(),
        summary: r.summary.clone(),
        answer: r.answer.clone(),
        result: r.result.clone(),
        system_id: r.system_id,
        ticket_id: r.ticket_id,
        data,
    })
}

/// A record and its line, read on the write's transaction, if `u` may change it.
pub(super) async fn record_to_change(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    u: &AuthUser,
    id: i64,
) -> AppResult<(RecordRow, LineRow)> {
    let r = record_in(ctx, tx, id).await?;
    let line = ctx
        .store
        .service_line_in(tx, r.line_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if may_change(u, &r, &line) {
        Ok((r, line))
    } else {
        Err(AppError::forbidden())
    }
}

/// Who may change or delete a record: the manager and the admin; an operator their own
/// records on a line they still staff.
fn may_change(u: &AuthUser, r: &RecordRow, line: &LineRow) -> bool {
    match u.role {
        Role::Admin | Role::Manager => true,
        Role::Operator => r.operator_id == u.id && may_write(u, line),
        _ => false,
    }
}

pub async fn update_record(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    p: RecordPatch,
) -> AppResult<RecordRow> {
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let (old, line) = record_to_change(ctx, &mut tx, u, id).await?;
    let merged = p.apply(as_input(&old)?);
    let v = values(ctx, &mut tx, &merged, &line, now).await?;
    ctx.store
        .update_work_record(&mut tx, id, &v, now_ms)
        .await?;
    let new = record_in(ctx, &mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent::of(
            "update",
            "work_records",
            id,
            format!("修改运营记录 #{id}（{}）", line.code),
        )
        .before(record_json(&old))
        .after(record_json(&new)),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

pub async fn delete_record(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let (old, line) = record_to_change(ctx, &mut tx, u, id).await?;
    ctx.store.delete_work_record(&mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent::of(
            "delete",
            "work_records",
            id,
            format!("删除运营记录 #{id}（{}）：{}", line.code, old.summary),
        )
        .before(record_json(&old)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
/// The lines an operator staffs.
async fn staffed_lines(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<i64>> {
    Ok(ctx
        .store
        .service_lines()
        .await?
        .into_iter()
        .filter(|l| ids(&l.staff_ids).contains(&u.id))
        .map(|l| l.id)
        .collect())
}

/// Narrows a list to what `u` may see: operators their lines' records, requesters the
/// records they confirmed (through the link while signed in: `confirmed_by`).
async fn visible(ctx: &Ctx, u: &AuthUser, f: &mut RecordFilter) -> AppResult<()> {
    match u.role {
        Role::Operator => f.lines = Some(staffed_lines(ctx, u).await?),
        Role::Requester => f.confirmed_by = Some(u.id),
        _ => {}
    }
    Ok(())
}

pub async fn records(
    ctx: &Ctx,
    u: &AuthUser,
    mut f: RecordFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<RecordRow>, i64)> {
    visible(ctx, u, &mut f).await?;
    Ok(ctx.store.work_records(&f, limit, offset).await?)
}

pub async fn record(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<RecordRow> {
    let r = ctx.store.work_record(id).await?;
    let seen = match u.role {
        Role::Requester => ctx.store.record_confirmed_by(id).await? == Some(u.id),
        Role::Operator => staffed_lines(ctx, u).await?.contains(&r.line_id),
        _ => true,
    };
    if seen { Ok(r) } else { Err(AppError::NotFound) }
}
