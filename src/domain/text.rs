//! Rules for text from users, the same on every backend: control characters (NUL
//! included) are refused everywhere except the newline and tab of multi-line fields, and
//! every string has a maximum length. PostgreSQL refuses NUL in text while SQLite stores
//! it; checking here, before the database, gives both the same answer.
//!
//! Documented maxima (characters): single-line fields as their own validation says (at
//! most 200: names, titles, categories, contacts); multi-line free text 10,000 (notes,
//! fault-report sections, asset remarks) or 20,000 (ticket descriptions and comments);
//! worklog notes 2,000; any string in any request body [`MAX_STRING_CHARS`] as a backstop.

use serde_json::Value;

/// No string in a request may be longer, whatever the field.
pub const MAX_STRING_CHARS: usize = 20_000;
/// Strings looked at in one request body (bounds the walk).
const MAX_STRINGS: usize = 100_000;

/// Invisible characters that can disguise text (bidi overrides, zero-width).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The first character a field may not hold: any control character, except newline,
/// carriage return and tab when the field is multi-line.
pub fn forbidden_char(s: &str, multiline: bool) -> Option<char> {
    s.chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// How to name a character in a message: `U+0000` for invisible ones.
pub fn describe(c: char) -> String {
    match c {
        '\0' => "NUL（U+0000）".into(),
        '\n' => "换行".into(),
        '\t' => "制表符".into(),
        '\r' => "回车".into(),
        c => format!("U+{:04X}", c as u32),
    }
}

/// Checks one field; the message says what to fix, in Chinese.
pub fn check_field(label: &str, s: &str, multiline: bool, max_chars: usize) -> Result<(), String> {
    if let Some(c) = forbidden_char(s, multiline) {
        return Err(format!(
            "{label}含有不允许的控制字符 {}，请删除后重试",
            describe(c)
        ));
    }
    if s.chars().count() > max_chars {
        return Err(format!("{label}不能超过 {max_chars} 个字符"));
    }
    Ok(())
}

/// Passwords: printable characters only (no control or invisible formatting characters).
pub fn check_password_chars(password: &str) -> Result<(), String> {
    match password
        .chars()
        .find(|c| c.is_control() || is_invisible_format(*c))
    {
        Some(c) => Err(format!("密码只能包含可见字符，不能含有 {}", describe(c))),
        None => Ok(()),
    }
}

/// One problem found in a request: the JSON path (`a.b[2]`) and the message.
#[derive(Debug, PartialEq)]
pub struct TextProblem {
    pub path: String,
    pub message: String,
}

/// Walks every string (keys included) of a request body: control characters other than
/// newline, carriage return and tab are refused, and so is any string longer than
/// [`MAX_STRING_CHARS`]. Single-line rules are the fields' own.
pub fn scan_json(v: &Value) -> Result<(), TextProblem> {
    let mut seen = 0usize;
    scan(v, &mut String::new(), &mut seen)
}

fn problem_for(path: &str, s: &str) -> Option<TextProblem> {
    let name = if path.is_empty() {
        "请求内容"
    } else {
        path
    };
    check_field(&format!("“{name}”"), s, true, MAX_STRING_CHARS)
        .err()
        .map(|message| TextProblem {
            path: path.to_string(),
            message,
        })
}

fn scan(v: &Value, path: &mut String, seen: &mut usize) -> Result<(), TextProblem> {
    *seen += 1;
    if *seen > MAX_STRINGS {
        return Err(TextProblem {
            path: String::new(),
            message: "请求内容的条目过多".into(),
        });
    }
    match v {
        Value::String(s) => problem_for(path, s).map_or(Ok(()), Err),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                scan(item, path, seen)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, item) in m {
                if let Some(p) = problem_for(path, k) {
                    return Err(p);
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                // A key is as hostile as a value: keep the path short in messages.
                path.extend(k.chars().take(64));
                scan(item, path, seen)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The same rules for form fields and query parameters (name, value).
pub fn scan_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<(), TextProblem> {
    for (k, v) in pairs.take(MAX_STRINGS) {
        let name: String = k.chars().filter(|c| !c.is_control()).take(64).collect();
        if let Some(p) = problem_for(&name, k).or_else(|| problem_for(&name, v)) {
            return Err(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nul_and_other_controls_are_refused_but_newlines_and_tabs_pass_in_multiline_text() {
        assert!(scan_json(&json!({"note": "第一行\n第二行\t缩进"})).is_ok());
        let p = scan_json(&json!({"note": "a\u{0}b"})).unwrap_err();
        assert_eq!(p.path, "note");
        assert!(p.message.contains("NUL"), "{}", p.message);
        let p = scan_json(&json!({"report": {"items": ["ok", "bad\u{10}"]}})).unwrap_err();
        assert_eq!(p.path, "report.items[1]");
        assert!(scan_json(&json!({"k\u{7f}": 1})).is_err());
        assert!(scan_json(&json!({"c1": "\u{85}"})).is_err());
    }

    #[test]
    fn single_line_fields_refuse_newlines() {
        assert!(check_field("标题", "a\nb", false, 200).is_err());
        assert!(check_field("标题", "a b", false, 200).is_ok());
        assert!(check_field("标题", &"长".repeat(201), false, 200).is_err());
    }

    #[test]
    fn a_string_over_the_backstop_length_is_refused() {
        let long = "字".repeat(MAX_STRING_CHARS + 1);
        assert!(
            scan_json(&json!({"note": long}))
                .unwrap_err()
                .message
                .contains("20000")
        );
    }

    #[test]
    fn passwords_must_be_printable() {
        assert!(check_password_chars("Strong#Passw0rd").is_ok());
        assert!(check_password_chars("Strong#Pass w0rd").is_ok());
        assert!(check_password_chars("Strong#\u{10}Passw0rd").is_err());
        assert!(check_password_chars("Strong#Passw0rd\n").is_err());
        assert!(check_password_chars("Strong\u{200B}#Passw0rd").is_err());
    }

    proptest! {
        #[test]
        fn scanning_never_panics_and_accepts_exactly_the_allowed_characters(s in ".{0,200}") {
            let r = scan_json(&json!({"f": s.clone()}));
            let bad = s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
            prop_assert_eq!(r.is_err(), bad);
        }

        #[test]
        fn pairs_never_panic(k in "\\PC{0,20}", v in ".{0,50}") {
            let _ = scan_pairs(std::iter::once((k.as_str(), v.as_str())));
        }
    }
}
