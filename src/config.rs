//! Typed configuration: defaults in code < TOML file < `YUNWEI_*` environment < CLI flags.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::store::{Backend, ConnectOptions};

pub use crate::store::redact_url;

/// A secret string that never prints.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// SQLite's `synchronous` on the writer connection. `full` (the default) makes every
/// acknowledged write survive a power cut; `normal` survives a crash of the process
/// (`kill -9`) but may lose the last commits on a power cut, for more writes per second.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    #[default]
    Full,
    Normal,
}

impl SqliteSynchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }
}

/// 等保 level-2 account controls. Every figure is configurable; the defaults are the
/// contract's.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    pub password_min_length: usize,
    /// How many of the four classes (lower, upper, digit, symbol) a password needs.
    pub password_min_classes: usize,
    pub password_max_age_days: i64,
    /// A new password may not equal any of the last N.
    pub password_history: usize,
    pub lockout_threshold: i64,
    pub lockout_minutes: i64,
    pub idle_timeout_minutes: i64,
    /// Longest lifetime an API token may be given.
    pub api_token_max_days: i64,
    /// Whether the session cookie is marked `Secure` (set when served behind TLS); also
    /// turns on HSTS.
    pub secure_cookies: bool,
    /// Failed logins from one client IP within the window before further attempts get 429.
    pub login_ip_max_failures: usize,
    pub login_ip_window_minutes: i64,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
}

impl SecurityConfig {
    /// The password rules the domain checks a new password against.
    pub fn password_policy(&self) -> crate::domain::password::PasswordPolicy {
        self.into()
    }
}

impl From<&SecurityConfig> for crate::domain::password::PasswordPolicy {
    fn from(s: &SecurityConfig) -> Self {
        Self {
            min_length: s.password_min_length,
            min_classes: s.password_min_classes,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            password_min_length: 8,
            password_min_classes: 3,
            password_max_age_days: 90,
            password_history: 5,
            lockout_threshold: 5,
            lockout_minutes: 30,
            idle_timeout_minutes: 30,
            api_token_max_days: 365,
            secure_cookies: false,
            login_ip_max_failures: 20,
            login_ip_window_minutes: 5,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Records younger than this are never purged; it cannot be set below 180.
    pub retention_days: i64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 180,
        }
    }
}

/// Service-desk settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// `impact/urgency` → P1–P4.
    pub priority_matrix: crate::domain::tickets::PriorityMatrix,
    /// A resolved or closed ticket may be reopened within this many days.
    pub reopen_window_days: i64,
    /// Resolved tickets nobody confirms or rates close after this many days.
    pub auto_close_days: i64,
    /// Default on-site arrival target for incidents, in minutes (the contract's 2 hours).
    pub onsite_minutes: i64,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            priority_matrix: Default::default(),
            reopen_window_days: 7,
            auto_close_days: 3,
            onsite_minutes: 120,
        }
    }
}

/// Monitoring and alerting settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// Run the built-in probes in this process (`YUNWEI_MONITORING_ENABLED`). With several
    /// replicas on one PostgreSQL database, an advisory lock elects the one that probes.
    pub enabled: bool,
    /// Raw probe results are kept this many days; hourly rollups are kept for years.
    pub results_retention_days: i64,
    /// Hourly rollups are kept this many days (at least two years).
    pub rollup_retention_days: i64,
    /// An alert that fires again within this many minutes of its recovery reopens the same
    /// ticket instead of opening a new one.
    pub refire_window_minutes: i64,
    /// A firing alert nobody acknowledges is escalated after this many minutes.
    pub escalate_after_minutes: i64,
    /// A monitor changing state this many times within `flap_window_minutes` is flapping.
    pub flap_threshold: i64,
    pub flap_window_minutes: i64,
    /// Most probes running at once against one host.
    pub per_target_concurrency: usize,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            results_retention_days: 30,
            rollup_retention_days: 800,
            refire_window_minutes: 60,
            escalate_after_minutes: 15,
            flap_threshold: 5,
            flap_window_minutes: 30,
            per_target_concurrency: 64,
        }
    }
}

/// Backup oversight settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Priority (P1–P4) of the alert and ticket a failed, missed or suspicious backup
    /// opens.
    pub alert_priority: String,
    /// Cron (Beijing time) of yunwei's scheduled backup of itself (`yunwei backup` run
    /// by the server); empty: none.
    pub self_schedule: String,
    /// Where the scheduled backups go (default: `self-backups/` in the data directory).
    pub self_dir: Option<PathBuf>,
    /// How many scheduled backups are kept (the oldest are removed).
    pub self_keep: usize,
    /// The backup policy each scheduled backup reports its run into, so that a failing
    /// or missed self-backup alerts like any other backup.
    pub self_policy_id: Option<i64>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            alert_priority: "P3".into(),
            self_schedule: String::new(),
            self_dir: None,
            self_keep: 7,
            self_policy_id: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`; `None` means a SQLite file in `data_dir`.
    pub database_url: Option<Secret>,
    pub data_dir: PathBuf,
    pub demo: bool,
    /// Days of simulated history the demo adds to the contract (`--demo-days`; 0: the
    /// contract only). Used only with `demo`.
    pub demo_days: u32,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Largest request body accepted by JSON endpoints, in bytes.
    pub max_body_bytes: usize,
    /// Largest import file, in bytes.
    pub max_import_bytes: usize,
    /// Largest ticket attachment, in bytes.
    pub max_attachment_bytes: usize,
    pub database_max_connections: u32,
    /// SQLite only: `full` or `normal` (see `SqliteSynchronous`).
    pub database_sqlite_synchronous: SqliteSynchronous,
    /// Memory all read caches together may hold, in bytes (list pages, totals,
    /// credentials, calendars); entries also expire by age.
    pub cache_max_bytes: usize,
    /// Password for the first `admin` user; generated and printed once when absent.
    pub admin_password: Option<Secret>,
    /// Base64 of 32 bytes encrypting channel secrets (`YUNWEI_SECRET_KEY`); default: the
    /// data directory's `secret.key`. Replicas sharing a database need the same key.
    pub secret_key: Option<Secret>,
    /// Bearer token Prometheus sends to scrape `/metrics` (`YUNWEI_METRICS_TOKEN`); API
    /// tokens are accepted too.
    pub metrics_token: Option<Secret>,
    /// PEM bundle of extra CA certificates (an intranet CA) trusted by every outbound TLS
    /// connection on top of the system's roots (`YUNWEI_TLS_CA_FILE`); see `crate::tls`.
    pub tls_ca_file: Option<PathBuf>,
    /// The CJK font the report charts are drawn with (`YUNWEI_REPORT_FONT`): a `.ttf`,
    /// `.otf` or `.ttc` file, `path#N` for face N of a collection. Unset: the first of the
    /// usual system fonts (Debian's fonts-noto-cjk) that has the glyphs. Without a usable
    /// font the reports list the chart figures as tables and say why.
    pub report_font: Option<String>,
    pub security: SecurityConfig,
    pub audit: AuditConfig,
    pub desk: DeskConfig,
    pub monitoring: MonitoringConfig,
    pub backup: BackupConfig,
    /// Limits on imported CSV/XLSX files.
    pub import: crate::transfer::ImportLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("./yunwei-data"),
            demo: false,
            demo_days: 90,
            log_format: LogFormat::Human,
            log_level: "info".into(),
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 20 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            database_max_connections: 16,
            database_sqlite_synchronous: SqliteSynchronous::Full,
            cache_max_bytes: 32 * 1024 * 1024,
            admin_password: None,
            secret_key: None,
            metrics_token: None,
            tls_ca_file: None,
            report_font: None,
            security: SecurityConfig::default(),
            audit: AuditConfig::default(),
            desk: DeskConfig::default(),
            monitoring: MonitoringConfig::default(),
            backup: BackupConfig::default(),
            import: crate::transfer::ImportLimits::default(),
        }
    }
}

impl From<&Config> for ConnectOptions {
    fn from(c: &Config) -> Self {
        ConnectOptions {
            url: c.effective_database_url(),
            data_dir: c.data_dir.clone(),
            max_connections: c.database_max_connections,
            sqlite_synchronous: c.database_sqlite_synchronous.pragma(),
            tls_ca_file: c.tls_ca_file.clone(),
            cache_max_bytes: c.cache_max_bytes,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    /// The database URL in effect: the configured one or the SQLite file in the data dir.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.0.clone(),
            None => format!("sqlite://{}", self.data_dir.join("yunwei.db").display()),
        }
    }

    pub fn backend(&self) -> Result<Backend, String> {
        Backend::from_url(&self.effective_database_url())
    }

    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.backend()?;
        if self.demo_days > crate::demo::MAX_DAYS {
            return Err(format!(
                "demo_days / --demo-days: must be between 0 and {}",
                crate::demo::MAX_DAYS
            ));
        }
        let s = &self.security;
        if !(8..=128).contains(&s.password_min_length) {
            return Err("security.password_min_length: must be between 8 and 128".into());
        }
        if !(1..=4).contains(&s.password_min_classes) {
            return Err("security.password_min_classes: must be between 1 and 4".into());
        }
        if s.password_max_age_days < 1 {
            return Err("security.password_max_age_days: must be at least 1".into());
        }
        if s.lockout_threshold < 1 || s.lockout_minutes < 1 {
            return Err("security.lockout_threshold / lockout_minutes: must be at least 1".into());
        }
        if s.idle_timeout_minutes < 1 {
            return Err("security.idle_timeout_minutes: must be at least 1".into());
        }
        if s.api_token_max_days < 1 {
            return Err("security.api_token_max_days: must be at least 1".into());
        }
        if !self.backup.self_schedule.trim().is_empty()
            && let Err(e) = crate::domain::monitor::cron::Cron::parse(&self.backup.self_schedule)
        {
            return Err(format!("backup.self_schedule: {e}"));
        }
        if self.backup.self_keep < 1 {
            return Err("backup.self_keep: must be at least 1".into());
        }
        if !["P1", "P2", "P3", "P4"].contains(&self.backup.alert_priority.as_str()) {
            return Err("backup.alert_priority: must be one of P1, P2, P3, P4".into());
        }
        if self.audit.retention_days < 180 {
            return Err("audit.retention_days: 等保 requires at least 180 days".into());
        }
        if self.max_body_bytes < 1024 || self.max_import_bytes < 1024 {
            return Err("max_body_bytes / max_import_bytes: must be at least 1024".into());
        }
        self.import.validate()?;
        for p in &self.security.trusted_proxies {
            crate::gate::IpNet::parse(p).map_err(|e| format!("security.trusted_proxies: {e}"))?;
        }
        if self.security.login_ip_window_minutes < 1 {
            return Err("security.login_ip_window_minutes: must be at least 1".into());
        }
        if let Some(t) = &self.metrics_token
            && t.0.len() < 16
        {
            return Err("metrics_token / YUNWEI_METRICS_TOKEN: use at least 16 characters".into());
        }
        if self.cache_max_bytes < 1024 * 1024 {
            return Err("cache_max_bytes: must be at least 1048576 (1 MiB)".into());
        }
        if self.database_max_connections == 0 {
            return Err("database_max_connections: must be at least 1".into());
        }
        if !["trace", "debug", "info", "warn", "error"].contains(&self.log_level.as_str()) {
            return Err("YUNWEI_LOG_LEVEL: one of trace, debug, info, warn, error".into());
        }
        self.desk.priority_matrix.validate()?;
        if self.desk.reopen_window_days < 0
            || self.desk.auto_close_days < 1
            || self.desk.onsite_minutes < 1
        {
            return Err(
                "desk.reopen_window_days / auto_close_days / onsite_minutes: must be positive"
                    .into(),
            );
        }
        let m = &self.monitoring;
        if m.results_retention_days < 1
            || m.rollup_retention_days < 731
            || m.refire_window_minutes < 0
            || m.escalate_after_minutes < 1
            || m.flap_threshold < 2
            || m.flap_window_minutes < 1
            || m.per_target_concurrency < 1
        {
            return Err("monitoring: results_retention_days ≥ 1, rollup_retention_days ≥ 731, escalate_after_minutes ≥ 1, flap_threshold ≥ 2, flap_window_minutes ≥ 1, per_target_concurrency ≥ 1".into());
        }
        if let Some(p) = &self.admin_password {
            crate::domain::password::check_policy(&p.0, "admin", &s.password_policy())
                .map_err(|m| format!("YUNWEI_ADMIN_PASSWORD: {m}"))?;
        }
        if let Some(p) = &self.tls_ca_file {
            crate::tls::read_bundle(p)?;
        }
        Ok(())
    }

    /// The effective configuration as TOML with secrets redacted.
    pub fn redacted_toml(&self) -> String {
        let mut c = self.clone();
        if let Some(u) = &c.database_url {
            c.database_url = Some(Secret(redact_url(&u.0)));
        }
        match toml::to_string_pretty(&RedactedView(&c)) {
            Ok(s) => s,
            Err(e) => format!("# cannot print configuration: {e}\n"),
        }
    }
}

struct RedactedView<'a>(&'a Config);

impl Serialize for RedactedView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = self.0;
        let mut st = s.serialize_struct("Config", 20)?;
        st.serialize_field("listen", &c.listen.to_string())?;
        st.serialize_field(
            "database_url",
            &c.database_url
                .as_ref()
                .map(|u| u.0.clone())
                .unwrap_or_else(|| c.effective_database_url()),
        )?;
        st.serialize_field("data_dir", &c.data_dir.display().to_string())?;
        st.serialize_field("demo", &c.demo)?;
        st.serialize_field("demo_days", &c.demo_days)?;
        st.serialize_field("log_format", &c.log_format)?;
        st.serialize_field("log_level", &c.log_level)?;
        st.serialize_field("max_body_bytes", &c.max_body_bytes)?;
        st.serialize_field("max_import_bytes", &c.max_import_bytes)?;
        st.serialize_field("max_attachment_bytes", &c.max_attachment_bytes)?;
        st.serialize_field("database_max_connections", &c.database_max_connections)?;
        st.serialize_field("cache_max_bytes", &c.cache_max_bytes)?;
        st.serialize_field(
            "database_sqlite_synchronous",
            &c.database_sqlite_synchronous,
        )?;
        st.serialize_field(
            "admin_password",
            if c.admin_password.is_some() {
                "***"
            } else {
                "(generated at first start)"
            },
        )?;
        st.serialize_field(
            "metrics_token",
            if c.metrics_token.is_some() {
                "***"
            } else {
                "(not set: API tokens only)"
            },
        )?;
        st.serialize_field(
            "tls_ca_file",
            &c.tls_ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none: system roots only)".into()),
        )?;
        st.serialize_field(
            "report_font",
            c.report_font
                .as_deref()
                .unwrap_or("(auto: the first system CJK font found)"),
        )?;
        st.serialize_field("security", &c.security)?;
        st.serialize_field("audit", &c.audit)?;
        st.serialize_field("desk", &c.desk)?;
        st.serialize_field("monitoring", &c.monitoring)?;
        st.serialize_field("import", &c.import)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_database_scheme_is_refused_naming_the_setting() {
        let c = Config {
            database_url: Some(Secret("mysql://x".into())),
            ..Config::default()
        };
        let e = c.validate().unwrap_err();
        assert!(e.contains("YUNWEI_DATABASE_URL"), "{e}");
    }

    #[test]
    fn sqlite_synchronous_reads_full_or_normal_and_refuses_anything_else_naming_it() {
        let c: Config = toml::from_str("database_sqlite_synchronous = \"normal\"").unwrap();
        assert_eq!(c.database_sqlite_synchronous.pragma(), "NORMAL");
        assert_eq!(
            Config::default().database_sqlite_synchronous.pragma(),
            "FULL"
        );
        let e = toml::from_str::<Config>("database_sqlite_synchronous = \"off\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("database_sqlite_synchronous") || e.contains("off"),
            "{e}"
        );
        assert!(e.contains("full") && e.contains("normal"), "{e}");
    }

    #[test]
    fn a_cache_budget_under_one_mebibyte_is_refused_and_the_default_is_printed() {
        let c = Config {
            cache_max_bytes: 1024,
            ..Config::default()
        };
        let e = c.validate().unwrap_err();
        assert!(e.contains("cache_max_bytes"), "{e}");
        assert!(Config::default().validate().is_ok());
        assert!(
            Config::default()
                .redacted_toml()
                .contains("cache_max_bytes = 33554432")
        );
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        let c = Config {
            database_url: Some(Secret("postgres://u:secret@h/db".into())),
            ..Config::default()
        };
        assert!(!c.redacted_toml().contains("secret"));
    }

    #[test]
    fn a_missing_or_unparseable_ca_bundle_is_refused_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        for p in [dir.path().join("missing.pem"), garbage] {
            let c = Config {
                tls_ca_file: Some(p.clone()),
                ..Config::default()
            };
            let e = c.validate().unwrap_err();
            assert!(
                e.contains("tls_ca_file") && e.contains("YUNWEI_TLS_CA_FILE"),
                "{e}"
            );
            assert!(e.contains(&p.display().to_string()), "{e}");
        }
    }

    #[test]
    fn the_ca_bundle_shows_in_the_effective_configuration() {
        let c = Config {
            tls_ca_file: Some(PathBuf::from("/etc/yunwei/intranet-ca.pem")),
            ..Config::default()
        };
        assert!(
            c.redacted_toml()
                .contains("tls_ca_file = \"/etc/yunwei/intranet-ca.pem\""),
            "{}",
            c.redacted_toml()
        );
        assert!(Config::default().redacted_toml().contains("tls_ca_file"));
    }

    #[test]
    fn the_report_font_shows_in_the_effective_configuration_and_reads_from_toml() {
        let c: Config = toml::from_str("report_font = \"/usr/share/fonts/x.ttc#2\"").unwrap();
        assert_eq!(c.report_font.as_deref(), Some("/usr/share/fonts/x.ttc#2"));
        assert!(
            c.redacted_toml()
                .contains("report_font = \"/usr/share/fonts/x.ttc#2\""),
            "{}",
            c.redacted_toml()
        );
        assert!(
            Config::default()
                .redacted_toml()
                .contains("report_font = \"(auto: the first system CJK font found)\"")
        );
    }

    #[test]
    fn audit_retention_below_180_days_is_refused() {
        let mut c = Config::default();
        c.audit.retention_days = 30;
        assert!(c.validate().unwrap_err().contains("audit.retention_days"));
    }
}
