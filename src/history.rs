//! Readable history: audit records and ticket timelines with people, records and actions
//! named in Chinese. Ids are resolved to names here, in one query per kind of id for a
//! whole page; the phrases come from the pure catalogue (`domain::history`).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::Ctx;
use crate::clock::local_minutes;
use crate::domain::history::{Step, action_label, object_label, sentence};
use crate::error::AppResult;
use crate::store::audit::AuditRow;
use crate::store::desk::TicketEventRow;

/// Names for the ids a page of records mentions.
#[derive(Default)]
pub struct Names {
    users: HashMap<i64, String>,
    logins: HashMap<String, String>,
    tickets: HashMap<i64, String>,
}

impl Names {
    /// Resolves every user and ticket id (and actor login) the records mention.
    pub async fn for_audit(ctx: &Ctx, rows: &[AuditRow]) -> AppResult<Names> {
        let mut users = BTreeSet::new();
        let mut logins = BTreeSet::new();
        let mut tickets = BTreeSet::new();
        for r in rows {
            match r.actor_id {
                Some(id) => {
                    users.insert(id);
                }
                None => {
                    logins.insert(r.actor_name.clone());
                }
            }
            let id = r.entity_id.as_deref().and_then(|s| s.parse::<i64>().ok());
            match (r.entity_type.as_str(), id) {
                ("tickets", Some(id)) => {
                    tickets.insert(id);
                }
                ("users", Some(id)) => {
                    users.insert(id);
                }
                _ => {}
            }
            if let Some(a) = json_of(&r.after_json).and_then(|v| v["assignee_id"].as_i64()) {
                users.insert(a);
            }
        }
        let s = &ctx.store;
        Ok(Names {
            users: s.user_names(&users.into_iter().collect::<Vec<_>>()).await?,
            logins: s
                .user_names_by_login(&logins.into_iter().collect::<Vec<_>>())
                .await?,
            tickets: s
                .ticket_numbers(&tickets.into_iter().collect::<Vec<_>>())
                .await?,
        })
    }

    fn user(&self, id: i64) -> String {
        self.users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("已删除的用户（#{id}）"))
    }

    fn actor(&self, id: Option<i64>, login: &str) -> String {
        match id {
            Some(id) => self.users.get(&id).cloned().unwrap_or_else(|| login.into()),
            None => match login.strip_prefix("system:") {
                Some(_) => "系统".into(),
                None => self
                    .logins
                    .get(login)
                    .cloned()
                    .unwrap_or_else(|| login.into()),
            },
        }
    }
}

fn json_of(s: &Option<String>) -> Option<Value> {
    s.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

/// The record's name as people know it: a ticket's number, an account's login, a record's
/// name or title; its id when it has none.
fn object_name(r: &AuditRow, names: &Names) -> Option<String> {
    let id = r.entity_id.as_deref()?;
    let num = id.parse::<i64>().ok();
    if r.entity_type == "tickets"
        && let Some(n) = num.and_then(|i| names.tickets.get(&i))
    {
        return Some(n.clone());
    }
    for v in [json_of(&r.after_json), json_of(&r.before_json)]
        .into_iter()
        .flatten()
    {
        for k in ["username", "number", "name", "title"] {
            if let Some(s) = v[k].as_str().filter(|s| !s.is_empty()) {
                return Some(s.to_string());
            }
        }
    }
    if r.entity_type == "users"
        && let Some(n) = num.and_then(|i| names.users.get(&i))
    {
        return Some(n.clone());
    }
    if r.entity_type == "session" {
        return None;
    }
    Some(format!("#{id}"))
}

/// One audit record as a page and an export show it: the sentence, the action and record
/// type in Chinese, the actor's name, and the raw fields kept for the detail.
pub fn audit_line(r: &AuditRow, names: &Names) -> Value {
    let actor = names.actor(r.actor_id, &r.actor_name);
    let object = object_name(r, names);
    let target = if r.action == "ticket.assign" {
        json_of(&r.after_json)
            .and_then(|v| v["assignee_id"].as_i64())
            .map(|a| names.user(a))
    } else {
        None
    };
    let text = sentence(&Step {
        actor: &actor,
        action: &r.action,
        entity_type: &r.entity_type,
        object: object.as_deref(),
        target: target.as_deref(),
    });
    let mut v = r.to_json();
    v["at_local"] = json!(local_minutes(r.at));
    v["actor_display"] = json!(actor);
    v["text"] = json!(text);
    v["action_label"] = json!(action_label(&r.action).unwrap_or(&r.action));
    v["object_label"] = json!(object_label(&r.entity_type).unwrap_or(&r.entity_type));
    v["object_name"] = json!(object);
    v
}

/// A page of audit records, readable.
pub async fn audit_lines(ctx: &Ctx, rows: &[AuditRow]) -> AppResult<Vec<Value>> {
    let names = Names::for_audit(ctx, rows).await?;
    Ok(rows.iter().map(|r| audit_line(r, &names)).collect())
}

/// A ticket's timeline with the people by name; the raw step code stays in `kind`.
pub async fn timeline(ctx: &Ctx, events: &[TicketEventRow]) -> AppResult<Vec<Value>> {
    let ids: Vec<i64> = events
        .iter()
        .filter_map(|e| e.actor_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let logins: Vec<String> = events
        .iter()
        .filter(|e| e.actor_id.is_none() && !e.actor_name.starts_with("system:"))
        .map(|e| e.actor_name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = Names {
        users: ctx.store.user_names(&ids).await?,
        logins: ctx.store.user_names_by_login(&logins).await?,
        tickets: HashMap::new(),
    };
    Ok(events
        .iter()
        .map(|e| {
            json!({"at": local_minutes(e.at), "actor": names.actor(e.actor_id, &e.actor_name),
                   "summary": e.summary, "kind": e.kind,
                   "kind_label": action_label(&e.kind).or_else(|| action_label(&format!("ticket.{}", e.kind))).unwrap_or(&e.kind)})
        })
        .collect())
}

/// The most records one export holds (newest first); narrow the filters for older ones.
pub const EXPORT_MAX: i64 = 50_000;

/// The audit records matching `f` as a CSV file (UTF-8 with a BOM, for Excel), each with
/// its readable sentence and the raw codes beside it.
pub async fn audit_csv(
    ctx: &Ctx,
    u: &crate::accounts::AuthUser,
    f: &crate::store::audit::AuditFilter,
) -> AppResult<Vec<u8>> {
    let (rows, _) = crate::accounts::audit::list(ctx, u, f, EXPORT_MAX, 0).await?;
    let lines = audit_lines(ctx, &rows).await?;
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let head = [
        "序号",
        "时间",
        "操作人",
        "账号",
        "来源IP",
        "操作",
        "对象",
        "经过",
        "摘要",
        "操作代码",
        "对象代码",
    ];
    let csv_err =
        |e: csv::Error| crate::error::AppError::Internal(anyhow::anyhow!("audit csv: {e}"));
    w.write_record(head).map_err(csv_err)?;
    for v in &lines {
        let s = |k: &str| match &v[k] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let object = match v["object_name"].as_str() {
            Some(n) => format!("{} {n}", s("object_label")),
            None => s("object_label"),
        };
        let code_obj = match v["entity_id"].as_str() {
            Some(id) => format!("{} #{id}", s("entity_type")),
            None => s("entity_type"),
        };
        w.write_record([
            s("seq"),
            s("at_local"),
            s("actor_display"),
            s("actor"),
            s("ip"),
            s("action_label"),
            object,
            s("text"),
            s("summary"),
            s("action"),
            code_obj,
        ])
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("audit csv: {e}")))
}
