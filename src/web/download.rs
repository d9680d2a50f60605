//! `Content-Disposition: attachment` for downloads (RFC 6266), with the file name both as
//! an ASCII `filename="..."` for old clients and as an RFC 8187 `filename*=UTF-8''...`
//! that carries the real (often Chinese) name.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 8187 `attr-char`: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" /
/// "_" / "`" / "|" / "~". Everything else is percent-encoded.
pub const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Longest file name put in the header, in characters; longer names keep their extension.
const MAX_NAME_CHARS: usize = 120;

/// The value of `Content-Disposition` for downloading `name` as an attachment.
pub fn attachment(name: &str) -> HeaderValue {
    let name = clamp(name);
    let ascii = ascii_fallback(&name);
    let encoded = utf8_percent_encode(&name, ATTR_CHAR);
    let value = if ascii == name {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    };
    // Both parts are printable ASCII by construction.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file as a download: `content_type`, and `attachment` disposition named `name`.
pub fn file(content_type: HeaderValue, name: &str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, attachment(name)),
        ],
        body,
    )
        .into_response()
}

/// A stored content type as a header value; one that is not a valid header value is
/// sent as `application/octet-stream`.
pub fn stored_type(content_type: &str) -> HeaderValue {
    HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A file someone uploaded, as a safe download: its stored type, `attachment`
/// disposition and a sandboxing CSP, so that opened in the browser it runs nothing and
/// loads nothing (an `<img>` still shows a picture).
pub fn uploaded(content_type: &str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, stored_type(content_type)),
            (header::CONTENT_DISPOSITION, attachment(name)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The name without directories and control characters, at most `MAX_NAME_CHARS` long.
fn clamp(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let cleaned = if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "download"
    } else {
        cleaned
    };
    if cleaned.chars().count() <= MAX_NAME_CHARS {
        return cleaned.to_string();
    }
    let ext = cleaned
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.chars().count() <= 10 && !e.is_empty());
    match ext {
        Some(e) => {
            let keep = MAX_NAME_CHARS - e.chars().count() - 1;
            let stem: String = cleaned.chars().take(keep).collect();
            format!("{stem}.{e}")
        }
        None => cleaned.chars().take(MAX_NAME_CHARS).collect(),
    }
}

/// The name for clients that ignore `filename*`: printable ASCII except `"` and `\`
/// (which a quoted-string would need escaped) and `%` (which some clients decode); every
/// other character becomes `_`. The extension stays, so the file still opens.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if (c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%')) || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str) -> String {
        attachment(name).to_str().unwrap().to_string()
    }

    fn ext_value(h: &str) -> &str {
        h.split("filename*=UTF-8''").nth(1).unwrap()
    }

    #[test]
    fn a_plain_ascii_name_is_sent_once_quoted() {
        assert_eq!(
            header("tickets-20261129.xlsx"),
            "attachment; filename=\"tickets-20261129.xlsx\""
        );
    }

    #[test]
    fn a_chinese_name_gets_an_ascii_fallback_and_an_rfc8187_value() {
        let h = header("故障报告 INC-1.docx");
        assert_eq!(
            h,
            "attachment; filename=\"____ INC-1.docx\"; \
             filename*=UTF-8''%E6%95%85%E9%9A%9C%E6%8A%A5%E5%91%8A%20INC-1.docx"
        );
    }

    #[test]
    fn slashes_quotes_and_percent_signs_are_encoded_not_passed_through() {
        let h = header("a\"b%c;d.txt");
        assert!(
            h.starts_with("attachment; filename=\"a_b_c;d.txt\"; "),
            "{h}"
        );
        assert_eq!(ext_value(&h), "a%22b%25c%3Bd.txt");
        // A directory part is dropped rather than encoded.
        assert_eq!(
            header("../../etc/passwd"),
            "attachment; filename=\"passwd\""
        );
        assert_eq!(header("C:\\x\\报表.csv"), header("报表.csv"));
        assert_eq!(header("a/b/"), "attachment; filename=\"download\"");
    }

    #[test]
    fn control_characters_never_reach_the_header() {
        let h = header("evil\r\nSet-Cookie: x=1.txt");
        assert!(!h.contains('\r') && !h.contains('\n'));
        assert!(h.contains("filename=\"evilSet-Cookie: x=1.txt\""), "{h}");
    }

    #[test]
    fn a_very_long_name_is_shortened_and_keeps_its_extension() {
        let long = format!("{}.xlsx", "资".repeat(500));
        let h = header(&long);
        let decoded = percent_encoding::percent_decode_str(ext_value(&h))
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded.chars().count(), MAX_NAME_CHARS);
        assert!(decoded.ends_with(".xlsx"));
    }

    fn is_attr_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
    }

    proptest::proptest! {
        #[test]
        fn the_encoded_name_holds_only_attr_chars_and_decodes_back(name in "\\PC{1,60}") {
            let encoded = utf8_percent_encode(&name, ATTR_CHAR).to_string();
            let bytes = encoded.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    proptest::prop_assert!(i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit());
                    i += 3;
                } else {
                    proptest::prop_assert!(is_attr_char(bytes[i]), "{} in {}", bytes[i] as char, encoded);
                    i += 1;
                }
            }
            let back = percent_encoding::percent_decode_str(&encoded).decode_utf8().unwrap();
            proptest::prop_assert_eq!(back, name);
        }

        #[test]
        fn any_name_gives_a_valid_header_whose_parts_are_safe(name in ".{0,300}") {
            let v = attachment(&name);
            let h = v.to_str().unwrap();
            proptest::prop_assert!(h.bytes().all(|b| (0x20..0x7f).contains(&b)));
            let quoted = h.split("filename=\"").nth(1).unwrap().split('"').next().unwrap();
            proptest::prop_assert!(!quoted.is_empty());
            proptest::prop_assert!(!quoted.contains(['\\', '%', '/']));
            if let Some(ext) = h.split("filename*=UTF-8''").nth(1) {
                proptest::prop_assert!(ext.bytes().all(|b| b == b'%' || is_attr_char(b)));
                let back = percent_encoding::percent_decode_str(ext).decode_utf8().unwrap();
                proptest::prop_assert_eq!(back.as_ref(), clamp(&name));
            }
        }
    }
}
