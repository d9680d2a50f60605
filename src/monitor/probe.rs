//! The probes: one function per kind, each answering ok or a structured failure phase
//! with a Chinese message, and the latency. Timeouts are enforced by the caller too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// What the engine needs to run one probe.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub timeout: Duration,
    pub config: Map<String, Value>,
    /// Decrypted: the SNMP community or a database password.
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub latency_ms: Option<f64>,
    pub phase: Option<&'static str>,
    pub message: String,
}

impl Outcome {
    pub fn ok(latency_ms: f64, message: impl Into<String>) -> Outcome {
        Outcome {
            ok: true,
            latency_ms: Some(latency_ms),
            phase: None,
            message: message.into(),
        }
    }

    pub fn fail(
        phase: &'static str,
        latency_ms: Option<f64>,
        message: impl Into<String>,
    ) -> Outcome {
        Outcome {
            ok: false,
            latency_ms,
            phase: Some(phase),
            message: message.into(),
        }
    }
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// HTTP clients shared by every monitor (connection pools), one per redirect/verify mode,
/// all on the outbound TLS trust policy (`crate::tls`).
pub struct Clients {
    clients: [reqwest::Client; 4],
    tls: Arc<crate::tls::Trust>,
}

impl Clients {
    pub fn new(tls: Arc<crate::tls::Trust>) -> anyhow::Result<Clients> {
        let make = |follow: bool, verify: bool| {
            tls.reqwest(verify)
                .redirect(if follow {
                    reqwest::redirect::Policy::limited(10)
                } else {
                    reqwest::redirect::Policy::none()
                })
                .tls_info(true)
                .user_agent(concat!("yunwei-monitor/", env!("CARGO_PKG_VERSION")))
                // Every probe connects afresh (DNS, TCP, TLS), as a user would: a pooled
                // connection would hide a listener that no longer accepts.
                .pool_max_idle_per_host(0)
                .build()
        };
        Ok(Clients {
            clients: [
                make(false, false)?,
                make(false, true)?,
                make(true, false)?,
                make(true, true)?,
            ],
            tls,
        })
    }

    fn get(&self, follow: bool, verify: bool) -> &reqwest::Client {
        &self.clients[usize::from(follow) * 2 + usize::from(verify)]
    }
}

pub async fn run(p: &ProbeSpec, clients: &Clients) -> Outcome {
    let fut = async {
        match p.kind.as_str() {
            "http" => http(p, clients).await,
            "tcp" => tcp(p).await,
            "tls" => tls(p, clients).await,
            "dns" => dns(p).await,
            "icmp" => icmp(p).await,
            "snmp" => snmp(p).await,
            "postgres" => database(p, true, clients).await,
            "mysql" => database(p, false, clients).await,
            other => Outcome::fail("connect", None, format!("不支持的监控类型 {other}")),
        }
    };
    match tokio::time::timeout(p.timeout, fut).await {
        Ok(o) => o,
        Err(_) => Outcome::fail(
            "timeout",
            Some(p.timeout.as_millis() as f64),
            format!("超过 {} 毫秒未完成", p.timeout.as_millis()),
        ),
    }
}

fn cfg_i64(c: &Map<String, Value>, k: &str) -> Option<i64> {
    c.get(k).and_then(Value::as_i64)
}

fn cfg_f64(c: &Map<String, Value>, k: &str) -> Option<f64> {
    c.get(k).and_then(Value::as_f64)
}

fn cfg_str<'a>(c: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    c.get(k).and_then(Value::as_str)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(x) = cur {
        s.push_str(": ");
        s.push_str(&x.to_string());
        cur = x.source();
    }
    s
}

/// "证书已于 N 天前过期" when a TLS handshake was refused because the peer's certificate
/// has expired, found anywhere in the error's chain (through `io::Error` wrappers too).
fn expired_certificate(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rustls::CertificateError as C;
    let mut cur = Some(e);
    while let Some(x) = cur {
        match x.downcast_ref::<rustls::Error>() {
            Some(rustls::Error::InvalidCertificate(C::ExpiredContext { time, not_after })) => {
                let now = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
                let end = i64::try_from(not_after.as_secs()).unwrap_or(0);
                return Some(
                    super::x509::expiry_text(end, now, 0)
                        .err()
                        .unwrap_or_else(|| "证书已过期".to_string()),
                );
            }
            Some(rustls::Error::InvalidCertificate(C::Expired)) => {
                return Some("证书已过期".to_string());
            }
            _ => {}
        }
        // An `io::Error`'s `source` skips the error it wraps: look inside it instead.
        cur = match x
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => x.source(),
        };
    }
    None
}

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

async fn http(p: &ProbeSpec, clients: &Clients) -> Outcome {
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

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, Outcome> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(mut it) => it
            .next()
            .ok_or_else(|| Outcome::fail("dns", None, format!("域名 {host} 没有解析到地址"))),
        Err(e) => Err(Outcome::fail(
            "dns",
            None,
            format!("域名 {host} 解析失败：{e}"),
        )),
    }
}

async fn tcp(p: &ProbeSpec) -> Outcome {
    let (host, port) = match super::spec::split_host_port(&p.target, None) {
        Ok(x) => x,
        Err(e) => return Outcome::fail("connect", None, e),
    };
    let addr = match resolve(&host, port).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let start = Instant::now();
    match tokio::net::TcpStream::connect(addr).await {
        Ok(_) => {
            let l = ms(start);
            if let Some(max) = cfg_i64(&p.config, "max_latency_ms")
                && l > max as f64
            {
                return Outcome::fail(
                    "threshold",
                    Some(l),
                    format!("连接耗时 {l:.1} 毫秒，超过上限 {max} 毫秒"),
                );
            }
            Outcome::ok(l, format!("端口 {port} 可连接"))
        }
        Err(e) => Outcome::fail("connect", Some(ms(start)), format!("连接 {addr} 失败：{e}")),
    }
}

async fn tls(p: &ProbeSpec, clients: &Clients) -> Outcome {
    let (host, port) = match super::spec::split_host_port(&p.target, Some(443)) {
        Ok(x) => x,
        Err(e) => return Outcome::fail("connect", None, e),
    };
    let addr = match resolve(&host, port).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let sni = cfg_str(&p.config, "server_name")
        .unwrap_or(&host)
        .to_string();
    let Ok(name) = rustls::pki_types::ServerName::try_from(sni.clone()) else {
        return Outcome::fail("tls", None, format!("证书域名 {sni} 无效"));
    };
    let verify = p
        .config
        .get("verify")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let start = Instant::now();
    let tcp = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            return Outcome::fail("connect", Some(ms(start)), format!("连接 {addr} 失败：{e}"));
        }
    };
    let connector = tokio_rustls::TlsConnector::from(clients.tls.client_config(verify));
    let stream = match connector.connect(name, tcp).await {
        Ok(s) => s,
        Err(e) => {
            let msg = match expired_certificate(&e) {
                Some(expired) => format!("{expired}，TLS 握手被拒绝"),
                None => format!("TLS 握手失败：{e}"),
            };
            return Outcome::fail("tls", Some(ms(start)), msg);
        }
    };
    let latency = ms(start);
    let (_, conn) = stream.get_ref();
    let certs = conn.peer_certificates().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let mut leaf_after = None;
    let mut first_to_expire: Option<(i64, String)> = None;
    for (i, der) in certs.iter().enumerate() {
        match super::x509::parse_cert(der) {
            Ok(ci) => {
                if i == 0 {
                    leaf_after = Some(ci.not_after);
                }
                if first_to_expire
                    .as_ref()
                    .is_none_or(|(at, _)| ci.not_after < *at)
                {
                    first_to_expire = Some((
                        ci.not_after,
                        ci.subject_cn.unwrap_or_else(|| format!("证书 #{i}")),
                    ));
                }
            }
            Err(e) => return Outcome::fail("tls", Some(latency), format!("证书无法解析：{e}")),
        }
    }
    let (Some(leaf), Some((earliest, who))) = (leaf_after, first_to_expire) else {
        return Outcome::fail("tls", Some(latency), "服务器没有提供证书");
    };
    let warn = cfg_i64(&p.config, "warn_days").unwrap_or(14);
    match super::x509::expiry_text(earliest, now, warn) {
        Err(msg) => Outcome::fail(
            if earliest <= now { "tls" } else { "threshold" },
            Some(latency),
            format!("“{who}”：{msg}"),
        ),
        Ok(_) => Outcome::ok(
            latency,
            format!(
                "证书还有 {} 天到期；证书链最早 {} 天",
                (leaf - now).div_euclid(86_400),
                (earliest - now).div_euclid(86_400)
            ),
        ),
    }
}

fn default_resolver() -> SocketAddr {
    std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter_map(|l| l.trim().strip_prefix("nameserver"))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .next()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 53)))
}

async fn dns(p: &ProbeSpec) -> Outcome {
    let server = match cfg_str(&p.config, "server") {
        Some(s) => match super::spec::split_host_port(s, Some(53)) {
            Ok((h, port)) => match h.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, port),
                Err(_) => return Outcome::fail("dns", None, format!("DNS 服务器 {s} 无效")),
            },
            Err(e) => return Outcome::fail("dns", None, e),
        },
        None => default_resolver(),
    };
    let rt = super::dns::RecordType::parse(cfg_str(&p.config, "record_type").unwrap_or("A"))
        .unwrap_or(super::dns::RecordType::A);
    let start = Instant::now();
    let answers = match super::dns::query(server, &p.target, rt, p.timeout).await {
        Ok(a) => a,
        Err(super::dns::DnsError::Timeout) => {
            return Outcome::fail(
                "timeout",
                Some(ms(start)),
                format!("DNS 服务器 {server} 无响应"),
            );
        }
        Err(e) => return Outcome::fail("dns", Some(ms(start)), e.to_string()),
    };
    let latency = ms(start);
    if answers.is_empty() {
        return Outcome::fail(
            "dns",
            Some(latency),
            format!("{} 没有 {} 记录", p.target, rt.as_str()),
        );
    }
    if let Some(Value::Array(exp)) = p.config.get("expected") {
        let want: Vec<String> = exp
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim_end_matches('.').to_lowercase())
            .collect();
        let got: Vec<String> = answers
            .iter()
            .map(|s| s.trim_end_matches('.').to_lowercase())
            .collect();
        if let Some(missing) = want.iter().find(|w| !got.contains(w)) {
            return Outcome::fail(
                "dns",
                Some(latency),
                format!("解析结果 {} 中没有期望的 {missing}", answers.join("、")),
            );
        }
    }
    if let Some(max) = cfg_i64(&p.config, "max_latency_ms")
        && latency > max as f64
    {
        return Outcome::fail(
            "threshold",
            Some(latency),
            format!("解析耗时 {latency:.1} 毫秒，超过上限 {max} 毫秒"),
        );
    }
    Outcome::ok(latency, answers.join("、"))
}

async fn icmp(p: &ProbeSpec) -> Outcome {
    let addr = match resolve(&p.target, 0).await {
        Ok(a) => a.ip(),
        Err(o) => return o,
    };
    let count = cfg_i64(&p.config, "count").unwrap_or(3).clamp(1, 20) as u32;
    // Spread the packets over the timeout, keeping room for the last reply.
    let each = p.timeout / (count + 1);
    let interval = each.min(Duration::from_secs(1));
    let res = match super::icmp::ping(addr, count, interval, each.max(Duration::from_millis(100)))
        .await
    {
        Ok(r) => r,
        Err(e) => return Outcome::fail("connect", None, format!("{e:?}")),
    };
    let loss = res.loss_percent();
    let avg = res.avg_ms();
    let max_loss = cfg_f64(&p.config, "max_loss_percent").unwrap_or(0.0);
    if res.received == 0 {
        return Outcome::fail(
            "timeout",
            None,
            format!("{addr} 无响应（{} 个包全部丢失）", res.sent),
        );
    }
    if loss > max_loss {
        return Outcome::fail(
            "threshold",
            avg,
            format!("丢包率 {loss:.0}%，超过上限 {max_loss:.0}%"),
        );
    }
    if let (Some(max), Some(worst)) = (cfg_f64(&p.config, "max_rtt_ms"), res.max_ms())
        && worst > max
    {
        return Outcome::fail(
            "threshold",
            avg,
            format!("往返时间 {worst:.1} 毫秒，超过上限 {max:.0} 毫秒"),
        );
    }
    Outcome::ok(
        avg.unwrap_or(0.0),
        format!(
            "{}/{} 个包收到回应，丢包 {loss:.0}%",
            res.received, res.sent
        ),
    )
}

const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
const UPS_BATTERY_STATUS: &str = "1.3.6.1.2.1.33.1.2.1.0";
const UPS_CHARGE: &str = "1.3.6.1.2.1.33.1.2.4.0";
const UPS_OUTPUT_SOURCE: &str = "1.3.6.1.2.1.33.1.4.1.0";
const UPS_LOAD: &str = "1.3.6.1.2.1.33.1.4.4.1.5.1";

async fn snmp(p: &ProbeSpec) -> Outcome {
    use super::snmp::{Oid, SnmpValue};
    let (host, port) = match super::spec::split_host_port(&p.target, Some(161)) {
        Ok(x) => x,
        Err(e) => return Outcome::fail("connect", None, e),
    };
    let addr = match resolve(&host, port).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let credentials = match super::snmp::Credentials::from_config(&p.config, p.secret.as_deref()) {
        Ok(c) => c,
        Err(e) => return Outcome::fail("snmp", None, e),
    };
    let c = &p.config;
    // (oid, check) pairs asked in one GET.
    let mut oids: Vec<Oid> = Vec::new();
    let items: Vec<Map<String, Value>> = match c.get("oids") {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_object().cloned()).collect(),
        _ => vec![],
    };
    for it in &items {
        if let Some(o) = it
            .get("oid")
            .and_then(Value::as_str)
            .and_then(|s| Oid::parse(s).ok())
        {
            oids.push(o);
        }
    }
    let ifs: Vec<i64> = match c.get("if_indexes") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        _ => vec![],
    };
    for i in &ifs {
        if let Ok(o) = Oid::parse(&format!("{IF_OPER_STATUS}.{i}")) {
            oids.push(o);
        }
    }
    let ups = c.get("ups").and_then(Value::as_object).cloned();
    if ups.is_some() {
        for s in [UPS_BATTERY_STATUS, UPS_CHARGE, UPS_OUTPUT_SOURCE, UPS_LOAD] {
            if let Ok(o) = Oid::parse(s) {
                oids.push(o);
            }
        }
    }
    let start = Instant::now();
    let values = match super::snmp::get(addr, &credentials, &oids, p.timeout).await {
        Ok(v) => v,
        Err(super::snmp::SnmpError::Timeout) => {
            return Outcome::fail(
                "timeout",
                Some(ms(start)),
                super::snmp::SnmpError::Timeout.to_string(),
            );
        }
        Err(e) => return Outcome::fail("snmp", Some(ms(start)), e.to_string()),
    };
    let latency = ms(start);
    let lookup = |oid: &str| -> Option<&SnmpValue> {
        let o = Oid::parse(oid).ok()?;
        values.iter().find(|(k, _)| *k == o).map(|(_, v)| v)
    };
    let missing = |v: &SnmpValue| {
        matches!(
            v,
            SnmpValue::NoSuchObject
                | SnmpValue::NoSuchInstance
                | SnmpValue::EndOfMibView
                | SnmpValue::Null
        )
    };
    let mut shown = Vec::new();
    for it in &items {
        let oid = it.get("oid").and_then(Value::as_str).unwrap_or_default();
        let label = it.get("label").and_then(Value::as_str).unwrap_or(oid);
        let Some(v) = lookup(oid) else {
            return Outcome::fail(
                "snmp",
                Some(latency),
                format!("{label}：设备没有返回该 OID"),
            );
        };
        if missing(v) {
            return Outcome::fail(
                "snmp",
                Some(latency),
                format!("{label}（{oid}）：设备上不存在该 OID"),
            );
        }
        let text = v.to_text();
        if let Some(eq) = it.get("equals") {
            let want = match eq {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if text != want {
                return Outcome::fail(
                    "threshold",
                    Some(latency),
                    format!("{label} = {text}，期望 {want}"),
                );
            }
        }
        let num = v.as_f64();
        if let (Some(min), Some(n)) = (it.get("min").and_then(Value::as_f64), num)
            && n < min
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("{label} = {n}，低于下限 {min}"),
            );
        }
        if let (Some(max), Some(n)) = (it.get("max").and_then(Value::as_f64), num)
            && n > max
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("{label} = {n}，超过上限 {max}"),
            );
        }
        shown.push(format!("{label}={text}"));
    }
    for i in &ifs {
        match lookup(&format!("{IF_OPER_STATUS}.{i}")).and_then(SnmpValue::as_f64) {
            Some(1.0) => shown.push(format!("接口{i}=up")),
            Some(s) => {
                return Outcome::fail(
                    "threshold",
                    Some(latency),
                    format!(
                        "接口 {i} 状态为 {}（ifOperStatus={s}）",
                        if s == 2.0 { "down" } else { "异常" }
                    ),
                );
            }
            None => return Outcome::fail("snmp", Some(latency), format!("设备上没有接口 {i}")),
        }
    }
    if let Some(u) = ups {
        let battery = lookup(UPS_BATTERY_STATUS).and_then(SnmpValue::as_f64);
        let charge = lookup(UPS_CHARGE).and_then(SnmpValue::as_f64);
        let source = lookup(UPS_OUTPUT_SOURCE).and_then(SnmpValue::as_f64);
        let load = lookup(UPS_LOAD).and_then(SnmpValue::as_f64);
        if battery.is_none() && charge.is_none() {
            return Outcome::fail("snmp", Some(latency), "设备不支持 UPS-MIB（RFC 1628）");
        }
        if let Some(b) = battery
            && b != 2.0
        {
            let what = match b as i64 {
                3 => "电池电量低",
                4 => "电池耗尽",
                _ => "电池状态未知",
            };
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS {what}（upsBatteryStatus={b}）"),
            );
        }
        if let Some(s) = source
            && s == 5.0
        {
            return Outcome::fail("threshold", Some(latency), "UPS 正由电池供电（市电中断）");
        }
        let min_charge = u
            .get("battery_min_percent")
            .and_then(Value::as_f64)
            .unwrap_or(50.0);
        if let Some(c) = charge
            && c < min_charge
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS 电池剩余 {c}%，低于 {min_charge}%"),
            );
        }
        let max_load = u
            .get("load_max_percent")
            .and_then(Value::as_f64)
            .unwrap_or(80.0);
        if let Some(l) = load
            && l > max_load
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS 负载 {l}%，超过 {max_load}%"),
            );
        }
        shown.push(format!(
            "UPS 电池 {}%，负载 {}%",
            charge.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            load.map(|c| c.to_string()).unwrap_or_else(|| "—".into())
        ));
    }
    Outcome::ok(latency, shown.join("；"))
}

async fn database(p: &ProbeSpec, postgres: bool, clients: &Clients) -> Outcome {
    use sqlx::Connection;
    let start = Instant::now();
    let result: Result<(), (&'static str, String)> = async {
        if postgres {
            let mut opts: sqlx::postgres::PgConnectOptions = p
                .target
                .parse()
                .map_err(|e| ("connect", format!("连接地址无效：{e}")))?;
            if let Some(pw) = &p.secret {
                opts = opts.password(pw);
            }
            // The trust policy's bundle, unless the target names its own CA.
            if let Some(ca) = clients.tls.ca_file()
                && !crate::tls::names_own_ca(&p.target)
            {
                opts = opts.ssl_root_cert(ca);
            }
            let mut conn = sqlx::PgConnection::connect_with(&opts)
                .await
                .map_err(|e| ("connect", format!("连接失败：{e}")))?;
            let _: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| ("query", format!("SELECT 1 失败：{e}")))?;
            let _ = conn.close().await;
        } else {
            let target = p.target.replacen("mariadb://", "mysql://", 1);
            let mut opts: sqlx::mysql::MySqlConnectOptions = target
                .parse()
                .map_err(|e| ("connect", format!("连接地址无效：{e}")))?;
            if let Some(pw) = &p.secret {
                opts = opts.password(pw);
            }
            if let Some(ca) = clients.tls.ca_file()
                && !crate::tls::names_own_ca(&target)
            {
                opts = opts.ssl_ca(ca);
            }
            let mut conn = sqlx::MySqlConnection::connect_with(&opts)
                .await
                .map_err(|e| ("connect", format!("连接失败：{e}")))?;
            let _: i64 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| ("query", format!("SELECT 1 失败：{e}")))?;
            let _ = conn.close().await;
        }
        Ok(())
    }
    .await;
    let l = ms(start);
    match result {
        Ok(()) => {
            if let Some(max) = cfg_i64(&p.config, "max_latency_ms")
                && l > max as f64
            {
                return Outcome::fail(
                    "threshold",
                    Some(l),
                    format!("连接并查询耗时 {l:.1} 毫秒，超过上限 {max} 毫秒"),
                );
            }
            Outcome::ok(l, "连接并执行 SELECT 1 成功")
        }
        Err((phase, msg)) => Outcome::fail(phase, Some(l), msg),
    }
}
