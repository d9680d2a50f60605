//! 《运维月报》 (`om_monthly`, DOCX and XLSX; outline after cn-ops.md §1.2): the month's
//! overview and key indicators against the month before, routine work (inspections of the
//! machine room and of the systems, the systems' availability), the service desk's
//! indicators by kind, priority, source and category, the incident and change lists,
//! backups, problems and next month's plan (editable `om.*` text blocks), and charts.
//! The desk figures are `domain::desk_stats`' (as `GET /tickets/stats`), the inspection
//! figures `inspect::tasks::indicators`' (as `GET /inspections/stats`) and the
//! availability `monitor::availability`'s (as `GET /systems/{id}/availability`), so the
//! document and the API never disagree.

use std::sync::Arc;

use chrono::Datelike;

use serde_json::{Value, json};

use super::chart::{self, Chart, Series};
use super::docx::{DocBuilder, DocMeta};
use super::operations::{minutes, pct};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, SheetChart, text_rows, workbook_with_charts};
use super::{Format, Made, Period};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::desk_stats::Indicators;
use crate::domain::inspection::stats::{Counts, Stats};
use crate::domain::om::{OmFigures, SystemUptime, figures};
use crate::error::AppResult;

pub const TITLE: &str = "运维月报";

/// Everything the document shows.
pub struct OmData {
    pub meta: DocMeta,
    pub figures: OmFigures,
    /// Incidents by priority of the period before (P1..P4).
    pub previous_by_priority: Vec<i64>,
    pub inspections: Stats,
    pub previous_inspections: Stats,
    pub texts: Texts,
    pub font: Result<Arc<chart::Font>, String>,
    /// The contract's quality targets measured over the period (`GET /contract`), or why
    /// there are none.
    pub quality: Result<Vec<Value>, String>,
    /// The month's backup coverage per policy (`GET /backups/coverage`), or why there is
    /// none.
    pub backups: Result<Vec<Value>, String>,
}

/// 系统, 数据集, 应备份, 成功, 失败, 漏备, 成功率; and the totals' sentence.
pub fn backup_rows(items: &[Value]) -> (Vec<Vec<String>>, String) {
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    let (mut due, mut ok, mut failed, mut missed) = (0, 0, 0, 0);
    let rows = items
        .iter()
        .map(|v| {
            due += n(v, "due");
            ok += n(v, "succeeded");
            failed += n(v, "failed");
            missed += n(v, "missed");
            vec![
                v["system_name"].as_str().unwrap_or_default().to_string(),
                v["data_set"].as_str().unwrap_or_default().to_string(),
                n(v, "due").to_string(),
                n(v, "succeeded").to_string(),
                n(v, "failed").to_string(),
                n(v, "missed").to_string(),
                ratio(v["success_rate"].as_f64()),
            ]
        })
        .collect();
    let rate = (due > 0).then(|| ok as f64 / due as f64);
    let text = format!(
        "本月 {} 个备份策略应执行备份 {due} 次，成功 {ok} 次，失败 {failed} 次，漏备 {missed} 次，备份成功率 {}。",
        items.len(),
        ratio(rate)
    );
    (rows, text)
}

pub const BACKUP_HEADERS: [&str; 7] =
    ["系统", "数据集", "应备份", "成功", "失败", "漏备", "成功率"];

/// A ratio (0–1) as "99.95%" or "—".
pub fn ratio(v: Option<f64>) -> String {
    pct(v.map(|r| (r * 10_000.0).round() / 100.0))
}

fn counts<'a>(s: &'a Stats, key: &str) -> Option<&'a Counts> {
    s.by_target_type.get(key)
}

/// Planned and completed tasks and findings of the machine room and devices together.
fn infrastructure(s: &Stats) -> (u32, u32, u32, u32) {
    let mut t = (0, 0, 0, 0);
    for k in ["site", "asset"] {
        if let Some(c) = counts(s, k) {
            t.0 += c.planned;
            t.1 += c.completed;
            t.2 += c.findings;
            t.3 += c.rectified;
        }
    }
    t
}

fn rate(n: u32, d: u32) -> String {
    pct(crate::domain::inspection::stats::rate(n, d))
}

/// The figures of the period (`f`) and of its inspections (`i`) the editable paragraphs of
/// both the O&M and the annual report may use; each report adds its own.
pub fn figure_vars(f: &OmFigures, i: &Counts) -> Value {
    let c = &f.current;
    json!({
        "tickets": c.tickets,
        "incidents": c.incidents,
        "resolved": c.resolved,
        "open": c.open,
        "changes": f.changes.len(),
        "availability": ratio(f.availability_mean),
        "mtta": minutes(c.mtta_minutes),
        "mttr": minutes(c.mttr_minutes),
        "sla_compliance": ratio(c.sla_compliance),
        "onsite_rate": ratio(c.onsite_within_target),
        "satisfaction": ratio(c.satisfaction_good_share),
        "inspection_planned": i.planned,
        "inspection_completed": i.completed,
        "inspection_rate": pct(i.completion_rate),
        "findings": i.findings,
        "rectified": i.rectified,
        "unrectified": i.findings.saturating_sub(i.rectified),
        "rectification_rate": pct(i.rectification_rate),
        "prev_incidents": f.previous.incidents,
    })
}

/// The figures the editable paragraphs may use (`texts::OM_VARS`).
pub fn text_vars(d: &OmData) -> Value {
    let f = &d.figures;
    let open_p1 = f
        .incidents
        .iter()
        .filter(|l| l.priority == "P1" && l.minutes.is_none())
        .count();
    let mut vars = figure_vars(f, &d.inspections.overall);
    vars["period"] = json!(d.meta.period);
    vars["open_p1"] = json!(open_p1);
    vars["systems_measured"] = json!(f.systems_measured);
    vars["systems_total"] = json!(f.systems_total);
    vars
}

/// The key indicators: name, this period, the period before.
pub fn key_rows(f: &OmFigures, i: &Counts, pi: &Counts) -> Vec<[String; 3]> {
    let (c, p) = (&f.current, &f.previous);
    let ind = |f: fn(&Indicators) -> Option<f64>| [ratio(f(c)), ratio(f(p))];
    let row = |name: &str, v: [String; 2]| {
        let [a, b] = v;
        [name.to_string(), a, b]
    };
    vec![
        row(
            "系统可用率（有监控的系统平均）",
            [ratio(f.availability_mean), "—".into()],
        ),
        row("工单总数", [c.tickets.to_string(), p.tickets.to_string()]),
        row("故障数", [c.incidents.to_string(), p.incidents.to_string()]),
        row(
            "平均响应时长",
            [minutes(c.mtta_minutes), minutes(p.mtta_minutes)],
        ),
        row(
            "平均修复时长（MTTR）",
            [minutes(c.mttr_minutes), minutes(p.mttr_minutes)],
        ),
        row("SLA 达标率", ind(|x| x.sla_compliance)),
        row("到场及时率", ind(|x| x.onsite_within_target)),
        row("一次解决率", ind(|x| x.first_time_fix)),
        row(
            "满意度（满意及以上占比）",
            ind(|x| x.satisfaction_good_share),
        ),
        row(
            "巡检完成率",
            [pct(i.completion_rate), pct(pi.completion_rate)],
        ),
        row(
            "问题整改率",
            [pct(i.rectification_rate), pct(pi.rectification_rate)],
        ),
    ]
}

pub fn pairs(v: &[(String, i64)]) -> Vec<Vec<String>> {
    let total: i64 = v.iter().map(|(_, n)| n).sum();
    let mut rows: Vec<Vec<String>> = v
        .iter()
        .map(|(k, n)| vec![k.clone(), n.to_string()])
        .collect();
    rows.push(vec!["合计".into(), total.to_string()]);
    rows
}

struct Spec {
    chart: Chart,
    caption: String,
}

/// The charts: incidents by priority and tickets by kind, this period against the last.
fn chart_specs(d: &OmData) -> Vec<Spec> {
    let f = &d.figures;
    let this: Vec<Option<f64>> = f
        .incidents_by_priority
        .iter()
        .map(|(_, n)| Some(*n as f64))
        .collect();
    let last: Vec<Option<f64>> = d
        .previous_by_priority
        .iter()
        .map(|n| Some(*n as f64))
        .collect();
    vec![Spec {
        chart: Chart {
            title: "故障按优先级统计".into(),
            categories: f
                .incidents_by_priority
                .iter()
                .map(|(p, _)| p.clone())
                .collect(),
            series: vec![
                Series {
                    name: "本月".into(),
                    values: this,
                },
                Series {
                    name: "上月".into(),
                    values: last,
                },
            ],
            y_label: "故障数（个）".into(),
            unit: String::new(),
            max: None,
            size: (1200, 600),
        },
        caption: "图 1 故障按优先级统计（本月与上月）".into(),
    }]
}

fn add_charts(mut b: DocBuilder, d: &OmData) -> DocBuilder {
    let specs = chart_specs(d);
    match &d.font {
        Ok(font) => {
            for s in specs {
                let png = chart::bar(font, &s.chart);
                b = b.image(png.bytes, (png.width, png.height), 16.0, &s.caption);
            }
        }
        Err(why) => {
            b = b.paragraph(&format!(
                "说明：本报告未生成统计图（{why}），图中数据以表格列出如下。"
            ));
            for s in specs {
                let c = &s.chart;
                let rows = c.table_rows();
                b = b
                    .paragraph(&s.caption)
                    .table(&["优先级", "本月", "上月"], &rows, &[3, 2, 2]);
            }
        }
    }
    b
}

pub fn availability_rows(f: &OmFigures) -> Vec<Vec<String>> {
    f.systems
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.name.clone(),
                if s.monitors == 0 {
                    "未监控".into()
                } else {
                    s.monitors.to_string()
                },
                ratio(s.availability),
                if s.monitors == 0 {
                    "—".into()
                } else {
                    s.down_minutes.to_string()
                },
            ]
        })
        .collect()
}

/// The availability table's cells in a workbook: numbers and percentages, blanks where
/// a system is not monitored.
pub fn availability_cells(f: &OmFigures) -> Vec<Vec<Cell>> {
    f.systems
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i as i64 + 1).into(),
                s.name.clone().into(),
                (s.monitors as i64).into(),
                s.availability.map_or(Cell::Empty, |a| {
                    Cell::Percent((a * 10_000.0).round() / 100.0)
                }),
                if s.monitors == 0 {
                    Cell::Empty
                } else {
                    s.down_minutes.into()
                },
            ]
        })
        .collect()
}

pub fn incident_rows(f: &OmFigures) -> Vec<Vec<String>> {
    f.incidents
        .iter()
        .map(|l| {
            vec![
                l.number.clone(),
                crate::clock::local_minutes(l.reported_at),
                l.system.clone(),
                l.priority.clone(),
                l.title.clone(),
                l.source.clone(),
                l.status.clone(),
                l.minutes.map_or("—".into(), |m| m.to_string()),
            ]
        })
        .collect()
}

pub fn change_rows(f: &OmFigures) -> Vec<Vec<String>> {
    f.changes
        .iter()
        .map(|l| {
            vec![
                l.number.clone(),
                crate::clock::local_minutes(l.reported_at),
                l.system.clone(),
                l.change_type.clone(),
                l.title.clone(),
                l.status.clone(),
            ]
        })
        .collect()
}

pub const INCIDENT_HEADERS: [&str; 8] = [
    "工单号",
    "报障时间",
    "系统",
    "优先级",
    "故障现象",
    "来源",
    "状态",
    "处理时长（分钟）",
];
pub const CHANGE_HEADERS: [&str; 6] = ["工单号", "申请时间", "系统", "变更类型", "内容", "状态"];
pub const AVAILABILITY_HEADERS: [&str; 5] =
    ["序号", "系统", "监控项数", "可用率", "中断时长（分钟）"];

/// The DOCX.
pub fn docx(d: &OmData) -> anyhow::Result<Vec<u8>> {
    let f = &d.figures;
    let vars = text_vars(d);
    let mut b = DocBuilder::new(&d.meta).heading(1, "本月运维情况综述");
    b = b.paragraphs(&d.texts.render("om.overview", &vars));
    let keys: Vec<Vec<String>> =
        key_rows(f, &d.inspections.overall, &d.previous_inspections.overall)
            .into_iter()
            .map(Vec::from)
            .collect();
    b = b
        .heading(2, "关键指标一览")
        .table(&["指标", "本月", "上月"], &keys, &[4, 2, 2]);

    b = b.heading(1, "常规运维工作开展情况");
    let (planned, done, found, fixed) = infrastructure(&d.inspections);
    b = b.heading(2, "基础设施运维").paragraph(&format!(
        "本月机房及设备计划巡检任务 {planned} 个，完成 {done} 个，完成率 {}；发现问题 {found} 项，已整改 {fixed} 项，整改率 {}。明细见《月度巡检报告（基础设施）》。",
        rate(done, planned),
        rate(fixed, found)
    ));
    let sys = counts(&d.inspections, "system")
        .cloned()
        .unwrap_or_default();
    b = b.heading(2, "软件系统运维").paragraph(&format!(
        "本月应用系统计划巡检任务 {} 个，完成 {} 个，完成率 {}；发现问题 {} 项，已整改 {} 项。纳入监控的系统 {} 个（共 {} 个），平均可用率 {}。",
        sys.planned,
        sys.completed,
        pct(sys.completion_rate),
        sys.findings,
        sys.rectified,
        f.systems_measured,
        f.systems_total,
        ratio(f.availability_mean)
    ));
    b = b.table(
        &AVAILABILITY_HEADERS,
        &availability_rows(f),
        &[1, 6, 2, 2, 2],
    );

    b = b.heading(1, "运维服务指标完成情况");
    b = b
        .heading(2, "工单分类统计")
        .table(&["工单类型", "数量"], &pairs(&f.by_kind), &[4, 2]);
    let c = &f.current;
    let sla = vec![
        vec!["平均响应时长".into(), minutes(c.mtta_minutes)],
        vec!["平均修复时长（MTTR）".into(), minutes(c.mttr_minutes)],
        vec!["SLA 达标率".into(), ratio(c.sla_compliance)],
        vec![
            format!("到场及时率（需到场 {} 次）", c.onsite_required),
            ratio(c.onsite_within_target),
        ],
        vec!["一次解决率".into(), ratio(c.first_time_fix)],
        vec![
            format!("满意度（评价 {} 次）", c.rated),
            ratio(c.satisfaction_good_share),
        ],
        vec!["异常主动发现率".into(), ratio(f.proactive_share)],
    ];
    b = b
        .heading(2, "服务水平指标")
        .table(&["指标", "本月"], &sla, &[4, 2]);
    b = b.heading(2, "故障统计").table(
        &["优先级", "故障数"],
        &pairs(&f.incidents_by_priority),
        &[4, 2],
    );
    if !f.incidents_by_source.is_empty() {
        b = b.table(
            &["发现来源", "故障数"],
            &pairs(&f.incidents_by_source),
            &[4, 2],
        );
        b = b.table(
            &["故障类别", "故障数"],
            &pairs(&f.incidents_by_category),
            &[4, 2],
        );
        let top: Vec<Vec<String>> = f
            .top_systems
            .iter()
            .enumerate()
            .map(|(i, (s, n))| vec![(i + 1).to_string(), s.clone(), n.to_string()])
            .collect();
        b = b.table(&["序号", "故障较多的系统", "故障数"], &top, &[1, 6, 2]);
    }
    b = add_charts(b, d);
    b = b.heading(2, "质量目标完成情况");
    b = match &d.quality {
        Ok(targets) => b.table(
            &["指标", "目标值", "实测值", "计算依据", "结论"],
            &super::quality::target_rows(targets),
            &[3, 2, 2, 5, 2],
        ),
        Err(why) => b.paragraph(why),
    };

    b = b.heading(1, "本月事件、问题及故障");
    if f.incidents.is_empty() {
        b = b.paragraph("本月无故障工单。");
    } else {
        b = b.table(
            &INCIDENT_HEADERS,
            &incident_rows(f),
            &[3, 3, 3, 1, 4, 2, 2, 2],
        );
    }
    b = b.heading(1, "变更与升级");
    if f.changes.is_empty() {
        b = b.paragraph("本月无变更工单。");
    } else {
        b = b.table(&CHANGE_HEADERS, &change_rows(f), &[3, 3, 3, 2, 5, 2]);
    }
    b = b.heading(1, "数据备份情况");
    b = match &d.backups {
        Ok(items) if !items.is_empty() => {
            let (rows, text) = backup_rows(items);
            b.paragraph(&text)
                .table(&BACKUP_HEADERS, &rows, &[5, 4, 1, 1, 1, 1, 2])
        }
        Ok(_) => b.paragraph("尚未登记备份策略，本月无备份监督记录。"),
        Err(why) => b.paragraph(why),
    };
    b = b.heading(1, "存在问题及改进建议");
    b = b.paragraphs(&d.texts.render("om.problems", &vars));
    b = b.heading(1, "下月工作计划");
    b = b.paragraphs(&d.texts.render("om.next_month", &vars));
    b.signatures().finish()
}

/// The XLSX: key indicators, availability, the incident and change lists, the counts,
/// and the chart.
pub fn xlsx(d: &OmData) -> anyhow::Result<Vec<u8>> {
    let f = &d.figures;
    let keys = text_rows(key_rows(
        f,
        &d.inspections.overall,
        &d.previous_inspections.overall,
    ));
    let mut counts: Vec<Vec<Cell>> = Vec::new();
    for (group, v) in [
        ("工单类型", &f.by_kind),
        ("故障优先级", &f.incidents_by_priority),
        ("故障来源", &f.incidents_by_source),
        ("故障类别", &f.incidents_by_category),
    ] {
        for (k, n) in v {
            counts.push(vec![group.into(), k.clone().into(), (*n).into()]);
        }
    }
    let availability = availability_cells(f);
    let quality = match &d.quality {
        Ok(t) => text_rows(super::quality::target_rows(t)),
        Err(why) => vec![vec![Cell::Text(why.clone())]],
    };
    let sheets = [
        Sheet::new(
            "关键指标",
            format!("{} 运维月报 关键指标", d.meta.period),
            vec!["指标", "本月", "上月"],
            keys,
        ),
        Sheet::new(
            "质量目标",
            format!("{} 质量目标完成情况", d.meta.period),
            vec!["指标", "目标值", "实测值", "计算依据", "结论"],
            quality,
        ),
        Sheet::new(
            "系统可用率",
            format!("{} 各系统可用率", d.meta.period),
            AVAILABILITY_HEADERS.to_vec(),
            availability,
        ),
        Sheet::new(
            "分类统计",
            format!("{} 工单与故障分类统计", d.meta.period),
            vec!["分组", "类别", "数量"],
            counts,
        ),
        Sheet::new(
            "故障清单",
            format!("{} 故障清单", d.meta.period),
            INCIDENT_HEADERS.to_vec(),
            text_rows(incident_rows(f)),
        ),
        Sheet::new(
            "变更清单",
            format!("{} 变更清单", d.meta.period),
            CHANGE_HEADERS.to_vec(),
            text_rows(change_rows(f)),
        ),
    ];
    let charts: Vec<SheetChart> = chart_specs(d)
        .into_iter()
        .map(|s| SheetChart {
            title: s.chart.title,
            bars: true,
            category_header: "优先级".into(),
            categories: s.chart.categories,
            series: s
                .chart
                .series
                .into_iter()
                .map(|x| (x.name, x.values))
                .collect(),
            y_label: s.chart.y_label,
            percent: false,
        })
        .collect();
    workbook_with_charts(
        &sheets,
        &charts,
        &format!("{TITLE}（{}）", d.meta.period),
        &d.meta.contractor,
        d.meta.created,
    )
}

/// Every system's availability over [from, to) from its monitors (as
/// `GET /systems/{id}/availability`).
pub async fn system_uptimes(ctx: &Ctx, from: i64, to: i64) -> AppResult<Vec<SystemUptime>> {
    let mut systems = Vec::new();
    for (id, name) in ctx.store.system_names().await? {
        let mons = ctx.store.monitor_ids_of_system(id).await?;
        let t = crate::monitor::availability(ctx, &mons, from, to).await?;
        systems.push(SystemUptime {
            name,
            monitors: mons.len(),
            availability: t.availability(),
            down_minutes: t.down_ms / 60_000,
            unknown_minutes: t.unknown_ms / 60_000,
        });
    }
    Ok(systems)
}

/// Reads the period's records and makes the document.
pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    format: Format,
    p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let (from, to) = (p.from.timestamp_millis(), p.to.timestamp_millis());
    let (pf, pt) = (
        p.previous.0.timestamp_millis(),
        p.previous.1.timestamp_millis(),
    );
    let tickets = ctx.store.ticket_report_rows(from, to).await?;
    let previous = ctx.store.ticket_stat_rows(pf, pt).await?;
    let previous_by_priority = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|p| {
            previous
                .iter()
                .filter(|r| r.kind == "incident" && r.status != "canceled" && r.priority == *p)
                .count() as i64
        })
        .collect();
    let systems = system_uptimes(ctx, from, to).await?;
    let inspections = crate::inspect::tasks::indicators(ctx, u, p.from, p.to).await?;
    let previous_inspections =
        crate::inspect::tasks::indicators(ctx, u, p.previous.0, p.previous.1).await?;
    let texts = super::texts::load(ctx, "om.").await?;
    let quality = match crate::contract::stored(ctx).await? {
        Some(r) => Ok(
            crate::contract::quality::measure(ctx, u, &r, p).await?["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        ),
        None => Err(
            "尚未录入合同信息，质量目标无从对照；采购方录入合同后本节列出各项目标与实测值。"
                .to_string(),
        ),
    };
    let figures = figures(&tickets, &previous, &systems);
    // Backup coverage is counted per calendar month.
    let bj_from = p.from.with_timezone(&crate::clock::beijing()).date_naive();
    let one_month = bj_from.day() == 1
        && bj_from
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(crate::clock::beijing()).single())
            .is_some_and(|t| t.with_timezone(&chrono::Utc) == p.to);
    let backups = if one_month {
        let c =
            crate::backup::coverage::coverage(ctx, u, &bj_from.format("%Y-%m").to_string()).await?;
        Ok(c["items"].as_array().cloned().unwrap_or_default())
    } else {
        Err("备份覆盖情况按自然月统计，本报告期间不是一个自然月，未列出。".to_string())
    };
    let data = move |font| OmData {
        meta,
        figures,
        previous_by_priority,
        inspections,
        previous_inspections,
        texts,
        font,
        quality,
        backups,
    };
    let (bytes, note) = super::write_with_charts(ctx, format, data, docx, xlsx).await?;
    Ok(Made {
        title: TITLE.into(),
        subtitle: "基础设施及应用系统".into(),
        bytes,
        note,
    })
}
