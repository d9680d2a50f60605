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
            // The edit form shows the stored address in the target: a password typed
            // into the password field goes into it.
            (true, _) if db.keys().all(|k| *k == "password") => {
                let with_pw = obj
                    .get("target")
                    .and_then(Value::as_str)
                    .and_then(|t| reqwest::Url::parse(t).ok())
                    .and_then(|mut u| {
                        let pw = db.get("password")?;
                        (!u.username().is_empty() && u.set_password(Some(pw)).is_ok())
                            .then(|| u.to_string())
                    });
                match with_pw {
                    Some(t) => {
                        obj.insert("target".into(), json!(t));
                    }
                    None => errs.push(FieldError::new(
                        "target",
                        "密码需要与用户名一起填写：请在“目标”中写明 用户@主机",
                    )),
                }
            }
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

/// A text a field shows back unchanged: `convert` trims, so a value with surrounding
/// spaces or an empty one stays in the JSON box instead.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.trim() == s
}

/// One config value as its field's text, or `None` when the field cannot show it exactly
/// (it then stays in the JSON box, which the fields override only when filled).
fn unconvert(field: &Field, v: &Value) -> Option<String> {
    const SEPARATORS: [char; 5] = [',', '，', '\n', ';', '；'];
    let number = |v: &Value| match v {
        Value::Number(n) if n.is_i64() || n.is_f64() => Some(n.to_string()),
        _ => None,
    };
    match field.input {
        Input::Text | Input::Area => v
            .as_str()
            .filter(|s| plain(s) && (field.input == Input::Area || !s.contains('\n')))
            .map(String::from),
        Input::Choice(opts) => v.as_str().filter(|s| opts.contains(s)).map(String::from),
        Input::Number => number(v),
        Input::Bool => v.as_bool().map(|b| b.to_string()),
        Input::List => {
            let items = v.as_array().filter(|a| !a.is_empty())?;
            let texts: Option<Vec<&str>> = items
                .iter()
                .map(|i| i.as_str().filter(|s| plain(s) && !s.contains(SEPARATORS)))
                .collect();
            Some(texts?.join(", "))
        }
        Input::IntList => {
            let items = v.as_array().filter(|a| !a.is_empty())?;
            let ints: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_i64().map(|n| n.to_string()))
                .collect();
            Some(ints?.join(", "))
        }
        Input::Headers => {
            let m = v.as_object().filter(|m| !m.is_empty())?;
            let mut lines = Vec::new();
            for (k, val) in m {
                let val = val.as_str()?;
                let key_ok = plain(k) && !k.contains([':', '：', '\n', '\r']);
                let val_ok = val.trim() == val && !val.contains(['\n', '\r']);
                if !key_ok || !val_ok {
                    return None;
                }
                lines.push(format!("{k}: {val}"));
            }
            Some(lines.join("\n"))
        }
        Input::Oids => {
            let items = v.as_array().filter(|a| !a.is_empty())?;
            let mut lines = Vec::new();
            for item in items {
                let o = item.as_object()?;
                if o.keys()
                    .any(|k| !["oid", "label", "min", "max"].contains(&k.as_str()))
                {
                    return None;
                }
                let text = |k: &str| match o.get(k) {
                    None => Some(String::new()),
                    Some(Value::String(s)) if plain(s) && !s.contains([',', '，', '\n', '\r']) => {
                        Some(s.clone())
                    }
                    Some(_) => None,
                };
                let num = |k: &str| match o.get(k) {
                    None => Some(String::new()),
                    Some(x) => number(x),
                };
                let oid = text("oid").filter(|s| !s.is_empty())?;
                let mut parts = vec![oid, text("label")?, num("min")?, num("max")?];
                while parts.last().is_some_and(String::is_empty) {
                    parts.pop();
                }
                lines.push(parts.join(", "));
            }
            Some(lines.join("\n"))
        }
        // Secrets are never shown back; database parts come from the target.
        Input::Password | Input::Db => None,
    }
}

/// The form of a stored monitor (`MonitorRow::definition`), the inverse of
/// [`form_to_obj`]: the common fields, each kind field its config value as text, and the
/// config keys that no field can show in the JSON box. Secrets are never filled in: not
/// the password fields, not the JSON box, not the password of a database address.
pub(super) fn obj_to_form(def: &Map<String, Value>) -> HashMap<String, String> {
    let mut form = HashMap::new();
    for (k, v) in def {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        if ["name", "kind", "target", "priority"].contains(&k.as_str())
            || COMMON_INT.contains(&k.as_str())
        {
            form.insert(k.clone(), text);
        }
    }
    if let Some(t) = form.get_mut("target")
        && let Ok(mut u) = reqwest::Url::parse(t)
        && u.password().is_some()
        && u.set_password(None).is_ok()
    {
        *t = u.to_string();
    }
    let kind = form.get("kind").cloned().unwrap_or_default();
    let mut rest = match def.get("config") {
        Some(Value::Object(c)) => c.clone(),
        _ => Map::new(),
    };
    for field in fields(&kind) {
        if is_secret(&kind, field.key) {
            rest.remove(field.key);
            continue;
        }
        if let Some(text) = rest.get(field.key).and_then(|v| unconvert(field, v)) {
            form.insert(format!("{kind}.{}", field.key), text);
            rest.remove(field.key);
        }
    }
    for k in crate::monitor::snmp::SECRET_KEYS
        .iter()
        .chain(&["community", "password"])
    {
        rest.remove(*k);
    }
    if !rest.is_empty() {
        form.insert("config".into(), Value::Object(rest).to_string());
    }
    form
}

/// The common fields of the form: a change leaves none of them out, so one emptied in
/// the form goes back to its default (or is refused, as the name).
pub(super) const FORM_COMMON: &[&str] = &[
    "name",
    "target",
    "system_id",
    "priority",
    "interval_s",
    "timeout_ms",
    "failures_before_down",
    "depends_on",
];

/// The API's change (`PATCH /monitors/{id}`) from the edit form's object (`form_to_obj`):
/// every field of the form is sent, an emptied one as `null`, and the config as a whole,
/// so a kind field left empty removes its key. A secret left empty is left out, so the
/// stored one stays (the service keeps SNMP secrets that are not given).
pub(super) fn obj_to_patch(mut obj: Map<String, Value>) -> Map<String, Value> {
    for k in FORM_COMMON {
        obj.entry(*k).or_insert(Value::Null);
    }
    let mut config = match obj.remove("config") {
        Some(Value::Object(c)) => c,
        _ => Map::new(),
    };
    for k in crate::monitor::snmp::SECRET_KEYS
        .iter()
        .chain(&["community"])
    {
        if config
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(str::is_empty)
        {
            config.remove(*k);
        }
    }
    obj.insert("config".into(), Value::Object(config));
    obj
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

    fn def(kind: &str, target: &str, config: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!("监控"));
        m.insert("kind".into(), json!(kind));
        if !target.is_empty() {
            m.insert("target".into(), json!(target));
        }
        m.insert("interval_s".into(), json!(30));
        m.insert("timeout_ms".into(), json!(5000));
        m.insert("failures_before_down".into(), json!(2));
        m.insert("system_id".into(), json!(3));
        m.insert("depends_on".into(), Value::Null);
        m.insert("priority".into(), json!("P1"));
        m.insert("paused".into(), json!(false));
        m.insert("config".into(), config);
        m
    }

    /// The object the form gives back for a stored definition.
    fn round_trip(d: &Map<String, Value>) -> Map<String, Value> {
        form_to_obj(&obj_to_form(d)).unwrap_or_else(|e| panic!("{e:?} for {d:?}"))
    }

    fn assert_round_trips(d: &Map<String, Value>) {
        let back = round_trip(d);
        let config = back.get("config").cloned().unwrap_or(json!({}));
        assert_eq!(
            config,
            d["config"],
            "config of {d:?}, form {:?}",
            obj_to_form(d)
        );
        for k in [
            "name",
            "kind",
            "target",
            "interval_s",
            "timeout_ms",
            "failures_before_down",
            "system_id",
            "priority",
        ] {
            assert_eq!(back.get(k), d.get(k), "{k} of {d:?}");
        }
        assert!(!back.contains_key("depends_on"));
    }

    #[test]
    fn every_kind_s_stored_config_comes_back_from_its_edit_form() {
        let examples = [
            def(
                "http",
                "https://a.example/",
                json!({"method": "POST", "expected_status": [200, 301], "keyword": "欢迎",
                       "keyword_regex": "^ok$", "headers": {"X-Token": "abc", "Accept": "text/html"},
                       "body": "{\"a\": 1}\nline 2", "max_latency_ms": 1500, "follow_redirects": false,
                       "verify_tls": true, "cert_expiry_warn_days": 30}),
            ),
            def("tcp", "10.0.0.5:22", json!({"max_latency_ms": 2.5})),
            def(
                "icmp",
                "10.0.0.5",
                json!({"count": 5, "max_loss_percent": 20, "max_rtt_ms": 100}),
            ),
            def(
                "dns",
                "www.example.gov.cn",
                json!({"server": "10.0.0.53", "record_type": "MX",
                       "expected": ["mx1.example", "mx2.example"], "max_latency_ms": 300}),
            ),
            def(
                "tls",
                "www.example.gov.cn:443",
                json!({"server_name": "www.example.gov.cn", "warn_days": 21, "verify": false}),
            ),
            def(
                "snmp",
                "10.0.0.1:161",
                json!({"version": "3", "username": "yw", "security_level": "authPriv",
                       "auth_protocol": "SHA", "priv_protocol": "AES", "context": "ctx",
                       "oids": [{"oid": "1.3.6.1.2.1.1.3.0", "label": "运行时间", "min": 1, "max": 2.5},
                                {"oid": "1.3.6.1.4.1.1"}, {"oid": "1.3.6.1.4.1.2", "max": 40}],
                       "if_indexes": [1, 24], "ups": true}),
            ),
            // An OID with `equals` has no field: the OIDs stay in the JSON box.
            def(
                "snmp",
                "10.0.0.1",
                json!({"version": "2c", "oids": [{"oid": "1.3.6.1.2.1.1.5.0", "equals": "core-sw-1"}],
                       "ups_thresholds": {"battery_min": 50}}),
            ),
            def(
                "postgres",
                "postgres://yw@10.0.0.5:5432/oa?sslmode=require",
                json!({"max_latency_ms": 500}),
            ),
            def("mysql", "mysql://root@10.0.0.6/oa", json!({})),
            def(
                "heartbeat",
                "",
                json!({"period_s": 86400, "schedule": "0 2 * * *", "grace_s": 300}),
            ),
        ];
        for kind in spec_kinds() {
            assert!(
                examples.iter().any(|d| d["kind"] == json!(kind)),
                "an example of {kind}"
            );
        }
        for d in &examples {
            assert_round_trips(d);
        }
        let form = obj_to_form(&examples[0]);
        assert_eq!(form["http.headers"], "Accept: text/html\nX-Token: abc");
        assert_eq!(form["http.expected_status"], "200, 301");
        assert_eq!(form["http.follow_redirects"], "false");
        assert!(!form.contains_key("config"), "{form:?}");
        let form = obj_to_form(&examples[5]);
        assert_eq!(
            form["snmp.oids"],
            "1.3.6.1.2.1.1.3.0, 运行时间, 1, 2.5\n1.3.6.1.4.1.1\n1.3.6.1.4.1.2, , , 40"
        );
        let form = obj_to_form(&examples[6]);
        assert!(!form.contains_key("snmp.oids"));
        assert!(form["config"].contains("equals"), "{form:?}");
    }

    fn spec_kinds() -> Vec<&'static str> {
        crate::monitor::spec::KINDS
            .iter()
            .map(|(c, _)| *c)
            .collect()
    }

    /// Values of each input kind, the ones a field shows first, then ones it cannot show
    /// exactly (they stay in the JSON box).
    fn samples(input: Input) -> (Vec<Value>, Vec<Value>) {
        let odd = vec![
            json!(""),
            json!(" pad "),
            json!(null),
            json!([]),
            json!({}),
            json!({"x": [1]}),
        ];
        let shown = match input {
            Input::Text => vec![json!("a b"), json!("欢迎")],
            Input::Area => vec![json!("x\ny"), json!("{\"a\": 1}")],
            Input::Choice(opts) => opts.iter().map(|o| json!(o)).collect(),
            Input::Number => vec![json!(0), json!(7), json!(-3), json!(2.5), json!(1e-3)],
            Input::Bool => vec![json!(true), json!(false)],
            Input::List => vec![json!(["a"]), json!(["a b", "c"])],
            Input::IntList => vec![json!([1]), json!([200, -1, 301])],
            Input::Headers => vec![json!({"A": "b: c"}), json!({"X-Token": "", "B": "1"})],
            Input::Oids => vec![
                json!([{"oid": "1.3"}]),
                json!([{"oid": "1.3", "label": "温度", "min": -1, "max": 2.5}, {"oid": "1.4", "min": 0}]),
            ],
            Input::Password | Input::Db => vec![],
        };
        let mut more = match input {
            Input::List => vec![json!(["a,b"]), json!([1])],
            Input::IntList => vec![json!(["1"]), json!([1.5])],
            Input::Headers => vec![json!({"A": 1}), json!({"A:B": "c"}), json!({"A": " c"})],
            Input::Oids => vec![
                json!([{"oid": "1", "equals": "x"}]),
                json!([{"oid": "1,2"}]),
            ],
            Input::Choice(_) => vec![json!("not-an-option")],
            Input::Number => vec![json!("5")],
            Input::Bool => vec![json!("true")],
            _ => vec![],
        };
        more.extend(odd);
        (shown, more)
    }

    #[test]
    fn every_shipped_field_round_trips_whatever_its_value() {
        for kind in spec_kinds() {
            let target = if kind == "heartbeat" { "" } else { "10.0.0.1" };
            for field in fields(kind) {
                if is_secret(kind, field.key) || field.input == Input::Db {
                    continue;
                }
                let (shown, other) = samples(field.input);
                assert!(!shown.is_empty(), "{kind}.{}", field.key);
                for v in shown.iter().chain(&other) {
                    let d = def(kind, target, json!({ field.key: v }));
                    assert_round_trips(&d);
                    let form = obj_to_form(&d);
                    let in_field = form.contains_key(&format!("{kind}.{}", field.key));
                    assert_eq!(
                        in_field,
                        shown.contains(v),
                        "{kind}.{} = {v}: {form:?}",
                        field.key
                    );
                }
            }
        }
    }

    #[test]
    fn the_edit_form_never_shows_a_secret() {
        let d = def(
            "snmp",
            "10.0.0.1",
            json!({"version": "2c", "community": "s3cret", "auth_password": "a-pass-1", "ups": true}),
        );
        let form = obj_to_form(&d);
        let all = format!("{form:?}");
        assert!(
            !all.contains("s3cret") && !all.contains("a-pass-1"),
            "{all}"
        );
        assert_eq!(form["snmp.ups"], "true");
        let form = obj_to_form(&def("postgres", "postgres://yw:pw@10.0.0.5/oa", json!({})));
        assert_eq!(form["target"], "postgres://yw@10.0.0.5/oa");
        // A password typed into the password field goes into the shown address.
        let mut form = form;
        form.insert("postgres.password".into(), "n w@".into());
        let obj = form_to_obj(&form).unwrap();
        assert_eq!(obj["target"], "postgres://yw:n%20w%40@10.0.0.5/oa");
    }

    #[test]
    fn the_edit_form_s_change_clears_emptied_fields_and_leaves_empty_secrets_out() {
        let mut f = obj_to_form(&def(
            "snmp",
            "10.0.0.1",
            json!({"version": "2c", "ups": true, "if_indexes": [1]}),
        ));
        f.insert("snmp.if_indexes".into(), String::new());
        f.insert("interval_s".into(), String::new());
        f.insert(
            "config".into(),
            r#"{"community": "", "equals_x": 1}"#.into(),
        );
        let patch = obj_to_patch(form_to_obj(&f).unwrap());
        assert_eq!(patch["interval_s"], Value::Null);
        assert_eq!(patch["depends_on"], Value::Null);
        assert_eq!(patch["system_id"], 3);
        assert_eq!(
            patch["config"],
            json!({"version": "2c", "ups": true, "equals_x": 1})
        );
        let patch = obj_to_patch(Map::new());
        assert_eq!(patch["config"], json!({}));
    }
}
