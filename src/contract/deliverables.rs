//! The deliverables register (交付物清单) and the instances each deliverable is due as:
//! scheduled over its service period (the O&M period for infrastructure and systems, the
//! operations period for the service lines) by its cadence, due by its rule on the working
//! calendar (the first `working_hours` calendar: holidays and make-up days), with the
//! status computed from the stored review state and the clock. Only instances with a
//! version or a review are stored; the others are computed on every read, so a change of
//! the rule or the periods moves them at once.
//!
//! Roles: the manager, the purchaser (`supervisor`) and the admin keep the register;
//! everyone but requesters reads it.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::calendar::Calendar;
use crate::domain::deliverables::{
    Anchor, Area, Cadence, DeliverableCreate, DeliverablePatch, DueRule, Occurrence, Status,
    check_deliverable, due_date, event_occurrence, occurrences, status,
};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::contract::{DeliverableFilter, DeliverableRow, DeliverableValues, InstanceRow};

use super::check_read;

const DEMO_DELIVERABLES: &str = include_str!("../../demo/deliverables.json");

fn may_edit(u: &AuthUser) -> bool {
    matches!(u.role, Role::Admin | Role::Manager | Role::Supervisor)
}

/// Whether a report kind exists in this release.
pub fn known_kind(k: &str) -> bool {
    serde_json::from_value::<crate::report::ReportKind>(json!(k)).is_ok()
}

pub fn rule_of(d: &DeliverableRow) -> DueRule {
    DueRule {
        anchor: Anchor::parse(&d.due_anchor).unwrap_or(Anchor::PeriodEnd),
        days: d.due_days,
        working: d.due_working != 0,
    }
}

pub fn deliverable_json(d: &DeliverableRow) -> Value {
    let area = Area::parse(&d.area);
    let cadence = Cadence::parse(&d.cadence);
    let rule = rule_of(d);
    json!({
        "id": d.id, "section": d.section, "name": d.name,
        "area": d.area, "area_label": area.map(Area::label),
        "line_id": d.line_id, "line_code": d.line_code, "line_name": d.line_name,
        "cadence": d.cadence, "cadence_label": cadence.map(Cadence::label),
        "due": {"anchor": rule.anchor.as_str(), "days": rule.days, "working": rule.working},
        "due_label": rule.label(),
        "source": if d.report_kind.is_some() { "report" } else { "upload" },
        "report_kind": d.report_kind, "outline": d.outline, "note": d.note,
        "created_at": crate::clock::rfc3339(d.created_at), "updated_at": crate::clock::rfc3339(d.updated_at),
    })
}

fn as_input(d: &DeliverableRow) -> AppResult<DeliverableCreate> {
    let bad = |w: &str| anyhow::anyhow!("deliverable {} has {w}", d.id);
    Ok(DeliverableCreate {
        section: d.section.clone(),
        name: d.name.clone(),
        area: Area::parse(&d.area).ok_or_else(|| bad("an unknown area"))?,
        line_id: d.line_id,
        cadence: Cadence::parse(&d.cadence).ok_or_else(|| bad("an unknown cadence"))?,
        due: rule_of(d),
        report_kind: d.report_kind.clone(),
        outline: d.outline.clone(),
        note: d.note.clone(),
    })
}

async fn values(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    c: &DeliverableCreate,
) -> AppResult<DeliverableValues> {
    let mut errs = check_deliverable(c, known_kind).err().unwrap_or_default();
    if let Some(l) = c.line_id
        && ctx.store.service_line_in(tx, l).await?.is_none()
    {
        errs.push(FieldError::new("line_id", format!("服务条线 {l} 不存在")));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    Ok(DeliverableValues {
        section: c.section.trim().to_string(),
        name: c.name.trim().to_string(),
        area: c.area.as_str().into(),
        line_id: c.line_id,
        cadence: c.cadence.as_str().into(),
        due_anchor: c.due.anchor.as_str().into(),
        due_days: c.due.days,
        due_working: c.due.working,
        report_kind: c.report_kind.clone(),
        outline: c.outline.clone(),
        note: c.note.clone(),
    })
}

/// Reads deliverable `id` back on `tx`, writes `event` with it as the state after, and
/// commits: how every write of the register ends.
async fn finish_write(
    ctx: &Ctx,
    mut tx: crate::store::Tx,
    u: &AuthUser,
    now_ms: i64,
    id: i64,
    event: NewAuditEvent,
) -> AppResult<DeliverableRow> {
    let row = ctx.store.deliverable_in(&mut tx, id).await?;
    event
        .after(deliverable_json(&row))
        .write_and_commit(tx, now_ms, &u.actor())
        .await?;
    Ok(row)
}

pub async fn create(ctx: &Ctx, u: &AuthUser, c: DeliverableCreate) -> AppResult<DeliverableRow> {
    check_read(u)?;
    if !may_edit(u) {
        return Err(AppError::forbidden());
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let v = values(ctx, &mut tx, &c).await?;
    let order = ctx.store.next_deliverable_order(&mut tx).await?;
    let id = ctx
        .store
        .insert_deliverable(&mut tx, &v, order, now_ms)
        .await?;
    let event = NewAuditEvent::of(
        "create",
        "deliverables",
        id,
        format!("登记交付物：{}", v.name),
    );
    finish_write(ctx, tx, u, now_ms, id, event).await
}

pub async fn update(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    p: DeliverablePatch,
) -> AppResult<DeliverableRow> {
    check_read(u)?;
    if !may_edit(u) {
        return Err(AppError::forbidden());
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let old = ctx.store.deliverable_in(&mut tx, id).await?;
    let merged = p.apply(as_input(&old)?);
    let v = values(ctx, &mut tx, &merged).await?;
    ctx.store
        .update_deliverable(&mut tx, id, &v, now_ms)
        .await?;
    let summary = format!("修改交付物 #{id}：{}", v.name);
    let event =
        NewAuditEvent::of("update", "deliverables", id, summary).before(deliverable_json(&old));
    finish_write(ctx, tx, u, now_ms, id, event).await
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: &DeliverableFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<DeliverableRow>, i64)> {
    check_read(u)?;
    Ok(ctx.store.deliverables(f, limit, offset).await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<DeliverableRow> {
    check_read(u)?;
    Ok(ctx.store.deliverable(id).await?)
}

/// What scheduling needs: the service periods, the working calendar and today (Beijing).
pub struct Schedule {
    om: (NaiveDate, NaiveDate),
    ops: (NaiveDate, NaiveDate),
    cal: Calendar,
    pub today: NaiveDate,
}

impl Schedule {
    pub async fn load(ctx: &Ctx) -> AppResult<Schedule> {
        let (om, ops) = super::periods(ctx).await?.ok_or_else(|| {
            AppError::Conflict(
                "尚未录入合同服务期，无法排出交付物的提交日期：请先填写合同信息".into(),
            )
        })?;
        let cals = ctx.store.list_calendars().await?;
        let cal = match cals.iter().find(|c| c.kind == "working_hours") {
            Some(c) => ctx.store.calendar(c.id).await?,
            // No working calendar: Monday to Friday.
            None => Calendar::always(),
        };
        let today = ctx
            .clock
            .now()
            .with_timezone(&crate::clock::beijing())
            .date_naive();
        Ok(Schedule {
            om,
            ops,
            cal,
            today,
        })
    }

    fn period_of(&self, d: &DeliverableRow) -> (NaiveDate, NaiveDate) {
        if d.area == Area::Operations.as_str() {
            self.ops
        } else {
            self.om
        }
    }

    /// The occurrences of a deliverable: scheduled by its cadence, and for per-event ones
    /// the events that have an instance stored.
    pub fn occurrences(&self, d: &DeliverableRow, stored: &[&InstanceRow]) -> Vec<Occurrence> {
        let (a, b) = self.period_of(d);
        match Cadence::parse(&d.cadence) {
            Some(Cadence::PerEvent) => {
                let mut v: Vec<Occurrence> = stored
                    .iter()
                    .filter_map(|i| event_occurrence(&i.period_key))
                    .collect();
                v.sort_by_key(|x| x.from);
                v
            }
            Some(c) => occurrences(c, a, b),
            None => vec![],
        }
    }

    /// The occurrence `key` of a deliverable, if it is one: a scheduled one, or for
    /// per-event deliverables any date within the service period.
    pub fn occurrence(&self, d: &DeliverableRow, key: &str) -> Option<Occurrence> {
        let (a, b) = self.period_of(d);
        if d.cadence == Cadence::PerEvent.as_str() {
            return event_occurrence(key).filter(|o| o.from >= a && o.from <= b);
        }
        self.occurrences(d, &[]).into_iter().find(|o| o.key == key)
    }

    pub fn due(&self, d: &DeliverableRow, o: &Occurrence) -> NaiveDate {
        due_date(&rule_of(d), o, |x| self.cal.is_working_day(x))
    }

    /// One instance as answered.
    pub fn instance_json(
        &self,
        d: &DeliverableRow,
        o: &Occurrence,
        i: Option<&InstanceRow>,
    ) -> Value {
        let due = self.due(d, o);
        let st = status(i.and_then(|i| Status::parse(&i.status)), due, self.today);
        json!({
            "deliverable_id": d.id, "key": o.key, "label": o.label,
            "period_from": o.from.to_string(), "period_to": o.to.to_string(),
            "due_date": due.to_string(), "status": st.as_str(), "status_label": st.label(),
            "instance_id": i.map(|i| i.id),
        })
    }
}

/// Parses an optional `YYYY-MM-DD` query value.
pub fn opt_date(q: &HashMap<String, String>, k: &str) -> AppResult<Option<NaiveDate>> {
    match q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(k, format!("{k} 应为日期，如 2024-10-12"))),
    }
}

/// `GET /deliverables/{id}/instances?from&to`: the instances due in `[from, to]` (both
/// dates included; all when left out), in due order.
pub async fn instances(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Vec<Value>> {
    check_read(u)?;
    let d = ctx.store.deliverable(id).await?;
    let s = Schedule::load(ctx).await?;
    let stored = ctx.store.deliverable_instances(Some(id)).await?;
    let refs: Vec<&InstanceRow> = stored.iter().collect();
    Ok(s.occurrences(&d, &refs)
        .iter()
        .filter(|o| {
            let due = s.due(&d, o);
            from.is_none_or(|f| due >= f) && to.is_none_or(|t| due <= t)
        })
        .map(|o| s.instance_json(&d, o, stored.iter().find(|i| i.period_key == o.key)))
        .collect())
}

/// Every deliverable's instances due in `[from, to]`, in due order (the calendar page and
/// the overdue alerts).
pub async fn due_between(
    ctx: &Ctx,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> AppResult<(Schedule, Vec<(DeliverableRow, Value)>)> {
    let s = Schedule::load(ctx).await?;
    let all = ctx.store.all_deliverables().await?;
    let stored = ctx.store.deliverable_instances(None).await?;
    let mut out = Vec::new();
    for d in all {
        let mine: Vec<&InstanceRow> = stored.iter().filter(|i| i.deliverable_id == d.id).collect();
        for o in s.occurrences(&d, &mine) {
            let due = s.due(&d, &o);
            if due <= to && from.is_none_or(|f| due >= f) {
                let i = mine.iter().find(|i| i.period_key == o.key).copied();
                out.push((d.clone(), s.instance_json(&d, &o, i)));
            }
        }
    }
    out.sort_by(|a, b| {
        a.1["due_date"]
            .as_str()
            .cmp(&b.1["due_date"].as_str())
            .then(a.0.sort_order.cmp(&b.0.sort_order))
    });
    Ok((s, out))
}

/// Sends each overdue instance's alert once: an in-app message to every active manager.
/// Answers how many instances were alerted.
pub async fn alert_overdue(ctx: &Ctx) -> AppResult<usize> {
    if super::periods(ctx).await?.is_none() {
        return Ok(0);
    }
    let today = ctx
        .clock
        .now()
        .with_timezone(&crate::clock::beijing())
        .date_naive();
    let (_, due) = due_between(ctx, None, today).await?;
    // Read first, so that a pass with nothing new takes no write lock.
    let sent: std::collections::HashSet<(i64, String)> =
        ctx.store.deliverable_alerts().await?.into_iter().collect();
    let overdue: Vec<&(DeliverableRow, Value)> = due
        .iter()
        .filter(|(d, i)| {
            i["status"] == "overdue"
                && !sent.contains(&(d.id, i["key"].as_str().unwrap_or_default().to_string()))
        })
        .collect();
    if overdue.is_empty() {
        return Ok(0);
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let managers = ctx
        .store
        .active_user_ids_with_roles_in(&mut tx, &["manager"])
        .await?;
    let mut n = 0;
    for (d, i) in overdue {
        let key = i["key"].as_str().unwrap_or_default();
        if !ctx
            .store
            .mark_deliverable_alerted(&mut tx, d.id, key, now)
            .await?
        {
            continue;
        }
        n += 1;
        let subject = format!(
            "交付物逾期：《{}》{}",
            d.name,
            i["label"].as_str().unwrap_or_default()
        );
        let body = format!(
            "{} {}《{}》（{}）应于 {} 前提交，现已逾期，请尽快提交。",
            d.section,
            Area::parse(&d.area).map_or("", Area::label),
            d.name,
            i["label"].as_str().unwrap_or_default(),
            i["due_date"].as_str().unwrap_or_default()
        );
        for uid in &managers {
            let k = format!("deliverable.overdue:{}:{key}:user{uid}", d.id);
            ctx.store
                .add_inbox(
                    &mut tx,
                    &k,
                    *uid,
                    "deliverable.overdue",
                    None,
                    &subject,
                    &body,
                    now,
                )
                .await?;
        }
    }
    tx.commit().await?;
    Ok(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDeliverable {
    section: String,
    name: String,
    area: Area,
    #[serde(default)]
    line_code: Option<String>,
    cadence: Cadence,
    due: DueRule,
    #[serde(default)]
    report_kind: Option<String>,
    #[serde(default)]
    outline: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Loads the seed's deliverables (demo/deliverables.json) when the register is empty.
pub async fn load_demo(ctx: &Ctx) -> anyhow::Result<()> {
    if !ctx.store.all_deliverables().await?.is_empty() {
        return Ok(());
    }
    let items: Vec<DemoDeliverable> = serde_json::from_str(DEMO_DELIVERABLES)?;
    let lines = ctx.store.service_lines().await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    for (n, it) in items.into_iter().enumerate() {
        let line_id = match &it.line_code {
            None => None,
            Some(c) => Some(
                lines
                    .iter()
                    .find(|l| &l.code == c)
                    .map(|l| l.id)
                    .ok_or_else(|| anyhow::anyhow!("demo deliverable {}: no line {c}", it.name))?,
            ),
        };
        let c = DeliverableCreate {
            section: it.section,
            name: it.name,
            area: it.area,
            line_id,
            cadence: it.cadence,
            due: it.due,
            report_kind: it.report_kind,
            outline: it.outline,
            note: it.note,
        };
        let v = values(ctx, &mut tx, &c)
            .await
            .map_err(|e| anyhow::anyhow!("demo deliverable {}: {}", c.name, e.message()))?;
        ctx.store
            .insert_deliverable(&mut tx, &v, n as i64 + 1, now)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
