//! Typed use-case inputs: decoding a JSON value (an API body, or a page's form turned
//! into one) into a use case's input struct, with one Chinese message per field in the
//! `FieldError` shape that says what to fix.
//!
//! An input struct derives `Deserialize` with `#[serde(deny_unknown_fields)]` (`Option`
//! fields for what may be left out, and for patches) and implements [`Labels`] to name its
//! fields in Chinese. Rules that need more than the types (lengths, ranges, one field
//! depending on another, existence of referenced records) are checked afterwards by the
//! use case, in the domain, with every problem reported at once. Serde stops at the first
//! malformed field, so a body with several type errors is reported one field at a time.
//!
//! `de` holds lenient field decoders for values that forms send as text (ids, empty
//! strings meaning "not given").

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::field_error::FieldError;

/// The Chinese names of an input's fields, for messages. Keys are field names, or dotted
/// paths for nested fields (`fault_report.cause`); a missing key falls back to the last
/// path segment's entry, then to the field name itself.
pub trait Labels {
    const LABELS: &'static [(&'static str, &'static str)];

    fn label(path: &str) -> String {
        let last = path.rsplit('.').next().unwrap_or(path);
        Self::LABELS
            .iter()
            .find(|(k, _)| *k == path)
            .or_else(|| Self::LABELS.iter().find(|(k, _)| *k == last))
            .map(|(_, l)| (*l).to_string())
            .unwrap_or_else(|| last.to_string())
    }
}

/// Decodes `v` into `T`. A body that is not a JSON object is refused as a whole (field
/// `body`); otherwise the first problem is named with its field.
pub fn decode<T: DeserializeOwned + Labels>(v: Value) -> Result<T, Vec<FieldError>> {
    if !v.is_object() {
        return Err(vec![FieldError::new("body", "请求体应为 JSON 对象")]);
    }
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = path_string(e.path());
        vec![describe::<T>(&path, &e.inner().to_string())]
    })
}

fn path_string(p: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// The text between the first pair of backticks of a serde message.
fn quoted(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

/// The names a serde "expected one of `a`, `b`" (or "expected `a` or `b`") message lists.
fn choices(msg: &str) -> Vec<&str> {
    match msg.find("expected ") {
        Some(i) => msg[i..].split('`').skip(1).step_by(2).collect(),
        None => Vec::new(),
    }
}

/// `parent.field`, unless the path already ends at the field.
fn join(parent: &str, field: &str) -> String {
    if parent.rsplit('.').next() == Some(field) {
        parent.to_string()
    } else if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// What serde's "expected …" names, in Chinese.
fn expected_cn(msg: &str) -> String {
    let exp = msg.rsplit("expected ").next().unwrap_or("").trim();
    let cn = if exp.contains("string") || exp.contains("char") {
        "文本"
    } else if exp.contains("i64")
        || exp.contains("i32")
        || exp.contains("u64")
        || exp.contains("u32")
        || exp.contains("u16")
        || exp.contains("u8")
        || exp.contains("integer")
    {
        "整数"
    } else if exp.contains("f64") || exp.contains("f32") || exp.contains("number") {
        "数字"
    } else if exp.contains("bool") {
        "true 或 false"
    } else if exp.contains("sequence") || exp.contains("array") {
        "列表"
    } else if exp.contains("struct") || exp.contains("map") {
        "对象"
    } else {
        return exp.to_string();
    };
    cn.to_string()
}

fn describe<T: Labels>(path: &str, msg: &str) -> FieldError {
    if msg.starts_with("unknown field") {
        let k = quoted(msg).unwrap_or("");
        return FieldError::new(join(path, k), format!("未知字段“{k}”，请删除该字段"));
    }
    if msg.starts_with("missing field") {
        let k = quoted(msg).unwrap_or("");
        let field = join(path, k);
        return FieldError::new(field.clone(), format!("请填写{}", T::label(&field)));
    }
    let label = T::label(path);
    let field = if path.is_empty() { "body" } else { path };
    if msg.starts_with("unknown variant") {
        let v = quoted(msg).unwrap_or("");
        return FieldError::new(
            field,
            format!("{label}“{v}”无效，可选：{}", choices(msg).join("、")),
        );
    }
    if msg.starts_with("invalid type: null") {
        return FieldError::new(field, format!("请填写{label}"));
    }
    if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        return FieldError::new(
            field,
            format!("{label}格式不正确，应为{}", expected_cn(msg)),
        );
    }
    // Messages our own decoders raise (`de::Error::custom`) are already Chinese.
    FieldError::new(field, format!("{label}{msg}"))
}

/// Lenient decoders for fields that forms send as text.
pub mod de {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// An optional positive id: a number, or a numeric string; `null` and an empty string
    /// mean "not given".
    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_i64() {
                Some(i) if i > 0 => Ok(Some(i)),
                _ => Err(D::Error::custom("应为正整数编号")),
            },
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) if i > 0 => Ok(Some(i)),
                _ => Err(D::Error::custom("应为正整数编号")),
            },
            _ => Err(D::Error::custom("应为编号")),
        }
    }

    /// A patch field that tells "left out" (`None`, with `#[serde(default)]`) from
    /// "cleared" (`Some(None)`, from `null`) and "set" (`Some(Some(v))`).
    pub fn patch<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }

    /// An optional text, trimmed; `null` and a blank string mean "not given".
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.trim().to_string())),
            _ => Err(D::Error::custom("应为文本")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Incident,
        Request,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        cause: String,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        kind: Kind,
        title: String,
        #[serde(default, deserialize_with = "de::opt_id")]
        system_id: Option<i64>,
        #[serde(default, deserialize_with = "de::opt_text")]
        note: Option<String>,
        score: Option<i64>,
        report: Option<Inner>,
    }

    impl Labels for Sample {
        const LABELS: &'static [(&'static str, &'static str)] = &[
            ("kind", "工单类型"),
            ("title", "标题"),
            ("system_id", "系统"),
            ("score", "评分"),
            ("report.cause", "故障原因"),
        ];
    }

    fn err(v: Value) -> FieldError {
        decode::<Sample>(v).unwrap_err().remove(0)
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z_\\u{4e00}-\\u{4e20}]{0,8}".prop_map(Value::from),
            prop::sample::select(vec![
                "incident",
                "request",
                "title",
                "system_id",
                "report",
                "cause",
                "na",
                "12",
                " "
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "kind",
                        "title",
                        "system_id",
                        "note",
                        "score",
                        "report",
                        "cause",
                        "x"
                    ])
                    .prop_map(String::from),
                    inner,
                    0..7
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any JSON value decodes or is refused with field errors that name a field and say
        /// something; decoding never panics.
        #[test]
        fn any_json_decodes_or_names_what_is_wrong(v in json()) {
            if let Err(errs) = decode::<Sample>(v) {
                proptest::prop_assert!(!errs.is_empty());
                for e in errs {
                    proptest::prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{e:?}");
                }
            }
        }
    }

    #[test]
    fn a_good_body_decodes_with_lenient_ids_and_blank_texts() {
        let s: Sample = decode(
            json!({"kind": "request", "title": "打印机", "system_id": "12",
            "note": "  "}),
        )
        .unwrap();
        assert!(matches!(s.kind, Kind::Request));
        assert_eq!(s.system_id, Some(12));
        assert_eq!(s.note, None);
        let s: Sample = decode(json!({"kind": "incident", "title": "x", "system_id": 3})).unwrap();
        assert_eq!(s.system_id, Some(3));
    }

    #[test]
    fn each_kind_of_problem_names_its_field_in_chinese() {
        let e = err(json!({"kind": "incident", "title": "x", "colour": 1}));
        assert_eq!(e.field, "colour");
        assert_eq!(e.message, "未知字段“colour”，请删除该字段");

        let e = err(json!({"kind": "incident"}));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("title", "请填写标题")
        );

        let e = err(json!({"kind": "bogus", "title": "x"}));
        assert_eq!(e.field, "kind");
        assert_eq!(e.message, "工单类型“bogus”无效，可选：incident、request");

        let e = err(json!({"kind": "incident", "title": 5}));
        assert_eq!(e.message, "标题格式不正确，应为文本");

        let e = err(json!({"kind": "incident", "title": "x", "score": "five"}));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("score", "评分格式不正确，应为整数")
        );

        let e = err(json!({"kind": "incident", "title": "x", "system_id": -1}));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("system_id", "系统应为正整数编号")
        );

        let e = err(json!({"kind": "incident", "title": null}));
        assert_eq!(e.message, "请填写标题");

        let e = err(json!({"kind": "incident", "title": "x", "report": {}}));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("report.cause", "请填写故障原因")
        );

        let e = decode::<Sample>(json!([1])).unwrap_err().remove(0);
        assert_eq!(e.field, "body");
    }
}
