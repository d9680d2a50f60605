//! 《月度巡检报告》 (infrastructure or systems) and 《周期巡检报告》 (one plan over a period),
//! as DOCX and XLSX, from the tasks and findings of the period. The figures are those of
//! `GET /inspections/stats` (the same `domain::inspection::stats`), so the document and
//! the API never disagree. Outline after cn-ops.md §1.3.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::chart::{self, Chart, Series};
use super::docx::{DocBuilder, DocMeta};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, SheetChart, workbook_with_charts};
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
    /// The period `[from, to)`, for the daily trend.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Names of the systems inspected in either period (the per-system comparison).
    pub system_names: BTreeMap<i64, String>,
    /// The font the charts are drawn with, or why there is none (then the figures are
    /// listed as tables and the document says why).
    pub font: Result<Arc<chart::Font>, String>,
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

/// Most categories in a comparison chart; the rest are left out (the tables list all).
const MAX_CHART_CATEGORIES: usize = 20;

/// What a chart of the report shows, before it is drawn (or listed as a table).
pub struct ChartSpec {
    pub chart: Chart,
    /// Bars (a comparison) or a line (a trend).
    pub bars: bool,
    pub caption: String,
}

/// A category of a comparison: its label, this period's and the previous period's counts.
type Category = (String, Counts, Counts);

/// "本月/上月" for a month, "本期/上期" for any other period.
fn period_words(label: &str) -> (&'static str, &'static str) {
    if label.ends_with('月') && !label.contains('至') {
        ("本月", "上月")
    } else {
        ("本期", "上期")
    }
}

/// The charts of the trend section: completion rate per category (per system when only
/// systems were inspected) this period against the previous one, findings against
/// rectified, and the daily (monthly, for long periods) completion.
pub fn chart_specs(d: &InspectionData, s: &Stats) -> Vec<ChartSpec> {
    let (now_w, before_w) = period_words(&d.meta.period);
    let by_system = !d.tasks.is_empty()
        && d.tasks.iter().all(|t| t.target_type == "system")
        && !s.by_system.is_empty();
    let mut cats: Vec<Category> = if by_system {
        let mut ids: Vec<i64> = s
            .by_system
            .keys()
            .chain(d.previous.by_system.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut v: Vec<Category> = ids
            .into_iter()
            .map(|id| {
                (
                    d.system_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("系统 {id}")),
                    s.by_system.get(&id).cloned().unwrap_or_default(),
                    d.previous.by_system.get(&id).cloned().unwrap_or_default(),
                )
            })
            .collect();
        // The most inspected first when there are more than fit.
        if v.len() > MAX_CHART_CATEGORIES {
            v.sort_by(|a, b| b.1.planned.cmp(&a.1.planned).then(a.0.cmp(&b.0)));
            v.truncate(MAX_CHART_CATEGORIES);
        }
        v
    } else {
        let mut keys: Vec<&str> = s
            .by_target_type
            .keys()
            .chain(d.previous.by_target_type.keys())
            .copied()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|k| {
                (
                    type_label(k).to_string(),
                    s.by_target_type.get(k).cloned().unwrap_or_default(),
                    d.previous
                        .by_target_type
                        .get(k)
                        .cloned()
                        .unwrap_or_default(),
                )
            })
            .collect()
    };
    cats.push(("合计".into(), s.overall.clone(), d.previous.overall.clone()));
    let what = if by_system {
        "各系统"
    } else {
        "各类对象"
    };
    let labels: Vec<String> = cats.iter().map(|c| c.0.clone()).collect();
    let series = |name: String, f: &dyn Fn(&Category) -> Option<f64>| Series {
        name,
        values: cats.iter().map(f).collect(),
    };
    let completion = Chart {
        title: format!("{what}巡检完成率对比（{now_w}与{before_w}）"),
        categories: labels.clone(),
        series: vec![
            series(now_w.to_string(), &|c| c.1.completion_rate),
            series(before_w.to_string(), &|c| c.2.completion_rate),
        ],
        y_label: "完成率（%）".into(),
        unit: "%".into(),
        max: Some(100.0),
        size: (chart::WIDTH, chart::HEIGHT),
    };
    let findings = Chart {
        title: format!("{what}发现问题与整改情况（{now_w}与{before_w}）"),
        categories: labels,
        series: vec![
            series(format!("{now_w}发现问题"), &|c| {
                Some(f64::from(c.1.findings))
            }),
            series(format!("{now_w}已整改"), &|c| {
                Some(f64::from(c.1.rectified))
            }),
            series(format!("{before_w}发现问题"), &|c| {
                Some(f64::from(c.2.findings))
            }),
            series(format!("{before_w}已整改"), &|c| {
                Some(f64::from(c.2.rectified))
            }),
        ],
        y_label: "数量（项）".into(),
        unit: String::new(),
        max: None,
        size: (chart::WIDTH, chart::HEIGHT),
    };
    let Trend {
        labels: days,
        planned,
        completed,
        per,
    } = daily(&d.tasks, d.from, d.to);
    let trend = Chart {
        title: format!("{per}巡检完成情况"),
        categories: days,
        series: vec![
            Series {
                name: "计划任务".into(),
                values: planned,
            },
            Series {
                name: "已完成".into(),
                values: completed,
            },
        ],
        y_label: "任务数（个）".into(),
        unit: String::new(),
        max: None,
        size: (chart::WIDTH, chart::HEIGHT),
    };
    let mut n = 0;
    let mut caption = |c: &Chart| {
        n += 1;
        format!("图 {n}　{}", c.title)
    };
    vec![
        ChartSpec {
            caption: caption(&completion),
            chart: completion,
            bars: true,
        },
        ChartSpec {
            caption: caption(&findings),
            chart: findings,
            bars: true,
        },
        ChartSpec {
            caption: caption(&trend),
            chart: trend,
            bars: false,
        },
    ]
}

/// Tasks planned and completed per day or month.
pub struct Trend {
    pub labels: Vec<String>,
    pub planned: Vec<Option<f64>>,
    pub completed: Vec<Option<f64>>,
    /// 每日 or 每月.
    pub per: &'static str,
}

/// Tasks planned and completed per day of the period by their due day (Beijing), or per
/// month when the period is longer than two months.
pub fn daily(tasks: &[TaskRow], from: DateTime<Utc>, to: DateTime<Utc>) -> Trend {
    use chrono::Datelike;
    let bj = crate::clock::beijing();
    let first = from.with_timezone(&bj).date_naive();
    let last = (to - chrono::Duration::milliseconds(1))
        .with_timezone(&bj)
        .date_naive();
    let days = (last - first).num_days().clamp(0, 366 * 6) + 1;
    let monthly = days > 62;
    let key = |d: chrono::NaiveDate| -> i64 {
        if monthly {
            i64::from(d.year() - first.year()) * 12 + i64::from(d.month())
                - i64::from(first.month())
        } else {
            (d - first).num_days()
        }
    };
    let n = key(last).clamp(0, chart::MAX_POINTS as i64 - 1) + 1;
    let one_month = first.year() == last.year() && first.month() == last.month();
    let labels: Vec<String> = (0..n)
        .map(|i| {
            if monthly {
                first
                    .with_day(1)
                    .and_then(|d| d.checked_add_months(chrono::Months::new(i as u32)))
                    .map_or_else(String::new, |d| d.format("%Y-%m").to_string())
            } else {
                let d = first + chrono::Duration::days(i);
                if one_month {
                    format!("{}日", d.day())
                } else {
                    format!("{}/{}", d.month(), d.day())
                }
            }
        })
        .collect();
    let mut planned = vec![0u32; n as usize];
    let mut completed = vec![0u32; n as usize];
    for t in tasks {
        let Some(due) = DateTime::<Utc>::from_timestamp_millis(t.due_at) else {
            continue;
        };
        let k = key(due.with_timezone(&bj).date_naive());
        let Some(i) = usize::try_from(k).ok().filter(|i| *i < n as usize) else {
            continue;
        };
        planned[i] += 1;
        if TaskStatus::parse(&t.status).is_some_and(TaskStatus::completed) {
            completed[i] += 1;
        }
    }
    let f = |v: Vec<u32>| v.into_iter().map(|x| Some(f64::from(x))).collect();
    Trend {
        labels,
        planned: f(planned),
        completed: f(completed),
        per: if monthly { "每月" } else { "每日" },
    }
}

/// The charts as images, or, without a font, a note saying why and their figures as tables.
fn add_charts(mut b: DocBuilder, d: &InspectionData, s: &Stats) -> DocBuilder {
    let specs = chart_specs(d, s);
    match &d.font {
        Ok(font) => {
            for spec in specs {
                let png = if spec.bars {
                    chart::bar(font, &spec.chart)
                } else {
                    chart::line(font, &spec.chart)
                };
                b = b.image(png.bytes, (png.width, png.height), 16.0, &spec.caption);
            }
        }
        Err(why) => {
            b = b.paragraph(&format!(
                "说明：本报告未生成统计图（{why}），图中数据以表格列出如下。"
            ));
            for spec in specs {
                let c = &spec.chart;
                let mut headers: Vec<&str> = vec![if spec.bars { "类别" } else { "日期" }];
                headers.extend(c.series.iter().map(|s| s.name.as_str()));
                let rows = c.table_rows();
                let mut widths = vec![3];
                widths.extend(c.series.iter().map(|_| 2));
                b = b.paragraph(&spec.caption).table(&headers, &rows, &widths);
            }
        }
    }
    b
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
    b = b.paragraphs(&d.texts.render("inspection.overview", &vars));
    b = b.paragraphs(&d.texts.render("inspection.summary", &vars));
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
        .paragraph(&trend_text(o, &d.previous.overall));
    b = add_charts(b, d, &s);
    b = b.heading(1, "风险提示与建议");
    b = b.paragraphs(&d.texts.render("inspection.advice", &vars));
    b = b.signatures();
    b.finish()
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
    let charts: Vec<SheetChart> = chart_specs(d, &s)
        .into_iter()
        .map(|spec| SheetChart {
            title: spec.chart.title,
            bars: spec.bars,
            category_header: if spec.bars { "类别" } else { "日期" }.into(),
            categories: spec.chart.categories,
            series: spec
                .chart
                .series
                .into_iter()
                .map(|s| (s.name, s.values))
                .collect(),
            y_label: spec.chart.y_label,
            percent: spec.chart.unit == "%",
        })
        .collect();
    workbook_with_charts(
        &[
            Sheet::new(
                "汇总",
                format!("{title} 汇总"),
                SUMMARY_HEADERS.to_vec(),
                summary,
            ),
            Sheet::new(
                "巡检任务",
                format!("{title} 巡检任务"),
                vec![
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
                tasks,
            ),
            Sheet::new(
                "发现问题",
                format!("{title} 发现问题"),
                vec![
                    "编号",
                    "对象",
                    "检查项",
                    "问题描述",
                    "工单",
                    "状态",
                    "整改时间",
                ],
                findings,
            ),
        ],
        &charts,
        &d.meta.title,
        &d.meta.contractor,
        d.meta.created,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::{Cursor, Read};

    fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        crate::clock::beijing()
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn task(
        id: i64,
        tt: &str,
        sys: Option<i64>,
        name: &str,
        due: DateTime<Utc>,
        status: &str,
    ) -> TaskRow {
        TaskRow {
            id,
            plan_id: None,
            template_id: 1,
            template_name: "日检".into(),
            items: "[]".into(),
            target_type: tt.into(),
            target_id: id,
            target_name: name.into(),
            system_id: sys,
            round_at: due.timestamp_millis(),
            due_at: due.timestamp_millis(),
            assignee_id: None,
            assignee_name: None,
            status: status.into(),
            readings: "{}".into(),
            started_at: None,
            submitted_at: (status == "submitted").then(|| due.timestamp_millis()),
            reviewed_at: None,
            reviewer_id: None,
            review_comment: None,
            findings: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn data(tasks: Vec<TaskRow>, font: Result<Arc<chart::Font>, String>) -> InspectionData {
        InspectionData {
            meta: DocMeta::sample("月度巡检报告", Some("基础设施"), bj(2025, 12, 1, 9)),
            scope_label: "机房基础环境及硬件设备".into(),
            tasks,
            findings: Vec::new(),
            previous: Stats::default(),
            from: bj(2025, 11, 1, 0),
            to: bj(2025, 12, 1, 0),
            system_names: BTreeMap::new(),
            font,
            texts: crate::report::texts::Texts::defaults(),
        }
    }

    fn sample_tasks() -> Vec<TaskRow> {
        vec![
            task(1, "site", None, "一号机房", bj(2025, 11, 1, 9), "submitted"),
            task(
                2,
                "asset",
                None,
                "核心交换机",
                bj(2025, 11, 1, 10),
                "pending",
            ),
            task(
                3,
                "asset",
                None,
                "核心交换机",
                bj(2025, 11, 30, 23),
                "approved",
            ),
        ]
    }

    fn media(bytes: &[u8]) -> Vec<String> {
        let z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
        z.file_names()
            .filter_map(|n| n.ok().map(|n| n.to_string()))
            .filter(|n| n.starts_with("word/media/") && n.ends_with(".png"))
            .collect()
    }

    #[test]
    fn the_daily_trend_counts_tasks_by_their_beijing_due_day_or_month() {
        let Trend {
            labels,
            planned,
            completed,
            per,
        } = daily(&sample_tasks(), bj(2025, 11, 1, 0), bj(2025, 12, 1, 0));
        assert_eq!(per, "每日");
        assert_eq!(labels.len(), 30);
        assert_eq!((labels[0].as_str(), labels[29].as_str()), ("1日", "30日"));
        assert_eq!((planned[0], completed[0]), (Some(2.0), Some(1.0)));
        assert_eq!((planned[29], completed[29]), (Some(1.0), Some(1.0)));
        assert_eq!(planned[1], Some(0.0));
        let Trend {
            labels,
            planned,
            per,
            ..
        } = daily(&sample_tasks(), bj(2025, 1, 1, 0), bj(2026, 1, 1, 0));
        assert_eq!(per, "每月");
        assert_eq!(labels.len(), 12);
        assert_eq!(labels[10], "2025-11");
        assert_eq!(planned[10], Some(3.0));
        // Five years and more stay within the renderer's bound.
        let t = daily(&[], bj(2000, 1, 1, 0), bj(2100, 1, 1, 0));
        assert!(t.labels.len() <= chart::MAX_POINTS);
    }

    #[test]
    fn every_chart_label_is_in_the_checked_glyphs_and_the_font_has_it() {
        let d = data(sample_tasks(), Err(String::new()));
        let s = stats(&facts(&d.tasks, &d.findings));
        let specs = chart_specs(&d, &s);
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[0].chart.categories, vec!["设备", "机房", "合计"]);
        assert_eq!(specs[0].chart.series[0].name, "本月");
        assert_eq!(
            specs[0].chart.series[0].values,
            vec![Some(50.0), Some(100.0), Some(66.7)]
        );
        assert_eq!(specs[0].chart.series[1].values, vec![None, None, None]);
        let mut labels = Vec::new();
        for spec in &specs {
            let c = &spec.chart;
            labels.extend([c.title.clone(), c.y_label.clone(), spec.caption.clone()]);
            labels.extend(c.series.iter().map(|s| s.name.clone()));
            labels.extend(c.categories.iter().cloned());
        }
        for l in &labels {
            for ch in l.chars().filter(|c| !c.is_whitespace()) {
                assert!(
                    chart::REQUIRED_GLYPHS.contains(ch),
                    "“{ch}” of “{l}” is not among the glyphs a font is checked for"
                );
            }
        }
        match chart::font(None) {
            Ok(f) => {
                for l in &labels {
                    assert_eq!(f.missing(l), None, "{l}");
                }
            }
            Err(e) => assert!(std::env::var("CI").is_err(), "{e}"),
        }
    }

    #[test]
    fn the_docx_has_three_chart_images_or_says_why_and_lists_the_figures() {
        let without = docx(&data(sample_tasks(), Err("测试：无字体".into()))).unwrap();
        assert!(media(&without).is_empty());
        let mut doc = String::new();
        zip::ZipArchive::new(Cursor::new(without))
            .unwrap()
            .by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut doc)
            .unwrap();
        assert!(doc.contains("未生成统计图（测试：无字体）"), "{doc}");
        assert!(doc.contains("本月发现问题") && doc.contains("66.7%"));
        let Ok(font) = chart::font(None) else { return };
        let with = docx(&data(sample_tasks(), Ok(font))).unwrap();
        assert_eq!(media(&with).len(), 3, "{:?}", media(&with));
        let x = xlsx(&data(sample_tasks(), Err(String::new()))).unwrap();
        let z = zip::ZipArchive::new(Cursor::new(x)).unwrap();
        assert_eq!(
            z.file_names()
                .filter_map(|n| n.ok())
                .filter(|n| n.starts_with("xl/charts/chart"))
                .count(),
            3
        );
    }
}
