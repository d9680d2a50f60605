//! Bounds on the payloads other monitoring systems push to us, checked before any work is
//! done (pure: no I/O).
//!
//! A body is at most [`MAX_BODY_BYTES`] (the route's body limit). Before serde_json
//! builds anything, a scan of the raw bytes that allocates nothing bounds the nesting
//! depth and the number of JSON elements, so the parsed value is a bounded multiple of
//! the body. Then each source's counts and field lengths are checked (in the source's
//! file, with the helpers here), and only then are alerts and tickets opened. Every
//! refusal is a Chinese message that names the limit.

use serde_json::{Map, Value};

use crate::domain::FieldError;

/// Largest intake body; also the body limit on the intake routes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Deepest JSON nesting accepted (real payloads are 4 levels deep).
pub const MAX_DEPTH: usize = 32;
/// Most JSON elements (values and keys) in one body.
pub const MAX_ELEMENTS: usize = 50_000;
/// Most alerts in one Alertmanager notification (its `max_alerts` setting).
pub const MAX_ALERTS: usize = 500;
/// Most labels, or annotations, on one alert; most keys in one payload object.
pub const MAX_LABELS: usize = 64;
/// Longest label or annotation name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest label value, in characters.
pub const MAX_LABEL_CHARS: usize = 4096;
/// Longest free text (annotation, message, details), in characters.
pub const MAX_TEXT_CHARS: usize = 16 * 1024;
/// Most links or images on one generic event.
pub const MAX_LINKS: usize = 50;

/// What the allocation-free scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub depth: usize,
    pub elements: usize,
}

/// Scans JSON text without allocating: the deepest nesting and an upper bound on the
/// number of elements (every value and key follows `{`, `[`, `,` or `:`, or is the
/// first). Text that is not JSON is scanned all the same; serde_json refuses it later.
/// Stops early once a limit is passed.
pub fn scan(body: &[u8]) -> Shape {
    let mut shape = Shape {
        depth: 0,
        elements: 1,
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                shape.depth = shape.depth.max(depth);
                shape.elements += 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' | b':' => shape.elements += 1,
            _ => {}
        }
        if shape.depth > MAX_DEPTH || shape.elements > MAX_ELEMENTS {
            break;
        }
    }
    shape
}

/// Parses an intake body into a JSON object, refusing anything past the size, depth
/// and element limits before serde_json allocates.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, FieldError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FieldError::new(
            "body",
            format!(
                "请求体 {} 字节，超过上限 {MAX_BODY_BYTES} 字节（1 MB）",
                body.len()
            ),
        ));
    }
    let shape = scan(body);
    if shape.depth > MAX_DEPTH {
        return Err(FieldError::new(
            "body",
            format!("JSON 嵌套超过 {MAX_DEPTH} 层，请检查发送方的模板"),
        ));
    }
    if shape.elements > MAX_ELEMENTS {
        return Err(FieldError::new(
            "body",
            format!("JSON 元素超过 {MAX_ELEMENTS} 个，请拆分后分批发送"),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(FieldError::new("body", "请求体应为 JSON 对象")),
        Err(e) => Err(FieldError::new(
            "body",
            format!("请求体不是有效的 JSON：{e}"),
        )),
    }
}

pub(super) fn chars_over(s: &str, max: usize) -> bool {
    // Bytes bound characters from above: the count is needed only for long strings.
    s.len() > max && s.chars().count() > max
}

/// A string field of at most `max` characters (numbers and other values pass: the
/// handlers read them as text themselves, bounded by the element scan).
pub(super) fn check_text(v: Option<&Value>, field: &str, max: usize) -> Result<(), FieldError> {
    match v {
        Some(Value::String(s)) if chars_over(s, max) => Err(FieldError::new(
            field,
            format!("{field} 超过 {max} 个字符，请缩短"),
        )),
        _ => Ok(()),
    }
}

/// A map of names to strings (labels, annotations): count, name and value lengths.
pub(super) fn check_pairs(
    v: Option<&Value>,
    field: &str,
    max_value: usize,
) -> Result<(), FieldError> {
    let Some(Value::Object(m)) = v else {
        return Ok(());
    };
    if m.len() > MAX_LABELS {
        return Err(FieldError::new(
            field,
            format!("{field} 有 {} 项，最多 {MAX_LABELS} 项", m.len()),
        ));
    }
    for (k, v) in m {
        if chars_over(k, MAX_NAME_CHARS) {
            return Err(FieldError::new(
                field,
                format!("{field} 的名称超过 {MAX_NAME_CHARS} 个字符"),
            ));
        }
        match v {
            Value::String(s) if chars_over(s, max_value) => {
                return Err(FieldError::new(
                    format!("{field}.{k}"),
                    format!("{field}.{k} 超过 {max_value} 个字符，请缩短"),
                ));
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {}
            _ => {
                return Err(FieldError::new(
                    format!("{field}.{k}"),
                    format!("{field}.{k} 应为字符串"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_counts_depth_and_elements_and_ignores_brackets_in_strings() {
        assert_eq!(
            scan(b"{}"),
            Shape {
                depth: 1,
                elements: 2
            }
        );
        assert_eq!(
            scan(br#"{"a":[1,2,{"b":"[[[{"}]}"#),
            Shape {
                depth: 3,
                elements: 8
            }
        );
        assert_eq!(
            scan(br#""\"[""#),
            Shape {
                depth: 0,
                elements: 1
            }
        );
        let deep = "[".repeat(100);
        assert_eq!(scan(deep.as_bytes()).depth, MAX_DEPTH + 1);
    }

    #[test]
    fn deep_or_crowded_bodies_are_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(
            parse_object(deep.as_bytes())
                .unwrap_err()
                .message
                .contains("嵌套")
        );
        let crowded = format!("{{\"a\":[{}0]}}", "0,".repeat(MAX_ELEMENTS));
        assert!(
            parse_object(crowded.as_bytes())
                .unwrap_err()
                .message
                .contains("元素")
        );
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(parse_object(&big).unwrap_err().message.contains("上限"));
        assert!(parse_object(b"[]").unwrap_err().message.contains("对象"));
        assert!(parse_object(b"{").unwrap_err().message.contains("JSON"));
    }
}
