//! Minimal async SNMP v2c client: GET, GETNEXT and a bounded walk.
//!
//! The BER encoding and decoding of the few ASN.1 types SNMP uses is written
//! by hand. Requests go out over a UDP socket connected to the agent, so only
//! datagrams from the agent's address are considered; a response whose
//! request-id does not match is ignored. Each request is sent again once if
//! no response arrived within half of the timeout.
//!
//! A wrong community name makes agents stay silent, which shows up here as
//! [`SnmpError::Timeout`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::time::Instant;

/// SNMP version field value for v2c.
const VERSION_2C: i64 = 1;
/// Largest number of arcs an OID may have in SNMP (RFC 2578 §3.5).
const MAX_OID_ARCS: usize = 128;
/// Receive buffer size; large enough for any UDP datagram.
const RECV_BUFFER: usize = 65_535;

// Universal and application tags.
const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_IP_ADDRESS: u8 = 0x40;
const TAG_COUNTER32: u8 = 0x41;
const TAG_GAUGE32: u8 = 0x42;
const TAG_TIMETICKS: u8 = 0x43;
const TAG_OPAQUE: u8 = 0x44;
const TAG_COUNTER64: u8 = 0x46;
/// UInteger32 from SNMPv2 drafts; decoded as Gauge32.
const TAG_UINTEGER32: u8 = 0x47;
// Exception values in v2c responses.
const TAG_NO_SUCH_OBJECT: u8 = 0x80;
const TAG_NO_SUCH_INSTANCE: u8 = 0x81;
const TAG_END_OF_MIB_VIEW: u8 = 0x82;
// PDU types.
const PDU_GET: u8 = 0xA0;
const PDU_GET_NEXT: u8 = 0xA1;
const PDU_RESPONSE: u8 = 0xA2;

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

/// A variable value as carried in an SNMP v2c response.
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

    /// Whether this is one of the v2c exception values (noSuchObject,
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
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnmpError::Timeout => f.write_str("SNMP 设备无响应（超时，请检查地址、端口和团体名）"),
            SnmpError::Io(e) => write!(f, "SNMP 网络错误：{e}"),
            SnmpError::Malformed(e) => write!(f, "SNMP 报文格式错误：{e}"),
            SnmpError::ErrorStatus { status, index } => {
                write!(f, "SNMP 设备返回错误：{}", error_status_name(*status))?;
                if *index > 0 {
                    write!(f, "，出错的是第 {index} 个变量")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SnmpError {}

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

/// GET: the values of `oids`, in the order the agent returns them (the
/// request order for conforming agents). Missing objects come back as
/// `NoSuchObject`/`NoSuchInstance` values, not as errors.
pub async fn get(
    target: SocketAddr,
    community: &str,
    oids: &[Oid],
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let session = Session::open(target, community).await?;
    session.request(PDU_GET, oids, timeout).await
}

/// GETNEXT: for each OID, the next object in the agent's MIB view
/// (`EndOfMibView` past the end).
pub async fn get_next(
    target: SocketAddr,
    community: &str,
    oids: &[Oid],
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let session = Session::open(target, community).await?;
    session.request(PDU_GET_NEXT, oids, timeout).await
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
    community: &str,
    root: &Oid,
    max_rows: usize,
    timeout: Duration,
) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
    if max_rows == 0 {
        return Ok(Vec::new());
    }
    let session = Session::open(target, community).await?;
    let mut rows: Vec<(Oid, SnmpValue)> = Vec::new();
    let mut current = root.clone();
    while rows.len() < max_rows {
        let reply = session
            .request(PDU_GET_NEXT, std::slice::from_ref(&current), timeout)
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
        let reply = session
            .request(PDU_GET, std::slice::from_ref(root), timeout)
            .await?;
        rows.extend(
            reply
                .into_iter()
                .filter(|(oid, value)| oid == root && !value.is_exception()),
        );
    }
    Ok(rows)
}

/// A UDP socket connected to one agent, plus the community to use.
struct Session {
    socket: UdpSocket,
    community: Vec<u8>,
}

impl Session {
    async fn open(target: SocketAddr, community: &str) -> Result<Self, SnmpError> {
        let bind: SocketAddr = if target.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let socket = UdpSocket::bind(bind).await.map_err(io_error)?;
        socket.connect(target).await.map_err(io_error)?;
        Ok(Session {
            socket,
            community: community.as_bytes().to_vec(),
        })
    }

    /// Sends one request and waits for the matching response; the request
    /// is sent again once after half of `timeout`.
    async fn request(
        &self,
        pdu_type: u8,
        oids: &[Oid],
        timeout: Duration,
    ) -> Result<Vec<(Oid, SnmpValue)>, SnmpError> {
        let request_id = random_request_id();
        let packet = encode_request(pdu_type, &self.community, request_id, oids)
            .map_err(SnmpError::Malformed)?;
        let start = Instant::now();
        let deadline = start + timeout;
        let retry_at = start + timeout / 2;
        let mut buf = vec![0u8; RECV_BUFFER];
        // The last datagram that could not be decoded, reported if nothing
        // better arrives.
        let mut last_error: Option<String> = None;
        for attempt_deadline in [retry_at, deadline] {
            self.socket.send(&packet).await.map_err(io_error)?;
            loop {
                let received =
                    tokio::time::timeout_at(attempt_deadline, self.socket.recv(&mut buf)).await;
                let len = match received {
                    Err(_) => break, // this attempt timed out
                    Ok(Err(e)) => return Err(io_error(e)),
                    Ok(Ok(len)) => len,
                };
                match decode_response(&buf[..len]) {
                    Ok(resp) => {
                        // Stale responses to earlier requests, or responses
                        // for another community, are not ours.
                        if resp.request_id != request_id || resp.community != self.community {
                            continue;
                        }
                        if resp.error_status != 0 {
                            return Err(SnmpError::ErrorStatus {
                                status: resp.error_status,
                                index: resp.error_index,
                            });
                        }
                        return Ok(resp.varbinds);
                    }
                    Err(e) => last_error = Some(e),
                }
            }
        }
        Err(match last_error {
            Some(e) => SnmpError::Malformed(e),
            None => SnmpError::Timeout,
        })
    }
}

fn io_error(e: std::io::Error) -> SnmpError {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        SnmpError::Io(format!("目标端口不可达（没有 SNMP 服务在监听）：{e}"))
    } else {
        SnmpError::Io(e.to_string())
    }
}

/// A positive 31-bit request id from the std hasher (randomly keyed per
/// process), the clock and a counter.
fn random_request_id() -> i32 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let h = hasher.finish();
    let id = ((h ^ (h >> 32)) & 0x7FFF_FFFF) as i32;
    id.max(1)
}

// ---------------------------------------------------------------------------
// BER encoding

/// Appends a definite-form length.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a complete tag-length-value.
fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_length(out, content.len());
    out.extend_from_slice(content);
}

/// Minimal two's complement content octets of a signed integer.
fn integer_content(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    // Drop leading bytes that only repeat the sign of the next byte.
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Minimal content octets of an unsigned integer (a leading zero byte is
/// added when the top bit is set, so it does not read as negative).
fn unsigned_content(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take(7).take_while(|&&b| b == 0).count();
    let mut out = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[skip..]);
    out
}

/// Content octets of an OID.
fn oid_content(oid: &Oid) -> Result<Vec<u8>, String> {
    oid.validate().map_err(|e| format!("OID“{oid}”无效：{e}"))?;
    let arcs = &oid.0;
    let mut out = Vec::with_capacity(arcs.len() + 4);
    push_subidentifier(&mut out, arcs[0] * 40 + arcs[1]);
    for &arc in &arcs[2..] {
        push_subidentifier(&mut out, arc);
    }
    Ok(out)
}

/// Appends a base-128 sub-identifier, high groups flagged with bit 8.
fn push_subidentifier(out: &mut Vec<u8>, v: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut rest = v;
    loop {
        groups[n] = (rest & 0x7F) as u8;
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// Appends a value as a complete TLV.
fn push_value(out: &mut Vec<u8>, value: &SnmpValue) -> Result<(), String> {
    match value {
        SnmpValue::Int(v) => push_tlv(out, TAG_INTEGER, &integer_content(*v)),
        SnmpValue::Str(s) => push_tlv(out, TAG_OCTET_STRING, s),
        SnmpValue::Oid(oid) => push_tlv(out, TAG_OID, &oid_content(oid)?),
        SnmpValue::IpAddr(a) => push_tlv(out, TAG_IP_ADDRESS, a),
        SnmpValue::Counter32(v) => push_tlv(out, TAG_COUNTER32, &unsigned_content((*v).into())),
        SnmpValue::Gauge32(v) => push_tlv(out, TAG_GAUGE32, &unsigned_content((*v).into())),
        SnmpValue::TimeTicks(v) => push_tlv(out, TAG_TIMETICKS, &unsigned_content((*v).into())),
        SnmpValue::Counter64(v) => push_tlv(out, TAG_COUNTER64, &unsigned_content(*v)),
        SnmpValue::Opaque(b) => push_tlv(out, TAG_OPAQUE, b),
        SnmpValue::Null => push_tlv(out, TAG_NULL, &[]),
        SnmpValue::NoSuchObject => push_tlv(out, TAG_NO_SUCH_OBJECT, &[]),
        SnmpValue::NoSuchInstance => push_tlv(out, TAG_NO_SUCH_INSTANCE, &[]),
        SnmpValue::EndOfMibView => push_tlv(out, TAG_END_OF_MIB_VIEW, &[]),
    }
    Ok(())
}

/// Encodes a v2c message carrying a request PDU with NULL values.
fn encode_request(
    pdu_type: u8,
    community: &[u8],
    request_id: i32,
    oids: &[Oid],
) -> Result<Vec<u8>, String> {
    let mut varbinds = Vec::new();
    for oid in oids {
        let mut vb = Vec::new();
        push_tlv(&mut vb, TAG_OID, &oid_content(oid)?);
        push_value(&mut vb, &SnmpValue::Null)?;
        push_tlv(&mut varbinds, TAG_SEQUENCE, &vb);
    }
    let mut pdu = Vec::new();
    push_tlv(&mut pdu, TAG_INTEGER, &integer_content(request_id.into()));
    push_tlv(&mut pdu, TAG_INTEGER, &[0]); // error-status
    push_tlv(&mut pdu, TAG_INTEGER, &[0]); // error-index
    push_tlv(&mut pdu, TAG_SEQUENCE, &varbinds);
    let mut msg = Vec::new();
    push_tlv(&mut msg, TAG_INTEGER, &integer_content(VERSION_2C));
    push_tlv(&mut msg, TAG_OCTET_STRING, community);
    push_tlv(&mut msg, pdu_type, &pdu);
    let mut out = Vec::with_capacity(msg.len() + 4);
    push_tlv(&mut out, TAG_SEQUENCE, &msg);
    Ok(out)
}

// ---------------------------------------------------------------------------
// BER decoding

/// A bounds-checked BER reader over a byte slice.
struct Ber<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Ber<'a> {
    fn new(data: &'a [u8]) -> Self {
        Ber { data, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| format!("报文在偏移 {} 处意外结束", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads one TLV and returns its tag and content.
    fn tlv(&mut self) -> Result<(u8, &'a [u8]), String> {
        let tag = self.byte()?;
        if tag & 0x1F == 0x1F {
            return Err(format!("不支持多字节标签 0x{tag:02X}"));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else if first == 0x80 {
            return Err("不支持不定长编码".to_string());
        } else {
            let n = usize::from(first & 0x7F);
            if n > 4 {
                return Err(format!("长度字段占 {n} 字节，过长"));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.byte()?);
            }
            len
        };
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "标签 0x{tag:02X} 的长度 {len} 超出报文剩余的 {} 字节",
                    self.data.len().saturating_sub(self.pos)
                )
            })?;
        let content = &self.data[self.pos..end];
        self.pos = end;
        Ok((tag, content))
    }

    /// Reads a TLV that must carry `tag`.
    fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let (got, content) = self.tlv()?;
        if got != tag {
            return Err(format!("{what}的标签应为 0x{tag:02X}，实际为 0x{got:02X}"));
        }
        Ok(content)
    }
}

/// Decodes a signed INTEGER of up to 64 bits.
fn decode_integer(content: &[u8]) -> Result<i64, String> {
    if content.is_empty() {
        return Err("INTEGER 内容为空".to_string());
    }
    if content.len() > 8 {
        return Err(format!("INTEGER 长度 {} 超过 64 位", content.len()));
    }
    let mut v: i64 = if content[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in content {
        v = (v << 8) | i64::from(b);
    }
    Ok(v)
}

/// Decodes an unsigned application integer that must fit in `bits` bits.
/// Leading zero bytes are accepted; a set top bit without one (a common
/// agent bug) is read as unsigned as well.
fn decode_unsigned(content: &[u8], bits: u32, what: &str) -> Result<u64, String> {
    if content.is_empty() {
        return Err(format!("{what} 内容为空"));
    }
    let significant: &[u8] = {
        let skip = content.iter().take_while(|&&b| b == 0).count();
        &content[skip..]
    };
    if significant.len() > 8 {
        return Err(format!("{what} 超出 {bits} 位"));
    }
    let v = significant
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if bits < 64 && v >> bits != 0 {
        return Err(format!("{what} 的值 {v} 超出 {bits} 位"));
    }
    Ok(v)
}

fn decode_u32(content: &[u8], what: &str) -> Result<u32, String> {
    let v = decode_unsigned(content, 32, what)?;
    u32::try_from(v).map_err(|_| format!("{what} 的值 {v} 超出 32 位"))
}

/// Decodes OID content octets.
fn decode_oid(content: &[u8]) -> Result<Oid, String> {
    if content.is_empty() {
        return Err("OID 内容为空".to_string());
    }
    let mut subids = Vec::new();
    let mut acc: u32 = 0;
    let mut in_progress = false;
    for &b in content {
        if !in_progress && b == 0x80 {
            return Err("OID 子标识符有多余的前导 0x80".to_string());
        }
        if acc > (u32::MAX >> 7) {
            return Err("OID 子标识符超出 32 位".to_string());
        }
        acc = (acc << 7) | u32::from(b & 0x7F);
        if b & 0x80 != 0 {
            in_progress = true;
        } else {
            subids.push(acc);
            acc = 0;
            in_progress = false;
        }
    }
    if in_progress {
        return Err("OID 最后一个子标识符不完整".to_string());
    }
    let first = subids[0];
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut arcs = Vec::with_capacity(subids.len() + 1);
    arcs.push(a);
    arcs.push(b);
    arcs.extend_from_slice(&subids[1..]);
    Ok(Oid(arcs))
}

/// Decodes one value TLV.
fn decode_value(tag: u8, content: &[u8]) -> Result<SnmpValue, String> {
    Ok(match tag {
        TAG_INTEGER => SnmpValue::Int(decode_integer(content)?),
        TAG_OCTET_STRING => SnmpValue::Str(content.to_vec()),
        TAG_NULL => SnmpValue::Null,
        TAG_OID => SnmpValue::Oid(decode_oid(content)?),
        TAG_IP_ADDRESS => SnmpValue::IpAddr(
            content
                .try_into()
                .map_err(|_| format!("IpAddress 长度应为 4，实际为 {}", content.len()))?,
        ),
        TAG_COUNTER32 => SnmpValue::Counter32(decode_u32(content, "Counter32")?),
        TAG_GAUGE32 | TAG_UINTEGER32 => SnmpValue::Gauge32(decode_u32(content, "Gauge32")?),
        TAG_TIMETICKS => SnmpValue::TimeTicks(decode_u32(content, "TimeTicks")?),
        TAG_COUNTER64 => SnmpValue::Counter64(decode_unsigned(content, 64, "Counter64")?),
        TAG_OPAQUE => SnmpValue::Opaque(content.to_vec()),
        TAG_NO_SUCH_OBJECT => SnmpValue::NoSuchObject,
        TAG_NO_SUCH_INSTANCE => SnmpValue::NoSuchInstance,
        TAG_END_OF_MIB_VIEW => SnmpValue::EndOfMibView,
        // Other application types (e.g. NsapAddress) are kept as raw bytes.
        0x45 | 0x48..=0x5E => SnmpValue::Opaque(content.to_vec()),
        other => return Err(format!("不支持的值类型 0x{other:02X}")),
    })
}

/// A decoded response PDU.
#[derive(Debug)]
struct Response {
    community: Vec<u8>,
    request_id: i32,
    error_status: u32,
    error_index: u32,
    varbinds: Vec<(Oid, SnmpValue)>,
}

/// Decodes a v2c message that carries a Response PDU.
fn decode_response(msg: &[u8]) -> Result<Response, String> {
    let mut outer = Ber::new(msg);
    let body = outer.expect(TAG_SEQUENCE, "消息")?;
    let mut m = Ber::new(body);
    let version = decode_integer(m.expect(TAG_INTEGER, "版本号")?)?;
    if version != VERSION_2C {
        return Err(format!("版本号应为 1（v2c），实际为 {version}"));
    }
    let community = m.expect(TAG_OCTET_STRING, "团体名")?.to_vec();
    let (pdu_type, pdu) = m.tlv()?;
    if pdu_type != PDU_RESPONSE {
        return Err(format!(
            "PDU 类型应为 Response（0xA2），实际为 0x{pdu_type:02X}"
        ));
    }
    let mut p = Ber::new(pdu);
    let request_id = decode_integer(p.expect(TAG_INTEGER, "request-id")?)?;
    let request_id =
        i32::try_from(request_id).map_err(|_| format!("request-id {request_id} 超出范围"))?;
    let error_status = decode_integer(p.expect(TAG_INTEGER, "error-status")?)?;
    let error_index = decode_integer(p.expect(TAG_INTEGER, "error-index")?)?;
    let error_status =
        u32::try_from(error_status).map_err(|_| format!("error-status {error_status} 无效"))?;
    let error_index =
        u32::try_from(error_index).map_err(|_| format!("error-index {error_index} 无效"))?;
    let mut list = Ber::new(p.expect(TAG_SEQUENCE, "变量列表")?);
    let mut varbinds = Vec::new();
    while !list.is_empty() {
        let mut vb = Ber::new(list.expect(TAG_SEQUENCE, "变量绑定")?);
        let oid = decode_oid(vb.expect(TAG_OID, "变量名")?)?;
        let (tag, content) = vb.tlv()?;
        let value = decode_value(tag, content).map_err(|e| format!("{oid}：{e}"))?;
        varbinds.push((oid, value));
    }
    Ok(Response {
        community,
        request_id,
        error_status,
        error_index,
        varbinds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn value_tlv(v: &SnmpValue) -> Vec<u8> {
        let mut out = Vec::new();
        push_value(&mut out, v).unwrap();
        out
    }

    fn decode_tlv(bytes: &[u8]) -> SnmpValue {
        let mut r = Ber::new(bytes);
        let (tag, content) = r.tlv().unwrap();
        assert!(r.is_empty());
        decode_value(tag, content).unwrap()
    }

    #[test]
    fn parses_and_prints_oids() {
        assert_eq!(oid("1.3.6.1.2.1.1.3.0").0, vec![1, 3, 6, 1, 2, 1, 1, 3, 0]);
        assert_eq!(oid(".1.3.6.1").to_string(), "1.3.6.1");
        assert_eq!(oid(" 2.999.1 ").to_string(), "2.999.1");
        assert_eq!("1.3".parse::<Oid>().unwrap(), Oid(vec![1, 3]));
        let bad = [
            ("", "为空"),
            (".", "为空"),
            ("1", "两段"),
            ("1..3", "为空"),
            ("1.3.", "为空"),
            ("1.3.a", "不是非负整数"),
            ("1.3.-1", "不是非负整数"),
            ("1.3.4294967296", "超出范围"),
            ("3.1", "第一段"),
            ("1.40", "小于 40"),
            ("0.99", "小于 40"),
        ];
        for (text, needle) in bad {
            let err = Oid::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        let too_long = vec!["1"; 129].join(".");
        assert!(Oid::parse(&too_long).unwrap_err().contains("128"));
    }

    #[test]
    fn oid_prefix_and_order() {
        let root = oid("1.3.6.1.2.1.2.2.1.8");
        assert!(oid("1.3.6.1.2.1.2.2.1.8.1").starts_with(&root));
        assert!(root.starts_with(&root));
        assert!(!oid("1.3.6.1.2.1.2.2.1.80").starts_with(&root));
        assert!(!oid("1.3.6.1.2.1.2.2.1").starts_with(&root));
        // Numeric, arc by arc ordering.
        assert!(oid("1.3.6.1.2.1.2.2.1.8.9") < oid("1.3.6.1.2.1.2.2.1.10.1"));
        assert!(oid("1.3.6.1") < oid("1.3.6.1.0"));
    }

    #[test]
    fn encodes_lengths() {
        for (len, want) in [
            (0usize, vec![0x00]),
            (127, vec![0x7F]),
            (128, vec![0x81, 0x80]),
            (255, vec![0x81, 0xFF]),
            (256, vec![0x82, 0x01, 0x00]),
            (70_000, vec![0x83, 0x01, 0x11, 0x70]),
        ] {
            let mut out = Vec::new();
            push_length(&mut out, len);
            assert_eq!(out, want, "{len}");
        }
        // Round trip of a long string through the TLV reader.
        let long = SnmpValue::Str(vec![b'x'; 300]);
        let tlv = value_tlv(&long);
        assert_eq!(&tlv[..4], &[0x04, 0x82, 0x01, 0x2C]);
        assert_eq!(decode_tlv(&tlv), long);
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(
            Ber::new(&[0x04, 0x80])
                .tlv()
                .unwrap_err()
                .contains("不定长")
        );
        assert!(Ber::new(&[0x04, 0x85, 1, 0, 0, 0, 0]).tlv().is_err());
        assert!(
            Ber::new(&[0x04, 0x05, 1, 2])
                .tlv()
                .unwrap_err()
                .contains("超出")
        );
        assert!(Ber::new(&[0x04, 0x82, 0x01]).tlv().is_err());
        assert!(Ber::new(&[0x04]).tlv().is_err());
        assert!(Ber::new(&[0x1F, 0x01, 0x00]).tlv().is_err());
    }

    #[test]
    fn encodes_integers() {
        for (v, want) in [
            (0i64, vec![0x00]),
            (127, vec![0x7F]),
            (128, vec![0x00, 0x80]),
            (256, vec![0x01, 0x00]),
            (-1, vec![0xFF]),
            (-128, vec![0x80]),
            (-129, vec![0xFF, 0x7F]),
            (-32768, vec![0x80, 0x00]),
            (i64::from(i32::MAX), vec![0x7F, 0xFF, 0xFF, 0xFF]),
            (i64::from(i32::MIN), vec![0x80, 0x00, 0x00, 0x00]),
            (i64::MIN, vec![0x80, 0, 0, 0, 0, 0, 0, 0]),
        ] {
            assert_eq!(integer_content(v), want, "{v}");
            assert_eq!(decode_integer(&want).unwrap(), v, "{v}");
        }
        // Non-minimal encodings from agents are accepted.
        assert_eq!(decode_integer(&[0xFF, 0xFF, 0xFE]).unwrap(), -2);
        assert_eq!(decode_integer(&[0x00, 0x00, 0x05]).unwrap(), 5);
        assert!(decode_integer(&[]).is_err());
        assert!(decode_integer(&[0; 9]).is_err());
    }

    #[test]
    fn encodes_unsigned_types() {
        assert_eq!(unsigned_content(0), vec![0]);
        assert_eq!(unsigned_content(0x7F), vec![0x7F]);
        assert_eq!(unsigned_content(0x80), vec![0x00, 0x80]);
        assert_eq!(
            unsigned_content(u64::from(u32::MAX)),
            vec![0x00, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            unsigned_content(u64::MAX),
            vec![0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        for v in [
            SnmpValue::Counter32(u32::MAX),
            SnmpValue::Gauge32(1_000_000_000),
            SnmpValue::TimeTicks(123_456_789),
            SnmpValue::Counter64(0),
            SnmpValue::Counter64(123_456_789_012_345),
            SnmpValue::Counter64(u64::MAX),
            SnmpValue::IpAddr([10, 1, 2, 3]),
            SnmpValue::Int(-5),
            SnmpValue::Null,
            SnmpValue::NoSuchObject,
            SnmpValue::NoSuchInstance,
            SnmpValue::EndOfMibView,
            SnmpValue::Oid(oid("1.3.6.1.4.1.25506.1.1")),
        ] {
            assert_eq!(decode_tlv(&value_tlv(&v)), v, "{v:?}");
        }
        // Counter64 bytes as net-snmp sends them.
        assert_eq!(
            decode_tlv(&[0x46, 0x06, 0x70, 0x48, 0x86, 0x0D, 0xDF, 0x79]),
            SnmpValue::Counter64(123_456_789_012_345)
        );
        assert_eq!(
            decode_tlv(&[
                0x46, 0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
            ]),
            SnmpValue::Counter64(u64::MAX)
        );
        // Agents that forget the leading zero.
        assert_eq!(
            decode_tlv(&[0x41, 0x04, 0xFF, 0xFF, 0xFF, 0xFF]),
            SnmpValue::Counter32(u32::MAX)
        );
        assert!(decode_value(TAG_COUNTER32, &[0x01, 0x00, 0x00, 0x00, 0x00]).is_err());
        assert!(decode_value(TAG_COUNTER64, &[1, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_value(TAG_IP_ADDRESS, &[1, 2, 3]).is_err());
        assert!(decode_value(0x30, &[]).is_err());
        assert_eq!(
            decode_value(0x45, &[1, 2]).unwrap(),
            SnmpValue::Opaque(vec![1, 2])
        );
    }

    #[test]
    fn encodes_oids() {
        // 1.3.6.1.4.1.2021 = 2B 06 01 04 01 8F 65: arc 2021 needs two bytes.
        assert_eq!(
            oid_content(&oid("1.3.6.1.4.1.2021")).unwrap(),
            vec![0x2B, 0x06, 0x01, 0x04, 0x01, 0x8F, 0x65]
        );
        assert_eq!(oid_content(&oid("1.3.6.1.2.1.1.3.0")).unwrap()[0], 0x2B);
        // 128 and 16384 sit on the group boundaries.
        assert_eq!(
            oid_content(&oid("1.3.128.16383.16384")).unwrap(),
            vec![0x2B, 0x81, 0x00, 0xFF, 0x7F, 0x81, 0x80, 0x00]
        );
        assert_eq!(
            oid_content(&oid("1.3.4294967295")).unwrap(),
            vec![0x2B, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F]
        );
        // First two arcs combined: 2.999 -> 1079 = 88 37.
        assert_eq!(
            oid_content(&oid("2.999.3")).unwrap(),
            vec![0x88, 0x37, 0x03]
        );
        assert_eq!(oid_content(&oid("0.0")).unwrap(), vec![0x00]);
        for text in [
            "1.3.6.1.4.1.2021",
            "1.3.128.16383.16384",
            "1.3.4294967295",
            "2.999.3",
            "0.39",
            "1.0",
        ] {
            assert_eq!(
                decode_oid(&oid_content(&oid(text)).unwrap()).unwrap(),
                oid(text)
            );
        }
        // Invalid OIDs built by hand are refused, not encoded.
        assert!(oid_content(&Oid(vec![1])).is_err());
        assert!(oid_content(&Oid(vec![3, 1])).is_err());
        assert!(oid_content(&Oid(vec![1, 40])).is_err());
        // Broken encodings.
        assert!(decode_oid(&[]).is_err());
        assert!(decode_oid(&[0x2B, 0x86]).unwrap_err().contains("不完整"));
        assert!(decode_oid(&[0x2B, 0x80, 0x01]).is_err());
        assert!(
            decode_oid(&[0x2B, 0x90, 0x80, 0x80, 0x80, 0x00])
                .unwrap_err()
                .contains("32")
        );
    }

    #[test]
    fn encodes_get_request_like_net_snmp() {
        // snmpget -v2c -c public host 1.3.6.1.2.1.1.3.0 with request-id 0x1234
        let packet =
            encode_request(PDU_GET, b"public", 0x1234, &[oid("1.3.6.1.2.1.1.3.0")]).unwrap();
        let want: Vec<u8> = vec![
            0x30, 0x27, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA0,
            0x1A, 0x02, 0x02, 0x12, 0x34, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0E, 0x30,
            0x0C, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05, 0x00,
        ];
        assert_eq!(packet, want);
    }

    /// Builds a response message the way an agent would.
    fn response(
        community: &[u8],
        request_id: i32,
        status: i64,
        index: i64,
        varbinds: &[(Oid, SnmpValue)],
    ) -> Vec<u8> {
        let mut list = Vec::new();
        for (o, v) in varbinds {
            let mut vb = Vec::new();
            push_tlv(&mut vb, TAG_OID, &oid_content(o).unwrap());
            push_value(&mut vb, v).unwrap();
            push_tlv(&mut list, TAG_SEQUENCE, &vb);
        }
        let mut pdu = Vec::new();
        push_tlv(&mut pdu, TAG_INTEGER, &integer_content(request_id.into()));
        push_tlv(&mut pdu, TAG_INTEGER, &integer_content(status));
        push_tlv(&mut pdu, TAG_INTEGER, &integer_content(index));
        push_tlv(&mut pdu, TAG_SEQUENCE, &list);
        let mut msg = Vec::new();
        push_tlv(&mut msg, TAG_INTEGER, &[1]);
        push_tlv(&mut msg, TAG_OCTET_STRING, community);
        push_tlv(&mut msg, PDU_RESPONSE, &pdu);
        let mut out = Vec::new();
        push_tlv(&mut out, TAG_SEQUENCE, &msg);
        out
    }

    #[test]
    fn decodes_responses() {
        let big = SnmpValue::Str("龙口西机房".repeat(20).into_bytes()); // > 127 bytes
        let vbs = vec![
            (oid("1.3.6.1.2.1.1.6.0"), big.clone()),
            (
                oid("1.3.6.1.2.1.31.1.1.1.6.1"),
                SnmpValue::Counter64(u64::MAX - 1),
            ),
            (oid("1.3.6.1.2.1.1.9.0"), SnmpValue::NoSuchObject),
        ];
        let msg = response(b"public", 77, 0, 0, &vbs);
        assert!(msg.len() > 255);
        let r = decode_response(&msg).unwrap();
        assert_eq!(r.request_id, 77);
        assert_eq!(r.community, b"public");
        assert_eq!(r.error_status, 0);
        assert_eq!(r.varbinds, vbs);
        // Every truncation of the message fails cleanly.
        for n in 0..msg.len() {
            assert!(decode_response(&msg[..n]).is_err(), "prefix {n}");
        }
        // A request is not a response.
        let req = encode_request(PDU_GET, b"public", 5, &[oid("1.3.6.1")]).unwrap();
        assert!(decode_response(&req).unwrap_err().contains("Response"));
        let e = decode_response(&response(b"public", 1, 2, 1, &[])).unwrap();
        assert_eq!((e.error_status, e.error_index), (2, 1));
        assert!(decode_response(&response(b"public", 1, -1, 0, &[])).is_err());
    }

    #[test]
    fn value_text_and_numbers() {
        assert_eq!(
            SnmpValue::Str("龙口西机房".as_bytes().to_vec()).to_text(),
            "龙口西机房"
        );
        assert_eq!(SnmpValue::Str(b"eth0\0\0".to_vec()).to_text(), "eth0");
        assert_eq!(
            SnmpValue::Str(vec![0x00, 0x1A, 0x2B, 0xFF]).to_text(),
            "00 1A 2B FF"
        );
        assert_eq!(SnmpValue::Str(vec![0x01, b'a']).to_text(), "01 61");
        assert_eq!(SnmpValue::Str(Vec::new()).to_text(), "");
        assert_eq!(SnmpValue::IpAddr([192, 0, 2, 1]).to_text(), "192.0.2.1");
        assert_eq!(SnmpValue::Int(-3).to_text(), "-3");
        assert_eq!(SnmpValue::TimeTicks(150).to_text(), "150");
        assert_eq!(SnmpValue::Oid(oid("1.3.6.1")).to_text(), "1.3.6.1");
        assert!(
            SnmpValue::NoSuchInstance
                .to_text()
                .contains("noSuchInstance")
        );

        assert_eq!(SnmpValue::Int(-3).as_f64(), Some(-3.0));
        assert_eq!(SnmpValue::Gauge32(38).as_f64(), Some(38.0));
        assert_eq!(
            SnmpValue::Counter64(1 << 40).as_f64(),
            Some((1u64 << 40) as f64)
        );
        assert_eq!(SnmpValue::Str(b" 0.25 ".to_vec()).as_f64(), Some(0.25));
        assert_eq!(SnmpValue::Str(b"abc".to_vec()).as_f64(), None);
        assert_eq!(SnmpValue::Str(b"NaN".to_vec()).as_f64(), None);
        assert_eq!(SnmpValue::Null.as_f64(), None);
        assert_eq!(SnmpValue::IpAddr([1, 2, 3, 4]).as_f64(), None);
        // net-snmp laLoadFloat: Opaque(Float 0.5)
        let float = SnmpValue::Opaque(vec![0x9F, 0x78, 0x04, 0x3F, 0x00, 0x00, 0x00]);
        assert_eq!(float.as_f64(), Some(0.5));
        assert_eq!(float.to_text(), "0.5");
        let mut double = vec![0x9F, 0x79, 0x08];
        double.extend_from_slice(&1.25f64.to_be_bytes());
        assert_eq!(SnmpValue::Opaque(double).as_f64(), Some(1.25));
        assert_eq!(SnmpValue::Opaque(vec![1, 2]).as_f64(), None);
    }

    #[test]
    fn error_messages_are_chinese() {
        assert_eq!(
            SnmpError::Timeout.to_string(),
            "SNMP 设备无响应（超时，请检查地址、端口和团体名）"
        );
        let e = SnmpError::ErrorStatus {
            status: 2,
            index: 1,
        };
        assert_eq!(
            e.to_string(),
            "SNMP 设备返回错误：无此名称（noSuchName），出错的是第 1 个变量"
        );
        let e = SnmpError::ErrorStatus {
            status: 99,
            index: 0,
        };
        assert_eq!(e.to_string(), "SNMP 设备返回错误：错误状态 99");
    }

    #[test]
    fn request_ids_are_positive_and_vary() {
        let ids: std::collections::HashSet<i32> = (0..64).map(|_| random_request_id()).collect();
        assert!(ids.len() > 60);
        assert!(ids.iter().all(|&id| id > 0));
    }

    /// Reads the request-id and varbind OIDs of a request (test agent side).
    fn parse_request(msg: &[u8]) -> (u8, i32, Vec<Oid>) {
        let mut outer = Ber::new(msg);
        let mut m = Ber::new(outer.expect(TAG_SEQUENCE, "msg").unwrap());
        m.expect(TAG_INTEGER, "version").unwrap();
        m.expect(TAG_OCTET_STRING, "community").unwrap();
        let (pdu_type, pdu) = m.tlv().unwrap();
        let mut p = Ber::new(pdu);
        let id = decode_integer(p.expect(TAG_INTEGER, "id").unwrap()).unwrap() as i32;
        p.expect(TAG_INTEGER, "status").unwrap();
        p.expect(TAG_INTEGER, "index").unwrap();
        let mut list = Ber::new(p.expect(TAG_SEQUENCE, "list").unwrap());
        let mut oids = Vec::new();
        while !list.is_empty() {
            let mut vb = Ber::new(list.expect(TAG_SEQUENCE, "vb").unwrap());
            oids.push(decode_oid(vb.expect(TAG_OID, "oid").unwrap()).unwrap());
        }
        (pdu_type, id, oids)
    }

    /// A fake agent that ignores the first request, then sends a stale
    /// response, a garbage datagram and finally the real one.
    #[tokio::test]
    async fn retries_and_ignores_foreign_responses() {
        let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = agent.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n1, _) = agent.recv_from(&mut buf).await.unwrap();
            let first = buf[..n1].to_vec();
            let (n2, peer) = agent.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n2], &first[..], "retry resends the same request");
            let (pdu_type, id, oids) = parse_request(&buf[..n2]);
            assert_eq!(pdu_type, PDU_GET);
            let vbs = vec![(oids[0].clone(), SnmpValue::TimeTicks(42))];
            let stale = response(b"public", id.wrapping_add(1), 0, 0, &vbs);
            agent.send_to(&stale, peer).await.unwrap();
            agent.send_to(b"\x30\x03garbage", peer).await.unwrap();
            agent
                .send_to(&response(b"other", id, 0, 0, &vbs), peer)
                .await
                .unwrap();
            agent
                .send_to(&response(b"public", id, 0, 0, &vbs), peer)
                .await
                .unwrap();
        });
        let sys_up = oid("1.3.6.1.2.1.1.3.0");
        let got = get(
            addr,
            "public",
            std::slice::from_ref(&sys_up),
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(got.unwrap(), vec![(sys_up, SnmpValue::TimeTicks(42))]);
        task.await.unwrap();
    }

    /// A fake agent serving a small table, including one that answers
    /// out of order.
    async fn fake_agent(rows: Vec<(Oid, SnmpValue)>, answers: usize) -> SocketAddr {
        let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = agent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            for _ in 0..answers {
                let Ok((n, peer)) = agent.recv_from(&mut buf).await else {
                    return;
                };
                let (pdu_type, id, oids) = parse_request(&buf[..n]);
                let vb = if pdu_type == PDU_GET_NEXT {
                    rows.iter()
                        .find(|(o, _)| *o > oids[0])
                        .cloned()
                        .unwrap_or((oids[0].clone(), SnmpValue::EndOfMibView))
                } else {
                    rows.iter()
                        .find(|(o, _)| *o == oids[0])
                        .cloned()
                        .unwrap_or((oids[0].clone(), SnmpValue::NoSuchObject))
                };
                let _ = agent
                    .send_to(&response(b"public", id, 0, 0, &[vb]), peer)
                    .await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn walk_stops_at_subtree_end_and_max_rows() {
        let rows: Vec<(Oid, SnmpValue)> = vec![
            (oid("1.3.6.1.2.1.1.3.0"), SnmpValue::TimeTicks(5)),
            (oid("1.3.6.1.2.1.2.2.1.8.1"), SnmpValue::Int(1)),
            (oid("1.3.6.1.2.1.2.2.1.8.2"), SnmpValue::Int(2)),
            (oid("1.3.6.1.2.1.2.2.1.8.3"), SnmpValue::Int(1)),
            (oid("1.3.6.1.2.1.2.2.1.10.1"), SnmpValue::Counter32(9)),
        ];
        let t = Duration::from_secs(1);
        let addr = fake_agent(rows.clone(), 10).await;
        let got = walk(addr, "public", &oid("1.3.6.1.2.1.2.2.1.8"), 100, t)
            .await
            .unwrap();
        assert_eq!(got, rows[1..4].to_vec());
        let got = walk(addr, "public", &oid("1.3.6.1.2.1.2.2.1.8"), 2, t)
            .await
            .unwrap();
        assert_eq!(got, rows[1..3].to_vec());
        // Past the last object: EndOfMibView ends the walk.
        let got = walk(addr, "public", &oid("1.3.6.1.2.1.2.2.1.10"), 100, t)
            .await
            .unwrap();
        assert_eq!(got, rows[4..].to_vec());
        // A scalar falls back to GET (one GETNEXT, one GET).
        let got = walk(addr, "public", &oid("1.3.6.1.2.1.1.3.0"), 100, t)
            .await
            .unwrap();
        assert_eq!(got, rows[..1].to_vec());
        assert!(
            walk(addr, "public", &oid("1.3"), 0, t)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn walk_detects_non_increasing_oids() {
        let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = agent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, peer)) = agent.recv_from(&mut buf).await else {
                    return;
                };
                let (_, id, _) = parse_request(&buf[..n]);
                let vb = (oid("1.3.6.1.2.1.2.2.1.8.1"), SnmpValue::Int(1));
                let _ = agent
                    .send_to(&response(b"public", id, 0, 0, &[vb]), peer)
                    .await;
            }
        });
        let got = walk(
            addr,
            "public",
            &oid("1.3.6.1.2.1.2.2.1.8"),
            100,
            Duration::from_secs(1),
        )
        .await;
        assert!(
            matches!(got, Err(SnmpError::Malformed(ref e)) if e.contains("未递增")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn error_status_is_reported() {
        let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = agent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, peer) = agent.recv_from(&mut buf).await.unwrap();
            let (_, id, _) = parse_request(&buf[..n]);
            agent
                .send_to(&response(b"public", id, 1, 0, &[]), peer)
                .await
                .unwrap();
        });
        let got = get(
            addr,
            "public",
            &[oid("1.3.6.1.2.1.1.1.0")],
            Duration::from_secs(1),
        )
        .await;
        assert!(
            matches!(
                got,
                Err(SnmpError::ErrorStatus {
                    status: 1,
                    index: 0
                })
            ),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn silent_agent_times_out_and_bad_oid_is_refused() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let start = std::time::Instant::now();
        let got = get(
            addr,
            "public",
            &[oid("1.3.6.1.2.1.1.1.0")],
            Duration::from_millis(300),
        )
        .await;
        assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(3),
            "{took:?}"
        );
        let got = get(
            addr,
            "public",
            &[Oid(vec![7, 1])],
            Duration::from_millis(300),
        )
        .await;
        assert!(matches!(got, Err(SnmpError::Malformed(_))), "{got:?}");
        assert!(
            get(addr, "public", &[], Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
    }

    // -----------------------------------------------------------------------
    // Integration tests against real agents; skipped when not installed,
    // unless YUNWEI_REQUIRE_PROBE_PEERS is set. The programs are looked up
    // in SNMPD_BIN / SNMPSIM_BIN, then PATH and the sbin directories.

    fn find_program(name: &str, env_var: &str) -> Option<std::path::PathBuf> {
        if let Some(p) = std::env::var_os(env_var) {
            return Some(p.into());
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(Into::into))
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }

    /// Kills the child and removes its scratch directory when dropped.
    struct Agent {
        child: std::process::Child,
        dir: std::path::PathBuf,
    }

    impl Drop for Agent {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn scratch_dir(tag: &str) -> std::path::PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("yunwei-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn free_udp_port() -> u16 {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Polls `probe_oid` until the agent answers or `patience` runs out.
    async fn wait_ready(
        agent: &mut Agent,
        addr: SocketAddr,
        community: &str,
        probe_oid: &Oid,
        patience: Duration,
    ) -> bool {
        let until = std::time::Instant::now() + patience;
        while std::time::Instant::now() < until {
            if let Ok(Some(_)) = agent.child.try_wait() {
                return false; // exited, e.g. the port was taken meanwhile
            }
            let probe = get(
                addr,
                community,
                std::slice::from_ref(probe_oid),
                Duration::from_millis(200),
            )
            .await;
            if probe.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn start_snmpd(bin: &std::path::Path) -> (Agent, SocketAddr) {
        for _ in 0..3 {
            let dir = scratch_dir("snmpd");
            let conf = dir.join("snmpd.conf");
            std::fs::write(
                &conf,
                "rocommunity public 127.0.0.1\n\
                 sysLocation 龙口西机房\n\
                 sysContact ops@yunwei.test\n\
                 sysName yunwei-snmpd-test\n\
                 sysDescr yunwei integration test agent\n",
            )
            .unwrap();
            let port = free_udp_port();
            let child = std::process::Command::new(bin)
                .arg("-f")
                .arg("-Lo")
                .arg("-C")
                .arg("-c")
                .arg(&conf)
                .arg(format!("udp:127.0.0.1:{port}"))
                // Keep snmpd's persistent state out of /var/lib/snmp.
                .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
                .env("MIBS", "")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn snmpd");
            let mut agent = Agent { child, dir };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if wait_ready(
                &mut agent,
                addr,
                "public",
                &oid("1.3.6.1.2.1.1.1.0"),
                Duration::from_secs(10),
            )
            .await
            {
                return (agent, addr);
            }
        }
        panic!("snmpd did not start");
    }

    #[tokio::test]
    async fn snmpd_integration() {
        let Some(bin) = find_program("snmpd", "SNMPD_BIN") else {
            assert!(
                std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
                "snmpd is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
            );
            println!("note: snmpd not installed, skipping the SNMP integration test");
            return;
        };
        let (_agent, addr) = start_snmpd(&bin).await;
        let t = Duration::from_secs(2);

        let sys_descr = oid("1.3.6.1.2.1.1.1.0");
        let sys_up = oid("1.3.6.1.2.1.1.3.0");
        let sys_location = oid("1.3.6.1.2.1.1.6.0");
        let got = get(
            addr,
            "public",
            &[sys_descr.clone(), sys_up.clone(), sys_location.clone()],
            t,
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, sys_descr);
        assert_eq!(got[0].1.to_text(), "yunwei integration test agent");
        assert_eq!(got[1].0, sys_up);
        assert!(
            matches!(got[1].1, SnmpValue::TimeTicks(_)),
            "{:?}",
            got[1].1
        );
        assert!(got[1].1.as_f64().is_some());
        assert_eq!(got[2].1.to_text(), "龙口西机房");

        // Missing objects are values, not errors.
        let got = get(
            addr,
            "public",
            &[
                oid("1.3.6.1.2.1.1.6.1"),
                oid("1.3.6.1.2.1.1.99.0"),
                oid("1.3.6.1.4.1.99999.1.0"),
            ],
            t,
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 3);
        for (o, v) in &got {
            assert!(
                matches!(v, SnmpValue::NoSuchObject | SnmpValue::NoSuchInstance),
                "{o} = {v:?}"
            );
        }

        // GETNEXT from the system group start.
        let got = get_next(addr, "public", &[oid("1.3.6.1.2.1.1")], t)
            .await
            .unwrap();
        assert_eq!(got[0].0, sys_descr);

        // Walk ifOperStatus: one row per interface, each 1..=7.
        let root = oid("1.3.6.1.2.1.2.2.1.8");
        let rows = walk(addr, "public", &root, 1000, t).await.unwrap();
        assert!(!rows.is_empty());
        for (o, v) in &rows {
            assert!(o.starts_with(&root) && o.0.len() == root.0.len() + 1, "{o}");
            assert!(matches!(v, SnmpValue::Int(1..=7)), "{o} = {v:?}");
        }
        let limited = walk(addr, "public", &oid("1.3.6.1.2.1.1"), 2, t)
            .await
            .unwrap();
        assert_eq!(limited.len(), 2);
        // A scalar walk returns the scalar.
        let scalar = walk(addr, "public", &sys_descr, 10, t).await.unwrap();
        assert_eq!(scalar.len(), 1);

        // A wrong community is silently dropped by the agent.
        let got = get(
            addr,
            "wrong-community",
            std::slice::from_ref(&sys_descr),
            Duration::from_millis(600),
        )
        .await;
        assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
    }

    /// Serves tests/fixtures/snmp/*.snmprec with snmpsim, if installed.
    #[tokio::test]
    async fn snmpsim_fixtures() {
        let Some(bin) = find_program("snmpsim-command-responder", "SNMPSIM_BIN") else {
            assert!(
                std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
                "snmpsim-command-responder is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
            );
            println!(
                "note: snmpsim-command-responder not installed, skipping the snmpsim fixture test"
            );
            return;
        };
        let data_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snmp");
        let mut started = None;
        for _ in 0..3 {
            let dir = scratch_dir("snmpsim");
            let port = free_udp_port();
            let child = std::process::Command::new(&bin)
                .arg(format!("--data-dir={}", data_dir.display()))
                .arg(format!("--cache-dir={}", dir.display()))
                .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
                .arg("--logging-method=null")
                // snmpsim refuses to run as root unless told to.
                .env("SNMPSIM_ALLOW_ROOT", "true")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn snmpsim");
            let mut agent = Agent { child, dir };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if wait_ready(
                &mut agent,
                addr,
                "ups",
                &oid("1.3.6.1.2.1.1.1.0"),
                Duration::from_secs(30),
            )
            .await
            {
                started = Some((agent, addr));
                break;
            }
        }
        let Some((_agent, addr)) = started else {
            panic!("snmpsim did not start");
        };
        let t = Duration::from_secs(3);

        let ups = get(
            addr,
            "ups",
            &[
                oid("1.3.6.1.2.1.1.1.0"),
                oid("1.3.6.1.2.1.33.1.2.1.0"),
                oid("1.3.6.1.2.1.33.1.2.3.0"),
                oid("1.3.6.1.2.1.33.1.2.4.0"),
                oid("1.3.6.1.2.1.33.1.3.1.0"),
                oid("1.3.6.1.2.1.33.1.4.1.0"),
                oid("1.3.6.1.2.1.33.1.4.4.1.5.1"),
                oid("1.3.6.1.2.1.33.1.6.1.0"),
            ],
            t,
        )
        .await
        .unwrap();
        let values: Vec<SnmpValue> = ups.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            vec![
                SnmpValue::Str(b"UPS 40kVA".to_vec()),
                SnmpValue::Int(2),
                SnmpValue::Int(45),
                SnmpValue::Int(96),
                SnmpValue::Counter32(0),
                SnmpValue::Int(3),
                SnmpValue::Int(38),
                SnmpValue::Gauge32(0),
            ]
        );

        let sys = get(
            addr,
            "switch",
            &[
                oid("1.3.6.1.2.1.1.1.0"),
                oid("1.3.6.1.2.1.1.5.0"),
                oid("1.3.6.1.2.1.1.6.0"),
            ],
            t,
        )
        .await
        .unwrap();
        assert_eq!(sys[0].1.to_text(), "H3C S5560X-30C-EI");
        assert_eq!(sys[1].1.to_text(), "core-sw-1");
        assert_eq!(sys[2].1.to_text(), "龙口西机房 A02 机柜");
        let oper = walk(addr, "switch", &oid("1.3.6.1.2.1.2.2.1.8"), 100, t)
            .await
            .unwrap();
        let oper: Vec<(String, i64)> = oper
            .into_iter()
            .map(|(o, v)| (o.to_string(), v.as_f64().unwrap() as i64))
            .collect();
        assert_eq!(
            oper,
            vec![
                ("1.3.6.1.2.1.2.2.1.8.1".to_string(), 1),
                ("1.3.6.1.2.1.2.2.1.8.2".to_string(), 1),
                ("1.3.6.1.2.1.2.2.1.8.3".to_string(), 2),
                ("1.3.6.1.2.1.2.2.1.8.4".to_string(), 1),
            ]
        );
        let hc = walk(addr, "switch", &oid("1.3.6.1.2.1.31.1.1.1.6"), 100, t)
            .await
            .unwrap();
        assert_eq!(hc.len(), 4);
        assert_eq!(hc[0].1, SnmpValue::Counter64(123_456_789_012_345));
        // The last object in the file: the walk ends on EndOfMibView.
        let last = walk(addr, "switch", &oid("1.3.6.1.2.1.31.1.1.1.15"), 100, t)
            .await
            .unwrap();
        assert_eq!(last.len(), 4);
        // An unknown community times out.
        let got = get(
            addr,
            "nope",
            &[oid("1.3.6.1.2.1.1.1.0")],
            Duration::from_millis(600),
        )
        .await;
        assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
    }
}
