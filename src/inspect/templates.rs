//! Inspection templates: list, read, create, change and delete, each change audited.

use serde_json::{Value, json};

use super::input::TemplatePatch;
use super::{audit, check_manage, check_read};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::field_error::FieldError;
use crate::domain::inspection::template::{Item, MAX_ITEMS, TargetType, Template, validate};
use crate::error::{AppError, AppResult};
use crate::store::inspect::TemplateRow;

/// A stored template as the API shows it.
pub fn template_json(r: &TemplateRow) -> Value {
    let items: Value = serde_json::from_str(&r.items).unwrap_or(Value::Array(Vec::new()));
    json!({
        "id": r.id, "name": r.name, "target_type": r.target_type,
        "target_type_label": TargetType::parse(&r.target_type).map(TargetType::label),
        "category": r.category, "description": r.description, "items": items,
        "created_at": crate::clock::rfc3339(r.created_at), "updated_at": crate::clock::rfc3339(r.updated_at),
    })
}

/// The stored template as the domain value.
pub fn template_of(r: &TemplateRow) -> AppResult<Template> {
    let items: Vec<Item> = serde_json::from_str(&r.items).map_err(anyhow::Error::from)?;
    Ok(Template {
        name: r.name.clone(),
        target_type: TargetType::parse(&r.target_type).ok_or_else(|| {
            anyhow::anyhow!("template {} has target type {}", r.id, r.target_type)
        })?,
        category: r.category.clone(),
        description: r.description.clone(),
        items,
    })
}

fn trimmed(mut t: Template) -> Template {
    t.name = t.name.trim().to_string();
    let blank_is_none =
        |s: Option<String>| s.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    t.category = blank_is_none(t.category);
    t.description = blank_is_none(t.description);
    for it in &mut t.items {
        it.key = it.key.trim().to_string();
        it.label = it.label.trim().to_string();
    }
    t
}

/// An item may only be bound to a monitor that exists.
async fn missing_monitors(tx: &mut crate::store::Tx, t: &Template) -> AppResult<Vec<FieldError>> {
    let mut errs = Vec::new();
    for (i, it) in t.items.iter().enumerate().take(MAX_ITEMS) {
        if let Some(m) = it.monitor_id.filter(|m| *m > 0)
            && !crate::store::Store::monitor_exists_in(tx, m).await?
        {
            errs.push(FieldError::new(
                format!("items[{i}].monitor_id"),
                format!(
                    "第 {} 项关联的监控（编号 {m}）不存在，请在“监控”中确认编号或删除该关联",
                    i + 1
                ),
            ));
        }
    }
    Ok(errs)
}

/// Stores a new template with its `items` as stored; answers its id.
pub(super) async fn insert(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    t: &Template,
    items: &str,
    now: i64,
) -> AppResult<i64> {
    Ok(ctx
        .store
        .insert_inspection_template(
            tx,
            &t.name,
            t.target_type.as_str(),
            t.category.as_deref(),
            t.description.as_deref(),
            items,
            now,
        )
        .await?)
}

pub async fn list(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<TemplateRow>> {
    check_read(u)?;
    Ok(ctx.store.inspection_templates().await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<TemplateRow> {
    check_read(u)?;
    Ok(ctx.store.inspection_template(id).await?)
}

/// Checks a template, every problem at once (its rules, then that the monitors its items
/// name exist); answers its items as stored.
async fn checked(tx: &mut crate::store::Tx, t: &Template) -> AppResult<String> {
    let mut errs = validate(t);
    errs.extend(missing_monitors(tx, t).await?);
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    Ok(serde_json::to_string(&t.items).map_err(anyhow::Error::from)?)
}

pub async fn create(ctx: &Ctx, u: &AuthUser, input: Template) -> AppResult<TemplateRow> {
    check_manage(u)?;
    let t = trimmed(input);
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let items = checked(&mut tx, &t).await?;
    let id = insert(ctx, &mut tx, &t, &items, now).await?;
    let row = crate::store::Store::inspection_template_in(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "create",
        "inspection_templates",
        id,
        format!("新建巡检模板“{}”（{} 项）", t.name, t.items.len()),
        None,
        Some(template_json(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    patch: TemplatePatch,
) -> AppResult<TemplateRow> {
    check_manage(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let before = crate::store::Store::inspection_template_in(&mut tx, id).await?;
    let t = trimmed(patch.apply(template_of(&before)?));
    let items = checked(&mut tx, &t).await?;
    ctx.store
        .update_inspection_template(
            &mut tx,
            id,
            &t.name,
            t.target_type.as_str(),
            t.category.as_deref(),
            t.description.as_deref(),
            &items,
            now,
        )
        .await?;
    let row = crate::store::Store::inspection_template_in(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "update",
        "inspection_templates",
        id,
        format!("修改巡检模板“{}”", t.name),
        Some(template_json(&before)),
        Some(template_json(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a template that no plan or task uses.
pub async fn delete(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(u)?;
    let now = ctx.clock.now().timestamp_millis();
    let mut tx = ctx.store.write_tx().await?;
    let before = crate::store::Store::inspection_template_in(&mut tx, id).await?;
    let (plans, tasks) = ctx.store.inspection_template_uses_in(&mut tx, id).await?;
    if plans > 0 || tasks > 0 {
        return Err(AppError::Conflict(format!(
            "模板“{}”已被 {plans} 个巡检计划、{tasks} 个巡检任务使用，不能删除；可修改模板内容或停用相关计划",
            before.name
        )));
    }
    ctx.store.delete_inspection_template(&mut tx, id).await?;
    audit(
        &mut tx,
        now,
        u,
        "delete",
        "inspection_templates",
        id,
        format!("删除巡检模板“{}”", before.name),
        Some(template_json(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
