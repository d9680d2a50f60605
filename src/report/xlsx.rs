//! The XLSX side of the document engine: a sheet a government client can print and file —
//! a title row, styled header, borders, autofilter, frozen panes, dates as dates, columns
//! fitted to their text (CJK counted double), landscape fit-to-width with the header
//! repeated on every page, and real document properties.

use chrono::{DateTime, NaiveDate, Utc};
use rust_xlsxwriter::{
    Chart, ChartDataLabel, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign,
    FormatBorder, Workbook, Worksheet,
};

/// A cell's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A percentage as a number of percent (93.5 → 93.5%).
    Percent(f64),
    Date(NaiveDate),
    /// Shown in Beijing time.
    Time(DateTime<Utc>),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Number(v as f64)
    }
}

impl From<u32> for Cell {
    fn from(v: u32) -> Self {
        Cell::Number(f64::from(v))
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Percent)
    }
}

/// One sheet: a title, the headers and the rows.
pub struct Sheet<'a> {
    pub name: &'a str,
    pub title: String,
    pub headers: Vec<&'a str>,
    pub rows: Vec<Vec<Cell>>,
}

impl<'a> Sheet<'a> {
    pub fn new(name: &'a str, title: String, headers: Vec<&'a str>, rows: Vec<Vec<Cell>>) -> Self {
        Sheet {
            name,
            title,
            headers,
            rows,
        }
    }
}

/// Rows of texts as rows of cells.
pub fn text_rows<R: IntoIterator<Item = String>>(rows: Vec<R>) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .map(|r| r.into_iter().map(Cell::Text).collect())
        .collect()
}

/// Display width of a text: CJK and full-width characters count double.
fn width_of(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2.0 } else { 1.0 })
        .sum()
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Number(v) => crate::domain::inspection::template::num(*v),
        Cell::Percent(v) => format!("{v}%"),
        Cell::Date(_) => "2025-01-01".into(),
        Cell::Time(_) => "2025-01-01 00:00".into(),
        Cell::Empty => String::new(),
    }
}

fn excel_date(d: NaiveDate) -> anyhow::Result<ExcelDateTime> {
    use chrono::Datelike;
    Ok(ExcelDateTime::from_ymd(
        u16::try_from(d.year())?,
        d.month() as u8,
        d.day() as u8,
    )?)
}

fn excel_time(t: chrono::NaiveDateTime) -> anyhow::Result<ExcelDateTime> {
    use chrono::Timelike;
    Ok(excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())?)
}

fn write_sheet(ws: &mut Worksheet, s: &Sheet<'_>) -> anyhow::Result<()> {
    let border = Format::new().set_border(FormatBorder::Thin);
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_font_name("黑体")
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let header = border
        .clone()
        .set_bold()
        .set_font_name("黑体")
        .set_background_color("D9E2F3")
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let text = border.clone().set_font_name("宋体");
    let number = text.clone().set_num_format("#,##0.##");
    let percent = text.clone().set_num_format("0.0\"%\"");
    let date = text.clone().set_num_format("yyyy-mm-dd");
    let time = text.clone().set_num_format("yyyy-mm-dd hh:mm");
    let ncols = s.headers.len().max(1) as u16;
    ws.set_name(s.name)?;
    ws.merge_range(0, 0, 0, ncols - 1, &s.title, &title)?;
    ws.set_row_height(0, 30)?;
    for (i, h) in s.headers.iter().enumerate() {
        ws.write_string_with_format(1, i as u16, *h, &header)?;
    }
    let mut widths: Vec<f64> = s.headers.iter().map(|h| width_of(h)).collect();
    for (r, row) in s.rows.iter().enumerate() {
        let r = (r + 2) as u32;
        for (c, v) in row.iter().enumerate().take(ncols as usize) {
            let col = c as u16;
            match v {
                Cell::Text(t) => ws.write_string_with_format(r, col, t, &text)?,
                Cell::Number(n) => ws.write_number_with_format(r, col, *n, &number)?,
                Cell::Percent(n) => ws.write_number_with_format(r, col, *n, &percent)?,
                Cell::Date(d) => ws.write_datetime_with_format(r, col, excel_date(*d)?, &date)?,
                Cell::Time(t) => {
                    let local = t.with_timezone(&crate::clock::beijing()).naive_local();
                    ws.write_datetime_with_format(r, col, excel_time(local)?, &time)?
                }
                Cell::Empty => ws.write_blank(r, col, &text)?,
            };
            widths[c] = widths[c].max(width_of(&cell_text(v)));
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (w + 2.0).clamp(6.0, 60.0))?;
    }
    let last_row = (s.rows.len() + 1) as u32;
    ws.autofilter(1, 0, last_row.max(1), ncols - 1)?;
    ws.set_freeze_panes(2, 0)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 1)?;
    ws.set_footer("&C第 &P 页 共 &N 页");
    Ok(())
}

/// A native chart of a workbook: its figures are written to the 图表 sheet and the chart
/// (a clustered column or a line chart) is drawn by the spreadsheet over those cells.
pub struct SheetChart {
    pub title: String,
    /// Columns (a comparison) or a line (a trend).
    pub bars: bool,
    /// The header of the category column (类别 / 日期).
    pub category_header: String,
    pub categories: Vec<String>,
    /// Each series' name and its value per category (`None`: blank).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    pub y_label: String,
    /// Values are percentages (shown with a %; the axis tops at 100).
    pub percent: bool,
}

/// Name of the sheet that holds the charts and their figures.
pub const CHART_SHEET: &str = "图表";

fn write_charts(ws: &mut Worksheet, charts: &[SheetChart]) -> anyhow::Result<()> {
    let border = Format::new().set_border(FormatBorder::Thin);
    let header = border
        .clone()
        .set_bold()
        .set_font_name("黑体")
        .set_background_color("D9E2F3");
    let text = border.clone().set_font_name("宋体");
    let number = text.clone().set_num_format("#,##0.##");
    let percent = text.clone().set_num_format("0.0\"%\"");
    ws.set_name(CHART_SHEET)?;
    ws.set_column_width(0, 16)?;
    let mut row: u32 = 0;
    for c in charts {
        let n = c.categories.len().min(super::chart::MAX_POINTS) as u32;
        let ns = c.series.len().min(super::chart::MAX_SERIES) as u16;
        ws.write_string_with_format(row, 0, &c.category_header, &header)?;
        for (i, cat) in c.categories.iter().take(n as usize).enumerate() {
            ws.write_string_with_format(row + 1 + i as u32, 0, cat, &text)?;
        }
        let mut chart = Chart::new(if c.bars {
            ChartType::Column
        } else {
            ChartType::Line
        });
        for (si, (name, values)) in c.series.iter().take(ns as usize).enumerate() {
            let col = si as u16 + 1;
            ws.write_string_with_format(row, col, name, &header)?;
            ws.set_column_width(col, (width_of(name) + 2.0).clamp(8.0, 30.0))?;
            for i in 0..n {
                let r = row + 1 + i;
                match values.get(i as usize).copied().flatten() {
                    Some(v) if v.is_finite() => ws.write_number_with_format(
                        r,
                        col,
                        v,
                        if c.percent { &percent } else { &number },
                    )?,
                    _ => ws.write_blank(r, col, &text)?,
                };
            }
            if n > 0 {
                let s = chart
                    .add_series()
                    .set_name((CHART_SHEET, row, col))
                    .set_categories((CHART_SHEET, row + 1, 0, row + n, 0))
                    .set_values((CHART_SHEET, row + 1, col, row + n, col));
                if c.bars || n <= 31 {
                    s.set_data_label(ChartDataLabel::new().show_value());
                }
            }
        }
        chart.title().set_name(&c.title);
        chart.y_axis().set_name(&c.y_label);
        if c.percent {
            chart.y_axis().set_min(0).set_max(100);
        }
        chart.set_width(760).set_height(380);
        if n > 0 && ns > 0 {
            ws.insert_chart(row, ns + 2, &chart)?;
        }
        // Each block is as tall as its chart (20 rows of 20 px) or its figures.
        row += (n + 2).max(21);
    }
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_footer("&C第 &P 页 共 &N 页");
    Ok(())
}

/// A workbook of `sheets`, its properties from the document's title and author.
pub fn workbook(
    sheets: &[Sheet<'_>],
    title: &str,
    author: &str,
    created: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    workbook_with_charts(sheets, &[], title, author, created)
}

/// A workbook of `sheets` and, when there are any, a 图表 sheet of native `charts`.
pub fn workbook_with_charts(
    sheets: &[Sheet<'_>],
    charts: &[SheetChart],
    title: &str,
    author: &str,
    created: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let props = DocProperties::new()
        .set_title(title)
        .set_author(author)
        .set_company(author)
        .set_creation_datetime(&excel_time(created.naive_utc())?);
    wb.set_properties(&props);
    for s in sheets {
        let ws = wb.add_worksheet();
        write_sheet(ws, s)?;
    }
    if !charts.is_empty() {
        write_charts(wb.add_worksheet(), charts)?;
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::{Cursor, Read};

    #[test]
    fn a_sheet_has_title_styled_header_filter_frozen_panes_print_setup_and_properties() {
        let created = Utc.with_ymd_and_hms(2025, 12, 1, 1, 0, 0).unwrap();
        let bytes = workbook(
            &[Sheet::new(
                "巡检任务",
                "2025 年 11 月巡检任务".into(),
                vec!["对象", "完成率", "截止日期"],
                vec![vec![
                    "应用系统甲".into(),
                    Cell::Percent(93.3),
                    Cell::Date(NaiveDate::from_ymd_opt(2025, 11, 30).unwrap()),
                ]],
            )],
            "月度巡检报告",
            "某运维公司",
            created,
        )
        .unwrap();
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        z.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        for s in [
            "<autoFilter",
            "<mergeCell ",
            "state=\"frozen\"",
            "orientation=\"landscape\"",
            "fitToHeight=\"0\"",
            "第 &amp;P 页",
        ] {
            assert!(sheet.contains(s), "sheet lacks {s}: {sheet}");
        }
        let mut wbx = String::new();
        z.by_name("xl/workbook.xml")
            .unwrap()
            .read_to_string(&mut wbx)
            .unwrap();
        assert!(wbx.contains("_xlnm.Print_Titles"), "{wbx}");
        let mut core = String::new();
        z.by_name("docProps/core.xml")
            .unwrap()
            .read_to_string(&mut core)
            .unwrap();
        assert!(core.contains("<dc:title>月度巡检报告</dc:title>"), "{core}");
        assert!(
            core.contains("<dc:creator>某运维公司</dc:creator>"),
            "{core}"
        );
        assert!(core.contains("2025-12-01T01:00:00Z"), "{core}");
    }

    #[test]
    fn cjk_text_counts_double_for_column_widths() {
        assert_eq!(width_of("abc"), 3.0);
        assert_eq!(width_of("机房"), 4.0);
    }
}
