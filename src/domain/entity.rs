//! Field specifications for the record types edited through forms, the API and imports,
//! and the validation that turns user input into typed values. One spec drives the API,
//! the pages, import and export, so they cannot disagree.

use serde_json::{Map, Value};

use crate::domain::FieldError;

/// A typed value bound into SQL.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Clone, Copy, Debug)]
pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
}

impl Choice {
    pub const fn new(code: &'static str, label: &'static str) -> Choice {
        Choice { code, label }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Text {
        max: usize,
    },
    LongText,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Choice(&'static [Choice]),
    /// A year, a month or a day: `2015`, `2015-06`, `2015-06-30`.
    PartialDate,
    Url,
    Phone,
    Email,
    /// Reference to another table's id; the value may also be given by that row's title.
    Ref {
        table: &'static str,
        title: &'static str,
        label: &'static str,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// Other column headers accepted on import.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub required: bool,
    /// Value used on create when the field is absent.
    pub default: Option<DefaultValue>,
    pub sortable: bool,
    /// Filterable with `?name=value` on the list.
    pub filter: bool,
    /// Matched by `?q=`.
    pub search: bool,
    /// Shown as a column on list pages.
    pub list: bool,
}

#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    Int(i64),
    Text(&'static str),
}

impl Field {
    pub const fn new(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Field {
            name,
            label,
            aliases: &[],
            kind,
            required: false,
            default: None,
            sortable: false,
            filter: false,
            search: false,
            list: false,
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
    pub const fn default_int(mut self, v: i64) -> Self {
        self.default = Some(DefaultValue::Int(v));
        self
    }
    pub const fn default_text(mut self, v: &'static str) -> Self {
        self.default = Some(DefaultValue::Text(v));
        self
    }
    pub const fn sortable(mut self) -> Self {
        self.sortable = true;
        self
    }
    pub const fn filter(mut self) -> Self {
        self.filter = true;
        self
    }
    pub const fn search(mut self) -> Self {
        self.search = true;
        self
    }
    pub const fn list(mut self) -> Self {
        self.list = true;
        self
    }

    pub fn choices(&self) -> &'static [Choice] {
        match self.kind {
            Kind::Choice(c) => c,
            _ => &[],
        }
    }

    /// The Chinese label of a choice code, or the code itself.
    pub fn choice_label(&self, code: &str) -> Option<&'static str> {
        self.choices()
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.label)
    }

    /// Whether a column header names this field.
    pub fn matches_header(&self, header: &str) -> bool {
        let h = normalize_header(header);
        h == normalize_header(self.name)
            || h == normalize_header(self.label)
            || self.aliases.iter().any(|a| normalize_header(a) == h)
    }
}

fn normalize_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A record type that rows and forms are made of.
#[derive(Debug)]
pub struct EntitySpec {
    /// Collection name in the API (`assets`).
    pub name: &'static str,
    pub table: &'static str,
    /// Chinese name of one record (设备).
    pub label: &'static str,
    pub fields: &'static [Field],
    /// Default sort column.
    pub default_sort: &'static str,
    /// Tables whose rows point here and block deletion: (table, column, Chinese name).
    pub dependents: &'static [(&'static str, &'static str, &'static str)],
    /// Fields whose values are unique in the table.
    pub unique: &'static [&'static str],
}

/// Read-only keys that clients may send back unchanged; they are ignored.
pub const READ_ONLY_KEYS: &[&str] = &["id", "created_at", "updated_at"];

impl EntitySpec {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Validates a JSON object for create (`partial == false`) or update.
    /// `extra_read_only` are computed keys (e.g. `warranty_status`) that are ignored.
    pub fn validate_json(
        &self,
        obj: &Map<String, Value>,
        partial: bool,
        extra_read_only: &[&str],
    ) -> Result<Vec<(&'static Field, SqlValue)>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for key in obj.keys() {
            let known = self.field(key).is_some()
                || READ_ONLY_KEYS.contains(&key.as_str())
                || extra_read_only.contains(&key.as_str())
                || self.fields.iter().any(|f| {
                    matches!(f.kind, Kind::Ref { .. }) && ref_name_key(f.name) == key.as_str()
                });
            if !known {
                errors.push(FieldError::new(
                    key.clone(),
                    format!("未知字段“{key}”，请删除该字段"),
                ));
            }
        }
        for f in self.fields {
            match obj.get(f.name) {
                Some(v) => match parse_value(f, v) {
                    Ok(SqlValue::Null) if f.required => {
                        errors.push(FieldError::new(f.name, format!("请填写{}", f.label)))
                    }
                    Ok(val) => out.push((f, val)),
                    Err(m) => errors.push(FieldError::new(f.name, m)),
                },
                None if partial => {}
                None => match f.default {
                    Some(DefaultValue::Int(i)) => out.push((f, SqlValue::Int(i))),
                    Some(DefaultValue::Text(t)) => out.push((f, SqlValue::Text(t.into()))),
                    None if f.required => {
                        errors.push(FieldError::new(f.name, format!("请填写{}", f.label)))
                    }
                    None => out.push((f, SqlValue::Null)),
                },
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The key under which a reference's title is shown: `site_id` → `site_name`.
pub fn ref_name_key(field: &str) -> String {
    format!("{}_name", field.trim_end_matches("_id"))
}

/// Parses one input value for a field. Strings are trimmed; an empty string is "no value".
pub fn parse_value(f: &Field, v: &Value) -> Result<SqlValue, String> {
    let label = f.label;
    let text = match v {
        Value::Null => return Ok(SqlValue::Null),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(SqlValue::Null);
            }
            Some(t.to_string())
        }
        _ => None,
    };
    match f.kind {
        Kind::Text { max } => {
            let t = text.ok_or_else(|| format!("{label}应为文本"))?;
            if t.chars().count() > max {
                return Err(format!("{label}不能超过 {max} 个字符"));
            }
            if t.chars().any(|c| c.is_control()) {
                return Err(format!("{label}不能包含换行或控制字符"));
            }
            Ok(SqlValue::Text(t))
        }
        Kind::LongText => {
            let t = text.ok_or_else(|| format!("{label}应为文本"))?;
            if t.chars().count() > 10_000 {
                return Err(format!("{label}不能超过 10000 个字符"));
            }
            Ok(SqlValue::Text(t))
        }
        Kind::Int { min, max } => {
            let n = match (v, &text) {
                (Value::Number(n), _) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9e15)
                        .map(|x| x as i64)
                }),
                (_, Some(t)) => t.replace(',', "").parse::<i64>().ok().or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9e15)
                        .map(|x| x as i64)
                }),
                _ => None,
            }
            .ok_or_else(|| format!("{label}应为整数"))?;
            if n < min || n > max {
                return Err(format!("{label}应在 {min} 到 {max} 之间"));
            }
            Ok(SqlValue::Int(n))
        }
        Kind::Float { min, max } => {
            let n = match (v, &text) {
                (Value::Number(n), _) => n.as_f64(),
                (_, Some(t)) => t.replace(',', "").parse::<f64>().ok(),
                _ => None,
            }
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{label}应为数字"))?;
            if n < min || n > max {
                return Err(format!("{label}应在 {min} 到 {max} 之间"));
            }
            Ok(SqlValue::Float(n))
        }
        Kind::Choice(choices) => {
            let t = text.ok_or_else(|| format!("{label}应为文本"))?;
            choices
                .iter()
                .find(|c| c.code == t || c.label == t)
                .map(|c| SqlValue::Text(c.code.to_string()))
                .ok_or_else(|| {
                    let opts: Vec<String> = choices
                        .iter()
                        .map(|c| format!("{}（{}）", c.label, c.code))
                        .collect();
                    format!("{label}“{t}”无效，可选：{}", opts.join("、"))
                })
        }
        Kind::PartialDate => {
            let t = match (v, text) {
                (Value::Number(n), _) => n.to_string(),
                (_, Some(t)) => t,
                _ => return Err(format!("{label}应为日期")),
            };
            parse_partial_date(&t).map(SqlValue::Text).ok_or_else(|| {
                format!(
                    "{label}“{t}”无法识别，请填写年份（2015）、年月（2015-06）或日期（2015-06-30）"
                )
            })
        }
        Kind::Url => {
            let t = text.ok_or_else(|| format!("{label}应为文本"))?;
            let ok = (t.starts_with("http://") || t.starts_with("https://"))
                && t.len() <= 500
                && !t.chars().any(|c| c.is_whitespace() || c.is_control());
            if ok {
                Ok(SqlValue::Text(t))
            } else {
                Err(format!("{label}应以 http:// 或 https:// 开头"))
            }
        }
        Kind::Phone => {
            let t = match (v, text) {
                (Value::Number(n), _) => n.to_string(),
                (_, Some(t)) => t,
                _ => return Err(format!("{label}应为文本")),
            };
            let ok = t.len() <= 40
                && t.chars()
                    .all(|c| c.is_ascii_digit() || " -+()转,".contains(c))
                && t.chars().filter(|c| c.is_ascii_digit()).count() >= 5;
            if ok {
                Ok(SqlValue::Text(t))
            } else {
                Err(format!("{label}“{t}”格式不正确，只能包含数字和 -+() 符号"))
            }
        }
        Kind::Email => {
            let t = text.ok_or_else(|| format!("{label}应为文本"))?;
            let ok = t.len() <= 200
                && t.split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
                && !t.chars().any(char::is_whitespace);
            if ok {
                Ok(SqlValue::Text(t))
            } else {
                Err(format!("{label}“{t}”不是有效的邮箱地址"))
            }
        }
        Kind::Ref { label: target, .. } => match (v, text) {
            (Value::Number(n), _) => n
                .as_i64()
                .filter(|i| *i > 0)
                .map(SqlValue::Int)
                .ok_or_else(|| format!("{label}应为{target}的编号")),
            (_, Some(t)) => match t.parse::<i64>() {
                Ok(i) if i > 0 => Ok(SqlValue::Int(i)),
                // A title to resolve in the store.
                _ => Ok(SqlValue::Text(t)),
            },
            _ => Err(format!("{label}应为{target}的编号或名称")),
        },
    }
}

/// Normalizes `2015`, `2015年`, `2015-6`, `2015年6月`, `2015/6/30`, `2015-06-30` and
/// `2015.06.30` (and an Excel date-time's date part) to `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
pub fn parse_partial_date(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    let cleaned: String = t
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "")
        .trim_end_matches('-')
        .to_string();
    let parts: Vec<&str> = cleaned.split('-').collect();
    let num = |p: &str| -> Option<u32> {
        if p.is_empty() || p.len() > 4 || !p.chars().all(|c| c.is_ascii_digit()) {
            None
        } else {
            p.parse().ok()
        }
    };
    match parts.as_slice() {
        [y] if y.len() == 4 => {
            let y = num(y)?;
            (1900..=2200).contains(&y).then(|| format!("{y:04}"))
        }
        [y, m] if y.len() == 4 => {
            let (y, m) = (num(y)?, num(m)?);
            ((1900..=2200).contains(&y) && (1..=12).contains(&m)).then(|| format!("{y:04}-{m:02}"))
        }
        [y, m, d] if y.len() == 4 => {
            let (y, m, d) = (num(y)?, num(m)?, num(d)?);
            chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
                .filter(|_| (1900..=2200).contains(&y))
                .map(|dt| dt.format("%Y-%m-%d").to_string())
        }
        _ => None,
    }
}

/// The last day a partial date covers: a year ends on 31 December, a month on its last day.
pub fn partial_date_end(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::NaiveDate;
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => NaiveDate::from_ymd_opt(y.parse().ok()?, 12, 31),
        [y, m] => {
            let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
            let first_next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            }?;
            first_next.pred_opt()
        }
        [y, m, d] => NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_in_chinese_forms_are_normalized() {
        assert_eq!(parse_partial_date("2012年").as_deref(), Some("2012"));
        assert_eq!(parse_partial_date("2012年5月").as_deref(), Some("2012-05"));
        assert_eq!(
            parse_partial_date("2012/5/3").as_deref(),
            Some("2012-05-03")
        );
        assert_eq!(parse_partial_date("2012-02-30"), None);
        assert_eq!(parse_partial_date("12年"), None);
        assert_eq!(parse_partial_date("abc"), None);
    }

    #[test]
    fn a_year_covers_until_its_last_day() {
        assert_eq!(
            partial_date_end("2015").map(|d| d.to_string()).as_deref(),
            Some("2015-12-31")
        );
        assert_eq!(
            partial_date_end("2024-02")
                .map(|d| d.to_string())
                .as_deref(),
            Some("2024-02-29")
        );
    }
}
