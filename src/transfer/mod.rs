//! Import and export file formats: CSV (UTF-8 with or without BOM, or GBK as Excel in
//! China writes it) and XLSX. Turning rows into records is the spec's job; this module
//! only reads and writes tables, within [`ImportLimits`] checked before anything large is
//! allocated.

pub mod xlsx;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::entity::{EntitySpec, Field, Kind, SqlValue, ref_name_key};
use crate::error::FieldError;
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

/// Maps headers to fields and validates every cell. Nothing is written here.
pub fn parse_import(
    spec: &'static EntitySpec,
    table: &Table,
) -> Result<ParsedImport, Vec<RowError>> {
    let mut mapping: Vec<Option<&'static Field>> = Vec::new();
    let mut ignored = Vec::new();
    let mut errors = Vec::new();
    for (col, h) in table.headers.iter().enumerate() {
        let f = spec.fields.iter().find(|f| f.matches_header(h));
        if let Some(f) = f {
            if mapping.iter().flatten().any(|g| g.name == f.name) {
                errors.push(RowError {
                    row: 1,
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
    for (line, cells) in &table.rows {
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

pub fn write_xlsx(spec: &EntitySpec, items: &[Map<String, Value>]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(spec.label)?;
    for (c, f) in spec.fields.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, f.label, &bold)?;
        ws.set_column_width(
            c as u16,
            if matches!(f.kind, Kind::LongText) {
                40
            } else {
                16
            },
        )?;
    }
    for (r, it) in items.iter().enumerate() {
        let row = (r + 1) as u32;
        for (c, f) in spec.fields.iter().enumerate() {
            match export_cell(f, it) {
                Value::Null => {}
                Value::Number(n) if matches!(f.kind, Kind::Int { .. } | Kind::Float { .. }) => {
                    ws.write_number(row, c as u16, n.as_f64().unwrap_or_default())?;
                }
                v => {
                    ws.write_string(row, c as u16, cell_text(&v))?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}

/// A plain table (header row + text rows) as CSV with a UTF-8 BOM.
pub fn write_rows_csv(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xef\xbb\xbf".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(headers)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A plain table as one XLSX sheet with a bold, frozen header.
pub fn write_rows_xlsx(
    sheet: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, 16)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string((r + 1) as u32, c as u16, v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}
