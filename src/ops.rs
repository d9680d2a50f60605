//! Operations services (系统业务运营服务) as a service: the contract's service lines and
//! the work records their staff keep, with the indicators per line and period. Each write
//! validates its typed input (`domain::operations`), runs on one write transaction and
//! writes its audit record last (docs/ARCHITECTURE.md, "How a write flows").
//!
//! Roles: operations staff (`operator`) write the records of the lines they staff; the
//! manager and the admin write any; the purchaser (`supervisor`), 监理 (`auditor`) and
//! engineers read everything; a requester account sees only the records it confirmed
//! through a confirmation link while signed in (`confirmed_by`; the link itself needs no
//! account, and an anonymous confirmation belongs to nobody).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};
use crate::domain::inventory::SYSTEMS;
use crate::domain::operations::{
    LineStats, RecordCreate, RecordFact, RecordPatch, RecordType, check_record, is_consultation,
    line_for_system, line_stats,
};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::operations::{LineRow, LineValues, RecordFilter, RecordRow, RecordValues};

pub mod months;

fn ids(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

fn texts(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// The record types a line keeps.
pub fn line_types(l: &LineRow) -> Vec<RecordType> {
    texts(&l.record_types)
        .iter()
        .filter_map(|t| RecordType::parse(t))
        .collect()
}

fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

fn check_manage(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether `u` may write the records of line `l`.
fn may_write(u: &AuthUser, l: &LineRow) -> bool {
    match u.role {
        Role::Admin | Role::Manager => true,
        Role::Operator => ids(&l.staff_ids).contains(&u.id),
        _ => false,
    }
}

pub fn line_json(l: &LineRow) -> Value {
    let types: Vec<Value> = line_types(l)
        .into_iter()
        .map(|t| json!({"type": t.as_str(), "label": t.label()}))
        .collect();
    json!({
        "id": l.id, "code": l.code, "name": l.name, "platform": l.platform,
        "description": l.description, "deliverables": texts(&l.deliverables),
        "system_ids": ids(&l.system_ids), "record_types": types,
        "staff_ids": ids(&l.staff_ids), "report_cadence": l.report_cadence,
        "handle_minutes": l.handle_minutes,
        "created_at": crate::clock::rfc3339(l.created_at), "updated_at": crate::clock::rfc3339(l.updated_at),
    })
}

pub fn record_json(r: &RecordRow) -> Value {
    let kind = RecordType::parse(&r.kind);
    json!({
        "id": r.id, "line_id": r.line_id, "line_code": r.line_code, "line_name": r.line_name,
        "type": r.kind, "type_label": kind.map(RecordType::label),
        "occurred_at": crate::clock::rfc3339(r.occurred_at), "duration_minutes": r.duration_minutes,
        "requester": r.requester, "organisation": r.organisation, "org_level": r.org_level,
        "channel": r.channel, "summary": r.summary, "answer": r.answer, "result": r.result,
        "system_id": r.system_id, "system_name": r.system_name,
        "ticket_id": r.ticket_id, "ticket_number": r.ticket_number,
        "data": serde_json::from_str::<Value>(&r.data).unwrap_or_else(|_| json!({})),
        "operator_id": r.operator_id, "operator_name": r.operator_name, "origin": r.origin,
        "rating": r.rating, "rating_comment": r.rating_comment,
        "confirmed_at": r.confirmed_at.map(crate::clock::rfc3339),
        "created_at": crate::clock::rfc3339(r.created_at), "updated_at": crate::clock::rfc3339(r.updated_at),
    })
}

// ---- service lines ---------------------------------------------------------------------

/// A service line as the demo (the seed's 4.2) ships it.
#[derive(Debug, Deserialize)]
struct SeedLine {
    code: String,
    name: String,
    platform: String,
    description: String,
    deliverables: Vec<String>,
    record_types: Vec<String>,
    system_codes: Vec<String>,
    report_cadence: String,
}

const SEED_LINES: &str = include_str!("../demo/service_lines.json");

/// Loads the contract's 22 service lines (4.2.1–4.2.20, 4.2.14 as three) into a database
/// that has none; answers how many. The systems they serve are found by their codes.
pub async fn load_demo_lines(ctx: &Ctx) -> AppResult<usize> {
    let lines: Vec<SeedLine> = serde_json::from_str(SEED_LINES).map_err(anyhow::Error::from)?;
    let systems = ctx
        .store
        .list_entities(
            &SYSTEMS,
            &crate::store::entities::ListQuery {
                limit: 10_000,
                ..Default::default()
            },
        )
        .await?
        .0;
    let system_id = |code: &str| {
        systems
            .iter()
            .find(|s| s.get("code").and_then(Value::as_str) == Some(code))
            .and_then(|s| s.get("id").and_then(Value::as_i64))
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    if crate::store::Store::count_service_lines_in(&mut tx).await? > 0 {
        return Ok(0);
    }
    for l in &lines {
        let sys: Vec<i64> = l.system_codes.iter().filter_map(|c| system_id(c)).collect();
        let v = LineValues {
            code: l.code.clone(),
            name: l.name.clone(),
            platform: Some(l.platform.clone()),
            description: Some(l.description.clone()),
            deliverables: json!(l.deliverables).to_string(),
            system_ids: json!(sys).to_string(),
            record_types: json!(l.record_types).to_string(),
            staff_ids: "[]".into(),
            report_cadence: l.report_cadence.clone(),
            handle_minutes: 240,
        };
        ctx.store.insert_service_line(&mut tx, &v, now).await?;
    }
    append(
        &mut tx,
        now,
        &AuthUser::system("demo").actor(),
        NewAuditEvent {
            action: "create".into(),
            entity_type: "service_lines".into(),
            entity_id: None,
            summary: format!("载入合同的 {} 条运营服务条线", lines.len()),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(lines.len())
}

pub async fn lines(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<LineRow>> {
    check_read(u)?;
    Ok(ctx.store.service_lines().await?)
}

pub async fn line(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<LineRow> {
    check_read(u)?;
    Ok(ctx.store.service_line(id).await?)
}

/// How often a line's statistics are due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Monthly,
    Quarterly,
}

/// `PATCH /service-lines/{id}`: the fields to change; lists replace the stored ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinePatch {
    pub code: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub platform: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub deliverables: Option<Vec<String>>,
    pub system_ids: Option<Vec<i64>>,
    pub record_types: Option<Vec<RecordType>>,
    /// The operations staff (users with the role operator) who write the line's records.
    pub staff_ids: Option<Vec<i64>>,
    pub report_cadence: Option<Cadence>,
    /// Minutes within which a support request counts as handled in the agreed time.
    pub handle_minutes: Option<i64>,
}

impl Labels for LinePatch {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("code", "条线编号"),
        ("name", "条线名称"),
        ("platform", "服务平台"),
        ("description", "服务内容"),
        ("deliverables", "交付成果"),
        ("system_ids", "服务的系统"),
        ("record_types", "记录类型"),
        ("staff_ids", "运营人员"),
        ("report_cadence", "统计周期"),
        ("handle_minutes", "约定处理时限（分钟）"),
    ];
}

/// A line's values after `p` is applied to `old`, every problem reported at once.
async fn line_values(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    old: &LineRow,
    p: LinePatch,
    except: Option<i64>,
) -> AppResult<LineValues> {
    let mut errs = Vec::new();
    let code = p.code.map_or(old.code.clone(), |c| c.trim().to_string());
    if code.is_empty() || code.chars().count() > 20 {
        errs.push(FieldError::new("code", "条线编号不能为空，且不超过 20 字"));
    } else if ctx.store.service_line_code_taken(tx, &code, except).await? {
        errs.push(FieldError::new("code", format!("条线编号 {code} 已被使用")));
    }
    let name = p.name.map_or(old.name.clone(), |c| c.trim().to_string());
    if name.is_empty() || name.chars().count() > 200 {
        errs.push(FieldError::new("name", "条线名称不能为空，且不超过 200 字"));
    }
    let clean = |v: Option<Option<String>>, old: &Option<String>| match v {
        None => old.clone(),
        Some(v) => v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
    };
    let platform = clean(p.platform, &old.platform);
    let description = clean(p.description, &old.description);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 4000)
    {
        errs.push(FieldError::new("description", "服务内容不能超过 4000 字"));
    }
    let deliverables = match p.deliverables {
        None => texts(&old.deliverables),
        Some(d) => {
            let d: Vec<String> = d
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if d.len() > 50 || d.iter().any(|s| s.chars().count() > 200) {
                errs.push(FieldError::new(
                    "deliverables",
                    "交付成果最多 50 项，每项不超过 200 字",
                ));
            }
            d
        }
    };
    let system_ids = match p.system_ids {
        None => ids(&old.system_ids),
        Some(mut s) => {
            s.sort_unstable();
            s.dedup();
            for sid in &s {
                if !ctx.store.entity_exists_in(tx, &SYSTEMS, *sid).await? {
                    errs.push(FieldError::new("system_ids", format!("系统 {sid} 不存在")));
                }
            }
            s
        }
    };
    let record_types: Vec<String> = match p.record_types {
        None => texts(&old.record_types),
        Some(mut t) => {
            t.sort();
            t.dedup();
            t.iter().map(|t| t.as_str().to_string()).collect()
        }
    };
    let staff_ids = match p.staff_ids {
        None => ids(&old.staff_ids),
        Some(mut s) => {
            s.sort_unstable();
            s.dedup();
            let ok = ctx.store.users_with_roles_in(tx, &s, &["operator"]).await?;
            for sid in s.iter().filter(|i| !ok.contains(i)) {
                errs.push(FieldError::new(
                    "staff_ids",
                    format!("用户 {sid} 不存在、已停用或不是运营人员"),
                ));
            }
            s
        }
    };
    let handle_minutes = p.handle_minutes.unwrap_or(old.handle_minutes);
    if !(1..=30 * 24 * 60).contains(&handle_minutes) {
        errs.push(FieldError::new(
            "handle_minutes",
            "约定处理时限应为 1 到 43200 分钟",
        ));
    }
    let report_cadence = match p.report_cadence {
        None => old.report_cadence.clone(),
        Some(Cadence::Monthly) => "monthly".into(),
        Some(Cadence::Quarterly) => "quarterly".into(),
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    Ok(LineValues {
        code,
        name,
        platform,
        description,
        deliverables: json!(deliverables).to_string(),
        system_ids: json!(system_ids).to_string(),
        record_types: json!(record_types).to_string(),
        staff_ids: json!(staff_ids).to_string(),
        report_cadence,
        handle_minutes,
    })
}

/// `POST /service-lines`: a line the contract adds; `code` and `name` are required.
pub async fn create_line(ctx: &Ctx, u: &AuthUser, p: LinePatch) -> AppResult<LineRow> {
    check_manage(u)?;
    let mut errs = Vec::new();
    if p.code.as_deref().is_none_or(|c| c.trim().is_empty()) {
        errs.push(FieldError::new("code", "请填写条线编号，如 4.2.21"));
    }
    if p.name.as_deref().is_none_or(|c| c.trim().is_empty()) {
        errs.push(FieldError::new("name", "请填写条线名称"));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let now = ctx.clock.now_ms();
    let blank = LineRow {
        id: 0,
        code: String::new(),
        name: String::new(),
        platform: None,
        description: None,
        deliverables: "[]".into(),
        system_ids: "[]".into(),
        record_types: json!(["support"]).to_string(),
        staff_ids: "[]".into(),
        report_cadence: "monthly".into(),
        handle_minutes: 240,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.store.write_tx().await?;
    let v = line_values(ctx, &mut tx, &blank, p, None).await?;
    let id = ctx.store.insert_service_line(&mut tx, &v, now).await?;
    let new = ctx
        .store
        .service_line_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    NewAuditEvent::of(
        "create",
        "service_lines",
        id,
        format!("新增运营服务条线 {} {}", new.code, new.name),
    )
    .after(line_json(&new))
    .write(&mut tx, now, &u.actor())
    .await?;
    tx.commit().await?;
    Ok(new)
}

pub async fn update_line(ctx: &Ctx, u: &AuthUser, id: i64, p: LinePatch) -> AppResult<LineRow> {
    check_manage(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = ctx
        .store
        .service_line_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = line_values(ctx, &mut tx, &old, p, Some(id)).await?;
    ctx.store.update_service_line(&mut tx, id, &v, now).await?;
    let new = ctx
        .store
        .service_line_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent::of(
            "update",
            "service_lines",
            id,
            format!("修改运营服务条线 {} {}", new.code, new.name),
        )
        .before(line_json(&old))
        .after(line_json(&new)),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

// ---- work records ----------------------------------------------------------------------

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
fn stored(line_id: i64, r: &RecordCreate, c: crate::domain::operations::Checked) -> RecordValues {
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
    let row = ctx
        .store
        .work_record_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
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
async fn record_to_change(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    u: &AuthUser,
    id: i64,
) -> AppResult<(RecordRow, LineRow)> {
    let r = ctx
        .store
        .work_record_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
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
    let new = ctx
        .store
        .work_record_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
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

/// A resolved consultation ticket (a request of category 咨询) becomes one 技术支持 record
/// of the line serving its system (the first by code when several do), on the resolving
/// transaction, audited there: the requester, the title as the question, the resolution as
/// the answer, the minutes from its creation to now, channel 工单. Nothing when the ticket is
/// no consultation, has no system, no line serves it, or it made its record already
/// (resolved again after a reopen).
///
/// The record passes the checks of one entered by hand: the line keeps 技术支持 records, the
/// resolver may write that line's records (the manager, the admin, or an operator staffing
/// it), and the record's fields are valid (`check_record`). When one fails, no record is
/// written and the answer is the sentence saying why, for the ticket's timeline.
pub async fn support_from_ticket(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    u: &AuthUser,
    t: &crate::store::desk::TicketRow,
    resolution: &str,
    now_ms: i64,
) -> AppResult<Option<String>> {
    if !is_consultation(&t.kind, t.category.as_deref()) {
        return Ok(None);
    }
    let Some(system_id) = t.system_id else {
        return Ok(None);
    };
    if ctx.store.record_of_ticket_exists_in(tx, t.id).await? {
        return Ok(None);
    }
    let lines = ctx.store.service_lines_in(tx).await?;
    let serving: Vec<(i64, String, Vec<i64>)> = lines
        .iter()
        .map(|l| (l.id, l.code.clone(), ids(&l.system_ids)))
        .collect();
    let Some(line) =
        line_for_system(&serving, system_id).and_then(|id| lines.iter().find(|l| l.id == id))
    else {
        return Ok(None);
    };
    let skipped = |why: String| {
        Ok(Some(format!(
            "咨询工单未记为服务条线 {} 的技术支持记录：{why}",
            line.code
        )))
    };
    let types = line_types(line);
    if !types.contains(&RecordType::Support) {
        return skipped(
            "该服务条线不记录“技术支持”类型，请由管理员在服务条线中添加该类型后手工补录".into(),
        );
    }
    if !may_write(u, line) {
        return skipped(format!(
            "处理人 {} 不是该服务条线的运营人员，请由该条线的运营人员手工补录",
            u.display_name
        ));
    }
    let requester = t
        .requester_name
        .clone()
        .or_else(|| t.requester_username.clone())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "（未署名）".into());
    let r = RecordCreate {
        line_id: line.id,
        kind: RecordType::Support,
        occurred_at: Some(crate::clock::rfc3339(t.created_at)),
        duration_minutes: Some(((now_ms - t.created_at) / 60_000).max(0)),
        requester: Some(requester),
        organisation: None,
        org_level: None,
        channel: Some("工单".into()),
        summary: t.title.clone(),
        answer: Some(resolution.to_string()),
        result: Some("已解决".into()),
        system_id: Some(system_id),
        ticket_id: Some(t.id),
        data: Map::new(),
    };
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_else(|| ctx.clock.now());
    let v = match check_record(&r, &types, now) {
        Ok(c) => stored(line.id, &r, c),
        Err(errs) => {
            let why: Vec<String> = errs.into_iter().map(|e| e.message).collect();
            return skipped(why.join("；"));
        }
    };
    let id = ctx
        .store
        .insert_work_record(tx, &v, u.id, "ticket", now_ms)
        .await?;
    let row = ctx
        .store
        .work_record_in(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    NewAuditEvent::of(
        "create",
        "work_records",
        id,
        format!(
            "{} 技术支持：咨询工单 {} 解决后记录：{}",
            line.code, t.number, t.title
        ),
    )
    .after(record_json(&row))
    .write(tx, now_ms, &u.actor())
    .await?;
    Ok(None)
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

/// A line's indicators over `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineIndicators {
    pub line_id: i64,
    pub code: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub handle_minutes: i64,
    /// Requirements of the line proposed in the period, and delivered or verified in it.
    pub requirements_new: i64,
    pub requirements_delivered: i64,
    #[serde(flatten)]
    pub stats: LineStats,
}

pub async fn indicators(
    ctx: &Ctx,
    u: &AuthUser,
    line_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<LineIndicators> {
    check_read(u)?;
    let l = ctx.store.service_line(line_id).await?;
    let facts: Vec<RecordFact> = ctx
        .store
        .work_record_facts(line_id, from.timestamp_millis(), to.timestamp_millis())
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(RecordFact {
                kind: RecordType::parse(&r.kind)?,
                channel: r.channel,
                duration_minutes: r.duration_minutes,
                result: r.result,
                rating: r.rating,
                summary: r.summary,
            })
        })
        .collect();
    let (requirements_new, requirements_delivered) = ctx
        .store
        .line_requirement_counts(line_id, from.timestamp_millis(), to.timestamp_millis())
        .await?;
    Ok(LineIndicators {
        line_id,
        code: l.code.clone(),
        name: l.name.clone(),
        from: crate::clock::rfc3339(from.timestamp_millis()),
        to: crate::clock::rfc3339(to.timestamp_millis()),
        handle_minutes: l.handle_minutes,
        requirements_new,
        requirements_delivered,
        stats: line_stats(&facts, l.handle_minutes),
    })
}

/// The requesters most recently served on a line, for the entry form to offer.
pub async fn recent_requesters(ctx: &Ctx, u: &AuthUser, line_id: i64) -> AppResult<Vec<Value>> {
    check_read(u)?;
    Ok(ctx
        .store
        .recent_requesters(line_id, 20)
        .await?
        .into_iter()
        .map(|(r, o, l)| json!({"requester": r, "organisation": o, "org_level": l}))
        .collect())
}

// ---- confirmation by the requester -------------------------------------------------------

/// How long a confirmation link stays valid.
pub const CONFIRM_DAYS: i64 = 7;

fn token_hash(token: &str) -> String {
    crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()))
}

/// A new confirmation link for a record: its token (shown once) and expiry. The record's
/// author, the manager and the admin may make one; a new link replaces the old.
pub async fn confirmation_link(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(String, i64)> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let (r, _) = record_to_change(ctx, &mut tx, u, id).await?;
    if r.confirmed_at.is_some() {
        return Err(AppError::Conflict(
            "该记录已由服务对象确认，无需再发确认链接".into(),
        ));
    }
    let mut raw = [0u8; 32];
    password_hash::rand_core::RngCore::fill_bytes(&mut password_hash::rand_core::OsRng, &mut raw);
    let token = crate::store::audit::hex(&raw);
    let expires = now_ms + CONFIRM_DAYS * 86_400_000;
    ctx.store
        .set_confirm_token(&mut tx, id, &token_hash(&token), expires)
        .await?;
    NewAuditEvent::of(
        "update",
        "work_records",
        id,
        format!("生成运营记录 #{id} 的确认链接（{CONFIRM_DAYS} 天内有效）"),
    )
    .write(&mut tx, now_ms, &u.actor())
    .await?;
    tx.commit().await?;
    Ok((token, expires))
}

/// Why a confirmation link does not open.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkState {
    Open,
    /// Used up, replaced, or never issued.
    Unknown,
    Expired,
}

/// The record a confirmation link shows, and whether it can still be used.
pub async fn confirmation_view(
    ctx: &Ctx,
    token: &str,
) -> AppResult<(Option<RecordRow>, LinkState)> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((None, LinkState::Unknown));
    }
    match ctx.store.record_by_confirm_token(&token_hash(token)).await {
        Ok(c) => {
            let state = if c.expires_at.is_some_and(|e| e > ctx.clock.now_ms()) {
                LinkState::Open
            } else {
                LinkState::Expired
            };
            Ok((Some(c.record), state))
        }
        Err(crate::store::StoreError::NotFound) => Ok((None, LinkState::Unknown)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /confirm/{token}`: the requester's rating (one of 非常满意, 满意, 一般, 不满意) and
/// an optional comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub rating: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for Confirmation {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("rating", "服务评价"), ("comment", "意见")];
}

/// Confirms and rates the record of a link, once, before it expires. `by` is the account
/// signed in on the confirming browser, if any: a requester account then sees the record
/// among its own (`GET /work-records`); an anonymous confirmation is nobody's.
pub async fn confirm(
    ctx: &Ctx,
    token: &str,
    c: Confirmation,
    by: Option<&AuthUser>,
) -> AppResult<RecordRow> {
    let mut errs = Vec::new();
    let rating = c.rating.trim().to_string();
    if !crate::domain::operations::RATINGS.contains(&rating.as_str()) {
        errs.push(FieldError::new(
            "rating",
            format!(
                "请选择评价：{}",
                crate::domain::operations::RATINGS.join("、")
            ),
        ));
    }
    let comment = c
        .comment
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if comment.as_ref().is_some_and(|s| s.chars().count() > 500) {
        errs.push(FieldError::new("comment", "意见不能超过 500 字"));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (_, state) = confirmation_view(ctx, token).await?;
    match state {
        LinkState::Open => {}
        LinkState::Expired => {
            return Err(AppError::Conflict(
                "确认链接已过期，请联系运营人员重新发送".into(),
            ));
        }
        LinkState::Unknown => return Err(AppError::NotFound),
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let Some(id) = ctx
        .store
        .confirm_record(
            &mut tx,
            &token_hash(token),
            &rating,
            comment.as_deref(),
            by.map(|u| u.id),
            now_ms,
        )
        .await?
    else {
        // Used or expired between the look and the write.
        return Err(AppError::NotFound);
    };
    NewAuditEvent::of(
        "confirm",
        "work_records",
        id,
        format!("服务对象确认运营记录 #{id}，评价：{rating}"),
    )
    .after(json!({"rating": rating, "comment": comment}))
    .write(
        &mut tx,
        now_ms,
        &by.map_or_else(
            || AuthUser::system("confirmation-link").actor(),
            AuthUser::actor,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ctx.store.work_record(id).await?)
}

// ---- import ------------------------------------------------------------------------------

/// Imports a CSV or XLSX of work records onto a line, with the inventory's import rules:
/// bounded parsing off the runtime, every bad row and column named, and nothing imported
/// when there is any. Columns by their Chinese headers (`domain::operations::import`).
pub async fn import_records(
    ctx: &Ctx,
    u: &AuthUser,
    line_id: i64,
    file_name: &str,
    data: &[u8],
) -> AppResult<Value> {
    use crate::domain::operations::import::{field_of, row_json};
    use crate::store::entities::RowError;
    if !matches!(u.role, Role::Admin | Role::Manager | Role::Operator) {
        return Err(AppError::forbidden());
    }
    let line = match ctx.store.service_line(line_id).await {
        Ok(l) => l,
        Err(crate::store::StoreError::NotFound) => {
            return Err(AppError::invalid(
                "line_id",
                format!("服务条线 {line_id} 不存在"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if !may_write(u, &line) {
        return Err(AppError::forbidden());
    }
    if data.is_empty() {
        return Err(AppError::invalid("file", "上传的文件为空"));
    }
    let _slot = ctx
        .gates
        .imports
        .acquire()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("import gate closed: {e}")))?;
    let limits = ctx.config.import.clone();
    let owned = data.to_vec();
    let table = tokio::task::spawn_blocking(move || crate::transfer::read_table(&owned, &limits))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("import parser task failed: {e}")))?
        .map_err(|e| AppError::invalid("file", e.0))?;
    // A title row above the header (as the exports write it) is skipped.
    let maps = |row: &[String]| row.iter().any(|h| field_of(h).is_some());
    let (headers, rows): (&[String], &[(usize, Vec<String>)]) = match table.rows.split_first() {
        Some(((_, next), rest)) if !maps(&table.headers) && maps(next) => (next, rest),
        _ => (&table.headers, &table.rows),
    };
    let fields: Vec<Option<String>> = headers.iter().map(|h| field_of(h)).collect();
    let ignored: Vec<String> = headers
        .iter()
        .zip(&fields)
        .filter(|(h, f)| f.is_none() && !h.trim().is_empty())
        .map(|(h, _)| h.clone())
        .collect();
    let column_of = |field: &str| -> String {
        headers
            .iter()
            .zip(&fields)
            .find(|(_, f)| f.as_deref() == Some(field))
            .map(|(h, _)| h.clone())
            .or_else(|| {
                crate::domain::operations::RECORD_LABELS
                    .iter()
                    .find(|(k, _)| *k == field)
                    .map(|(_, l)| (*l).to_string())
            })
            .unwrap_or_else(|| field.to_string())
    };
    let mut errors: Vec<RowError> = Vec::new();
    if !fields.iter().any(|f| f.as_deref() == Some("summary")) {
        errors.push(RowError {
            row: 1,
            column: "问题或工作内容".into(),
            field: "summary".into(),
            message: "缺少“问题或工作内容”列".into(),
        });
    }
    let now = ctx.clock.now();
    let types = line_types(&line);
    let mut values = Vec::new();
    if errors.is_empty() {
        for (row, cells) in rows {
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let checked =
                crate::domain::input::decode::<RecordCreate>(row_json(line_id, &fields, cells))
                    .and_then(|r| check_record(&r, &types, now).map(|c| (r, c)));
            match checked {
                // The import has no system or ticket columns.
                Ok((r, c)) => values.push(stored(line_id, &r, c)),
                Err(errs) => {
                    for e in errs {
                        let column = column_of(&e.field);
                        errors.push(RowError {
                            row: *row,
                            column,
                            field: e.field,
                            message: e.message,
                        });
                    }
                }
            }
            if errors.len() >= 1000 {
                break;
            }
        }
    }
    if !errors.is_empty() {
        let n = errors.len();
        let first = errors
            .first()
            .map(|e| format!("第 {} 行“{}”列：{}", e.row, e.column, e.message))
            .unwrap_or_default();
        return Err(AppError::Unprocessable {
            code: "import_failed",
            message: format!("导入失败，共 {n} 处错误，未导入任何数据。{first}"),
            details: json!({"errors": errors}),
        });
    }
    let now_ms = now.timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    for v in &values {
        ctx.store
            .insert_work_record(&mut tx, v, u.id, "import", now_ms)
            .await?;
    }
    NewAuditEvent {
        action: "import".into(),
        entity_type: "work_records".into(),
        entity_id: None,
        summary: format!(
            "从 {file_name} 导入 {} 条运营记录到 {} {}",
            values.len(),
            line.code,
            line.name
        ),
        before: None,
        after: Some(json!({"line_id": line_id, "rows": values.len()})),
    }
    .write(&mut tx, now_ms, &u.actor())
    .await?;
    tx.commit().await?;
    Ok(json!({"imported": values.len(), "ignored_columns": ignored}))
}
