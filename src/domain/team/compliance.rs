//! Team compliance (团队合规): each rule of the contract's 服务人员 section as a check with
//! its state (met, at risk, broken), what was counted and the members concerned. Pure: the
//! service gathers the facts, this judges them.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};

use super::{DOC_KINDS, DocKind, TeamRules};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Met,
    AtRisk,
    Broken,
}

impl CheckState {
    pub fn label(self) -> &'static str {
        match self {
            CheckState::Met => "符合",
            CheckState::AtRisk => "有风险",
            CheckState::Broken => "不符合",
        }
    }
}

/// One rule judged.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub code: &'static str,
    pub name: String,
    pub state: CheckState,
    pub state_label: &'static str,
    /// What was counted and which members.
    pub evidence: Value,
    pub details: String,
}

fn check(
    code: &'static str,
    name: String,
    state: CheckState,
    evidence: Value,
    details: String,
) -> Check {
    Check {
        code,
        name,
        state,
        state_label: state.label(),
        evidence,
        details,
    }
}

/// A document on file.
#[derive(Clone, Debug)]
pub struct DocFacts {
    pub kind: DocKind,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// A member as the checks need them.
#[derive(Clone, Debug)]
pub struct MemberFacts {
    pub id: i64,
    pub name: String,
    pub team_role: Option<String>,
    pub key_staff: bool,
    pub active: bool,
    pub pm_years: Option<i64>,
    pub docs: Vec<DocFacts>,
}

/// A staffing slot of the inventory.
#[derive(Clone, Debug)]
pub struct SlotFacts {
    pub id: i64,
    pub system_name: String,
    pub duty: String,
    pub work_mode: String,
    /// The member holding it and whether they are still on the team.
    pub staff: Option<(i64, String, bool)>,
}

/// A personnel change as the checks need it.
#[derive(Clone, Debug)]
pub struct ChangeFacts {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub leaving_staff_id: i64,
    pub leaving_name: String,
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
}

/// How a key member was taken off the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// Marked left in the inventory.
    Left,
    /// Deleted from the inventory (found in the audit log).
    Deleted,
    /// Still on the team, but every slot they held was given to someone else.
    Replaced,
}

impl Removal {
    pub fn label(self) -> &'static str {
        match self {
            Removal::Left => "已离开",
            Removal::Deleted => "已删除",
            Removal::Replaced => "岗位已由他人接替",
        }
    }
}

/// A key member taken off the team or off their slots.
#[derive(Clone, Debug)]
pub struct RemovedKey {
    pub staff_id: i64,
    pub name: String,
    pub how: Removal,
}

/// Everything the checks judge.
pub struct Facts<'a> {
    pub rules: &'a TeamRules,
    pub today: NaiveDate,
    pub now_ms: i64,
    pub members: &'a [MemberFacts],
    pub slots: &'a [SlotFacts],
    pub changes: &'a [ChangeFacts],
    pub removed_key: &'a [RemovedKey],
}

/// The state of one kind of document of a member today, and the day it ends.
pub fn doc_state(
    docs: &[DocFacts],
    kind: DocKind,
    today: NaiveDate,
    warning_days: i64,
) -> (CheckState, Option<NaiveDate>, &'static str) {
    let of_kind = docs.iter().filter(|d| d.kind == kind);
    let current = of_kind
        .clone()
        .filter(|d| d.valid_from <= today && d.valid_until >= today)
        .map(|d| d.valid_until)
        .max();
    match current {
        Some(until) if (until - today).num_days() <= warning_days => {
            (CheckState::AtRisk, Some(until), "即将到期")
        }
        Some(until) => (CheckState::Met, Some(until), "有效"),
        None => match of_kind.map(|d| d.valid_until).max() {
            Some(until) if until < today => (CheckState::Broken, Some(until), "已过期"),
            Some(until) => (CheckState::Broken, Some(until), "尚未生效"),
            None => (CheckState::Broken, None, "缺失"),
        },
    }
}

/// Epoch milliseconds as RFC 3339 UTC, as the API shows times.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn member_ref(m: &MemberFacts) -> Value {
    json!({"id": m.id, "name": m.name})
}

/// Every check, in the order of the contract's text.
pub fn evaluate(f: &Facts) -> Vec<Check> {
    vec![
        team_size(f),
        manager_experience(f),
        staffing_slots(f),
        member_documents(f),
        key_staff(f),
        manager_replacement(f),
    ]
}

fn active<'a>(f: &Facts<'a>) -> Vec<&'a MemberFacts> {
    f.members.iter().filter(|m| m.active).collect()
}

fn team_size(f: &Facts) -> Check {
    let min = f.rules.min_team_size;
    let members = active(f);
    let n = members.len() as i64;
    let state = if n >= min {
        CheckState::Met
    } else {
        CheckState::Broken
    };
    let details = if n == 0 {
        format!("未登记团队成员（在岗 0 人，合同要求不少于 {min} 人）")
    } else {
        format!("在岗成员 {n} 人，合同要求不少于 {min} 人")
    };
    check(
        "team_size",
        format!("服务团队成员不少于 {min} 人"),
        state,
        json!({"counted": n, "required": min,
               "members": members.iter().map(|m| member_ref(m)).collect::<Vec<_>>()}),
        details,
    )
}

fn manager_experience(f: &Facts) -> Check {
    let min = f.rules.manager_min_years;
    let managers: Vec<&MemberFacts> = active(f)
        .into_iter()
        .filter(|m| m.team_role.as_deref() == Some("project_manager"))
        .collect();
    let best = managers.iter().filter_map(|m| m.pm_years).max();
    let (state, details) = match (managers.is_empty(), best) {
        (true, _) => (
            CheckState::Broken,
            "未登记项目经理（团队成员的团队角色为“项目经理”）".to_string(),
        ),
        (false, Some(y)) if y >= min => (
            CheckState::Met,
            format!("项目经理项目管理经验 {y} 年，要求 {min} 年以上"),
        ),
        (false, Some(y)) => (
            CheckState::Broken,
            format!("项目经理项目管理经验仅 {y} 年，要求 {min} 年以上"),
        ),
        (false, None) => (CheckState::Broken, "项目经理未登记项目管理年限".to_string()),
    };
    check(
        "manager_experience",
        format!("项目经理具备 {min} 年以上项目管理经验"),
        state,
        json!({"required_years": min, "managers": managers.iter()
            .map(|m| json!({"id": m.id, "name": m.name, "pm_years": m.pm_years}))
            .collect::<Vec<_>>()}),
        details,
    )
}

fn staffing_slots(f: &Facts) -> Check {
    let total = f.slots.len();
    let unfilled: Vec<&SlotFacts> = f
        .slots
        .iter()
        .filter(|s| !s.staff.as_ref().is_some_and(|(_, _, on)| *on))
        .collect();
    let on_site = f.slots.iter().filter(|s| s.work_mode == "on_site").count();
    let state = if total > 0 && unfilled.is_empty() {
        CheckState::Met
    } else {
        CheckState::Broken
    };
    let details = if total == 0 {
        "未登记岗位安排（资产与配置 → 岗位安排）".to_string()
    } else {
        format!(
            "岗位 {total} 个（其中驻场 {on_site} 个），已到位 {}，空缺 {}",
            total - unfilled.len(),
            unfilled.len()
        )
    };
    check(
        "staffing_slots",
        "系统岗位安排均已到位（含 OA 系统驻场与远程各 2+2）".to_string(),
        state,
        json!({"slots": total, "filled": total - unfilled.len(), "on_site": on_site,
               "unfilled": unfilled.iter().map(|s| json!({
                   "id": s.id, "system": s.system_name, "duty": s.duty, "work_mode": s.work_mode,
                   "left_member": s.staff.as_ref().map(|(id, name, _)| json!({"id": id, "name": name})),
               })).collect::<Vec<_>>()}),
        details,
    )
}

fn member_documents(f: &Facts) -> Check {
    let members = active(f);
    let mut worst = CheckState::Met;
    let (mut broken, mut at_risk) = (0, 0);
    let rows: Vec<Value> = members
        .iter()
        .map(|m| {
            let mut row = member_ref(m);
            for kind in DOC_KINDS {
                let (s, until, what) =
                    doc_state(&m.docs, kind, f.today, f.rules.document_warning_days);
                worst = worst.max(s);
                match s {
                    CheckState::Broken => broken += 1,
                    CheckState::AtRisk => at_risk += 1,
                    CheckState::Met => {}
                }
                row[kind.as_str()] = json!({"state": s, "status": what,
                    "valid_until": until.map(|d| d.to_string())});
            }
            row
        })
        .collect();
    let (state, details) = if members.is_empty() {
        (
            CheckState::Broken,
            "未登记团队成员，无任职证明与保密协议".to_string(),
        )
    } else if worst == CheckState::Met {
        (
            worst,
            format!("{} 名成员的任职证明与保密协议均在有效期内", members.len()),
        )
    } else {
        (
            worst,
            format!(
                "缺失或过期 {broken} 份，{} 天内到期 {at_risk} 份",
                f.rules.document_warning_days
            ),
        )
    };
    check(
        "member_documents",
        "每名成员的任职证明（社保证明）与保密协议齐全且在有效期内".to_string(),
        state,
        json!({"members": rows, "broken": broken, "at_risk": at_risk,
               "warning_days": f.rules.document_warning_days}),
        details,
    )
}

fn key_staff(f: &Facts) -> Check {
    let approved = |id: i64| {
        f.changes
            .iter()
            .any(|c| c.leaving_staff_id == id && c.status == "approved")
    };
    let unapproved: Vec<&RemovedKey> = f
        .removed_key
        .iter()
        .filter(|r| !approved(r.staff_id))
        .collect();
    let key: Vec<Value> = active(f)
        .into_iter()
        .filter(|m| m.key_staff)
        .map(member_ref)
        .collect();
    let pending = f.changes.iter().filter(|c| c.status == "requested").count();
    let (state, details) = if !unapproved.is_empty() {
        let names: Vec<String> = unapproved
            .iter()
            .map(|r| format!("{}（{}）", r.name, r.how.label()))
            .collect();
        (
            CheckState::Broken,
            format!("关键人员未经采购人批准即调整：{}", names.join("、")),
        )
    } else if key.is_empty() {
        (
            CheckState::Met,
            "未标记关键人员；无未经批准的调整".to_string(),
        )
    } else {
        (
            CheckState::Met,
            format!(
                "关键人员 {} 名，无未经批准的调整；待审批的人员变更 {pending} 项",
                key.len()
            ),
        )
    };
    check(
        "key_staff_unchanged",
        "项目经理及主要人员未经采购人同意不得调整".to_string(),
        state,
        json!({"key_members": key, "pending_changes": pending,
               "removed_without_approval": unapproved.iter().map(|r| json!({
                   "id": r.staff_id, "name": r.name, "how": r.how, "how_label": r.how.label()})).collect::<Vec<_>>()}),
        details,
    )
}

/// The state of one purchaser-requested replacement at `now_ms`.
pub fn replacement_state(c: &ChangeFacts, now_ms: i64) -> (CheckState, bool) {
    let due = c.due_at.unwrap_or(i64::MAX);
    match (c.status.as_str(), c.decided_at) {
        ("approved", Some(at)) if at <= due => (CheckState::Met, false),
        ("approved", _) => (CheckState::Broken, true),
        _ if now_ms > due => (CheckState::Broken, true),
        _ => (CheckState::AtRisk, false),
    }
}

fn manager_replacement(f: &Facts) -> Check {
    let days = f.rules.manager_replacement_days;
    let asked: Vec<&ChangeFacts> = f
        .changes
        .iter()
        .filter(|c| c.kind == "purchaser_request")
        .collect();
    let mut worst = CheckState::Met;
    let rows: Vec<Value> = asked
        .iter()
        .map(|c| {
            let (s, overdue) = replacement_state(c, f.now_ms);
            worst = worst.max(s);
            json!({"change_id": c.id, "leaving": {"id": c.leaving_staff_id, "name": c.leaving_name},
                   "status": c.status, "state": s, "overdue": overdue,
                   "due_at": c.due_at.map(rfc3339)})
        })
        .collect();
    let details = match worst {
        _ if asked.is_empty() => "采购人未要求更换项目经理".to_string(),
        CheckState::Met => format!("采购人要求更换项目经理 {} 次，均按期到位", asked.len()),
        CheckState::AtRisk => format!("采购人要求更换项目经理，须在 {days} 天内到位，正在办理"),
        CheckState::Broken => format!("采购人要求更换项目经理，未在 {days} 天内到位"),
    };
    check(
        "manager_replacement",
        format!("采购人要求更换项目经理的，{days} 天内调整到位"),
        worst,
        json!({"requests": rows, "days": days}),
        details,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn doc(kind: DocKind, from: &str, until: &str) -> DocFacts {
        DocFacts {
            kind,
            valid_from: d(from),
            valid_until: d(until),
        }
    }

    #[test]
    fn a_document_is_at_risk_within_the_warning_days_and_broken_once_expired() {
        let docs = [doc(DocKind::Confidentiality, "2025-01-01", "2025-06-30")];
        let k = DocKind::Confidentiality;
        assert_eq!(doc_state(&docs, k, d("2025-05-01"), 30).0, CheckState::Met);
        assert_eq!(
            doc_state(&docs, k, d("2025-06-01"), 30).0,
            CheckState::AtRisk
        );
        assert_eq!(
            doc_state(&docs, k, d("2025-07-01"), 30).0,
            CheckState::Broken
        );
        assert_eq!(
            doc_state(&docs, DocKind::EmploymentProof, d("2025-05-01"), 30).2,
            "缺失"
        );
    }

    #[test]
    fn an_empty_team_breaks_the_size_manager_slot_and_document_rules() {
        let rules = TeamRules::default();
        let checks = evaluate(&Facts {
            rules: &rules,
            today: d("2025-05-01"),
            now_ms: 0,
            members: &[],
            slots: &[],
            changes: &[],
            removed_key: &[],
        });
        let states: Vec<(&str, CheckState)> = checks.iter().map(|c| (c.code, c.state)).collect();
        assert_eq!(
            states,
            [
                ("team_size", CheckState::Broken),
                ("manager_experience", CheckState::Broken),
                ("staffing_slots", CheckState::Broken),
                ("member_documents", CheckState::Broken),
                ("key_staff_unchanged", CheckState::Met),
                ("manager_replacement", CheckState::Met),
            ]
        );
    }

    #[test]
    fn a_replacement_is_at_risk_until_due_then_broken() {
        let c = ChangeFacts {
            id: 1,
            kind: "purchaser_request".into(),
            status: "requested".into(),
            leaving_staff_id: 1,
            leaving_name: "甲".into(),
            due_at: Some(1000),
            decided_at: None,
        };
        assert_eq!(replacement_state(&c, 999), (CheckState::AtRisk, false));
        assert_eq!(replacement_state(&c, 1001), (CheckState::Broken, true));
        let done = ChangeFacts {
            status: "approved".into(),
            decided_at: Some(900),
            ..c
        };
        assert_eq!(replacement_state(&done, 5000), (CheckState::Met, false));
    }
}
