//! Reading the typed values of a definition, each mistake a field error in Chinese.

use serde_json::{Map, Value};

use crate::domain::FieldError;

pub(super) struct V<'a> {
    pub(super) errs: &'a mut Vec<FieldError>,
}

impl V<'_> {
    pub(super) fn err(&mut self, field: &str, msg: impl Into<String>) {
        self.errs.push(FieldError::new(field, msg));
    }

    pub(super) fn int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
        range: (i64, i64),
    ) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= range.0 && n <= range.1 => Some(n),
                _ => {
                    self.err(
                        field,
                        format!("{label}应为 {} 到 {} 之间的整数", range.0, range.1),
                    );
                    None
                }
            },
        }
    }

    pub(super) fn num(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
    ) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() => Some(n),
                _ => {
                    self.err(field, format!("{label}应为数字"));
                    None
                }
            },
        }
    }

    pub(super) fn text(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
        max: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => {
                match crate::domain::text::check_field(label, s.trim(), max > 200, max) {
                    Ok(()) => Some(s.trim().to_string()),
                    Err(m) => {
                        self.err(field, m);
                        None
                    }
                }
            }
            Some(_) => {
                self.err(field, format!("{label}应为文本"));
                None
            }
        }
    }

    pub(super) fn boolean(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
    ) -> Option<bool> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(field, format!("{label}应为 true 或 false"));
                None
            }
        }
    }
}
