//! SNMP names a monitor definition uses: OIDs in dotted notation, and the SNMPv3
//! (User-based Security Model) security level, protocols and length limits, spelled the
//! way net-snmp spells them. The client is `crate::monitor::snmp`.

use std::fmt;
use std::str::FromStr;

/// Largest number of arcs an OID may have in SNMP (RFC 2578 §3.5).
const MAX_OID_ARCS: usize = 128;

/// An object identifier, e.g. 1.3.6.1.2.1.1.3.0.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// Parses dotted notation, with or without a leading dot.
    ///
    /// The OID needs at least two arcs, the first 0, 1 or 2, and the second
    /// below 40 when the first is 0 or 1 (X.690 §8.19.4).
    pub fn parse(s: &str) -> Result<Oid, String> {
        let text = s.trim();
        let body = text.strip_prefix('.').unwrap_or(text);
        if body.is_empty() {
            return Err("OID 不能为空".to_string());
        }
        let mut arcs = Vec::new();
        for (i, part) in body.split('.').enumerate() {
            if part.is_empty() {
                return Err(format!("OID“{text}”的第 {} 段为空（多余的点）", i + 1));
            }
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("OID“{text}”的第 {} 段“{part}”不是非负整数", i + 1));
            }
            let arc = part.parse::<u32>().map_err(|_| {
                format!(
                    "OID“{text}”的第 {} 段“{part}”超出范围（最大 {}）",
                    i + 1,
                    u32::MAX
                )
            })?;
            arcs.push(arc);
        }
        let oid = Oid(arcs);
        oid.validate().map_err(|e| format!("OID“{text}”{e}"))?;
        Ok(oid)
    }

    /// Whether `prefix` is a prefix of this OID (an OID starts with itself).
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// Checks the constraints BER places on the first two arcs.
    fn validate(&self) -> Result<(), String> {
        let arcs = &self.0;
        if arcs.len() < 2 {
            return Err("至少需要两段（例如 1.3）".to_string());
        }
        if arcs.len() > MAX_OID_ARCS {
            return Err(format!("段数为 {}，超过上限 {MAX_OID_ARCS}", arcs.len()));
        }
        match arcs[0] {
            0 | 1 if arcs[1] >= 40 => Err(format!(
                "第一段为 {} 时第二段必须小于 40，实际为 {}",
                arcs[0], arcs[1]
            )),
            0..=2 if arcs[1] > u32::MAX - 80 => Err("第二段过大".to_string()),
            0..=2 => Ok(()),
            first => Err(format!("第一段必须是 0、1 或 2，实际为 {first}")),
        }
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

impl FromStr for Oid {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Oid::parse(s)
    }
}

/// Shortest password net-snmp accepts for a v3 user (RFC 3414 §11.2 recommends 8).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted here; net-snmp's own limit is far above any real one.
pub const MAX_PASSWORD_LEN: usize = 128;
/// Longest USM user name (SnmpAdminString (SIZE(1..32)), RFC 3414 §5).
pub const MAX_USERNAME_LEN: usize = 32;
/// Longest context name (SnmpAdminString (SIZE(0..32)), RFC 3411 §5).
pub const MAX_CONTEXT_LEN: usize = 32;

/// The USM security level of the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityLevel {
    NoAuthNoPriv,
    AuthNoPriv,
    AuthPriv,
}

impl SecurityLevel {
    pub const NAMES: &'static str = "noAuthNoPriv、authNoPriv 或 authPriv";

    /// Case-insensitive, as net-snmp's `-l` option.
    pub fn parse(s: &str) -> Option<SecurityLevel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "noauthnopriv" => Some(SecurityLevel::NoAuthNoPriv),
            "authnopriv" => Some(SecurityLevel::AuthNoPriv),
            "authpriv" => Some(SecurityLevel::AuthPriv),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityLevel::NoAuthNoPriv => "noAuthNoPriv",
            SecurityLevel::AuthNoPriv => "authNoPriv",
            SecurityLevel::AuthPriv => "authPriv",
        }
    }
}

/// The authentication (HMAC) protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl AuthProtocol {
    pub const NAMES: &'static str = "SHA、SHA-224、SHA-256、SHA-384、SHA-512 或 MD5";

    /// Case-insensitive; "SHA" and "SHA-1" are both SHA-1, "SHA256" is "SHA-256".
    pub fn parse(s: &str) -> Option<AuthProtocol> {
        let t = s.trim().to_ascii_uppercase().replace(['-', '_'], "");
        match t.as_str() {
            "MD5" => Some(AuthProtocol::Md5),
            "SHA" | "SHA1" => Some(AuthProtocol::Sha1),
            "SHA224" => Some(AuthProtocol::Sha224),
            "SHA256" => Some(AuthProtocol::Sha256),
            "SHA384" => Some(AuthProtocol::Sha384),
            "SHA512" => Some(AuthProtocol::Sha512),
            _ => None,
        }
    }

    /// net-snmp's name, which is also what the config stores.
    pub fn name(self) -> &'static str {
        match self {
            AuthProtocol::Md5 => "MD5",
            AuthProtocol::Sha1 => "SHA",
            AuthProtocol::Sha224 => "SHA-224",
            AuthProtocol::Sha256 => "SHA-256",
            AuthProtocol::Sha384 => "SHA-384",
            AuthProtocol::Sha512 => "SHA-512",
        }
    }
}

/// The privacy (encryption) protocol. AES-192/256 come in two key-extension variants:
/// Blumenthal (net-snmp's `AES192`/`AES256`) and Reeder, which Cisco uses (net-snmp's
/// `AES192C`/`AES256C`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivProtocol {
    Des,
    Aes128,
    Aes192,
    Aes256,
    Aes192C,
    Aes256C,
}

impl PrivProtocol {
    pub const NAMES: &'static str = "AES、AES-192、AES-256、AES-192-C、AES-256-C 或 DES";

    /// Case-insensitive; "AES" and "AES-128" are both AES-128, "AES256C" is "AES-256-C".
    pub fn parse(s: &str) -> Option<PrivProtocol> {
        let t = s.trim().to_ascii_uppercase().replace(['-', '_'], "");
        match t.as_str() {
            "DES" => Some(PrivProtocol::Des),
            "AES" | "AES128" => Some(PrivProtocol::Aes128),
            "AES192" => Some(PrivProtocol::Aes192),
            "AES256" => Some(PrivProtocol::Aes256),
            "AES192C" | "AES192CISCO" => Some(PrivProtocol::Aes192C),
            "AES256C" | "AES256CISCO" => Some(PrivProtocol::Aes256C),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PrivProtocol::Des => "DES",
            PrivProtocol::Aes128 => "AES",
            PrivProtocol::Aes192 => "AES-192",
            PrivProtocol::Aes256 => "AES-256",
            PrivProtocol::Aes192C => "AES-192-C",
            PrivProtocol::Aes256C => "AES-256-C",
        }
    }
}

/// The keys of a v3 monitor's secret: a JSON object stored encrypted, as the v2c
/// community is.
pub const SECRET_KEYS: [&str; 2] = ["auth_password", "priv_password"];
