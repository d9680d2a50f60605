//! Service-desk services shared by the API, the pages and the jobs: opening tickets with
//! assignment from the inventory and SLA clocks, the lifecycle actions, the SLA monitor
//! (warnings, breaches, escalation) and auto-close.

pub mod input;
mod visibility;
pub use visibility::{restrict_to_visible, visible_ticket};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::calendar::{Calendar, cn_overrides};
use crate::domain::roles::{Perm, Role};
use crate::domain::sla::{
    ClockEvent, ClockEventKind, ClockState, ClockStatus, ClockTarget, fmt_duration, replay,
};
use crate::domain::tickets::{self as tk, Action};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::audit::{NewAuditEvent, append};
use crate::store::desk::{NewTicket, SlaFields, TicketRow, Tx};
use crate::store::entities::Arg;
use crate::store::{Actor, Store, StoreError};

/// (kind, priority, calendar id, response, on-site, resolve minutes)
type DefaultPolicy = (
    &'static str,
    &'static str,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
);

pub const DEFAULT_PERIODS: &str = "08:30-12:00,14:00-17:30";

/// Creates the shipped calendars and SLA policies when there are none. The figures are
/// defaults to edit, except the contract's 2-hour on-site target for incidents.
pub async fn ensure_defaults(ctx: &Ctx) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    if ctx.store.list_calendars().await?.is_empty() {
        ctx.store
            .create_calendar(
                "7×24",
                "always",
                None,
                "全天候，不区分节假日",
                &Default::default(),
                now,
            )
            .await?;
        ctx.store
            .create_calendar(
                "工作日（法定节假日与调休）",
                "working_hours",
                Some(DEFAULT_PERIODS),
                "周一至周五工作时间，按国务院办公厅节假日安排放假与调休上班（2024–2026 已内置，可编辑）",
                &cn_overrides(),
                now,
            )
            .await?;
    }
    if ctx.store.count_policies().await? == 0 {
        let cals = ctx.store.list_calendars().await?;
        let always = cals.iter().find(|c| c.kind == "always").map(|c| c.id);
        let work = cals
            .iter()
            .find(|c| c.kind == "working_hours")
            .map(|c| c.id)
            .or(always);
        let onsite = ctx.config.desk.onsite_minutes;
        // (kind, priority, calendar, response, onsite, resolve) in minutes.
        let rows: &[DefaultPolicy] = &[
            ("incident", "P1", always, 15, Some(onsite), 240),
            ("incident", "P2", always, 30, Some(onsite), 480),
            ("incident", "P3", always, 60, Some(onsite), 1440),
            ("incident", "P4", always, 120, Some(onsite), 2880),
            ("request", "P1", work, 30, None, 240),
            ("request", "P2", work, 60, None, 480),
            ("request", "P3", work, 120, None, 960),
            ("request", "P4", work, 240, None, 2400),
            ("problem", "P1", work, 60, None, 2400),
            ("problem", "P2", work, 120, None, 4800),
            ("problem", "P3", work, 240, None, 9600),
            ("problem", "P4", work, 480, None, 19200),
            ("change", "P1", work, 60, None, 960),
            ("change", "P2", work, 120, None, 2400),
            ("change", "P3", work, 240, None, 4800),
            ("change", "P4", work, 480, None, 9600),
        ];
        let spec = &tk::SLA_POLICIES;
        for (kind, prio, cal, resp, on, res) in rows {
            let obj = json!({"name": format!("{}{} 默认", tk::label(tk::KINDS, kind), prio), "kind": kind, "priority": prio,
                "calendar_id": cal, "response_minutes": resp, "onsite_minutes": on, "resolve_minutes": res});
            let Value::Object(obj) = obj else { continue };
            let vals = spec
                .validate_json(&obj, false, &[])
                .map_err(|e| anyhow::anyhow!("default policy: {e:?}"))?;
            ctx.store
                .create_entity(spec, vals, &Actor::system("defaults"), now)
                .await?;
        }
    }
    Ok(())
}

fn is_staff(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Manager | Role::Engineer | Role::Operator
    )
}

/// Whether the user may see a ticket: requesters only their own.
pub fn can_view(u: &AuthUser, t: &TicketRow) -> bool {
    u.role != Role::Requester || t.requester_id == Some(u.id)
}

fn text_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    max: usize,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            // Fields of up to 200 characters are single-line (names, titles, contacts).
            match crate::domain::text::check_field(label, s.trim(), max > 200, max) {
                Ok(()) => Some(s.trim().to_string()),
                Err(m) => {
                    errs.push(FieldError::new(key, m));
                    None
                }
            }
        }
        Some(_) => {
            errs.push(FieldError::new(key, format!("{label}应为文本")));
            None
        }
    }
}

fn choice_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    choices: &[crate::domain::entity::Choice],
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let v = text_field(obj, key, label, 50, errs)?;
    match tk::choice(choices, &v) {
        Some(c) => Some(c.to_string()),
        None => {
            let opts: Vec<String> = choices
                .iter()
                .map(|c| format!("{}（{}）", c.label, c.code))
                .collect();
            errs.push(FieldError::new(
                key,
                format!("{label}“{v}”无效，可选：{}", opts.join("、")),
            ));
            None
        }
    }
}

fn id_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> Option<i64> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i > 0) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok_and(|i| i > 0) => {
            s.trim().parse().ok()
        }
        Some(_) => {
            errs.push(FieldError::new(key, format!("{label}应为编号")));
            None
        }
    }
}

fn time_field(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let s = text_field(obj, key, label, 40, errs)?;
    match DateTime::parse_from_rfc3339(&s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errs.push(FieldError::new(
                key,
                format!("{label}应为 RFC 3339 时间，如 2025-10-15T09:30:00+08:00"),
            ));
            None
        }
    }
}

/// The fields `update_ticket` accepts (`id` and `number` are ignored).
const UPDATE_KEYS: &[&str] = &[
    "title",
    "description",
    "category",
    "impact",
    "urgency",
    "system_id",
    "asset_id",
    "id",
    "number",
];

/// The fields `apply_action` accepts.
const ACTION_KEYS: &[&str] = &[
    "action",
    "assignee_id",
    "reason",
    "resolution",
    "fault_report",
    "remote_fix_reason",
    "note",
    "score",
    "comment",
];

const CREATE_KEYS: &[&str] = &[
    "kind",
    "change_type",
    "title",
    "description",
    "system_id",
    "asset_id",
    "category",
    "source",
    "requester_id",
    "requester_name",
    "requester_contact",
    "reported_at",
    "impact",
    "urgency",
    "assignee_id",
];

/// `check_exists` on the writer's transaction.
async fn check_exists_in(
    ctx: &Ctx,
    tx: &mut Tx,
    spec: &crate::domain::entity::EntitySpec,
    id: Option<i64>,
    field: &str,
    label: &str,
    errs: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(i) = id
        && !ctx.store.entity_exists_in(tx, spec, i).await?
    {
        errs.push(FieldError::new(field, format!("{label}编号 {i} 不存在")));
    }
    Ok(())
}

/// Opens a ticket. Staff may log a phone call with an earlier `reported_at` and name the
/// requester; requesters open their own tickets through the portal.
pub async fn open_ticket(
    ctx: &Ctx,
    u: &AuthUser,
    obj: &Map<String, Value>,
) -> AppResult<TicketRow> {
    Ok(open_ticket_with_clocks(ctx, u, obj, None).await?.0)
}

/// Opens a ticket; with `alert_id`, the alert points at the new ticket in the same
/// transaction, so an alert never ends up with two tickets or none after a crash.
pub async fn open_ticket_for(
    ctx: &Ctx,
    u: &AuthUser,
    obj: &Map<String, Value>,
    alert_id: Option<i64>,
) -> AppResult<TicketRow> {
    Ok(open_ticket_with_clocks(ctx, u, obj, alert_id).await?.0)
}

/// The ticket as the API answers a creation: its clocks as computed on the writer's
/// transaction and no links yet, so the answer costs no further database round trip.
pub fn created_json(u: &AuthUser, t: &TicketRow, clocks: &[ClockState]) -> Value {
    let mut v = ticket_json_base(t);
    add_detail(&mut v, u, t, clocks, &[]);
    v
}

/// Opens a ticket and returns it with its replayed clocks.
pub async fn open_ticket_with_clocks(
    ctx: &Ctx,
    u: &AuthUser,
    obj: &Map<String, Value>,
    alert_id: Option<i64>,
) -> AppResult<(TicketRow, Vec<ClockState>)> {
    if !(is_staff(u.role) || u.role == Role::Requester) {
        return Err(AppError::forbidden());
    }
    let now = ctx.clock.now();
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !CREATE_KEYS.contains(&k.as_str()) {
            errs.push(FieldError::new(
                k.clone(),
                format!("未知字段“{k}”，请删除该字段"),
            ));
        }
    }
    let kind = choice_field(obj, "kind", "工单类型", tk::KINDS, &mut errs);
    if !obj.contains_key("kind") {
        errs.push(FieldError::new("kind", "请选择工单类型"));
    }
    let change_type = choice_field(obj, "change_type", "变更类型", tk::CHANGE_TYPES, &mut errs);
    if kind.as_deref() == Some("change")
        && change_type.is_none()
        && !errs.iter().any(|e| e.field == "change_type")
    {
        errs.push(FieldError::new(
            "change_type",
            "变更工单须选择变更类型：系统升级、性能优化、漏洞修复或配置变更",
        ));
    }
    let title = text_field(obj, "title", "标题", 200, &mut errs);
    if title.is_none() && !errs.iter().any(|e| e.field == "title") {
        errs.push(FieldError::new("title", "请填写标题"));
    }
    let description = text_field(obj, "description", "描述", 20_000, &mut errs);
    let system_id = id_field(obj, "system_id", "系统", &mut errs);
    let asset_id = id_field(obj, "asset_id", "设备", &mut errs);
    let category = text_field(obj, "category", "分类", 50, &mut errs);
    let impact = choice_field(obj, "impact", "影响程度", tk::LEVELS, &mut errs)
        .unwrap_or_else(|| "medium".into());
    let urgency = choice_field(obj, "urgency", "紧急程度", tk::LEVELS, &mut errs)
        .unwrap_or_else(|| "medium".into());
    let mut source = choice_field(obj, "source", "来源", tk::SOURCES, &mut errs);
    let mut requester_id = id_field(obj, "requester_id", "报障人", &mut errs);
    let requester_name = text_field(obj, "requester_name", "报障人姓名", 50, &mut errs);
    let requester_contact = text_field(obj, "requester_contact", "联系方式", 100, &mut errs);
    let mut reported_at = time_field(obj, "reported_at", "报障时间", &mut errs).unwrap_or(now);
    let mut assignee_id = id_field(obj, "assignee_id", "处理人", &mut errs);
    if u.role == Role::Requester {
        // The portal: one's own ticket, reported now, about one of the systems.
        requester_id = Some(u.id);
        source = Some("portal".into());
        reported_at = now;
        if assignee_id.is_some() {
            errs.push(FieldError::new("assignee_id", "报障用户不能指定处理人"));
        }
        if system_id.is_none() && !errs.iter().any(|e| e.field == "system_id") {
            errs.push(FieldError::new("system_id", "请选择出现问题的系统"));
        }
    } else {
        if reported_at > now + Duration::minutes(5) {
            errs.push(FieldError::new("reported_at", "报障时间不能晚于当前时间"));
        }
        if reported_at < now - Duration::days(30) {
            errs.push(FieldError::new("reported_at", "报障时间不能早于 30 天前"));
        }
        if assignee_id.is_some() && !matches!(u.role, Role::Admin | Role::Manager) {
            errs.push(FieldError::new(
                "assignee_id",
                "只有项目经理可以在建单时指定处理人",
            ));
        }
    }
    // From here on everything runs on one transaction: the references are checked, the
    // number drawn and the rows written on the same connection.
    let duty = if category
        .as_deref()
        .is_some_and(|c| tk::DATABASE_CATEGORIES.iter().any(|d| c.contains(d)))
    {
        "dba"
    } else {
        "om_engineer"
    };
    let mut tx = ctx.store.write_tx().await?;
    let refs = Store::ticket_refs_in(
        &mut tx,
        system_id,
        asset_id,
        requester_id,
        assignee_id,
        duty,
    )
    .await?;
    if let Some(i) = system_id
        && !refs.system
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {i} 不存在")));
    }
    if let Some(i) = asset_id
        && !refs.asset
    {
        errs.push(FieldError::new("asset_id", format!("设备编号 {i} 不存在")));
    }
    if let Some(rid) = requester_id
        && !refs.requester
    {
        errs.push(FieldError::new(
            "requester_id",
            format!("用户编号 {rid} 不存在"),
        ));
    }
    if assignee_id.is_some()
        && !refs
            .assignee_role
            .as_deref()
            .is_some_and(|r| ["engineer", "operator", "manager"].contains(&r))
    {
        errs.push(FieldError::new(
            "assignee_id",
            "处理人须为在用的工程师、运营人员或项目经理账号",
        ));
    }
    let (Some(kind), Some(title)) = (kind, title) else {
        return Err(AppError::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let source = source.unwrap_or_else(|| {
        if u.role == Role::Requester {
            "portal".into()
        } else {
            "api".into()
        }
    });
    let priority = ctx.config.desk.priority_matrix.priority(&impact, &urgency);
    // Assignment from the inventory: the system's DBA for database work, else its O&M
    // engineer; the queue when the slot is not filled.
    let mut auto_assigned = false;
    if assignee_id.is_none() && system_id.is_some() {
        assignee_id = refs.slot_user;
        auto_assigned = assignee_id.is_some();
    }
    let policies = ctx.store.policies_in(&mut tx).await?;
    let policy = policies.matching(&kind, &priority, system_id);
    let calendar_id = match &policy {
        Some(p) => Some(p.calendar_id),
        None => policies.always_calendar_id,
    };
    // Clocks start at the fault report, which staff may date back for a phone call.
    let targets = [
        (
            ClockTarget::Response,
            policy.as_ref().and_then(|p| p.response_minutes),
        ),
        (
            ClockTarget::Onsite,
            if kind == "incident" {
                policy
                    .as_ref()
                    .and_then(|p| p.onsite_minutes)
                    .or(Some(ctx.config.desk.onsite_minutes))
            } else {
                None
            },
        ),
        (
            ClockTarget::Resolve,
            policy.as_ref().and_then(|p| p.resolve_minutes),
        ),
    ];
    let clock_starts: Vec<(ClockTarget, ClockEvent)> = targets
        .into_iter()
        .filter_map(|(target, minutes)| {
            Some((
                target,
                ClockEvent {
                    at: reported_at,
                    kind: ClockEventKind::Start,
                    target_seconds: Some(minutes? * 60),
                    reason: "报障".into(),
                },
            ))
        })
        .collect();
    // The SLA fields are known before the row exists: replay the clocks just started.
    let cal = match calendar_id {
        Some(c) => ctx.store.calendar_in(&mut tx, c).await?,
        None => Calendar::always(),
    };
    let mut by_target: std::collections::BTreeMap<String, Vec<ClockEvent>> = Default::default();
    for (target, e) in &clock_starts {
        by_target
            .entry(target.as_str().to_string())
            .or_default()
            .push(e.clone());
    }
    let clocks = replay_all(&by_target, &cal, now);
    let sla = sla_fields(
        &clocks,
        &cal,
        policy.as_ref().map_or(75, |p| p.warn_percent),
        true,
        now,
        &[],
    );
    let status = if assignee_id.is_some() {
        "assigned"
    } else {
        "new"
    };
    let nt = NewTicket {
        kind: kind.clone(),
        change_type,
        title,
        description,
        system_id,
        asset_id,
        category,
        source,
        requester_id,
        requester_name: requester_name
            .or_else(|| (u.role == Role::Requester).then(|| u.display_name.clone())),
        requester_contact,
        reported_at: reported_at.timestamp_millis(),
        impact,
        urgency,
        priority: priority.clone(),
        assignee_id,
        status: status.into(),
        sla_policy_id: policy.as_ref().map(|p| p.id),
        calendar_id,
        created_by: u.uid(),
        sla,
    };
    let prefix = match kind.as_str() {
        "incident" => "INC",
        "request" => "REQ",
        "problem" => "PRB",
        _ => "CHG",
    };
    let day = now
        .with_timezone(&crate::clock::beijing())
        .format("%Y%m%d")
        .to_string();
    let now_ms = now.timestamp_millis();
    // The day's counter keeps numbers gapless, so its row stays locked until commit. On
    // SQLite (one writer) that costs nothing: draw it first. On PostgreSQL everything is
    // written under a provisional, unique number and the real one replaces it in one
    // statement just before the audit record and the commit.
    let late_number = ctx.store.backend() == crate::store::Backend::Postgres;
    let provisional = if late_number {
        let mut salt = [0u8; 8];
        password_hash::rand_core::RngCore::fill_bytes(
            &mut password_hash::rand_core::OsRng,
            &mut salt,
        );
        format!("~{}", crate::store::audit::hex(&salt))
    } else {
        ctx.store.next_ticket_number(&mut tx, prefix, &day).await?
    };
    let id = ctx
        .store
        .insert_ticket(&mut tx, &provisional, &nt, now_ms)
        .await?;
    ctx.store
        .add_clock_events(&mut tx, id, &clock_starts)
        .await?;
    let mut number = provisional.clone();
    let summary = format!(
        "{}建单：{}（{}，{}）",
        u.display_name,
        number,
        tk::label(tk::KINDS, &kind),
        priority
    );
    let created_event = ctx
        .store
        .add_ticket_event(
            &mut tx,
            id,
            now_ms,
            u.uid(),
            &u.username,
            "created",
            &summary,
            None,
            false,
        )
        .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    crate::notify::enqueue_for_ticket(
        ctx,
        &mut tx,
        "ticket.created",
        &row,
        assignee_id,
        &created_event.to_string(),
        &summary,
    )
    .await?;
    if let Some(a) = assignee_id {
        let how = if auto_assigned {
            "按系统岗位自动分派"
        } else {
            "建单时指定"
        };
        let eid = ctx
            .store
            .add_ticket_event(
                &mut tx,
                id,
                now_ms,
                u.uid(),
                &u.username,
                "assigned",
                &format!("{how}给用户 #{a}"),
                Some(json!({"assignee_id": a})),
                false,
            )
            .await?;
        crate::notify::enqueue_for_ticket(
            ctx,
            &mut tx,
            "ticket.assigned",
            &row,
            Some(a),
            &eid.to_string(),
            how,
        )
        .await?;
    }
    if let Some(aid) = alert_id {
        ctx.store.set_alert_ticket(&mut tx, aid, id, now_ms).await?;
    }
    let mut row = row;
    let mut summary = summary;
    if late_number {
        number = ctx
            .store
            .finalize_ticket_number_pg(&mut tx, id, prefix, &day, &provisional)
            .await?;
        summary = summary.replace(&provisional, &number);
        row.number.clone_from(&number);
    }
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: "create".into(),
            entity_type: "tickets".into(),
            entity_id: Some(id.to_string()),
            summary,
            before: None,
            after: Some(json!({"number": number, "kind": kind, "priority": priority, "status": status, "assignee_id": assignee_id})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((row, clocks))
}

/// The replayed clocks of a ticket at the clock's now.
pub async fn clocks(ctx: &Ctx, t: &TicketRow) -> AppResult<Vec<ClockState>> {
    let mut conn = ctx.store.pool().acquire().await.map_err(StoreError::from)?;
    clocks_in(ctx, &mut conn, t).await
}

/// The replayed clocks of a ticket, read on `conn` (a writer's transaction derefs to one).
pub async fn clocks_in(
    ctx: &Ctx,
    conn: &mut sqlx::AnyConnection,
    t: &TicketRow,
) -> AppResult<Vec<ClockState>> {
    let cal = match t.calendar_id {
        Some(id) => ctx.store.calendar_in(conn, id).await?,
        None => Calendar::always(),
    };
    let events = Store::clock_events_in(conn, t.id).await?;
    Ok(replay_all(&events, &cal, ctx.clock.now()))
}

fn replay_all(
    events: &std::collections::BTreeMap<String, Vec<ClockEvent>>,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> Vec<ClockState> {
    ClockTarget::ALL
        .iter()
        .filter_map(|target| {
            events
                .get(target.as_str())
                .map(|evs| replay(*target, evs, cal, now))
        })
        .collect()
}

/// Replays the clocks and caches due times, the breach flag and the time the SLA monitor
/// next needs to look at the ticket, in a transaction of its own.
pub async fn refresh_sla(ctx: &Ctx, id: i64) -> AppResult<Vec<ClockState>> {
    let mut tx = ctx.store.write_tx().await?;
    let cs = refresh_sla_in(ctx, &mut tx, id).await?;
    tx.commit().await?;
    Ok(cs)
}

/// Replays the clocks on the writer's transaction and stores due times, the breach flag
/// and the time the SLA monitor next needs to look at the ticket.
pub async fn refresh_sla_in(ctx: &Ctx, tx: &mut Tx, id: i64) -> AppResult<Vec<ClockState>> {
    let t = ctx.store.ticket_tx(tx, id).await?;
    let cal = match t.calendar_id {
        Some(id) => ctx.store.calendar_in(tx, id).await?,
        None => Calendar::always(),
    };
    let events = Store::clock_events_in(tx, id).await?;
    let now = ctx.clock.now();
    let cs = replay_all(&events, &cal, now);
    let warn = match t.sla_policy_id {
        Some(p) => match ctx.store.policy_in(tx, p).await {
            Ok(p) => p.warn_percent,
            Err(crate::store::StoreError::NotFound) => 75,
            Err(e) => return Err(e.into()),
        },
        None => 75,
    };
    let open = !matches!(t.status.as_str(), "closed" | "canceled");
    // The timeline's warnings and breaches matter only once a clock is past its warning.
    let markers = if cs.iter().any(|c| {
        c.breached
            || c.target_seconds
                .is_some_and(|target| c.elapsed_seconds * 100 >= target * warn)
    }) {
        Store::sla_markers_in(tx, id).await?
    } else {
        Vec::new()
    };
    let f = sla_fields(&cs, &cal, warn, open, now, &markers);
    ctx.store.set_sla_fields(tx, id, &f, t.updated_at).await?;
    Ok(cs)
}

/// The SLA fields of a ticket from its replayed clocks: due times, the breach flag, and
/// when the SLA monitor next needs to look (the next warning or due time, or now when a
/// warning or breach is due but not yet on the timeline, as `markers` tell).
pub fn sla_fields(
    cs: &[ClockState],
    cal: &Calendar,
    warn: i64,
    open: bool,
    now: DateTime<Utc>,
    markers: &[(String, String)],
) -> SlaFields {
    let due = |target: ClockTarget| {
        cs.iter()
            .find(|c| c.target == target)
            .and_then(|c| c.due_at)
            .map(|d| d.timestamp_millis())
    };
    let recorded = |kind: &str, marker: &str| markers.iter().any(|(k, m)| k == kind && m == marker);
    let mut next: Option<DateTime<Utc>> = None;
    for c in cs.iter().filter(|c| {
        open && c.stopped_at.is_none()
            && matches!(c.status, ClockStatus::Running | ClockStatus::Breached)
    }) {
        let Some(target) = c.target_seconds else {
            continue;
        };
        let marker = format!("\"{}\"", c.target.as_str());
        let candidate = if c.breached {
            (!recorded("sla_breached", &marker)).then_some(now)
        } else if c.elapsed_seconds * 100 < target * warn {
            cal.add_seconds(now, (target * warn + 99) / 100 - c.elapsed_seconds)
        } else if recorded("sla_warning", &marker) {
            c.due_at
        } else {
            Some(now)
        };
        next = match (next, candidate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    SlaFields {
        response_due_at: due(ClockTarget::Response),
        onsite_due_at: due(ClockTarget::Onsite),
        resolve_due_at: due(ClockTarget::Resolve),
        breached: cs.iter().any(|c| c.breached),
        next_check_at: next.map(|d| d.timestamp_millis()),
    }
}

fn running(cs: &[ClockState], target: ClockTarget) -> bool {
    cs.iter().any(|c| {
        c.target == target
            && matches!(c.status, ClockStatus::Running | ClockStatus::Breached)
            && c.stopped_at.is_none()
    })
}

fn has(cs: &[ClockState], target: ClockTarget) -> bool {
    cs.iter()
        .any(|c| c.target == target && c.status != ClockStatus::Waived && c.stopped_at.is_none())
}

/// The actions the user may take on the ticket now (for pages and the API).
pub fn allowed_actions(u: &AuthUser, t: &TicketRow) -> Vec<&'static str> {
    let all = [
        ("assign", Action::Assign),
        ("start", Action::Start),
        ("pend", Action::Pend),
        ("resume", Action::Resume),
        ("check_in", Action::CheckIn),
        ("resolve", Action::Resolve),
        ("close", Action::Close),
        ("reopen", Action::Reopen),
        ("cancel", Action::Cancel),
        ("supervise", Action::Supervise),
        ("rate", Action::Rate),
    ];
    all.iter()
        .filter(|(_, a)| may(u, t, *a).is_ok() && a.allowed_from().contains(&t.status.as_str()))
        .map(|(n, _)| *n)
        .collect()
}

/// Role rules for an action on a ticket.
fn may(u: &AuthUser, t: &TicketRow, a: Action) -> Result<(), AppError> {
    let own_request = t.requester_id == Some(u.id);
    let is_assignee = t.assignee_id == Some(u.id);
    let lead = matches!(u.role, Role::Admin | Role::Manager);
    let worker = matches!(u.role, Role::Engineer | Role::Operator);
    let ok = match a {
        Action::Supervise => matches!(u.role, Role::Supervisor | Role::Manager),
        Action::Rate => own_request,
        Action::Close => lead || is_assignee || own_request,
        Action::Reopen => lead || own_request,
        Action::Cancel => lead || (own_request && t.status == "new"),
        Action::Assign => lead || (worker && (t.assignee_id.is_none() || is_assignee)),
        Action::Start | Action::Pend | Action::Resume | Action::CheckIn | Action::Resolve => {
            lead || (worker && is_assignee)
        }
    };
    if ok {
        Ok(())
    } else if u.role == Role::Auditor {
        Err(AppError::Forbidden("监理为只读角色，不能操作工单".into()))
    } else {
        Err(AppError::Forbidden(format!(
            "您不能对此工单执行“{}”",
            a.label()
        )))
    }
}

fn reason(body: &Map<String, Value>, key: &str, what: &str) -> AppResult<String> {
    match body.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= 2000 => Ok(s.to_string()),
        Some(s) if !s.is_empty() => Err(AppError::invalid(
            key,
            format!("{what}不能超过 2000 个字符"),
        )),
        _ => Err(AppError::invalid(key, format!("请填写{what}"))),
    }
}

/// Applies one lifecycle action `{"action": ..., ...}`; every change goes to the timeline,
/// the SLA clocks and the audit log in one transaction.
pub async fn apply_action(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    body: &Map<String, Value>,
) -> AppResult<TicketRow> {
    let mut tx: Tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    let name = body
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let action = Action::parse(name).ok_or_else(|| {
        AppError::invalid("action", "action 可选：assign、start、pend、resume、check_in、resolve、close、reopen、cancel、supervise、rate")
    })?;
    may(u, &t, action)?;
    if !action.allowed_from().contains(&t.status.as_str()) {
        return Err(AppError::Conflict(format!(
            "工单当前状态为“{}”，不能执行“{}”",
            tk::label(tk::STATUSES, &t.status),
            action.label()
        )));
    }
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let cs = clocks_in(ctx, &mut tx, &t).await?;
    let mut fields: Vec<(&str, Arg)> = Vec::new();
    let mut clock_events: Vec<(ClockTarget, ClockEventKind, String)> = Vec::new();
    let mut summary;
    let mut data = json!({"action": name});
    let stop_response = |clock_events: &mut Vec<(ClockTarget, ClockEventKind, String)>,
                         fields: &mut Vec<(&str, Arg)>,
                         why: &str| {
        if running(&cs, ClockTarget::Response) || has(&cs, ClockTarget::Response) {
            clock_events.push((ClockTarget::Response, ClockEventKind::Stop, why.to_string()));
        }
        if t.first_response_at.is_none() {
            fields.push(("first_response_at", Arg::Int(Some(now_ms))));
        }
    };
    match action {
        Action::Assign => {
            let to = body
                .get("assignee_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| AppError::invalid("assignee_id", "请选择处理人"))?;
            if !Store::active_role_in(&mut tx, to)
                .await?
                .is_some_and(|r| ["engineer", "operator", "manager"].contains(&r.as_str()))
            {
                return Err(AppError::invalid(
                    "assignee_id",
                    "处理人须为在用的工程师、运营人员或项目经理账号",
                ));
            }
            if matches!(u.role, Role::Engineer | Role::Operator)
                && t.assignee_id.is_none()
                && to != u.id
            {
                return Err(AppError::Forbidden(
                    "工程师只能领取队列中的工单给自己".into(),
                ));
            }
            let why = if t.assignee_id.is_some() && t.assignee_id != Some(to) {
                Some(reason(body, "reason", "改派原因")?)
            } else {
                None
            };
            fields.push(("assignee_id", Arg::Int(Some(to))));
            if matches!(t.status.as_str(), "new" | "assigned") {
                fields.push(("status", Arg::Text(Some("assigned".into()))));
            }
            summary = match &why {
                Some(r) => format!("改派给用户 #{to}：{r}"),
                None => format!("分派给用户 #{to}"),
            };
            data["assignee_id"] = json!(to);
        }
        Action::Start => {
            fields.push(("status", Arg::Text(Some("in_progress".into()))));
            stop_response(&mut clock_events, &mut fields, "开始处理");
            summary = "开始处理".into();
        }
        Action::Pend => {
            let r = reason(body, "reason", "挂起原因（如等待用户或第三方）")?;
            fields.push(("status", Arg::Text(Some("pending".into()))));
            fields.push(("pending_reason", Arg::Text(Some(r.clone()))));
            stop_response(&mut clock_events, &mut fields, "挂起前已响应");
            if has(&cs, ClockTarget::Resolve) {
                clock_events.push((ClockTarget::Resolve, ClockEventKind::Pause, r.clone()));
            }
            summary = format!("挂起：{r}");
        }
        Action::Resume => {
            fields.push(("status", Arg::Text(Some("in_progress".into()))));
            fields.push(("pending_reason", Arg::Text(None)));
            if has(&cs, ClockTarget::Resolve) {
                clock_events.push((
                    ClockTarget::Resolve,
                    ClockEventKind::Resume,
                    "恢复处理".into(),
                ));
            }
            summary = "恢复处理".into();
        }
        Action::CheckIn => {
            if t.kind != "incident" {
                return Err(AppError::invalid("action", "只有故障工单需要到场签到"));
            }
            if t.onsite_at.is_some() {
                return Err(AppError::Conflict("已经签到过了".into()));
            }
            fields.push(("onsite_at", Arg::Int(Some(now_ms))));
            if matches!(t.status.as_str(), "new" | "assigned") {
                fields.push(("status", Arg::Text(Some("in_progress".into()))));
            }
            stop_response(&mut clock_events, &mut fields, "到场即响应");
            if has(&cs, ClockTarget::Onsite) {
                clock_events.push((ClockTarget::Onsite, ClockEventKind::Stop, "到场签到".into()));
            }
            summary = format!("{}到场签到", u.display_name);
        }
        Action::Resolve => {
            let resolution = reason(body, "resolution", "处理结果")?;
            if t.kind == "incident" {
                let fr = tk::validate_fault_report(body.get("fault_report"))
                    .map_err(AppError::Validation)?;
                fields.push((
                    "fault_report",
                    Arg::Text(Some(Value::Object(fr).to_string())),
                ));
                if t.onsite_at.is_none() && has(&cs, ClockTarget::Onsite) {
                    let why = body
                        .get("remote_fix_reason")
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty());
                    match why {
                        Some(w) => clock_events.push((
                            ClockTarget::Onsite,
                            ClockEventKind::Waive,
                            format!("远程解决：{w}"),
                        )),
                        None => {
                            return Err(AppError::invalid(
                                "remote_fix_reason",
                                "尚未到场签到：请先到场签到，或填写远程解决的原因（remote_fix_reason）",
                            ));
                        }
                    }
                }
            }
            fields.push(("status", Arg::Text(Some("resolved".into()))));
            fields.push(("resolution", Arg::Text(Some(resolution.clone()))));
            fields.push(("resolved_at", Arg::Int(Some(now_ms))));
            fields.push(("pending_reason", Arg::Text(None)));
            stop_response(&mut clock_events, &mut fields, "解决即响应");
            if has(&cs, ClockTarget::Resolve) {
                if !running(&cs, ClockTarget::Resolve) {
                    clock_events.push((
                        ClockTarget::Resolve,
                        ClockEventKind::Resume,
                        "解决".into(),
                    ));
                }
                clock_events.push((ClockTarget::Resolve, ClockEventKind::Stop, "已解决".into()));
            }
            summary = format!("已解决：{resolution}");
        }
        Action::Close => {
            fields.push(("status", Arg::Text(Some("closed".into()))));
            fields.push(("closed_at", Arg::Int(Some(now_ms))));
            summary = if t.requester_id == Some(u.id) {
                "报障人确认解决，关闭".into()
            } else {
                "关闭".into()
            };
        }
        Action::Reopen => {
            let r = reason(body, "reason", "重新打开的原因")?;
            let since = t.resolved_at.unwrap_or(t.updated_at);
            let window = ctx.config.desk.reopen_window_days;
            if now_ms - since > window * 86_400_000 {
                return Err(AppError::Conflict(format!(
                    "工单解决已超过 {window} 天，不能重新打开，请新建工单并关联此单"
                )));
            }
            fields.push((
                "status",
                Arg::Text(Some(
                    if t.assignee_id.is_some() {
                        "in_progress"
                    } else {
                        "new"
                    }
                    .into(),
                )),
            ));
            fields.push(("reopen_count", Arg::Int(Some(t.reopen_count + 1))));
            fields.push(("resolved_at", Arg::Int(None)));
            fields.push(("closed_at", Arg::Int(None)));
            fields.push(("satisfaction", Arg::Int(None)));
            fields.push(("satisfaction_comment", Arg::Text(None)));
            if cs.iter().any(|c| c.target == ClockTarget::Resolve) {
                clock_events.push((
                    ClockTarget::Resolve,
                    ClockEventKind::Resume,
                    format!("重新打开：{r}"),
                ));
            }
            summary = format!("重新打开：{r}");
        }
        Action::Cancel => {
            let r = reason(body, "reason", "取消原因")?;
            fields.push(("status", Arg::Text(Some("canceled".into()))));
            fields.push(("cancel_reason", Arg::Text(Some(r.clone()))));
            fields.push(("closed_at", Arg::Int(Some(now_ms))));
            for c in &cs {
                if c.stopped_at.is_none() && c.status != ClockStatus::Waived {
                    clock_events.push((c.target, ClockEventKind::Waive, format!("工单取消：{r}")));
                }
            }
            summary = format!("取消：{r}");
        }
        Action::Supervise => {
            let note = reason(body, "note", "督办意见")?;
            summary = format!("{}督办：{note}", u.display_name);
            data["note"] = json!(note);
        }
        Action::Rate => {
            if t.requester_id != Some(u.id) {
                return Err(AppError::Forbidden("只有报障人可以评价".into()));
            }
            if t.satisfaction.is_some() {
                return Err(AppError::Conflict("该工单已评价".into()));
            }
            let score = body
                .get("score")
                .and_then(Value::as_i64)
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| AppError::invalid("score", "评分应为 1 到 5 的整数"))?;
            let comment = body
                .get("comment")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
                return Err(AppError::invalid("comment", "评价内容不能超过 2000 个字符"));
            }
            fields.push(("satisfaction", Arg::Int(Some(score))));
            fields.push(("satisfaction_comment", Arg::Text(comment.clone())));
            if t.status == "resolved" {
                fields.push(("status", Arg::Text(Some("closed".into()))));
                fields.push(("closed_at", Arg::Int(Some(now_ms))));
            }
            summary = format!(
                "评价 {score} 星{}",
                comment.map(|c| format!("：{c}")).unwrap_or_default()
            );
            data["score"] = json!(score);
        }
    }
    for k in body.keys() {
        if !ACTION_KEYS.contains(&k.as_str()) {
            return Err(AppError::invalid(k, format!("未知字段“{k}”，请删除该字段")));
        }
    }
    if !fields.is_empty() {
        ctx.store
            .update_ticket_fields(&mut tx, id, &fields, now_ms)
            .await?;
    }
    for (target, kind, why) in &clock_events {
        let e = ClockEvent {
            at: now,
            kind: *kind,
            target_seconds: None,
            reason: why.clone(),
        };
        ctx.store.add_clock_event(&mut tx, id, *target, &e).await?;
    }
    if summary.is_empty() {
        summary = action.label().into();
    }
    let eid = ctx
        .store
        .add_ticket_event(
            &mut tx,
            id,
            now_ms,
            u.uid(),
            &u.username,
            name,
            &summary,
            Some(data),
            false,
        )
        .await?;
    if matches!(action, Action::Start | Action::CheckIn) {
        // Taking up a ticket acknowledges the alerts that opened it.
        ctx.store
            .acknowledge_alerts_of_ticket(&mut tx, id, &u.username, now_ms)
            .await?;
    }
    let event = match action {
        Action::Assign => Some("ticket.assigned"),
        Action::Supervise => Some("ticket.supervised"),
        Action::Resolve => Some("ticket.resolved"),
        Action::Reopen => Some("ticket.reopened"),
        _ => None,
    };
    if let Some(event) = event {
        let row = ctx.store.ticket_tx(&mut tx, id).await?;
        let who = row.assignee_id;
        crate::notify::enqueue_for_ticket(
            ctx,
            &mut tx,
            event,
            &row,
            who,
            &eid.to_string(),
            &summary,
        )
        .await?;
    }
    // The ticket row first, the audit chain's head last: every write takes the shared
    // rows in that order (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: format!("ticket.{name}"),
            entity_type: "tickets".into(),
            entity_id: Some(id.to_string()),
            summary: format!("{} {}", t.number, summary),
            before: Some(json!({"status": t.status, "assignee_id": t.assignee_id})),
            after: Some(Value::Object(
                fields
                    .iter()
                    .map(|(k, a)| (k.to_string(), arg_json(a)))
                    .collect(),
            )),
        },
    )
    .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}

fn arg_json(a: &Arg) -> Value {
    match a {
        Arg::Int(v) => json!(v),
        Arg::Float(v) => json!(v),
        Arg::Text(v) => json!(v),
    }
}

/// Changes title, description, category, system or impact/urgency; a new priority
/// retargets the clocks from the matching policy, keeping the time already used.
pub async fn update_ticket(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    obj: &Map<String, Value>,
) -> AppResult<TicketRow> {
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    let lead = matches!(u.role, Role::Admin | Role::Manager);
    if !(lead || (matches!(u.role, Role::Engineer | Role::Operator) && t.assignee_id == Some(u.id)))
    {
        return Err(AppError::forbidden());
    }
    if matches!(t.status.as_str(), "closed" | "canceled") {
        return Err(AppError::Conflict("已关闭或取消的工单不能修改".into()));
    }
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !UPDATE_KEYS.contains(&k.as_str()) {
            errs.push(FieldError::new(k.clone(), format!("字段“{k}”不能在此修改")));
        }
    }
    let mut fields: Vec<(&str, Arg)> = Vec::new();
    if obj.contains_key("title") {
        match text_field(obj, "title", "标题", 200, &mut errs) {
            Some(v) => fields.push(("title", Arg::Text(Some(v)))),
            None if !errs.iter().any(|e| e.field == "title") => {
                errs.push(FieldError::new("title", "请填写标题"))
            }
            None => {}
        }
    }
    if obj.contains_key("description") {
        fields.push((
            "description",
            Arg::Text(text_field(obj, "description", "描述", 20_000, &mut errs)),
        ));
    }
    if obj.contains_key("category") {
        fields.push((
            "category",
            Arg::Text(text_field(obj, "category", "分类", 50, &mut errs)),
        ));
    }
    for (key, label) in [("system_id", "系统"), ("asset_id", "设备")] {
        if obj.contains_key(key) {
            let v = id_field(obj, key, label, &mut errs);
            let spec = if key == "system_id" {
                &crate::domain::inventory::SYSTEMS
            } else {
                &crate::domain::inventory::ASSETS
            };
            check_exists_in(ctx, &mut tx, spec, v, key, label, &mut errs).await?;
            fields.push((key, Arg::Int(v)));
        }
    }
    let impact = if obj.contains_key("impact") {
        choice_field(obj, "impact", "影响程度", tk::LEVELS, &mut errs)
    } else {
        None
    };
    let urgency = if obj.contains_key("urgency") {
        choice_field(obj, "urgency", "紧急程度", tk::LEVELS, &mut errs)
    } else {
        None
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let new_impact = impact.clone().unwrap_or_else(|| t.impact.clone());
    let new_urgency = urgency.clone().unwrap_or_else(|| t.urgency.clone());
    let new_priority = ctx
        .config
        .desk
        .priority_matrix
        .priority(&new_impact, &new_urgency);
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let mut clock_events = Vec::new();
    if impact.is_some() {
        fields.push(("impact", Arg::Text(Some(new_impact.clone()))));
    }
    if urgency.is_some() {
        fields.push(("urgency", Arg::Text(Some(new_urgency.clone()))));
    }
    if new_priority != t.priority {
        fields.push(("priority", Arg::Text(Some(new_priority.clone()))));
        let sys = fields
            .iter()
            .find(|(k, _)| *k == "system_id")
            .and_then(|(_, a)| if let Arg::Int(v) = a { *v } else { None })
            .or(t.system_id);
        if let Some(p) = ctx
            .store
            .policies_in(&mut tx)
            .await?
            .matching(&t.kind, &new_priority, sys)
        {
            fields.push(("sla_policy_id", Arg::Int(Some(p.id))));
            let why = format!("优先级 {} → {}", t.priority, new_priority);
            for (target, minutes) in [
                (ClockTarget::Response, p.response_minutes),
                (ClockTarget::Onsite, p.onsite_minutes),
                (ClockTarget::Resolve, p.resolve_minutes),
            ] {
                if let Some(m) = minutes {
                    clock_events.push((
                        target,
                        ClockEvent {
                            at: now,
                            kind: ClockEventKind::Retarget,
                            target_seconds: Some(m * 60),
                            reason: why.clone(),
                        },
                    ));
                }
            }
        }
    }
    if fields.is_empty() {
        return Ok(t);
    }
    ctx.store
        .update_ticket_fields(&mut tx, id, &fields, now_ms)
        .await?;
    for (target, e) in &clock_events {
        ctx.store.add_clock_event(&mut tx, id, *target, e).await?;
    }
    let changed: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    let summary = if new_priority != t.priority {
        format!(
            "修改工单（{}），优先级 {} → {}",
            changed.join("、"),
            t.priority,
            new_priority
        )
    } else {
        format!("修改工单（{}）", changed.join("、"))
    };
    ctx.store
        .add_ticket_event(
            &mut tx,
            id,
            now_ms,
            u.uid(),
            &u.username,
            "updated",
            &summary,
            None,
            false,
        )
        .await?;
    // The ticket row first, the audit chain's head last (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: "update".into(),
            entity_type: "tickets".into(),
            entity_id: Some(id.to_string()),
            summary: format!("{} {summary}", t.number),
            before: Some(json!({"priority": t.priority, "impact": t.impact, "urgency": t.urgency})),
            after: Some(Value::Object(
                fields
                    .iter()
                    .map(|(k, a)| (k.to_string(), arg_json(a)))
                    .collect(),
            )),
        },
    )
    .await?;
    let row = ctx.store.ticket_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Adds a comment; a public comment by staff is the first response.
pub async fn comment(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    body: &str,
    internal: bool,
) -> AppResult<i64> {
    if u.role == Role::Auditor || (u.role == Role::Requester && internal) {
        return Err(AppError::forbidden());
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(AppError::invalid(
            "body",
            "请填写留言内容（不超过 20000 个字符）",
        ));
    }
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    let cs = clocks_in(ctx, &mut tx, &t).await?;
    let cid = ctx
        .store
        .add_comment(&mut tx, id, u.uid(), &u.username, body, internal, now_ms)
        .await?;
    if is_staff(u.role) && !internal && t.first_response_at.is_none() {
        ctx.store
            .update_ticket_fields(
                &mut tx,
                id,
                &[("first_response_at", Arg::Int(Some(now_ms)))],
                now_ms,
            )
            .await?;
        if has(&cs, ClockTarget::Response) {
            let e = ClockEvent {
                at: now,
                kind: ClockEventKind::Stop,
                target_seconds: None,
                reason: "首次回复".into(),
            };
            ctx.store
                .add_clock_event(&mut tx, id, ClockTarget::Response, &e)
                .await?;
        }
    }
    let summary = if internal {
        "内部备注".to_string()
    } else {
        format!("{}留言", u.display_name)
    };
    // The ticket row first, the audit chain's head last: every write takes the shared
    // rows in that order (docs/ARCHITECTURE.md).
    refresh_sla_in(ctx, &mut tx, id).await?;
    record_step(
        ctx,
        &mut tx,
        u,
        &t,
        "comment",
        &summary,
        json!({"comment_id": cid, "internal": internal}),
        internal,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(cid)
}

/// Writes one step of a ticket's history — its timeline entry and its audit record — in
/// the caller's transaction; returns the timeline entry's id.
#[allow(clippy::too_many_arguments)]
async fn record_step(
    ctx: &Ctx,
    tx: &mut Tx,
    u: &AuthUser,
    t: &TicketRow,
    kind: &str,
    summary: &str,
    data: Value,
    internal: bool,
    now_ms: i64,
) -> AppResult<i64> {
    let eid = ctx
        .store
        .add_ticket_event(
            tx,
            t.id,
            now_ms,
            u.uid(),
            &u.username,
            kind,
            summary,
            Some(data.clone()),
            internal,
        )
        .await?;
    append(
        tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: kind.into(),
            entity_type: "tickets".into(),
            entity_id: Some(t.id.to_string()),
            summary: format!("{} {summary}", t.number),
            before: None,
            after: Some(data),
        },
    )
    .await?;
    Ok(eid)
}

/// Longest worklog note, in characters.
pub const WORKLOG_NOTE_MAX: usize = 2_000;

/// Records minutes spent (staff only).
pub async fn worklog(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    minutes: i64,
    note: Option<String>,
) -> AppResult<i64> {
    if !is_staff(u.role) {
        return Err(AppError::forbidden());
    }
    if !(1..=1440).contains(&minutes) {
        return Err(AppError::invalid("minutes", "工时应为 1 到 1440 分钟"));
    }
    if let Some(n) = &note {
        crate::domain::text::check_field("工作记录说明", n, true, WORKLOG_NOTE_MAX)
            .map_err(|m| AppError::invalid("note", m))?;
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let t = ctx.store.ticket_for_update(&mut tx, id).await?;
    let wid = ctx
        .store
        .add_worklog(&mut tx, id, u.uid(), &u.username, minutes, note, now_ms)
        .await?;
    let summary = format!("登记工时 {minutes} 分钟");
    record_step(
        ctx,
        &mut tx,
        u,
        &t,
        "worklog",
        &summary,
        json!({"minutes": minutes}),
        true,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(wid)
}

/// One pass of the SLA monitor, as the scheduler runs its two jobs: warnings and
/// breaches (`check_sla_clocks`), then auto-close (`auto_close_tick`). Returns how many
/// warnings and breaches it recorded.
pub async fn sla_tick(ctx: &Ctx) -> AppResult<usize> {
    let notes = check_sla_clocks(ctx).await?;
    auto_close_tick(ctx).await?;
    Ok(notes)
}

/// Warnings at the policy's threshold and breaches, each once per clock (and not while
/// paused), escalated on the timeline to the manager and the supervisor. Returns how many
/// it recorded.
pub async fn check_sla_clocks(ctx: &Ctx) -> AppResult<usize> {
    let mut notes = 0;
    let now = ctx.clock.now();
    let now_ms = now.timestamp_millis();
    for id in ctx.store.tickets_due_for_sla_check(now_ms).await? {
        let t = ctx.store.ticket(id).await?;
        let mut recorded = false;
        let warn = match t.sla_policy_id {
            Some(p) => match ctx.store.policy(p).await {
                Ok(p) => p.warn_percent,
                Err(StoreError::NotFound) => 75,
                Err(e) => return Err(e.into()),
            },
            None => 75,
        };
        let cs = refresh_sla(ctx, id).await?;
        for c in cs.iter().filter(|c| {
            c.stopped_at.is_none()
                && c.status != ClockStatus::Paused
                && c.status != ClockStatus::Waived
        }) {
            let (kind, marker, summary) = if c.breached {
                (
                    "sla_breached",
                    format!("\"{}\"", c.target.as_str()),
                    format!(
                        "{}超时（时限 {}），已升级至项目经理和甲方",
                        c.target.label(),
                        fmt_duration(c.target_seconds.unwrap_or(0))
                    ),
                )
            } else if c.used * 100.0 >= warn as f64 {
                (
                    "sla_warning",
                    format!("\"{}\"", c.target.as_str()),
                    format!(
                        "{}时限已用 {}%，将于 {} 到期",
                        c.target.label(),
                        (c.used * 100.0).round(),
                        c.due_at
                            .map(|d| crate::clock::local_minutes(d.timestamp_millis()))
                            .unwrap_or_default()
                    ),
                )
            } else {
                continue;
            };
            // The check and the record on one transaction: two replicas never both record.
            let mut tx = ctx.store.write_tx().await?;
            if Store::has_ticket_event_in(&mut tx, id, kind, &marker).await? {
                continue;
            }
            let eid = ctx
                .store
                .add_ticket_event(
                    &mut tx,
                    id,
                    now_ms,
                    None,
                    "system:sla",
                    kind,
                    &summary,
                    Some(Value::String(c.target.as_str().into())),
                    false,
                )
                .await?;
            let event = if c.breached {
                "sla.breached"
            } else {
                "sla.warning"
            };
            crate::notify::enqueue_for_ticket(
                ctx,
                &mut tx,
                event,
                &t,
                t.assignee_id,
                &eid.to_string(),
                &summary,
            )
            .await?;
            tx.commit().await?;
            notes += 1;
            recorded = true;
        }
        if recorded {
            // The next look moves on to the due time (or stops after a breach).
            refresh_sla(ctx, id).await?;
        }
    }
    Ok(notes)
}

/// Closes resolved tickets nobody confirmed or rated within the configured days, each
/// with a timeline entry and an audit record. Returns how many it closed.
pub async fn auto_close_tick(ctx: &Ctx) -> AppResult<usize> {
    let now_ms = ctx.clock.now_ms();
    let mut closed = 0;
    let cutoff = now_ms - ctx.config.desk.auto_close_days * 86_400_000;
    for id in ctx.store.resolved_before(cutoff).await? {
        let mut tx = ctx.store.write_tx().await?;
        ctx.store
            .update_ticket_fields(
                &mut tx,
                id,
                &[
                    ("status", Arg::Text(Some("closed".into()))),
                    ("closed_at", Arg::Int(Some(now_ms))),
                ],
                now_ms,
            )
            .await?;
        let summary = format!(
            "解决后 {} 天未确认，自动关闭",
            ctx.config.desk.auto_close_days
        );
        ctx.store
            .add_ticket_event(
                &mut tx,
                id,
                now_ms,
                None,
                "system:desk",
                "auto_closed",
                &summary,
                None,
                false,
            )
            .await?;
        append(
            &mut tx,
            now_ms,
            &Actor::system("desk"),
            NewAuditEvent {
                action: "ticket.auto_close".into(),
                entity_type: "tickets".into(),
                entity_id: Some(id.to_string()),
                summary,
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        closed += 1;
    }
    Ok(closed)
}

/// The API's view of a ticket.
pub async fn ticket_json(ctx: &Ctx, u: &AuthUser, t: &TicketRow, detail: bool) -> AppResult<Value> {
    let mut v = ticket_json_base(t);
    if detail {
        let cs = clocks(ctx, t).await?;
        let links = ctx.store.links(t.id).await?;
        add_detail(&mut v, u, t, &cs, &links);
    }
    Ok(v)
}

fn ticket_json_base(t: &TicketRow) -> Value {
    let rfc = |v: Option<i64>| v.map(crate::clock::rfc3339);
    let v = json!({
        "id": t.id, "number": t.number, "kind": t.kind, "change_type": t.change_type, "title": t.title,
        "description": t.description, "system_id": t.system_id, "system_name": t.system_name, "asset_id": t.asset_id,
        "asset_name": t.asset_name, "category": t.category, "source": t.source, "requester_id": t.requester_id,
        "requester_name": t.requester_name, "requester_contact": t.requester_contact, "reported_at": crate::clock::rfc3339(t.reported_at),
        "impact": t.impact, "urgency": t.urgency, "priority": t.priority, "assignee_id": t.assignee_id, "assignee_name": t.assignee_name,
        "status": t.status, "pending_reason": t.pending_reason, "first_response_at": rfc(t.first_response_at), "onsite_at": rfc(t.onsite_at),
        "resolved_at": rfc(t.resolved_at), "closed_at": rfc(t.closed_at), "cancel_reason": t.cancel_reason, "reopen_count": t.reopen_count,
        "resolution": t.resolution, "satisfaction": t.satisfaction, "satisfaction_comment": t.satisfaction_comment,
        "sla": {"response_due_at": rfc(t.response_due_at), "onsite_due_at": rfc(t.onsite_due_at), "resolve_due_at": rfc(t.resolve_due_at), "breached": t.sla_breached != 0},
        "created_at": crate::clock::rfc3339(t.created_at), "updated_at": crate::clock::rfc3339(t.updated_at),
    });
    v
}

fn add_detail(
    v: &mut Value,
    u: &AuthUser,
    t: &TicketRow,
    cs: &[ClockState],
    links: &[(i64, String, String)],
) {
    v["sla"]["clocks"] = json!(cs);
    v["fault_report"] = t
        .fault_report
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .unwrap_or(Value::Null);
    v["links"] = json!(
        links
            .iter()
            .map(|(id, kind, number)| json!({"ticket_id": id, "kind": kind, "number": number}))
            .collect::<Vec<_>>()
    );
    v["actions"] = json!(allowed_actions(u, t));
}

/// Allowed attachment types: extension, MIME type, and the leading bytes the content must
/// have (`None`: text, which must decode as UTF-8 or GBK and contain no NUL).
const ATTACHMENT_TYPES: &[(&str, &str, Option<&[u8]>)] = &[
    ("png", "image/png", Some(b"\x89PNG")),
    ("jpg", "image/jpeg", Some(b"\xff\xd8\xff")),
    ("jpeg", "image/jpeg", Some(b"\xff\xd8\xff")),
    ("gif", "image/gif", Some(b"GIF8")),
    ("pdf", "application/pdf", Some(b"%PDF")),
    ("zip", "application/zip", Some(b"PK\x03\x04")),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some(b"PK\x03\x04"),
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some(b"PK\x03\x04"),
    ),
    ("doc", "application/msword", Some(b"\xd0\xcf\x11\xe0")),
    ("xls", "application/vnd.ms-excel", Some(b"\xd0\xcf\x11\xe0")),
    ("txt", "text/plain; charset=utf-8", None),
    ("log", "text/plain; charset=utf-8", None),
    ("csv", "text/csv; charset=utf-8", None),
];

/// Checks an upload's name, size and content; answers the stored name and MIME type.
pub fn check_attachment(
    file_name: &str,
    bytes: &[u8],
    max: usize,
) -> AppResult<(String, &'static str)> {
    let name: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("file", "文件名不能为空"));
    }
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "上传的文件为空"));
    }
    if bytes.len() > max {
        return Err(AppError::PayloadTooLarge(format!(
            "附件不能超过 {} MB",
            max / 1024 / 1024
        )));
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let Some((_, mime, magic)) = ATTACHMENT_TYPES.iter().find(|(e, ..)| *e == ext) else {
        let list: Vec<&str> = ATTACHMENT_TYPES.iter().map(|(e, ..)| *e).collect();
        return Err(AppError::UnsupportedMediaType(format!(
            "不支持的附件类型“.{ext}”，可上传：{}",
            list.join("、")
        )));
    };
    let ok = match magic {
        Some(m) => bytes.starts_with(m),
        None => {
            !bytes.contains(&0)
                && (std::str::from_utf8(bytes).is_ok() || !encoding_rs::GBK.decode(bytes).2)
        }
    };
    if !ok {
        return Err(AppError::UnsupportedMediaType(format!(
            "文件内容与扩展名 .{ext} 不符，请检查文件"
        )));
    }
    Ok((name, mime))
}

/// Stores an attachment under the data directory and records it on the ticket.
pub async fn attach(
    ctx: &Ctx,
    u: &AuthUser,
    ticket_id: i64,
    file_name: &str,
    bytes: &[u8],
    internal: bool,
) -> AppResult<i64> {
    let t = ctx.store.ticket(ticket_id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    if matches!(u.role, Role::Auditor | Role::Supervisor) || (u.role == Role::Requester && internal)
    {
        return Err(AppError::forbidden());
    }
    if t.status == "canceled" {
        return Err(AppError::Conflict("已取消的工单不能再上传附件".into()));
    }
    let (name, mime) = check_attachment(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let rel = format!(
        "attachments/{ticket_id}/{}-{}.bin",
        ctx.clock.now_ms(),
        &digest[..16]
    );
    let path = ctx.config.data_dir.join(&rel);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing {}: {e}", path.display())))?;
    let now_ms = ctx.clock.now_ms();
    let result: AppResult<i64> = async {
        let mut tx = ctx.store.write_tx().await?;
        let id = ctx
            .store
            .insert_attachment(
                &mut tx,
                ticket_id,
                &name,
                mime,
                bytes.len() as i64,
                &digest,
                &rel,
                internal,
                (u.id, &u.username),
                now_ms,
            )
            .await?;
        let summary = format!("上传附件：{name}（{} KB）", bytes.len().div_ceil(1024));
        let data = json!({"attachment_id": id, "sha256": digest, "size": bytes.len()});
        record_step(
            ctx,
            &mut tx,
            u,
            &t,
            "attachment",
            &summary,
            data,
            internal,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

/// Links two tickets (`related`, `duplicate`, `caused_by`, `parent`, `child`); the other
/// ticket gets the inverse link so both timelines show it.
pub async fn link(ctx: &Ctx, u: &AuthUser, id: i64, other: i64, kind: &str) -> AppResult<()> {
    if !is_staff(u.role) {
        return Err(AppError::forbidden());
    }
    let kind = tk::choice(tk::LINK_KINDS, kind).ok_or_else(|| {
        AppError::invalid(
            "kind",
            "kind 可选：related、duplicate、caused_by、parent、child",
        )
    })?;
    if id == other {
        return Err(AppError::invalid("ticket_id", "不能关联工单自身"));
    }
    let mut tx = ctx.store.write_tx().await?;
    let a = ctx.store.ticket_for_update(&mut tx, id).await?;
    let b = match ctx.store.ticket_tx(&mut tx, other).await {
        Ok(b) => b,
        Err(crate::store::StoreError::NotFound) => {
            return Err(AppError::invalid(
                "ticket_id",
                format!("工单 #{other} 不存在"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let inverse = match kind {
        "parent" => "child",
        "child" => "parent",
        "caused_by" => "causes",
        k => k,
    };
    let now_ms = ctx.clock.now_ms();
    ctx.store.add_link(&mut tx, id, other, kind, now_ms).await?;
    ctx.store
        .add_link(&mut tx, other, id, inverse, now_ms)
        .await?;
    let summary = format!(
        "关联工单 {}（{}）",
        b.number,
        tk::label(tk::LINK_KINDS, kind)
    );
    ctx.store
        .add_ticket_event(
            &mut tx,
            id,
            now_ms,
            u.uid(),
            &u.username,
            "linked",
            &summary,
            Some(json!({"ticket_id": other, "kind": kind})),
            false,
        )
        .await?;
    ctx.store
        .add_ticket_event(
            &mut tx,
            other,
            now_ms,
            u.uid(),
            &u.username,
            "linked",
            &format!("被工单 {} 关联", a.number),
            Some(json!({"ticket_id": id, "kind": inverse})),
            false,
        )
        .await?;
    append(
        &mut tx,
        now_ms,
        &u.actor(),
        NewAuditEvent {
            action: "link".into(),
            entity_type: "tickets".into(),
            entity_id: Some(id.to_string()),
            summary: format!("{} {summary}", a.number),
            before: None,
            after: Some(json!({"ticket_id": other, "kind": kind})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a day of a working-hours calendar as holiday or make-up working day, or back to
/// the weekday rule (`working` = None). Audited.
pub async fn set_calendar_day(
    ctx: &Ctx,
    u: &AuthUser,
    id: i64,
    date: &str,
    working: Option<bool>,
    reason: &str,
) -> AppResult<()> {
    if !u.role.can(Perm::WriteInventory) {
        return Err(AppError::forbidden());
    }
    let row = ctx.store.calendar_row(id).await?;
    if row.kind == "always" {
        return Err(AppError::Conflict("7×24 日历没有节假日".into()));
    }
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "日期应为 YYYY-MM-DD"))?;
    let reason = reason.trim().to_string();
    if working.is_some() && (reason.is_empty() || reason.chars().count() > 100) {
        return Err(AppError::invalid(
            "reason",
            "请填写原因（不超过 100 个字符），如“国庆节”或“国庆节调休上班”",
        ));
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store
        .set_calendar_day(&mut tx, id, day, working, &reason)
        .await?;
    append(
        &mut tx,
        now,
        &u.actor(),
        NewAuditEvent {
            action: "update".into(),
            entity_type: "calendars".into(),
            entity_id: Some(id.to_string()),
            summary: format!(
                "日历“{}” {day}：{}",
                row.name,
                match working {
                    Some(true) => format!("上班（{reason}）"),
                    Some(false) => format!("放假（{reason}）"),
                    None => "恢复按星期".into(),
                }
            ),
            before: None,
            after: Some(json!({"date": date, "working": working, "reason": reason})),
        },
    )
    .await?;
    tx.commit().await?;
    ctx.store.forget_calendars();
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::store::desk::{PolicyRule, PolicySet};

    fn start(at: DateTime<Utc>, minutes: i64) -> Vec<ClockEvent> {
        vec![ClockEvent {
            at,
            kind: ClockEventKind::Start,
            target_seconds: Some(minutes * 60),
            reason: "报障".into(),
        }]
    }

    fn resolve_clock(reported: DateTime<Utc>, minutes: i64, now: DateTime<Utc>) -> Vec<ClockState> {
        let cal = Calendar::always();
        vec![replay(
            ClockTarget::Resolve,
            &start(reported, minutes),
            &cal,
            now,
        )]
    }

    #[test]
    fn a_fresh_clock_is_next_looked_at_when_its_warning_falls_due() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let cs = resolve_clock(t0, 100, t0);
        let f = sla_fields(&cs, &Calendar::always(), 75, true, t0, &[]);
        assert_eq!(
            f.resolve_due_at,
            Some((t0 + Duration::minutes(100)).timestamp_millis())
        );
        assert_eq!(
            f.next_check_at,
            Some((t0 + Duration::minutes(75)).timestamp_millis())
        );
        assert!(!f.breached);
    }

    #[test]
    fn a_warning_or_breach_not_yet_on_the_timeline_is_due_now_and_once_recorded_is_not() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let cal = Calendar::always();
        // Past the warning (80 of 100 minutes): due now until the warning is recorded, then
        // at the due time.
        let now = t0 + Duration::minutes(80);
        let cs = resolve_clock(t0, 100, now);
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, now, &[]).next_check_at,
            Some(now.timestamp_millis())
        );
        let warned = [("sla_warning".to_string(), "\"resolve\"".to_string())];
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, now, &warned).next_check_at,
            Some((t0 + Duration::minutes(100)).timestamp_millis())
        );
        // Breached: due now until the breach is recorded, then never again.
        let late = t0 + Duration::minutes(130);
        let cs = resolve_clock(t0, 100, late);
        let f = sla_fields(&cs, &cal, 75, true, late, &warned);
        assert!(f.breached);
        assert_eq!(f.next_check_at, Some(late.timestamp_millis()));
        let both = [
            warned[0].clone(),
            ("sla_breached".to_string(), "\"resolve\"".to_string()),
        ];
        assert_eq!(
            sla_fields(&cs, &cal, 75, true, late, &both).next_check_at,
            None
        );
        // A closed ticket is never looked at again.
        assert_eq!(
            sla_fields(&cs, &cal, 75, false, late, &[]).next_check_at,
            None
        );
    }

    fn rule(id: i64, priority: &str, system_id: Option<i64>) -> PolicyRule {
        PolicyRule {
            id,
            kind: "incident".into(),
            priority: priority.into(),
            system_id,
            calendar_id: 1,
            response_minutes: Some(30),
            onsite_minutes: None,
            resolve_minutes: Some(240),
            warn_percent: 75,
        }
    }

    #[test]
    fn a_systems_own_policy_wins_over_the_general_one_and_the_lowest_id_breaks_ties() {
        let set = PolicySet {
            rules: vec![
                rule(1, "P2", None),
                rule(2, "P2", Some(7)),
                rule(3, "P2", Some(7)),
                rule(4, "P1", None),
            ],
            always_calendar_id: Some(1),
        };
        assert_eq!(
            set.matching("incident", "P2", Some(7)).map(|p| p.id),
            Some(2)
        );
        assert_eq!(
            set.matching("incident", "P2", Some(8)).map(|p| p.id),
            Some(1)
        );
        assert_eq!(set.matching("incident", "P2", None).map(|p| p.id), Some(1));
        assert_eq!(
            set.matching("incident", "P1", Some(7)).map(|p| p.id),
            Some(4)
        );
        assert_eq!(set.matching("request", "P2", Some(7)).map(|p| p.id), None);
    }
}
