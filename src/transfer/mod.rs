//! Import and export file formats: CSV (UTF-8 with or without BOM, or GBK as Excel in
//! China writes it) and XLSX. Turning rows into records is the spec's job; this module
//! only reads and writes tables, within [`ImportLimits`] checked before anything large is
//! allocated.

pub mod records;
pub mod xlsx;

pub use records::{export_file, import_file};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::FieldError;
use crate::domain::entity::{EntitySpec, Field, Kind, SqlValue, ref_name_key};
use crate::store::entities::RowError;

/// A table read from a file: the header row and the data rows with their 1-based line
/// numbers in the file (the header is line 1).
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

#[derive(Debug)]
pub struct FormatError(pub String);

/// Limits on an imported table, checked while it is read. A file over any of them is
/// refused with a message naming the limit, and nothing is imported.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportLimits {
    /// Data rows (the header not counted).
    pub max_rows: usize,
    pub max_columns: usize,
    /// Text of one cell, in bytes of UTF-8.
    pub max_cell_bytes: usize,
    /// One physical line of a CSV file, in bytes.
    pub max_line_bytes: usize,
    /// Entries in an XLSX zip.
    pub max_zip_entries: usize,
    /// Bytes decompressed from an XLSX zip, all entries together.
    pub max_uncompressed_bytes: u64,
    pub max_xml_depth: usize,
    /// Distinct strings in an XLSX shared strings table.
    pub max_shared_strings: usize,
    /// Cells kept in memory (rows × their width).
    pub max_total_cells: usize,
    /// Text of all cells together, in bytes.
    pub max_total_text_bytes: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_rows: 50_000,
            max_columns: 200,
            max_cell_bytes: 32 * 1024,
            max_line_bytes: 1024 * 1024,
            max_zip_entries: 1_000,
            max_uncompressed_bytes: 100 * 1024 * 1024,
            max_xml_depth: 64,
            max_shared_strings: 1_000_000,
            max_total_cells: 2_000_000,
            max_total_text_bytes: 64 * 1024 * 1024,
        }
    }
}

impl ImportLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_rows == 0
            || self.max_columns == 0
            || self.max_cell_bytes < 1024
            || self.max_line_bytes < 1024
            || self.max_zip_entries < 4
            || self.max_uncompressed_bytes < 1024 * 1024
            || self.max_xml_depth < 8
            || self.max_total_cells == 0
            || self.max_total_text_bytes < 1024
        {
            return Err("import: every limit must be positive (cells and lines at least 1024 bytes, uncompressed at least 1 MiB, XML depth at least 8)".into());
        }
        Ok(())
    }
}

pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads CSV or XLSX (sniffed from the content, not trusted from the name).
pub fn read_table(bytes: &[u8], lim: &ImportLimits) -> Result<Table, FormatError> {
    if is_xlsx(bytes) {
        xlsx::read_xlsx(bytes, lim)
    } else {
        read_csv(bytes, lim)
    }
}

fn decode_text(bytes: &[u8]) -> Result<String, FormatError> {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(b) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::GBK.decode(b);
            if had_errors {
                Err(FormatError(
                    "文件编码无法识别，请另存为 UTF-8 编码的 CSV 或 XLSX 文件".into(),
                ))
            } else {
                Ok(text.into_owned())
            }
        }
    }
}

fn read_csv(bytes: &[u8], lim: &ImportLimits) -> Result<Table, FormatError> {
    // Physical lines first: a 30 MB line is refused before the CSV reader buffers it.
    let mut line_no = 0usize;
    for line in bytes.split(|b| *b == b'\n') {
        line_no += 1;
        if line.len() > lim.max_line_bytes {
            return Err(FormatError(format!(
                "CSV 第 {line_no} 行超过 {} KB 的单行长度上限，请检查文件是否为表格",
                lim.max_line_bytes / 1024
            )));
        }
    }
    if bytes.contains(&0) {
        return Err(FormatError("文件不是 CSV 或 XLSX 表格".into()));
    }
    let text = decode_text(bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    let mut cells_kept = 0usize;
    let mut rec = csv::StringRecord::new();
    let mut i = 0usize;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(FormatError(format!("CSV 第 {} 行格式错误：{e}", i + 1)));
            }
        }
        i += 1;
        if rec.len() > lim.max_columns {
            return Err(FormatError(format!(
                "CSV 第 {i} 行有 {} 列，超过 {} 列的上限，请删除多余的列后重试",
                rec.len(),
                lim.max_columns
            )));
        }
        if let Some(c) = rec.iter().position(|c| c.len() > lim.max_cell_bytes) {
            return Err(FormatError(format!(
                "CSV 第 {i} 行第 {} 列的文本超过 {} KB 的上限，请缩短后重试",
                c + 1,
                lim.max_cell_bytes / 1024
            )));
        }
        let cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
        if headers.is_none() {
            headers = Some(cells);
            continue;
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if rows.len() >= lim.max_rows {
            return Err(FormatError(format!(
                "CSV 超过 {} 行数据的上限，请拆分文件后分批导入",
                lim.max_rows
            )));
        }
        cells_kept += cells.len();
        if cells_kept > lim.max_total_cells {
            return Err(FormatError(format!(
                "表格单元格总数超过 {} 个的上限，请拆分文件后分批导入",
                lim.max_total_cells
            )));
        }
        // The record's number, as Excel shows it when it opens the file.
        rows.push((i, cells));
    }
    let headers = headers
        .filter(|h| h.iter().any(|c| !c.is_empty()))
        .ok_or_else(|| FormatError("文件为空：第 1 行应为列标题".into()))?;
    Ok(Table { headers, rows })
}

/// Rows parsed into field values, or every problem found, by row and column.
pub struct ParsedImport {
    pub rows: Vec<(usize, Vec<(&'static Field, SqlValue)>)>,
    pub ignored_columns: Vec<String>,
}

/// The header's line in the file, the header row and the data rows.
type HeaderAndRows<'t> = (usize, &'t [String], &'t [(usize, Vec<String>)]);

/// The header row and the data rows of a table, skipping a title row above the header (as
/// the exports write it): a first row with at most one filled cell that names no field,
/// followed by a row that does.
fn below_title<'t>(spec: &EntitySpec, table: &'t Table) -> HeaderAndRows<'t> {
    let names_a_field = |row: &[String]| {
        row.iter()
            .any(|h| spec.fields.iter().any(|f| f.matches_header(h)))
    };
    let filled = table
        .headers
        .iter()
        .filter(|h| !h.trim().is_empty())
        .count();
    match table.rows.split_first() {
        Some(((line, next), rest))
            if filled <= 1 && !names_a_field(&table.headers) && names_a_field(next) =>
        {
            (*line, next.as_slice(), rest)
        }
        _ => (1, table.headers.as_slice(), table.rows.as_slice()),
    }
}

/// Maps headers to fields and validates every cell. Nothing is written here.
pub fn parse_import(
    spec: &'static EntitySpec,
    table: &Table,
) -> Result<ParsedImport, Vec<RowError>> {
    let (header_line, headers, data) = below_title(spec, table);
    let mut mapping: Vec<Option<&'static Field>> = Vec::new();
    let mut ignored = Vec::new();
    let mut errors = Vec::new();
    for (col, h) in headers.iter().enumerate() {
        let f = spec.fields.iter().find(|f| f.matches_header(h));
        if let Some(f) = f {
            if mapping.iter().flatten().any(|g| g.name == f.name) {
                errors.push(RowError {
                    row: header_line,
                    column: h.clone(),
                    field: f.name.into(),
                    message: format!(
                        "第 {} 列与前面的列都对应“{}”，请删除重复的列",
                        col + 1,
                        f.label
                    ),
                });
            }
        } else if !h.trim().is_empty() {
            ignored.push(h.clone());
        }
        mapping.push(f);
    }
    let mut rows = Vec::new();
    for (line, cells) in data {
        let mut obj = Map::new();
        for (i, f) in mapping.iter().enumerate() {
            if let Some(f) = f {
                obj.insert(
                    f.name.into(),
                    Value::String(cells.get(i).cloned().unwrap_or_default()),
                );
            }
        }
        match spec.validate_json(&obj, false, &[]) {
            Ok(values) => rows.push((*line, values)),
            Err(errs) => errors.extend(
                errs.into_iter()
                    .map(|e: FieldError| RowError::from_field(spec, *line, e)),
            ),
        }
    }
    if table.rows.is_empty() {
        errors.push(RowError {
            row: 2,
            column: String::new(),
            field: String::new(),
            message: "文件中没有数据行".into(),
        });
    }
    if errors.is_empty() {
        Ok(ParsedImport {
            rows,
            ignored_columns: ignored,
        })
    } else {
        Err(errors)
    }
}

/// The export columns of a collection: every field, labelled in Chinese.
fn export_cell(f: &Field, item: &Map<String, Value>) -> Value {
    match f.kind {
        Kind::Ref { .. } => item
            .get(&ref_name_key(f.name))
            .cloned()
            .unwrap_or(Value::Null),
        Kind::Choice(_) => match item.get(f.name).and_then(Value::as_str) {
            Some(code) => Value::String(f.choice_label(code).unwrap_or(code).to_string()),
            None => Value::Null,
        },
        _ => item.get(f.name).cloned().unwrap_or(Value::Null),
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes CSV with a UTF-8 BOM so Excel opens Chinese text correctly.
pub fn write_csv(spec: &EntitySpec, items: &[Map<String, Value>]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xef\xbb\xbf".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(spec.fields.iter().map(|f| f.label))?;
        for it in items {
            w.write_record(spec.fields.iter().map(|f| cell_text(&export_cell(f, it))))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// The print and filing setup every exported sheet shares: bordered cells, a styled header
/// row that is frozen, filtered and repeated on every printed page, landscape A4 fitted to
/// the page width, and 第 X 页 共 Y 页 in the footer.
fn sheet_setup(
    ws: &mut rust_xlsxwriter::Worksheet,
    headers: &[&str],
    data_rows: u32,
) -> anyhow::Result<()> {
    let last_col = headers.len().max(1) as u16 - 1;
    ws.autofilter(1, 0, data_rows.max(1) + 1, last_col)?;
    ws.set_freeze_panes(2, 0)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 1)?;
    ws.set_footer("&C第 &P 页 共 &N 页");
    Ok(())
}

/// The title row (merged across the columns) and the header row, bold on a tint with
/// borders (written first: a streamed sheet cannot go back to them). The importer skips
/// the title row, so an exported file imports again as it is.
fn write_header(
    ws: &mut rust_xlsxwriter::Worksheet,
    title: &str,
    headers: &[&str],
) -> anyhow::Result<()> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};
    let big = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let last_col = headers.len().max(1) as u16 - 1;
    if last_col == 0 {
        ws.write_string_with_format(0, 0, title, &big)?;
    } else {
        ws.merge_range(0, 0, 0, last_col, title, &big)?;
    }
    ws.set_row_height(0, 26)?;
    let header = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color("D9E2F3")
        .set_align(FormatAlign::Center);
    for (c, h) in (0u16..).zip(headers) {
        ws.write_string_with_format(1, c, *h, &header)?;
    }
    Ok(())
}

fn bordered() -> rust_xlsxwriter::Format {
    rust_xlsxwriter::Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin)
}

/// Width of a text in an XLSX column: CJK characters count double.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2.0 } else { 1.0 })
        .sum()
}

pub fn write_xlsx(spec: &EntitySpec, items: &[Map<String, Value>]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{DocProperties, Workbook};
    let mut wb = Workbook::new();
    wb.set_properties(&DocProperties::new().set_title(spec.label));
    let text = bordered();
    let ws = wb.add_worksheet();
    ws.set_name(spec.label)?;
    let headers: Vec<&str> = spec.fields.iter().map(|f| f.label).collect();
    write_header(ws, &format!("{}清单", spec.label), &headers)?;
    let mut widths: Vec<f64> = headers.iter().map(|h| text_width(h)).collect();
    for (r, it) in items.iter().enumerate() {
        let row = (r + 2) as u32;
        for (c, f) in spec.fields.iter().enumerate() {
            match export_cell(f, it) {
                Value::Null => {
                    ws.write_blank(row, c as u16, &text)?;
                }
                Value::Number(n) if matches!(f.kind, Kind::Int { .. } | Kind::Float { .. }) => {
                    ws.write_number_with_format(
                        row,
                        c as u16,
                        n.as_f64().unwrap_or_default(),
                        &text,
                    )?;
                    widths[c] = widths[c].max(text_width(&n.to_string()));
                }
                v => {
                    let s = cell_text(&v);
                    widths[c] = widths[c].max(text_width(&s));
                    ws.write_string_with_format(row, c as u16, &s, &text)?;
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (w + 2.0).clamp(6.0, 50.0))?;
    }
    sheet_setup(ws, &headers, items.len() as u32)?;
    Ok(wb.save_to_buffer()?)
}

/// The byte-order mark that opens an exported CSV file, so Excel reads it as UTF-8.
pub const CSV_BOM: &[u8] = b"\xef\xbb\xbf";

/// Rows as CSV records (no BOM), for writing a file piece by piece: the BOM and the header
/// row first, then each batch of rows.
pub fn csv_records<R: AsRef<[S]>, S: AsRef<[u8]>>(rows: &[R]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        for r in rows {
            w.write_record(r.as_ref())?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A one-sheet workbook written row by row in constant memory (rust_xlsxwriter's
/// `constant_memory` mode): each row goes to a temporary file in `tempdir` as soon as the
/// next one starts, with its strings inline, and [`XlsxRows::finish`] writes the zip to
/// any writer, copying the sheet from that file. The sheet gets the shared print and
/// filing setup (`sheet_setup`) when it is finished.
pub struct XlsxRows {
    wb: rust_xlsxwriter::Workbook,
    next_row: u32,
    headers: Vec<String>,
    text: rust_xlsxwriter::Format,
}

impl XlsxRows {
    /// Data rows a sheet can hold below its title and header (Excel's 1,048,576 rows in
    /// all).
    pub const MAX_DATA_ROWS: u32 = 1_048_574;

    pub fn new(sheet: &str, headers: &[&str], tempdir: &std::path::Path) -> anyhow::Result<Self> {
        use rust_xlsxwriter::Workbook;
        let mut wb = Workbook::new();
        wb.set_tempdir(tempdir)?;
        wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_title(sheet));
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet)?;
        for (c, h) in (0u16..).zip(headers) {
            ws.set_column_width(c, text_width(h).max(14.0) + 2.0)?;
        }
        write_header(ws, sheet, headers)?;
        Ok(XlsxRows {
            wb,
            next_row: 2,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            text: bordered(),
        })
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u32 {
        self.next_row - 2
    }

    /// Appends rows below the ones written; refuses to go past the sheet's last row.
    pub fn write_rows(&mut self, rows: &[Vec<String>]) -> anyhow::Result<()> {
        let ws = self.wb.worksheet_from_index(0)?;
        for row in rows {
            if self.next_row > Self::MAX_DATA_ROWS + 1 {
                anyhow::bail!("more than {} rows for one sheet", Self::MAX_DATA_ROWS);
            }
            for (c, v) in (0u16..).zip(row) {
                ws.write_string_with_format(self.next_row, c, v, &self.text)?;
            }
            self.next_row += 1;
        }
        Ok(())
    }

    /// Writes the workbook (a zip) to `out`.
    pub fn finish(mut self, out: impl std::io::Write + Send) -> anyhow::Result<()> {
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let rows = self.next_row - 2;
        sheet_setup(self.wb.worksheet_from_index(0)?, &headers, rows)?;
        self.wb.save_to_writer(out)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn sheet_xml(bytes: &[u8]) -> String {
        use std::io::Read;
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut s = String::new();
        z.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    fn assert_filed_and_printable(xml: &str, last_cell: &str) {
        let filter = format!("<autoFilter ref=\"A2:{last_cell}\"");
        for needle in [
            filter.as_str(),
            "state=\"frozen\"",
            "orientation=\"landscape\"",
            "fitToHeight=\"0\"",
            "第 &amp;P 页 共 &amp;N 页",
        ] {
            assert!(xml.contains(needle), "{needle} missing: {xml}");
        }
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped_and_line_numbers_stay_the_files() {
        let spec = &crate::domain::inventory::SITES;
        let table = Table {
            headers: vec!["机房清单".into(), String::new()],
            rows: vec![
                (2, vec!["名称".into(), "地址".into()]),
                (3, vec!["龙口西机房".into(), "广州".into()]),
            ],
        };
        let (line, headers, data) = below_title(spec, &table);
        assert_eq!((line, headers.len(), data.len()), (2, 2, 1));
        assert_eq!(data[0].0, 3);
        // A plain header row stays the header.
        let plain = Table {
            headers: vec!["名称".into()],
            rows: vec![(2, vec!["龙口西机房".into()])],
        };
        let (line, headers, data) = below_title(spec, &plain);
        assert_eq!((line, headers[0].as_str(), data.len()), (1, "名称", 1));
    }

    #[test]
    fn exported_sheets_are_filtered_frozen_bordered_and_print_on_landscape_pages() {
        let spec = &crate::domain::inventory::SITES;
        let mut item = Map::new();
        item.insert("name".into(), Value::String("龙口西机房".into()));
        let bytes = write_xlsx(spec, &[item.clone(), item]).unwrap();
        let last_col = (b'A' + spec.fields.len() as u8 - 1) as char;
        assert_filed_and_printable(&sheet_xml(&bytes), &format!("{last_col}4"));

        let dir = tempfile::tempdir().unwrap();
        let mut rows = XlsxRows::new("工单", &["编号", "标题"], dir.path()).unwrap();
        rows.write_rows(&[vec!["INC-1".into(), "打不开".into()]])
            .unwrap();
        let mut out = Vec::new();
        rows.finish(&mut out).unwrap();
        let xml = sheet_xml(&out);
        assert_filed_and_printable(&xml, "B3");
        assert!(
            xml.contains("<mergeCell ref=\"A1:B1\""),
            "the title row: {xml}"
        );
        assert!(xml.contains("INC-1"), "the streamed row is inline: {xml}");
    }

    /// Small limits, so a property can state one absolute memory bound for any input.
    fn small() -> ImportLimits {
        ImportLimits {
            max_rows: 200,
            max_columns: 20,
            max_cell_bytes: 1024,
            max_line_bytes: 4096,
            max_zip_entries: 16,
            max_uncompressed_bytes: 1024 * 1024,
            max_xml_depth: 16,
            max_shared_strings: 1000,
            max_total_cells: 2000,
            max_total_text_bytes: 64 * 1024,
        }
    }

    /// Peak heap a read may take with `small()` limits: the decompression budget, a
    /// multiple of the kept text, and the input itself.
    const BOUND: u64 = 6 * 1024 * 1024;

    fn xlsx(sheet_rows: &str, shared: Option<&str>) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            let mut put = |name: &str, body: &str| {
                let _ = z.start_file(name, o);
                let _ = z.write_all(body.as_bytes());
            };
            put(
                "xl/workbook.xml",
                r#"<workbook xmlns:r="r"><workbookPr date1904="0"/><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>"#,
            );
            put(
                "xl/_rels/workbook.xml.rels",
                r#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>"#,
            );
            put(
                "xl/styles.xml",
                r#"<styleSheet><numFmts><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>"#,
            );
            if let Some(s) = shared {
                put("xl/sharedStrings.xml", s);
            }
            put(
                "xl/worksheets/sheet1.xml",
                &format!("<worksheet><sheetData>{sheet_rows}</sheetData></worksheet>"),
            );
            let _ = z.finish();
        }
        buf.into_inner()
    }

    fn sample() -> Vec<u8> {
        xlsx(
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>取得时间</t></is></c><c r="C1" t="s"><v>1</v></c></row>
<row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3" s="1"><v>45000</v></c><c r="C3" s="2"><v>45292.5</v></c><c r="D3"><v>47</v></c><c r="E3" t="b"><v>1</v></c></row>"#,
            Some(
                r#"<sst><si><t>名称</t></si><si><r><t>过保</t></r><r><t>时间</t></r><rPh><t>カナ</t></rPh></si><si><t>核心交换机 &amp; &#x8DEF;由</t></si></sst>"#,
            ),
        )
    }

    #[test]
    fn a_workbook_reads_shared_inline_date_and_number_cells_by_row_number() {
        let t = read_table(&sample(), &ImportLimits::default()).unwrap();
        assert_eq!(t.headers, vec!["名称", "取得时间", "过保时间"]);
        assert_eq!(t.rows.len(), 1);
        let (line, cells) = &t.rows[0];
        assert_eq!(*line, 3);
        assert_eq!(
            cells,
            &vec![
                "核心交换机 & 路由",
                "2023-03-15",
                "2024-01-01",
                "47",
                "true"
            ]
        );
    }

    #[test]
    fn cell_references_and_date_formats_follow_excel() {
        assert_eq!(xlsx::parse_ref("XFD1048576"), Some((16384, 1_048_576)));
        assert_eq!(xlsx::parse_ref("A1"), Some((1, 1)));
        assert_eq!(xlsx::parse_ref("a1"), None);
        assert_eq!(xlsx::parse_ref("AAAA1"), None);
        assert_eq!(xlsx::parse_ref("A0"), None);
        assert_eq!(xlsx::col_name(16384), "XFD");
        assert!(xlsx::is_date_format("yyyy-mm-dd"));
        assert!(xlsx::is_date_format("[$-804]yyyy\"年\"m\"月\""));
        assert!(!xlsx::is_date_format("0.00"));
        assert!(!xlsx::is_date_format("\"day\"0"));
        assert_eq!(
            xlsx::serial_to_date(1.0, false).unwrap().to_string(),
            "1900-01-01"
        );
        assert_eq!(
            xlsx::serial_to_date(61.0, false).unwrap().to_string(),
            "1900-03-01"
        );
        assert_eq!(
            xlsx::serial_to_date(0.0, true).unwrap().to_string(),
            "1904-01-01"
        );
        assert!(xlsx::serial_to_date(f64::NAN, false).is_none());
        assert!(xlsx::serial_to_date(1e12, false).is_none());
    }

    #[test]
    fn csv_limits_name_the_row_and_the_limit() {
        let lim = small();
        let e = read_table(format!("a,b\n{}\n", "x".repeat(5000)).as_bytes(), &lim)
            .err()
            .unwrap();
        assert!(e.0.contains("第 2 行") && e.0.contains("4 KB"), "{}", e.0);
        let many: String = std::iter::once("a\n".to_string())
            .chain((0..201).map(|i| format!("{i}\n")))
            .collect();
        assert!(
            read_table(many.as_bytes(), &lim)
                .err()
                .unwrap()
                .0
                .contains("200 行")
        );
        let wide = format!("a\n{}\n", vec!["x"; 21].join(","));
        assert!(
            read_table(wide.as_bytes(), &lim)
                .err()
                .unwrap()
                .0
                .contains("20 列")
        );
    }

    fn peak(bytes: &[u8], lim: &ImportLimits) -> u64 {
        allocation_counter::measure(|| {
            let _ = std::hint::black_box(read_table(bytes, lim));
        })
        .bytes_max
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic_and_stay_within_the_bound(
            body in proptest::collection::vec(any::<u8>(), 0..4096),
            as_zip in any::<bool>(),
        ) {
            let mut bytes = if as_zip { b"PK\x03\x04".to_vec() } else { Vec::new() };
            bytes.extend(body);
            let p = peak(&bytes, &small());
            prop_assert!(p <= BOUND + 8 * bytes.len() as u64, "{p}");
        }

        #[test]
        fn mutated_workbooks_never_panic_and_stay_within_the_bound(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..12),
        ) {
            let mut bytes = sample();
            for (at, b, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at % bytes.len();
                match op {
                    0 => bytes[i] = b,
                    1 => bytes.insert(i, b),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            let p = peak(&bytes, &small());
            prop_assert!(p <= BOUND + 8 * bytes.len() as u64, "{p}");
        }

        #[test]
        fn generated_sheets_respect_every_limit(
            cells in proptest::collection::vec((1u32..40, 1u32..400, "[a-z\u{4e00}-\u{4e10}]{0,40}"), 0..300),
        ) {
            let rows: String = cells
                .iter()
                .map(|(c, r, t)| format!(r#"<row r="{r}"><c r="{}{r}" t="inlineStr"><is><t>{t}</t></is></c></row>"#, xlsx::col_name(*c)))
                .collect();
            let lim = small();
            if let Ok(t) = read_table(&xlsx(&rows, None), &lim) {
                prop_assert!(t.rows.len() <= lim.max_rows);
                prop_assert!(t.headers.len() <= lim.max_columns);
                for (line, r) in &t.rows {
                    prop_assert!(*line <= lim.max_rows + 1);
                    prop_assert!(r.len() <= lim.max_columns);
                }
            }
        }

        #[test]
        fn random_csv_text_never_panics(text in "(?s).{0,2000}") {
            let _ = read_table(text.as_bytes(), &small());
        }
    }
}
