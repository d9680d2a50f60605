//! Service lines: the demo's seed, reading them, and creating and editing them.

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{check_manage, check_read, ids, line_json, texts};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};
use crate::domain::inventory::SYSTEMS;
use crate::domain::operations::RecordType;
use crate::error::{AppError, AppResult};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::operations::{LineRow, LineValues};

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

const SEED_LINES: &str = include_str!("../../demo/service_lines.json");

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
    .write_and_commit(tx, now, &u.actor())
    .await?;
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
