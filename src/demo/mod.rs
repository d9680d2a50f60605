//! The demo data set: the seed contract's machine room, its itemized equipment tables,
//! the declared subtotals, the 27 systems with their user counts and data volumes, and
//! the staffing slots per system (the seed names no people) — plus, with `demo_days`, a
//! simulated history (`history`): placeholder staff in the slots, tickets, monitors and
//! their probe history, inspections, work records and backups, each row marked as demo
//! data (`demo_items`).

mod history;
mod inspections;
mod monitors;
pub mod people;
mod records;
pub mod remove;
mod tickets;

pub use history::{HistorySummary, MAX_DAYS, load_history};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::domain::inventory::{ASSETS, ASSIGNMENTS, SITES, SYSTEMS};
use crate::store::Actor;

const CONTRACT: &str = include_str!("../../demo/contract.json");

#[derive(Deserialize)]
struct Contract {
    site: Map<String, Value>,
    assets: Vec<Map<String, Value>>,
    declared: Vec<Declared>,
    systems: Vec<DemoSystem>,
}

#[derive(Deserialize)]
struct Declared {
    scope: String,
    label: String,
    declared: i64,
    source: String,
}

#[derive(Deserialize)]
struct DemoSystem {
    code: String,
    name: String,
    users_count: i64,
    data_volume_gb: f64,
    service_mode: String,
    description: String,
    /// The OA system: two O&M engineers and two DBAs, on site and remote.
    oa: bool,
}

fn invalid(what: &str, e: Vec<crate::error::FieldError>) -> anyhow::Error {
    anyhow::anyhow!("demo data {what} is invalid: {e:?}")
}

/// Loads the contract when the inventory is empty; does nothing otherwise.
pub async fn load_if_empty(ctx: &Ctx) -> anyhow::Result<bool> {
    let (_, n) = ctx
        .store
        .list_entities(&SYSTEMS, &Default::default())
        .await?;
    let (_, m) = ctx.store.list_entities(&SITES, &Default::default()).await?;
    if n > 0 || m > 0 {
        return Ok(false);
    }
    let c: Contract = serde_json::from_str(CONTRACT)?;
    let actor = Actor::system("demo");
    let now = ctx.clock.now_ms();
    let site_vals = SITES
        .validate_json(&c.site, false, &[])
        .map_err(|e| invalid("site", e))?;
    let site = ctx
        .store
        .create_entity(&SITES, site_vals, &actor, now)
        .await?;
    let site_id = site.get("id").and_then(Value::as_i64);
    for a in &c.assets {
        let mut a = a.clone();
        a.insert("site_id".into(), json!(site_id));
        let vals = ASSETS
            .validate_json(&a, false, &[])
            .map_err(|e| invalid("asset", e))?;
        ctx.store.create_entity(&ASSETS, vals, &actor, now).await?;
    }
    for d in &c.declared {
        ctx.store
            .add_declared_count(
                site_id, &d.scope, &d.label, d.declared, &d.source, &actor, now,
            )
            .await?;
    }
    for s in &c.systems {
        let obj = json!({
            "code": s.code, "name": s.name, "users_count": s.users_count, "data_volume_gb": s.data_volume_gb,
            "service_mode": s.service_mode, "description": s.description,
        });
        let Value::Object(obj) = obj else { continue };
        let vals = SYSTEMS
            .validate_json(&obj, false, &[])
            .map_err(|e| invalid("system", e))?;
        let sys = ctx.store.create_entity(&SYSTEMS, vals, &actor, now).await?;
        let sid = sys.get("id").and_then(Value::as_i64);
        let slots: &[(&str, &str)] = if s.oa {
            &[
                ("om_engineer", "on_site"),
                ("om_engineer", "remote"),
                ("dba", "on_site"),
                ("dba", "remote"),
            ]
        } else {
            &[("om_engineer", "remote"), ("dba", "remote")]
        };
        for (duty, mode) in slots {
            let obj = json!({"system_id": sid, "duty": duty, "level": "中级", "work_mode": mode});
            let Value::Object(obj) = obj else { continue };
            let vals = ASSIGNMENTS
                .validate_json(&obj, false, &[])
                .map_err(|e| invalid("assignment", e))?;
            ctx.store
                .create_entity(&ASSIGNMENTS, vals, &actor, now)
                .await?;
        }
    }
    tracing::info!(
        systems = c.systems.len(),
        assets = c.assets.len(),
        "demo contract loaded"
    );
    // The project and purchaser as the seed names them, for the documents' covers; the
    // contractor is set once the contract is awarded (settings `project.contractor`).
    ctx.store
        .set_setting(
            "project.name",
            "省生态环境厅政务信息化运维运营（2024年）项目",
            now,
        )
        .await?;
    ctx.store
        .set_setting("project.purchaser", "广东省生态环境厅", now)
        .await?;
    // The shipped inspection templates (cn-ops.md §2–3 and the contract), editable.
    crate::inspect::ensure_builtin_templates(ctx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The 22 operations service lines of 4.2 with the systems they serve.
    crate::ops::load_demo_lines(ctx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The contract record (parties, periods, budget, milestones, quality targets) and the
    // deliverables register the seed names (demo/contract_record.json, demo/deliverables.json).
    crate::contract::load_demo(ctx).await?;
    // One backup policy per data set the seed names (demo/backup_policies.json).
    crate::backup::policies::load_demo(ctx).await?;
    if ctx.config.demo_days > 0 {
        load_history(ctx, ctx.config.demo_days).await?;
    }
    Ok(true)
}
