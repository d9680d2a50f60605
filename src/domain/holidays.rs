//! Holiday arrangement files (节假日安排): a CSV or JSON list of `date, working, reason`
//! rows, parsed with every bound checked before anything grows, and the diff of such a
//! file against a calendar's exception days.
//!
//! A file covers the years that hold its rows. Those years are replaced as a whole
//! (days of the calendar in them that the file lacks are removed), except a year whose
//! few rows only sit next to a bigger neighbour year: the State Council's notice for 2023
//! starts on 2022-12-31, and loading it must not wipe the rest of 2022. Such rows are
//! merged into their year instead.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::calendar::DayOverride;

/// Largest accepted file: a year is about 40 rows of 40 bytes, so this is generous.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Rows of one year: a year has at most 366 days; more can only be a mistake.
pub const MAX_ROWS_PER_YEAR: usize = 400;
/// Years one file may cover.
pub const MAX_YEARS: usize = 5;
/// Data rows of one file.
pub const MAX_ROWS: usize = MAX_ROWS_PER_YEAR * MAX_YEARS;
pub const MAX_REASON_CHARS: usize = 100;
/// One cell of a CSV row (a date, a flag or a reason is far shorter).
pub const MAX_CELL_BYTES: usize = 1024;
/// Errors reported for one file; the rest are counted, not listed.
pub const MAX_ERRORS: usize = 100;
pub const YEARS: RangeInclusive<i32> = 2000..=2100;

/// One exception day of an arrangement.
#[derive(Clone, Debug, PartialEq)]
pub struct HolidayRow {
    pub date: NaiveDate,
    pub working: bool,
    pub reason: String,
}

/// One problem in a file: the row (1-based line of a CSV, element of a JSON array; 0 for
/// the file as a whole), the column, and what to fix, in Chinese.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl RowError {
    fn new(row: usize, column: &str, message: impl Into<String>) -> Self {
        RowError {
            row,
            column: column.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum ParseError {
    /// The file is over [`MAX_FILE_BYTES`]: nothing was read.
    TooLarge(String),
    /// Bad rows (at most [`MAX_ERRORS`] listed); nothing may be imported.
    Rows(Vec<RowError>),
}

impl ParseError {
    /// One line for a log or a terminal, naming the first problem.
    pub fn summary(&self) -> String {
        match self {
            ParseError::TooLarge(m) => m.clone(),
            ParseError::Rows(errs) => {
                let first = errs.first().map(describe).unwrap_or_default();
                format!(
                    "节假日安排文件有 {} 处错误，未导入任何数据。{first}",
                    errs.len()
                )
            }
        }
    }
}

/// `第 3 行“日期”列：…`, or the message alone for a whole-file problem.
pub fn describe(e: &RowError) -> String {
    match (e.row, e.column.is_empty()) {
        (0, _) => e.message.clone(),
        (r, true) => format!("第 {r} 行：{}", e.message),
        (r, false) => format!("第 {r} 行“{}”列：{}", e.column, e.message),
    }
}

const COL_DATE: &str = "日期";
const COL_WORKING: &str = "是否上班";
const COL_REASON: &str = "原因";

/// Parses a holiday arrangement file, CSV or JSON (by the file name's extension, else by
/// its first character). Rows come back sorted by date; any bad row fails the whole file.
pub fn parse(data: &[u8], file_name: &str) -> Result<Vec<HolidayRow>, ParseError> {
    if data.len() > MAX_FILE_BYTES {
        return Err(ParseError::TooLarge(format!(
            "节假日安排文件不能超过 {} KB（每年不超过 {MAX_ROWS_PER_YEAR} 行），请只保留需要导入的年份",
            MAX_FILE_BYTES / 1024
        )));
    }
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let lower = file_name.to_ascii_lowercase();
    let json = if lower.ends_with(".json") {
        true
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
        false
    } else {
        matches!(
            data.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'[' | b'{')
        )
    };
    let rows = if json {
        parse_json(data)?
    } else {
        parse_csv(data)?
    };
    check_rows(rows)
}

fn file_error(message: impl Into<String>) -> ParseError {
    ParseError::Rows(vec![RowError::new(0, "", message)])
}

fn decode(data: &[u8]) -> Result<std::borrow::Cow<'_, str>, ParseError> {
    if let Ok(s) = std::str::from_utf8(data) {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    // Excel on Chinese Windows saves CSV as GBK.
    encoding_rs::GBK
        .decode_without_bom_handling_and_without_replacement(data)
        .ok_or_else(|| file_error("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV"))
}

/// A parsed row before the whole-file checks, with where it came from.
struct Raw {
    row: usize,
    date_col: String,
    row_data: HolidayRow,
}

struct Errors(Vec<RowError>);

impl Errors {
    fn push(&mut self, e: RowError) {
        if self.0.len() < MAX_ERRORS {
            self.0.push(e);
        }
    }
}

fn parse_csv(data: &[u8]) -> Result<Vec<Raw>, ParseError> {
    let text = decode(data)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut columns: Option<[Option<(usize, String)>; 3]> = None;
    let mut out = Vec::new();
    let mut errs = Errors(Vec::new());
    let mut record = csv::StringRecord::new();
    let mut data_rows = 0usize;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errs.push(RowError::new(
                    line,
                    "",
                    "CSV 格式有误（引号不成对或编码错误），请检查后重新保存",
                ));
                break;
            }
        }
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.iter().any(|c| c.len() > MAX_CELL_BYTES) {
            errs.push(RowError::new(
                line,
                "",
                format!("单元格过长（超过 {MAX_CELL_BYTES} 字节），请检查是否为节假日安排文件"),
            ));
            continue;
        }
        if columns.is_none() {
            if parse_date(record.get(0).unwrap_or_default()).is_ok() {
                columns = Some([
                    Some((0, COL_DATE.to_string())),
                    Some((1, COL_WORKING.to_string())),
                    Some((2, COL_REASON.to_string())),
                ]);
            } else {
                let cols = header_columns(&record);
                for (i, (name, hint)) in [
                    (COL_DATE, "date 或 日期"),
                    (COL_WORKING, "working 或 是否上班"),
                    (COL_REASON, "reason 或 原因"),
                ]
                .iter()
                .enumerate()
                {
                    if cols[i].is_none() {
                        errs.push(RowError::new(
                            line,
                            name,
                            format!("表头缺少“{name}”列（列名写 {hint}），或第一行应为数据行如 2027-01-01,false,元旦"),
                        ));
                    }
                }
                if cols.iter().any(Option::is_none) {
                    return Err(ParseError::Rows(errs.0));
                }
                columns = Some(cols);
                continue;
            }
        }
        let Some(cols) = &columns else { continue };
        data_rows += 1;
        if data_rows > MAX_ROWS {
            errs.push(RowError::new(
                line,
                "",
                format!("数据超过 {MAX_ROWS} 行，请按年份分文件导入（每年不超过 {MAX_ROWS_PER_YEAR} 行）"),
            ));
            break;
        }
        let cell = |i: usize| -> (&str, String) {
            match &cols[i] {
                Some((idx, name)) => (record.get(*idx).unwrap_or_default(), name.clone()),
                None => ("", String::new()),
            }
        };
        let (d, dcol) = cell(0);
        let (w, wcol) = cell(1);
        let (r, rcol) = cell(2);
        if let Some(raw) = parse_row(line, (d, &dcol), (w, &wcol), (r, &rcol), &mut errs) {
            out.push(raw);
        }
    }
    if columns.is_none() && errs.0.is_empty() {
        errs.push(RowError::new(
            0,
            "",
            "文件中没有数据行，每行应为：日期,是否上班,原因，如 2027-01-01,false,元旦",
        ));
    }
    if errs.0.is_empty() {
        Ok(out)
    } else {
        Err(ParseError::Rows(errs.0))
    }
}

/// Finds the date, working and reason columns of a header row by name.
fn header_columns(record: &csv::StringRecord) -> [Option<(usize, String)>; 3] {
    let mut cols: [Option<(usize, String)>; 3] = [None, None, None];
    for (i, h) in record.iter().enumerate() {
        let k = h.trim().to_lowercase();
        let slot = match k.as_str() {
            "date" | "day" | "日期" => 0,
            "working" | "workday" | "是否上班" | "上班" | "安排" | "类型" | "type" => 1,
            "reason" | "name" | "原因" | "说明" | "名称" | "节日" => 2,
            _ => continue,
        };
        if cols[slot].is_none() {
            cols[slot] = Some((i, h.trim().to_string()));
        }
    }
    cols
}

fn parse_json(data: &[u8]) -> Result<Vec<Raw>, ParseError> {
    let v: Value = serde_json::from_slice(data).map_err(|e| {
        ParseError::Rows(vec![RowError::new(
            e.line(),
            "",
            format!(
                "JSON 格式有误（第 {} 行第 {} 个字符附近），应为 [{{\"date\": \"2027-01-01\", \"working\": false, \"reason\": \"元旦\"}}, …]",
                e.line(),
                e.column()
            ),
        )])
    })?;
    let items = match &v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("days") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(file_error(
                    "JSON 应为数组，或含 days 数组的对象：{\"days\": [{\"date\": \"2027-01-01\", \"working\": false, \"reason\": \"元旦\"}]}",
                ));
            }
        },
        _ => {
            return Err(file_error(
                "JSON 应为数组：[{\"date\": \"2027-01-01\", \"working\": false, \"reason\": \"元旦\"}, …]",
            ));
        }
    };
    if items.len() > MAX_ROWS {
        return Err(file_error(format!(
            "数据超过 {MAX_ROWS} 行，请按年份分文件导入（每年不超过 {MAX_ROWS_PER_YEAR} 行）"
        )));
    }
    let mut out = Vec::new();
    let mut errs = Errors(Vec::new());
    for (i, item) in items.iter().enumerate() {
        let row = i + 1;
        let Value::Object(o) = item else {
            errs.push(RowError::new(
                row,
                "",
                "每一项应为对象：{\"date\": \"2027-01-01\", \"working\": false, \"reason\": \"元旦\"}",
            ));
            continue;
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["date", "working", "reason"].contains(&k.as_str()))
        {
            errs.push(RowError::new(
                row,
                k,
                "未知字段，可用字段：date、working、reason",
            ));
            continue;
        }
        let text = |k: &str, errs: &mut Errors| -> Option<String> {
            match o.get(k) {
                None | Some(Value::Null) => Some(String::new()),
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Bool(b)) if k == "working" => Some(b.to_string()),
                Some(_) => {
                    errs.push(RowError::new(row, k, "应为字符串"));
                    None
                }
            }
        };
        let (Some(d), Some(w), Some(r)) = (
            text("date", &mut errs),
            text("working", &mut errs),
            text("reason", &mut errs),
        ) else {
            continue;
        };
        if let Some(raw) = parse_row(
            row,
            (&d, "date"),
            (&w, "working"),
            (&r, "reason"),
            &mut errs,
        ) {
            out.push(raw);
        }
    }
    if errs.0.is_empty() {
        Ok(out)
    } else {
        Err(ParseError::Rows(errs.0))
    }
}

/// Accepts 2027-01-01, 2027/1/1 and 2027.1.1 (as spreadsheets write dates).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    if s.len() > 10 || s.is_empty() {
        return Err("日期应写成 YYYY-MM-DD，如 2027-01-01".into());
    }
    let norm: String = s
        .chars()
        .map(|c| if c == '/' || c == '.' { '-' } else { c })
        .collect();
    let mut parts = norm.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("日期应写成 YYYY-MM-DD，如 2027-01-01".into());
    };
    let num = |p: &str, max_len: usize| -> Option<u32> {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4), num(m, 2), num(d, 2)) else {
        return Err("日期应写成 YYYY-MM-DD，如 2027-01-01".into());
    };
    let date = i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(|| format!("“{s}”不是有效日期"))?;
    if !YEARS.contains(&date.year()) {
        return Err(format!(
            "年份应在 {} 到 {} 之间",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(date)
}

/// true/false, 1/0, 上班/班/调休上班/工作日, 休息/休/放假/节假日.
pub fn parse_working(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "上班" | "班" | "调休上班" | "工作日" | "补班" => {
            Ok(true)
        }
        "false" | "0" | "no" | "n" | "休息" | "休" | "放假" | "节假日" | "假" => Ok(false),
        "" => Err("请填写是否上班：true/上班（调休上班）或 false/休息（放假）".into()),
        _ => Err(format!(
            "“{}”无法识别，应为 true/上班（调休上班）或 false/休息（放假）",
            s.trim().chars().take(20).collect::<String>()
        )),
    }
}

fn parse_row(
    row: usize,
    (d, dcol): (&str, &str),
    (w, wcol): (&str, &str),
    (r, rcol): (&str, &str),
    errs: &mut Errors,
) -> Option<Raw> {
    let date = parse_date(d).map_err(|m| errs.push(RowError::new(row, dcol, m)));
    let working = parse_working(w).map_err(|m| errs.push(RowError::new(row, wcol, m)));
    let reason = r.trim();
    let reason_ok = if reason.is_empty() {
        errs.push(RowError::new(
            row,
            rcol,
            "请填写原因，如“元旦”或“春节调休上班”",
        ));
        false
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errs.push(RowError::new(
            row,
            rcol,
            format!("原因不能超过 {MAX_REASON_CHARS} 个字符"),
        ));
        false
    } else if reason.chars().any(char::is_control) {
        errs.push(RowError::new(
            row,
            rcol,
            "原因中不能有控制字符（如换行、制表符）",
        ));
        false
    } else {
        true
    };
    match (date, working, reason_ok) {
        (Ok(date), Ok(working), true) => Some(Raw {
            row,
            date_col: dcol.to_string(),
            row_data: HolidayRow {
                date,
                working,
                reason: reason.to_string(),
            },
        }),
        _ => None,
    }
}

/// Whole-file rules: no date twice, at most [`MAX_YEARS`] years and
/// [`MAX_ROWS_PER_YEAR`] rows per year.
fn check_rows(raws: Vec<Raw>) -> Result<Vec<HolidayRow>, ParseError> {
    let mut errs = Errors(Vec::new());
    let mut seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut per_year: BTreeMap<i32, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(raws.len());
    for raw in raws {
        let d = raw.row_data.date;
        if let Some(first) = seen.get(&d) {
            errs.push(RowError::new(
                raw.row,
                &raw.date_col,
                format!("日期 {d} 与第 {first} 行重复，每个日期只能出现一次"),
            ));
            continue;
        }
        seen.insert(d, raw.row);
        let n = {
            let n = per_year.entry(d.year()).or_default();
            *n += 1;
            *n
        };
        if n == MAX_ROWS_PER_YEAR + 1 {
            errs.push(RowError::new(
                raw.row,
                &raw.date_col,
                format!("{} 年超过 {MAX_ROWS_PER_YEAR} 行", d.year()),
            ));
        }
        if per_year.len() == MAX_YEARS + 1 && n == 1 {
            errs.push(RowError::new(
                raw.row,
                &raw.date_col,
                format!("一个文件最多包含 {MAX_YEARS} 个年份，请分文件导入"),
            ));
        }
        out.push(raw.row_data);
    }
    if !errs.0.is_empty() {
        return Err(ParseError::Rows(errs.0));
    }
    if out.is_empty() {
        return Err(file_error(
            "文件中没有数据行，每行应为：日期,是否上班,原因，如 2027-01-01,false,元旦",
        ));
    }
    out.sort_by_key(|r| r.date);
    Ok(out)
}

/// Rows as the JSON an import reads (a page confirms exactly the rows it previewed).
pub fn rows_to_json(rows: &[HolidayRow]) -> String {
    Value::Array(
        rows.iter()
            .map(|r| json!({"date": r.date.format("%Y-%m-%d").to_string(), "working": r.working, "reason": r.reason}))
            .collect(),
    )
    .to_string()
}

/// The years a file replaces, and the years it only merges rows into (see the module
/// comment).
pub fn scope(rows: &[HolidayRow]) -> (BTreeSet<i32>, BTreeSet<i32>) {
    let mut count: BTreeMap<i32, usize> = BTreeMap::new();
    for r in rows {
        *count.entry(r.date.year()).or_default() += 1;
    }
    let near_next = |r: &HolidayRow| r.date.month() == 12;
    let near_prev = |r: &HolidayRow| r.date.month() == 1;
    let mut replaced = BTreeSet::new();
    let mut merged = BTreeSet::new();
    for (&y, &n) in &count {
        let of_year = || rows.iter().filter(move |r| r.date.year() == y);
        let spill_into_next =
            count.get(&(y + 1)).is_some_and(|&m| m > n) && of_year().all(near_next);
        let spill_into_prev =
            count.get(&(y - 1)).is_some_and(|&m| m > n) && of_year().all(near_prev);
        if spill_into_next || spill_into_prev {
            merged.insert(y);
        } else {
            replaced.insert(y);
        }
    }
    (replaced, merged)
}

/// What an import would do to a calendar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    /// Years replaced as a whole.
    pub years: Vec<i32>,
    /// Years whose rows are merged without removing other days.
    pub merged_years: Vec<i32>,
    pub added: Vec<HolidayRow>,
    /// (before, after)
    pub changed: Vec<(HolidayRow, HolidayRow)>,
    pub removed: Vec<HolidayRow>,
    pub unchanged: usize,
    /// The import touches a year that already has days: it needs confirmation.
    pub needs_confirmation: bool,
    /// Fingerprint of the calendar's days in the years concerned, to detect an edit
    /// between preview and confirmation.
    pub base: String,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let day = |r: &HolidayRow| json!({"date": r.date.format("%Y-%m-%d").to_string(), "working": r.working, "reason": r.reason});
        json!({
            "years": self.years,
            "merged_years": self.merged_years,
            "added": self.added.iter().map(day).collect::<Vec<_>>(),
            "changed": self.changed.iter().map(|(b, a)| json!({"date": a.date.format("%Y-%m-%d").to_string(),
                "before": {"working": b.working, "reason": b.reason}, "after": {"working": a.working, "reason": a.reason}})).collect::<Vec<_>>(),
            "removed": self.removed.iter().map(day).collect::<Vec<_>>(),
            "unchanged": self.unchanged,
            "counts": {"added": self.added.len(), "changed": self.changed.len(), "removed": self.removed.len()},
            "needs_confirmation": self.needs_confirmation,
            "base": self.base,
        })
    }

    /// `新增 3 天、修改 1 天、删除 0 天`
    pub fn counts_text(&self) -> String {
        format!(
            "新增 {} 天、修改 {} 天、删除 {} 天",
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        )
    }
}

/// The fingerprint of a calendar's days (in the years concerned).
pub fn fingerprint(existing: &BTreeMap<NaiveDate, DayOverride>) -> String {
    let mut h = Sha256::new();
    for (d, o) in existing {
        h.update(format!("{d}|{}|{}\n", u8::from(o.working), o.reason).as_bytes());
    }
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares a file with the calendar's days of the years it covers (`existing` may hold
/// other days; they are ignored).
pub fn diff(existing: &BTreeMap<NaiveDate, DayOverride>, rows: &[HolidayRow]) -> Diff {
    let (replaced, merged) = scope(rows);
    let in_scope = |d: &NaiveDate| replaced.contains(&d.year()) || merged.contains(&d.year());
    let relevant: BTreeMap<NaiveDate, DayOverride> = existing
        .iter()
        .filter(|(d, _)| in_scope(d))
        .map(|(d, o)| (*d, o.clone()))
        .collect();
    let years_with_days: BTreeSet<i32> = relevant.keys().map(|d| d.year()).collect();
    let incoming: BTreeMap<NaiveDate, &HolidayRow> = rows.iter().map(|r| (r.date, r)).collect();
    let mut out = Diff {
        years: replaced.iter().copied().collect(),
        merged_years: merged.iter().copied().collect(),
        base: fingerprint(&relevant),
        ..Diff::default()
    };
    for r in rows {
        match relevant.get(&r.date) {
            None => out.added.push(r.clone()),
            Some(o) if o.working == r.working && o.reason == r.reason => out.unchanged += 1,
            Some(o) => out.changed.push((
                HolidayRow {
                    date: r.date,
                    working: o.working,
                    reason: o.reason.clone(),
                },
                r.clone(),
            )),
        }
    }
    for (d, o) in &relevant {
        if replaced.contains(&d.year()) && !incoming.contains_key(d) {
            out.removed.push(HolidayRow {
                date: *d,
                working: o.working,
                reason: o.reason.clone(),
            });
        }
    }
    out.needs_confirmation = !out.changed.is_empty()
        || !out.removed.is_empty()
        || out
            .added
            .iter()
            .any(|r| years_with_days.contains(&r.date.year()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const CSV_2027: &str = "date,working,reason\n2027-01-01,false,元旦\n2027-02-06,上班,春节调休上班\n2027-02-07,休息,春节\n";

    #[test]
    fn a_csv_with_a_header_is_read_in_date_order() {
        let rows = parse(
            "日期,原因,是否上班\n2027-02-07,春节,休\n2027/1/1,元旦,false\n".as_bytes(),
            "x.csv",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].date, d("2027-01-01"));
        assert!(!rows[0].working);
        assert_eq!(rows[1].reason, "春节");
    }

    #[test]
    fn a_csv_without_a_header_takes_date_working_reason_in_order() {
        let rows = parse(b"2027-01-01,false,New Year\n# a comment\n\n", "upload").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].reason, "New Year");
    }

    #[test]
    fn a_gbk_csv_is_read() {
        let (bytes, _, _) = encoding_rs::GBK.encode("2027-01-01,休息,元旦\n");
        let rows = parse(&bytes, "x.csv").unwrap();
        assert_eq!(rows[0].reason, "元旦");
    }

    #[test]
    fn json_rows_are_read_and_unknown_fields_refused() {
        let rows = parse(
            r#"[{"date": "2027-01-01", "working": false, "reason": "A"}, {"date": "2027-02-06", "working": "上班", "reason": "B"}]"#.as_bytes(),
            "f.json",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].working);
        let Err(ParseError::Rows(errs)) = parse(
            br#"{"days": [{"date": "2027-01-01", "working": false, "reason": "A", "x": 1}]}"#,
            "f",
        ) else {
            panic!("unknown field accepted")
        };
        assert_eq!((errs[0].row, errs[0].column.as_str()), (1, "x"));
    }

    #[test]
    fn every_bad_cell_is_named_by_row_and_column() {
        let Err(ParseError::Rows(errs)) = parse(
            "date,working,reason\n2027-01-01,false,元旦\n2027-02-30,maybe,\n".as_bytes(),
            "x.csv",
        ) else {
            panic!("bad rows accepted")
        };
        let cols: Vec<(usize, &str)> = errs.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(cols, vec![(3, "date"), (3, "working"), (3, "reason")]);
        assert!(describe(&errs[0]).starts_with("第 3 行“date”列"));
    }

    #[test]
    fn a_date_twice_is_refused() {
        let Err(ParseError::Rows(errs)) =
            parse(b"2027-01-01,false,a\n2027-01-01,true,b\n", "x.csv")
        else {
            panic!("duplicate accepted")
        };
        assert!(errs[0].message.contains("第 1 行重复"), "{errs:?}");
    }

    #[test]
    fn files_over_the_bounds_are_refused_before_parsing() {
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        assert!(matches!(parse(&big, "x.csv"), Err(ParseError::TooLarge(_))));
        let mut many = String::new();
        let mut day = d("2020-01-01");
        for _ in 0..(MAX_ROWS + 5) {
            many.push_str(&format!("{day},false,x\n"));
            day = day.succ_opt().unwrap();
        }
        assert!(many.len() < MAX_FILE_BYTES);
        let Err(ParseError::Rows(errs)) = parse(many.as_bytes(), "x.csv") else {
            panic!("too many rows accepted")
        };
        assert!(errs.iter().any(|e| e.message.contains("超过")), "{errs:?}");
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert!(parse(b"", "x.csv").is_err());
        assert!(parse(b"date,working,reason\n", "x.csv").is_err());
        assert!(parse(b"[]", "x.json").is_err());
    }

    fn existing(days: &[(&str, bool, &str)]) -> BTreeMap<NaiveDate, DayOverride> {
        days.iter()
            .map(|(s, w, r)| {
                (
                    d(s),
                    DayOverride {
                        working: *w,
                        reason: r.to_string(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_new_year_is_added_without_confirmation() {
        let rows = parse(CSV_2027.as_bytes(), "x.csv").unwrap();
        let diff = diff(&existing(&[("2026-01-01", false, "元旦")]), &rows);
        assert_eq!(diff.years, vec![2027]);
        assert_eq!(diff.added.len(), 3);
        assert!(!diff.needs_confirmation);
    }

    #[test]
    fn a_year_with_days_shows_added_changed_and_removed_and_needs_confirmation() {
        let rows = parse(CSV_2027.as_bytes(), "x.csv").unwrap();
        let have = existing(&[
            ("2027-01-01", false, "元旦"),
            ("2027-02-07", true, "改过"),
            ("2027-05-01", false, "劳动节"),
        ]);
        let diff = diff(&have, &rows);
        assert_eq!(diff.added.len(), 1);
        assert_eq!(diff.changed.len(), 1);
        assert_eq!(diff.removed.len(), 1);
        assert_eq!(diff.unchanged, 1);
        assert!(diff.needs_confirmation);
        assert_eq!(diff.base, fingerprint(&have));
    }

    #[test]
    fn reloading_the_same_year_changes_nothing() {
        let rows = parse(CSV_2027.as_bytes(), "x.csv").unwrap();
        let have = existing(&[
            ("2027-01-01", false, "元旦"),
            ("2027-02-06", true, "春节调休上班"),
            ("2027-02-07", false, "春节"),
        ]);
        let diff = diff(&have, &rows);
        assert!(diff.is_empty() && !diff.needs_confirmation);
    }

    #[test]
    fn a_new_years_eve_row_is_merged_into_the_previous_year_not_replacing_it() {
        let mut csv = String::from("2022-12-31,false,元旦\n");
        for day in ["2023-01-01", "2023-01-02", "2023-01-21", "2023-01-22"] {
            csv.push_str(&format!("{day},false,x\n"));
        }
        let rows = parse(csv.as_bytes(), "x.csv").unwrap();
        let have = existing(&[("2022-10-01", false, "国庆节")]);
        let diff = diff(&have, &rows);
        assert_eq!(diff.years, vec![2023]);
        assert_eq!(diff.merged_years, vec![2022]);
        assert!(diff.removed.is_empty(), "{diff:?}");
        assert_eq!(diff.added.len(), 5);
    }

    fn valid_csv() -> Vec<u8> {
        CSV_2027.as_bytes().to_vec()
    }

    fn valid_json() -> Vec<u8> {
        br#"[{"date": "2027-01-01", "working": false, "reason": "A"}, {"date": "2027-02-06", "working": true, "reason": "B"}]"#.to_vec()
    }

    fn bounded(r: &Result<Vec<HolidayRow>, ParseError>) {
        match r {
            Ok(rows) => {
                assert!(!rows.is_empty() && rows.len() <= MAX_ROWS);
                assert!(
                    rows.iter()
                        .all(|r| r.reason.chars().count() <= MAX_REASON_CHARS
                            && YEARS.contains(&r.date.year()))
                );
            }
            Err(ParseError::Rows(errs)) => {
                assert!(!errs.is_empty() && errs.len() <= MAX_ERRORS);
            }
            Err(ParseError::TooLarge(_)) => {}
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048), json in any::<bool>()) {
            let r = parse(&data, if json { "x.json" } else { "x.csv" });
            bounded(&r);
            if let Ok(rows) = r {
                let d = diff(&BTreeMap::new(), &rows);
                prop_assert_eq!(d.added.len(), rows.len());
            }
        }

        #[test]
        fn mutated_valid_files_never_panic(
            json in any::<bool>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
        ) {
            let mut data = if json { valid_json() } else { valid_csv() };
            for (at, byte, op) in edits {
                if data.is_empty() { data.push(byte); continue; }
                let i = at.index(data.len());
                match op {
                    0 => data[i] = byte,
                    1 => data.insert(i, byte),
                    _ => { data.remove(i); }
                }
            }
            let r = parse(&data, "upload");
            bounded(&r);
            if let Ok(rows) = r {
                let have = existing(&[("2027-01-01", true, "x")]);
                let d = diff(&have, &rows);
                prop_assert!(d.added.len() + d.changed.len() + d.unchanged == rows.len());
            }
        }
    }
}
