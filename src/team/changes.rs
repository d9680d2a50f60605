//! Personnel changes (人员变更) as a service: the contractor's written request (who leaves,
//! who joins, why, and how the incoming member compares), the purchaser's request to
//! replace the manager within the rule's days (the contractor nominates the incoming
//! manager), and the purchaser's decision. Staffing changes only on approval, in the
//! decision's transaction: the leaving member's slots move to the joining one and the
//! leaving member is marked left. Every write is audited and notifies the other party
//! in-app.

use serde_json::{Map, Value, json};

use super::check_read;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::inventory::STAFF;
use crate::domain::roles::Role;
use crate::domain::team::CertificateInput;
use crate::domain::team::changes::{
    ChangeCreate, ChangeKind, ChangeStatus, Comparison, Decision, DecisionKind, JOINING_FIXED,
    Nomination, Profile, check_decision, check_texts, compare, justification_needed, may_decide,
};
use crate::domain::team::compliance::{ChangeFacts, replacement_state};
use crate::error::{AppError, AppResult};
use crate::store::Tx;
use crate::store::audit::NewAuditEvent;
use crate::store::team::{ChangeFilter, ChangeRow, MemberRow, NewChange};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A change as the API shows it; `overdue` for a purchaser's request past its due time.
pub fn change_json(c: &ChangeRow, now_ms: i64) -> Value {
    let kind = ChangeKind::parse(&c.kind);
    let status = ChangeStatus::parse(&c.status);
    let overdue = kind == Some(ChangeKind::PurchaserRequest)
        && replacement_state(
            &ChangeFacts {
                id: c.id,
                kind: c.kind.clone(),
                status: c.status.clone(),
                leaving_staff_id: c.leaving_staff_id,
                leaving_name: String::new(),
                due_at: c.due_at,
                decided_at: c.decided_at,
            },
            now_ms,
        )
        .1;
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "id": c.id, "kind": c.kind, "kind_label": kind.map(ChangeKind::label),
        "status": c.status, "status_label": status.map(ChangeStatus::label),
        "leaving_staff_id": c.leaving_staff_id, "leaving_name": c.leaving_name,
        "joining_staff_id": c.joining_staff_id, "joining_name": c.joining_name,
        "joining": parse(&c.joining_data), "reason": c.reason, "justification": c.justification,
        "comparison": parse(&c.comparison), "less_qualified": c.less_qualified != 0,
        "due_at": c.due_at.map(crate::clock::rfc3339), "overdue": overdue,
        "decided_at": c.decided_at.map(crate::clock::rfc3339), "decided_by_name": c.decided_by_name,
        "decision_comment": c.decision_comment,
        "history": serde_json::from_str::<Value>(&c.history).unwrap_or_else(|_| json!([])),
        "created_by": c.created_by, "created_by_name": c.created_by_name,
        "created_at": crate::clock::rfc3339(c.created_at), "updated_at": crate::clock::rfc3339(c.updated_at),
    })
}

fn entry(what: &str, comment: Option<&str>, now_ms: i64, u: &AuthUser) -> Value {
    json!({"event": what, "comment": comment, "at": crate::clock::rfc3339(now_ms),
           "by": u.username, "by_name": u.display_name})
}

fn push_history(old: &str, e: Value) -> String {
    let mut h: Vec<Value> = serde_json::from_str(old).unwrap_or_default();
    h.push(e);
    Value::Array(h).to_string()
}

/// In-app messages to the other party: users with `roles`, and `also` (the requester).
#[allow(clippy::too_many_arguments)]
async fn notify(
    ctx: &Ctx,
    tx: &mut Tx,
    event: &str,
    marker: &str,
    roles: &[&str],
    also: Option<i64>,
    subject: &str,
    body: &str,
) -> AppResult<()> {
    let now = ctx.clock.now_ms();
    let mut to = ctx.store.active_user_ids_with_roles_in(tx, roles).await?;
    to.extend(also);
    to.sort_unstable();
    to.dedup();
    for uid in to {
        let key = format!("{event}:{marker}:user{uid}");
        ctx.store
            .add_inbox(tx, &key, uid, event, None, subject, body, now)
            .await?;
    }
    Ok(())
}

async fn profile_of(ctx: &Ctx, tx: &mut Tx, m: &MemberRow) -> AppResult<Profile> {
    let certs = ctx.store.certificates_in(tx, m.id).await?;
    Ok(Profile {
        name: m.name.clone(),
        years_experience: m.years_experience,
        pm_years: m.pm_years,
        certificates: certs
            .into_iter()
            .map(|c| {
                let e = c
                    .expires_on
                    .as_deref()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                (c.name, e)
            })
            .collect(),
    })
}

/// Who joins, checked: an existing member, or a new one's fields and certificates.
struct Incoming {
    staff_id: Option<i64>,
    data: Option<String>,
    profile: Profile,
}

/// Resolves and checks the incoming member, pushing each problem to `errs`.
async fn incoming(
    ctx: &Ctx,
    tx: &mut Tx,
    leaving: i64,
    staff_id: Option<i64>,
    fields: Option<&Map<String, Value>>,
    certs: &[CertificateInput],
    errs: &mut Vec<FieldError>,
) -> AppResult<Option<Incoming>> {
    match (staff_id, fields) {
        (Some(_), Some(_)) => {
            errs.push(FieldError::new(
                "joining",
                "调入人员请二选一：已有成员填 joining_staff_id，新成员填 joining",
            ));
            Ok(None)
        }
        (None, None) => {
            errs.push(FieldError::new(
                "joining_staff_id",
                "请给出调入人员：已有成员填 joining_staff_id，新成员填 joining",
            ));
            Ok(None)
        }
        (Some(id), None) => {
            if !certs.is_empty() {
                errs.push(FieldError::new(
                    "joining_certificates",
                    "已有成员的证书请在团队成员中登记",
                ));
            }
            if id == leaving {
                errs.push(FieldError::new(
                    "joining_staff_id",
                    "调入人员不能与调出人员相同",
                ));
                return Ok(None);
            }
            match ctx.store.team_member_in(tx, id).await? {
                None => {
                    errs.push(FieldError::new(
                        "joining_staff_id",
                        format!("团队成员 {id} 不存在"),
                    ));
                    Ok(None)
                }
                Some(m) => Ok(Some(Incoming {
                    staff_id: Some(id),
                    data: None,
                    profile: profile_of(ctx, tx, &m).await?,
                })),
            }
        }
        (None, Some(f)) => {
            let before = errs.len();
            for k in JOINING_FIXED {
                if f.contains_key(*k) {
                    errs.push(FieldError::new(
                        format!("joining.{k}"),
                        format!("调入人员的“{k}”由变更决定或在批准后设置，请删除该字段"),
                    ));
                }
            }
            let values = STAFF.validate_json(f, false, &[]);
            if let Err(e) = &values {
                errs.extend(
                    e.iter().map(|e| {
                        FieldError::new(format!("joining.{}", e.field), e.message.clone())
                    }),
                );
            }
            let mut checked = Vec::new();
            for (i, c) in certs.iter().enumerate() {
                match c.check(&format!("joining_certificates[{i}]")) {
                    Ok(c) => checked.push((c.name, c.expires_on)),
                    Err(e) => errs.extend(e),
                }
            }
            if errs.len() > before {
                return Ok(None);
            }
            let int = |k: &str| {
                f.get(k)
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            };
            let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
            Ok(Some(Incoming {
                staff_id: None,
                data: Some(json!({"fields": f, "certificates": certs}).to_string()),
                profile: Profile {
                    name: name.trim().to_string(),
                    years_experience: int("years_experience"),
                    pm_years: int("pm_years"),
                    certificates: checked,
                },
            }))
        }
    }
}

/// The comparison, and the refusal of a less qualified member without justification.
fn judge(
    out: &Profile,
    inc: &Incoming,
    justification: Option<&str>,
    today: chrono::NaiveDate,
    errs: &mut Vec<FieldError>,
) -> Comparison {
    let c = compare(out, &inc.profile, today);
    errs.extend(justification_needed(&c, justification));
    c
}

/// `POST /personnel-changes`.
pub async fn create(ctx: &Ctx, u: &AuthUser, r: ChangeCreate) -> AppResult<ChangeRow> {
    let kind = r.kind.unwrap_or(ChangeKind::ContractorRequest);
    if !kind.may_file(u.role) {
        return Err(AppError::Forbidden(match u.role {
            Role::Supervisor => {
                "采购人只能提出更换项目经理的要求（kind 为 purchaser_request）".into()
            }
            _ if kind == ChangeKind::PurchaserRequest => {
                "更换项目经理的要求只能由采购人（甲方）提出".into()
            }
            _ => "人员变更申请由项目经理提出".into(),
        }));
    }
    let mut errs = check_texts(Some(&r.reason), r.justification.as_deref());
    let now = ctx.clock.now_ms();
    let today = ctx.clock.today();
    let mut tx = ctx.store.write_tx().await?;
    let leaving = match r.leaving_staff_id {
        None => {
            errs.push(FieldError::new("leaving_staff_id", "请填写调出人员"));
            None
        }
        Some(id) => match ctx.store.team_member_in(&mut tx, id).await? {
            None => {
                errs.push(FieldError::new(
                    "leaving_staff_id",
                    format!("团队成员 {id} 不存在"),
                ));
                None
            }
            Some(m) if m.status != "active" => {
                errs.push(FieldError::new(
                    "leaving_staff_id",
                    format!("{} 已不在团队中", m.name),
                ));
                None
            }
            Some(m) => {
                if let Some(p) = ctx.store.pending_change_for_in(&mut tx, id).await? {
                    errs.push(FieldError::new(
                        "leaving_staff_id",
                        format!("{} 已有待审批的人员变更 #{p}", m.name),
                    ));
                }
                Some(m)
            }
        },
    };
    let mut inc = None;
    let mut comparison = None;
    if kind == ChangeKind::PurchaserRequest {
        if r.joining_staff_id.is_some() || r.joining.is_some() || !r.joining_certificates.is_empty()
        {
            errs.push(FieldError::new(
                "joining",
                "调入的项目经理由承包方提名（POST /personnel-changes/{id}/nominate），请删除调入人员字段",
            ));
        }
        if let Some(m) = &leaving
            && m.team_role.as_deref() != Some("project_manager")
        {
            errs.push(FieldError::new(
                "leaving_staff_id",
                format!(
                    "{} 不是项目经理（团队角色），采购人要求更换的须为项目经理",
                    m.name
                ),
            ));
        }
    } else if let Some(m) = &leaving {
        inc = incoming(
            ctx,
            &mut tx,
            m.id,
            r.joining_staff_id,
            r.joining.as_ref(),
            &r.joining_certificates,
            &mut errs,
        )
        .await?;
        if let Some(i) = &inc {
            let out = profile_of(ctx, &mut tx, m).await?;
            comparison = Some(judge(&out, i, r.justification.as_deref(), today, &mut errs));
        }
    }
    let Some(m) = leaving.filter(|_| errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let rules = super::rules_in(ctx, &mut tx).await?;
    let due_at = (kind == ChangeKind::PurchaserRequest)
        .then(|| now + rules.manager_replacement_days * DAY_MS);
    let reason = r.reason.trim();
    let id = ctx
        .store
        .insert_personnel_change(
            &mut tx,
            &NewChange {
                kind: kind.as_str(),
                leaving_staff_id: m.id,
                joining_staff_id: inc.as_ref().and_then(|i| i.staff_id),
                joining_data: inc.as_ref().and_then(|i| i.data.clone()),
                reason,
                justification: r.justification.as_deref(),
                comparison: comparison.as_ref().map(|c| json!(c).to_string()),
                less_qualified: comparison.as_ref().is_some_and(|c| c.less_qualified),
                history: json!([entry("requested", Some(reason), now, u)]).to_string(),
                due_at,
                created_by: u.id,
            },
            now,
        )
        .await?;
    let row = ctx.store.personnel_change_in(&mut tx, id).await?;
    let summary = match kind {
        ChangeKind::ContractorRequest => format!(
            "提出人员变更 #{id}：{} 调出，{} 调入",
            m.name,
            inc.as_ref().map(|i| i.profile.name.as_str()).unwrap_or("")
        ),
        ChangeKind::PurchaserRequest => format!(
            "采购人要求更换项目经理 {}（#{id}），须在 {} 天内到位",
            m.name, rules.manager_replacement_days
        ),
    };
    NewAuditEvent::of("create", "personnel_changes", id, summary.clone())
        .after(change_json(&row, now))
        .write(&mut tx, now, &u.actor())
        .await?;
    let to: &[&str] = match kind {
        ChangeKind::ContractorRequest => &["supervisor"],
        ChangeKind::PurchaserRequest => &["manager"],
    };
    let marker = format!("{id}");
    notify(
        ctx,
        &mut tx,
        "personnel_change.requested",
        &marker,
        to,
        None,
        &summary,
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn open_change(ctx: &Ctx, tx: &mut Tx, id: i64) -> AppResult<ChangeRow> {
    let c = ctx.store.personnel_change_in(tx, id).await?;
    if c.status != ChangeStatus::Requested.as_str() {
        return Err(AppError::Conflict(format!(
            "人员变更 #{id} 已{}，不能再修改",
            ChangeStatus::parse(&c.status)
                .map(ChangeStatus::label)
                .unwrap_or("处理")
        )));
    }
    Ok(c)
}

/// `POST /personnel-changes/{id}/nominate`: the contractor names the incoming manager of a
/// purchaser's request (again, after a refused nominee).
pub async fn nominate(ctx: &Ctx, u: &AuthUser, id: i64, n: Nomination) -> AppResult<ChangeRow> {
    check_read(u)?;
    if !matches!(u.role, Role::Manager | Role::Admin) {
        return Err(AppError::Forbidden(
            "调入人员由承包方（项目经理）提名".into(),
        ));
    }
    let now = ctx.clock.now_ms();
    let mut errs = check_texts(None, n.justification.as_deref());
    let mut tx = ctx.store.write_tx().await?;
    let old = open_change(ctx, &mut tx, id).await?;
    if old.kind != ChangeKind::PurchaserRequest.as_str() {
        return Err(AppError::Conflict(
            "只有采购人要求更换项目经理的变更需要提名；承包方申请请重新提交".into(),
        ));
    }
    let leaving = ctx
        .store
        .team_member_in(&mut tx, old.leaving_staff_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let inc = incoming(
        ctx,
        &mut tx,
        leaving.id,
        n.joining_staff_id,
        n.joining.as_ref(),
        &n.joining_certificates,
        &mut errs,
    )
    .await?;
    let out = profile_of(ctx, &mut tx, &leaving).await?;
    let comparison = inc.as_ref().map(|i| {
        judge(
            &out,
            i,
            n.justification.as_deref(),
            ctx.clock.today(),
            &mut errs,
        )
    });
    let (Some(inc), Some(c)) = (inc.filter(|_| errs.is_empty()), comparison) else {
        return Err(AppError::Validation(errs));
    };
    let history = push_history(
        &old.history,
        entry("nominated", Some(&inc.profile.name), now, u),
    );
    ctx.store
        .set_change_nominee(
            &mut tx,
            id,
            inc.staff_id,
            inc.data.clone(),
            n.justification.as_deref(),
            Some(json!(c).to_string()),
            c.less_qualified,
            &history,
            now,
        )
        .await?;
    let new = ctx.store.personnel_change_in(&mut tx, id).await?;
    let summary = format!(
        "提名 {} 接替项目经理 {}（人员变更 #{id}）",
        inc.profile.name, leaving.name
    );
    NewAuditEvent::of("nominate", "personnel_changes", id, summary.clone())
        .before(change_json(&old, now))
        .after(change_json(&new, now))
        .write(&mut tx, now, &u.actor())
        .await?;
    let marker = format!("{id}:{}", now);
    notify(
        ctx,
        &mut tx,
        "personnel_change.nominated",
        &marker,
        &["supervisor"],
        Some(old.created_by),
        &summary,
        &old.reason,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// `POST /personnel-changes/{id}/decision`: only the purchaser approves or refuses. On
/// approval the change takes effect in staffing; a refusal keeps the team as it was (for a
/// purchaser's request, the refused nominee is cleared and the deadline runs on).
pub async fn decide(ctx: &Ctx, u: &AuthUser, id: i64, d: Decision) -> AppResult<ChangeRow> {
    check_read(u)?;
    if !may_decide(u.role) {
        return Err(AppError::Forbidden(
            "只有采购人（甲方）可以审批人员变更".into(),
        ));
    }
    let comment = check_decision(&d).map_err(AppError::Validation)?;
    let now = ctx.clock.now_ms();
    let today = ctx.clock.today();
    let mut tx = ctx.store.write_tx().await?;
    let old = open_change(ctx, &mut tx, id).await?;
    let leaving = ctx
        .store
        .team_member_in(&mut tx, old.leaving_staff_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let nominated = old.joining_staff_id.is_some() || old.joining_data.is_some();
    if !nominated {
        return Err(AppError::Conflict(
            "承包方尚未提名调入人员，暂不能审批".into(),
        ));
    }
    let purchaser = old.kind == ChangeKind::PurchaserRequest.as_str();
    let summary = match d.decision {
        DecisionKind::Approve => {
            let joining = approve(ctx, &mut tx, u, &old, &leaving, today, now).await?;
            let history = push_history(&old.history, entry("approved", comment.as_deref(), now, u));
            ctx.store
                .decide_personnel_change(
                    &mut tx,
                    id,
                    ChangeStatus::Approved.as_str(),
                    Some(joining),
                    comment.as_deref(),
                    &history,
                    u.id,
                    now,
                )
                .await?;
            format!("批准人员变更 #{id}：{} 调出", leaving.name)
        }
        DecisionKind::Refuse if purchaser => {
            let history = push_history(
                &old.history,
                entry("nominee_refused", comment.as_deref(), now, u),
            );
            ctx.store
                .set_change_nominee(&mut tx, id, None, None, None, None, false, &history, now)
                .await?;
            format!("不同意人员变更 #{id} 提名的调入人员，须重新提名")
        }
        DecisionKind::Refuse => {
            let history = push_history(&old.history, entry("refused", comment.as_deref(), now, u));
            ctx.store
                .decide_personnel_change(
                    &mut tx,
                    id,
                    ChangeStatus::Refused.as_str(),
                    old.joining_staff_id,
                    comment.as_deref(),
                    &history,
                    u.id,
                    now,
                )
                .await?;
            format!("拒绝人员变更 #{id}：{} 不调整", leaving.name)
        }
    };
    let new = ctx.store.personnel_change_in(&mut tx, id).await?;
    let action = match d.decision {
        DecisionKind::Approve => "approve",
        DecisionKind::Refuse => "refuse",
    };
    NewAuditEvent::of(action, "personnel_changes", id, summary.clone())
        .before(change_json(&old, now))
        .after(change_json(&new, now))
        .write(&mut tx, now, &u.actor())
        .await?;
    let marker = format!("{id}:{now}");
    notify(
        ctx,
        &mut tx,
        "personnel_change.decided",
        &marker,
        &["manager"],
        Some(old.created_by),
        &summary,
        comment.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Makes an approved change take effect; answers the joining member's id.
async fn approve(
    ctx: &Ctx,
    tx: &mut Tx,
    u: &AuthUser,
    c: &ChangeRow,
    leaving: &MemberRow,
    today: chrono::NaiveDate,
    now: i64,
) -> AppResult<i64> {
    let joining = match (c.joining_staff_id, &c.joining_data) {
        (Some(id), _) => id,
        (None, Some(data)) => {
            let v: Value = serde_json::from_str(data)
                .map_err(|e| anyhow::anyhow!("personnel change {} joining data: {e}", c.id))?;
            let fields = v["fields"].as_object().cloned().unwrap_or_default();
            let certs: Vec<CertificateInput> =
                serde_json::from_value(v["certificates"].clone()).unwrap_or_default();
            let values = STAFF.validate_json(&fields, false, &[]).map_err(|e| {
                AppError::Validation(
                    e.into_iter()
                        .map(|e| FieldError::new(format!("joining.{}", e.field), e.message))
                        .collect(),
                )
            })?;
            let created = ctx.store.create_entity_in(tx, &STAFF, values, now).await?;
            let id = created
                .get("id")
                .and_then(Value::as_i64)
                .ok_or_else(|| anyhow::anyhow!("created staff has no id"))?;
            for cert in certs {
                let k = cert.check("").map_err(AppError::Validation)?;
                ctx.store
                    .insert_certificate(
                        tx,
                        id,
                        &k.name,
                        k.number.as_deref(),
                        k.issued_on.map(|d| d.to_string()),
                        k.expires_on.map(|d| d.to_string()),
                        now,
                    )
                    .await?;
            }
            NewAuditEvent::of(
                "create",
                "staff",
                id,
                format!(
                    "新建团队成员：{}（人员变更 #{} 批准调入）",
                    fields.get("name").and_then(Value::as_str).unwrap_or(""),
                    c.id
                ),
            )
            .after(Value::Object(created))
            .write(tx, now, &u.actor())
            .await?;
            id
        }
        (None, None) => {
            return Err(AppError::Conflict("尚未提名调入人员".into()));
        }
    };
    let before_leaving = ctx.store.get_entity_tx(tx, &STAFF, leaving.id).await?;
    let before_joining = ctx.store.get_entity_tx(tx, &STAFF, joining).await?;
    let moved = ctx
        .store
        .apply_personnel_change(
            tx,
            leaving.id,
            joining,
            leaving.key_staff == "yes",
            &today.to_string(),
            now,
        )
        .await?;
    let after_leaving = ctx.store.get_entity_tx(tx, &STAFF, leaving.id).await?;
    let after_joining = ctx.store.get_entity_tx(tx, &STAFF, joining).await?;
    NewAuditEvent::of(
        "update",
        "staff",
        leaving.id,
        format!(
            "人员变更 #{} 生效：{} 离开团队，{} 个岗位转由成员 #{joining} 担任",
            c.id,
            leaving.name,
            moved.len()
        ),
    )
    .before(json!({"leaving": before_leaving, "joining": before_joining}))
    .after(json!({"leaving": after_leaving, "joining": after_joining, "moved_assignments": moved}))
    .write(tx, now, &u.actor())
    .await?;
    Ok(joining)
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: ChangeFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<ChangeRow>, i64)> {
    check_read(u)?;
    Ok(ctx.store.personnel_changes(&f, limit, offset).await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<ChangeRow> {
    check_read(u)?;
    Ok(ctx.store.personnel_change(id).await?)
}
