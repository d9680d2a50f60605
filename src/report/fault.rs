//! The 故障报告 (fault report: 故障原因报告及整改措施) of one incident, on the document
//! engine's form layout: the project and purchaser, the ticket's facts, every fault report
//! field with the fault's duration, the signature block, page numbers and real properties.

use chrono::DateTime;
use serde_json::{Map, Value};

use super::docx::DocBuilder;
use crate::Ctx;
use crate::domain::tickets::FAULT_REPORT_FIELDS;
use crate::error::AppResult;
use crate::store::desk::TicketRow;

fn local(v: &str) -> String {
    DateTime::parse_from_rfc3339(v)
        .map(|d| crate::clock::local_minutes(d.timestamp_millis()))
        .unwrap_or_else(|_| v.to_string())
}

/// "2 小时 15 分钟" between two RFC 3339 times, if both parse and the end is later.
fn duration(from: &str, to: &str) -> Option<String> {
    let a = DateTime::parse_from_rfc3339(from).ok()?;
    let b = DateTime::parse_from_rfc3339(to).ok()?;
    let m = (b - a).num_minutes();
    if m < 0 {
        return None;
    }
    Some(match (m / 1440, (m % 1440) / 60, m % 60) {
        (0, 0, mi) => format!("{mi} 分钟"),
        (0, h, mi) => format!("{h} 小时 {mi} 分钟"),
        (d, h, mi) => format!("{d} 天 {h} 小时 {mi} 分钟"),
    })
}

/// The rows of the report: the ticket's facts, then the fault report's fields.
pub fn rows(t: &TicketRow, report: &Map<String, Value>) -> Vec<Vec<String>> {
    let local_ms = |v: Option<i64>| {
        v.map(crate::clock::local_minutes)
            .unwrap_or_else(|| "—".into())
    };
    let mut rows: Vec<Vec<String>> = vec![
        vec!["工单编号".into(), t.number.clone()],
        vec!["故障名称".into(), t.title.clone()],
        vec![
            "所属系统".into(),
            t.system_name.clone().unwrap_or_else(|| "—".into()),
        ],
        vec!["优先级".into(), t.priority.clone()],
        vec![
            "报障人".into(),
            t.requester_name.clone().unwrap_or_else(|| "—".into()),
        ],
        vec![
            "报障时间".into(),
            crate::clock::local_minutes(t.reported_at),
        ],
        vec!["到场时间".into(), local_ms(t.onsite_at)],
        vec!["解决时间".into(), local_ms(t.resolved_at)],
        vec![
            "处理人".into(),
            t.assignee_name.clone().unwrap_or_else(|| "—".into()),
        ],
    ];
    let text = |k: &str| report.get(k).and_then(Value::as_str).unwrap_or_default();
    for (key, label) in FAULT_REPORT_FIELDS {
        let v = text(key);
        let v = if key.ends_with("_at") {
            local(v)
        } else {
            v.to_string()
        };
        rows.push(vec![(*label).to_string(), v]);
    }
    if let Some(d) = duration(text("started_at"), text("recovered_at")) {
        rows.push(vec!["故障时长".into(), d]);
    }
    rows
}

/// The report of a resolved incident as DOCX.
pub async fn docx(ctx: &Ctx, t: &TicketRow, report: &Map<String, Value>) -> AppResult<Vec<u8>> {
    let meta = super::cover(
        ctx,
        "故障报告",
        None,
        crate::clock::local_minutes(t.reported_at),
    )
    .await?;
    let bytes = DocBuilder::form(&meta)
        .table(&["项目", "内容"], &rows(t, report), &[1, 3])
        .signatures()
        .finish()?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_reads_as_people_write_it() {
        assert_eq!(
            duration("2025-10-15T09:00:00+08:00", "2025-10-15T10:30:00+08:00").unwrap(),
            "1 小时 30 分钟"
        );
        assert_eq!(
            duration("2025-10-15T09:00:00+08:00", "2025-10-15T09:20:00+08:00").unwrap(),
            "20 分钟"
        );
        assert_eq!(
            duration("2025-10-14T09:00:00+08:00", "2025-10-15T10:00:00+08:00").unwrap(),
            "1 天 1 小时 0 分钟"
        );
        assert!(duration("2025-10-15T10:00:00+08:00", "2025-10-15T09:00:00+08:00").is_none());
    }
}
