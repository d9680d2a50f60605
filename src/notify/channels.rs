//! Channel kinds and their configuration: which keys each kind takes, which are secret
//! (stored encrypted, shown as "***"), and validation with Chinese messages.

use serde_json::{Map, Value};

use crate::domain::FieldError;

pub const KINDS: &[&str] = &["email", "webhook", "wecom", "dingtalk", "sms"];

/// (key, required, secret, label)
pub fn keys(kind: &str) -> &'static [(&'static str, bool, bool, &'static str)] {
    match kind {
        "email" => &[
            ("host", true, false, "SMTP 服务器"),
            ("port", true, false, "端口"),
            ("tls", true, false, "加密方式"),
            ("username", false, false, "用户名"),
            ("password", false, true, "密码"),
            ("from", true, false, "发件人"),
            ("to", false, false, "收件人"),
        ],
        "webhook" => &[
            ("url", true, false, "地址"),
            ("secret", false, true, "签名密钥"),
        ],
        "wecom" => &[("url", true, true, "企业微信机器人地址")],
        "dingtalk" => &[
            ("url", true, true, "钉钉机器人地址"),
            ("secret", false, true, "加签密钥"),
        ],
        "sms" => &[
            ("url", true, true, "短信网关地址"),
            ("body_template", true, false, "请求体模板"),
            ("to", true, false, "手机号"),
        ],
        _ => &[],
    }
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://")) && !s.chars().any(char::is_whitespace)
}

/// Public and secret parts of a channel's configuration.
pub type SplitConfig = (Map<String, Value>, Map<String, Value>);

/// Splits a validated config into public and secret parts.
pub fn validate(
    kind: &str,
    cfg: &Map<String, Value>,
    partial_secrets: &Map<String, Value>,
) -> Result<SplitConfig, Vec<FieldError>> {
    let mut errs = Vec::new();
    if !KINDS.contains(&kind) {
        return Err(vec![FieldError::new(
            "kind",
            "kind 可选：email、webhook、wecom、dingtalk、sms",
        )]);
    }
    let spec = keys(kind);
    for k in cfg.keys() {
        if !spec.iter().any(|(n, ..)| n == k) {
            errs.push(FieldError::new(
                format!("config.{k}"),
                format!("{kind} 通道没有“{k}”这一项"),
            ));
        }
    }
    let mut public = Map::new();
    let mut secret = Map::new();
    for (key, required, is_secret, label) in spec {
        let v = cfg.get(*key).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !(s.trim().is_empty() || (*is_secret && s == "***")),
            _ => true,
        });
        let Some(v) = v.cloned() else {
            // A secret not sent again (or sent back as "***") keeps its stored value.
            match partial_secrets.get(*key) {
                Some(old) if *is_secret => {
                    secret.insert(key.to_string(), old.clone());
                }
                _ if *required => errs.push(FieldError::new(
                    format!("config.{key}"),
                    format!("请填写{label}"),
                )),
                _ => {}
            }
            continue;
        };
        let check = match (*key, &v) {
            ("port", Value::Number(n)) => n
                .as_u64()
                .filter(|p| (1..=65535).contains(p))
                .map(|_| ())
                .ok_or("端口应为 1–65535"),
            ("port", _) => Err("端口应为 1–65535 的整数"),
            ("tls", Value::String(t)) if ["none", "starttls", "tls"].contains(&t.as_str()) => {
                Ok(())
            }
            ("tls", _) => Err("加密方式可选：none、starttls、tls"),
            ("url", Value::String(u)) if is_http_url(u) => Ok(()),
            ("url", _) => Err("地址应以 http:// 或 https:// 开头"),
            ("from", Value::String(f)) if f.contains('@') => Ok(()),
            ("from", _) => Err("发件人应为邮箱地址"),
            ("to", Value::String(_)) | ("to", Value::Array(_)) => Ok(()),
            ("to", _) => Err("收件人应为文本或列表"),
            (_, Value::String(_)) => Ok(()),
            _ => Err("应为文本"),
        };
        if let Err(m) = check {
            errs.push(FieldError::new(
                format!("config.{key}"),
                format!("{label}：{m}"),
            ));
            continue;
        }
        if *is_secret {
            secret.insert(key.to_string(), v);
        } else {
            public.insert(key.to_string(), v);
        }
    }
    if errs.is_empty() {
        Ok((public, secret))
    } else {
        Err(errs)
    }
}

/// Recipients listed in a channel's `to` (comma/semicolon separated text or a list).
pub fn listed_recipients(cfg: &Map<String, Value>) -> Vec<String> {
    match cfg.get("to") {
        Some(Value::String(s)) => s
            .split([',', ';', '，', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    }
}
