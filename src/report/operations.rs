//! The documents of a service line (运营服务): 《技术支持服务表》 (`support_table`, DOCX and
//! XLSX: every support record of the period, the totals and the signatures) and the
//! 《运营月报》 (`line_monthly`, DOCX, outline after cn-ops.md §1.8, its paragraphs the
//! editable `line.*` text blocks). The figures are those of `ops::indicators`, the same
//! `line_stats` that `GET /service-lines/{id}/stats` answers, so that the documents and the
//! API never disagree.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::docx::{DocBuilder, DocMeta};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, workbook};
use super::{Format, Made, Period, ReportKind, ReportRequest};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inspection::template::num;
use crate::domain::operations::{LineStats, RecordType};
use crate::error::{AppError, AppResult};
use crate::store::StoreError;
use crate::store::operations::{LineRow, RecordFilter, RecordRow};

/// The columns of the 技术支持服务表.
pub const SUPPORT_HEADERS: [&str; 12] = [
    "服务单号",
    "服务对象",
    "单位",
    "系统",
    "服务方式",
    "请求时间",
    "耗时",
    "问题描述",
    "处理过程及结果",
    "处理结果",
    "服务人员",
    "用户评价",
];

/// Most records one support table or statistics report reads: a period with more is
/// refused (422 on `period`, naming the count and the limit) rather than cut short.
pub const MAX_RECORDS: i64 = 100_000;

/// The records of `f`, all of them, or the refusal when there are more than `MAX_RECORDS`.
/// Counted first (cheap), and again with the rows, so that records added in between cannot
/// cut the document short either.
async fn all_records(ctx: &Ctx, f: &RecordFilter) -> AppResult<Vec<RecordRow>> {
    let too_many = |total: i64| {
        AppError::invalid(
            "period",
            format!(
                "该期间有 {total} 条运营记录，超过单份报表上限 {MAX_RECORDS} 条，请缩短报告期间后分期生成"
            ),
        )
    };
    let (_, total) = ctx.store.work_records(f, 0, 0).await?;
    if total > MAX_RECORDS {
        return Err(too_many(total));
    }
    let (rows, total) = ctx.store.work_records(f, MAX_RECORDS, 0).await?;
    if total > MAX_RECORDS {
        return Err(too_many(total));
    }
    Ok(rows)
}

/// "96.7%", or "—" when there is nothing to count.
pub fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |r| format!("{}%", num(r)))
}

/// "25 分钟", or "—".
pub fn minutes(v: Option<f64>) -> String {
    v.map_or("—".into(), |m| format!("{} 分钟", num(m)))
}

/// A record's service number: its ticket's number when it came from one.
fn service_number(r: &RecordRow) -> String {
    r.ticket_number
        .clone()
        .unwrap_or_else(|| format!("FW{:06}", r.id))
}

fn rating_text(r: &RecordRow) -> String {
    match (&r.rating, &r.rating_comment) {
        (Some(g), Some(c)) if !c.trim().is_empty() => format!("{g}（{c}）"),
        (Some(g), _) => g.clone(),
        _ => String::new(),
    }
}

/// The table's rows as text (the DOCX).
pub fn support_rows(records: &[RecordRow]) -> Vec<Vec<String>> {
    records
        .iter()
        .map(|r| {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            vec![
                service_number(r),
                o(&r.requester),
                o(&r.organisation),
                o(&r.system_name),
                o(&r.channel),
                crate::clock::local_minutes(r.occurred_at),
                r.duration_minutes
                    .map(|d| format!("{d} 分钟"))
                    .unwrap_or_default(),
                r.summary.clone(),
                o(&r.answer),
                o(&r.result),
                o(&r.operator_name),
                rating_text(r),
            ]
        })
        .collect()
}

/// The totals of the support records, as label and value: the indicators' figures.
pub fn totals(s: &LineStats, handle_minutes: i64) -> Vec<Vec<String>> {
    vec![
        vec!["技术支持次数".into(), s.support.to_string()],
        vec!["已解决".into(), s.resolved.to_string()],
        vec!["解决率".into(), pct(s.resolution_rate)],
        vec![
            format!("{handle_minutes} 分钟内处理"),
            format!("{} / {}", s.handled_in_time, s.timed),
        ],
        vec!["按时处理率".into(), pct(s.in_time_rate)],
        vec!["平均处理时长".into(), minutes(s.average_minutes)],
        vec!["评价数".into(), s.rated.to_string()],
        vec!["满意（非常满意、满意）".into(), s.satisfied.to_string()],
        vec!["满意度".into(), pct(s.satisfaction)],
    ]
}

/// Everything a line's document shows.
pub struct LineData {
    pub meta: DocMeta,
    pub code: String,
    pub name: String,
    pub handle_minutes: i64,
    /// The support records of the period, oldest first.
    pub records: Vec<RecordRow>,
    pub stats: LineStats,
    /// The line's requirements proposed, and delivered or verified, in the period.
    pub requirements: (i64, i64),
    pub texts: Texts,
}

/// The 技术支持服务表 as DOCX: the cover, the table, the totals, the signatures.
pub fn support_docx(d: &LineData) -> anyhow::Result<Vec<u8>> {
    let mut b = DocBuilder::new(&d.meta)
        .landscape()
        .heading(1, "技术支持服务记录");
    if d.records.is_empty() {
        b = b.paragraph("本期无技术支持服务记录。");
    } else {
        b = b.table(
            &SUPPORT_HEADERS,
            &support_rows(&d.records),
            &[3, 2, 3, 3, 2, 3, 2, 4, 4, 2, 2, 2],
        );
    }
    b = b.heading(1, "服务统计").table(
        &["统计项", "数值"],
        &totals(&d.stats, d.handle_minutes),
        &[3, 2],
    );
    b.signatures().finish()
}

/// The 技术支持服务表 as XLSX: the records and the totals.
pub fn support_xlsx(d: &LineData) -> anyhow::Result<Vec<u8>> {
    let text = |v: &Option<String>| v.clone().map_or(Cell::Empty, Cell::Text);
    let rows: Vec<Vec<Cell>> = d
        .records
        .iter()
        .map(|r| {
            vec![
                service_number(r).into(),
                text(&r.requester),
                text(&r.organisation),
                text(&r.system_name),
                text(&r.channel),
                chrono::DateTime::from_timestamp_millis(r.occurred_at)
                    .map_or(Cell::Empty, Cell::Time),
                r.duration_minutes.map_or(Cell::Empty, Cell::from),
                r.summary.clone().into(),
                text(&r.answer),
                text(&r.result),
                text(&r.operator_name),
                rating_text(r).into(),
            ]
        })
        .collect();
    let s = &d.stats;
    let totals: Vec<Vec<Cell>> = vec![
        vec!["技术支持次数".into(), s.support.into()],
        vec!["已解决".into(), s.resolved.into()],
        vec!["解决率".into(), s.resolution_rate.into()],
        vec![
            format!("{} 分钟内处理", d.handle_minutes).into(),
            s.handled_in_time.into(),
        ],
        vec!["记录耗时的次数".into(), s.timed.into()],
        vec!["按时处理率".into(), s.in_time_rate.into()],
        vec![
            "平均处理时长（分钟）".into(),
            s.average_minutes.map_or(Cell::Empty, Cell::Number),
        ],
        vec!["评价数".into(), s.rated.into()],
        vec!["满意（非常满意、满意）".into(), s.satisfied.into()],
        vec!["满意度".into(), s.satisfaction.into()],
    ];
    let title = format!("{}（{}）", d.meta.title, d.meta.period);
    workbook(
        &[
            Sheet::new(
                "技术支持服务表",
                title.clone(),
                SUPPORT_HEADERS.to_vec(),
                rows,
            ),
            Sheet::new(
                "合计",
                format!("{title} 合计"),
                vec!["统计项", "数值"],
                totals,
            ),
        ],
        &d.meta.title,
        &d.meta.contractor,
        d.meta.created,
    )
}

fn type_label(code: &str) -> String {
    RecordType::parse(code).map_or_else(|| code.to_string(), |t| t.label().to_string())
}

/// The counts per type in the types' own order (技术支持 first), as (label, count).
fn types_in_order(by_type: &std::collections::BTreeMap<String, u32>) -> Vec<(String, u32)> {
    let rank = |k: &str| RecordType::parse(k).map_or(usize::MAX, |t| t as usize);
    let mut v: Vec<(&String, &u32)> = by_type.iter().collect();
    v.sort_by_key(|(k, _)| rank(k));
    v.into_iter().map(|(k, n)| (type_label(k), *n)).collect()
}

/// "技术支持 3 项、数据对账 1 项", or "无".
fn list_text(items: &[(String, u32)], unit: &str) -> String {
    if items.is_empty() {
        return "无".into();
    }
    items
        .iter()
        .map(|(k, n)| format!("{k} {n} {unit}"))
        .collect::<Vec<_>>()
        .join("、")
}

/// The figures the monthly report's editable paragraphs may use (`texts::LINE_VARS`).
pub fn text_vars(d: &LineData) -> Value {
    let s = &d.stats;
    json!({
        "period": d.meta.period,
        "line": d.name,
        "code": d.code,
        "total": s.total,
        "types": list_text(&types_in_order(&s.by_type), "项"),
        "channels": list_text(
            &s.by_channel.iter().map(|(k, n)| (k.clone(), *n)).collect::<Vec<_>>(),
            "次",
        ),
        "support": s.support,
        "resolved": s.resolved,
        "unresolved": s.support.saturating_sub(s.resolved),
        "resolution_rate": pct(s.resolution_rate),
        "timed": s.timed,
        "handled_in_time": s.handled_in_time,
        "in_time_rate": pct(s.in_time_rate),
        "handle_minutes": d.handle_minutes,
        "average_minutes": minutes(s.average_minutes),
        "rated": s.rated,
        "satisfied": s.satisfied,
        "satisfaction": pct(s.satisfaction),
        "top_question": s.top_questions.first().map_or("无".to_string(), |q| q.0.clone()),
        "requirements_new": d.requirements.0,
        "requirements_delivered": d.requirements.1,
    })
}

/// The table of technical support by service channel, with its total; a sentence when
/// there was none.
pub(super) fn support_by_channel(b: DocBuilder, s: &LineStats) -> DocBuilder {
    if s.by_channel.is_empty() {
        return b.paragraph("本期无技术支持记录。");
    }
    let mut rows: Vec<Vec<String>> = s
        .by_channel
        .iter()
        .map(|(k, n)| vec![k.clone(), n.to_string()])
        .collect();
    rows.push(vec!["合计".into(), s.support.to_string()]);
    b.table(&["服务渠道", "技术支持次数"], &rows, &[3, 2])
}

/// The 运营月报 (cn-ops.md §1.8): overview, user service (volumes by type and channel,
/// resolution, time, satisfaction, top questions), requirements, problems and advice, next
/// month's plan, signatures.
pub fn monthly_docx(d: &LineData) -> anyhow::Result<Vec<u8>> {
    let s = &d.stats;
    let vars = text_vars(d);
    let mut b = DocBuilder::new(&d.meta).heading(1, "本月运营概述");
    b = b.paragraphs(&d.texts.render("line.overview", &vars));
    b = b.heading(1, "用户服务情况").heading(2, "服务量");
    let mut by_type: Vec<Vec<String>> = types_in_order(&s.by_type)
        .into_iter()
        .map(|(k, n)| vec![k, n.to_string()])
        .collect();
    by_type.push(vec!["合计".into(), s.total.to_string()]);
    b = b.table(&["记录类型", "数量"], &by_type, &[3, 2]);
    b = support_by_channel(b, s);
    b = b
        .heading(2, "服务质量")
        .table(&["指标", "数值"], &totals(s, d.handle_minutes), &[3, 2]);
    b = b.heading(2, "高频问题");
    if s.top_questions.is_empty() {
        b = b.paragraph("本期无用户咨询问题。");
    } else {
        let rows: Vec<Vec<String>> = s
            .top_questions
            .iter()
            .enumerate()
            .map(|(i, (q, n))| vec![(i + 1).to_string(), q.clone(), n.to_string()])
            .collect();
        b = b.table(&["序号", "问题", "次数"], &rows, &[1, 6, 1]);
    }
    b = b.heading(1, "需求收集与处理");
    b = b.paragraphs(&d.texts.render("line.requirements", &vars));
    b = b.heading(1, "问题与建议");
    b = b.paragraphs(&d.texts.render("line.problems", &vars));
    b = b.heading(1, "下月计划");
    b = b.paragraphs(&d.texts.render("line.next_month", &vars));
    b.signatures().finish()
}

/// The statistics report's figures: every record of the period counted by month, type,
/// channel and level, and the types' counted fields summed.
pub struct StatData {
    pub meta: DocMeta,
    pub stats: crate::domain::operations::LineStatistics,
    pub total: usize,
}

fn type_columns(st: &crate::domain::operations::LineStatistics) -> Vec<RecordType> {
    crate::domain::operations::RECORD_TYPES
        .into_iter()
        .filter(|t| st.months.values().any(|m| m.contains_key(t.as_str())))
        .collect()
}

/// Month rows: the month, each type's records, the total.
fn month_rows(
    st: &crate::domain::operations::LineStatistics,
    cols: &[RecordType],
) -> Vec<Vec<i64>> {
    st.months
        .values()
        .map(|m| {
            let mut row: Vec<i64> = cols
                .iter()
                .map(|t| i64::from(m.get(t.as_str()).copied().unwrap_or(0)))
                .collect();
            row.push(row.iter().sum());
            row
        })
        .collect()
}

/// 统计报表 as DOCX: the overview, records per month and type, support by channel and
/// level, the business figures, the signatures.
pub fn statistics_docx(d: &StatData) -> anyhow::Result<Vec<u8>> {
    let st = &d.stats;
    let cols = type_columns(st);
    let mut b = DocBuilder::new(&d.meta).heading(1, "统计概况");
    let by_type: Vec<String> = cols
        .iter()
        .map(|t| {
            let n: u32 = st.months.values().filter_map(|m| m.get(t.as_str())).sum();
            format!("{} {n} 项", t.label())
        })
        .collect();
    b = b.paragraph(&format!(
        "统计期间：{}。期间共登记运营工作记录 {} 项{}。",
        d.meta.period,
        d.total,
        if by_type.is_empty() {
            String::new()
        } else {
            format!("，其中{}", by_type.join("、"))
        }
    ));
    b = b.heading(1, "分月统计");
    let mut headers: Vec<String> = vec!["月份".into()];
    headers.extend(cols.iter().map(|t| t.label().to_string()));
    headers.push("合计".into());
    let rows: Vec<Vec<String>> = st
        .months
        .keys()
        .zip(month_rows(st, &cols))
        .map(|(m, r)| {
            let mut v = vec![m.clone()];
            v.extend(r.iter().map(i64::to_string));
            v
        })
        .collect();
    if rows.is_empty() {
        b = b.paragraph("本期无运营工作记录。");
    } else {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        let widths: Vec<usize> = std::iter::once(2)
            .chain(h.iter().skip(1).map(|_| 2))
            .collect();
        b = b.table(&h, &rows, &widths);
    }
    b = b.heading(1, "技术支持服务分布");
    let dist = |m: &BTreeMap<String, u32>| -> Vec<Vec<String>> {
        m.iter()
            .map(|(k, n)| vec![k.clone(), n.to_string()])
            .collect()
    };
    if st.by_channel.is_empty() {
        b = b.paragraph("本期无技术支持记录。");
    } else {
        b = b
            .heading(2, "按服务方式")
            .table(&["服务方式", "次数"], &dist(&st.by_channel), &[3, 2])
            .heading(2, "按单位层级")
            .table(&["单位层级", "次数"], &dist(&st.by_level), &[3, 2]);
    }
    b = b.heading(1, "业务数据统计");
    if st.sums.is_empty() {
        b = b.paragraph("本期无业务数据类记录。");
    } else {
        let rows: Vec<Vec<String>> = st
            .sums
            .iter()
            .map(|(t, f, n)| vec![(*t).to_string(), (*f).to_string(), n.to_string()])
            .collect();
        b = b.table(&["记录类型", "统计项", "合计"], &rows, &[2, 3, 2]);
    }
    b.signatures().finish()
}

/// 统计报表 as XLSX: records per month and type, the distributions, the business figures.
pub fn statistics_xlsx(d: &StatData) -> anyhow::Result<Vec<u8>> {
    let st = &d.stats;
    let cols = type_columns(st);
    let mut headers: Vec<&str> = vec!["月份"];
    headers.extend(cols.iter().map(|t| t.label()));
    headers.push("合计");
    let months: Vec<Vec<Cell>> = st
        .months
        .keys()
        .zip(month_rows(st, &cols))
        .map(|(m, r)| {
            let mut v: Vec<Cell> = vec![m.clone().into()];
            v.extend(r.into_iter().map(|n| Cell::Number(n as f64)));
            v
        })
        .collect();
    let mut dist: Vec<Vec<Cell>> = Vec::new();
    for (what, m) in [("服务方式", &st.by_channel), ("单位层级", &st.by_level)] {
        for (k, n) in m {
            dist.push(vec![what.into(), k.clone().into(), (*n).into()]);
        }
    }
    let sums: Vec<Vec<Cell>> = st
        .sums
        .iter()
        .map(|(t, f, n)| vec![(*t).into(), (*f).into(), Cell::Number(*n as f64)])
        .collect();
    let title = format!("{}（{}）", d.meta.title, d.meta.period);
    workbook(
        &[
            Sheet::new("分月统计", format!("{title} 分月统计"), headers, months),
            Sheet::new(
                "技术支持分布",
                format!("{title} 技术支持分布"),
                vec!["维度", "分类", "次数"],
                dist,
            ),
            Sheet::new(
                "业务数据",
                format!("{title} 业务数据"),
                vec!["记录类型", "统计项", "合计"],
                sums,
            ),
        ],
        &d.meta.title,
        &d.meta.contractor,
        d.meta.created,
    )
}

/// The service line a line report is of: `line_id`, required.
pub(super) fn requested_line_id(req: &ReportRequest) -> AppResult<i64> {
    req.line_id
        .ok_or_else(|| AppError::invalid("line_id", "请选择服务条线"))
}

/// Service line `line_id`; one that does not exist is an invalid `line_id`.
pub(super) async fn requested_line(ctx: &Ctx, line_id: i64) -> AppResult<LineRow> {
    match ctx.store.service_line(line_id).await {
        Ok(l) => Ok(l),
        Err(StoreError::NotFound) => Err(AppError::invalid(
            "line_id",
            format!("服务条线编号 {line_id} 不存在"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A line's document for `req` (kind `support_table` or `line_monthly`) over `p`.
pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    req: &ReportRequest,
    p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let line_id = requested_line_id(req)?;
    if req.kind == ReportKind::LineMonthly && req.format != Format::Docx {
        return Err(AppError::invalid("format", "运营月报只提供 DOCX 格式"));
    }
    let line = requested_line(ctx, line_id).await?;
    if req.kind == ReportKind::LineStatistics {
        let f = RecordFilter {
            line_id: Some(line_id),
            from_ms: Some(p.from.timestamp_millis()),
            to_ms: Some(p.to.timestamp_millis()),
            ..RecordFilter::default()
        };
        crate::ops::line(ctx, u, line_id).await?;
        let rows = all_records(ctx, &f).await?;
        let bj = crate::clock::beijing();
        let facts: Vec<crate::domain::operations::StatFact> = rows
            .iter()
            .filter_map(|r| {
                Some(crate::domain::operations::StatFact {
                    kind: RecordType::parse(&r.kind)?,
                    month: chrono::DateTime::from_timestamp_millis(r.occurred_at)?
                        .with_timezone(&bj)
                        .format("%Y-%m")
                        .to_string(),
                    channel: r.channel.clone(),
                    org_level: r.org_level.clone(),
                    data: serde_json::from_str(&r.data).unwrap_or_default(),
                })
            })
            .collect();
        let title = format!("{}统计报表", line.name);
        let data = StatData {
            meta: DocMeta {
                title: title.clone(),
                subtitle: Some(format!("服务条线 {}", line.code)),
                ..meta
            },
            stats: crate::domain::operations::statistics(&facts),
            total: facts.len(),
        };
        let format = req.format;
        let bytes =
            super::write_off_runtime(format, data, statistics_docx, statistics_xlsx).await?;
        return Ok(Made {
            title,
            subtitle: line.code,
            bytes,
            note: String::new(),
        });
    }
    // The figures of `GET /service-lines/{id}/stats` for the same period.
    let ind = crate::ops::indicators(ctx, u, line_id, p.from, p.to).await?;
    let (title, records, texts) = match req.kind {
        ReportKind::LineMonthly => (
            format!("{}运营月报", line.name),
            Vec::new(),
            super::texts::load(ctx, "line.").await?,
        ),
        _ => {
            let f = RecordFilter {
                line_id: Some(line_id),
                kind: Some(RecordType::Support.as_str().to_string()),
                from_ms: Some(p.from.timestamp_millis()),
                to_ms: Some(p.to.timestamp_millis()),
                ..RecordFilter::default()
            };
            let mut rows = all_records(ctx, &f).await?;
            rows.reverse();
            (
                format!("{}技术支持服务表", line.name),
                rows,
                Texts::default(),
            )
        }
    };
    let data = LineData {
        meta: DocMeta {
            title: title.clone(),
            subtitle: Some(format!("服务条线 {}", line.code)),
            ..meta
        },
        code: line.code.clone(),
        name: line.name.clone(),
        handle_minutes: ind.handle_minutes,
        records,
        stats: ind.stats,
        requirements: (ind.requirements_new, ind.requirements_delivered),
        texts,
    };
    let (kind, format) = (req.kind, req.format);
    let bytes = super::off_runtime(move || match (kind, format) {
        (ReportKind::LineMonthly, _) => monthly_docx(&data),
        (_, Format::Docx) => support_docx(&data),
        (_, Format::Xlsx) => support_xlsx(&data),
    })
    .await?;
    Ok(Made {
        title,
        // The file is named `<title>-<code>-<period>`.
        subtitle: line.code,
        bytes,
        note: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RecordRow {
        RecordRow {
            id: 7,
            line_id: 1,
            line_code: "4.2.7".into(),
            line_name: "运营服务".into(),
            kind: "support".into(),
            occurred_at: 1_762_133_400_000,
            duration_minutes: Some(20),
            requester: Some("王科长".into()),
            organisation: Some("广州市生态环境局".into()),
            org_level: None,
            channel: Some("电话".into()),
            summary: "办件无法提交".into(),
            answer: Some("清除缓存后重试".into()),
            result: Some("已解决".into()),
            system_id: None,
            system_name: None,
            ticket_id: None,
            ticket_number: None,
            data: "{}".into(),
            operator_id: 2,
            operator_name: Some("张工".into()),
            origin: "manual".into(),
            rating: Some("满意".into()),
            rating_comment: Some("很快".into()),
            confirmed_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_support_table_is_a_landscape_table_of_every_record_with_the_totals() {
        let rows = support_rows(&[record()]);
        assert_eq!(rows[0].len(), SUPPORT_HEADERS.len());
        assert_eq!(rows[0][0], "FW000007");
        assert_eq!(rows[0][5], "2025-11-03 09:30");
        assert_eq!(rows[0][6], "20 分钟");
        assert_eq!(rows[0][11], "满意（很快）");
        let stats = LineStats {
            support: 1,
            resolved: 1,
            resolution_rate: Some(100.0),
            ..LineStats::default()
        };
        let t = totals(&stats, 30);
        assert!(t.contains(&vec!["解决率".to_string(), "100%".to_string()]));
        assert!(t.contains(&vec!["满意度".to_string(), "—".to_string()]));
        let created = chrono::DateTime::from_timestamp_millis(1_762_133_400_000).unwrap();
        let d = LineData {
            meta: DocMeta::sample("运营服务技术支持服务表", None, created),
            code: "4.2.7".into(),
            name: "运营服务".into(),
            handle_minutes: 30,
            records: vec![record()],
            stats,
            requirements: (2, 1),
            texts: Texts::defaults(),
        };
        let bytes = support_docx(&d).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut z.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        assert!(xml.contains("w:orient=\"landscape\""), "{xml}");
        assert!(xml.contains("处理过程及结果") && xml.contains("王科长"));
        assert!(support_xlsx(&d).unwrap().starts_with(b"PK"));
    }

    #[test]
    fn rates_and_minutes_read_as_the_api_figures() {
        assert_eq!(pct(Some(66.7)), "66.7%");
        assert_eq!(pct(Some(100.0)), "100%");
        assert_eq!(pct(None), "—");
        assert_eq!(minutes(Some(30.0)), "30 分钟");
        assert_eq!(minutes(Some(22.5)), "22.5 分钟");
        let mut m = std::collections::BTreeMap::new();
        assert_eq!(list_text(&types_in_order(&m), "项"), "无");
        m.insert("support".to_string(), 3);
        m.insert("reconciliation".to_string(), 1);
        m.insert("account".to_string(), 2);
        assert_eq!(
            list_text(&types_in_order(&m), "项"),
            "技术支持 3 项、账号权限 2 项、数据对账 1 项"
        );
    }
}
