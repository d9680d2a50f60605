//! The demo's inspections (巡检): plans on the shipped templates (the machine room every day,
//! each system every week, the UPS and battery string, the gas suppression, the servers and
//! the security devices every month), their rounds made by the plans' own generation job,
//! and each task worked through the inspection services with the simulated clock set to
//! each step: readings mostly in range, a few out of range whose findings open tickets
//! that are worked to rectification, the manager's review, a few tasks done late or left
//! overdue (more of them in the last days).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::demo::Rng;
use crate::domain::inspection::task::TaskAction;
use crate::domain::inspection::template::{Item, ItemKind};
use crate::domain::tickets::input::{FaultReport, TicketAction};
use crate::domain::tickets::{Action, TicketId};
use crate::inspect::input::{AssigneeRule, PlanCreate, ResultsInput, TargetMode, TaskActionInput};
use crate::store::inspect::{TaskFilter, TaskRow};

use super::people::People;
use super::tickets::{DAY, set_clock};

const MIN: i64 = 60_000;

/// The share of tasks with one reading out of its normal range (a finding and its ticket).
const ABNORMAL: f64 = 0.04;
/// The share of tasks done after their due time.
const LATE: f64 = 0.04;
/// The share of tasks never done: in the last `RECENT` days, and before.
const MISSED_RECENT: f64 = 0.2;
const MISSED: f64 = 0.01;
const RECENT: i64 = 5 * DAY;
/// The share of submitted tasks the manager returns once.
const RETURNED: f64 = 0.02;

/// Who a plan's tasks go to when the inventory names nobody.
#[derive(Clone, Copy)]
enum Who {
    /// The n-th engineer (the first two work on site).
    Engineer(usize),
    /// The n-th DBA.
    Dba(usize),
}

/// A plan of the demo.
struct Spec {
    name: &'static str,
    template: &'static str,
    /// Cron in Beijing time.
    schedule: &'static str,
    due_minutes: i64,
    rule: AssigneeRule,
    /// Who does it when the inventory names nobody.
    who: Who,
    /// `Some(n)`: the first `n` systems only (the key systems); `None`: every target.
    systems: Option<usize>,
}

const PLANS: &[Spec] = &[
    Spec {
        name: "龙口西机房日常巡检",
        template: "机房日常巡检",
        schedule: "0 9 * * *",
        due_minutes: 480,
        rule: AssigneeRule::User,
        who: Who::Engineer(0),
        systems: None,
    },
    // The contract asks a weekly check of every system; the demo shows it on the key
    // systems, to keep the load fast (each task is three service calls).
    Spec {
        name: "重点系统每周性能巡检",
        template: "应用系统周检（性能）",
        schedule: "0 10 * * 1",
        due_minutes: 2 * 24 * 60,
        rule: AssigneeRule::Assigned,
        who: Who::Engineer(2),
        systems: Some(9),
    },
    Spec {
        name: "UPS 与蓄电池月度巡检",
        template: "UPS 与蓄电池月度巡检",
        schedule: "30 9 1 * *",
        due_minutes: 3 * 24 * 60,
        rule: AssigneeRule::User,
        who: Who::Engineer(1),
        systems: None,
    },
    Spec {
        name: "气体消防月度巡检",
        template: "气体消防月度巡检",
        schedule: "0 14 1 * *",
        due_minutes: 3 * 24 * 60,
        rule: AssigneeRule::User,
        who: Who::Engineer(1),
        systems: None,
    },
    Spec {
        name: "服务器月度巡检",
        template: "服务器巡检",
        schedule: "0 10 10 * *",
        due_minutes: 3 * 24 * 60,
        rule: AssigneeRule::Assigned,
        who: Who::Dba(0),
        systems: None,
    },
    Spec {
        name: "安全设备月度巡检",
        template: "安全设备巡检",
        schedule: "0 10 15 * *",
        due_minutes: 3 * 24 * 60,
        rule: AssigneeRule::Assigned,
        who: Who::Engineer(1),
        systems: None,
    },
];

/// What the inspection history made.
#[derive(Debug, Default)]
pub struct InspectionSummary {
    pub plans: usize,
    pub tasks: usize,
    pub submitted: usize,
    pub findings: usize,
    pub failed_steps: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TicketStep {
    Assign,
    Start,
    CheckIn,
    Resolve,
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The plans' generation job (once a simulated day, at midnight Beijing).
    Generate,
    /// The overdue job, just after a task's due time.
    Overdue,
    /// Readings entered (which starts the task); `true`: one of them out of range.
    Save(i64, bool),
    Submit(i64),
    /// The manager's review: approve, or return once.
    Review(i64),
    Ticket(i64, TicketStep),
}

/// The history being worked: the events still to run, earliest first (ties in the order
/// they were planned), and what the steps need to remember.
struct Run<'a> {
    sim: &'a Ctx,
    people: &'a People,
    r: Rng,
    now: i64,
    queue: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    seq: u64,
    overdue_at: BTreeSet<i64>,
    /// The tasks planned, by id, as generated.
    tasks: HashMap<i64, TaskRow>,
    /// The readings of each task, kept for a task done again after a return.
    readings: HashMap<i64, Map<String, Value>>,
    returned: HashSet<i64>,
    tickets: HashSet<i64>,
    summary: InspectionSummary,
}

/// Creates the plans at `start` and works `start..now` of their tasks.
pub async fn run(
    sim: &Ctx,
    rng: &Rng,
    people: &People,
    systems: &[(i64, String)],
    start: i64,
    now: i64,
) -> anyhow::Result<InspectionSummary> {
    let mut run = Run {
        sim,
        people,
        r: rng.fork(6),
        now,
        queue: BinaryHeap::new(),
        seq: 0,
        overdue_at: BTreeSet::new(),
        tasks: HashMap::new(),
        readings: HashMap::new(),
        returned: HashSet::new(),
        tickets: HashSet::new(),
        summary: InspectionSummary::default(),
    };
    set_clock(sim, start);
    run.summary.plans = create_plans(sim, people, systems).await?;
    let mut day = start;
    while day < now {
        run.push(day, Ev::Generate);
        day += DAY;
    }
    while let Some(Reverse((at, _, ev))) = run.queue.pop() {
        if at >= now {
            continue;
        }
        set_clock(sim, at);
        if let Err(e) = run.step(at, ev).await {
            run.summary.failed_steps += 1;
            tracing::debug!(error = %e, ?ev, "demo inspection step skipped");
        }
    }
    // What the overdue job finds at the first start: the tasks nobody did.
    set_clock(sim, now);
    crate::inspect::tasks::mark_overdue(sim)
        .await
        .map_err(|e| anyhow::anyhow!("demo inspections overdue: {e}"))?;
    Ok(run.summary)
}

/// The demo's plans, through the plans service as the manager; answers how many.
async fn create_plans(
    sim: &Ctx,
    people: &People,
    systems: &[(i64, String)],
) -> anyhow::Result<usize> {
    let templates = sim.store.inspection_templates().await?;
    let mut n = 0;
    for p in PLANS {
        let Some(t) = templates.iter().find(|t| t.name == p.template) else {
            tracing::debug!(p.template, "demo inspection template missing");
            continue;
        };
        let assignee = match p.who {
            Who::Engineer(k) => people.engineers.get(k),
            Who::Dba(k) => people.dbas.get(k),
        }
        .unwrap_or(&people.manager);
        let (target_mode, target_ids) = match p.systems {
            Some(n) => (
                TargetMode::Listed,
                systems.iter().take(n).map(|(id, _)| *id).collect(),
            ),
            None => (TargetMode::All, Vec::new()),
        };
        let input = PlanCreate {
            name: p.name.into(),
            template_id: t.id,
            target_mode,
            target_ids,
            category: None,
            schedule: p.schedule.into(),
            due_minutes: Some(p.due_minutes),
            assignee_rule: Some(p.rule),
            assignee_id: Some(assignee.id),
            active: Some(true),
        };
        crate::inspect::plans::create(sim, &people.manager, input)
            .await
            .map_err(|e| anyhow::anyhow!("demo inspection plan {}: {e}", p.name))?;
        n += 1;
    }
    Ok(n)
}

impl Run<'_> {
    fn push(&mut self, at: i64, ev: Ev) {
        if ev == Ev::Overdue && !self.overdue_at.insert(at) {
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    async fn step(&mut self, at: i64, ev: Ev) -> anyhow::Result<()> {
        match ev {
            Ev::Generate => self.generate(at).await,
            Ev::Overdue => {
                crate::inspect::tasks::mark_overdue(self.sim)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(())
            }
            Ev::Save(id, abnormal) => self.save(id, abnormal).await,
            Ev::Submit(id) => self.submit(id, at).await,
            Ev::Review(id) => self.review(id, at).await,
            Ev::Ticket(id, step) => ticket_step(self.sim, self.people, id, step).await,
        }
    }

    /// The generation job at `at`, then each new task's fate.
    async fn generate(&mut self, at: i64) -> anyhow::Result<()> {
        crate::inspect::plans::generate_ahead(self.sim)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let f = TaskFilter {
            from: Some(at),
            ..TaskFilter::default()
        };
        let (mut rows, _) = self.sim.store.inspection_tasks(&f, 10_000, 0).await?;
        rows.retain(|t| !self.tasks.contains_key(&t.id));
        rows.sort_by_key(|t| t.id);
        for t in rows {
            self.summary.tasks += 1;
            self.plan_task(&t);
            self.tasks.insert(t.id, t);
        }
        Ok(())
    }

    /// Decides when a task is read and submitted, or that it is never done.
    fn plan_task(&mut self, t: &TaskRow) {
        let window = (t.due_at - t.round_at) / MIN;
        let missed = if self.now - t.round_at < RECENT {
            MISSED_RECENT
        } else {
            MISSED
        };
        if self.r.chance(missed) {
            self.push(t.due_at + MIN, Ev::Overdue);
            return;
        }
        let begin = if self.r.chance(LATE) {
            self.push(t.due_at + MIN, Ev::Overdue);
            t.due_at + self.r.range(30, 600) * MIN
        } else {
            t.round_at + self.r.range(0, (window - 90).clamp(0, 360)) * MIN
        };
        // The readings are saved as the inspector starts (the draft, which starts the
        // task), and submitted at the end.
        let abnormal = self.r.chance(ABNORMAL);
        self.push(begin, Ev::Save(t.id, abnormal));
        let end = begin + self.r.range(15, 60) * MIN;
        self.push(end, Ev::Submit(t.id));
    }

    fn task(&self, id: i64) -> anyhow::Result<&TaskRow> {
        self.tasks
            .get(&id)
            .ok_or_else(|| anyhow::anyhow!("demo inspection task {id} not planned"))
    }

    async fn act(
        &self,
        id: i64,
        action: TaskAction,
        comment: Option<String>,
    ) -> anyhow::Result<Value> {
        let u = match action {
            TaskAction::Start | TaskAction::Submit => doer(self.people, self.task(id)?),
            TaskAction::Approve | TaskAction::Return => &self.people.manager,
        };
        crate::inspect::tasks::act(self.sim, u, id, TaskActionInput { action, comment })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn save(&mut self, id: i64, abnormal: bool) -> anyhow::Result<()> {
        let people = self.people;
        let t = self
            .tasks
            .get(&id)
            .ok_or_else(|| anyhow::anyhow!("demo inspection task {id} not planned"))?;
        let u = doer(people, t);
        // A task done again after a return keeps what was read the first time.
        let values = match self.readings.get(&id) {
            Some(v) => v.clone(),
            None => {
                let items: Vec<Item> = serde_json::from_str(&t.items)?;
                readings(&mut self.r, &items, abnormal)
            }
        };
        self.readings.insert(id, values.clone());
        crate::inspect::tasks::save_results(self.sim, u, id, ResultsInput { readings: values })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    async fn submit(&mut self, id: i64, at: i64) -> anyhow::Result<()> {
        let v = self.act(id, TaskAction::Submit, None).await?;
        self.summary.submitted += 1;
        // The tickets the new findings opened are worked to rectification: on site for the
        // machine room and the devices, remotely for a system.
        let on_site = v["target_type"].as_str() != Some("system");
        let mut t = at;
        for f in v["finding_list"].as_array().into_iter().flatten() {
            let Some(tid) = f["ticket_id"].as_i64() else {
                continue;
            };
            if !self.tickets.insert(tid) {
                continue;
            }
            self.summary.findings += 1;
            t += self.r.range(5, 30) * MIN;
            self.push(t, Ev::Ticket(tid, TicketStep::Assign));
            t += self.r.range(5, 40) * MIN;
            self.push(t, Ev::Ticket(tid, TicketStep::Start));
            if on_site {
                t += self.r.range(10, 60) * MIN;
                self.push(t, Ev::Ticket(tid, TicketStep::CheckIn));
            }
            t += self.r.range(60, 480) * MIN;
            self.push(t, Ev::Ticket(tid, TicketStep::Resolve));
            t += self.r.range(60, 24 * 60) * MIN;
            self.push(t, Ev::Ticket(tid, TicketStep::Close));
        }
        let review = at + self.r.range(30, 20 * 60) * MIN;
        self.push(review, Ev::Review(id));
        Ok(())
    }

    /// The manager approves, or (once in a while) returns the task to be done again.
    async fn review(&mut self, id: i64, at: i64) -> anyhow::Result<()> {
        if !self.returned.contains(&id) && self.r.chance(RETURNED) {
            self.returned.insert(id);
            self.act(
                id,
                TaskAction::Return,
                Some("演示数据：部分读数与现场记录不一致，请复核后重新提交".into()),
            )
            .await?;
            let redo = at + self.r.range(60, 6 * 60) * MIN;
            self.push(redo, Ev::Save(id, false));
            let again = redo + self.r.range(1, 5) * MIN;
            self.push(again, Ev::Submit(id));
            return Ok(());
        }
        self.act(
            id,
            TaskAction::Approve,
            Some("演示数据：巡检记录完整，审核通过".into()),
        )
        .await?;
        Ok(())
    }
}

/// The inspector: the task's assignee (the manager when it has none).
fn doer<'p>(people: &'p People, t: &TaskRow) -> &'p AuthUser {
    t.assignee_id
        .and_then(|a| people.user(a))
        .unwrap_or(&people.manager)
}

/// One step of a finding's ticket, through the desk: the manager assigns it to the task's
/// inspector, who works it, resolves it (which marks the finding rectified) and closes it.
async fn ticket_step(sim: &Ctx, people: &People, id: i64, step: TicketStep) -> anyhow::Result<()> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let t = sim.store.ticket(id).await?;
    let worker = t
        .requester_id
        .and_then(|a| people.user(a))
        .unwrap_or(&people.manager);
    let now = sim.clock.now_ms();
    let (u, a) = match step {
        TicketStep::Assign => {
            let mut a = TicketAction::new(Action::Assign);
            a.assignee_id = Some(worker.id);
            (&people.manager, a)
        }
        TicketStep::Start => (worker, TicketAction::new(Action::Start)),
        TicketStep::CheckIn => (worker, TicketAction::new(Action::CheckIn)),
        TicketStep::Resolve => {
            let mut a = TicketAction::new(Action::Resolve);
            a.resolution = Some("演示数据：已按巡检发现完成整改，复测读数恢复正常。".into());
            a.fault_report = Some(FaultReport {
                symptom: t.description.clone(),
                impact_scope: Some("巡检发现，未影响业务运行。".into()),
                started_at: Some(crate::clock::rfc3339(t.reported_at.min(now))),
                recovered_at: Some(crate::clock::rfc3339(now)),
                cause: Some("设备运行参数偏离正常范围。".into()),
                handling: Some("现场调整设备参数并复测，读数恢复正常。".into()),
                measures: Some("列入下轮巡检重点检查项。".into()),
            });
            a.remote_fix_reason = Some("远程调整参数后复测正常，无需到场".into());
            (worker, a)
        }
        TicketStep::Close => {
            if t.status != "resolved" {
                return Ok(());
            }
            (worker, TicketAction::new(Action::Close))
        }
    };
    crate::desk::apply_action(sim, u, TicketId(id), &a)
        .await
        .map_err(err)?;
    Ok(())
}

fn round_to(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// A value in the middle 60% of `[lo, hi]`.
fn inside(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (0.2 + 0.6 * r.unit())
}

/// One number of an item: inside its range, or (when `abnormal`) beyond it.
fn number(r: &mut Rng, it: &Item, abnormal: bool) -> f64 {
    let (x, width) = match (it.min, it.max) {
        (Some(lo), Some(hi)) => {
            let w = hi - lo;
            let x = if !abnormal {
                inside(r, lo, hi)
            } else if r.chance(0.5) {
                hi + w * (0.05 + 0.3 * r.unit())
            } else {
                lo - w * (0.05 + 0.3 * r.unit())
            };
            (x, w)
        }
        (None, Some(hi)) if hi <= 0.0 => {
            // A count that should be zero (failed interface calls).
            return if abnormal { r.range(1, 5) as f64 } else { 0.0 };
        }
        (None, Some(hi)) => {
            let x = if abnormal {
                hi * (1.03 + 0.2 * r.unit())
            } else {
                hi * (0.15 + 0.5 * r.unit())
            };
            (x, hi)
        }
        (Some(lo), None) => {
            let x = if abnormal {
                lo * (0.7 + 0.25 * r.unit())
            } else {
                lo * (1.1 + 0.4 * r.unit())
            };
            (x, lo.abs())
        }
        (None, None) => (0.0, 100.0),
    };
    round_to(x, if width < 2.0 { 2 } else { 1 })
}

/// The readings of a task: every item but the photos, one of them out of range when
/// `abnormal` (a number if the template has one with a range, most of the time).
fn readings(r: &mut Rng, items: &[Item], abnormal: bool) -> Map<String, Value> {
    let ranged: Vec<usize> = (0..items.len())
        .filter(|i| {
            let it = &items[*i];
            it.kind == ItemKind::Number && (it.min.is_some() || it.max.is_some())
        })
        .collect();
    let other: Vec<usize> = (0..items.len())
        .filter(|i| {
            let it = &items[*i];
            it.kind == ItemKind::Check
                || (it.kind == ItemKind::Choice && !it.abnormal_choices.is_empty())
        })
        .collect();
    let odd = if !abnormal {
        None
    } else if !ranged.is_empty() && (other.is_empty() || r.chance(0.75)) {
        Some(*r.pick(&ranged))
    } else if !other.is_empty() {
        Some(*r.pick(&other))
    } else {
        None
    };
    let mut out = Map::new();
    // A number without a range is the sum of the item read per instance (the battery
    // string's voltage), filled in last.
    let mut sum = None;
    let mut unranged = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let bad = odd == Some(i);
        let v = match it.kind {
            ItemKind::Photo => continue,
            ItemKind::Check => json!(if bad { "abnormal" } else { "normal" }),
            ItemKind::Choice => {
                let pick = if bad {
                    r.pick(&it.abnormal_choices).clone()
                } else {
                    it.choices
                        .iter()
                        .find(|c| !it.abnormal_choices.contains(c))
                        .or(it.choices.first())
                        .cloned()
                        .unwrap_or_default()
                };
                json!(pick)
            }
            ItemKind::Text => json!("演示数据：运行正常"),
            ItemKind::Number if it.min.is_none() && it.max.is_none() && it.count.is_none() => {
                unranged.push(it.key.clone());
                continue;
            }
            ItemKind::Number => match it.count {
                Some(n) => {
                    let odd_cell = bad.then(|| r.below(u64::from(n)) as usize);
                    let cells: Vec<f64> = (0..n as usize)
                        .map(|k| number(r, it, odd_cell == Some(k)))
                        .collect();
                    sum = Some(round_to(cells.iter().sum(), 1));
                    json!(cells)
                }
                None => json!(number(r, it, bad)),
            },
        };
        out.insert(it.key.clone(), v);
    }
    for k in unranged {
        out.insert(k, json!(sum.unwrap_or(100.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inspection::builtin;
    use crate::domain::inspection::reading::{check_complete, findings};

    #[test]
    fn normal_readings_of_every_shipped_template_are_complete_and_find_nothing() {
        let mut r = Rng::new(7);
        for t in builtin::all() {
            for _ in 0..50 {
                let v = readings(&mut r, &t.items, false);
                assert!(check_complete(&t.items, &v).is_empty(), "{}", t.name);
                assert!(findings(&t.items, &v).is_empty(), "{}: {v:?}", t.name);
            }
        }
    }

    #[test]
    fn an_abnormal_task_has_exactly_one_finding() {
        let mut r = Rng::new(8);
        for t in builtin::all() {
            for _ in 0..50 {
                let v = readings(&mut r, &t.items, true);
                assert!(check_complete(&t.items, &v).is_empty(), "{}", t.name);
                assert_eq!(findings(&t.items, &v).len(), 1, "{}: {v:?}", t.name);
            }
        }
    }
}
