//! The demo's service desk: 90 days of tickets of every kind, opened and worked through the
//! desk's own service functions with the simulated clock set to each step's time, so their
//! timelines, SLA clocks, audit records and numbers are the ones real use would write.

use crate::Ctx;
use crate::domain::demo::Rng;
use crate::domain::tickets::input::{
    ChangeType, FaultReport, Level, TicketAction, TicketCreate, TicketKind, TicketSource,
};
use crate::domain::tickets::{Action, TicketId};
use crate::monitor::alerts::Fire;

use super::people::People;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// Fault reports of requesters: (title, description).
const FAULTS: &[(&str, &str)] = &[
    ("系统登录缓慢", "上午起登录页面需要等待 30 秒以上才能进入。"),
    ("报表导出失败", "导出月度统计报表时提示“服务器内部错误”。"),
    (
        "数据上报接口超时",
        "企业端上报数据时接口返回超时，已重试三次。",
    ),
    ("页面显示异常", "首页统计图表不显示，其他页面正常。"),
    ("账号无法登录", "输入正确密码后提示账号或密码错误。"),
    (
        "查询结果不完整",
        "按日期查询只返回部分数据，与上周结果不一致。",
    ),
    ("附件上传失败", "上传 PDF 附件时进度条停在 90%。"),
    ("短信验证码收不到", "多名用户反映收不到登录验证码短信。"),
];

/// Service requests and consultations: (title, description).
const REQUESTS: &[(&str, &str)] = &[
    ("新增用户账号", "新入职人员需要开通系统账号并分配查询权限。"),
    ("咨询数据导出方法", "请问如何按区县导出上季度的监测数据？"),
    ("调整用户权限", "因岗位调整，需要增加审核权限。"),
    ("申请数据提取", "请提取 2024 年全年的统计数据用于年度分析。"),
    (
        "咨询接口对接",
        "市局新系统需要对接数据接口，请提供接口说明。",
    ),
    ("密码重置", "用户忘记密码，请协助重置。"),
];

/// Changes: (type, title).
const CHANGES: &[(ChangeType, &str)] = &[
    (ChangeType::Upgrade, "应用版本升级"),
    (ChangeType::VulnerabilityFix, "修复中间件高危漏洞"),
    (ChangeType::Optimisation, "数据库慢查询优化"),
    (ChangeType::Configuration, "调整备份策略配置"),
    (ChangeType::VulnerabilityFix, "操作系统安全补丁更新"),
];

const PROBLEMS: &[&str] = &[
    "接口超时反复出现，需查找根本原因",
    "夜间批处理作业多次失败",
    "磁盘空间增长过快",
];

const CAUSES: &[&str] = &[
    "数据库连接池耗尽，长事务未及时释放",
    "应用服务器内存不足导致频繁垃圾回收",
    "网络设备端口异常导致丢包",
    "定时任务与备份作业同时运行造成资源争用",
    "证书过期导致接口调用失败",
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Open,
    Assign,
    Start,
    CheckIn,
    Pend,
    Resume,
    Resolve,
    ResolveAlert,
    Close,
    Rate(i64),
}

#[derive(Clone, Debug)]
enum Opener {
    /// A requester through the portal.
    Portal(usize),
    /// An alert of a monitor (its key).
    Alert { monitor_id: i64, key: String },
    /// Staff: the manager or an engineer.
    Staff,
}

struct Plan {
    kind: TicketKind,
    change_type: Option<ChangeType>,
    title: String,
    description: String,
    system_id: i64,
    opener: Opener,
    impact: Level,
    urgency: Level,
    /// Whether this ticket runs late (the SLA outcome is breached).
    late: bool,
    steps: Vec<(i64, Step)>,
}

/// A monitor's outage: the window its probes failed in (for the probe history).
pub struct Outage {
    pub monitor_id: i64,
    pub from: i64,
    pub to: i64,
}

/// What the desk history made.
#[derive(Default)]
pub struct DeskSummary {
    pub tickets: usize,
    pub outages: Vec<Outage>,
    pub failed_steps: usize,
}

fn level(r: &mut Rng) -> Level {
    let x = r.below(10);
    if x < 1 {
        Level::High
    } else if x < 6 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// A time of the working day (Beijing 08:30–17:30) on the day starting at `day`.
fn office_time(r: &mut Rng, day: i64) -> i64 {
    day + 30 * MIN + r.range(8 * 60 + 30, 17 * 60 + 30) * MIN - 30 * MIN
}

fn plan(
    r: &mut Rng,
    day: i64,
    weekday: bool,
    systems: &[(i64, String)],
    monitors: &[(i64, i64)],
    people: &People,
    n: usize,
) -> Vec<Plan> {
    let mut out = Vec::new();
    let count = if weekday {
        r.range(3, 6)
    } else {
        r.range(0, 2)
    };
    for i in 0..count {
        let (system_id, system_name) = r.pick(systems).clone();
        let late = r.chance(0.12);
        let x = r.below(100);
        let (kind, opener, title, description, change_type, at) = if x < 30 {
            let (t, d) = *r.pick(FAULTS);
            let who = r.below(people.requesters.len() as u64) as usize;
            (
                TicketKind::Incident,
                Opener::Portal(who),
                t.to_string(),
                d.to_string(),
                None,
                office_time(r, day),
            )
        } else if x < 45 {
            // An alert of a monitor of the system (or any monitor) opens the incident.
            let m = monitors
                .iter()
                .find(|(_, s)| *s == system_id)
                .or_else(|| monitors.first())
                .map(|(m, _)| *m)
                .unwrap_or_default();
            (
                TicketKind::Incident,
                Opener::Alert {
                    monitor_id: m,
                    key: format!("demo:{}:{n}:{i}", day / DAY),
                },
                format!("{system_name}访问异常"),
                "监控探测连续失败，系统访问异常。".to_string(),
                None,
                day + r.range(0, 24 * 60 - 1) * MIN,
            )
        } else if x < 80 {
            let (t, d) = *r.pick(REQUESTS);
            let who = r.below(people.requesters.len() as u64) as usize;
            (
                TicketKind::Request,
                Opener::Portal(who),
                t.to_string(),
                d.to_string(),
                None,
                office_time(r, day),
            )
        } else if x < 94 {
            let (ct, t) = *r.pick(CHANGES);
            (
                TicketKind::Change,
                Opener::Staff,
                format!("{system_name}{t}"),
                format!("按运维计划对{system_name}进行{t}，已评估影响并安排在低峰时段实施。"),
                Some(ct),
                office_time(r, day),
            )
        } else {
            (
                TicketKind::Problem,
                Opener::Staff,
                r.pick(PROBLEMS).to_string(),
                format!("{system_name}近期多次出现同类故障，需分析根本原因。"),
                None,
                office_time(r, day),
            )
        };
        let (impact, urgency) = match kind {
            TicketKind::Incident if matches!(opener, Opener::Alert { .. }) => {
                (Level::High, Level::Medium)
            }
            _ => (level(r), level(r)),
        };
        let mut steps = vec![(at, Step::Open)];
        let mut t = at + r.range(2, 15) * MIN;
        steps.push((t, Step::Assign));
        let respond = if late {
            r.range(70, 180)
        } else {
            r.range(4, 25)
        };
        t += respond * MIN;
        steps.push((t, Step::Start));
        if kind == TicketKind::Incident && r.chance(0.7) {
            t += if late {
                r.range(130, 200)
            } else {
                r.range(20, 80)
            } * MIN;
            steps.push((t, Step::CheckIn));
        }
        if kind != TicketKind::Incident && r.chance(0.15) {
            t += r.range(30, 120) * MIN;
            steps.push((t, Step::Pend));
            t += r.range(60, 600) * MIN;
            steps.push((t, Step::Resume));
        }
        let work = match kind {
            TicketKind::Incident => r.range(30, 200),
            TicketKind::Request => r.range(20, 240),
            TicketKind::Change => r.range(120, 1200),
            TicketKind::Problem => r.range(600, 4000),
        };
        t += if late { work * 8 + 1500 } else { work } * MIN;
        if let Opener::Alert { .. } = opener {
            steps.push((t - r.range(5, 20) * MIN, Step::ResolveAlert));
        }
        steps.push((t, Step::Resolve));
        if r.chance(0.85) {
            t += r.range(60, 36 * 60) * MIN;
            steps.push((t, Step::Close));
            if matches!(opener, Opener::Portal(_)) && r.chance(0.75) {
                let s = r.below(100);
                let score = match s {
                    0..=59 => 5,
                    60..=87 => 4,
                    88..=95 => 3,
                    96..=98 => 2,
                    _ => 1,
                };
                t += r.range(1, 120) * MIN;
                steps.push((t, Step::Rate(score)));
            }
        }
        out.push(Plan {
            kind,
            change_type,
            title,
            description,
            system_id,
            opener,
            impact,
            urgency,
            late,
            steps,
        });
    }
    out
}

fn fault_report(p: &Plan, r: &mut Rng, opened: i64, now: i64) -> FaultReport {
    let cause = r.pick(CAUSES).to_string();
    FaultReport {
        symptom: Some(p.description.clone()),
        impact_scope: Some("部分用户访问受影响，未造成数据丢失。".into()),
        started_at: Some(crate::clock::rfc3339(opened)),
        recovered_at: Some(crate::clock::rfc3339(now.max(opened))),
        cause: Some(cause),
        handling: Some("定位原因后调整配置并重启相关服务，验证功能恢复正常。".into()),
        measures: Some("加强监控告警阈值，纳入日常巡检项，定期复查。".into()),
    }
}

/// Works `days` days of tickets up to `now` through the desk, with `sim`'s manual clock.
pub async fn run(
    sim: &Ctx,
    rng: &Rng,
    start: i64,
    now: i64,
    people: &People,
    systems: &[(i64, String)],
    monitors: &[(i64, i64)],
) -> anyhow::Result<DeskSummary> {
    let mut r = rng.fork(1);
    let mut plans = Vec::new();
    let mut day = start;
    let mut n = 0;
    while day < now {
        let wd = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(day + 8 * HOUR)
            .map(|d| chrono::Datelike::weekday(&d).number_from_monday() <= 5)
            .unwrap_or(true);
        plans.extend(plan(&mut r, day, wd, systems, monitors, people, n));
        day += DAY;
        n += 1;
    }
    // Every step of every ticket, in time order, up to now.
    let mut events: Vec<(i64, usize, usize)> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        for (j, (at, _)) in p.steps.iter().enumerate() {
            if *at < now {
                events.push((*at, i, j));
            }
        }
    }
    events.sort();
    let mut ids: Vec<Option<i64>> = vec![None; plans.len()];
    let mut opened_at: Vec<i64> = vec![0; plans.len()];
    let mut summary = DeskSummary::default();
    let mut rr = rng.fork(2);
    // The auto-close job, as the scheduler would run it, once a simulated day (02:00
    // Beijing): resolved tickets nobody confirmed close after the configured days, so the
    // real job finds nothing left over at the first start.
    let mut next_tick = start + DAY + 2 * HOUR;
    for (at, i, j) in events {
        while next_tick <= at {
            set_clock(sim, next_tick);
            crate::desk::auto_close_tick(sim)
                .await
                .map_err(|e| anyhow::anyhow!("demo auto-close: {e}"))?;
            next_tick += DAY;
        }
        let p = &plans[i];
        let step = p.steps[j].1;
        set_clock(sim, at);
        let res = do_step(
            sim,
            &mut rr,
            people,
            p,
            step,
            &mut ids[i],
            &mut opened_at[i],
        )
        .await;
        match res {
            Ok(Some(o)) => summary.outages.push(o),
            Ok(None) => {}
            Err(e) => {
                summary.failed_steps += 1;
                tracing::debug!(error = %e, ticket = i, ?step, "demo step skipped");
            }
        }
    }
    while next_tick <= now {
        set_clock(sim, next_tick);
        crate::desk::auto_close_tick(sim)
            .await
            .map_err(|e| anyhow::anyhow!("demo auto-close: {e}"))?;
        next_tick += DAY;
    }
    summary.tickets = ids.iter().filter(|i| i.is_some()).count();
    Ok(summary)
}

pub fn set_clock(sim: &Ctx, at: i64) {
    if let Some(t) = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at) {
        sim.clock.set(t);
    }
}

async fn do_step(
    sim: &Ctx,
    r: &mut Rng,
    people: &People,
    p: &Plan,
    step: Step,
    id: &mut Option<i64>,
    opened: &mut i64,
) -> anyhow::Result<Option<Outage>> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let now = sim.clock.now_ms();
    let (eng, dba) = people
        .by_system
        .get(&p.system_id)
        .copied()
        .unwrap_or_default();
    let worker = people
        .user(eng)
        .or_else(|| people.user(dba))
        .unwrap_or(&people.manager)
        .clone();
    let requester = match p.opener {
        Opener::Portal(k) => people.requesters.get(k).cloned(),
        _ => None,
    };
    if let Step::Open = step {
        let row = match &p.opener {
            Opener::Alert { monitor_id, key } => {
                let f = Fire {
                    key: key.clone(),
                    source: "monitor".into(),
                    monitor_id: Some(*monitor_id),
                    system_id: Some(p.system_id),
                    priority: "P2".into(),
                    title: p.title.clone(),
                    description: Some(p.description.clone()),
                    ..Fire::default()
                };
                let (a, _) = crate::monitor::alerts::fire(sim, &f).await.map_err(err)?;
                *id = a.ticket_id;
                *opened = now;
                return Ok(None);
            }
            Opener::Portal(_) => {
                let u = requester.as_ref().unwrap_or(&people.manager);
                let mut c = TicketCreate::new(p.kind, p.title.clone());
                c.description = Some(p.description.clone());
                c.system_id = Some(p.system_id);
                c.source = Some(TicketSource::Portal);
                crate::desk::open_ticket(sim, u, &c).await.map_err(err)?
            }
            Opener::Staff => {
                let u = if p.kind == TicketKind::Change {
                    &worker
                } else {
                    &people.manager
                };
                let mut c = TicketCreate::new(p.kind, p.title.clone());
                c.description = Some(p.description.clone());
                c.system_id = Some(p.system_id);
                c.change_type = p.change_type;
                c.source = Some(TicketSource::OnSite);
                c.impact = Some(p.impact);
                c.urgency = Some(p.urgency);
                crate::desk::open_ticket(sim, u, &c).await.map_err(err)?
            }
        };
        *id = Some(row.id);
        *opened = now;
        return Ok(None);
    }
    let Some(tid) = *id else {
        return Ok(None);
    };
    let tid = TicketId(tid);
    let act = |a: Action| TicketAction::new(a);
    match step {
        Step::Open => {}
        Step::Assign => {
            let t = sim.store.ticket(tid.0).await?;
            if t.assignee_id.is_none() {
                let mut a = act(Action::Assign);
                a.assignee_id = Some(worker.id);
                crate::desk::apply_action(sim, &people.manager, tid, &a)
                    .await
                    .map_err(err)?;
            }
        }
        Step::Start | Step::CheckIn | Step::Pend | Step::Resume | Step::Resolve => {
            let t = sim.store.ticket(tid.0).await?;
            let who = t
                .assignee_id
                .and_then(|a| people.user(a))
                .unwrap_or(&people.manager)
                .clone();
            let mut a = match step {
                Step::Start => act(Action::Start),
                Step::CheckIn => act(Action::CheckIn),
                Step::Pend => {
                    let mut a = act(Action::Pend);
                    a.reason = Some("等待用户提供更多信息".into());
                    a
                }
                Step::Resume => act(Action::Resume),
                _ => {
                    let mut a = act(Action::Resolve);
                    a.resolution = Some(format!("已处理：{}", p.title));
                    if p.kind == TicketKind::Incident {
                        a.fault_report = Some(fault_report(p, r, *opened, now));
                        if t.onsite_at.is_none() {
                            a.remote_fix_reason = Some("远程登录服务器处理，无需到场".into());
                        }
                    }
                    a
                }
            };
            if matches!(step, Step::Start) && t.status == "in_progress" {
                return Ok(None);
            }
            if matches!(step, Step::Pend) && p.late {
                a.reason = Some("等待厂商提供补丁".into());
            }
            crate::desk::apply_action(sim, &who, tid, &a)
                .await
                .map_err(err)?;
        }
        Step::ResolveAlert => {
            if let Opener::Alert { monitor_id, key } = &p.opener {
                crate::monitor::alerts::resolve(sim, key, "监控探测恢复正常", None)
                    .await
                    .map_err(err)?;
                return Ok(Some(Outage {
                    monitor_id: *monitor_id,
                    from: *opened,
                    to: now,
                }));
            }
        }
        Step::Close => {
            // Closed already by the auto-close job.
            if sim.store.ticket(tid.0).await?.status != "resolved" {
                return Ok(None);
            }
            let u = requester.as_ref().unwrap_or(&people.manager);
            crate::desk::apply_action(sim, u, tid, &act(Action::Close))
                .await
                .map_err(err)?;
        }
        Step::Rate(score) => {
            if let Some(u) = &requester {
                let mut a = act(Action::Rate);
                a.score = Some(score);
                a.comment = Some(
                    match score {
                        5 => "处理及时，非常满意",
                        4 => "问题已解决",
                        3 => "解决了，但等待时间较长",
                        _ => "响应太慢",
                    }
                    .into(),
                );
                crate::desk::apply_action(sim, u, tid, &a)
                    .await
                    .map_err(err)?;
            }
        }
    }
    Ok(None)
}
