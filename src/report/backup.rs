//! 《备份监督月报》 (`backup_monthly`, DOCX and XLSX): the month's backup oversight — a
//! summary (editable `backup.*` text blocks), the coverage per system and data set with
//! the same figures as `GET /backups/coverage`, the failed runs and the missed slots
//! listed, the runs flagged (size out of range, shrunk, no checksum), and the restore
//! drills. The coverage rows are the 运维月报's (`om::backup_rows`), so that the two
//! documents and the API never disagree.

use serde_json::{Value, json};

use super::docx::{DocBuilder, DocMeta};
use super::om::{BACKUP_HEADERS, backup_rows};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, text_rows, workbook};
use super::{Format, Made, Period};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::backup::coverage::{coverage, month_bounds, size_label, totals};
use crate::backup::runs::{flags_of, list};
use crate::error::{AppError, AppResult};
use crate::store::backup_runs::RunFilter;

pub const TITLE: &str = "备份监督月报";

/// What the restore drills section says when no drill was held in the month.
pub const NO_DRILLS: &str = "本月未进行恢复演练。";

pub const DRILL_HEADERS: [&str; 9] = [
    "演练时间",
    "系统",
    "数据集",
    "恢复内容",
    "恢复位置",
    "耗时（RTO）",
    "数据时点（RPO）",
    "结果",
    "验证人",
];

pub const OVERDUE_HEADERS: [&str; 3] = ["系统", "数据集", "最近一次演练"];

/// Seconds as "1小时5分" / "3分20秒".
fn span(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}秒"),
        (0, _) => format!("{m}分{s}秒"),
        _ => format!("{h}小时{m}分"),
    }
}

/// One row per drill of the month (`DRILL_HEADERS`).
fn drill_rows(drills: &[crate::store::backup_drills::DrillRow]) -> Vec<Vec<String>> {
    drills
        .iter()
        .map(|d| {
            vec![
                crate::clock::local_minutes(d.drilled_at),
                d.system_name.clone().unwrap_or_default(),
                d.data_set.clone().unwrap_or_default(),
                d.scope.clone(),
                d.target.clone(),
                d.duration_seconds.map_or("—".into(), span),
                d.data_point.map_or("—".into(), |p| {
                    format!(
                        "{}（{}前）",
                        crate::clock::local_minutes(p),
                        span((d.drilled_at - p).max(0) / 1000)
                    )
                }),
                match d.result.as_str() {
                    "passed" => "通过",
                    "partial" => "部分通过",
                    "failed" => "未通过",
                    other => other,
                }
                .to_string(),
                d.verifier
                    .clone()
                    .or_else(|| d.verifier_username.clone())
                    .unwrap_or_else(|| "—".into()),
            ]
        })
        .collect()
}

/// The policies whose drill is overdue at the month's end (`OVERDUE_HEADERS`).
pub fn overdue_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .filter(|v| v["drill_overdue"].as_bool() == Some(true))
        .map(|v| {
            vec![
                v["system_name"].as_str().unwrap_or_default().to_string(),
                v["data_set"].as_str().unwrap_or_default().to_string(),
                v["last_drill"]["date"]
                    .as_str()
                    .map_or("从未演练".into(), str::to_string),
            ]
        })
        .collect()
}

/// How many failed or flagged runs the document lists at most.
const RUNS_LISTED: i64 = 2_000;

/// A run of the month, as the lists show it.
pub struct RunLine {
    pub started_at: i64,
    pub system: String,
    pub data_set: String,
    pub status: String,
    pub size: String,
    pub flags: String,
    pub note: String,
}

/// Everything the document shows.
pub struct BackupData {
    pub meta: DocMeta,
    /// `GET /backups/coverage`'s items of the month.
    pub items: Vec<Value>,
    /// The failed runs of the month, oldest first.
    pub failed: Vec<RunLine>,
    /// The successful runs of the month with flags, oldest first.
    pub flagged: Vec<RunLine>,
    /// The restore drills of the month (`DRILL_HEADERS`), oldest first.
    pub drills: Vec<Vec<String>>,
    pub texts: Texts,
}

/// The figures the editable paragraphs may use (`texts::BACKUP_VARS`).
pub fn text_vars(d: &BackupData) -> Value {
    let t = totals(&d.items);
    json!({
        "period": d.meta.period,
        "policies": t["policies"], "systems": t["systems"], "expected": t["expected"],
        "due": t["due"], "succeeded": t["succeeded"], "failed": t["failed"],
        "missed": t["missed"], "success_rate": t["success_rate_label"],
        "volume": t["volume_label"], "flagged": d.flagged.len(),
        "problem_policies": t["problem_policies"],
    })
}

/// The summary's figures: name and value.
pub fn summary_rows(d: &BackupData) -> Vec<Vec<String>> {
    let t = totals(&d.items);
    let s = |k: &str| match &t[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    vec![
        vec!["备份策略数".into(), s("policies")],
        vec!["涉及系统数".into(), s("systems")],
        vec!["计划备份次数".into(), s("expected")],
        vec!["已到期计划次数".into(), s("due")],
        vec!["成功次数".into(), s("succeeded")],
        vec!["失败次数".into(), s("failed")],
        vec!["漏备次数".into(), s("missed")],
        vec!["备份成功率".into(), s("success_rate_label")],
        vec!["成功备份数据量".into(), s("volume_label")],
        vec!["有标记的成功备份次数".into(), d.flagged.len().to_string()],
        vec!["有失败或漏备的策略数".into(), s("problem_policies")],
    ]
}

/// 系统, 数据集, 备份计划, 计划次数, 备份量, 最近一次良好备份.
pub fn volume_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|v| {
            vec![
                v["system_name"].as_str().unwrap_or_default().to_string(),
                v["data_set"].as_str().unwrap_or_default().to_string(),
                v["schedule"].as_str().unwrap_or_default().to_string(),
                v["expected"].as_i64().unwrap_or(0).to_string(),
                size_label(v["volume_bytes"].as_i64().unwrap_or(0)),
                v["last_good_run"]["started_at"]
                    .as_str()
                    .and_then(local)
                    .unwrap_or_else(|| "—".into()),
            ]
        })
        .collect()
}

pub const VOLUME_HEADERS: [&str; 6] = [
    "系统",
    "数据集",
    "备份计划",
    "计划次数",
    "备份量",
    "最近一次良好备份",
];

/// An RFC 3339 time in Beijing, to the minute.
fn local(t: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| crate::clock::local_minutes(t.timestamp_millis()))
}

/// 系统, 数据集, 漏备次数, 漏备的计划时间: one row per policy with missed slots.
pub fn missed_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .filter(|v| v["missed"].as_i64().unwrap_or(0) > 0)
        .map(|v| {
            let times: Vec<String> = v["missed_at"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t.as_str().and_then(local))
                .map(|t| t.get(5..).unwrap_or(t.as_str()).to_string())
                .collect();
            vec![
                v["system_name"].as_str().unwrap_or_default().to_string(),
                v["data_set"].as_str().unwrap_or_default().to_string(),
                v["missed"].as_i64().unwrap_or(0).to_string(),
                times.join("、"),
            ]
        })
        .collect()
}

pub const MISSED_HEADERS: [&str; 4] = ["系统", "数据集", "漏备次数", "漏备的计划时间"];

pub fn run_rows(runs: &[RunLine], with_flags: bool) -> Vec<Vec<String>> {
    runs.iter()
        .map(|r| {
            let mut row = vec![
                crate::clock::local_minutes(r.started_at),
                r.system.clone(),
                r.data_set.clone(),
                r.status.clone(),
                r.size.clone(),
            ];
            row.push(if with_flags {
                r.flags.clone()
            } else {
                r.note.clone()
            });
            row
        })
        .collect()
}

pub const FAILED_HEADERS: [&str; 6] = ["开始时间", "系统", "数据集", "结果", "大小", "日志摘要"];
pub const FLAGGED_HEADERS: [&str; 6] = ["开始时间", "系统", "数据集", "结果", "大小", "标记"];

/// The DOCX.
pub fn docx(d: &BackupData) -> anyhow::Result<Vec<u8>> {
    let vars = text_vars(d);
    let mut b = DocBuilder::new(&d.meta).heading(1, "本月备份情况综述");
    b = b.paragraphs(&d.texts.render("backup.summary", &vars));
    b = b
        .heading(2, "关键指标")
        .table(&["指标", "本月"], &summary_rows(d), &[4, 2]);
    b = b.heading(1, "各系统备份覆盖情况");
    if d.items.is_empty() {
        b = b.paragraph("尚未登记备份策略，本月无备份监督记录。");
    } else {
        let (rows, text) = backup_rows(&d.items);
        b = b
            .paragraph(&text)
            .table(&BACKUP_HEADERS, &rows, &[5, 4, 1, 1, 1, 1, 2])
            .heading(2, "备份量与最近一次良好备份")
            .table(&VOLUME_HEADERS, &volume_rows(&d.items), &[5, 4, 2, 1, 2, 3]);
    }
    b = b.heading(1, "失败与漏备");
    b = b.heading(2, "失败的备份");
    b = if d.failed.is_empty() {
        b.paragraph("本月无失败的备份。")
    } else {
        b.table(
            &FAILED_HEADERS,
            &run_rows(&d.failed, false),
            &[3, 4, 3, 1, 2, 5],
        )
    };
    b = b.heading(2, "漏备");
    let missed = missed_rows(&d.items);
    b = if missed.is_empty() {
        b.paragraph("本月无漏备。")
    } else {
        b.paragraph("漏备：计划备份时间加宽限期内没有成功完成的备份。")
            .table(&MISSED_HEADERS, &missed, &[4, 3, 1, 8])
    };
    b = b.heading(1, "异常标记的备份");
    b = if d.flagged.is_empty() {
        b.paragraph("本月成功的备份均未发现大小或校验值异常。")
    } else {
        b.table(
            &FLAGGED_HEADERS,
            &run_rows(&d.flagged, true),
            &[3, 4, 3, 1, 2, 5],
        )
    };
    b = b.heading(1, "恢复演练情况");
    b = if d.drills.is_empty() {
        b.paragraph(NO_DRILLS)
    } else {
        b.table(&DRILL_HEADERS, &d.drills, &[3, 3, 3, 3, 3, 2, 3, 1, 2])
    };
    let overdue = overdue_rows(&d.items);
    b = if overdue.is_empty() {
        b.paragraph("各备份策略的恢复演练均未逾期。")
    } else {
        b.paragraph("以下备份策略的恢复演练已逾期：")
            .table(&OVERDUE_HEADERS, &overdue, &[5, 4, 3])
    };
    b = b.heading(1, "问题与建议");
    b = b.paragraphs(&d.texts.render("backup.advice", &vars));
    b.signatures().finish()
}

/// The XLSX: the summary, the coverage, the failed and missed runs, the flagged runs and
/// the restore drills.
pub fn xlsx(d: &BackupData) -> anyhow::Result<Vec<u8>> {
    let p = &d.meta.period;
    let summary = text_rows(summary_rows(d));
    let n = |v: &Value, k: &str| Cell::from(v[k].as_i64().unwrap_or(0));
    let coverage: Vec<Vec<Cell>> = d
        .items
        .iter()
        .map(|v| {
            vec![
                v["system_name"].as_str().unwrap_or_default().into(),
                v["data_set"].as_str().unwrap_or_default().into(),
                v["schedule"].as_str().unwrap_or_default().into(),
                n(v, "expected"),
                n(v, "due"),
                n(v, "succeeded"),
                n(v, "failed"),
                n(v, "missed"),
                v["success_rate"].as_f64().map_or(Cell::Empty, |r| {
                    Cell::Percent((r * 10_000.0).round() / 100.0)
                }),
                n(v, "volume_bytes"),
                v["last_good_run"]["started_at"]
                    .as_str()
                    .and_then(local)
                    .map_or(Cell::Empty, Cell::Text),
            ]
        })
        .collect();
    let mut drills = text_rows(d.drills.clone());
    if drills.is_empty() {
        drills.push(vec![Cell::Text(NO_DRILLS.into())]);
    }
    let overdue = text_rows(overdue_rows(&d.items));
    let sheets = [
        Sheet::new(
            "汇总",
            format!("{p} 备份监督月报 关键指标"),
            vec!["指标", "本月"],
            summary,
        ),
        Sheet::new(
            "覆盖情况",
            format!("{p} 各系统备份覆盖情况"),
            vec![
                "系统",
                "数据集",
                "备份计划",
                "计划次数",
                "应备份",
                "成功",
                "失败",
                "漏备",
                "成功率",
                "备份量（字节）",
                "最近一次良好备份",
            ],
            coverage,
        ),
        Sheet::new(
            "失败的备份",
            format!("{p} 失败的备份"),
            FAILED_HEADERS.to_vec(),
            text_rows(run_rows(&d.failed, false)),
        ),
        Sheet::new(
            "漏备",
            format!("{p} 漏备"),
            MISSED_HEADERS.to_vec(),
            text_rows(missed_rows(&d.items)),
        ),
        Sheet::new(
            "异常标记",
            format!("{p} 异常标记的备份"),
            FLAGGED_HEADERS.to_vec(),
            text_rows(run_rows(&d.flagged, true)),
        ),
        Sheet::new(
            "恢复演练",
            format!("{p} 恢复演练情况"),
            DRILL_HEADERS.to_vec(),
            drills,
        ),
        Sheet::new(
            "逾期演练",
            format!("{p} 恢复演练逾期的备份策略"),
            OVERDUE_HEADERS.to_vec(),
            overdue,
        ),
    ];
    workbook(
        &sheets,
        &format!("{TITLE}（{p}）"),
        &d.meta.contractor,
        d.meta.created,
    )
}

/// The month (`YYYY-MM`) a request's period is, or the error saying it must be one.
pub fn month_of(p: &super::PeriodInput) -> AppResult<String> {
    match p {
        super::PeriodInput::Text(t)
            if t.trim().len() == 7
                && chrono::NaiveDate::parse_from_str(&format!("{}-01", t.trim()), "%Y-%m-%d")
                    .is_ok() =>
        {
            Ok(t.trim().to_string())
        }
        _ => Err(AppError::invalid(
            "period",
            "备份监督月报按月生成，报告期间应为“2025-11”这样的月份",
        )),
    }
}

/// Reads the month's coverage and runs and makes the document.
pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    format: Format,
    month: &str,
    _p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let c = coverage(ctx, u, month).await?;
    let items = c["items"].as_array().cloned().unwrap_or_default();
    let (from, to) = month_bounds(month)?;
    let lines = |status: &str| RunFilter {
        status: Some(status.into()),
        from_ms: Some(from),
        to_ms: Some(to),
        ..Default::default()
    };
    let (failed_rows, _) = list(ctx, u, lines("fail"), RUNS_LISTED, 0).await?;
    let (ok_rows, _) = list(ctx, u, lines("success"), RUNS_LISTED, 0).await?;
    let flags = flags_of(ctx, &ok_rows).await?;
    let line =
        |r: &crate::store::backup_runs::RunRow, f: &[crate::domain::backup_eval::Flag]| RunLine {
            started_at: r.started_at,
            system: r.system_name.clone().unwrap_or_default(),
            data_set: r.data_set.clone().unwrap_or_default(),
            status: crate::domain::backup::RunStatus::parse(&r.status)
                .map_or(r.status.clone(), |s| s.label().to_string()),
            size: r.size_bytes.map_or("—".into(), size_label),
            flags: f.iter().map(|f| f.label()).collect::<Vec<_>>().join("、"),
            note: r
                .log_tail
                .as_deref()
                .map(|t| t.trim().chars().rev().take(200).collect::<Vec<_>>())
                .map(|v| {
                    v.into_iter()
                        .rev()
                        .collect::<String>()
                        .replace(['\r', '\n'], " ")
                })
                .unwrap_or_else(|| "—".into()),
        };
    let mut failed: Vec<RunLine> = failed_rows.iter().map(|r| line(r, &[][..])).collect();
    let mut flagged: Vec<RunLine> = ok_rows
        .iter()
        .zip(&flags)
        .filter(|(_, f)| !f.is_empty())
        .map(|(r, f)| line(r, f.as_slice()))
        .collect();
    failed.sort_by_key(|r| r.started_at);
    flagged.sort_by_key(|r| r.started_at);
    let (mut drill_list, _) = ctx
        .store
        .restore_drills(
            &crate::store::backup_drills::DrillFilter {
                from_ms: Some(from),
                to_ms: Some(to),
                ..Default::default()
            },
            RUNS_LISTED,
            0,
        )
        .await?;
    drill_list.sort_by_key(|d| (d.drilled_at, d.id));
    let texts = super::texts::load(ctx, "backup.").await?;
    let d = BackupData {
        meta,
        items,
        failed,
        flagged,
        drills: drill_rows(&drill_list),
        texts,
    };
    let bytes = super::write_off_runtime(format, d, docx, xlsx).await?;
    Ok(Made {
        title: TITLE.into(),
        subtitle: "数据备份".into(),
        bytes,
        note: String::new(),
    })
}
