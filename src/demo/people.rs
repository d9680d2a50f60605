//! The demo team: placeholder staff (示例工程师01 …) with accounts of their roles, filling
//! the contract's staffing slots, and the people who report faults.

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory::{ASSIGNMENTS, STAFF};
use crate::domain::roles::Role;
use crate::store::Actor;

/// The password of every demo account (the README says so; the demo is not for production).
pub const DEMO_PASSWORD: &str = "Demo#2024yunwei";

/// The accounts the history acts as.
pub struct People {
    pub manager: AuthUser,
    pub supervisor: AuthUser,
    pub engineers: Vec<AuthUser>,
    pub dbas: Vec<AuthUser>,
    pub operators: Vec<AuthUser>,
    pub requesters: Vec<AuthUser>,
    /// Per system id: its O&M engineer and its DBA.
    pub by_system: std::collections::HashMap<i64, (i64, i64)>,
}

impl People {
    pub fn user(&self, id: i64) -> Option<&AuthUser> {
        self.engineers
            .iter()
            .chain(&self.dbas)
            .chain(&self.operators)
            .chain([&self.manager])
            .find(|u| u.id == id)
    }
}

fn auth(id: i64, username: &str, display: &str, role: Role) -> AuthUser {
    AuthUser {
        id,
        username: username.to_string(),
        display_name: display.to_string(),
        role,
        must_change_password: false,
        password_expired: false,
        session_id: None,
        ip: None,
    }
}

fn invalid(what: &str, e: Vec<crate::error::FieldError>) -> anyhow::Error {
    anyhow::anyhow!("demo {what} is invalid: {e:?}")
}

struct Member<'a> {
    username: String,
    name: String,
    role: Role,
    /// `None`: an account without a staff record (purchaser, supervisor, requesters).
    team_role: Option<&'a str>,
    position: &'a str,
    level: &'a str,
    work_mode: &'a str,
}

/// Members `{username}01` to `{username}{n}`, named `{name}01` to `{name}{n}`, of `role`.
/// With a duty (team role, position, and how many of them are on site: the first ones;
/// the others work remotely) they are staff of 中级 level; without, accounts only.
fn numbered<'a>(
    (username, name, n): (&str, &str, u32),
    role: Role,
    duty: Option<(&'a str, &'a str, u32)>,
) -> Vec<Member<'a>> {
    (1..=n)
        .map(|i| {
            let (team_role, position, level, work_mode) = match duty {
                Some((team_role, position, on_site)) => (
                    Some(team_role),
                    position,
                    "中级",
                    if i <= on_site { "on_site" } else { "remote" },
                ),
                None => (None, "", "", ""),
            };
            Member {
                username: format!("{username}{i:02}"),
                name: format!("{name}{i:02}"),
                role,
                team_role,
                position,
                level,
                work_mode,
            }
        })
        .collect()
}

/// Creates the team (as of `now`, the history's first day) and the accounts, and fills
/// every staffing slot. The accounts' passwords are set at `load` (the real "now"), so the
/// password expiry does not ask for a change at the first demo login.
pub async fn create(ctx: &Ctx, now: i64, load: i64) -> anyhow::Result<People> {
    let actor = Actor::system("demo");
    let hash = crate::accounts::hash_password(DEMO_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut members = vec![Member {
        username: "demo_pm".into(),
        name: "示例项目经理".into(),
        role: Role::Manager,
        team_role: Some("project_manager"),
        position: "项目经理",
        level: "高级",
        work_mode: "on_site",
    }];
    members.extend(numbered(
        ("demo_eng", "示例工程师", 14),
        Role::Engineer,
        Some(("om_engineer", "运维工程师", 2)),
    ));
    members.extend(numbered(
        ("demo_dba", "示例数据库工程师", 8),
        Role::Engineer,
        Some(("dba", "数据库工程师", 1)),
    ));
    members.extend(numbered(
        ("demo_ops", "示例运营人员", 4),
        Role::Operator,
        Some(("operations", "运营人员", 4)),
    ));
    for (u, n, r) in [
        ("demo_jiafang", "示例甲方联系人", Role::Supervisor),
        ("demo_jianli", "示例监理", Role::Auditor),
    ] {
        members.push(Member {
            username: u.into(),
            name: n.into(),
            role: r,
            team_role: None,
            position: "",
            level: "",
            work_mode: "",
        });
    }
    members.extend(numbered(
        ("demo_user", "示例报障用户", 8),
        Role::Requester,
        None,
    ));
    let mut engineers = Vec::new();
    let mut dbas = Vec::new();
    let mut operators = Vec::new();
    let mut requesters = Vec::new();
    let mut manager = None;
    let mut supervisor = None;
    let mut om_staff = Vec::new();
    let mut dba_staff = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let phone = format!("1380000{:04}", i + 1);
        let row = ctx
            .store
            .create_user(
                &m.username,
                &m.name,
                m.role.as_str(),
                Some(phone.clone()),
                None,
                &hash,
                false,
                &actor,
                load,
            )
            .await?;
        let u = auth(row.id, &m.username, &m.name, m.role);
        if let Some(team_role) = m.team_role {
            let obj = json!({
                "name": m.name, "position": m.position, "level": m.level, "phone": phone,
                "work_mode": m.work_mode, "user_id": row.id, "team_role": team_role,
                "key_staff": if team_role == "project_manager" { "yes" } else { "no" },
                "years_experience": 3 + (i % 8) as i64,
                "pm_years": if team_role == "project_manager" { 6 } else { 0 },
                "notes": "演示数据：占位人员，不是真实人员",
            });
            let Value::Object(obj) = obj else { continue };
            let vals = STAFF
                .validate_json(&obj, false, &[])
                .map_err(|e| invalid("staff", e))?;
            let s = ctx.store.create_entity(&STAFF, vals, &actor, now).await?;
            let sid = s.get("id").and_then(Value::as_i64).unwrap_or_default();
            match team_role {
                "om_engineer" => om_staff.push((sid, row.id)),
                "dba" => dba_staff.push((sid, row.id)),
                _ => {}
            }
        }
        match m.role {
            Role::Manager => manager = Some(u),
            Role::Supervisor => supervisor = Some(u),
            Role::Engineer if m.team_role == Some("dba") => dbas.push(u),
            Role::Engineer => engineers.push(u),
            Role::Operator => operators.push(u),
            Role::Requester => requesters.push(u),
            _ => {}
        }
    }
    // Fill the slots in order: each engineer takes two systems' O&M slots, each DBA a
    // few systems' database slots.
    let mut by_system: std::collections::HashMap<i64, (i64, i64)> = Default::default();
    let (mut oi, mut di) = (0usize, 0usize);
    for (aid, system_id, duty, _) in ctx.store.demo_slots().await? {
        let (sid, uid) = if duty == "dba" {
            let s = dba_staff[di % dba_staff.len().max(1)];
            di += 1;
            s
        } else {
            let s = om_staff[(oi / 2) % om_staff.len().max(1)];
            oi += 1;
            s
        };
        let e = by_system.entry(system_id).or_insert((0, 0));
        if duty == "dba" {
            if e.1 == 0 {
                e.1 = uid;
            }
        } else if e.0 == 0 {
            e.0 = uid;
        }
        let Value::Object(obj) = json!({"staff_id": sid}) else {
            continue;
        };
        let vals = ASSIGNMENTS
            .validate_json(&obj, true, &[])
            .map_err(|e| invalid("assignment", e))?;
        ctx.store
            .update_entity(&ASSIGNMENTS, aid, vals, &actor, now)
            .await?;
    }
    let manager = manager.ok_or_else(|| anyhow::anyhow!("demo manager missing"))?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("demo supervisor missing"))?;
    Ok(People {
        manager,
        supervisor,
        engineers,
        dbas,
        operators,
        requesters,
        by_system,
    })
}
