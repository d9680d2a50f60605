//! TLS handshake probe: the certificate chain's earliest expiry.

use std::time::Instant;

use serde_json::Value;

use super::{Clients, Outcome, ProbeSpec, cfg_i64, cfg_str, expired_certificate, ms, resolve};

pub(super) async fn probe(p: &ProbeSpec, clients: &Clients) -> Outcome {
    let (host, port) = match crate::monitor::spec::split_host_port(&p.target, Some(443)) {
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
