//! HTTP(S) probe: status, keyword or regex, latency and certificate expiry.

use std::time::Instant;

use serde_json::Value;

use super::{Clients, Outcome, ProbeSpec, cfg_i64, cfg_str, error_chain, expired_certificate, ms};

fn classify_reqwest(e: &reqwest::Error) -> (&'static str, String) {
    let chain = error_chain(e);
    let lower = chain.to_lowercase();
    if let Some(expired) = expired_certificate(e) {
        ("tls", format!("{expired}，TLS 握手被拒绝"))
    } else if e.is_timeout() {
        ("timeout", format!("请求超时：{chain}"))
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        ("dns", format!("域名解析失败：{chain}"))
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        ("tls", format!("TLS 握手或证书校验失败：{chain}"))
    } else if e.is_redirect() {
        ("http_status", format!("重定向过多：{chain}"))
    } else {
        ("connect", format!("连接失败：{chain}"))
    }
}

pub(super) async fn probe(p: &ProbeSpec, clients: &Clients) -> Outcome {
    let c = &p.config;
    let follow = c
        .get("follow_redirects")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let verify = c.get("verify_tls").and_then(Value::as_bool).unwrap_or(true);
    let method = reqwest::Method::from_bytes(cfg_str(c, "method").unwrap_or("GET").as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let mut req = clients
        .get(follow, verify)
        .request(method, &p.target)
        .timeout(p.timeout);
    if let Some(Value::Object(h)) = c.get("headers") {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                req = req.header(k.as_str(), v);
            }
        }
    }
    if let Some(b) = cfg_str(c, "body") {
        req = req.body(b.to_string());
    }
    let start = Instant::now();
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let (phase, msg) = classify_reqwest(&e);
            return Outcome::fail(phase, Some(ms(start)), msg);
        }
    };
    let status = resp.status().as_u16();
    let cert_not_after = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .and_then(|der| super::x509::parse_cert(der).ok())
        .map(|ci| ci.not_after);
    let need_body = c.contains_key("keyword") || c.contains_key("keyword_regex");
    // Read (at most 1 MiB of) the body so the connection can be reused and matched.
    let mut body = Vec::new();
    let mut resp = resp;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() < 1 << 20 {
                    body.extend_from_slice(&chunk);
                }
            }
            Ok(None) => break,
            Err(e) => {
                let (phase, msg) = classify_reqwest(&e);
                return Outcome::fail(phase, Some(ms(start)), msg);
            }
        }
    }
    let latency = ms(start);
    let expected: Vec<u16> = match c.get("expected_status") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_u64)
            .map(|n| n as u16)
            .collect(),
        _ => vec![],
    };
    let status_ok = if expected.is_empty() {
        (200..400).contains(&status)
    } else {
        expected.contains(&status)
    };
    if !status_ok {
        return Outcome::fail(
            "http_status",
            Some(latency),
            if expected.is_empty() {
                format!("HTTP 状态码 {status}（期望 2xx/3xx）")
            } else {
                format!("HTTP 状态码 {status}（期望 {expected:?}）")
            },
        );
    }
    if need_body {
        let text = String::from_utf8_lossy(&body);
        if let Some(k) = cfg_str(c, "keyword")
            && !text.contains(k)
        {
            return Outcome::fail(
                "body_match",
                Some(latency),
                format!("页面中没有找到关键字“{k}”"),
            );
        }
        if let Some(r) = cfg_str(c, "keyword_regex") {
            match regex::RegexBuilder::new(r).size_limit(1 << 20).build() {
                Ok(re) if re.is_match(&text) => {}
                Ok(_) => {
                    return Outcome::fail(
                        "body_match",
                        Some(latency),
                        format!("页面内容不匹配正则表达式 {r}"),
                    );
                }
                Err(e) => {
                    return Outcome::fail(
                        "body_match",
                        Some(latency),
                        format!("正则表达式无效：{e}"),
                    );
                }
            }
        }
    }
    if let Some(max) = cfg_i64(c, "max_latency_ms")
        && latency > max as f64
    {
        return Outcome::fail(
            "threshold",
            Some(latency),
            format!("响应时间 {latency:.0} 毫秒，超过上限 {max} 毫秒"),
        );
    }
    let warn = cfg_i64(c, "cert_expiry_warn_days").unwrap_or(14);
    if let Some(not_after) = cert_not_after
        && warn > 0
        && let Err(msg) = super::x509::expiry_text(not_after, chrono::Utc::now().timestamp(), warn)
    {
        return Outcome::fail("tls", Some(latency), msg);
    }
    Outcome::ok(latency, format!("HTTP {status}"))
}
