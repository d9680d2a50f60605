//! 《云资源利用率月度情况报表》 (service line 4.2.14.3): a month's cloud resources per system,
//! the idle and over-used resources at the thresholds in force, and the trend against the
//! previous 3 months, as DOCX and XLSX.

use std::collections::HashMap;

use crate::domain::cloud::{Figures, Summary, Thresholds, flags};
use crate::domain::inspection::template::num;
use crate::report::docx::{DocBuilder, DocMeta};
use crate::report::xlsx::{Cell, Sheet, workbook};
use crate::store::cloud::CloudRow;

pub const TITLE: &str = "云资源利用率月度情况报表";

pub struct CloudData {
    pub meta: DocMeta,
    pub summary: Summary,
    pub names: HashMap<i64, String>,
    /// The month's rows.
    pub rows: Vec<CloudRow>,
}

impl CloudData {
    fn name(&self, id: i64) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("系统 {id}（已删除）"))
    }

    fn thresholds(&self) -> Thresholds {
        self.summary.thresholds
    }

    fn idle(&self) -> Vec<&CloudRow> {
        let t = self.thresholds();
        self.rows
            .iter()
            .filter(|r| flags(&r.usage(), &t).idle)
            .collect()
    }

    fn overused(&self) -> Vec<&CloudRow> {
        let t = self.thresholds();
        self.rows
            .iter()
            .filter(|r| flags(&r.usage(), &t).overused)
            .collect()
    }

    fn row_name(&self, r: &CloudRow) -> String {
        r.system_name
            .clone()
            .unwrap_or_else(|| self.name(r.system_id))
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), num)
}

fn figures_cells(f: &Figures) -> Vec<String> {
    vec![
        f.resources.to_string(),
        f.vcpu.to_string(),
        num(f.memory_gb),
        num(f.disk_gb),
        pct(f.cpu_avg),
        pct(f.mem_avg),
        pct(f.disk_used),
        f.idle.to_string(),
        f.overused.to_string(),
    ]
}

const FIG_HEADERS: [&str; 9] = [
    "资源数",
    "vCPU（核）",
    "内存（GB）",
    "磁盘（GB）",
    "CPU平均（%）",
    "内存平均（%）",
    "磁盘使用（%）",
    "空闲",
    "过载",
];

/// The summary paragraph.
pub fn summary_text(d: &CloudData) -> String {
    let s = &d.summary;
    let t = d.thresholds();
    let with = s.systems.iter().filter(|x| x.figures.resources > 0).count();
    let f = &s.total;
    let mut text = format!(
        "{}，共统计云资源 {} 个，涉及 {} 个系统；合计 vCPU {} 核、内存 {} GB、磁盘 {} GB。\
         CPU 平均利用率 {}%，内存平均利用率 {}%，磁盘平均使用率 {}%。\
         空闲资源 {} 个（CPU 与内存平均利用率均低于 {}%），过载资源 {} 个（CPU 峰值、内存峰值或磁盘使用率高于 {}%）。",
        d.meta.period,
        f.resources,
        with,
        f.vcpu,
        num(f.memory_gb),
        num(f.disk_gb),
        pct(f.cpu_avg),
        pct(f.mem_avg),
        pct(f.disk_used),
        f.idle,
        num(t.idle),
        f.overused,
        num(t.over),
    );
    if let Some(prev) = s.total_trend.last()
        && let (Some(now), Some(before)) = (f.cpu_avg, prev.figures.cpu_avg)
    {
        let delta = crate::domain::cloud::round1(now - before);
        text.push_str(&format!(
            "与上月（{}）相比，CPU 平均利用率{}。",
            prev.period,
            if delta > 0.0 {
                format!("上升 {} 个百分点", num(delta))
            } else if delta < 0.0 {
                format!("下降 {} 个百分点", num(-delta))
            } else {
                "持平".into()
            }
        ));
    }
    text
}

fn system_rows(d: &CloudData) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = d
        .summary
        .systems
        .iter()
        .filter(|s| s.figures.resources > 0)
        .map(|s| {
            let mut r = vec![d.name(s.system_id)];
            r.extend(figures_cells(&s.figures));
            r
        })
        .collect();
    let mut total = vec!["合计".to_string()];
    total.extend(figures_cells(&d.summary.total));
    rows.push(total);
    rows
}

fn idle_rows(d: &CloudData) -> Vec<Vec<String>> {
    d.idle()
        .into_iter()
        .map(|r| {
            vec![
                r.name.clone(),
                d.row_name(r),
                r.vcpu.to_string(),
                num(r.memory_gb),
                num(r.cpu_avg),
                num(r.mem_avg),
            ]
        })
        .collect()
}

fn over_rows(d: &CloudData) -> Vec<Vec<String>> {
    d.overused()
        .into_iter()
        .map(|r| {
            vec![
                r.name.clone(),
                d.row_name(r),
                num(r.cpu_peak),
                num(r.mem_peak),
                num(r.disk_used),
            ]
        })
        .collect()
}

fn trend_rows(d: &CloudData) -> Vec<Vec<String>> {
    d.summary
        .total_trend
        .iter()
        .map(|p| (p.period.clone(), &p.figures))
        .chain(std::iter::once((
            d.summary.period.clone(),
            &d.summary.total,
        )))
        .map(|(p, f)| {
            let mut r = vec![p];
            r.extend(figures_cells(f));
            r
        })
        .collect()
}

const IDLE_HEADERS: [&str; 6] = [
    "名称",
    "所属系统",
    "vCPU（核）",
    "内存（GB）",
    "CPU平均（%）",
    "内存平均（%）",
];
const OVER_HEADERS: [&str; 5] = [
    "名称",
    "所属系统",
    "CPU峰值（%）",
    "内存峰值（%）",
    "磁盘使用（%）",
];

fn with_first(first: &'static str, rest: &[&'static str]) -> Vec<&'static str> {
    std::iter::once(first).chain(rest.iter().copied()).collect()
}

pub fn docx(d: &CloudData) -> anyhow::Result<Vec<u8>> {
    let t = d.thresholds();
    let sys_headers = with_first("系统", &FIG_HEADERS);
    let trend_headers = with_first("月份", &FIG_HEADERS);
    let widths = [4, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    let mut b = DocBuilder::new(&d.meta)
        .heading(1, "总体情况")
        .paragraph(&summary_text(d))
        .heading(1, "各系统资源利用率")
        .table(&sys_headers, &system_rows(d), &widths)
        .heading(1, "空闲资源")
        .paragraph(&format!(
            "CPU 平均利用率与内存平均利用率均低于 {}% 的资源，建议评估缩减配置或回收。",
            num(t.idle)
        ));
    let idle = idle_rows(d);
    b = if idle.is_empty() {
        b.paragraph("本月无空闲资源。")
    } else {
        b.table(&IDLE_HEADERS, &idle, &[4, 4, 2, 2, 2, 2])
    };
    b = b.heading(1, "过载资源").paragraph(&format!(
        "CPU 峰值、内存峰值或磁盘使用率高于 {}% 的资源，建议评估扩容或优化。",
        num(t.over)
    ));
    let over = over_rows(d);
    b = if over.is_empty() {
        b.paragraph("本月无过载资源。")
    } else {
        b.table(&OVER_HEADERS, &over, &[4, 4, 2, 2, 2])
    };
    b = b
        .heading(1, "近四个月趋势")
        .paragraph("本月与前 3 个月的资源规模和平均利用率如下（无数据的月份资源数为 0）。")
        .table(&trend_headers, &trend_rows(d), &widths);
    let changes: Vec<String> = d
        .summary
        .systems
        .iter()
        .filter_map(|s| {
            let c = s.cpu_avg_change?;
            Some(format!(
                "{}：CPU 平均利用率较前 3 个月均值{}",
                d.name(s.system_id),
                if c >= 0.0 {
                    format!("高 {} 个百分点", num(c))
                } else {
                    format!("低 {} 个百分点", num(-c))
                }
            ))
        })
        .collect();
    if !changes.is_empty() {
        b = b.paragraph(&changes.join("；\n"));
    }
    b.signatures().finish()
}

fn cells(rows: Vec<Vec<String>>, numeric_from: usize) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .map(|(i, v)| match v.parse::<f64>() {
                    Ok(n) if i >= numeric_from => Cell::Number(n),
                    _ if v == "—" => Cell::Empty,
                    _ => Cell::Text(v),
                })
                .collect()
        })
        .collect()
}

pub fn xlsx(d: &CloudData) -> anyhow::Result<Vec<u8>> {
    let title = format!("{TITLE}（{}）", d.meta.period);
    let t = d.thresholds();
    let detail: Vec<Vec<Cell>> = d
        .rows
        .iter()
        .map(|r| {
            let f = flags(&r.usage(), &t);
            vec![
                Cell::Text(r.name.clone()),
                Cell::Text(d.row_name(r)),
                Cell::Text(r.period.clone()),
                Cell::Number(r.vcpu as f64),
                Cell::Number(r.memory_gb),
                Cell::Number(r.disk_gb),
                Cell::Number(r.cpu_avg),
                Cell::Number(r.cpu_peak),
                Cell::Number(r.mem_avg),
                Cell::Number(r.mem_peak),
                Cell::Number(r.disk_used),
                Cell::Text(if f.idle { "是" } else { "" }.into()),
                Cell::Text(if f.overused { "是" } else { "" }.into()),
            ]
        })
        .collect();
    let sheets = [
        Sheet::new(
            "各系统汇总",
            title.clone(),
            with_first("系统", &FIG_HEADERS),
            cells(system_rows(d), 1),
        ),
        Sheet::new(
            "空闲资源",
            format!("空闲资源（CPU 与内存平均利用率均低于 {}%）", num(t.idle)),
            IDLE_HEADERS.to_vec(),
            cells(idle_rows(d), 2),
        ),
        Sheet::new(
            "过载资源",
            format!("过载资源（峰值或磁盘使用率高于 {}%）", num(t.over)),
            OVER_HEADERS.to_vec(),
            cells(over_rows(d), 2),
        ),
        Sheet::new(
            "趋势",
            "近四个月趋势".into(),
            with_first("月份", &FIG_HEADERS),
            cells(trend_rows(d), 1),
        ),
        Sheet::new(
            "明细",
            format!("云资源明细（{}）", d.meta.period),
            // The columns of the import, then the verdicts.
            crate::domain::cloud::COLUMNS
                .iter()
                .map(|(_, _, header, _)| *header)
                .chain(["空闲", "过载"])
                .collect(),
            detail,
        ),
    ];
    workbook(&sheets, &title, &d.meta.contractor, d.meta.created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cloud::{Fact, Usage, previous_months, summarize};

    fn data() -> CloudData {
        let u = |cpu_avg, cpu_peak, mem_avg, disk_used| Usage {
            cpu_avg,
            cpu_peak,
            mem_avg,
            mem_peak: mem_avg,
            disk_used,
        };
        let facts = vec![
            Fact {
                system_id: 1,
                period: "2025-11".into(),
                vcpu: 4,
                memory_gb: 8.0,
                disk_gb: 100.0,
                usage: u(5.0, 20.0, 5.0, 30.0),
            },
            Fact {
                system_id: 1,
                period: "2025-10".into(),
                vcpu: 4,
                memory_gb: 8.0,
                disk_gb: 100.0,
                usage: u(8.0, 20.0, 5.0, 30.0),
            },
        ];
        let t = Thresholds::default();
        let created = chrono::Utc::now();
        CloudData {
            meta: DocMeta::sample(TITLE, None, created),
            summary: summarize("2025-11", &previous_months("2025-11", 3), &facts, &t),
            names: HashMap::from([(1, "甲系统".to_string())]),
            rows: Vec::new(),
        }
    }

    #[test]
    fn the_summary_paragraph_states_the_figures_and_the_change() {
        let text = summary_text(&data());
        assert!(text.contains("共统计云资源 1 个，涉及 1 个系统"), "{text}");
        assert!(
            text.contains("空闲资源 1 个（CPU 与内存平均利用率均低于 10%）"),
            "{text}"
        );
        assert!(
            text.contains("与上月（2025-10）相比，CPU 平均利用率下降 3 个百分点"),
            "{text}"
        );
    }

    #[test]
    fn both_formats_render_without_rows() {
        let d = data();
        assert!(docx(&d).unwrap().starts_with(b"PK"));
        assert!(xlsx(&d).unwrap().starts_with(b"PK"));
    }
}
