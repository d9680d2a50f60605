//! Who the probe is towards the agent: a v2c community, or an SNMPv3 user of the
//! User-based Security Model (RFC 3414) with its security level, protocols and passwords,
//! spelled the way net-snmp spells them (`snmpget -l authPriv -a SHA-256 -x AES`).

use std::fmt;

use serde_json::{Map, Value};

use crate::domain::monitor::snmp::{AuthProtocol, PrivProtocol, SecurityLevel};

// The library's names for the protocols a definition names (`domain::monitor::snmp`).
impl AuthProtocol {
    fn lib(self) -> async_snmp::AuthProtocol {
        match self {
            AuthProtocol::Md5 => async_snmp::AuthProtocol::Md5,
            AuthProtocol::Sha1 => async_snmp::AuthProtocol::Sha1,
            AuthProtocol::Sha224 => async_snmp::AuthProtocol::Sha224,
            AuthProtocol::Sha256 => async_snmp::AuthProtocol::Sha256,
            AuthProtocol::Sha384 => async_snmp::AuthProtocol::Sha384,
            AuthProtocol::Sha512 => async_snmp::AuthProtocol::Sha512,
        }
    }
}

impl PrivProtocol {
    fn lib(self) -> async_snmp::PrivProtocol {
        match self {
            PrivProtocol::Des => async_snmp::PrivProtocol::Des,
            PrivProtocol::Aes128 => async_snmp::PrivProtocol::Aes128,
            PrivProtocol::Aes192 => async_snmp::PrivProtocol::Aes192Blumenthal,
            PrivProtocol::Aes256 => async_snmp::PrivProtocol::Aes256Blumenthal,
            PrivProtocol::Aes192C => async_snmp::PrivProtocol::Aes192Reeder,
            PrivProtocol::Aes256C => async_snmp::PrivProtocol::Aes256Reeder,
        }
    }
}

/// An SNMPv3 user. `privacy` is only used together with `auth`.
#[derive(Clone, PartialEq, Eq)]
pub struct Usm {
    pub username: String,
    pub auth: Option<(AuthProtocol, String)>,
    pub privacy: Option<(PrivProtocol, String)>,
    /// Context name; empty for the default context.
    pub context: String,
}

impl Usm {
    pub fn level(&self) -> SecurityLevel {
        match (&self.auth, &self.privacy) {
            (None, _) => SecurityLevel::NoAuthNoPriv,
            (Some(_), None) => SecurityLevel::AuthNoPriv,
            (Some(_), Some(_)) => SecurityLevel::AuthPriv,
        }
    }

    /// The client's configuration; fails (in Chinese) on what the spec validation would
    /// have refused, e.g. a short password in a hand-edited row.
    pub(super) fn lib_config(&self) -> Result<async_snmp::UsmConfig, String> {
        let base = async_snmp::UsmConfig::new(self.username.clone().into_bytes())
            .context_name(self.context.clone().into_bytes());
        let config = match (&self.auth, &self.privacy) {
            (None, _) => Ok(base),
            (Some((a, ap)), None) => base.auth(a.lib(), ap.as_bytes()),
            (Some((a, ap)), Some((p, pp))) => {
                base.auth_priv(a.lib(), ap.as_bytes(), p.lib(), pp.as_bytes())
            }
        };
        config.map_err(|e| format!("SNMPv3 用户“{}”的配置无效：{e}", self.username))
    }
}

/// Passwords are never printed.
impl fmt::Debug for Usm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Usm")
            .field("username", &self.username)
            .field("auth", &self.auth.as_ref().map(|(a, _)| a))
            .field("privacy", &self.privacy.as_ref().map(|(p, _)| p))
            .field("context", &self.context)
            .finish()
    }
}

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// SNMPv2c with a community name.
    V2c(String),
    V3(Usm),
}

/// Communities and passwords are never printed.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V2c(_) => f.write_str("V2c(***)"),
            Credentials::V3(u) => f.debug_tuple("V3").field(u).finish(),
        }
    }
}

pub use crate::domain::monitor::snmp::SECRET_KEYS;

impl Credentials {
    pub fn v2c(community: &str) -> Credentials {
        Credentials::V2c(community.to_string())
    }

    /// From a validated monitor config and its decrypted secret: for `version` "2c" (the
    /// default) the secret is the community ("public" when none is stored); for "3" it is
    /// a JSON object with `auth_password` and `priv_password` as the level needs them.
    pub fn from_config(
        config: &Map<String, Value>,
        secret: Option<&str>,
    ) -> Result<Credentials, String> {
        let text = |k: &str| config.get(k).and_then(Value::as_str);
        if text("version") != Some("3") {
            return Ok(Credentials::V2c(secret.unwrap_or("public").to_string()));
        }
        let level = text("security_level")
            .and_then(SecurityLevel::parse)
            .ok_or("SNMPv3 安全级别（security_level）无效，请重新保存监控配置")?;
        let secrets: Map<String, Value> = secret
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let password = |k: &str, label: &str| {
            secrets
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("没有保存 SNMPv3 {label}（{k}），请在监控配置中重新填写"))
        };
        let auth = match level {
            SecurityLevel::NoAuthNoPriv => None,
            _ => Some((
                text("auth_protocol")
                    .and_then(AuthProtocol::parse)
                    .ok_or("SNMPv3 认证协议（auth_protocol）无效，请重新保存监控配置")?,
                password("auth_password", "认证密码")?,
            )),
        };
        let privacy = match level {
            SecurityLevel::AuthPriv => Some((
                text("priv_protocol")
                    .and_then(PrivProtocol::parse)
                    .ok_or("SNMPv3 加密协议（priv_protocol）无效，请重新保存监控配置")?,
                password("priv_password", "加密密码")?,
            )),
            _ => None,
        };
        Ok(Credentials::V3(Usm {
            username: text("username").unwrap_or_default().to_string(),
            auth,
            privacy,
            context: text("context").unwrap_or_default().to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_parse_as_net_snmp_spells_them() {
        for (text, want) in [
            ("SHA", AuthProtocol::Sha1),
            ("sha-1", AuthProtocol::Sha1),
            ("SHA256", AuthProtocol::Sha256),
            ("sha-512", AuthProtocol::Sha512),
            ("MD5", AuthProtocol::Md5),
        ] {
            assert_eq!(AuthProtocol::parse(text), Some(want), "{text}");
            assert_eq!(AuthProtocol::parse(want.name()), Some(want));
        }
        assert_eq!(AuthProtocol::parse("SHA-3"), None);
        for (text, want) in [
            ("AES", PrivProtocol::Aes128),
            ("aes-128", PrivProtocol::Aes128),
            ("AES256", PrivProtocol::Aes256),
            ("AES256C", PrivProtocol::Aes256C),
            ("aes-192-c", PrivProtocol::Aes192C),
            ("DES", PrivProtocol::Des),
        ] {
            assert_eq!(PrivProtocol::parse(text), Some(want), "{text}");
            assert_eq!(PrivProtocol::parse(want.name()), Some(want));
        }
        assert_eq!(PrivProtocol::parse("3DES"), None);
        assert_eq!(
            SecurityLevel::parse("AUTHPRIV"),
            Some(SecurityLevel::AuthPriv)
        );
        assert_eq!(SecurityLevel::parse("priv"), None);
    }

    #[test]
    fn credentials_come_from_the_config_and_the_decrypted_secret() {
        let cfg = |v: serde_json::Value| v.as_object().cloned().unwrap();
        assert_eq!(
            Credentials::from_config(&cfg(serde_json::json!({})), None),
            Ok(Credentials::v2c("public"))
        );
        assert_eq!(
            Credentials::from_config(&cfg(serde_json::json!({"version": "2c"})), Some("c0m")),
            Ok(Credentials::v2c("c0m"))
        );
        let v3 = cfg(
            serde_json::json!({"version": "3", "username": "mon", "security_level": "authPriv",
            "auth_protocol": "SHA-256", "priv_protocol": "AES", "context": "ctx"}),
        );
        let got = Credentials::from_config(
            &v3,
            Some(r#"{"auth_password": "auth-pass-1", "priv_password": "priv-pass-1"}"#),
        );
        assert_eq!(
            got,
            Ok(Credentials::V3(Usm {
                username: "mon".into(),
                auth: Some((AuthProtocol::Sha256, "auth-pass-1".into())),
                privacy: Some((PrivProtocol::Aes128, "priv-pass-1".into())),
                context: "ctx".into(),
            }))
        );
        let missing = Credentials::from_config(&v3, Some(r#"{"auth_password": "auth-pass-1"}"#));
        assert!(missing.unwrap_err().contains("priv_password"));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let u = Usm {
            username: "monitor".into(),
            auth: Some((AuthProtocol::Sha256, "auth-secret-1".into())),
            privacy: Some((PrivProtocol::Aes128, "priv-secret-1".into())),
            context: String::new(),
        };
        assert_eq!(u.level(), SecurityLevel::AuthPriv);
        let text = format!(
            "{:?} {:?}",
            Credentials::V3(u),
            Credentials::v2c("c0mmunity")
        );
        for secret in ["auth-secret-1", "priv-secret-1", "c0mmunity"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("monitor"), "{text}");
    }
}
