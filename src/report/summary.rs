//! The period summary of one service line (`line_summary`, 服务条线工作总结, DOCX and
//! XLSX), a year (`"2025"`) or any range: the records per month and type, support by
//! channel, the quality figures (resolution, handling time, time limit, satisfaction) per
//! month and over the period, the requirements proposed and delivered, and the editable
//! `summary.*` paragraphs. Every month's figures are those `GET /service-lines/{id}/stats`
//! answers for that month (`ops::months`), the totals those it answers for the period.

use super::docx::{DocBuilder, DocMeta};
use super::operations::{
    LineData, minutes, pct, requested_line, requested_line_id, support_by_channel, text_vars,
};
use super::xlsx::{Cell, Sheet, workbook};
use super::{Made, Period, ReportRequest};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::operations::LineStats;
use crate::error::AppResult;
use crate::ops::months::MonthIndicators;

/// Everything the summary shows.
pub struct SummaryData {
    /// The period's figures, the line and the `summary.*` texts (no records listed).
    pub line: LineData,
    pub months: Vec<MonthIndicators>,
}

/// The type codes of the period, in the types' order, with their labels.
fn type_columns(s: &LineStats) -> Vec<(String, String)> {
    use crate::domain::operations::RecordType;
    let rank = |k: &str| RecordType::parse(k).map_or(usize::MAX, |t| t as usize);
    let mut codes: Vec<&String> = s.by_type.keys().collect();
    codes.sort_by_key(|k| rank(k));
    codes
        .into_iter()
        .map(|c| {
            let label = RecordType::parse(c).map_or_else(|| c.clone(), |t| t.label().to_string());
            (c.clone(), label)
        })
        .collect()
}

/// Rows of records per month and type: the month, each type's count, the total; then 合计.
fn volume_rows(d: &SummaryData) -> (Vec<String>, Vec<(String, Vec<u32>)>) {
    let s = &d.line.stats;
    let cols = type_columns(s);
    let mut headers = vec!["月份".to_string()];
    headers.extend(cols.iter().map(|c| c.1.clone()));
    headers.push("合计".into());
    let row = |st: &LineStats| -> Vec<u32> {
        let mut v: Vec<u32> = cols
            .iter()
            .map(|(code, _)| st.by_type.get(code).copied().unwrap_or(0))
            .collect();
        v.push(st.total);
        v
    };
    let mut rows: Vec<(String, Vec<u32>)> = d
        .months
        .iter()
        .map(|m| (m.month.clone(), row(&m.ind.stats)))
        .collect();
    rows.push(("合计".into(), row(s)));
    (headers, rows)
}

const QUALITY_HEADERS: [&str; 8] = [
    "月份",
    "技术支持",
    "已解决",
    "解决率",
    "平均处理时长",
    "按时处理率",
    "评价数",
    "满意度",
];

/// The quality figures of a month (or the period) as text.
fn quality_text(label: &str, s: &LineStats) -> Vec<String> {
    vec![
        label.to_string(),
        s.support.to_string(),
        s.resolved.to_string(),
        pct(s.resolution_rate),
        minutes(s.average_minutes),
        pct(s.in_time_rate),
        s.rated.to_string(),
        pct(s.satisfaction),
    ]
}

fn quality_cells(label: &str, s: &LineStats) -> Vec<Cell> {
    vec![
        label.into(),
        s.support.into(),
        s.resolved.into(),
        s.resolution_rate.into(),
        s.average_minutes.map_or(Cell::Empty, Cell::Number),
        s.in_time_rate.into(),
        s.rated.into(),
        s.satisfaction.into(),
    ]
}

/// Requirements per month: (month, proposed, delivered), then 合计.
fn requirement_rows(d: &SummaryData) -> Vec<(String, i64, i64)> {
    let mut v: Vec<(String, i64, i64)> = d
        .months
        .iter()
        .map(|m| {
            (
                m.month.clone(),
                m.ind.requirements_new,
                m.ind.requirements_delivered,
            )
        })
        .collect();
    v.push(("合计".into(), d.line.requirements.0, d.line.requirements.1));
    v
}

/// 服务条线工作总结 as DOCX.
pub fn docx(d: &SummaryData) -> anyhow::Result<Vec<u8>> {
    let l = &d.line;
    let s = &l.stats;
    let vars = text_vars(l);
    let mut b = DocBuilder::new(&l.meta).heading(1, "工作总结");
    b = b.paragraphs(&l.texts.render("summary.overview", &vars));
    b = b.heading(1, "服务量");
    let (headers, rows) = volume_rows(d);
    if s.total == 0 {
        b = b.paragraph("本期无运营工作记录。");
    } else {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(m, r)| {
                std::iter::once(m)
                    .chain(r.iter().map(u32::to_string))
                    .collect()
            })
            .collect();
        b = b.table(&h, &rows, &vec![2; h.len()]);
    }
    b = b.heading(1, "技术支持服务").heading(2, "按服务渠道");
    b = support_by_channel(b, s);
    b = b.heading(2, "服务质量与满意度");
    let mut q: Vec<Vec<String>> = d
        .months
        .iter()
        .map(|m| quality_text(&m.month, &m.ind.stats))
        .collect();
    q.push(quality_text("合计", s));
    b = b
        .table(&QUALITY_HEADERS, &q, &[2, 2, 2, 2, 2, 2, 2, 2])
        .paragraph(&format!(
            "按时处理率为记录了耗时的技术支持中 {} 分钟内处理的比例；满意度按评价为非常满意、满意的比例计。",
            l.handle_minutes
        ));
    b = b.heading(1, "需求收集与处理");
    let r: Vec<Vec<String>> = requirement_rows(d)
        .into_iter()
        .map(|(m, a, b)| vec![m, a.to_string(), b.to_string()])
        .collect();
    b = b.table(
        &["月份", "登记需求与改进建议", "交付或验收"],
        &r,
        &[2, 3, 3],
    );
    b = b.heading(1, "存在问题与下一步工作");
    b = b.paragraphs(&l.texts.render("summary.outlook", &vars));
    b.signatures().finish()
}

/// 服务条线工作总结 as XLSX: the same tables, and the summary's paragraphs.
pub fn xlsx(d: &SummaryData) -> anyhow::Result<Vec<u8>> {
    let l = &d.line;
    let s = &l.stats;
    let vars = text_vars(l);
    let (headers, rows) = volume_rows(d);
    let volume: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|(m, r)| {
            std::iter::once(Cell::from(m))
                .chain(r.into_iter().map(Cell::from))
                .collect()
        })
        .collect();
    let mut quality: Vec<Vec<Cell>> = d
        .months
        .iter()
        .map(|m| quality_cells(&m.month, &m.ind.stats))
        .collect();
    quality.push(quality_cells("合计", s));
    let mut channels: Vec<Vec<Cell>> = s
        .by_channel
        .iter()
        .map(|(k, n)| vec![k.clone().into(), (*n).into()])
        .collect();
    channels.push(vec!["合计".into(), s.support.into()]);
    let reqs: Vec<Vec<Cell>> = requirement_rows(d)
        .into_iter()
        .map(|(m, a, b)| vec![m.into(), a.into(), b.into()])
        .collect();
    let text: Vec<Vec<Cell>> = [
        ("工作总结", "summary.overview"),
        ("存在问题与下一步工作", "summary.outlook"),
    ]
    .into_iter()
    .flat_map(|(what, key)| {
        l.texts
            .render(key, &vars)
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| vec![what.into(), t.to_string().into()])
            .collect::<Vec<_>>()
    })
    .collect();
    let title = format!("{}（{}）", l.meta.title, l.meta.period);
    let mut q_headers = QUALITY_HEADERS.to_vec();
    q_headers[4] = "平均处理时长（分钟）";
    workbook(
        &[
            Sheet::new(
                "分月服务量",
                format!("{title} 分月服务量"),
                headers.iter().map(String::as_str).collect(),
                volume,
            ),
            Sheet::new(
                "服务质量",
                format!("{title} 服务质量与满意度"),
                q_headers,
                quality,
            ),
            Sheet::new(
                "服务渠道",
                format!("{title} 技术支持按服务渠道"),
                vec!["服务渠道", "技术支持次数"],
                channels,
            ),
            Sheet::new(
                "需求",
                format!("{title} 需求收集与处理"),
                vec!["月份", "登记需求与改进建议", "交付或验收"],
                reqs,
            ),
            Sheet::new(
                "总结",
                format!("{title} 工作总结"),
                vec!["部分", "内容"],
                text,
            ),
        ],
        &l.meta.title,
        &l.meta.contractor,
        l.meta.created,
    )
}

/// The summary of `req.line_id` over `p`.
pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    req: &ReportRequest,
    p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let line_id = requested_line_id(req)?;
    let line = requested_line(ctx, line_id).await?;
    let ind = crate::ops::indicators(ctx, u, line_id, p.from, p.to).await?;
    let months = crate::ops::months::monthly(ctx, u, line_id, p.from, p.to).await?;
    let title = format!("{}工作总结", line.name);
    let data = SummaryData {
        line: LineData {
            meta: DocMeta {
                title: title.clone(),
                subtitle: Some(format!("服务条线 {}", line.code)),
                ..meta
            },
            code: line.code.clone(),
            name: line.name.clone(),
            handle_minutes: ind.handle_minutes,
            records: Vec::new(),
            stats: ind.stats,
            requirements: (ind.requirements_new, ind.requirements_delivered),
            texts: super::texts::load(ctx, "summary.").await?,
        },
        months,
    };
    let format = req.format;
    let bytes = super::write_off_runtime(format, data, docx, xlsx).await?;
    Ok(Made {
        title,
        subtitle: line.code,
        bytes,
        note: String::new(),
    })
}
