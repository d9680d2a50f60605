//! 《年终总结报告》 (`annual_summary`, DOCX and XLSX) of the infrastructure O&M or of the
//! systems' O&M over a year or a service period: the year's overview, the key indicators
//! against the period before, the work and indicators month by month, incidents by
//! priority, source and category, changes, the systems' availability, lessons and next
//! year's plan (editable `annual.*` text blocks), and a chart. Every figure is one of the
//! 运维月报's (`report::om`), over the longer period and the chosen scope.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::chart::{self, Chart, Series};
use super::docx::{DocBuilder, DocMeta};
use super::om::{
    AVAILABILITY_HEADERS, CHANGE_HEADERS, INCIDENT_HEADERS, availability_cells, availability_rows,
    change_rows, figure_vars, incident_rows, key_rows, pairs, ratio,
};
use super::operations::{minutes, pct};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, SheetChart, text_rows, workbook_with_charts};
use super::{Format, Made, Period, Scope};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::desk_stats::Indicators;
use crate::domain::inspection::stats::{Counts, Stats};
use crate::domain::om::{Month, OmFigures, by_month, figures, of_scope};
use crate::error::AppResult;

pub const TITLE: &str = "年终总结报告";

/// Most months a summary lists one by one (five years).
const MAX_MONTHS: usize = 61;

pub struct AnnualData {
    pub meta: DocMeta,
    pub systems_scope: bool,
    pub figures: OmFigures,
    pub months: Vec<(String, Indicators, Counts)>,
    pub inspections: Counts,
    pub previous_inspections: Counts,
    pub texts: Texts,
    pub font: Result<Arc<chart::Font>, String>,
}

fn scope_label(systems: bool) -> &'static str {
    if systems {
        "应用系统运维"
    } else {
        "基础设施运维"
    }
}

/// The inspection counts of the scope: the systems', or the machine room's and devices'.
fn scope_counts(s: &Stats, systems: bool) -> Counts {
    let keys: &[&str] = if systems {
        &["system"]
    } else {
        &["site", "asset"]
    };
    let mut c = Counts::default();
    for k in keys {
        if let Some(x) = s.by_target_type.get(k) {
            c.planned += x.planned;
            c.completed += x.completed;
            c.completed_on_time += x.completed_on_time;
            c.findings += x.findings;
            c.rectified += x.rectified;
        }
    }
    let rate = crate::domain::inspection::stats::rate;
    c.completion_rate = rate(c.completed, c.planned);
    c.on_time_rate = rate(c.completed_on_time, c.planned);
    c.rectification_rate = rate(c.rectified, c.findings);
    c
}

/// The months of [from, to) in Beijing time, at most [`MAX_MONTHS`].
fn months_of(p: &Period) -> Vec<Month> {
    let bj = crate::clock::beijing();
    let first = p.from.with_timezone(&bj).date_naive();
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(first.year(), first.month(), 1);
    while let Some(start) = d {
        let Some(next) = start.checked_add_months(chrono::Months::new(1)) else {
            break;
        };
        let ms = |day: NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(bj).single())
                .map(|t| t.timestamp_millis())
        };
        let (Some(a), Some(b)) = (ms(start), ms(next)) else {
            break;
        };
        let (a, b) = (
            a.max(p.from.timestamp_millis()),
            b.min(p.to.timestamp_millis()),
        );
        if a >= p.to.timestamp_millis() || out.len() >= MAX_MONTHS {
            break;
        }
        out.push(Month {
            label: start.format("%Y-%m").to_string(),
            from: a,
            to: b,
        });
        d = Some(next);
    }
    out
}

pub fn text_vars(d: &AnnualData) -> Value {
    let mut vars = figure_vars(&d.figures, &d.inspections);
    vars["period"] = json!(d.meta.period);
    vars["scope"] = json!(scope_label(d.systems_scope));
    vars
}

fn month_rows(d: &AnnualData) -> Vec<Vec<String>> {
    d.months
        .iter()
        .map(|(m, ind, ins)| {
            vec![
                m.clone(),
                ind.tickets.to_string(),
                ind.incidents.to_string(),
                ind.resolved.to_string(),
                ratio(ind.sla_compliance),
                minutes(ind.mttr_minutes),
                ins.completed.to_string(),
                pct(ins.completion_rate),
            ]
        })
        .collect()
}

const MONTH_HEADERS: [&str; 8] = [
    "月份",
    "工单",
    "故障",
    "已解决",
    "SLA 达标率",
    "平均修复时长",
    "完成巡检",
    "巡检完成率",
];

fn trend(d: &AnnualData) -> Chart {
    let col = |f: fn(&Indicators) -> i64| -> Vec<Option<f64>> {
        d.months.iter().map(|(_, i, _)| Some(f(i) as f64)).collect()
    };
    Chart {
        title: "逐月工单与故障数".into(),
        categories: d.months.iter().map(|(m, _, _)| m.clone()).collect(),
        series: vec![
            Series {
                name: "工单".into(),
                values: col(|i| i.tickets),
            },
            Series {
                name: "故障".into(),
                values: col(|i| i.incidents),
            },
        ],
        y_label: "数量（个）".into(),
        unit: String::new(),
        max: None,
        size: (1200, 600),
    }
}

fn change_types(f: &OmFigures) -> Vec<(String, i64)> {
    let mut m = std::collections::BTreeMap::new();
    for c in &f.changes {
        *m.entry(c.change_type.clone()).or_insert(0) += 1;
    }
    m.into_iter().collect()
}

pub fn docx(d: &AnnualData) -> anyhow::Result<Vec<u8>> {
    let f = &d.figures;
    let vars = text_vars(d);
    let mut b = DocBuilder::new(&d.meta).heading(1, "年度工作概述");
    b = b.paragraphs(&d.texts.render("annual.overview", &vars));
    let keys: Vec<Vec<String>> = key_rows(f, &d.inspections, &d.previous_inspections)
        .into_iter()
        .map(Vec::from)
        .collect();
    b = b
        .heading(1, "服务指标完成情况")
        .table(&["指标", "本期", "上期"], &keys, &[4, 2, 2]);
    b = b.heading(1, "逐月工作量与指标").table(
        &MONTH_HEADERS,
        &month_rows(d),
        &[2, 1, 1, 1, 2, 2, 1, 2],
    );
    let c = trend(d);
    b = match &d.font {
        Ok(font) => {
            let png = chart::line(font, &c);
            b.image(
                png.bytes,
                (png.width, png.height),
                16.0,
                "图 1 逐月工单与故障数",
            )
        }
        Err(why) => b.paragraph(&format!(
            "说明：本报告未生成统计图（{why}），逐月数据见上表。"
        )),
    };
    b = b.heading(1, "故障统计").table(
        &["优先级", "故障数"],
        &pairs(&f.incidents_by_priority),
        &[4, 2],
    );
    if !f.incidents_by_source.is_empty() {
        b = b
            .table(
                &["发现来源", "故障数"],
                &pairs(&f.incidents_by_source),
                &[4, 2],
            )
            .table(
                &["故障类别", "故障数"],
                &pairs(&f.incidents_by_category),
                &[4, 2],
            );
    }
    if d.systems_scope && !f.top_systems.is_empty() {
        let top: Vec<Vec<String>> = f
            .top_systems
            .iter()
            .enumerate()
            .map(|(i, (s, n))| vec![(i + 1).to_string(), s.clone(), n.to_string()])
            .collect();
        b = b.table(&["序号", "故障较多的系统", "故障数"], &top, &[1, 6, 2]);
    }
    b = b.heading(1, "变更与升级");
    if f.changes.is_empty() {
        b = b.paragraph("本期无变更工单。");
    } else {
        b = b.table(&["变更类型", "数量"], &pairs(&change_types(f)), &[4, 2]);
    }
    if d.systems_scope {
        let rows = availability_rows(f);
        b = b
            .heading(1, "系统可用率")
            .table(&AVAILABILITY_HEADERS, &rows, &[1, 6, 2, 2, 2]);
    }
    b = b.heading(1, "经验与不足");
    b = b.paragraphs(&d.texts.render("annual.lessons", &vars));
    b = b.heading(1, "下一年度工作计划");
    b = b.paragraphs(&d.texts.render("annual.next_year", &vars));
    b.signatures().finish()
}

pub fn xlsx(d: &AnnualData) -> anyhow::Result<Vec<u8>> {
    let f = &d.figures;
    let keys = text_rows(key_rows(f, &d.inspections, &d.previous_inspections));
    let months = d
        .months
        .iter()
        .map(|(m, ind, ins)| {
            vec![
                m.clone().into(),
                ind.tickets.into(),
                ind.incidents.into(),
                ind.resolved.into(),
                ind.sla_compliance
                    .map_or(Cell::Empty, |r| Cell::Percent((r * 1000.0).round() / 10.0)),
                ind.mttr_minutes
                    .map_or(Cell::Empty, |m| Cell::Number(m.round())),
                ins.completed.into(),
                ins.completion_rate.into(),
            ]
        })
        .collect();
    let mut counts: Vec<Vec<Cell>> = Vec::new();
    for (group, v) in [
        ("故障优先级", f.incidents_by_priority.clone()),
        ("故障来源", f.incidents_by_source.clone()),
        ("故障类别", f.incidents_by_category.clone()),
        ("变更类型", change_types(f)),
    ] {
        for (k, n) in v {
            counts.push(vec![group.into(), k.into(), n.into()]);
        }
    }
    let period = &d.meta.period;
    let mut sheets = vec![
        Sheet::new(
            "关键指标",
            format!("{period} {} 关键指标", scope_label(d.systems_scope)),
            vec!["指标", "本期", "上期"],
            keys,
        ),
        Sheet::new(
            "逐月统计",
            format!("{period} 逐月工作量与指标"),
            MONTH_HEADERS.to_vec(),
            months,
        ),
        Sheet::new(
            "分类统计",
            format!("{period} 故障与变更分类统计"),
            vec!["分组", "类别", "数量"],
            counts,
        ),
        Sheet::new(
            "故障清单",
            format!("{period} 故障清单"),
            INCIDENT_HEADERS.to_vec(),
            text_rows(incident_rows(f)),
        ),
        Sheet::new(
            "变更清单",
            format!("{period} 变更清单"),
            CHANGE_HEADERS.to_vec(),
            text_rows(change_rows(f)),
        ),
    ];
    if d.systems_scope {
        sheets.push(Sheet::new(
            "系统可用率",
            format!("{period} 各系统可用率"),
            AVAILABILITY_HEADERS.to_vec(),
            availability_cells(f),
        ));
    }
    let c = trend(d);
    let charts = [SheetChart {
        title: c.title,
        bars: false,
        category_header: "月份".into(),
        categories: c.categories,
        series: c.series.into_iter().map(|s| (s.name, s.values)).collect(),
        y_label: c.y_label,
        percent: false,
    }];
    workbook_with_charts(
        &sheets,
        &charts,
        &format!("{TITLE}（{}，{period}）", scope_label(d.systems_scope)),
        &d.meta.contractor,
        d.meta.created,
    )
}

pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    format: Format,
    scope: Option<Scope>,
    p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let systems_scope = !matches!(scope, Some(Scope::Infrastructure));
    let (from, to) = (p.from.timestamp_millis(), p.to.timestamp_millis());
    let tickets = of_scope(ctx.store.ticket_report_rows(from, to).await?, systems_scope);
    let previous: Vec<_> = of_scope(
        ctx.store
            .ticket_report_rows(
                p.previous.0.timestamp_millis(),
                p.previous.1.timestamp_millis(),
            )
            .await?,
        systems_scope,
    )
    .into_iter()
    .map(|t| t.stat)
    .collect();
    let systems = if systems_scope {
        super::om::system_uptimes(ctx, from, to).await?
    } else {
        Vec::new()
    };
    let months = months_of(p);
    let per_month = by_month(&tickets, &months);
    let mut month_rows = Vec::with_capacity(months.len());
    for (m, (label, ind)) in months.iter().zip(per_month) {
        let t = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let s = crate::inspect::tasks::indicators(ctx, u, t(m.from), t(m.to)).await?;
        month_rows.push((label, ind, scope_counts(&s, systems_scope)));
    }
    let inspections = scope_counts(
        &crate::inspect::tasks::indicators(ctx, u, p.from, p.to).await?,
        systems_scope,
    );
    let previous_inspections = scope_counts(
        &crate::inspect::tasks::indicators(ctx, u, p.previous.0, p.previous.1).await?,
        systems_scope,
    );
    let texts = super::texts::load(ctx, "annual.").await?;
    let figures = figures(&tickets, &previous, &systems);
    let subtitle = scope_label(systems_scope).to_string();
    let meta = DocMeta {
        subtitle: Some(subtitle.clone()),
        ..meta
    };
    let data = move |font| AnnualData {
        meta,
        systems_scope,
        figures,
        months: month_rows,
        inspections,
        previous_inspections,
        texts,
        font,
    };
    let (bytes, note) = super::write_with_charts(ctx, format, data, docx, xlsx).await?;
    Ok(Made {
        title: TITLE.into(),
        subtitle,
        bytes,
        note,
    })
}
