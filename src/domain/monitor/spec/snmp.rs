//! The `config` of an snmp monitor: what it reads (OIDs, interfaces, UPS) and its
//! version and credentials (the v2c community or the v3 USM user).

use serde_json::{Map, Value, json};

use super::fields::V;
use crate::domain::monitor::snmp;

pub(super) fn snmp_config(
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
                match snmp::Oid::parse(oid) {
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
    use snmp::{AuthProtocol, PrivProtocol, SecurityLevel};
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
    let limit = snmp::MAX_USERNAME_LEN;
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
        let (min, max) = (snmp::MIN_PASSWORD_LEN, snmp::MAX_PASSWORD_LEN);
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
        if ctx.len() > snmp::MAX_CONTEXT_LEN || ctx.chars().any(char::is_control) {
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
    use serde_json::{Value, json};

    use super::super::tests::obj;
    use super::super::{MonitorDef, validate};
    use crate::domain::FieldError;

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
}
