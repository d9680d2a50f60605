//! The typed inputs of creating and changing a monitor (`POST /monitors`,
//! `PATCH /monitors/{id}`), and the OpenAPI document's schemas of those bodies.
//!
//! The common fields are typed; `config` stays an object because its keys depend on the
//! kind. The rules beyond the types (ranges, the target's form per kind, each kind's
//! `config`) are `spec::validate`'s, run by [`MonitorCreate::check`] and
//! [`MonitorUpdate::check`] with every problem reported at once. A change is merged into
//! the stored definition and validated as a whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::{snmp, spec};
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MonitorKind {
    Http,
    Tcp,
    Icmp,
    Dns,
    Tls,
    Snmp,
    Postgres,
    Mysql,
    Heartbeat,
}

impl MonitorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorKind::Http => "http",
            MonitorKind::Tcp => "tcp",
            MonitorKind::Icmp => "icmp",
            MonitorKind::Dns => "dns",
            MonitorKind::Tls => "tls",
            MonitorKind::Snmp => "snmp",
            MonitorKind::Postgres => "postgres",
            MonitorKind::Mysql => "mysql",
            MonitorKind::Heartbeat => "heartbeat",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

/// The Chinese names of a monitor's fields (the same for a creation and a change).
const MONITOR_LABELS: &[(&str, &str)] = &[
    ("name", "监控名称"),
    ("kind", "监控类型"),
    ("target", "监控目标"),
    ("interval_s", "检测间隔（秒）"),
    ("timeout_ms", "超时（毫秒）"),
    ("failures_before_down", "连续失败次数"),
    ("successes_before_up", "连续成功次数"),
    ("system_id", "系统"),
    ("asset_id", "设备"),
    ("depends_on", "上游监控"),
    ("priority", "优先级"),
    ("paused", "暂停"),
    ("auto_resolve", "恢复后自动解决工单"),
    ("config", "配置"),
];

/// `POST /monitors`. The keys of `config` depend on the kind (HTTP `method`, `headers`,
/// `body`, `expected_status`, `keyword`, …; SNMP community or v3 credentials; database
/// credentials), see `monitor::spec`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorCreate {
    pub name: String,
    pub kind: MonitorKind,
    /// URL, host, host:port or DSN, by kind; none for a heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Seconds between checks (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i64>,
    /// Default 3 (1 for a heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_before_down: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successes_before_up: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub system_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub asset_id: Option<i64>,
    /// A monitor this one depends on: while it is down, this one is unreachable, not down.
    #[serde(
        default,
        deserialize_with = "de::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub depends_on: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_resolve: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
}

impl Labels for MonitorCreate {
    const LABELS: &'static [(&'static str, &'static str)] = MONITOR_LABELS;
}

/// The fields given, as the JSON object the spec validates.
fn to_map<T: Serialize>(input: &T) -> Map<String, Value> {
    match serde_json::to_value(input) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

impl MonitorCreate {
    /// The definition as given (what the audit record keeps, with secrets).
    pub fn to_map(&self) -> Map<String, Value> {
        to_map(self)
    }

    /// Every rule problem at once, or the validated definition. A heartbeat fails after
    /// the first missed deadline unless asked otherwise.
    pub fn check(&self) -> Result<spec::MonitorDef, Vec<FieldError>> {
        let mut obj = self.to_map();
        if self.kind == MonitorKind::Heartbeat {
            obj.entry("failures_before_down").or_insert(json!(1));
        }
        spec::validate(&obj)
    }
}

/// `PATCH /monitors/{id}`: only the fields to change (`null` clears a field back to its
/// default), merged into the stored definition and validated as a whole. The kind cannot
/// change.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorUpdate {
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MonitorKind>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub target: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub interval_s: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub timeout_ms: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub failures_before_down: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub successes_before_up: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "patch_id",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub system_id: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "patch_id",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub asset_id: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "patch_id",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub depends_on: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Option<Priority>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<bool>)]
    pub paused: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<bool>)]
    pub auto_resolve: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "de::patch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Option<Map<String, Value>>>,
}

/// A patched id: left out, cleared (`null` or a blank), or set (a number or numeric text).
fn patch_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    de::opt_id(d).map(Some)
}

impl Labels for MonitorUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = MONITOR_LABELS;
}

/// What [`MonitorUpdate::check`] found: the validated definition and whether the stored
/// secret still applies.
#[derive(Debug)]
pub struct CheckedUpdate {
    pub def: spec::MonitorDef,
    /// The stored secret stays (a database URL sent back without its password); when
    /// false the secret comes from `def.secret`.
    pub keep_secret: bool,
}

impl MonitorUpdate {
    /// A change that only pauses or resumes.
    pub fn paused(paused: bool) -> Self {
        MonitorUpdate {
            paused: Some(Some(paused)),
            ..MonitorUpdate::default()
        }
    }

    /// The fields given, `null` for a cleared one.
    pub fn to_map(&self) -> Map<String, Value> {
        to_map(self)
    }

    /// The change as the audit log keeps it: SNMP communities and passwords as "***".
    pub fn audit_map(&self) -> Map<String, Value> {
        let mut p = self.to_map();
        if let Some(Value::Object(config)) = p.get_mut("config") {
            for k in ["community", "auth_password", "priv_password"] {
                if let Some(v) = config.get_mut(k)
                    && !v.is_null()
                {
                    *v = json!("***");
                }
            }
        }
        p
    }

    /// Merges the change into `stored` (the stored definition, `MonitorRow::definition`)
    /// and validates the result, reporting every problem at once. `stored_secret` is the
    /// decrypted secret: an SNMP community or v3 password left out (or sent back as
    /// "***") keeps its stored value.
    pub fn check(
        &self,
        stored: &Map<String, Value>,
        stored_secret: Option<&str>,
    ) -> Result<CheckedUpdate, Vec<FieldError>> {
        let mut errs = Vec::new();
        let old_kind = stored.get("kind").and_then(Value::as_str).unwrap_or("");
        if let Some(k) = self.kind
            && k.as_str() != old_kind
        {
            errs.push(FieldError::new("kind", "监控类型不能修改，请新建一个监控"));
        }
        let mut merged = stored.clone();
        let patch = self.to_map();
        // A database URL shown without its password keeps the stored one, as long as it
        // names the same user on the same host.
        let mut keep_secret = true;
        for (k, v) in patch {
            if k == "target" && ["postgres", "mysql"].contains(&old_kind) {
                let old_target = stored.get("target").and_then(Value::as_str).unwrap_or("");
                keep_secret = v.as_str().is_some_and(|t| keeps_db_password(old_target, t));
            }
            merged.insert(k, v);
        }
        // The kind stays the stored one (a different one is refused above).
        merged.insert("kind".into(), json!(old_kind));
        if old_kind == "snmp" {
            // The secret is rebuilt from the validated definition.
            keep_secret = false;
            let old_config = match stored.get("config") {
                Some(Value::Object(c)) => c.clone(),
                _ => Map::new(),
            };
            keep_snmp_secrets(&old_config, stored_secret, &mut merged);
        }
        match spec::validate(&merged) {
            Ok(def) if errs.is_empty() => Ok(CheckedUpdate { def, keep_secret }),
            Ok(_) => Err(errs),
            Err(more) => {
                errs.extend(more);
                Err(errs)
            }
        }
    }
}

/// Whether a database monitor's stored password still applies after its address changes
/// from `stored` to `new`: only when `new` carries no password of its own and names the
/// same user on the same host (a password is never sent on to another server or user).
pub fn keeps_db_password(stored: &str, new: &str) -> bool {
    let (Ok(old), Ok(new)) = (reqwest::Url::parse(stored), reqwest::Url::parse(new)) else {
        return false;
    };
    new.password().is_none()
        && old.username() == new.username()
        && old.host_str().map(str::to_ascii_lowercase)
            == new.host_str().map(str::to_ascii_lowercase)
}

/// Fills an SNMP monitor's merged definition with the stored community (v2c) or v3
/// passwords where the change leaves them out or sends "***", as long as the version
/// stays the same.
fn keep_snmp_secrets(
    old_config: &Map<String, Value>,
    stored: Option<&str>,
    merged: &mut Map<String, Value>,
) {
    let Some(stored) = stored else { return };
    let is_v3 = |c: &Map<String, Value>| match c.get("version") {
        Some(Value::String(v)) => matches!(v.trim().to_ascii_lowercase().as_str(), "3" | "v3"),
        Some(Value::Number(n)) => n.as_i64() == Some(3),
        _ => false,
    };
    let was_v3 = is_v3(old_config);
    let Some(Value::Object(config)) = merged.get_mut("config") else {
        return;
    };
    let missing = |c: &Map<String, Value>, k: &str| match c.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s == "***",
        Some(_) => false,
    };
    match (was_v3, is_v3(config)) {
        (false, false) if missing(config, "community") => {
            config.insert("community".into(), json!(stored));
        }
        (true, true) => {
            let passwords: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
            for k in snmp::SECRET_KEYS {
                if missing(config, k)
                    && let Some(p) = passwords.get(k)
                {
                    config.insert(k.into(), p.clone());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::decode;

    fn create(v: Value) -> Result<MonitorCreate, Vec<FieldError>> {
        decode::<MonitorCreate>(v)
    }

    fn update(v: Value) -> MonitorUpdate {
        decode::<MonitorUpdate>(v).unwrap()
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    fn stored(kind: &str, target: &str, config: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!("旧名称"));
        m.insert("kind".into(), json!(kind));
        m.insert("target".into(), json!(target));
        m.insert("interval_s".into(), json!(30));
        m.insert("timeout_ms".into(), json!(5000));
        m.insert("failures_before_down".into(), json!(2));
        m.insert("successes_before_up".into(), json!(1));
        m.insert("priority".into(), json!("P1"));
        m.insert("paused".into(), json!(false));
        m.insert("auto_resolve".into(), json!(false));
        m.insert("config".into(), config);
        m
    }

    #[test]
    fn a_body_that_does_not_fit_names_the_field_in_chinese() {
        let e = create(json!({"name": "x", "kind": "http", "colour": "red"})).unwrap_err();
        assert_eq!(e[0].field, "colour");
        assert_eq!(e[0].message, "未知字段“colour”，请删除该字段");
        let e = create(json!({"kind": "http", "target": "http://a/"})).unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].message.as_str()),
            ("name", "请填写监控名称")
        );
        let e = create(json!({"name": "x", "kind": "smtp"})).unwrap_err();
        assert_eq!(e[0].field, "kind");
        assert!(
            e[0].message
                .starts_with("监控类型“smtp”无效，可选：http、tcp"),
            "{e:?}"
        );
        let e = create(json!({"name": "x", "kind": "http", "interval_s": 0.5})).unwrap_err();
        assert_eq!(e[0].field, "interval_s");
        let e = create(json!({"name": "x", "kind": "http", "system_id": 0})).unwrap_err();
        assert_eq!(e[0].message, "系统应为正整数编号");
    }

    #[test]
    fn a_creation_reports_every_rule_problem_at_once() {
        let c = create(json!({"name": "x", "kind": "tcp", "target": "10.0.0.1",
            "interval_s": 0, "config": {"verify": true}}))
        .unwrap();
        let e = c.check().unwrap_err();
        let f = fields(&e);
        for want in ["interval_s", "target", "config.verify"] {
            assert!(f.contains(&want), "{want} in {f:?}");
        }
    }

    #[test]
    fn a_creation_gets_the_defaults_and_a_heartbeat_fails_after_one_missed_beat() {
        let d = create(
            json!({"name": "站点", "kind": "http", "target": "https://a.example/",
            "system_id": "7"}),
        )
        .unwrap()
        .check()
        .unwrap();
        assert_eq!(
            (d.interval_s, d.failures_before_down, d.system_id),
            (60, 3, Some(7))
        );
        assert_eq!(d.priority, "P2");
        let d = create(json!({"name": "备份", "kind": "heartbeat", "config": {"period_s": 3600}}))
            .unwrap()
            .check()
            .unwrap();
        assert_eq!(d.failures_before_down, 1);
        let d = create(
            json!({"name": "备份", "kind": "heartbeat", "failures_before_down": 4,
            "config": {"period_s": 3600}}),
        )
        .unwrap()
        .check()
        .unwrap();
        assert_eq!(d.failures_before_down, 4);
    }

    #[test]
    fn a_change_is_merged_and_null_goes_back_to_the_default() {
        let old = stored("http", "https://a.example/", json!({}));
        let c = update(json!({"name": "新名称", "priority": null, "system_id": 3}))
            .check(&old, None)
            .unwrap();
        assert_eq!(c.def.name, "新名称");
        assert_eq!(c.def.priority, "P2");
        assert_eq!(c.def.interval_s, 30);
        assert_eq!(c.def.system_id, Some(3));
        let c = update(json!({"system_id": null}))
            .check(&old, None)
            .unwrap();
        assert_eq!(c.def.system_id, None);
        let c = update(json!({})).check(&old, None).unwrap();
        assert_eq!(c.def.name, "旧名称");
    }

    #[test]
    fn a_change_of_kind_is_refused_together_with_the_other_problems() {
        let old = stored("http", "https://a.example/", json!({}));
        let e = update(json!({"kind": "tcp", "interval_s": 0}))
            .check(&old, None)
            .unwrap_err();
        assert_eq!(fields(&e), ["kind", "interval_s"]);
        assert_eq!(e[0].message, "监控类型不能修改，请新建一个监控");
        assert!(update(json!({"kind": "http"})).check(&old, None).is_ok());
        let e = update(json!({"name": null})).check(&old, None).unwrap_err();
        assert_eq!(e[0].message, "请填写监控名称");
    }

    #[test]
    fn a_database_url_without_its_password_keeps_the_stored_secret() {
        let old = stored("postgres", "postgres://u@10.0.0.5:5432/db", json!({}));
        let c = update(json!({"target": "postgres://u@10.0.0.5:5433/db2"}))
            .check(&old, None)
            .unwrap();
        assert!(c.keep_secret);
        // Another host or user: the stored password is not sent there.
        for t in [
            "postgres://u@10.0.0.6:5432/db",
            "postgres://v@10.0.0.5:5432/db",
        ] {
            let c = update(json!({ "target": t })).check(&old, None).unwrap();
            assert!(!c.keep_secret, "{t}");
            assert_eq!(c.def.secret, None, "{t}");
        }
        let c = update(json!({"target": "postgres://u:pw@10.0.0.6:5432/db"}))
            .check(&old, None)
            .unwrap();
        assert!(!c.keep_secret);
        assert_eq!(c.def.secret.as_deref(), Some("pw"));
        assert_eq!(c.def.target, "postgres://u@10.0.0.6:5432/db");
    }

    #[test]
    fn a_stored_database_password_stays_only_for_the_same_user_on_the_same_host() {
        let old = "mysql://yw@db.example:3306/oa";
        assert!(keeps_db_password(old, "mysql://yw@DB.example:3307/other"));
        assert!(!keeps_db_password(old, "mysql://yw:new@db.example:3306/oa"));
        assert!(!keeps_db_password(old, "mysql://root@db.example:3306/oa"));
        assert!(!keeps_db_password(old, "mysql://yw@evil.example:3306/oa"));
        assert!(!keeps_db_password(old, "not a url"));
    }

    #[test]
    fn an_snmp_community_left_out_or_masked_keeps_the_stored_one() {
        let old = stored("snmp", "10.0.0.1", json!({"version": "2c"}));
        for cfg in [
            json!({"version": "2c", "ups": true}),
            json!({"version": "2c", "ups": true, "community": "***"}),
        ] {
            let c = update(json!({"config": cfg}))
                .check(&old, Some("s3cret"))
                .unwrap();
            assert_eq!(c.def.secret.as_deref(), Some("s3cret"));
            assert!(!c.keep_secret);
        }
        let c = update(json!({"config": {"version": "2c", "ups": true, "community": "other"}}))
            .check(&old, Some("s3cret"))
            .unwrap();
        assert_eq!(c.def.secret.as_deref(), Some("other"));
    }

    #[test]
    fn the_audited_change_masks_snmp_secrets_and_keeps_cleared_fields() {
        let m = update(json!({"config": {"community": "s3cret", "version": "2c"},
            "system_id": null}))
        .audit_map();
        assert_eq!(m["config"]["community"], "***");
        assert_eq!(m["config"]["version"], "2c");
        assert_eq!(m["system_id"], Value::Null);
        assert!(!m.contains_key("name"));
    }
}
