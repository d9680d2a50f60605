//! The probes: one module per protocol, each answering ok or a structured failure phase
//! with a Chinese message, and the latency. Timeouts are enforced by the caller too.
//! Shared here: the probe's input and outcome, the HTTP/TLS clients, config readers,
//! error-chain text and name resolution.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

mod db;
pub mod dns;
mod http;
pub mod icmp;
mod snmp;
mod tcp;
mod tls;
pub mod x509;

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
            "http" => http::probe(p, clients).await,
            "tcp" => tcp::probe(p).await,
            "tls" => tls::probe(p, clients).await,
            "dns" => dns::probe(p).await,
            "icmp" => icmp::probe(p).await,
            "snmp" => snmp::probe(p).await,
            "postgres" => db::probe(p, true, clients).await,
            "mysql" => db::probe(p, false, clients).await,
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
                    x509::expiry_text(end, now, 0)
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
