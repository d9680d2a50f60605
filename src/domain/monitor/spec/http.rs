//! The `config` of an http monitor: method, headers, body, the expected status and
//! keyword, and the certificate warning.

use serde_json::{Map, Value, json};

use super::fields::V;
use super::max_latency;

pub(super) fn http_config(v: &mut V, c: &Map<String, Value>, out: &mut Map<String, Value>) {
    let method = v
        .text(c, "method", "config.method", "请求方法", 10)
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !["GET", "HEAD", "POST", "PUT", "OPTIONS"].contains(&method.as_str()) {
        v.err(
            "config.method",
            "请求方法应为 GET、HEAD、POST、PUT 或 OPTIONS",
        );
    }
    out.insert("method".into(), json!(method));
    match c.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, val) in h {
                let name_ok = !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                let val_ok = val.as_str().is_some_and(|s| !s.contains(['\r', '\n']));
                if !name_ok || !val_ok {
                    v.err(
                        "config.headers",
                        format!("请求头“{k}”无效：名称只能含字母、数字和 -，值应为单行文本"),
                    );
                }
            }
            out.insert("headers".into(), Value::Object(h.clone()));
        }
        Some(_) => v.err(
            "config.headers",
            "请求头应为对象，如 {\"X-Token\": \"abc\"}",
        ),
    }
    if let Some(b) = v.text(c, "body", "config.body", "请求体", 100_000) {
        out.insert("body".into(), json!(b));
    }
    let expected: Vec<i64> = match c.get("expected_status") {
        None | Some(Value::Null) => vec![],
        Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        Some(_) => {
            v.err(
                "config.expected_status",
                "期望状态码应为整数或整数数组，如 [200, 301]",
            );
            vec![]
        }
    };
    if expected.iter().any(|s| !(100..=599).contains(s))
        || matches!(c.get("expected_status"), Some(Value::Array(a)) if a.len() != expected.len())
    {
        v.err("config.expected_status", "期望状态码应在 100 到 599 之间");
    }
    if !expected.is_empty() {
        out.insert("expected_status".into(), json!(expected));
    }
    if let Some(k) = v.text(c, "keyword", "config.keyword", "关键字", 1000) {
        out.insert("keyword".into(), json!(k));
    }
    if let Some(r) = v.text(
        c,
        "keyword_regex",
        "config.keyword_regex",
        "正则表达式",
        1000,
    ) {
        match regex::RegexBuilder::new(&r).size_limit(1 << 20).build() {
            Ok(_) => {
                out.insert("keyword_regex".into(), json!(r));
            }
            Err(e) => v.err(
                "config.keyword_regex",
                format!("正则表达式无效：{}", first_line(&e.to_string())),
            ),
        }
    }
    max_latency(v, c, out);
    let follow = v
        .boolean(
            c,
            "follow_redirects",
            "config.follow_redirects",
            "跟随重定向",
        )
        .unwrap_or(true);
    out.insert("follow_redirects".into(), json!(follow));
    let verify = v
        .boolean(c, "verify_tls", "config.verify_tls", "校验证书")
        .unwrap_or(true);
    out.insert("verify_tls".into(), json!(verify));
    let warn = v
        .int(
            c,
            "cert_expiry_warn_days",
            "config.cert_expiry_warn_days",
            "证书到期预警天数",
            (0, 3650),
        )
        .unwrap_or(14);
    out.insert("cert_expiry_warn_days".into(), json!(warn));
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}
