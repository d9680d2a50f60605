//! SNMP client for the snmp probe: GET, GETNEXT and a bounded walk, over v2c (community)
//! or v3 (User-based Security Model: noAuthNoPriv, authNoPriv, authPriv).
//!
//! The wire work is the `async-snmp` crate's: BER encoding and bounded decoding, request
//! ids, retransmission, engine discovery, the engine time window, key localisation,
//! HMAC-SHA-1/SHA-2 and AES/DES privacy. This module keeps what the product adds: OIDs
//! validated with Chinese messages (`domain::monitor::snmp`, re-exported here), values as text and numbers, a walk that falls back
//! to GET on a scalar, and errors that say what to fix (a v3 report of a wrong digest
//! names the authentication password; an agent that answers discovery but drops every
//! encrypted request names the privacy password).
//!
//! Each call opens its own UDP socket towards the agent; a request is sent again once
//! if no response arrived within 35% of the timeout. A wrong community makes
//! agents stay silent, which shows up here as [`SnmpError::Timeout`].

mod usm;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::domain::monitor::snmp::{
    AuthProtocol, MAX_CONTEXT_LEN, MAX_PASSWORD_LEN, MAX_USERNAME_LEN, MIN_PASSWORD_LEN, Oid,
    PrivProtocol, SecurityLevel,
};
pub use usm::{Credentials, SECRET_KEYS, Usm};

/// A variable value as carried in an SNMP response.
#[derive(Clone, Debug, PartialEq)]
pub enum SnmpValue {
    Int(i64),
    Str(Vec<u8>),
    Oid(Oid),
    IpAddr([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    /// Hundredths of a second.
    TimeTicks(u32),
    Counter64(u64),
    /// Opaque data; also used for application types this client does not know.
    Opaque(Vec<u8>),
    Null,
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl SnmpValue {
    /// The value as a number: integers, counters, gauges and time ticks;
    /// strings that hold a number (some agents report e.g. load averages
    /// as text); and net-snmp's float/double inside Opaque.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SnmpValue::Int(v) => Some(*v as f64),
            SnmpValue::Counter32(v) | SnmpValue::Gauge32(v) | SnmpValue::TimeTicks(v) => {
                Some(f64::from(*v))
            }
            SnmpValue::Counter64(v) => Some(*v as f64),
            SnmpValue::Str(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.trim().trim_end_matches('\0').parse::<f64>().ok())
                .filter(|v| v.is_finite()),
            SnmpValue::Opaque(bytes) => opaque_float(bytes),
            _ => None,
        }
    }

    /// The value as display text. Strings are shown as text if they are
    /// printable UTF-8 (trailing NULs dropped), otherwise as hex bytes
    /// ("00 1A 2B"); time ticks as the raw number of hundredths.
    pub fn to_text(&self) -> String {
        match self {
            SnmpValue::Int(v) => v.to_string(),
            SnmpValue::Str(bytes) => printable(bytes).unwrap_or_else(|| hex(bytes)),
            SnmpValue::Oid(oid) => oid.to_string(),
            SnmpValue::IpAddr([a, b, c, d]) => format!("{a}.{b}.{c}.{d}"),
            SnmpValue::Counter32(v) | SnmpValue::Gauge32(v) | SnmpValue::TimeTicks(v) => {
                v.to_string()
            }
            SnmpValue::Counter64(v) => v.to_string(),
            SnmpValue::Opaque(bytes) => match opaque_float(bytes) {
                Some(v) => v.to_string(),
                None => hex(bytes),
            },
            SnmpValue::Null => "空值（Null）".to_string(),
            SnmpValue::NoSuchObject => "无此对象（noSuchObject）".to_string(),
            SnmpValue::NoSuchInstance => "无此实例（noSuchInstance）".to_string(),
            SnmpValue::EndOfMibView => "已到 MIB 视图末尾（endOfMibView）".to_string(),
        }
    }

    /// Whether this is one of the v2c/v3 exception values (noSuchObject,
    /// noSuchInstance, endOfMibView) rather than data.
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            SnmpValue::NoSuchObject | SnmpValue::NoSuchInstance | SnmpValue::EndOfMibView
        )
    }
}

/// The bytes as text if they are valid UTF-8 without control characters
/// (tab, CR and LF allowed); trailing NULs are dropped first.
fn printable(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
        .then(|| text.to_string())
}

fn hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(" ")
}

/// Decodes net-snmp's Opaque-wrapped float (9F 78 04 ...) or double
/// (9F 79 08 ...).
fn opaque_float(bytes: &[u8]) -> Option<f64> {
    match bytes {
        [0x9F, 0x78, 0x04, a, b, c, d] => Some(f64::from(f32::from_be_bytes([*a, *b, *c, *d]))),
        [0x9F, 0x79, 0x08, rest @ ..] => rest.try_into().ok().map(f64::from_be_bytes),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

impl Oid {
    fn to_lib(&self) -> async_snmp::Oid {
        async_snmp::Oid::from_slice(&self.0)
    }

    fn from_lib(oid: &async_snmp::Oid) -> Oid {
        Oid(oid.arcs().to_vec())
    }
}

impl From<async_snmp::Value> for SnmpValue {
    fn from(v: async_snmp::Value) -> SnmpValue {
        use async_snmp::Value as V;
        match v {
            V::Integer(n) => SnmpValue::Int(n.into()),
            V::OctetString(b) => SnmpValue::Str(b.to_vec()),
            V::Null => SnmpValue::Null,
            V::ObjectIdentifier(o) => SnmpValue::Oid(Oid::from_lib(&o)),
            V::IpAddress(a) => SnmpValue::IpAddr(a),
            V::Counter32(n) => SnmpValue::Counter32(n),
            V::Gauge32(n) | V::UInteger32(n) => SnmpValue::Gauge32(n),
            V::TimeTicks(n) => SnmpValue::TimeTicks(n),
            V::Counter64(n) => SnmpValue::Counter64(n),
            V::Opaque(b) | V::Nsap(b) | V::Unknown { data: b, .. } => SnmpValue::Opaque(b.to_vec()),
            V::NoSuchObject => SnmpValue::NoSuchObject,
            V::NoSuchInstance => SnmpValue::NoSuchInstance,
            V::EndOfMibView => SnmpValue::EndOfMibView,
            // A value kind added by a later version of the crate.
            _ => SnmpValue::Opaque(Vec::new()),
        }
    }
}

/// Why an SNMPv3 agent refused the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsmFailure {
    /// usmStatsWrongDigests: the authentication password or protocol is wrong.
    WrongDigest,
    /// usmStatsDecryptionErrors: the privacy password or protocol is wrong.
    DecryptionError,
    /// The agent answered engine discovery but dropped the encrypted request, which is
    /// what net-snmp does when the privacy key is wrong.
    PrivacyNoAnswer,
    /// usmStatsUnknownUserNames.
    UnknownUser,
    /// usmStatsUnsupportedSecLevels: the user does not have this security level.
    UnsupportedSecurityLevel,
    /// usmStatsNotInTimeWindows, still after the client's resynchronisation.
    NotInTimeWindow,
    /// usmStatsUnknownEngineIDs, still after discovery.
    UnknownEngine,
    /// The response did not pass this side's checks (user name, engine, HMAC).
    ResponseNotAuthentic,
    /// Another report.
    Other(String),
}

/// Why an SNMP request failed.
#[derive(Debug)]
pub enum SnmpError {
    /// No response within the timeout (after one retry). Also what a wrong
    /// community name looks like: agents drop such requests silently.
    Timeout,
    /// A socket error, e.g. the port is unreachable.
    Io(String),
    /// A response (or a request OID) that could not be encoded or decoded.
    Malformed(String),
    /// The agent answered with a non-zero error-status; `index` is the
    /// 1-based position of the offending variable (0 if none).
    ErrorStatus { status: u32, index: u32 },
    /// SNMPv3 security refused the exchange.
    Usm(UsmFailure),
    /// The credentials cannot be used (e.g. a password shorter than 8 characters).
    Config(String),
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnmpError::Timeout => {
                f.write_str("SNMP 设备无响应（超时，请检查地址、端口和团体名或 SNMPv3 用户名）")
            }
            SnmpError::Io(e) => write!(f, "SNMP 网络错误：{e}"),
            SnmpError::Malformed(e) => write!(f, "SNMP 报文格式错误：{e}"),
            SnmpError::ErrorStatus { status, index } => {
                write!(f, "SNMP 设备返回错误：{}", error_status_name(*status))?;
                if *index > 0 {
                    write!(f, "，出错的是第 {index} 个变量")?;
                }
                Ok(())
            }
            SnmpError::Usm(u) => f.write_str(&usm_message(u)),
            SnmpError::Config(e) => write!(f, "SNMP 配置无效：{e}"),
        }
    }
}

impl std::error::Error for SnmpError {}

fn usm_message(u: &UsmFailure) -> String {
    match u {
        UsmFailure::WrongDigest => "SNMPv3 认证失败：认证密码（auth_password）或认证协议（auth_protocol）与设备上的用户配置不一致（wrongDigest）".into(),
        UsmFailure::DecryptionError => "SNMPv3 解密失败：加密密码（priv_password）或加密协议（priv_protocol）与设备上的用户配置不一致（decryptionError）".into(),
        UsmFailure::PrivacyNoAnswer => "SNMPv3 加密请求无应答：设备响应了引擎发现，却没有回应加密的请求，多为加密密码（priv_password）或加密协议（priv_protocol）与设备上的用户配置不一致".into(),
        UsmFailure::UnknownUser => "SNMPv3 用户名（username）在设备上不存在（unknownUserName）".into(),
        UsmFailure::UnsupportedSecurityLevel => "设备上的该 SNMPv3 用户不支持所选安全级别（security_level），请按设备配置选择 noAuthNoPriv、authNoPriv 或 authPriv".into(),
        UsmFailure::NotInTimeWindow => "SNMPv3 时间窗口校验失败（notInTimeWindow）：设备的引擎时间在同步后仍不一致，请稍后重试".into(),
        UsmFailure::UnknownEngine => "SNMPv3 引擎发现失败（unknownEngineID）".into(),
        UsmFailure::ResponseNotAuthentic => "设备的 SNMPv3 响应未通过认证校验（用户名、引擎 ID 或认证码不符），请检查用户名和认证密码".into(),
        UsmFailure::Other(s) => format!("SNMPv3 安全校验失败：{s}"),
    }
}

/// Chinese description of an error-status value (RFC 3416 §3).
fn error_status_name(status: u32) -> String {
    let name = match status {
        1 => "响应过大（tooBig）",
        2 => "无此名称（noSuchName）",
        3 => "值错误（badValue）",
        4 => "只读（readOnly）",
        5 => "一般错误（genErr）",
        6 => "无权访问（noAccess）",
        7 => "类型错误（wrongType）",
        8 => "长度错误（wrongLength）",
        9 => "编码错误（wrongEncoding）",
        10 => "取值错误（wrongValue）",
        11 => "无法创建（noCreation）",
        12 => "取值不一致（inconsistentValue）",
        13 => "资源不可用（resourceUnavailable）",
        14 => "提交失败（commitFailed）",
        15 => "撤销失败（undoFailed）",
        16 => "未授权（authorizationError）",
        17 => "不可写（notWritable）",
        18 => "名称不一致（inconsistentName）",
        other => return format!("错误状态 {other}"),
    };
    name.to_string()
}

/// One `op` request for `oids` on a session of its own; none when there are no OIDs.
async fn one_request(
    op: Op,
    target: SocketAddr,
    credentials: &Credentials,
    oids: &[Oid],
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let session = Session::open(target, credentials, timeout).await?;
    session.request(op, oids).await
}

/// GET: the values of `oids`, in the order the agent returns them (the
/// request order for conforming agents). Missing objects come back as
/// `NoSuchObject`/`NoSuchInstance` values, not as errors.
pub async fn get(
    target: SocketAddr,
    credentials: &Credentials,
    oids: &[Oid],
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    one_request(Op::Get, target, credentials, oids, timeout).await
}

/// GETNEXT: for each OID, the next object in the agent's MIB view
/// (`EndOfMibView` past the end).
pub async fn get_next(
    target: SocketAddr,
    credentials: &Credentials,
    oids: &[Oid],
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    one_request(Op::GetNext, target, credentials, oids, timeout).await
}

/// Walks the subtree under `root` with GETNEXT until the agent leaves the
/// subtree or reports `EndOfMibView`, returning at most `max_rows` rows.
///
/// `timeout` applies to each request. If the subtree has no rows below
/// `root`, `root` itself is fetched with GET (as snmpwalk does), so walking
/// a scalar such as sysUpTime.0 returns that one value. An agent that
/// returns OIDs out of order is reported as `Malformed` rather than looped
/// on.
pub async fn walk(
    target: SocketAddr,
    credentials: &Credentials,
    root: &Oid,
    max_rows: usize,
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    if max_rows == 0 {
        return Ok(Vec::new());
    }
    let session = Session::open(target, credentials, timeout).await?;
    let mut rows: Vec<(Oid, SnmpValue)> = Vec::new();
    let mut current = root.clone();
    while rows.len() < max_rows {
        let reply = session
            .request(Op::GetNext, std::slice::from_ref(&current))
            .await?;
        let Some((oid, value)) = reply.into_iter().next() else {
            return Err(SnmpError::Malformed("GETNEXT 响应中没有变量".to_string()));
        };
        if value.is_exception() || !oid.starts_with(root) {
            break;
        }
        if oid <= current {
            return Err(SnmpError::Malformed(format!(
                "设备返回的 OID 未递增（请求 {current}，返回 {oid}）"
            )));
        }
        current = oid.clone();
        rows.push((oid, value));
    }
    if rows.is_empty() {
        let reply = session.request(Op::Get, std::slice::from_ref(root)).await?;
        rows.extend(
            reply
                .into_iter()
                .filter(|(oid, value)| oid == root && !value.is_exception()),
        );
    }
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    GetNext,
}

/// A client bound to one agent. For v3 it remembers the discovered engine, so a walk
/// discovers once.
struct Session {
    client: async_snmp::UdpClient,
    target: SocketAddr,
    /// For v3 with privacy: where discovery leaves the agent's engine, to tell a wrong
    /// privacy key (agent alive, encrypted requests dropped) from a dead agent.
    engines: Option<Arc<async_snmp::EngineCache>>,
}

impl Session {
    async fn open(
        target: SocketAddr,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Session, SnmpError> {
        // Two attempts (one retransmission) within 70% of the timeout, leaving room for
        // name resolution and v3 engine discovery: the result, which may name a wrong
        // password, arrives before a caller's own deadline of the same length.
        let attempt = (timeout * 7 / 20).max(Duration::from_millis(1));
        let retry = async_snmp::Retry::fixed(1, Duration::ZERO)
            .map_err(|e| SnmpError::Config(e.to_string()))?;
        let (auth, engines) = match credentials {
            Credentials::V2c(community) => (async_snmp::Auth::v2c(community.as_str()), None),
            Credentials::V3(user) => {
                let config = user.lib_config().map_err(SnmpError::Config)?;
                let engines = user
                    .privacy
                    .is_some()
                    .then(|| Arc::new(async_snmp::EngineCache::new()));
                (async_snmp::Auth::from(config), engines)
            }
        };
        let mut builder = async_snmp::Client::builder(target, auth)
            .request_timeout(attempt)
            .retry(retry)
            .construction_timeout(timeout.max(Duration::from_millis(1)))
            // Only the agent's own address answers (as with a connected socket).
            .strict_source(true)
            // net-snmp reports a wrong digest (and a stale time window) without
            // authentication, as RFC 3414 has it for keys it cannot verify. Accepting
            // those Reports turns a wrong password into a named failure instead of a
            // timeout; a forged one can only fail a probe, never pass it, and an
            // unauthenticated Response is still refused.
            .allow_unauthenticated_v3_time_correction(true);
        if let Some(cache) = &engines {
            builder = builder.engine_cache(cache.clone());
        }
        let client = builder.connect().await.map_err(|e| lib_error(&e))?;
        Ok(Session {
            client,
            target,
            engines,
        })
    }

    async fn request(&self, op: Op, oids: &[Oid]) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
        let oids: Vec<async_snmp::Oid> = oids.iter().map(Oid::to_lib).collect();
        let reply = match op {
            Op::Get => self.client.get_many(&oids).await,
            Op::GetNext => self.client.get_next_many(&oids).await,
        };
        match reply {
            Ok(r) => Ok(r
                .varbinds
                .into_iter()
                .map(|vb| (Oid::from_lib(&vb.oid), SnmpValue::from(vb.value)))
                .collect()),
            Err(e) => {
                let err = lib_error(&e);
                let discovered = self
                    .engines
                    .as_ref()
                    .is_some_and(|c| c.get(&self.target).is_some());
                Err(match err {
                    SnmpError::Timeout if discovered => SnmpError::Usm(UsmFailure::PrivacyNoAnswer),
                    other => other,
                })
            }
        }
    }
}

/// Maps the crate's error to ours, with the v3 reports spelled out.
fn lib_error(e: &async_snmp::Error) -> SnmpError {
    use async_snmp::Error as E;
    use async_snmp::v3::ReportStatus as R;
    match e.exchange_source() {
        E::Timeout { .. } | E::ConstructionTimeout { .. } => SnmpError::Timeout,
        E::Network { source, .. } => {
            if source.kind() == std::io::ErrorKind::ConnectionRefused {
                SnmpError::Io(format!("目标端口不可达（没有 SNMP 服务在监听）：{source}"))
            } else {
                SnmpError::Io(source.to_string())
            }
        }
        E::Snmp { status, index, .. } => SnmpError::ErrorStatus {
            status: u32::try_from(status.as_i32()).unwrap_or(u32::MAX),
            index: *index,
        },
        E::Auth { .. } => SnmpError::Usm(UsmFailure::ResponseNotAuthentic),
        E::Report { status, .. } => SnmpError::Usm(match status.as_ref() {
            R::WrongDigest { .. } => UsmFailure::WrongDigest,
            R::DecryptionError { .. } => UsmFailure::DecryptionError,
            R::UnknownUserName { .. } => UsmFailure::UnknownUser,
            R::UnsupportedSecurityLevel { .. } => UsmFailure::UnsupportedSecurityLevel,
            R::NotInTimeWindow { .. } => UsmFailure::NotInTimeWindow,
            R::UnknownEngineId { .. } => UsmFailure::UnknownEngine,
            other => UsmFailure::Other(other.to_string()),
        }),
        E::Decode(d) => SnmpError::Malformed(d.to_string()),
        E::MalformedResponse { .. } | E::ResponseShape { .. } => {
            SnmpError::Malformed("响应与请求不符".to_string())
        }
        E::Config(s) => SnmpError::Config(s.to_string()),
        E::InvalidOid(s) | E::InvalidMessage(s) => SnmpError::Malformed(s.to_string()),
        other => SnmpError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod peer_tests;
