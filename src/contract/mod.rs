//! Contract and deliverables (合同与交付物) as services: the contract record with its
//! quality targets measured from the records (`quality`), the deliverables register with
//! its instances (`deliverables`) and their versions and reviews (`versions`).
//!
//! Roles: the purchaser (`supervisor`) owns the contract record and edits it; the admin
//! may too (the platform owner enters it when the system is set up). Everyone but
//! requesters reads it. The contractor's manager cannot change the terms it is paid and
//! judged by.

pub mod acceptance;
pub mod deliverables;
pub mod quality;
pub mod template;
pub mod versions;

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::contract::{
    ContractPatch, ContractRecord, Parties, ServicePeriod, check_record, round2, total_wan,
};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;

const DEMO_CONTRACT: &str = include_str!("../../demo/contract_record.json");

/// Who may read the contract and the register: everyone but requesters.
pub fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

fn may_edit(u: &AuthUser) -> bool {
    matches!(u.role, Role::Supervisor | Role::Admin)
}

/// The stored record, if any.
pub async fn stored(ctx: &Ctx) -> AppResult<Option<ContractRecord>> {
    match ctx.store.contract_record().await? {
        None => Ok(None),
        Some(r) => Ok(Some(serde_json::from_str(&r.body).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "the stored contract record is unreadable: {e}"
            ))
        })?)),
    }
}

/// The record as answered: as stored, with the contract sum and each milestone's amount.
pub fn record_json(r: &ContractRecord) -> Value {
    let total = total_wan(r);
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    v["total_wan"] = json!(total);
    if let Some(ms) = v["milestones"].as_array_mut() {
        for (m, src) in ms.iter_mut().zip(&r.milestones) {
            m["amount_wan"] = json!(round2(total * src.percent / 100.0));
        }
    }
    v
}

/// `GET /contract`: the record, and the quality targets measured over `[from, to)`.
pub async fn get(ctx: &Ctx, u: &AuthUser, period: &crate::report::Period) -> AppResult<Value> {
    check_read(u)?;
    let r = stored(ctx).await?.ok_or_else(|| {
        AppError::Conflict(
            "尚未录入合同信息：请由采购方（甲方）在合同页面或 PATCH /api/v1/contract 填写".into(),
        )
    })?;
    let mut v = record_json(&r);
    let row = ctx.store.contract_record().await?;
    v["updated_at"] = json!(row.as_ref().map(|r| crate::clock::rfc3339(r.updated_at)));
    v["quality"] = quality::measure(ctx, u, &r, period).await?;
    Ok(v)
}

fn empty() -> ContractRecord {
    let p = || ServicePeriod {
        from: String::new(),
        to: String::new(),
    };
    ContractRecord {
        project_name: String::new(),
        project_number: String::new(),
        parties: Parties {
            purchaser: String::new(),
            contractor: String::new(),
            supervisor: String::new(),
        },
        om_period: p(),
        operations_period: p(),
        budget_lines: vec![],
        milestones: vec![],
        quality_targets: vec![],
    }
}

/// `PATCH /contract`: replaces the parts given; the first patch must give them all.
pub async fn update(ctx: &Ctx, u: &AuthUser, p: ContractPatch) -> AppResult<Value> {
    check_read(u)?;
    if !may_edit(u) {
        return Err(AppError::Forbidden(
            "合同信息由采购方（甲方）维护，项目经理和其他角色只能查看".into(),
        ));
    }
    if p.is_empty() {
        return Err(AppError::invalid(
            "project_name",
            "请至少给出一项要修改的内容",
        ));
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old: Option<ContractRecord> = match ctx.store.contract_record_in(&mut tx).await? {
        None => None,
        Some(r) => Some(serde_json::from_str(&r.body).map_err(anyhow::Error::from)?),
    };
    let new = p.apply(old.clone().unwrap_or_else(empty));
    check_record(&new).map_err(AppError::Validation)?;
    let body = serde_json::to_string(&new).map_err(anyhow::Error::from)?;
    ctx.store
        .put_contract_record(&mut tx, &body, Some(u.id), now_ms)
        .await?;
    let mut ev = NewAuditEvent::of(
        if old.is_some() { "update" } else { "create" },
        "contract",
        1,
        format!("修改合同信息：{}", new.project_name),
    )
    .after(record_json(&new));
    if let Some(o) = &old {
        ev = ev.before(record_json(o));
    }
    ev.write_and_commit(tx, now_ms, &u.actor()).await?;
    Ok(record_json(&new))
}

/// The service periods `(O&M, operations)` as dates, when a record is stored.
pub async fn periods(
    ctx: &Ctx,
) -> AppResult<
    Option<(
        (chrono::NaiveDate, chrono::NaiveDate),
        (chrono::NaiveDate, chrono::NaiveDate),
    )>,
> {
    Ok(stored(ctx)
        .await?
        .and_then(|r| Some((r.om_period.dates()?, r.operations_period.dates()?))))
}

/// Loads the seed's contract record and deliverables register (demo), when none is stored.
pub async fn load_demo(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.store.contract_record().await?.is_none() {
        let r: ContractRecord = serde_json::from_str(DEMO_CONTRACT)?;
        check_record(&r).map_err(|e| anyhow::anyhow!("demo contract record is invalid: {e:?}"))?;
        let mut tx = ctx.store.write_tx().await?;
        ctx.store
            .put_contract_record(
                &mut tx,
                &serde_json::to_string(&r)?,
                None,
                ctx.clock.now_ms(),
            )
            .await?;
        tx.commit().await?;
    }
    deliverables::load_demo(ctx).await
}
