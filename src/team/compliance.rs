//! `GET /contract/compliance`: gathers the team's facts (members with their documents, the
//! inventory's staffing slots, personnel changes, key members removed) and has
//! `domain::team::compliance` judge them against the rules in force.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{check_read, rules};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::team::DocKind;
use crate::domain::team::compliance::{
    ChangeFacts, Check, CheckState, DocFacts, Facts, MemberFacts, Removal, RemovedKey, SlotFacts,
    evaluate,
};
use crate::error::AppResult;
use crate::store::team::ChangeFilter;

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Every check with the rules it applied and the day it was judged on.
pub async fn compliance(ctx: &Ctx, u: &AuthUser) -> AppResult<(Vec<Check>, Value)> {
    check_read(u)?;
    let rules = rules(ctx).await?;
    let today = ctx.clock.today();
    let now_ms = ctx.clock.now_ms();
    let docs = ctx.store.staff_documents(None).await?;
    let rows = ctx.store.team_members().await?;
    let members: Vec<MemberFacts> = rows
        .iter()
        .map(|m| MemberFacts {
            id: m.id,
            name: m.name.clone(),
            team_role: m.team_role.clone(),
            key_staff: m.key_staff == "yes",
            active: m.status == "active",
            pm_years: m.pm_years,
            docs: docs
                .iter()
                .filter(|d| d.staff_id == m.id)
                .filter_map(|d| {
                    Some(DocFacts {
                        kind: DocKind::parse(&d.kind)?,
                        valid_from: day(&d.valid_from)?,
                        valid_until: day(&d.valid_until)?,
                    })
                })
                .collect(),
        })
        .collect();
    let slots: Vec<SlotFacts> = ctx
        .store
        .staffing_slots()
        .await?
        .into_iter()
        .map(|s| SlotFacts {
            id: s.id,
            system_name: s.system_name,
            duty: s.duty,
            work_mode: s.work_mode,
            staff: s.staff_id.map(|id| {
                (
                    id,
                    s.staff_name.unwrap_or_default(),
                    s.staff_status.as_deref() == Some("active"),
                )
            }),
        })
        .collect();
    // Every change: the team's changes are few (a handful a year).
    let (all, _) = ctx
        .store
        .personnel_changes(&ChangeFilter::default(), i64::MAX / 2, 0)
        .await?;
    let changes: Vec<ChangeFacts> = all
        .iter()
        .map(|c| ChangeFacts {
            id: c.id,
            kind: c.kind.clone(),
            status: c.status.clone(),
            leaving_staff_id: c.leaving_staff_id,
            leaving_name: c.leaving_name.clone().unwrap_or_default(),
            due_at: c.due_at,
            decided_at: c.decided_at,
        })
        .collect();
    let mut removed_key: Vec<RemovedKey> = rows
        .iter()
        .filter(|m| m.key_staff == "yes" && m.status != "active")
        .map(|m| RemovedKey {
            staff_id: m.id,
            name: m.name.clone(),
            how: Removal::Left,
        })
        .collect();
    // A key member still on the team whom edits of the slots took off every slot.
    let taken_off = ctx.store.members_taken_off_slots().await?;
    removed_key.extend(
        rows.iter()
            .filter(|m| m.key_staff == "yes" && m.status == "active")
            .filter(|m| taken_off.contains(&m.id))
            .filter(|m| {
                !slots
                    .iter()
                    .any(|s| s.staff.as_ref().is_some_and(|(id, ..)| *id == m.id))
            })
            .map(|m| RemovedKey {
                staff_id: m.id,
                name: m.name.clone(),
                how: Removal::Replaced,
            }),
    );
    removed_key.extend(
        ctx.store
            .deleted_key_staff()
            .await?
            .into_iter()
            .map(|(id, name)| RemovedKey {
                staff_id: id,
                name,
                how: Removal::Deleted,
            }),
    );
    let checks = evaluate(&Facts {
        rules: &rules,
        today,
        now_ms,
        members: &members,
        slots: &slots,
        changes: &changes,
        removed_key: &removed_key,
    });
    Ok((checks, json!(rules)))
}

/// The answer of `GET /contract/compliance`: the checks, the overall state (the worst) and
/// the rules applied.
pub fn compliance_json(checks: &[Check], rules: Value, today: NaiveDate) -> Value {
    let overall = checks
        .iter()
        .map(|c| c.state)
        .max()
        .unwrap_or(CheckState::Met);
    json!({"state": overall, "state_label": overall.label(), "as_of": today.to_string(),
           "rules": rules, "checks": checks})
}
