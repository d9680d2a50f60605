//! 《月度巡检报告》 (infrastructure or systems) and 《周期巡检报告》 (one plan over a period),
//! as DOCX and XLSX, from the tasks and findings of the period. The figures are those of
//! `GET /inspections/stats` (the same `domain::inspection::stats`), so the document and
//! the API never disagree. Outline after cn-ops.md §1.3.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::docx::{DocBuilder, DocMeta};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, workbook};
use crate::domain::inspection::reading::photo_ids;
use crate::domain::inspection::stats::{Counts, Stats, TaskFact, stats};
use crate::domain::inspection::task::TaskStatus;
use crate::domain::inspection::template::{Item, ItemKind, TargetType};
use crate::store::inspect::{FindingRow, TaskRow};

/// Everything the document shows.
pub struct InspectionData {
    pub meta: DocMeta,
    /// 基础设施 / 应用系统 / the plan's name.
    pub scope_label: String,
    pub tasks: Vec<TaskRow>,
    pub findings: Vec<FindingRow>,
    /// The same scope over the previous period, for the trend.
    pub previous: Stats,
    /// The editable paragraphs (`inspection.*`).
    pub texts: Texts,
}

/// The figures the editable paragraphs may use (`report::texts`, `INSPECTION_VARS`).
fn text_vars(
    d: &InspectionData,
    o: &Counts,
    targets: usize,
    people: &[String],
    photos: usize,
) -> serde_json::Value {
    let p = &d.previous.overall;
    serde_json::json!({
        "period": d.meta.period,
        "scope": d.scope_label,
        "targets": targets,
        "people": if people.is_empty() { "未指定".to_string() } else { people.join("、") },
        "planned": o.planned,
        "completed": o.completed,
        "completed_on_time": o.completed_on_time,
        "completion_rate": pct(o.completion_rate),
        "on_time_rate": pct(o.on_time_rate),
        "findings": o.findings,
        "rectified": o.rectified,
        "unrectified": o.findings.saturating_sub(o.rectified),
        "rectification_rate": pct(o.rectification_rate),
        "all_completed": !o.completion_rate.is_some_and(|r| r < 100.0),
        "prev_planned": p.planned,
        "prev_completion_rate": pct(p.completion_rate),
        "prev_findings": p.findings,
        "photos": photos,
    })
}

pub fn facts(tasks: &[TaskRow], findings: &[FindingRow]) -> Vec<TaskFact> {
    let mut per_task: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
    for f in findings {
        let e = per_task.entry(f.task_id).or_default();
        e.0 += 1;
        if f.status == "rectified" {
            e.1 += 1;
        }
    }
    tasks
        .iter()
        .filter_map(|t| {
            let (found, rectified) = per_task.get(&t.id).copied().unwrap_or_default();
            Some(TaskFact {
                target_type: TargetType::parse(&t.target_type)?,
                system_id: t.system_id,
                assignee_id: t.assignee_id,
                status: TaskStatus::parse(&t.status)?,
                due_at: DateTime::<Utc>::from_timestamp_millis(t.due_at)?,
                submitted_at: t.submitted_at.and_then(DateTime::from_timestamp_millis),
                findings: found,
                rectified,
            })
        })
        .collect()
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |r| format!("{r}%"))
}

fn counts_row(label: &str, targets: usize, c: &Counts) -> Vec<String> {
    vec![
        label.to_string(),
        targets.to_string(),
        c.planned.to_string(),
        c.completed.to_string(),
        c.completed_on_time.to_string(),
        pct(c.completion_rate),
        c.findings.to_string(),
        c.rectified.to_string(),
        pct(c.rectification_rate),
    ]
}

const SUMMARY_HEADERS: [&str; 9] = [
    "对象类别",
    "对象数",
    "计划任务",
    "已完成",
    "按时完成",
    "完成率",
    "发现问题",
    "已整改",
    "整改率",
];

/// Per target: (type, name) → counts and the number of distinct targets per type.
fn per_target(tasks: &[TaskRow], findings: &[FindingRow]) -> BTreeMap<(String, String), Counts> {
    let mut out: BTreeMap<(String, String), Vec<TaskRow>> = BTreeMap::new();
    for t in tasks {
        out.entry((t.target_type.clone(), t.target_name.clone()))
            .or_default()
            .push(t.clone());
    }
    out.into_iter()
        .map(|(k, ts)| {
            let ids: Vec<i64> = ts.iter().map(|t| t.id).collect();
            let fs: Vec<FindingRow> = findings
                .iter()
                .filter(|f| ids.contains(&f.task_id))
                .cloned()
                .collect();
            (k, stats(&facts(&ts, &fs)).overall)
        })
        .collect()
}

/// The photos a task's photo items hold (the evidence taken on site).
pub fn photos_of(t: &TaskRow) -> usize {
    let Ok(items) = serde_json::from_str::<Vec<Item>>(&t.items) else {
        return 0;
    };
    if !items.iter().any(|it| it.kind == ItemKind::Photo) {
        return 0;
    }
    let readings: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&t.readings).unwrap_or_default();
    items
        .iter()
        .filter(|it| it.kind == ItemKind::Photo)
        .filter_map(|it| readings.get(&it.key))
        .map(|v| photo_ids(v).len())
        .sum()
}

fn type_label(tt: &str) -> &'static str {
    TargetType::parse(tt).map_or("其他", TargetType::label)
}

fn trend_text(now: &Counts, before: &Counts) -> String {
    let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => {
            let d = ((a - b) * 10.0).round() / 10.0;
            if d > 0.0 {
                format!("上升 {d} 个百分点")
            } else if d < 0.0 {
                format!("下降 {} 个百分点", -d)
            } else {
                "持平".into()
            }
        }
        _ => "上期无数据".into(),
    };
    format!(
        "与上期相比：计划任务 {} 个（上期 {} 个），完成率 {}（上期 {}，{}）；发现问题 {} 项（上期 {} 项），整改率 {}（上期 {}）。",
        now.planned,
        before.planned,
        pct(now.completion_rate),
        pct(before.completion_rate),
        diff(now.completion_rate, before.completion_rate),
        now.findings,
        before.findings,
        pct(now.rectification_rate),
        pct(before.rectification_rate),
    )
}

/// The DOCX.
pub fn docx(d: &InspectionData) -> anyhow::Result<Vec<u8>> {
    let s = stats(&facts(&d.tasks, &d.findings));
    let o = &s.overall;
    let targets = per_target(&d.tasks, &d.findings);
    let mut people: Vec<String> = d
        .tasks
        .iter()
        .filter_map(|t| t.assignee_name.clone())
        .collect();
    people.sort();
    people.dedup();
    let photos: usize = d.tasks.iter().map(photos_of).sum();
    let vars = text_vars(d, o, targets.len(), &people, photos);
    let mut b = DocBuilder::new(&d.meta).heading(1, "巡检概况");
    b = paragraphs(b, &d.texts.render("inspection.overview", &vars));
    b = paragraphs(b, &d.texts.render("inspection.summary", &vars));
    b = b.heading(1, "巡检结果汇总");
    let mut rows = Vec::new();
    for (tt, c) in &s.by_target_type {
        let n = targets.keys().filter(|(t, _)| t == tt).count();
        rows.push(counts_row(type_label(tt), n, c));
    }
    rows.push(counts_row("合计", targets.len(), o));
    b = b.table(&SUMMARY_HEADERS, &rows, &[3, 2, 2, 2, 2, 2, 2, 2, 2]);
    b = b.heading(1, "分对象巡检情况");
    let detail: Vec<Vec<String>> = targets
        .iter()
        .map(|((tt, name), c)| {
            vec![
                type_label(tt).to_string(),
                name.clone(),
                c.planned.to_string(),
                c.completed.to_string(),
                c.completed_on_time.to_string(),
                pct(c.completion_rate),
                c.findings.to_string(),
            ]
        })
        .collect();
    b = b.table(
        &["类别", "对象", "计划", "完成", "按时", "完成率", "问题"],
        &detail,
        &[2, 6, 1, 1, 1, 2, 1],
    );
    b = b.heading(1, "发现问题及处理情况");
    if d.findings.is_empty() {
        b = b.paragraph("本期巡检未发现异常。");
    } else {
        let rows: Vec<Vec<String>> = d
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                vec![
                    (i + 1).to_string(),
                    f.target_name.clone(),
                    f.detail.clone(),
                    f.ticket_number.clone().unwrap_or_else(|| "—".into()),
                    if f.status == "rectified" {
                        "已整改"
                    } else {
                        "待整改"
                    }
                    .into(),
                ]
            })
            .collect();
        b = b.table(
            &["序号", "对象", "问题描述", "工单", "状态"],
            &rows,
            &[1, 3, 6, 3, 2],
        );
    }
    b = b
        .heading(1, "趋势分析")
        .paragraph(&trend_text(o, &d.previous.overall))
        .heading(1, "风险提示与建议");
    b = paragraphs(b, &d.texts.render("inspection.advice", &vars));
    b = b.signatures();
    b.finish()
}

/// A block's text as paragraphs, one per non-empty line.
fn paragraphs(mut b: DocBuilder, text: &str) -> DocBuilder {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        b = b.paragraph(line);
    }
    b
}

/// The XLSX: the summary, every task, and the findings.
pub fn xlsx(d: &InspectionData) -> anyhow::Result<Vec<u8>> {
    let s = stats(&facts(&d.tasks, &d.findings));
    let targets = per_target(&d.tasks, &d.findings);
    let mut summary: Vec<Vec<Cell>> = Vec::new();
    let row = |label: &str, n: usize, c: &Counts| -> Vec<Cell> {
        vec![
            label.into(),
            Cell::Number(n as f64),
            c.planned.into(),
            c.completed.into(),
            c.completed_on_time.into(),
            c.completion_rate.into(),
            c.findings.into(),
            c.rectified.into(),
            c.rectification_rate.into(),
        ]
    };
    for (tt, c) in &s.by_target_type {
        let n = targets.keys().filter(|(t, _)| t == tt).count();
        summary.push(row(type_label(tt), n, c));
    }
    summary.push(row("合计", targets.len(), &s.overall));
    let time = |ms: Option<i64>| {
        ms.and_then(DateTime::<Utc>::from_timestamp_millis)
            .map_or(Cell::Empty, Cell::Time)
    };
    let tasks: Vec<Vec<Cell>> = d
        .tasks
        .iter()
        .map(|t| {
            vec![
                Cell::Number(t.id as f64),
                type_label(&t.target_type).into(),
                t.target_name.clone().into(),
                t.template_name.clone().into(),
                t.assignee_name.clone().unwrap_or_default().into(),
                time(Some(t.due_at)),
                time(t.submitted_at),
                TaskStatus::parse(&t.status)
                    .map_or(t.status.clone(), |s| s.label().to_string())
                    .into(),
                Cell::Number(t.findings as f64),
                Cell::Number(photos_of(t) as f64),
            ]
        })
        .collect();
    let findings: Vec<Vec<Cell>> = d
        .findings
        .iter()
        .map(|f| {
            vec![
                Cell::Number(f.id as f64),
                f.target_name.clone().into(),
                f.label.clone().into(),
                f.detail.clone().into(),
                f.ticket_number.clone().unwrap_or_default().into(),
                if f.status == "rectified" {
                    "已整改"
                } else {
                    "待整改"
                }
                .into(),
                time(f.rectified_at),
            ]
        })
        .collect();
    let title = format!("{}（{}）", d.meta.title, d.meta.period);
    workbook(
        &[
            Sheet {
                name: "汇总",
                title: format!("{title} 汇总"),
                headers: SUMMARY_HEADERS.to_vec(),
                rows: summary,
            },
            Sheet {
                name: "巡检任务",
                title: format!("{title} 巡检任务"),
                headers: vec![
                    "任务编号",
                    "类别",
                    "对象",
                    "模板",
                    "执行人",
                    "截止时间",
                    "提交时间",
                    "状态",
                    "问题数",
                    "照片数",
                ],
                rows: tasks,
            },
            Sheet {
                name: "发现问题",
                title: format!("{title} 发现问题"),
                headers: vec![
                    "编号",
                    "对象",
                    "检查项",
                    "问题描述",
                    "工单",
                    "状态",
                    "整改时间",
                ],
                rows: findings,
            },
        ],
        &d.meta.title,
        &d.meta.contractor,
        d.meta.created,
    )
}
