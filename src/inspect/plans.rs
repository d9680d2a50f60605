//! Inspection plans: create, change, delete, run a round now, and the job that generates
//! rounds ahead of time.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::input::{AssigneeRule, PlanCreate, PlanPatch, TargetMode};
use super::templates::template_of;
use super::{audit, check_manage, check_read};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::field_error::FieldError;
use crate::domain::inspection::plan::{due_at, rounds, validate};
use crate::domain::inspection::template::Template;
use crate::error::{AppError, AppResult};
use crate::store::inspect::{NewTask, PlanRow, PlanWrite, TemplateRow};
use crate::store::{Store, Tx};

/// How far ahead the job generates rounds.
pub const HORIZON: Duration = Duration::hours(24);

pub fn plan_json(p: &PlanRow) -> Value {
    let ids: Value = serde_json::from_str(&p.target_ids).unwrap_or(json!([]));
    json!({
        "id": p.id, "name": p.name, "template_id": p.template_id, "target_mode": p.target_mode,
        "target_ids": ids, "category": p.category, "schedule": p.schedule,
        "due_minutes": p.due_minutes, "assignee_rule": p.assignee_rule, "assignee_id": p.assignee_id,
        "active": p.active != 0,
        "generated_until": p.generated_until.map(crate::clock::rfc3339),
        "created_at": crate::clock::rfc3339(p.created_at), "updated_at": crate::clock::rfc3339(p.updated_at),
    })
}

pub async fn list(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<PlanRow>> {
    check_read(u)?;
    Ok(ctx.store.inspection_plans().await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<PlanRow> {
    check_read(u)?;
    Ok(ctx.store.inspection_plan(id).await?)
}

/// Checks a plan against its template and the database, on the writer's transaction.
async fn checked(ctx: &Ctx, tx: &mut Tx, p: &PlanWrite) -> AppResult<TemplateRow> {
    let template = match Store::inspection_template_in(tx, p.template_id).await {
        Ok(t) => t,
        Err(crate::store::StoreError::NotFound) => {
            return Err(AppError::invalid(
                "template_id",
                format!("巡检模板编号 {} 不存在", p.template_id),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let t = template_of(&template)?;
    let ids: Vec<i64> = serde_json::from_str(&p.target_ids).unwrap_or_default();
    let mut errs = validate(
        &p.name,
        t.target_type,
        &p.target_mode,
        &ids,
        p.category.as_deref(),
        t.category.as_deref(),
        &p.schedule,
        p.due_minutes,
        &p.assignee_rule,
        p.assignee_id,
    );
    if errs.is_empty() && p.target_mode == "listed" {
        let found = ctx
            .store
            .inspection_targets_in(tx, t.target_type.as_str(), Some(&ids), None)
            .await?;
        if let Some(missing) = ids.iter().find(|i| !found.iter().any(|(f, _)| f == *i)) {
            errs.push(FieldError::new(
                "target_ids",
                format!("{}编号 {missing} 不存在", t.target_type.label()),
            ));
        }
    }
    if let Some(a) = p.assignee_id
        && !ctx
            .store
            .user_exists_with_role(tx, a, &["engineer", "operator", "manager"])
            .await?
    {
        errs.push(FieldError::new(
            "assignee_id",
            format!("执行人编号 {a} 不是在用的工程师、运维人员或项目经理"),
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    Ok(template)
}

fn write_of(input: PlanCreate) -> PlanWrite {
    let mut ids = input.target_ids;
    ids.sort_unstable();
    ids.dedup();
    PlanWrite {
        name: input.name.trim().to_string(),
        template_id: input.template_id,
        target_mode: input.target_mode.as_str().into(),
        target_ids: serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
        category: input.category,
        schedule: input.schedule.trim().to_string(),
        due_minutes: input.due_minutes.unwrap_or(480),
        assignee_rule: input
            .assignee_rule
            .unwrap_or(AssigneeRule::Assigned)
            .as_str()
            .into(),
        assignee_id: input.assignee_id,
        active: input.active.unwrap_or(true),
    }
}

pub async fn create(ctx: &Ctx, u: &AuthUser, input: PlanCreate) -> AppResult<PlanRow> {
    check_manage(u)?;
    let p = write_of(input);
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    checked(ctx, &mut tx, &p).await?;
    let id = ctx.store.insert_inspection_plan(&mut tx, &p, now).await?;
    let row = ctx.store.inspection_plan_in(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "create",
        "inspection_plans",
        id,
        format!("新建巡检计划“{}”", p.name),
        None,
        Some(plan_json(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update(ctx: &Ctx, u: &AuthUser, id: i64, patch: PlanPatch) -> AppResult<PlanRow> {
    check_manage(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let before = ctx.store.inspection_plan_in(&mut tx, id).await?;
    let mut ids: Vec<i64> = serde_json::from_str(&before.target_ids).unwrap_or_default();
    if let Some(v) = patch.target_ids {
        ids = v;
    }
    let merged = PlanCreate {
        name: patch.name.unwrap_or_else(|| before.name.clone()),
        template_id: patch.template_id.unwrap_or(before.template_id),
        target_mode: patch
            .target_mode
            .or_else(|| TargetMode::parse(&before.target_mode))
            .unwrap_or(TargetMode::All),
        target_ids: ids,
        category: patch.category.unwrap_or_else(|| before.category.clone()),
        schedule: patch.schedule.unwrap_or_else(|| before.schedule.clone()),
        due_minutes: Some(patch.due_minutes.unwrap_or(before.due_minutes)),
        assignee_rule: patch
            .assignee_rule
            .or_else(|| AssigneeRule::parse(&before.assignee_rule)),
        assignee_id: patch.assignee_id.unwrap_or(before.assignee_id),
        active: Some(patch.active.unwrap_or(before.active != 0)),
    };
    let p = write_of(merged);
    checked(ctx, &mut tx, &p).await?;
    let reset = p.schedule != before.schedule || p.template_id != before.template_id;
    ctx.store
        .update_inspection_plan(&mut tx, id, &p, reset, now)
        .await?;
    let row = ctx.store.inspection_plan_in(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "update",
        "inspection_plans",
        id,
        format!("修改巡检计划“{}”", p.name),
        Some(plan_json(&before)),
        Some(plan_json(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a plan; its tasks stay, no longer tied to a plan.
pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let before = ctx.store.inspection_plan_in(&mut tx, id).await?;
    ctx.store.delete_inspection_plan(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "delete",
        "inspection_plans",
        id,
        format!("删除巡检计划“{}”", before.name),
        Some(plan_json(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes one round of a plan's tasks starting at `round_at`, on the caller's transaction;
/// answers the new tasks' ids (a target that already has the round is skipped).
async fn make_round(
    ctx: &Ctx,
    tx: &mut Tx,
    plan: &PlanRow,
    template: &TemplateRow,
    t: &Template,
    round_at: DateTime<Utc>,
    now_ms: i64,
) -> AppResult<Vec<i64>> {
    let tt = t.target_type.as_str();
    let targets = match plan.target_mode.as_str() {
        "listed" => {
            let ids: Vec<i64> = serde_json::from_str(&plan.target_ids).unwrap_or_default();
            ctx.store
                .inspection_targets_in(tx, tt, Some(&ids), None)
                .await?
        }
        "category" => {
            let cat = plan.category.as_deref().or(t.category.as_deref());
            ctx.store.inspection_targets_in(tx, tt, None, cat).await?
        }
        _ => {
            ctx.store
                .inspection_targets_in(tx, tt, None, t.category.as_deref())
                .await?
        }
    };
    let due = due_at(round_at, plan.due_minutes).timestamp_millis();
    let mut made = Vec::new();
    for (target_id, target_name) in targets {
        let assignee = match plan.assignee_rule.as_str() {
            "assigned" => ctx
                .store
                .inspection_assignee_in(tx, tt, target_id)
                .await?
                .or(plan.assignee_id),
            _ => plan.assignee_id,
        };
        let task = NewTask {
            plan_id: Some(plan.id),
            template_id: template.id,
            template_name: template.name.clone(),
            items: template.items.clone(),
            target_type: tt.into(),
            target_id,
            target_name,
            system_id: (tt == "system").then_some(target_id),
            round_at: round_at.timestamp_millis(),
            due_at: due,
            assignee_id: assignee,
        };
        if let Some(id) = ctx.store.insert_inspection_task(tx, &task, now_ms).await? {
            made.push(id);
        }
    }
    Ok(made)
}

/// `POST /inspection-plans/{id}/run`: a round now (an extra round before a holiday, say).
pub async fn run_now(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(PlanRow, Vec<i64>)> {
    check_manage(u)?;
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let plan = ctx.store.inspection_plan_in(&mut tx, id).await?;
    let template = Store::inspection_template_in(&mut tx, plan.template_id).await?;
    let t = template_of(&template)?;
    let made = make_round(ctx, &mut tx, &plan, &template, &t, now, now_ms).await?;
    audit(
        &mut tx,
        now_ms,
        u,
        "run",
        "inspection_plans",
        id,
        format!(
            "立即执行巡检计划“{}”，生成 {} 个任务",
            plan.name,
            made.len()
        ),
        None,
        Some(json!({"tasks": made})),
    )
    .await?;
    tx.commit().await?;
    Ok((plan, made))
}

/// The job: for every active plan, the rounds up to `now + HORIZON` not made yet, each
/// plan on its own transaction. A new plan starts from now (no rounds in the past).
pub async fn generate_ahead(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.clock.now();
    let until = now + HORIZON;
    let mut total = 0;
    for plan in ctx.store.inspection_plans().await? {
        if plan.active == 0 {
            continue;
        }
        let after = plan
            .generated_until
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .map_or(now, |g| g.max(now - HORIZON));
        let due_rounds = rounds(&plan.schedule, after, until);
        // Nothing to make: no write. The next pass starts from the same point (or from
        // `now - HORIZON`, past which this window held no round either), so no round is
        // skipped; a new plan (never generated) still records where it starts.
        if due_rounds.is_empty() && plan.generated_until.is_some() {
            continue;
        }
        let mut tx = ctx.store.write_tx().await?;
        let template = Store::inspection_template_in(&mut tx, plan.template_id).await?;
        let t = template_of(&template)?;
        let now_ms = now.timestamp_millis();
        let mut made = 0;
        for r in &due_rounds {
            made += make_round(ctx, &mut tx, &plan, &template, &t, *r, now_ms)
                .await?
                .len();
        }
        // A capped pass resumes from its last round next time.
        let reached = if due_rounds.len() >= crate::domain::inspection::plan::MAX_ROUNDS_PER_PASS {
            due_rounds.last().copied().unwrap_or(until)
        } else {
            until
        };
        ctx.store
            .set_plan_generated_until(&mut tx, plan.id, reached.timestamp_millis())
            .await?;
        if made > 0 {
            audit(
                &mut tx,
                now_ms,
                &AuthUser::system("inspections"),
                "generate",
                "inspection_plans",
                plan.id,
                format!("巡检计划“{}”生成 {made} 个任务", plan.name),
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        total += made;
    }
    Ok(total)
}
