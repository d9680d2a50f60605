//! The 故障报告 (fault report) of one incident as a Word document.

use docx_rs::{
    AlignmentType, Docx, Paragraph, Run, RunFonts, Style, StyleType, Table, TableCell, TableRow,
    WidthType,
};
use serde_json::{Map, Value};

use crate::domain::tickets::FAULT_REPORT_FIELDS;

/// What the report shows besides the fault report fields.
pub struct FaultReportHead<'a> {
    pub number: &'a str,
    pub title: &'a str,
    pub system: &'a str,
    pub priority: &'a str,
    pub reported_at: String,
    pub onsite_at: String,
    pub resolved_at: String,
    pub assignee: &'a str,
    pub requester: &'a str,
}

fn text(s: &str) -> Run {
    Run::new()
        .add_text(s)
        .fonts(RunFonts::new().east_asia("宋体").ascii("Times New Roman"))
        .size(24)
}

fn cell(s: &str, bold: bool, width: usize) -> TableCell {
    let mut r = text(s);
    if bold {
        r = r.bold();
    }
    TableCell::new()
        .add_paragraph(Paragraph::new().add_run(r))
        .width(width, WidthType::Dxa)
}

fn local(v: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|d| crate::clock::local_minutes(d.timestamp_millis()))
        .unwrap_or_else(|_| v.to_string())
}

/// Renders the report; fields are labelled in Chinese and times shown in Beijing time.
pub fn render(head: &FaultReportHead<'_>, report: &Map<String, Value>) -> anyhow::Result<Vec<u8>> {
    let title_style = Style::new("Title1", StyleType::Paragraph)
        .name("Heading 1")
        .bold()
        .size(36);
    let mut doc = Docx::new()
        .default_fonts(RunFonts::new().east_asia("宋体").ascii("Times New Roman"))
        .add_style(title_style)
        .add_paragraph(
            Paragraph::new()
                .add_run(
                    Run::new()
                        .add_text("故障报告")
                        .bold()
                        .size(36)
                        .fonts(RunFonts::new().east_asia("黑体")),
                )
                .style("Title1")
                .align(AlignmentType::Center),
        )
        .add_paragraph(
            Paragraph::new()
                .add_run(text(&format!("工单编号：{}", head.number)))
                .align(AlignmentType::Right),
        );
    let rows: Vec<(&str, String)> = vec![
        ("故障名称", head.title.to_string()),
        ("所属系统", head.system.to_string()),
        ("优先级", head.priority.to_string()),
        ("报障人", head.requester.to_string()),
        ("报障时间", head.reported_at.clone()),
        ("到场时间", head.onsite_at.clone()),
        ("解决时间", head.resolved_at.clone()),
        ("处理人", head.assignee.to_string()),
    ];
    let mut table_rows: Vec<TableRow> = rows
        .iter()
        .map(|(k, v)| TableRow::new(vec![cell(k, true, 2000), cell(v, false, 7000)]))
        .collect();
    for (key, label) in FAULT_REPORT_FIELDS {
        let v = report.get(*key).and_then(Value::as_str).unwrap_or_default();
        let v = if key.ends_with("_at") {
            local(v)
        } else {
            v.to_string()
        };
        table_rows.push(TableRow::new(vec![
            cell(label, true, 2000),
            cell(&v, false, 7000),
        ]));
    }
    doc = doc.add_table(Table::new(table_rows).set_grid(vec![2000, 7000]));
    doc = doc.add_paragraph(Paragraph::new());
    doc = doc.add_paragraph(
        Paragraph::new().add_run(text("运维单位（盖章）：                    日期：")),
    );
    let mut buf = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut buf)
        .map_err(|e| anyhow::anyhow!("docx: {e}"))?;
    Ok(buf.into_inner())
}
