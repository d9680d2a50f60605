//! Monitor definitions: kinds, the common fields and each kind's `config`, validated with
//! Chinese messages that say what to fix. Unknown keys are refused.

use serde_json::{Map, Value, json};

use crate::domain::FieldError;

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

struct V<'a> {
    errs: &'a mut Vec<FieldError>,
}

impl V<'_> {
    fn err(&mut self, field: &str, msg: impl Into<String>) {
        self.errs.push(FieldError::new(field, msg));
    }

    fn int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
        range: (i64, i64),
    ) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= range.0 && n <= range.1 => Some(n),
                _ => {
                    self.err(
                        field,
                        format!("{label}应为 {} 到 {} 之间的整数", range.0, range.1),
                    );
                    None
                }
            },
        }
    }

    fn num(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
    ) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() => Some(n),
                _ => {
                    self.err(field, format!("{label}应为数字"));
                    None
                }
            },
        }
    }

    fn text(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
        max: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => {
                match crate::domain::text::check_field(label, s.trim(), max > 200, max) {
                    Ok(()) => Some(s.trim().to_string()),
                    Err(m) => {
                        self.err(field, m);
                        None
                    }
                }
            }
            Some(_) => {
                self.err(field, format!("{label}应为文本"));
                None
            }
        }
    }

    fn boolean(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        label: &str,
    ) -> Option<bool> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(field, format!("{label}应为 true 或 false"));
                None
            }
        }
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
            if let Some(n) = v.int(
                config,
                "max_latency_ms",
                "config.max_latency_ms",
                "最大响应时间（毫秒）",
                (1, 600_000),
            ) {
                out.insert("max_latency_ms".into(), json!(n));
            }
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
            if let Some(n) = v.int(
                config,
                "max_latency_ms",
                "config.max_latency_ms",
                "最大响应时间（毫秒）",
                (1, 600_000),
            ) {
                out.insert("max_latency_ms".into(), json!(n));
            }
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

fn http_config(v: &mut V, c: &Map<String, Value>, out: &mut Map<String, Value>) {
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
    if let Some(n) = v.int(
        c,
        "max_latency_ms",
        "config.max_latency_ms",
        "最大响应时间（毫秒）",
        (1, 600_000),
    ) {
        out.insert("max_latency_ms".into(), json!(n));
    }
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

fn snmp_config(
    v: &mut V,
    c: &Map<String, Value>,
    out: &mut Map<String, Value>,
    secret: &mut Option<String>,
) {
    snmp_security(v, c, out, secret);
    let mut any = false;
    match c.get("oids") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut norm = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let field = format!("config.oids[{i}]");
                let Some(o) = item.as_object() else {
                    v.err(
                        &field,
                        "每项应为对象，如 {\"oid\": \"1.3.6.1.2.1.1.3.0\", \"max\": 90}",
                    );
                    continue;
                };
                for k in o.keys() {
                    if !["oid", "label", "min", "max", "equals"].contains(&k.as_str()) {
                        v.err(
                            &field,
                            format!("不支持的键“{k}”，可用：oid、label、min、max、equals"),
                        );
                    }
                }
                let oid = o.get("oid").and_then(Value::as_str).unwrap_or_default();
                match super::snmp::Oid::parse(oid) {
                    Ok(parsed) => {
                        let mut n = Map::new();
                        n.insert("oid".into(), json!(parsed.to_string()));
                        for k in ["label", "min", "max", "equals"] {
                            if let Some(x) = o.get(k) {
                                let ok = match k {
                                    "label" => x.is_string(),
                                    "equals" => x.is_string() || x.is_number(),
                                    _ => x.as_f64().is_some_and(f64::is_finite),
                                };
                                if ok {
                                    n.insert(k.into(), x.clone());
                                } else {
                                    v.err(&field, format!("{k} 的取值无效"));
                                }
                            }
                        }
                        norm.push(Value::Object(n));
                    }
                    Err(e) => v.err(&field, format!("OID“{oid}”无效：{e}")),
                }
            }
            any |= !norm.is_empty();
            out.insert("oids".into(), Value::Array(norm));
        }
        Some(_) => v.err("config.oids", "oids 应为数组"),
    }
    match c.get("if_indexes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a))
            if a.iter().all(|x| {
                x.as_i64()
                    .is_some_and(|n| (1..=i64::from(u32::MAX)).contains(&n))
            }) =>
        {
            any |= !a.is_empty();
            out.insert("if_indexes".into(), json!(a));
        }
        Some(_) => v.err(
            "config.if_indexes",
            "if_indexes 应为接口编号（ifIndex）数组，如 [1, 2, 24]",
        ),
    }
    match c.get("ups") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            any = true;
            out.insert(
                "ups".into(),
                json!({"battery_min_percent": 50, "load_max_percent": 80}),
            );
        }
        Some(Value::Object(u)) => {
            let mut n = Map::new();
            for (k, x) in u {
                match (k.as_str(), x.as_f64()) {
                    ("battery_min_percent" | "load_max_percent", Some(f))
                        if (0.0..=100.0).contains(&f) =>
                    {
                        n.insert(k.clone(), x.clone());
                    }
                    _ => v.err(
                        "config.ups",
                        format!(
                            "ups.{k} 无效：可用 battery_min_percent、load_max_percent（0–100）"
                        ),
                    ),
                }
            }
            n.entry("battery_min_percent").or_insert(json!(50));
            n.entry("load_max_percent").or_insert(json!(80));
            any = true;
            out.insert("ups".into(), Value::Object(n));
        }
        Some(_) => v.err(
            "config.ups",
            "ups 应为 true 或 {\"battery_min_percent\": 50, \"load_max_percent\": 80}",
        ),
    }
    if !any && !v.errs.iter().any(|e| e.field.starts_with("config.")) {
        v.err(
            "config.oids",
            "SNMP 监控至少要检查一项：oids、if_indexes 或 ups",
        );
    }
}

/// The v3-only keys of an snmp monitor's config.
const SNMP_V3_KEYS: &[&str] = &[
    "username",
    "security_level",
    "auth_protocol",
    "auth_password",
    "priv_protocol",
    "priv_password",
    "context",
];

/// Version and credentials of an snmp monitor: the community for v2c, the USM user for
/// v3. Passwords go to `secret` (never to `out`), untrimmed.
fn snmp_security(
    v: &mut V,
    c: &Map<String, Value>,
    out: &mut Map<String, Value>,
    secret: &mut Option<String>,
) {
    use super::snmp::{AuthProtocol, PrivProtocol, SecurityLevel};
    let present = |k: &str| c.get(k).is_some_and(|x| !x.is_null());
    let version = match c.get("version") {
        None | Some(Value::Null) => Some("2c"),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "2c" | "v2c" => Some("2c"),
            "3" | "v3" => Some("3"),
            _ => None,
        },
        Some(Value::Number(n)) if n.as_i64() == Some(3) => Some("3"),
        Some(_) => None,
    };
    let Some(version) = version else {
        v.err("config.version", "SNMP 版本（version）应为 \"2c\" 或 \"3\"");
        return;
    };
    out.insert("version".into(), json!(version));
    if version == "2c" {
        for k in SNMP_V3_KEYS {
            if present(k) {
                v.err(
                    &format!("config.{k}"),
                    format!("{k} 只用于 SNMPv3：请删除该项，或把 version 设为 \"3\""),
                );
            }
        }
        let community = v
            .text(c, "community", "config.community", "团体名", 100)
            .unwrap_or_else(|| "public".into());
        if community.chars().any(char::is_control) {
            v.err("config.community", "团体名不能含控制字符");
        }
        *secret = Some(community);
        return;
    }
    if present("community") {
        v.err(
            "config.community",
            "SNMPv3 不使用团体名：请删除 community，改填 username、security_level 等 v3 用户配置",
        );
    }
    let limit = super::snmp::MAX_USERNAME_LEN;
    match c.get("username") {
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.trim().len() <= limit
                && !s.chars().any(char::is_control) =>
        {
            out.insert("username".into(), json!(s.trim()));
        }
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().len() > limit => v.err(
            "config.username",
            format!("SNMPv3 用户名（username）不能超过 {limit} 字节"),
        ),
        Some(Value::String(s)) if !s.trim().is_empty() => {
            v.err("config.username", "SNMPv3 用户名（username）不能含控制字符")
        }
        _ => v.err(
            "config.username",
            "请填写 SNMPv3 用户名（username），即设备上 createUser 配置的用户",
        ),
    }
    let level = match c.get("security_level") {
        None | Some(Value::Null) => Some(SecurityLevel::AuthPriv),
        Some(Value::String(s)) => SecurityLevel::parse(s),
        Some(_) => None,
    };
    let Some(level) = level else {
        v.err(
            "config.security_level",
            format!(
                "安全级别（security_level）应为 {}（缺省为 authPriv）",
                SecurityLevel::NAMES
            ),
        );
        return;
    };
    out.insert("security_level".into(), json!(level.name()));
    let mut passwords = Map::new();
    let uses_auth = level != SecurityLevel::NoAuthNoPriv;
    let uses_priv = level == SecurityLevel::AuthPriv;
    for (used, proto_key, pw_key, what) in [
        (uses_auth, "auth_protocol", "auth_password", "认证"),
        (uses_priv, "priv_protocol", "priv_password", "加密"),
    ] {
        if !used {
            for k in [proto_key, pw_key] {
                if present(k) {
                    v.err(
                        &format!("config.{k}"),
                        format!(
                            "安全级别为 {} 时不使用 {k}：请删除该项，或提高安全级别（security_level）",
                            level.name()
                        ),
                    );
                }
            }
            continue;
        }
        let names = if proto_key == "auth_protocol" {
            AuthProtocol::NAMES
        } else {
            PrivProtocol::NAMES
        };
        let name = match c.get(proto_key) {
            Some(Value::String(s)) if proto_key == "auth_protocol" => {
                AuthProtocol::parse(s).map(AuthProtocol::name)
            }
            Some(Value::String(s)) => PrivProtocol::parse(s).map(PrivProtocol::name),
            _ => None,
        };
        match name {
            Some(n) => {
                out.insert(proto_key.into(), json!(n));
            }
            None if present(proto_key) => v.err(
                &format!("config.{proto_key}"),
                format!("{what}协议（{proto_key}）不支持，可用：{names}"),
            ),
            None => v.err(
                &format!("config.{proto_key}"),
                format!(
                    "安全级别为 {} 时请选择{what}协议（{proto_key}）：{names}",
                    level.name()
                ),
            ),
        }
        let (min, max) = (super::snmp::MIN_PASSWORD_LEN, super::snmp::MAX_PASSWORD_LEN);
        let field = format!("config.{pw_key}");
        match c.get(pw_key) {
            Some(Value::String(p)) if p.chars().any(char::is_control) => {
                v.err(&field, format!("{what}密码（{pw_key}）只能含可打印字符"))
            }
            Some(Value::String(p)) if p.chars().count() < min => v.err(
                &field,
                format!("{what}密码（{pw_key}）至少 {min} 个字符（net-snmp 的要求）"),
            ),
            Some(Value::String(p)) if p.chars().count() > max => v.err(
                &field,
                format!("{what}密码（{pw_key}）不能超过 {max} 个字符"),
            ),
            Some(Value::String(p)) => {
                passwords.insert(pw_key.into(), json!(p));
            }
            Some(v2) if !v2.is_null() => v.err(&field, format!("{what}密码（{pw_key}）应为文本")),
            _ => v.err(
                &field,
                format!(
                    "安全级别为 {} 时请填写{what}密码（{pw_key}），至少 {min} 个字符",
                    level.name()
                ),
            ),
        }
    }
    if let Some(ctx) = v.text(c, "context", "config.context", "上下文（context）", 32) {
        if ctx.len() > super::snmp::MAX_CONTEXT_LEN || ctx.chars().any(char::is_control) {
            v.err(
                "config.context",
                "上下文（context）不能超过 32 字节，且不能含控制字符",
            );
        } else {
            out.insert("context".into(), json!(ctx));
        }
    }
    *secret = (!passwords.is_empty()).then(|| Value::Object(passwords).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
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

    fn snmp(config: Value) -> Result<MonitorDef, Vec<FieldError>> {
        let mut c = config;
        c["oids"] = json!([{"oid": "1.3.6.1.2.1.1.3.0"}]);
        validate(&obj(
            json!({"name": "交换机", "kind": "snmp", "target": "10.0.0.2", "config": c}),
        ))
    }

    #[test]
    fn snmp_v3_passwords_go_to_the_secret_and_protocols_are_normalised() {
        let d = snmp(
            json!({"version": "3", "username": "monitor", "security_level": "authpriv",
            "auth_protocol": "sha256", "auth_password": " auth pass ", "priv_protocol": "aes",
            "priv_password": "priv-pass-1", "context": "vlan1"}),
        )
        .unwrap();
        assert_eq!(d.config["version"], "3");
        assert_eq!(d.config["security_level"], "authPriv");
        assert_eq!(d.config["auth_protocol"], "SHA-256");
        assert_eq!(d.config["priv_protocol"], "AES");
        assert_eq!(d.config["context"], "vlan1");
        let text = Value::Object(d.config.clone()).to_string();
        assert!(
            !text.contains("auth pass") && !text.contains("priv-pass-1"),
            "{text}"
        );
        let secret: Value = serde_json::from_str(d.secret.as_deref().unwrap()).unwrap();
        assert_eq!(
            secret,
            json!({"auth_password": " auth pass ", "priv_password": "priv-pass-1"}),
            "passwords are kept as typed, spaces included"
        );
        // authNoPriv keeps only the authentication password; noAuthNoPriv none.
        let d = snmp(
            json!({"version": 3, "username": "monitor", "security_level": "authNoPriv",
            "auth_protocol": "SHA", "auth_password": "auth-pass-1"}),
        )
        .unwrap();
        assert_eq!(
            d.secret.as_deref(),
            Some(r#"{"auth_password":"auth-pass-1"}"#)
        );
        let d =
            snmp(json!({"version": "3", "username": "monitor", "security_level": "noAuthNoPriv"}))
                .unwrap();
        assert_eq!(d.secret, None);
        // v2c stays the default, with the community as its secret.
        let d = snmp(json!({"community": "c0m"})).unwrap();
        assert_eq!(
            (d.config["version"].clone(), d.secret.as_deref()),
            (json!("2c"), Some("c0m"))
        );
    }

    #[test]
    fn snmp_v3_mistakes_name_the_field_in_chinese() {
        let base = || {
            json!({"version": "3", "username": "monitor", "security_level": "authPriv",
            "auth_protocol": "SHA", "auth_password": "auth-pass-1", "priv_protocol": "AES",
            "priv_password": "priv-pass-1"})
        };
        assert!(snmp(base()).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = base();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = base();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        let cases = [
            (with("version", json!("2")), "config.version", "2c"),
            (without("username"), "config.username", "用户名"),
            (
                with("username", json!("x".repeat(33))),
                "config.username",
                "32",
            ),
            (
                with("security_level", json!("priv")),
                "config.security_level",
                "authPriv",
            ),
            (
                with("auth_protocol", json!("SHA-3")),
                "config.auth_protocol",
                "SHA-256",
            ),
            (without("auth_protocol"), "config.auth_protocol", "认证协议"),
            (
                with("auth_password", json!("short")),
                "config.auth_password",
                "至少 8 个字符",
            ),
            (without("auth_password"), "config.auth_password", "认证密码"),
            (
                with("auth_password", json!("auth\u{10}pass-1")),
                "config.auth_password",
                "可打印",
            ),
            (
                with("priv_protocol", json!("3DES")),
                "config.priv_protocol",
                "AES-256",
            ),
            (without("priv_password"), "config.priv_password", "加密密码"),
            (
                with("priv_password", json!("1234567")),
                "config.priv_password",
                "至少 8 个字符",
            ),
            (
                with("community", json!("public")),
                "config.community",
                "不使用团体名",
            ),
            (
                with("context", json!("c".repeat(40))),
                "config.context",
                "32",
            ),
            (
                with("security_level", json!("authNoPriv")),
                "config.priv_protocol",
                "不使用",
            ),
        ];
        for (config, field, needle) in cases {
            let e = snmp(config.clone()).unwrap_err();
            assert!(
                e.iter()
                    .any(|e| e.field == field && e.message.contains(needle)),
                "{config}: {e:?}"
            );
        }
        // v3 keys on a v2c monitor.
        let e = snmp(json!({"community": "public", "username": "monitor"})).unwrap_err();
        assert!(
            e.iter()
                .any(|e| e.field == "config.username" && e.message.contains("SNMPv3")),
            "{e:?}"
        );
    }

    #[test]
    fn database_passwords_leave_the_target() {
        let d = validate(&obj(json!({"name": "库", "kind": "postgres", "target": "postgres://mon:s3cret@10.0.0.5:5432/app"}))).unwrap();
        assert_eq!(d.target, "postgres://mon@10.0.0.5:5432/app");
        assert_eq!(d.secret.as_deref(), Some("s3cret"));
    }
}
