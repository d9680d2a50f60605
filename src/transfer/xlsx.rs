//! A streaming XLSX reader bounded before it allocates: the zip's entry count and every
//! entry's decompressed size, XML depth, row and column numbers, shared strings, cell text
//! and the cells kept are all checked against [`ImportLimits`] as the bytes arrive.
//!
//! Why not calamine: it builds a dense rows×columns grid (one cell at `XFD1048576` asks for
//! 512 GiB) and reads shared strings and zip entries without limits. This reader keeps only
//! the cells that hold something, on zip and quick-xml (already in the tree for the DOCX and
//! XLSX writers).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{FormatError, ImportLimits, Table};

/// Largest workbook.xml, rels or styles.xml kept in memory.
const SMALL_PART_BYTES: u64 = 8 * 1024 * 1024;
/// XML elements looked at (bounds CPU on files full of empty, styled cells).
const MAX_ELEMENTS: u64 = 20_000_000;

fn err(msg: impl Into<String>) -> FormatError {
    FormatError(msg.into())
}

fn mb(n: u64) -> u64 {
    (n / 1024 / 1024).max(1)
}

/// Reads one zip entry through a bounded reader; the budget is shared by all entries.
struct Budget {
    left: u64,
    total: u64,
}

/// A reader that fails (instead of silently stopping) when the budget runs out.
struct Bounded<'b, R> {
    inner: R,
    budget: &'b mut Budget,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let n64 = n as u64;
        if n64 > self.budget.left {
            self.budget.left = 0;
            return Err(std::io::Error::other("yunwei: decompressed size limit"));
        }
        self.budget.left -= n64;
        Ok(n)
    }
}

fn io_err(e: &std::io::Error, total: u64) -> FormatError {
    if e.to_string().contains("yunwei: decompressed size limit") {
        err(format!(
            "XLSX 文件解压后超过 {} MB 的上限（可能是压缩炸弹），未导入任何数据",
            mb(total)
        ))
    } else {
        err("XLSX 文件已损坏或不是有效的 XLSX 文件，请用 Excel/WPS 另存后重试")
    }
}

fn xml_err(e: quick_xml::Error, total: u64) -> FormatError {
    match e {
        quick_xml::Error::Io(io) => io_err(&io, total),
        _ => err("XLSX 文件中的 XML 格式错误，请用 Excel/WPS 另存后重试"),
    }
}

type Zip<'a> = zip::ZipArchive<std::io::Cursor<&'a [u8]>>;

fn read_small(
    zip: &mut Zip<'_>,
    name: &str,
    budget: &mut Budget,
) -> Result<Option<Vec<u8>>, FormatError> {
    let entry = match zip.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(_) => return Err(err("XLSX 文件已损坏，无法读取其中的内容")),
    };
    let mut out = Vec::new();
    let total = budget.total;
    let mut r = Bounded {
        inner: entry,
        budget,
    }
    .take(SMALL_PART_BYTES + 1);
    r.read_to_end(&mut out).map_err(|e| io_err(&e, total))?;
    if out.len() as u64 > SMALL_PART_BYTES {
        return Err(err(format!(
            "XLSX 文件中的 {name} 超过 {} MB 的上限",
            mb(SMALL_PART_BYTES)
        )));
    }
    Ok(Some(out))
}

/// Tracks nesting while reading one XML part.
struct Walk {
    depth: usize,
    max_depth: usize,
    elements: u64,
}

impl Walk {
    fn new(max_depth: usize) -> Self {
        Walk {
            depth: 0,
            max_depth,
            elements: 0,
        }
    }

    fn open(&mut self) -> Result<(), FormatError> {
        self.depth += 1;
        self.count()?;
        if self.depth > self.max_depth {
            return Err(err(format!(
                "XLSX 文件中的 XML 嵌套超过 {} 层的上限",
                self.max_depth
            )));
        }
        Ok(())
    }

    fn count(&mut self) -> Result<(), FormatError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(err("XLSX 文件中的 XML 元素过多，请删除多余的内容后重试"));
        }
        Ok(())
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let name = key.rsplit(|b| *b == b':').next().unwrap_or(key);
        (name == local)
            .then(|| {
                let raw = String::from_utf8_lossy(&a.value);
                quick_xml::escape::unescape(&raw)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// Appends text, refusing to grow past `max` bytes.
fn push_text(out: &mut String, piece: &str, max: usize) -> Result<(), FormatError> {
    if out.len() + piece.len() > max {
        return Err(err(format!(
            "单元格文本超过 {} KB 的上限，请缩短后重试",
            max / 1024
        )));
    }
    out.push_str(piece);
    Ok(())
}

fn entity(e: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = e.resolve_char_ref() {
        return Some(c.to_string());
    }
    let name = e.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
}

/// The path of the first worksheet, from workbook.xml and its relationships.
fn first_sheet_path(
    zip: &mut Zip<'_>,
    budget: &mut Budget,
    max_depth: usize,
) -> Result<(String, bool), FormatError> {
    let total = budget.total;
    let Some(wb) = read_small(zip, "xl/workbook.xml", budget)? else {
        if zip.by_name("mimetype").is_ok() || zip.by_name("content.xml").is_ok() {
            return Err(err("暂不支持 ODS 表格，请另存为 XLSX 或 CSV 后再导入"));
        }
        return Err(err(
            "文件不是有效的 XLSX 表格（缺少 xl/workbook.xml），请用 Excel/WPS 另存后重试",
        ));
    };
    let mut rid = None;
    let mut date1904 = false;
    let mut rd = Reader::from_reader(wb.as_slice());
    let mut walk = Walk::new(max_depth);
    let mut buf = Vec::new();
    loop {
        match rd.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                walk.open()?;
                walk.close();
                match e.local_name().as_ref() {
                    b"sheet" if rid.is_none() => rid = attr(&e, b"id"),
                    b"workbookPr" => {
                        date1904 = matches!(attr(&e, b"date1904").as_deref(), Some("1" | "true"))
                    }
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(xml_err(e, total)),
        }
        buf.clear();
    }
    let mut path = "xl/worksheets/sheet1.xml".to_string();
    if let (Some(rid), Some(rels)) = (rid, read_small(zip, "xl/_rels/workbook.xml.rels", budget)?) {
        let mut rd = Reader::from_reader(rels.as_slice());
        loop {
            match rd.read_event_into(&mut buf) {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    walk.count()?;
                    if e.local_name().as_ref() == b"Relationship"
                        && attr(&e, b"Id").as_deref() == Some(rid.as_str())
                        && let Some(t) = attr(&e, b"Target")
                    {
                        path = match t.strip_prefix('/') {
                            Some(abs) => abs.to_string(),
                            None => format!("xl/{t}"),
                        };
                    }
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => return Err(xml_err(e, total)),
            }
            buf.clear();
        }
    }
    Ok((path, date1904))
}

/// Which cell styles (`s` attribute) show numbers as dates.
fn date_styles(
    zip: &mut Zip<'_>,
    budget: &mut Budget,
    max_depth: usize,
) -> Result<Vec<bool>, FormatError> {
    let total = budget.total;
    let Some(xml) = read_small(zip, "xl/styles.xml", budget)? else {
        return Ok(Vec::new());
    };
    let mut custom: HashMap<u32, bool> = HashMap::new();
    let mut xfs = Vec::new();
    let mut in_cell_xfs = false;
    let mut rd = Reader::from_reader(xml.as_slice());
    let mut walk = Walk::new(max_depth);
    let mut buf = Vec::new();
    loop {
        let ev = rd
            .read_event_into(&mut buf)
            .map_err(|e| xml_err(e, total))?;
        let (e, empty) = match ev {
            Event::Start(e) => {
                walk.open()?;
                (e, false)
            }
            Event::Empty(e) => {
                walk.count()?;
                (e, true)
            }
            Event::End(e) => {
                walk.close();
                if e.local_name().as_ref() == b"cellXfs" {
                    in_cell_xfs = false;
                }
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => {
                buf.clear();
                continue;
            }
        };
        match e.local_name().as_ref() {
            b"numFmt" => {
                if let (Some(id), Some(code)) = (
                    attr(&e, b"numFmtId").and_then(|v| v.parse::<u32>().ok()),
                    attr(&e, b"formatCode"),
                ) && custom.len() < 10_000
                {
                    custom.insert(id, is_date_format(&code));
                }
            }
            b"cellXfs" if !empty => in_cell_xfs = true,
            b"xf" if in_cell_xfs => {
                if xfs.len() >= 100_000 {
                    return Err(err("XLSX 文件中的单元格样式过多"));
                }
                let id = attr(&e, b"numFmtId")
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0);
                xfs.push(custom.get(&id).copied().unwrap_or_else(|| builtin_date(id)));
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(xfs)
}

/// Built-in number formats that show a date (ECMA-376 18.8.30, with the CJK ids).
fn builtin_date(id: u32) -> bool {
    matches!(id, 14..=17 | 22 | 27..=36 | 50..=58)
}

/// A custom format shows a date when, outside quotes and brackets, it has y, d or m
/// together with a date part (not only h:mm:ss).
pub(crate) fn is_date_format(code: &str) -> bool {
    let mut in_quote = false;
    let mut in_bracket = false;
    let mut escaped = false;
    let mut has_date = false;
    for c in code.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => in_quote = !in_quote,
            '[' if !in_quote => in_bracket = true,
            ']' if !in_quote => in_bracket = false,
            _ if in_quote || in_bracket => {}
            'y' | 'Y' | 'd' | 'D' | 'e' | 'E' => has_date = true,
            'm' | 'M' => has_date = true,
            _ => {}
        }
    }
    has_date && !code.eq_ignore_ascii_case("general")
}

/// Days since the epoch of the workbook to a calendar date.
pub(crate) fn serial_to_date(serial: f64, date1904: bool) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let (base, days) = if date1904 {
        (chrono::NaiveDate::from_ymd_opt(1904, 1, 1)?, days)
    } else if days < 60 {
        // Excel's day 1 is 1900-01-01; day 60 is the fictitious 1900-02-29.
        (chrono::NaiveDate::from_ymd_opt(1899, 12, 31)?, days)
    } else {
        (chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?, days)
    };
    base.checked_add_signed(chrono::Duration::days(days))
}

/// Reads the shared strings table.
fn shared_strings<R: BufRead>(
    rd: &mut Reader<R>,
    lim: &ImportLimits,
) -> Result<Vec<String>, FormatError> {
    let total = lim.max_uncompressed_bytes;
    let mut out: Vec<String> = Vec::new();
    let mut walk = Walk::new(lim.max_xml_depth);
    let mut buf = Vec::new();
    let mut cur: Option<String> = None;
    // Inside <t> of the string itself, not of a phonetic run (<rPh>).
    let mut in_t = false;
    let mut in_rph = false;
    let mut text_total: usize = 0;
    loop {
        match rd
            .read_event_into(&mut buf)
            .map_err(|e| xml_err(e, total))?
        {
            Event::Start(e) => {
                walk.open()?;
                match e.local_name().as_ref() {
                    b"si" => cur = Some(String::new()),
                    b"t" => in_t = true,
                    b"rPh" => in_rph = true,
                    _ => {}
                }
            }
            Event::Empty(e) => {
                walk.count()?;
                if e.local_name().as_ref() == b"si" {
                    if out.len() >= lim.max_shared_strings {
                        return Err(too_many_strings(lim));
                    }
                    out.push(String::new());
                }
            }
            Event::End(e) => {
                walk.close();
                match e.local_name().as_ref() {
                    b"si" => {
                        if out.len() >= lim.max_shared_strings {
                            return Err(too_many_strings(lim));
                        }
                        let s = cur.take().unwrap_or_default();
                        text_total += s.len();
                        if text_total > lim.max_total_text_bytes {
                            return Err(too_much_text(lim));
                        }
                        out.push(s);
                    }
                    b"t" => in_t = false,
                    b"rPh" => in_rph = false,
                    _ => {}
                }
            }
            Event::Text(t) if in_t && !in_rph => {
                if let Some(s) = cur.as_mut() {
                    let piece = t
                        .xml10_content()
                        .map_err(|_| err("XLSX 文件中的文字编码无效"))?;
                    push_text(s, &piece, lim.max_cell_bytes)?;
                }
            }
            Event::CData(t) if in_t && !in_rph => {
                if let Some(s) = cur.as_mut() {
                    let piece = t.decode().map_err(|_| err("XLSX 文件中的文字编码无效"))?;
                    push_text(s, &piece, lim.max_cell_bytes)?;
                }
            }
            Event::GeneralRef(r) if in_t && !in_rph => {
                if let (Some(s), Some(piece)) = (cur.as_mut(), entity(&r)) {
                    push_text(s, &piece, lim.max_cell_bytes)?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

fn too_many_strings(lim: &ImportLimits) -> FormatError {
    err(format!(
        "XLSX 文件中的文字条目超过 {} 条的上限",
        lim.max_shared_strings
    ))
}

fn too_much_text(lim: &ImportLimits) -> FormatError {
    err(format!(
        "表格中的文字合计超过 {} MB 的上限，请拆分文件后分批导入",
        mb(lim.max_total_text_bytes as u64)
    ))
}

/// `XFD1048576` → (column 16384, row 1048576), both 1-based; `None` when malformed.
pub(crate) fn parse_ref(r: &str) -> Option<(u32, u32)> {
    let split = r.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = r.split_at(split);
    if letters.is_empty() || letters.len() > 3 || digits.len() > 7 {
        return None;
    }
    let mut col: u32 = 0;
    for c in letters.chars() {
        if !c.is_ascii_uppercase() {
            return None;
        }
        col = col * 26 + (c as u32 - 'A' as u32 + 1);
    }
    let row: u32 = digits.parse().ok()?;
    (row > 0).then_some((col, row))
}

/// Column letters for messages: 1 → A, 16384 → XFD.
pub(crate) fn col_name(mut col: u32) -> String {
    let mut out = Vec::new();
    while col > 0 {
        let r = (col - 1) % 26;
        out.push(b'A' + r as u8);
        col = (col - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn number_text(v: &str, is_date: bool, date1904: bool) -> String {
    let v = v.trim();
    let Ok(f) = v.parse::<f64>() else {
        return v.to_string();
    };
    if is_date && let Some(d) = serial_to_date(f, date1904) {
        return d.format("%Y-%m-%d").to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[derive(Default)]
struct CellState {
    col: u32,
    kind: Vec<u8>,
    style: usize,
    text: String,
    has_value: bool,
}

struct SheetReader<'l> {
    lim: &'l ImportLimits,
    strings: Vec<String>,
    date_styles: Vec<bool>,
    date1904: bool,
    headers: Option<Vec<String>>,
    rows: Vec<(usize, Vec<String>)>,
    cells_kept: usize,
    text_bytes: usize,
}

impl SheetReader<'_> {
    fn finish_row(&mut self, row: u32, mut cells: Vec<(u32, String)>) -> Result<(), FormatError> {
        cells.retain(|(_, v)| !v.is_empty());
        if cells.is_empty() {
            return Ok(());
        }
        if row as usize > self.lim.max_rows + 1 {
            return Err(err(format!(
                "表格超过 {} 行的上限（第 {row} 行有内容），请拆分文件后分批导入",
                self.lim.max_rows
            )));
        }
        let width = cells.iter().map(|(c, _)| *c).max().unwrap_or(0) as usize;
        self.cells_kept += width;
        if self.cells_kept > self.lim.max_total_cells {
            return Err(err(format!(
                "表格单元格总数超过 {} 个的上限，请拆分文件后分批导入",
                self.lim.max_total_cells
            )));
        }
        let mut dense = vec![String::new(); width];
        for (c, v) in cells {
            if let Some(slot) = dense.get_mut(c as usize - 1) {
                *slot = v;
            }
        }
        if self.headers.is_none() {
            self.headers = Some(dense);
        } else {
            if self.rows.len() >= self.lim.max_rows {
                return Err(err(format!(
                    "表格超过 {} 行数据的上限，请拆分文件后分批导入",
                    self.lim.max_rows
                )));
            }
            self.rows.push((row as usize, dense));
        }
        Ok(())
    }

    fn cell_value(&mut self, c: &CellState) -> Result<String, FormatError> {
        let v = match c.kind.as_slice() {
            b"s" => {
                let idx: usize = c
                    .text
                    .trim()
                    .parse()
                    .map_err(|_| err("XLSX 文件中的共享文字编号无效"))?;
                self.strings
                    .get(idx)
                    .ok_or_else(|| err("XLSX 文件中的共享文字编号超出范围，文件可能已损坏"))?
                    .trim()
                    .to_string()
            }
            b"b" => match c.text.trim() {
                "1" | "true" => "true".into(),
                _ => "false".into(),
            },
            b"e" => format!("#ERR:{}", c.text.trim()),
            b"str" | b"inlineStr" | b"d" => c.text.trim().to_string(),
            _ => number_text(
                &c.text,
                self.date_styles.get(c.style).copied().unwrap_or(false),
                self.date1904,
            ),
        };
        self.text_bytes += v.len();
        if self.text_bytes > self.lim.max_total_text_bytes {
            return Err(too_much_text(self.lim));
        }
        Ok(v)
    }

    fn read<R: BufRead>(&mut self, rd: &mut Reader<R>) -> Result<(), FormatError> {
        let lim = self.lim;
        let total = lim.max_uncompressed_bytes;
        let mut walk = Walk::new(lim.max_xml_depth);
        let mut buf = Vec::new();
        let mut row_no: u32 = 0;
        let mut row_cells: Vec<(u32, String)> = Vec::new();
        let mut in_row = false;
        let mut cell: Option<CellState> = None;
        let mut next_col: u32 = 1;
        // Inside <v>, or <t> of an inline string (not its phonetic runs).
        let mut in_value = false;
        let mut in_rph = false;
        loop {
            let ev = rd
                .read_event_into(&mut buf)
                .map_err(|e| xml_err(e, total))?;
            let (start, empty) = match &ev {
                Event::Start(e) => (Some(e), false),
                Event::Empty(e) => (Some(e), true),
                _ => (None, false),
            };
            if let Some(e) = start {
                if empty {
                    walk.count()?;
                } else {
                    walk.open()?;
                }
                match e.local_name().as_ref() {
                    b"row" => {
                        row_no = match attr(e, b"r") {
                            Some(r) => r
                                .parse::<u32>()
                                .ok()
                                .filter(|n| *n > 0 && *n <= 1_048_576)
                                .ok_or_else(|| err(format!("XLSX 文件中的行号“{r}”无效")))?,
                            None => row_no + 1,
                        };
                        next_col = 1;
                        row_cells.clear();
                        in_row = !empty;
                    }
                    b"c" if in_row => {
                        let col = match attr(e, b"r") {
                            Some(r) => {
                                let (c, rr) = parse_ref(&r).ok_or_else(|| {
                                    err(format!("XLSX 文件中的单元格位置“{r}”无效"))
                                })?;
                                if rr != row_no {
                                    return Err(err(format!(
                                        "XLSX 文件中的单元格位置“{r}”与所在行 {row_no} 不符"
                                    )));
                                }
                                c
                            }
                            None => next_col,
                        };
                        next_col = col.saturating_add(1);
                        if !empty {
                            cell = Some(CellState {
                                col,
                                kind: attr(e, b"t").unwrap_or_default().into_bytes(),
                                style: attr(e, b"s").and_then(|s| s.parse().ok()).unwrap_or(0),
                                ..CellState::default()
                            });
                        }
                    }
                    b"v" if cell.is_some() => in_value = true,
                    b"t" if cell.is_some() => in_value = true,
                    b"rPh" => in_rph = true,
                    _ => {}
                }
            }
            match ev {
                Event::End(e) => {
                    walk.close();
                    match e.local_name().as_ref() {
                        b"v" | b"t" => in_value = false,
                        b"rPh" => in_rph = false,
                        b"c" => {
                            if let Some(c) = cell.take()
                                && c.has_value
                            {
                                if c.col as usize > lim.max_columns {
                                    return Err(err(format!(
                                        "表格超过 {} 列的上限（{}{} 单元格有内容），请删除多余的列后重试",
                                        lim.max_columns,
                                        col_name(c.col),
                                        row_no
                                    )));
                                }
                                let v = self.cell_value(&c)?;
                                row_cells.push((c.col, v));
                            }
                        }
                        b"row" => {
                            in_row = false;
                            let cells = std::mem::take(&mut row_cells);
                            self.finish_row(row_no, cells)?;
                        }
                        _ => {}
                    }
                }
                Event::Text(t) if in_value && !in_rph => {
                    if let Some(c) = cell.as_mut() {
                        let piece = t
                            .xml10_content()
                            .map_err(|_| err("XLSX 文件中的文字编码无效"))?;
                        push_text(&mut c.text, &piece, lim.max_cell_bytes)?;
                        c.has_value = true;
                    }
                }
                Event::CData(t) if in_value && !in_rph => {
                    if let Some(c) = cell.as_mut() {
                        let piece = t.decode().map_err(|_| err("XLSX 文件中的文字编码无效"))?;
                        push_text(&mut c.text, &piece, lim.max_cell_bytes)?;
                        c.has_value = true;
                    }
                }
                Event::GeneralRef(r) if in_value && !in_rph => {
                    if let (Some(c), Some(piece)) = (cell.as_mut(), entity(&r)) {
                        push_text(&mut c.text, &piece, lim.max_cell_bytes)?;
                        c.has_value = true;
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        Ok(())
    }
}

/// Reads the first worksheet of an XLSX file within the limits.
pub fn read_xlsx(bytes: &[u8], lim: &ImportLimits) -> Result<Table, FormatError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|_| err("XLSX 文件已损坏或不是有效的 XLSX 文件，请用 Excel/WPS 另存后重试"))?;
    if zip.len() > lim.max_zip_entries {
        return Err(err(format!(
            "XLSX 文件包含 {} 个部件，超过 {} 个的上限",
            zip.len(),
            lim.max_zip_entries
        )));
    }
    let mut budget = Budget {
        left: lim.max_uncompressed_bytes,
        total: lim.max_uncompressed_bytes,
    };
    let (sheet_path, date1904) = first_sheet_path(&mut zip, &mut budget, lim.max_xml_depth)?;
    let date_styles = date_styles(&mut zip, &mut budget, lim.max_xml_depth)?;
    let strings = match zip.by_name("xl/sharedStrings.xml") {
        Ok(entry) => {
            let mut rd = Reader::from_reader(BufReader::new(Bounded {
                inner: entry,
                budget: &mut budget,
            }));
            shared_strings(&mut rd, lim)?
        }
        Err(zip::result::ZipError::FileNotFound) => Vec::new(),
        Err(_) => return Err(err("XLSX 文件已损坏，无法读取其中的文字")),
    };
    let mut sheet = SheetReader {
        lim,
        strings,
        date_styles,
        date1904,
        headers: None,
        rows: Vec::new(),
        cells_kept: 0,
        text_bytes: 0,
    };
    {
        let entry = zip
            .by_name(&sheet_path)
            .map_err(|_| err("XLSX 文件中没有工作表"))?;
        let mut rd = Reader::from_reader(BufReader::new(Bounded {
            inner: entry,
            budget: &mut budget,
        }));
        sheet.read(&mut rd)?;
    }
    let headers = sheet
        .headers
        .ok_or_else(|| err("工作表为空：第 1 行应为列标题"))?;
    Ok(Table {
        headers,
        rows: sheet.rows,
    })
}
