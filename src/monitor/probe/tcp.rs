//! TCP connect probe.

use std::time::Instant;

use super::{Outcome, ProbeSpec, cfg_i64, ms, resolve};

pub(super) async fn probe(p: &ProbeSpec) -> Outcome {
    let (host, port) = match crate::monitor::spec::split_host_port(&p.target, None) {
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
