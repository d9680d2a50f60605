//! Monitor definitions: kinds, the common fields and each kind's `config`, validated with
//! Chinese messages that say what to fix. Unknown keys are refused.

use serde_json::{Map, Value, json};

use crate::domain::FieldError;

mod fields;
mod http;
mod snmp;

use fields::V;
use http::http_config;
use snmp::snmp_config;

pub const KINDS: &[(&str, &str)] = &[
    ("http", "HTTP(S)"),
    ("tcp", "TCP 端口"),
    ("icmp", "ICMP (ping)"),
    ("dns", "DNS 解析"),
    ("tls", "TLS 证书"),
    ("snmp", "SNMP"),
    ("postgres", "PostgreSQL"),
    ("mysql", "MySQL"),
    ("heartbeat", "心跳（推送）"),
];

pub const STATES: &[(&str, &str)] = &[
    ("pending", "待定"),
    ("up", "正常"),
    ("down", "故障"),
    ("unreachable", "不可达（上游故障）"),
    ("flapping", "抖动"),
    ("maintenance", "维护中"),
    ("paused", "已暂停"),
];

pub const PHASES: &[(&str, &str)] = &[
    ("dns", "域名解析"),
    ("connect", "建立连接"),
    ("tls", "TLS 握手/证书"),
    ("http_status", "HTTP 状态码"),
    ("body_match", "内容匹配"),
    ("timeout", "超时"),
    ("snmp", "SNMP"),
    ("threshold", "超过阈值"),
    ("query", "数据库查询"),
    ("heartbeat", "心跳"),
];

pub fn label(table: &[(&str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

pub(crate) const COMMON_KEYS: &[&str] = &[
    "name",
    "kind",
    "target",
    "interval_s",
    "timeout_ms",
    "failures_before_down",
    "successes_before_up",
    "system_id",
    "asset_id",
    "depends_on",
    "priority",
    "paused",
    "auto_resolve",
    "config",
];

fn config_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "http" => &[
            "method",
            "headers",
            "body",
            "expected_status",
            "keyword",
            "keyword_regex",
            "max_latency_ms",
            "follow_redirects",
            "verify_tls",
            "cert_expiry_warn_days",
        ],
        "tcp" => &["max_latency_ms"],
        "icmp" => &["count", "max_loss_percent", "max_rtt_ms"],
        "dns" => &["server", "record_type", "expected", "max_latency_ms"],
        "tls" => &["server_name", "warn_days", "verify"],
        "snmp" => &[
            "version",
            "community",
            "username",
            "security_level",
            "auth_protocol",
            "auth_password",
            "priv_protocol",
            "priv_password",
            "context",
            "oids",
            "if_indexes",
            "ups",
        ],
        "postgres" | "mysql" => &["max_latency_ms"],
        "heartbeat" => &["period_s", "schedule", "grace_s"],
        _ => &[],
    }
}

/// A validated monitor definition.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorDef {
    pub name: String,
    pub kind: String,
    /// What is shown and stored in clear (a database URL without its password).
    pub target: String,
    pub interval_s: i64,
    pub timeout_ms: i64,
    pub failures_before_down: i64,
    pub successes_before_up: i64,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub depends_on: Option<i64>,
    pub priority: String,
    pub paused: bool,
    /// Resolve the alert's ticket when the target recovers (with a fault report drawn
    /// from what monitoring saw, for the engineer to complete).
    pub auto_resolve: bool,
    /// Normalised, with defaults filled in; secrets removed.
    pub config: Map<String, Value>,
    /// What must be stored encrypted: the SNMP community, the SNMPv3 passwords (a JSON
    /// object, see `snmp::SECRET_KEYS`), a database password.
    pub secret: Option<String>,
}

/// The optional `max_latency_ms` of a kind that times its answer.
fn max_latency(v: &mut V, c: &Map<String, Value>, out: &mut Map<String, Value>) {
    if let Some(n) = v.int(
        c,
        "max_latency_ms",
        "config.max_latency_ms",
        "最大响应时间（毫秒）",
        (1, 600_000),
    ) {
        out.insert("max_latency_ms".into(), json!(n));
    }
}

/// `host:port` with a port, or `host` with the default port.
pub fn split_host_port(s: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("请填写主机地址".into());
    }
    // [v6]:port
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "IPv6 地址应写成 [地址]:端口".to_string())?;
        let port = match after.strip_prefix(':') {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("端口“{p}”无效，应为 1–65535"))?,
            None if after.is_empty() => default_port.ok_or("请填写端口，如 host:443")?,
            None => return Err("IPv6 地址应写成 [地址]:端口".into()),
        };
        return Ok((host.to_string(), port));
    }
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return match default_port {
            Some(p) => Ok((s.to_string(), p)),
            None => Err("IPv6 地址应写成 [地址]:端口".into()),
        };
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("端口“{p}”无效，应为 1–65535"))?,
        ),
        None => (s, default_port.ok_or("请填写端口，如 10.0.0.5:3306")?),
    };
    if host.is_empty()
        || host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(format!("主机“{host}”无效：应为 IP 地址或域名"));
    }
    Ok((host.to_string(), port))
}

/// Validates `obj` (a whole definition; for a change, the stored one with the patch
/// applied). `token_known` tells a heartbeat whether it already has a token.
pub fn validate(obj: &Map<String, Value>) -> Result<MonitorDef, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut v = V { errs: &mut errs };
    for k in obj.keys() {
        if !COMMON_KEYS.contains(&k.as_str()) {
            v.err(k, format!("未知字段“{k}”，请删除该字段"));
        }
    }
    let name = v.text(obj, "name", "name", "名称", 100);
    if name.is_none() && !v.errs.iter().any(|e| e.field == "name") {
        v.err("name", "请填写监控名称");
    }
    let kind = match obj.get("kind") {
        Some(Value::String(k)) if KINDS.iter().any(|(c, _)| c == k) => Some(k.clone()),
        Some(Value::String(k)) => {
            let list: Vec<&str> = KINDS.iter().map(|(c, _)| *c).collect();
            v.err(
                "kind",
                format!("不支持的监控类型“{k}”，可选：{}", list.join("、")),
            );
            None
        }
        Some(_) => {
            v.err("kind", "监控类型应为文本");
            None
        }
        None => {
            v.err("kind", "请选择监控类型");
            None
        }
    };
    let interval_s = v
        .int(
            obj,
            "interval_s",
            "interval_s",
            "检测间隔（秒）",
            (1, 86_400),
        )
        .unwrap_or(60);
    let timeout_ms = v.int(
        obj,
        "timeout_ms",
        "timeout_ms",
        "超时（毫秒）",
        (100, 600_000),
    );
    let default_timeout = (interval_s * 800).clamp(100, 10_000);
    let timeout_ms = timeout_ms.unwrap_or(default_timeout);
    if timeout_ms >= interval_s * 1000 && !v.errs.iter().any(|e| e.field == "interval_s") {
        v.err(
            "timeout_ms",
            format!("超时（{timeout_ms} 毫秒）须小于检测间隔（{interval_s} 秒），否则检测会重叠"),
        );
    }
    let failures_before_down = v
        .int(
            obj,
            "failures_before_down",
            "failures_before_down",
            "连续失败次数",
            (1, 100),
        )
        .unwrap_or(3);
    let successes_before_up = v
        .int(
            obj,
            "successes_before_up",
            "successes_before_up",
            "连续成功次数",
            (1, 100),
        )
        .unwrap_or(1);
    let mut id = |key: &str, label: &str| match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(x) => match x.as_i64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                v.err(key, format!("{label}应为正整数编号"));
                None
            }
        },
    };
    let system_id = id("system_id", "系统");
    let asset_id = id("asset_id", "设备");
    let depends_on = id("depends_on", "上游监控");
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => "P2".to_string(),
        Some(Value::String(p)) if ["P1", "P2", "P3", "P4"].contains(&p.as_str()) => p.clone(),
        Some(_) => {
            v.err("priority", "优先级应为 P1、P2、P3 或 P4");
            "P2".into()
        }
    };
    let paused = v.boolean(obj, "paused", "paused", "暂停").unwrap_or(false);
    let auto_resolve = v
        .boolean(obj, "auto_resolve", "auto_resolve", "恢复后自动解决工单")
        .unwrap_or(false);
    let target_raw = v.text(obj, "target", "target", "监控目标", 2000);
    let empty = Map::new();
    let config = match obj.get("config") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            v.err("config", "config 应为对象，如 {\"keyword\": \"欢迎\"}");
            &empty
        }
    };
    let Some(kind) = kind else {
        return Err(errs);
    };
    for k in config.keys() {
        if !config_keys(&kind).contains(&k.as_str()) {
            let allowed = config_keys(&kind).join("、");
            v.err(
                &format!("config.{k}"),
                format!("{kind} 监控不支持配置项“{k}”，可用：{allowed}"),
            );
        }
    }
    let mut out = Map::new();
    let mut secret = None;
    let mut target = target_raw.clone().unwrap_or_default();
    let need_target = kind != "heartbeat";
    if need_target && target_raw.is_none() && !v.errs.iter().any(|e| e.field == "target") {
        v.err("target", "请填写监控目标");
    }
    if let Some(t) = &target_raw {
        match kind.as_str() {
            "http" => match reqwest::Url::parse(t) {
                Ok(u) if ["http", "https"].contains(&u.scheme()) && u.host_str().is_some() => {}
                _ => v.err(
                    "target",
                    "HTTP 监控的目标应为完整网址，如 https://www.example.gov.cn/",
                ),
            },
            "tcp" => {
                if let Err(e) = split_host_port(t, None) {
                    v.err("target", format!("TCP 目标应为 主机:端口。{e}"));
                }
            }
            "tls" => {
                if let Err(e) = split_host_port(t, Some(443)) {
                    v.err("target", format!("TLS 目标应为 主机[:端口]。{e}"));
                }
            }
            "snmp" => {
                if let Err(e) = split_host_port(t, Some(161)) {
                    v.err("target", format!("SNMP 目标应为 主机[:端口]。{e}"));
                }
            }
            "icmp" => {
                if let Err(e) = split_host_port(t, Some(0)) {
                    v.err("target", format!("ICMP 目标应为 IP 地址或域名。{e}"));
                }
            }
            "dns" if (t.len() > 253 || t.split('.').any(|l| l.is_empty() || l.len() > 63)) => {
                v.err("target", "DNS 目标应为要解析的域名，如 www.example.gov.cn");
            }
            "postgres" | "mysql" => {
                let scheme_ok = if kind == "postgres" {
                    t.starts_with("postgres://") || t.starts_with("postgresql://")
                } else {
                    t.starts_with("mysql://") || t.starts_with("mariadb://")
                };
                match reqwest::Url::parse(t) {
                    Ok(u) if scheme_ok && u.host_str().is_some() => {
                        if let Some(pw) = u.password() {
                            secret = Some(pw.to_string());
                            let mut shown = u.clone();
                            let _ = shown.set_password(None);
                            target = shown.to_string();
                        }
                    }
                    _ => v.err(
                        "target",
                        format!(
                            "{kind} 监控的目标应为连接地址，如 {}://用户:密码@10.0.0.5:{}/库名",
                            kind,
                            if kind == "postgres" { 5432 } else { 3306 }
                        ),
                    ),
                }
            }
            _ => {}
        }
    }
    match kind.as_str() {
        "http" => http_config(&mut v, config, &mut out),
        "tcp" | "postgres" | "mysql" => {
            max_latency(&mut v, config, &mut out);
        }
        "icmp" => {
            let count = v
                .int(config, "count", "config.count", "探测包数", (1, 20))
                .unwrap_or(3);
            out.insert("count".into(), json!(count));
            let loss = v
                .num(
                    config,
                    "max_loss_percent",
                    "config.max_loss_percent",
                    "最大丢包率",
                )
                .unwrap_or(0.0);
            if !(0.0..=100.0).contains(&loss) {
                v.err("config.max_loss_percent", "最大丢包率应在 0 到 100 之间");
            }
            out.insert("max_loss_percent".into(), json!(loss));
            if let Some(r) = v.num(config, "max_rtt_ms", "config.max_rtt_ms", "最大往返时间")
            {
                out.insert("max_rtt_ms".into(), json!(r));
            }
            // Each packet needs time: count × 1 s must fit in the timeout.
            if count * 200 > timeout_ms {
                v.err(
                    "config.count",
                    format!(
                        "{count} 个探测包在 {timeout_ms} 毫秒超时内发不完，请减少包数或加大超时"
                    ),
                );
            }
        }
        "dns" => {
            if let Some(s) = v.text(config, "server", "config.server", "DNS 服务器", 100) {
                match split_host_port(&s, Some(53)) {
                    Ok((h, _)) if h.parse::<std::net::IpAddr>().is_ok() => {
                        out.insert("server".into(), json!(s));
                    }
                    _ => v.err(
                        "config.server",
                        "DNS 服务器应为 IP 地址（可带端口），如 10.0.0.53 或 10.0.0.53:5353",
                    ),
                }
            }
            let rt = v
                .text(config, "record_type", "config.record_type", "记录类型", 10)
                .unwrap_or_else(|| "A".into())
                .to_ascii_uppercase();
            if super::dns::RecordType::parse(&rt).is_none() {
                v.err(
                    "config.record_type",
                    "记录类型应为 A、AAAA、CNAME、MX、TXT、NS、PTR、SOA 或 SRV",
                );
            }
            out.insert("record_type".into(), json!(rt));
            match config.get("expected") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    out.insert("expected".into(), json!([s]));
                }
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                    out.insert("expected".into(), json!(a));
                }
                Some(_) => v.err(
                    "config.expected",
                    "期望的解析结果应为文本或文本数组，如 [\"10.0.0.5\"]",
                ),
            }
            max_latency(&mut v, config, &mut out);
        }
        "tls" => {
            if let Some(s) = v.text(config, "server_name", "config.server_name", "证书域名", 253)
            {
                out.insert("server_name".into(), json!(s));
            }
            let w = v
                .int(
                    config,
                    "warn_days",
                    "config.warn_days",
                    "到期预警天数",
                    (0, 3650),
                )
                .unwrap_or(14);
            out.insert("warn_days".into(), json!(w));
            let verify = v
                .boolean(config, "verify", "config.verify", "校验证书链")
                .unwrap_or(true);
            out.insert("verify".into(), json!(verify));
        }
        "snmp" => snmp_config(&mut v, config, &mut out, &mut secret),
        "heartbeat" => {
            let period = v.int(
                config,
                "period_s",
                "config.period_s",
                "周期（秒）",
                (10, 31 * 86_400),
            );
            let schedule = v.text(config, "schedule", "config.schedule", "计划（cron）", 100);
            match (&period, &schedule) {
                (Some(_), Some(_)) => v.err(
                    "config.schedule",
                    "周期（period_s）和计划（schedule）只能填一个",
                ),
                (None, None) => v.err(
                    "config.period_s",
                    "请填写周期 period_s（秒），或 cron 计划 schedule，如 \"0 2 * * *\"",
                ),
                _ => {}
            }
            if let Some(p) = period {
                out.insert("period_s".into(), json!(p));
            }
            if let Some(s) = &schedule {
                match super::cron::Cron::parse(s) {
                    Ok(c) if c.next_after(chrono::Utc::now()).is_none() => v.err(
                        "config.schedule",
                        "cron 计划在今后几年内都不会触发（如 2 月 31 日），请检查日和月",
                    ),
                    Ok(_) => {
                        out.insert("schedule".into(), json!(s));
                    }
                    Err(e) => v.err("config.schedule", format!("cron 计划无效：{e}")),
                }
            }
            let grace = v
                .int(
                    config,
                    "grace_s",
                    "config.grace_s",
                    "宽限（秒）",
                    (0, 7 * 86_400),
                )
                .unwrap_or(300);
            out.insert("grace_s".into(), json!(grace));
            if target_raw.is_some() {
                v.err("target", "心跳监控不需要目标：由任务调用推送地址");
            }
        }
        _ => {}
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(MonitorDef {
        name: name.unwrap_or_default(),
        kind,
        target,
        interval_s,
        timeout_ms,
        failures_before_down,
        successes_before_up,
        system_id,
        asset_id,
        depends_on,
        priority,
        paused,
        auto_resolve,
        config: out,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_fill_in_and_timeout_stays_below_the_interval() {
        let d = validate(&obj(
            json!({"name": "门户", "kind": "http", "target": "https://www.gd.gov.cn/"}),
        ))
        .unwrap();
        assert_eq!(
            (d.interval_s, d.timeout_ms, d.failures_before_down),
            (60, 10_000, 3)
        );
        assert_eq!(d.config["method"], "GET");
        let d = validate(&obj(
            json!({"name": "x", "kind": "tcp", "target": "10.0.0.5:22", "interval_s": 1}),
        ))
        .unwrap();
        assert_eq!(d.timeout_ms, 800);
        let e = validate(&obj(json!({"name": "x", "kind": "tcp", "target": "10.0.0.5:22", "interval_s": 5, "timeout_ms": 5000}))).unwrap_err();
        assert_eq!(e[0].field, "timeout_ms");
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let cases = [
            (json!({"name": "x", "kind": "smtp", "target": "a"}), "kind"),
            (
                json!({"name": "x", "kind": "http", "target": "ftp://a"}),
                "target",
            ),
            (
                json!({"name": "x", "kind": "http", "target": "http://a", "config": {"keyword_regex": "(("}}),
                "config.keyword_regex",
            ),
            (
                json!({"name": "x", "kind": "http", "target": "http://a", "config": {"colour": 1}}),
                "config.colour",
            ),
            (
                json!({"name": "x", "kind": "tcp", "target": "a:99999"}),
                "target",
            ),
            (
                json!({"name": "x", "kind": "tcp", "target": "a:1", "interval_s": 0}),
                "interval_s",
            ),
            (
                json!({"name": "x", "kind": "snmp", "target": "a", "config": {"oids": [{"oid": "1.3.6.x"}]}}),
                "config.oids[0]",
            ),
            (json!({"name": "x", "kind": "heartbeat"}), "config.period_s"),
            (
                json!({"name": "x", "kind": "heartbeat", "config": {"schedule": "61 * * * *"}}),
                "config.schedule",
            ),
            (json!({"kind": "tcp", "target": "a:1"}), "name"),
        ];
        for (input, field) in cases {
            let e = validate(&obj(input.clone())).unwrap_err();
            assert!(e.iter().any(|e| e.field == field), "{input}: {e:?}");
        }
    }

    #[test]
    fn database_passwords_leave_the_target() {
        let d = validate(&obj(json!({"name": "库", "kind": "postgres", "target": "postgres://mon:s3cret@10.0.0.5:5432/app"}))).unwrap();
        assert_eq!(d.target, "postgres://mon@10.0.0.5:5432/app");
        assert_eq!(d.secret.as_deref(), Some("s3cret"));
    }
}
