//! The demo's other records: backup runs of every policy (daily, a few failed or missed),
//! a restore drill or two, and the work records of the operations service lines.

use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::backup::{RunStatus, RunValues};
use crate::domain::demo::Rng;
use crate::store::audit::NewAuditEvent;
use crate::store::backup_runs::NewRun;

use super::people::People;
use super::tickets::{DAY, set_clock};

const MIN: i64 = 60_000;

/// One run per policy and day at about 02:00 Beijing, in one transaction: 2% failed and
/// 2% missed (no run at all), as the jobs would have reported them.
pub async fn backup_runs(sim: &Ctx, rng: &Rng, start: i64, now: i64) -> anyhow::Result<usize> {
    let mut r = rng.fork(4);
    let policies = sim.store.demo_policies().await?;
    let mut tx = sim.store.write_tx().await?;
    let mut n = 0;
    let mut first = None;
    let mut day = start;
    while day < now {
        for (pid, _) in &policies {
            let x = r.below(100);
            let at = day + 2 * 60 * MIN + r.range(0, 40) * MIN;
            if x < 2 || at >= now {
                continue;
            }
            let failed = x < 4;
            let secs = r.range(120, 3600);
            let v = RunValues {
                size_bytes: (!failed).then(|| r.range(2_000, 80_000) * 1_048_576),
                duration_seconds: Some(secs as f64),
                checksum: None,
                location: Some(format!("/backup/demo/{pid}/{}", day / DAY)),
                log_tail: failed.then(|| "ORA-19502: write error on file（演示数据）".to_string()),
            };
            let run = NewRun {
                policy_id: *pid,
                status: if failed {
                    RunStatus::Fail.as_str()
                } else {
                    RunStatus::Success.as_str()
                },
                source: "report",
                started_at: at,
                finished_at: Some((at + secs * 1000).min(now)),
                values: &v,
                note: None,
                created_by: None,
            };
            let id = sim.store.insert_backup_run(&mut tx, &run, at).await?;
            first.get_or_insert(id);
            n += 1;
        }
        day += DAY;
    }
    if let Some(id) = first {
        NewAuditEvent::of(
            "create",
            "backup_runs",
            id,
            format!("演示数据：生成备份记录 {n} 条"),
        )
        .write(&mut tx, now, &AuthUser::system("demo").actor())
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Two restore drills through the drills service: one passed, one partial.
pub async fn drills(sim: &Ctx, people: &People, start: i64, now: i64) -> anyhow::Result<usize> {
    let policies = sim.store.demo_policies().await?;
    let mut n = 0;
    for (k, (offset, result)) in [(20, "passed"), (60, "partial")].iter().enumerate() {
        let at = start + offset * DAY + 10 * 60 * MIN;
        let Some((pid, set)) = policies.get(k * 7) else {
            continue;
        };
        if at >= now {
            continue;
        }
        set_clock(sim, at + 3 * 60 * MIN);
        let c = serde_json::from_value(json!({
            "policy_id": pid,
            "drilled_at": crate::clock::rfc3339(at),
            "scope": format!("{set}（全量）"),
            "target": "演练环境数据库服务器",
            "duration_seconds": 5400,
            "data_point": crate::clock::rfc3339(at - 8 * 60 * MIN),
            "result": result,
            "verifier": "示例项目经理",
            "note": "演示数据：按季度恢复演练计划执行",
        }))?;
        crate::backup::drills::create(sim, &people.manager, c)
            .await
            .map_err(|e| anyhow::anyhow!("demo drill: {e}"))?;
        n += 1;
    }
    Ok(n)
}

const SUPPORT: &[(&str, &str)] = &[
    ("咨询系统操作方法", "已电话指导用户完成操作。"),
    (
        "反映数据统计口径不一致",
        "核对统计口径后向用户说明差异原因。",
    ),
    ("申请开通查询权限", "按流程审批后开通权限。"),
    ("咨询数据上报截止时间", "告知本月上报截止时间并发送通知。"),
    ("反映页面加载缓慢", "清理浏览器缓存后恢复正常。"),
];

/// Support records of the service lines on working days, through the operations service.
pub async fn work_records(
    sim: &Ctx,
    rng: &Rng,
    people: &People,
    start: i64,
    now: i64,
) -> anyhow::Result<usize> {
    let mut r = rng.fork(5);
    let lines = sim.store.demo_lines().await?;
    if lines.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let mut day = start;
    while day < now {
        let count = r.range(0, 3);
        for _ in 0..count {
            let (lid, _) = *r.pick(&lines);
            let (q, a) = *r.pick(SUPPORT);
            let at = day + r.range(9 * 60, 17 * 60) * MIN;
            if at >= now {
                continue;
            }
            set_clock(sim, at + 30 * MIN);
            let who = r.below(people.requesters.len().max(1) as u64) + 1;
            let c = serde_json::from_value(json!({
                "line_id": lid,
                "type": "support",
                "occurred_at": crate::clock::rfc3339(at),
                "duration_minutes": r.range(10, 90),
                "requester": format!("示例报障用户{who:02}"),
                "organisation": "示例地市生态环境局",
                "channel": "电话",
                "summary": q,
                "answer": a,
                "result": "已解决",
            }))?;
            match crate::ops::create_record(sim, &people.manager, c).await {
                Ok(_) => n += 1,
                Err(e) => tracing::debug!(error = %e, "demo work record skipped"),
            }
        }
        day += DAY;
    }
    Ok(n)
}

/// Daily on-call shifts (08:30 to 08:30 Beijing) from two weeks back to two weeks ahead,
/// rotating among the engineers, through the duty service.
pub async fn duty_shifts(
    sim: &Ctx,
    people: &People,
    start: i64,
    now: i64,
) -> anyhow::Result<usize> {
    let today = crate::monitor::day_start(now);
    let first = (today - 14 * DAY).max(start);
    let mut n = 0;
    let mut day = first;
    let mut k = 0usize;
    while day < today + 14 * DAY {
        let Some(u) = people.engineers.get(k % people.engineers.len().max(1)) else {
            break;
        };
        let from = day + 8 * 60 * MIN + 30 * MIN;
        set_clock(sim, from.min(now));
        let input = serde_json::from_value(json!({
            "user_id": u.id,
            "starts_at": crate::clock::rfc3339(from),
            "ends_at": crate::clock::rfc3339(from + DAY),
            "note": "演示数据",
        }))?;
        crate::monitor::duty::add_shift(sim, &people.manager, input)
            .await
            .map_err(|e| anyhow::anyhow!("demo shift: {e}"))?;
        n += 1;
        k += 1;
        day += DAY;
    }
    Ok(n)
}
