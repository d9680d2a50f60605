//! 《系统业务需求和功能改进清单》: the requirements open during a period (of one service
//! line or system, or all), with their status and dates, the counts per status and the
//! signature block; DOCX and XLSX.

use chrono::{DateTime, Utc};

use super::docx::{DocBuilder, DocMeta};
use super::xlsx::{Cell, Sheet, workbook};
use crate::domain::requirements::{Priority, STATUSES, Source, Status, counts_by_status};
use crate::store::requirements::RequirementRow;

pub const TITLE: &str = "系统业务需求和功能改进清单";

const HEADERS: [&str; 11] = [
    "序号",
    "需求名称",
    "系统",
    "服务条线",
    "来源",
    "优先级",
    "提出人（单位）",
    "提出日期",
    "状态",
    "状态日期",
    "计划完成日期",
];

fn date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&crate::clock::beijing())
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
}

fn status_label(s: &str) -> String {
    Status::parse(s).map_or(s.to_string(), |s| s.label().to_string())
}

fn row(i: usize, r: &RequirementRow) -> Vec<String> {
    let proposer = match (&r.proposer_name, &r.proposer_org) {
        (Some(n), Some(o)) => format!("{n}（{o}）"),
        (Some(n), None) => n.clone(),
        (None, Some(o)) => o.clone(),
        (None, None) => r.created_by_name.clone().unwrap_or_default(),
    };
    vec![
        (i + 1).to_string(),
        r.title.clone(),
        r.system_name.clone().unwrap_or_default(),
        r.line_code
            .as_ref()
            .map(|c| format!("{c} {}", r.line_name.clone().unwrap_or_default()))
            .unwrap_or_default(),
        Source::parse(&r.source).map_or(r.source.clone(), |s| s.label().to_string()),
        Priority::parse(&r.priority).map_or(r.priority.clone(), |p| p.label().to_string()),
        proposer,
        date(r.created_at),
        status_label(&r.status),
        date(r.status_at),
        r.planned_date.clone().unwrap_or_default(),
    ]
}

/// The counts per status, every status listed, and the total.
fn counts(rows: &[RequirementRow]) -> Vec<(String, u32)> {
    let statuses: Vec<Status> = rows
        .iter()
        .filter_map(|r| Status::parse(&r.status))
        .collect();
    let c = counts_by_status(&statuses);
    STATUSES
        .iter()
        .map(|s| (s.label().to_string(), c.get(s).copied().unwrap_or(0)))
        .collect()
}

/// The sentence that sums the list up.
pub fn summary(rows: &[RequirementRow], scope: &str) -> String {
    let parts: Vec<String> = counts(rows)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| format!("{l} {n} 项"))
        .collect();
    if rows.is_empty() {
        format!("本期{scope}没有需求和功能改进事项。")
    } else {
        format!(
            "本期{scope}共有需求和功能改进事项 {} 项，其中{}。",
            rows.len(),
            parts.join("，")
        )
    }
}

pub fn docx(meta: &DocMeta, scope: &str, rows: &[RequirementRow]) -> anyhow::Result<Vec<u8>> {
    let table: Vec<Vec<String>> = rows.iter().enumerate().map(|(i, r)| row(i, r)).collect();
    let mut count_rows: Vec<Vec<String>> = counts(rows)
        .into_iter()
        .map(|(l, n)| vec![l, n.to_string()])
        .collect();
    count_rows.push(vec!["合计".into(), rows.len().to_string()]);
    let reasons: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let history: Vec<serde_json::Value> = serde_json::from_str(&r.history).ok()?;
            let last = history.last()?;
            let reason = last.get("reason")?.as_str()?;
            Some(vec![
                (i + 1).to_string(),
                r.title.clone(),
                status_label(&r.status),
                reason.to_string(),
            ])
        })
        .collect();
    let mut b = DocBuilder::new(meta)
        .heading(1, "概述")
        .paragraph(&summary(rows, scope))
        .heading(1, "状态统计")
        .table(&["状态", "数量（项）"], &count_rows, &[2, 1])
        .heading(1, "需求和功能改进清单")
        .table(&HEADERS, &table, &[1, 4, 3, 3, 2, 1, 3, 2, 2, 2, 2]);
    if !reasons.is_empty() {
        b = b.heading(1, "驳回与退回说明").table(
            &["序号", "需求名称", "状态", "原因"],
            &reasons,
            &[1, 3, 2, 4],
        );
    }
    b.signatures().finish()
}

pub fn xlsx(meta: &DocMeta, rows: &[RequirementRow]) -> anyhow::Result<Vec<u8>> {
    let title = format!("{}（{}）", meta.title, meta.period);
    let list: Vec<Vec<Cell>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            row(i, r)
                .into_iter()
                .enumerate()
                .map(|(k, v)| {
                    if k == 0 {
                        Cell::from((i + 1) as i64)
                    } else {
                        Cell::from(v)
                    }
                })
                .collect()
        })
        .collect();
    let mut count_rows: Vec<Vec<Cell>> = counts(rows)
        .into_iter()
        .map(|(l, n)| vec![Cell::from(l), Cell::from(n)])
        .collect();
    count_rows.push(vec![Cell::from("合计"), Cell::from(rows.len() as i64)]);
    workbook(
        &[
            Sheet::new("需求清单", title.clone(), HEADERS.to_vec(), list),
            Sheet::new(
                "状态统计",
                format!("{title} 状态统计"),
                vec!["状态", "数量（项）"],
                count_rows,
            ),
        ],
        &meta.title,
        &meta.contractor,
        meta.created,
    )
}
