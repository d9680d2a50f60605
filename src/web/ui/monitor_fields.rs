//! The monitor form's fields per probe kind, and the turning of a submitted form into the
//! API's monitor object (`name`, `kind`, …, `config`). Pure: no I/O, unit-tested.
//!
//! Each kind's fields are named `<kind>.<config key>` so that the form works without
//! JavaScript (every kind's fieldset is shown, only the chosen kind's is read); with
//! JavaScript the other kinds' fieldsets are hidden and disabled. The advanced JSON box
//! (`config`) is read first and the fields override its keys, so API users' settings that
//! have no field (an SNMP OID's `equals`, UPS thresholds) can still be given.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::domain::FieldError;

/// How a field is entered and turned into JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Input {
    Text,
    Password,
    /// An integer or a decimal number.
    Number,
    /// 是 / 否 / 默认.
    Bool,
    Choice(&'static [&'static str]),
    /// Free text over several lines.
    Area,
    /// Texts separated by commas or new lines (→ an array of strings).
    List,
    /// Integers separated by commas or spaces (→ an array of integers).
    IntList,
    /// `名称: 值`, one a line (→ an object).
    Headers,
    /// `OID, 名称, 下限, 上限`, one a line (→ `oids`).
    Oids,
    /// A part of a database connection address (host, port, user, password, database):
    /// composes `target`, never goes to `config`.
    Db,
}

/// One field of a kind's fieldset.
#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub placeholder: &'static str,
}

const fn f(
    key: &'static str,
    label: &'static str,
    input: Input,
    placeholder: &'static str,
) -> Field {
    Field {
        key,
        label,
        input,
        placeholder,
    }
}

const LATENCY: Field = f(
    "max_latency_ms",
    "最大响应时间（毫秒）",
    Input::Number,
    "超过算失败，不填不限",
);

const HTTP: &[Field] = &[
    f(
        "method",
        "请求方法",
        Input::Choice(&["GET", "HEAD", "POST", "PUT", "OPTIONS"]),
        "",
    ),
    f(
        "expected_status",
        "期望状态码",
        Input::IntList,
        "如 200, 301；不填为 2xx/3xx",
    ),
    f("keyword", "页面应包含的关键字", Input::Text, "如 欢迎"),
    f("keyword_regex", "页面应匹配的正则表达式", Input::Text, ""),
    f(
        "headers",
        "请求头",
        Input::Headers,
        "每行一个，如 X-Token: abc",
    ),
    f("body", "请求体", Input::Area, "POST/PUT 时发送"),
    LATENCY,
    f("follow_redirects", "跟随重定向", Input::Bool, ""),
    f("verify_tls", "校验 HTTPS 证书", Input::Bool, ""),
    f(
        "cert_expiry_warn_days",
        "证书到期预警（天）",
        Input::Number,
        "默认 14",
    ),
];
const TCP: &[Field] = &[LATENCY];
const ICMP: &[Field] = &[
    f("count", "探测包数", Input::Number, "默认 3"),
    f(
        "max_loss_percent",
        "最大丢包率（%）",
        Input::Number,
        "默认 0",
    ),
    f(
        "max_rtt_ms",
        "最大往返时间（毫秒）",
        Input::Number,
        "不填不限",
    ),
];
const DNS: &[Field] = &[
    f(
        "server",
        "DNS 服务器",
        Input::Text,
        "如 10.0.0.53；不填用本机设置",
    ),
    f(
        "record_type",
        "记录类型",
        Input::Choice(&["A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR", "SOA", "SRV"]),
        "",
    ),
    f(
        "expected",
        "期望的解析结果",
        Input::List,
        "如 10.0.0.5，多个用逗号分隔",
    ),
    LATENCY,
];
const TLS: &[Field] = &[
    f(
        "server_name",
        "证书域名（SNI）",
        Input::Text,
        "不填用目标主机名",
    ),
    f("warn_days", "到期预警（天）", Input::Number, "默认 14"),
    f("verify", "校验证书链", Input::Bool, ""),
];
const SNMP: &[Field] = &[
    f("version", "SNMP 版本", Input::Choice(&["2c", "3"]), ""),
    f("community", "团体名（v2c）", Input::Password, "默认 public"),
    f("username", "用户名（v3）", Input::Text, ""),
    f(
        "security_level",
        "安全级别（v3）",
        Input::Choice(&["noAuthNoPriv", "authNoPriv", "authPriv"]),
        "",
    ),
    f(
        "auth_protocol",
        "认证协议（v3）",
        Input::Choice(&["SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "MD5"]),
        "",
    ),
    f(
        "auth_password",
        "认证密码（v3）",
        Input::Password,
        "至少 8 个字符",
    ),
    f(
        "priv_protocol",
        "加密协议（v3）",
        Input::Choice(&["AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C", "DES"]),
        "",
    ),
    f(
        "priv_password",
        "加密密码（v3）",
        Input::Password,
        "至少 8 个字符",
    ),
    f("context", "上下文（v3）", Input::Text, ""),
    f(
        "oids",
        "检查的 OID",
        Input::Oids,
        "每行一个：OID, 名称, 下限, 上限",
    ),
    f(
        "if_indexes",
        "检查的接口编号（ifIndex）",
        Input::IntList,
        "如 1, 2, 24",
    ),
    f("ups", "检查 UPS（UPS-MIB）", Input::Bool, ""),
];
const DATABASE: &[Field] = &[
    f("host", "数据库主机", Input::Db, "如 10.0.0.5"),
    f("port", "端口", Input::Db, "默认端口可不填"),
    f("user", "用户名", Input::Db, ""),
    f("password", "密码", Input::Db, "加密保存"),
    f("database", "库名", Input::Db, ""),
    LATENCY,
];
const HEARTBEAT: &[Field] = &[
    f(
        "period_s",
        "周期（秒）",
        Input::Number,
        "如 86400；与计划二选一",
    ),
    f("schedule", "计划（cron）", Input::Text, "如 0 2 * * *"),
    f("grace_s", "宽限（秒）", Input::Number, "默认 300"),
];

/// The fields of a kind (`spec::KINDS`).
pub(super) fn fields(kind: &str) -> &'static [Field] {
    match kind {
        "http" => HTTP,
        "tcp" => TCP,
        "icmp" => ICMP,
        "dns" => DNS,
        "tls" => TLS,
        "snmp" => SNMP,
        "postgres" | "mysql" => DATABASE,
        "heartbeat" => HEARTBEAT,
        _ => &[],
    }
}

/// What the target field asks for, per kind.
pub(super) fn target_hint(kind: &str) -> &'static str {
    match kind {
        "http" => "完整网址，如 https://www.example.gov.cn/",
        "tcp" => "主机:端口，如 10.0.0.5:22",
        "icmp" => "IP 地址或域名",
        "dns" => "要解析的域名，如 www.example.gov.cn",
        "tls" => "主机[:端口]，如 www.example.gov.cn:443",
        "snmp" => "设备地址[:端口]，如 10.0.0.1:161",
        "postgres" => "postgres://用户:密码@主机:5432/库名，或填下方各项",
        "mysql" => "mysql://用户:密码@主机:3306/库名，或填下方各项",
        "heartbeat" => "心跳不填目标：由任务调用推送地址",
        _ => "",
    }
}

/// The SNMP version a field is for (`2c` or `3`), so the form shows only that
/// version's credentials; `None` for every other field.
fn snmp_version_of(kind: &str, key: &str) -> Option<&'static str> {
    match (kind, key) {
        ("snmp", "community") => Some("2c"),
        (
            "snmp",
            "username" | "security_level" | "auth_protocol" | "auth_password" | "priv_protocol"
            | "priv_password" | "context",
        ) => Some("3"),
        _ => None,
    }
}

/// Keys whose value is never shown back in the form.
fn is_secret(kind: &str, key: &str) -> bool {
    matches!(
        (kind, key),
        ("snmp", "community" | "auth_password" | "priv_password")
            | ("postgres" | "mysql", "password")
    )
}

const COMMON_INT: &[&str] = &[
    "interval_s",
    "timeout_ms",
    "failures_before_down",
    "successes_before_up",
    "system_id",
    "depends_on",
];

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', '\n', ';', '；'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn number(s: &str) -> Option<Value> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(json!(n));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| json!(f))
}

/// One field's value as JSON, or the message saying what to fix.
fn convert(field: &Field, raw: &str) -> Result<Value, String> {
    let v = raw.trim();
    match field.input {
        Input::Text | Input::Area | Input::Choice(_) | Input::Db => Ok(json!(v)),
        // Passwords are kept as typed (spaces may be part of them).
        Input::Password => Ok(json!(raw)),
        Input::Number => number(v).ok_or_else(|| format!("“{v}”不是数字，请填写数字")),
        Input::Bool => match v {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err("请选择“是”或“否”".into()),
        },
        Input::List => Ok(json!(split_list(v))),
        Input::IntList => {
            let mut out = Vec::new();
            for p in v
                .split([',', '，', ' ', '\n', ';', '；'])
                .filter(|p| !p.trim().is_empty())
            {
                match p.trim().parse::<i64>() {
                    Ok(n) => out.push(n),
                    Err(_) => return Err(format!("“{}”不是整数，多个整数用逗号分隔", p.trim())),
                }
            }
            Ok(json!(out))
        }
        Input::Headers => {
            let mut m = Map::new();
            for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
                match line.split_once([':', '：']) {
                    Some((k, val)) if !k.trim().is_empty() => {
                        m.insert(k.trim().to_string(), json!(val.trim()));
                    }
                    _ => return Err(format!("“{line}”应写成 名称: 值，每行一个请求头")),
                }
            }
            Ok(Value::Object(m))
        }
        Input::Oids => {
            let mut items = Vec::new();
            for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
                let mut o = Map::new();
                o.insert("oid".into(), json!(parts[0]));
                if let Some(l) = parts.get(1).filter(|l| !l.is_empty()) {
                    o.insert("label".into(), json!(l));
                }
                for (i, k) in [(2, "min"), (3, "max")] {
                    if let Some(x) = parts.get(i).filter(|x| !x.is_empty()) {
                        match number(x) {
                            Some(n) => {
                                o.insert(k.into(), n);
                            }
                            None => {
                                return Err(format!(
                                    "“{line}”的{}“{x}”不是数字（格式：OID, 名称, 下限, 上限）",
                                    if k == "min" { "下限" } else { "上限" }
                                ));
                            }
                        }
                    }
                }
                if parts.len() > 4 {
                    return Err(format!("“{line}”多于 4 项（格式：OID, 名称, 下限, 上限）"));
                }
                items.push(Value::Object(o));
            }
            Ok(Value::Array(items))
        }
    }
}

/// The database address from its parts: `kind://user:password@host:port/database`.
fn db_target(kind: &str, parts: &HashMap<&str, String>) -> Option<String> {
    let host = parts.get("host").filter(|h| !h.is_empty())?;
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut t = format!("{kind}://");
    if let Some(u) = parts.get("user").filter(|u| !u.is_empty()) {
        t.push_str(&enc(u));
        if let Some(p) = parts.get("password").filter(|p| !p.is_empty()) {
            t.push(':');
            t.push_str(&enc(p));
        }
        t.push('@');
    }
    t.push_str(host);
    if let Some(p) = parts.get("port").filter(|p| !p.is_empty()) {
        t.push(':');
        t.push_str(p);
    }
    t.push('/');
    if let Some(d) = parts.get("database") {
        t.push_str(&enc(d));
    }
    Some(t)
}

/// The submitted form as the API's monitor object. Every problem found here is returned
/// at once, named by the API's field (`interval_s`, `config.keyword`, …).
pub(super) fn form_to_obj(
    form: &HashMap<String, String>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut obj = Map::new();
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            k if COMMON_INT.contains(&k) => match v.parse::<i64>() {
                Ok(n) => {
                    obj.insert(k.into(), json!(n));
                }
                Err(_) => errs.push(FieldError::new(k, format!("“{v}”不是整数，请填写整数"))),
            },
            "name" | "kind" | "target" | "priority" => {
                obj.insert(k.clone(), json!(v));
            }
            _ => {}
        }
    }
    let mut config = Map::new();
    let cfg = form.get("config").map(|s| s.trim()).unwrap_or("");
    if !cfg.is_empty() {
        match serde_json::from_str::<Value>(cfg) {
            Ok(Value::Object(m)) => config = m,
            _ => errs.push(FieldError::new(
                "config",
                "配置应为 JSON 对象，如 {\"keyword\": \"欢迎\"}",
            )),
        }
    }
    let kind = form.get("kind").map(|s| s.trim()).unwrap_or("");
    let mut db = HashMap::new();
    for field in fields(kind) {
        let Some(raw) = form.get(&format!("{kind}.{}", field.key)) else {
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        if field.input == Input::Db {
            db.insert(field.key, raw.trim().to_string());
            continue;
        }
        match convert(field, raw) {
            Ok(v) => {
                config.insert(field.key.into(), v);
            }
            Err(m) => errs.push(FieldError::new(format!("config.{}", field.key), m)),
        }
    }
    if !db.is_empty() {
        match (obj.contains_key("target"), db_target(kind, &db)) {
            (false, Some(t)) => {
                obj.insert("target".into(), json!(t));
            }
            (false, None) => errs.push(FieldError::new(
                "target",
                "请填写数据库主机，或在“目标”中填写完整连接地址",
            )),
            (true, _) => errs.push(FieldError::new(
                "target",
                "已在“目标”中填写连接地址：请清空下方的主机、用户名等各项，或清空目标",
            )),
        }
    }
    if !config.is_empty() {
        obj.insert("config".into(), Value::Object(config));
    }
    if errs.is_empty() { Ok(obj) } else { Err(errs) }
}

/// The form field where an error of the API's field `field` is shown for a monitor of
/// `kind`: `config.keyword` → `http.keyword`; a config key without a field → the JSON
/// box; a database address error → `target`.
pub(super) fn form_field(kind: &str, field: &str) -> String {
    if let Some(rest) = field.strip_prefix("config.") {
        let key = rest.split(['[', '.']).next().unwrap_or(rest);
        if fields(kind)
            .iter()
            .any(|f| f.key == key && f.input != Input::Db)
        {
            return format!("{kind}.{key}");
        }
        return "config".into();
    }
    field.to_string()
}

/// The form shown again after an error: what was typed, without passwords (the user types
/// them again) — also inside the JSON box and a database address.
pub(super) fn form_again(form: &HashMap<String, String>) -> HashMap<String, String> {
    let mut f = form.clone();
    for (k, v) in f.iter_mut() {
        if let Some((kind, key)) = k.split_once('.')
            && is_secret(kind, key)
        {
            v.clear();
        }
    }
    if let Some(cfg) = f.get_mut("config")
        && let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(cfg)
    {
        let mut masked = false;
        for k in crate::monitor::snmp::SECRET_KEYS {
            if let Some(v) = m.get_mut(k)
                && v.is_string()
            {
                *v = json!("");
                masked = true;
            }
        }
        if masked {
            *cfg = Value::Object(m).to_string();
        }
    }
    if let Some(t) = f.get_mut("target")
        && let Ok(mut u) = reqwest::Url::parse(t)
        && u.password().is_some()
        && u.set_password(None).is_ok()
    {
        *t = u.to_string();
    }
    f
}

/// The fieldsets of every kind for the template: each field with its current value and
/// error.
pub(super) fn fieldsets(
    kinds: &[(&str, &str)],
    form: &HashMap<String, String>,
    errors: &HashMap<String, String>,
) -> Vec<Value> {
    kinds
        .iter()
        .map(|(kind, label)| {
            let fs: Vec<Value> = fields(kind)
                .iter()
                .map(|fd| {
                    let name = format!("{kind}.{}", fd.key);
                    let (input, options) = match fd.input {
                        Input::Choice(opts) => ("select", opts.iter().map(|o| json!({"value": o, "label": o})).collect()),
                        Input::Bool => (
                            "select",
                            vec![json!({"value": "true", "label": "是"}), json!({"value": "false", "label": "否"})],
                        ),
                        Input::Password => ("password", vec![]),
                        Input::Db if fd.key == "password" => ("password", vec![]),
                        Input::Number => ("number", vec![]),
                        Input::Area | Input::Headers | Input::Oids => ("textarea", vec![]),
                        _ => ("text", vec![]),
                    };
                    json!({"name": name, "id": name.replace('.', "-"), "label": fd.label, "input": input, "options": options,
                           "placeholder": fd.placeholder, "value": form.get(&name).cloned().unwrap_or_default(),
                           "only": snmp_version_of(kind, fd.key),
                           "error": errors.get(&name)})
                })
                .collect();
            json!({"kind": kind, "label": label, "fields": fs, "target_hint": target_hint(kind)})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn http_fields_become_the_config_and_override_the_json_box() {
        let obj = form_to_obj(&form(&[
            ("name", "门户"),
            ("kind", "http"),
            ("target", "https://a.example/"),
            ("config", r#"{"keyword": "旧", "max_latency_ms": 10}"#),
            ("http.keyword", "欢迎"),
            ("http.expected_status", "200, 301"),
            ("http.headers", "X-Token: abc\nAccept：text/html"),
            ("http.verify_tls", "false"),
            ("tcp.max_latency_ms", "5"),
            ("depends_on", "7"),
        ]))
        .unwrap();
        assert_eq!(
            Value::Object(obj),
            json!({"name": "门户", "kind": "http", "target": "https://a.example/", "depends_on": 7,
                   "config": {"keyword": "欢迎", "max_latency_ms": 10, "expected_status": [200, 301],
                              "headers": {"X-Token": "abc", "Accept": "text/html"}, "verify_tls": false}})
        );
    }

    #[test]
    fn bad_field_values_name_the_config_key_and_map_back_to_the_field() {
        let errs = form_to_obj(&form(&[
            ("kind", "http"),
            ("http.expected_status", "200, abc"),
            ("http.headers", "no colon"),
            ("interval_s", "x"),
        ]))
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"config.expected_status"), "{fields:?}");
        assert!(fields.contains(&"config.headers"), "{fields:?}");
        assert!(fields.contains(&"interval_s"), "{fields:?}");
        assert_eq!(
            form_field("http", "config.expected_status"),
            "http.expected_status"
        );
        assert_eq!(form_field("snmp", "config.oids[0]"), "snmp.oids");
        assert_eq!(form_field("http", "config.server"), "config");
        assert_eq!(form_field("http", "name"), "name");
    }

    #[test]
    fn database_parts_compose_the_target_with_the_password_encoded() {
        let obj = form_to_obj(&form(&[
            ("kind", "postgres"),
            ("postgres.host", "10.0.0.5"),
            ("postgres.user", "yw"),
            ("postgres.password", "p@ss word"),
            ("postgres.database", "oa"),
        ]))
        .unwrap();
        assert_eq!(
            obj["target"],
            json!("postgres://yw:p%40ss%20word@10.0.0.5/oa")
        );
        let again = form_again(&form(&[
            ("postgres.password", "secret"),
            ("target", "mysql://u:pw@h/db"),
        ]));
        assert_eq!(again["postgres.password"], "");
        assert_eq!(again["target"], "mysql://u@h/db");
    }

    #[test]
    fn snmp_oid_lines_and_dns_lists_are_parsed() {
        let obj = form_to_obj(&form(&[
            ("kind", "snmp"),
            (
                "snmp.oids",
                "1.3.6.1.2.1.1.3.0, 运行时间, 1\n1.3.6.1.4.1.1，温度，，40",
            ),
            ("snmp.if_indexes", "1 2"),
            ("dns.expected", "ignored"),
        ]))
        .unwrap();
        assert_eq!(
            obj["config"],
            json!({"oids": [{"oid": "1.3.6.1.2.1.1.3.0", "label": "运行时间", "min": 1},
                            {"oid": "1.3.6.1.4.1.1", "label": "温度", "max": 40}], "if_indexes": [1, 2]})
        );
        let obj = form_to_obj(&form(&[
            ("kind", "dns"),
            ("dns.expected", "10.0.0.5，10.0.0.6"),
            ("dns.record_type", "A"),
        ]))
        .unwrap();
        assert_eq!(
            obj["config"],
            json!({"expected": ["10.0.0.5", "10.0.0.6"], "record_type": "A"})
        );
    }
}
