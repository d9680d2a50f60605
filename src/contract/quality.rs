//! The quality targets measured from the records over a period, with the computations the
//! desk, inspections, monitoring and operations already use: SLA compliance and on-site
//! within target (`domain::desk_stats`), inspection completion and rectification
//! (`inspect::tasks::indicators`), satisfaction (ticket ratings of 4–5 and work records
//! rated 非常满意/满意 among all rated), availability of the systems' monitors (hourly
//! rollups), backup success (`backup::success`: scheduled runs met by their deadline).

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::contract::{ContractRecord, TargetKey, met, round2};
use crate::domain::desk_stats::indicators;
use crate::error::AppResult;
use crate::report::Period;

/// One measured value: a percentage, what it was computed from, or why there is none.
struct Measured {
    percent: Option<f64>,
    basis: String,
    reason: Option<String>,
}

fn pct(v: Option<f64>) -> Option<f64> {
    v.map(|x| round2(x * 100.0))
}

fn none(reason: &str) -> Measured {
    Measured {
        percent: None,
        basis: String::new(),
        reason: Some(reason.into()),
    }
}

/// The targets of `r` with their measured values over `p`.
pub async fn measure(ctx: &Ctx, u: &AuthUser, r: &ContractRecord, p: &Period) -> AppResult<Value> {
    let (from, to) = (p.from.timestamp_millis(), p.to.timestamp_millis());
    let rows = ctx.store.ticket_stat_rows(from, to).await?;
    let refs: Vec<_> = rows.iter().collect();
    let ind = indicators(&refs);
    let insp = crate::inspect::tasks::indicators(ctx, u, p.from, p.to).await?;
    let ratings = ctx.store.work_record_ratings(from, to).await?;
    let rec_rated: i64 = ratings.iter().map(|(_, n)| n).sum();
    let rec_good: i64 = ratings
        .iter()
        .filter(|(g, _)| g == "非常满意" || g == "满意")
        .map(|(_, n)| n)
        .sum();
    let ticket_good = rows
        .iter()
        .filter(|r| r.satisfaction.is_some_and(|s| s >= 4))
        .count() as i64;
    let mons: Vec<(i64, i64)> = ctx
        .store
        .all_monitors()
        .await?
        .into_iter()
        .filter(|m| m.system_id.is_some())
        .map(|m| (m.id, m.created_at))
        .collect();
    let avail = if mons.is_empty() {
        None
    } else {
        Some(crate::monitor::availability(ctx, &mons, from, to).await?)
    };
    let backups = crate::backup::success::success(ctx, from, to).await?;
    let mut out = Vec::new();
    for t in &r.quality_targets {
        let m = match t.key {
            TargetKey::SlaCompliance => match ind.sla_compliance {
                None => none("本期没有已解决的工单"),
                v => Measured {
                    percent: pct(v),
                    basis: format!("已解决工单 {} 张", ind.resolved),
                    reason: None,
                },
            },
            TargetKey::Onsite2h => match ind.onsite_within_target {
                None => none("本期没有需要到场的故障工单"),
                v => Measured {
                    percent: pct(v),
                    basis: format!("需到场故障 {} 张", ind.onsite_required),
                    reason: None,
                },
            },
            TargetKey::InspectionCompletion => match insp.overall.completion_rate {
                None => none("本期没有计划的巡检任务"),
                v => Measured {
                    percent: v,
                    basis: format!(
                        "计划 {} 项，完成 {} 项",
                        insp.overall.planned, insp.overall.completed
                    ),
                    reason: None,
                },
            },
            TargetKey::Rectification => match insp.overall.rectification_rate {
                None => none("本期巡检没有发现需整改的问题"),
                v => Measured {
                    percent: v,
                    basis: format!(
                        "发现问题 {} 项，已整改 {} 项",
                        insp.overall.findings, insp.overall.rectified
                    ),
                    reason: None,
                },
            },
            TargetKey::Satisfaction => {
                let rated = ind.rated + rec_rated;
                if rated == 0 {
                    none("本期没有工单评价或运营服务评价")
                } else {
                    Measured {
                        percent: Some(round2(
                            (ticket_good + rec_good) as f64 * 100.0 / rated as f64,
                        )),
                        basis: format!(
                            "工单评价 {} 条、运营服务评价 {} 条，满意 {} 条",
                            ind.rated,
                            rec_rated,
                            ticket_good + rec_good
                        ),
                        reason: None,
                    }
                }
            }
            TargetKey::Availability => match avail.as_ref().and_then(|a| a.availability()) {
                None if mons.is_empty() => none("还没有为信息系统配置监控项"),
                None => none("本期没有监控结果"),
                v => Measured {
                    percent: pct(v),
                    basis: format!("{} 个系统监控项", mons.len()),
                    reason: None,
                },
            },
            TargetKey::BackupSuccess => match (backups.rate(), backups) {
                (_, b) if b.policies == 0 => none("还没有登记备份策略"),
                (_, b) if b.runs == 0 => {
                    none("本期没有备份运行记录：请为备份任务配置上报地址或手工登记")
                }
                (None, _) => none("本期没有到期的计划备份"),
                (v, b) => Measured {
                    percent: pct(v),
                    basis: format!("计划备份到期 {} 次，按时成功 {} 次", b.due, b.met),
                    reason: None,
                },
            },
        };
        out.push(json!({
            "key": t.key.as_str(), "label": t.key.label(), "target_percent": t.target_percent,
            "note": t.note, "measured_percent": m.percent, "basis": m.basis, "reason": m.reason,
            "met": met(t.target_percent, m.percent),
        }));
    }
    Ok(json!({
        "from": crate::clock::rfc3339(from), "to": crate::clock::rfc3339(to), "label": p.label,
        "targets": out,
    }))
}
