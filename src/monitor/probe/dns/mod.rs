//! Minimal async DNS client over UDP (RFC 1035), used to probe a resolver, and the
//! dns probe itself (at the end).
//!
//! Only what a health probe needs is implemented: one question per query,
//! recursion desired, an EDNS(0) OPT record advertising a larger UDP payload
//! (dropped again if the server answers FORMERR), name compression on the
//! decoding side, rendering of the common record types as text, and a retry
//! over TCP (RFC 7766) when the UDP answer comes back truncated (TC bit).
//!
//! Kept hand-written rather than replaced by `hickory`: a probe needs one
//! query to one given server, the raw RCODE (NXDOMAIN and REFUSED are different
//! faults) and the exact records of one type, with no cache, no system resolver
//! configuration and no retries beyond its own deadline. hickory-resolver brings
//! hickory-net, hickory-proto, an LRU cache, parking_lot, rand, resolv-conf and
//! ipnet for that, and a resolver whose caching a probe would have to defeat.
//! Every read here is bounds-checked against the message (property-tested), and
//! the TCP length prefix caps a reply at 65,535 bytes.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use super::{Outcome, ProbeSpec, cfg_i64, cfg_str, ms};

pub use crate::domain::monitor::dns::RecordType;

/// Maximum length of one label in bytes (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// Maximum length of a name in presentation form, without the trailing dot.
const MAX_NAME_TEXT_LEN: usize = 253;
/// Maximum length of a name in wire form (RFC 1035 §2.3.4).
const MAX_NAME_WIRE_LEN: usize = 255;
/// Upper bound on compression pointers followed while reading one name.
const MAX_POINTER_JUMPS: usize = 64;
/// UDP payload size advertised through EDNS(0) (the DNS flag day 2020 value).
const EDNS_UDP_PAYLOAD: u16 = 1232;
/// Receive buffer size; large enough for any UDP datagram a server may send.
const RECV_BUFFER: usize = 65_535;
/// The IN class.
const CLASS_IN: u16 = 1;
/// The OPT pseudo record type (RFC 6891).
const TYPE_OPT: u16 = 41;
/// Size of the fixed message header.
const HEADER_LEN: usize = 12;

impl RecordType {
    /// The numeric TYPE value used on the wire.
    fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Ptr => 12,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a query failed.
#[derive(Debug)]
pub enum DnsError {
    /// No matching response arrived within the timeout (after one retry).
    Timeout,
    /// A socket error, e.g. the port is unreachable.
    Io(String),
    /// The response could not be decoded.
    Malformed(String),
    /// The server answered with a non-zero RCODE (3 = NXDOMAIN, 5 = REFUSED, ...).
    Rcode(u8),
    /// The name to look up is not a valid domain name.
    BadName(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Timeout => f.write_str("DNS 服务器无响应（超时）"),
            DnsError::Io(e) => write!(f, "DNS 查询网络错误：{e}"),
            DnsError::Malformed(e) => write!(f, "DNS 响应格式错误：{e}"),
            DnsError::Rcode(code) => match code {
                1 => f.write_str("DNS 服务器认为请求格式错误（FORMERR）"),
                2 => f.write_str("DNS 服务器内部错误（SERVFAIL）"),
                3 => f.write_str("域名不存在（NXDOMAIN）"),
                4 => f.write_str("DNS 服务器不支持该查询（NOTIMP）"),
                5 => f.write_str("DNS 服务器拒绝查询（REFUSED）"),
                other => write!(f, "DNS 服务器返回错误码 {other}"),
            },
            DnsError::BadName(e) => write!(f, "域名不合法：{e}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// Sends one query for `name`/`rtype` to `server` and returns the answer
/// records of the asked type rendered as text.
///
/// * A/AAAA: the address; CNAME/NS/PTR: the target name without the
///   trailing dot; MX: "10 mail.example.com"; TXT: the character strings
///   concatenated; SOA: "mname rname serial"; SRV: "prio weight port target".
/// * For any type other than CNAME, CNAME records in the answer (an alias
///   chain) are skipped and only the records of the asked type are returned.
/// * A successful response without records of that type gives `Ok(vec![])`.
/// * The query is sent again once if no response arrived within half of
///   `timeout`; the whole call never takes much longer than `timeout`.
/// * A truncated (TC) UDP response is asked again over TCP within the same
///   deadline; if the TCP answer is truncated too, its records are returned.
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Result<Vec<String>, DnsError> {
    let qname = encode_name(name)?;
    let deadline = Instant::now() + timeout;
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(bind).await.map_err(io_error)?;
    // A connected socket only delivers datagrams from `server`.
    socket.connect(server).await.map_err(io_error)?;

    let id = random_id();
    let packet = build_query(id, &qname, rtype, true);
    let reply = match exchange(&socket, &packet, id, &qname, rtype, deadline).await {
        // Some old servers reject EDNS with FORMERR: ask once more without it.
        Err(DnsError::Rcode(1)) => {
            let id = random_id();
            let packet = build_query(id, &qname, rtype, false);
            exchange(&socket, &packet, id, &qname, rtype, deadline).await?
        }
        other => other?,
    };
    if !reply.truncated {
        return Ok(reply.answers);
    }
    // The whole answer did not fit in a datagram: ask again over TCP.
    let id = random_id();
    let packet = build_query(id, &qname, rtype, false);
    match tokio::time::timeout_at(deadline, exchange_tcp(server, &packet, id, &qname, rtype)).await
    {
        Ok(Ok(reply)) => Ok(reply.answers),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(DnsError::Timeout),
    }
}

/// The decoded answer to our query.
#[derive(Debug)]
struct Reply {
    answers: Vec<String>,
    /// The TC bit: the server cut the answer to fit.
    truncated: bool,
}

/// One query over TCP: a 2-byte length prefix each way (RFC 1035 §4.2.2). The
/// reply length is read first and bounded by the prefix (at most 65,535 bytes),
/// so a hostile server cannot make us allocate more.
async fn exchange_tcp(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    qname: &[u8],
    rtype: RecordType,
) -> Result<Reply, DnsError> {
    let tcp_error = |e: std::io::Error| {
        let e = io_error(e);
        DnsError::Io(format!("UDP 响应被截断，改用 TCP 查询失败：{e}"))
    };
    let mut stream = TcpStream::connect(server).await.map_err(tcp_error)?;
    let len =
        u16::try_from(packet.len()).map_err(|_| DnsError::BadName("查询报文过长".to_string()))?;
    let mut framed = Vec::with_capacity(packet.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(packet);
    stream.write_all(&framed).await.map_err(tcp_error)?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await.map_err(tcp_error)?;
    let len = usize::from(u16::from_be_bytes(prefix));
    if len < HEADER_LEN {
        return Err(DnsError::Malformed(format!(
            "TCP 响应长度 {len} 小于报文头的 {HEADER_LEN} 字节"
        )));
    }
    let mut msg = vec![0u8; len];
    stream.read_exact(&mut msg).await.map_err(tcp_error)?;
    match parse_response(&msg, id, qname, rtype) {
        Some(result) => result,
        None => Err(DnsError::Malformed(
            "TCP 响应与查询不对应（标识或问题不符）".to_string(),
        )),
    }
}

/// Sends `packet`, retries once after half of the remaining time, and waits
/// for the matching response until `deadline`.
async fn exchange(
    socket: &UdpSocket,
    packet: &[u8],
    id: u16,
    qname: &[u8],
    rtype: RecordType,
    deadline: Instant,
) -> Result<Reply, DnsError> {
    let now = Instant::now();
    if now >= deadline {
        return Err(DnsError::Timeout);
    }
    let retry_at = now + (deadline - now) / 2;
    let mut buf = vec![0u8; RECV_BUFFER];
    for attempt_deadline in [retry_at, deadline] {
        socket.send(packet).await.map_err(io_error)?;
        loop {
            let received = tokio::time::timeout_at(attempt_deadline, socket.recv(&mut buf)).await;
            let len = match received {
                Err(_) => break, // this attempt timed out
                Ok(Err(e)) => return Err(io_error(e)),
                Ok(Ok(len)) => len,
            };
            // Datagrams that are not the response to this query (stale
            // responses, garbage) are ignored and the wait goes on.
            if let Some(result) = parse_response(&buf[..len], id, qname, rtype) {
                return result;
            }
        }
    }
    Err(DnsError::Timeout)
}

fn io_error(e: std::io::Error) -> DnsError {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        DnsError::Io(format!("目标端口不可达（没有 DNS 服务在监听）：{e}"))
    } else {
        DnsError::Io(e.to_string())
    }
}

/// A 16-bit query id from the std hasher (randomly keyed per process), the
/// clock and a counter. Not cryptographic, but unpredictable enough to tell
/// our responses apart from stale ones.
fn random_id() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let h = hasher.finish();
    (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) as u16
}

/// Validates `name` and encodes it in wire form (uncompressed).
///
/// One trailing dot is accepted; "." alone is the root. Labels must be
/// 1..=63 bytes, the name at most 253 characters, ASCII only (IDNs must be
/// given in Punycode form), without whitespace or control characters.
fn encode_name(name: &str) -> Result<Vec<u8>, DnsError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(DnsError::BadName("域名为空".to_string()));
    }
    if trimmed == "." {
        return Ok(vec![0]);
    }
    let text = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if text.len() > MAX_NAME_TEXT_LEN {
        return Err(DnsError::BadName(format!(
            "“{trimmed}”长度为 {} 个字符，超过上限 {MAX_NAME_TEXT_LEN}",
            text.len()
        )));
    }
    if !text.is_ascii() {
        return Err(DnsError::BadName(format!(
            "“{trimmed}”包含非 ASCII 字符，中文域名请使用 Punycode（xn--）形式"
        )));
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(DnsError::BadName(format!(
            "“{trimmed}”包含空白或控制字符 {c:?}"
        )));
    }
    let mut out = Vec::with_capacity(text.len() + 2);
    for label in text.split('.') {
        if label.is_empty() {
            return Err(DnsError::BadName(format!(
                "“{trimmed}”包含空标签（连续的点）"
            )));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(DnsError::BadName(format!(
                "标签“{label}”长度为 {}，超过上限 {MAX_LABEL_LEN}",
                label.len()
            )));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(out)
}

/// Builds a standard query with RD set and, optionally, an EDNS(0) OPT record.
fn build_query(id: u16, qname: &[u8], rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + qname.len() + 4 + 11);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&0x0100u16.to_be_bytes()); // QR=0, OPCODE=0, RD=1
    p.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    p.extend_from_slice(&0u16.to_be_bytes()); // ANCOUNT
    p.extend_from_slice(&0u16.to_be_bytes()); // NSCOUNT
    p.extend_from_slice(&u16::from(edns).to_be_bytes()); // ARCOUNT
    p.extend_from_slice(qname);
    p.extend_from_slice(&rtype.code().to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    if edns {
        p.push(0); // root owner name
        p.extend_from_slice(&TYPE_OPT.to_be_bytes());
        p.extend_from_slice(&EDNS_UDP_PAYLOAD.to_be_bytes()); // CLASS = payload size
        p.extend_from_slice(&0u32.to_be_bytes()); // extended RCODE, version, flags
        p.extend_from_slice(&0u16.to_be_bytes()); // RDLENGTH
    }
    p
}

/// A bounds-checked reader over a whole DNS message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(msg: &'a [u8]) -> Self {
        Reader { msg, pos: 0 }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.msg.len())
            .ok_or_else(|| format!("报文在偏移 {} 处意外结束", self.pos))?;
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a possibly compressed name at the current position and moves
    /// past it (past the first pointer, if any).
    fn name(&mut self) -> Result<String, String> {
        let (text, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(text)
    }
}

/// Reads a name starting at `start`, following compression pointers.
///
/// Returns the name in presentation form without the trailing dot ("." for
/// the root) and the offset just after the name's bytes at `start`.
/// Pointer loops are caught by bounding the number of jumps and the total
/// wire length.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), String> {
    let mut pos = start;
    let mut next = None;
    let mut jumps = 0;
    let mut wire_len = 0usize;
    let mut text = String::new();
    loop {
        let len = *msg
            .get(pos)
            .ok_or_else(|| format!("域名在偏移 {pos} 处越界"))?;
        match len & 0xC0 {
            0x00 => {
                let len = usize::from(len);
                wire_len += len + 1;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(format!("偏移 {start} 处的域名超过 255 字节"));
                }
                if len == 0 {
                    let end = next.unwrap_or(pos + 1);
                    if text.is_empty() {
                        text.push('.');
                    }
                    return Ok((text, end));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or_else(|| format!("域名标签在偏移 {pos} 处越界"))?;
                if !text.is_empty() {
                    text.push('.');
                }
                push_label(&mut text, label);
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or_else(|| format!("压缩指针在偏移 {pos} 处越界"))?;
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(format!("偏移 {start} 处的域名压缩指针形成循环"));
                }
                if next.is_none() {
                    next = Some(pos + 2);
                }
                pos = (usize::from(len & 0x3F) << 8) | usize::from(low);
            }
            _ => return Err(format!("偏移 {pos} 处的标签类型 0x{len:02x} 不受支持")),
        }
    }
}

/// Appends a label in presentation form, escaping like dig does.
fn push_label(text: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                text.push('\\');
                text.push(char::from(b));
            }
            0x21..=0x7E => text.push(char::from(b)),
            _ => text.push_str(&format!("\\{b:03}")),
        }
    }
}

/// Compares a decoded name with an uncompressed wire-form name,
/// ASCII case-insensitively.
fn same_name(a_text: &str, b_wire: &[u8]) -> bool {
    let mut b_text = String::new();
    let mut pos = 0;
    while let Some(&len) = b_wire.get(pos) {
        if len == 0 {
            break;
        }
        let Some(label) = b_wire.get(pos + 1..pos + 1 + usize::from(len)) else {
            return false;
        };
        if !b_text.is_empty() {
            b_text.push('.');
        }
        push_label(&mut b_text, label);
        pos += 1 + usize::from(len);
    }
    if b_text.is_empty() {
        b_text.push('.');
    }
    a_text.eq_ignore_ascii_case(&b_text)
}

/// Interprets a datagram as the response to our query.
///
/// Returns `None` when the datagram is not that response (too short, other
/// id, not a response, other question), so the caller keeps waiting.
///
/// Allocation is bounded by the message: at most one rendered record per
/// answer that fits in it.
fn parse_response(
    msg: &[u8],
    id: u16,
    qname: &[u8],
    rtype: RecordType,
) -> Option<Result<Reply, DnsError>> {
    let mut r = Reader::new(msg);
    let header = (|| -> Result<[u16; 6], String> {
        Ok([r.u16()?, r.u16()?, r.u16()?, r.u16()?, r.u16()?, r.u16()?])
    })();
    let Ok([resp_id, flags, qdcount, ancount, _nscount, _arcount]) = header else {
        return None;
    };
    if resp_id != id || flags & 0x8000 == 0 {
        return None;
    }
    let truncated = flags & 0x0200 != 0;
    // Check that the response echoes our question; servers may leave the
    // question out of some error responses, which is accepted.
    if qdcount > 0 {
        let question =
            (|| -> Result<(String, u16, u16), String> { Ok((r.name()?, r.u16()?, r.u16()?)) })();
        match question {
            Ok((name, qtype, qclass)) => {
                if qtype != rtype.code() || qclass != CLASS_IN || !same_name(&name, qname) {
                    return None;
                }
            }
            Err(_) if truncated => {
                return Some(Ok(Reply {
                    answers: Vec::new(),
                    truncated,
                }));
            }
            Err(e) => return Some(Err(DnsError::Malformed(e))),
        }
        // Any further questions are skipped.
        for _ in 1..qdcount {
            let skipped = (|| -> Result<(), String> {
                r.name()?;
                r.bytes(4)?;
                Ok(())
            })();
            if let Err(e) = skipped {
                return Some(if truncated {
                    Ok(Reply {
                        answers: Vec::new(),
                        truncated,
                    })
                } else {
                    Err(DnsError::Malformed(e))
                });
            }
        }
    }
    let rcode = (flags & 0x000F) as u8;
    if rcode != 0 {
        return Some(Err(DnsError::Rcode(rcode)));
    }
    let mut answers = Vec::new();
    for _ in 0..ancount {
        match read_record(&mut r, rtype) {
            Ok(Some(text)) => answers.push(text),
            Ok(None) => {}
            // A truncated response ends wherever the server cut it.
            Err(_) if truncated => break,
            Err(e) => return Some(Err(DnsError::Malformed(e))),
        }
    }
    Some(Ok(Reply { answers, truncated }))
}

/// Reads one resource record; returns its text if it is of the asked type
/// and class IN.
fn read_record(r: &mut Reader<'_>, rtype: RecordType) -> Result<Option<String>, String> {
    r.name()?;
    let rr_type = r.u16()?;
    let rr_class = r.u16()?;
    let _ttl = r.u32()?;
    let rdlen = usize::from(r.u16()?);
    let rdata_start = r.pos;
    let rdata = r.bytes(rdlen)?;
    let rdata_end = r.pos;
    if rr_type != rtype.code() || rr_class != CLASS_IN {
        return Ok(None);
    }
    // Names inside RDATA may point anywhere earlier in the message, so the
    // RDATA is decoded with a reader over the whole message and checked to
    // stay inside RDLENGTH.
    let mut d = Reader {
        msg: r.msg,
        pos: rdata_start,
    };
    let text = match rtype {
        RecordType::A => {
            let b: [u8; 4] = rdata
                .try_into()
                .map_err(|_| format!("A 记录长度应为 4，实际为 {rdlen}"))?;
            Ipv4Addr::from(b).to_string()
        }
        RecordType::Aaaa => {
            let b: [u8; 16] = rdata
                .try_into()
                .map_err(|_| format!("AAAA 记录长度应为 16，实际为 {rdlen}"))?;
            Ipv6Addr::from(b).to_string()
        }
        RecordType::Cname | RecordType::Ns | RecordType::Ptr => d.name()?,
        RecordType::Mx => {
            let pref = d.u16()?;
            let exchange = d.name()?;
            format!("{pref} {exchange}")
        }
        RecordType::Txt => {
            let mut bytes = Vec::with_capacity(rdlen);
            let mut t = Reader::new(rdata);
            while t.pos < rdata.len() {
                let len = usize::from(t.u8()?);
                bytes.extend_from_slice(t.bytes(len)?);
            }
            d.pos = rdata_end;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        RecordType::Soa => {
            let mname = d.name()?;
            let rname = d.name()?;
            let serial = d.u32()?;
            // refresh, retry, expire, minimum
            d.bytes(16)?;
            format!("{mname} {rname} {serial}")
        }
        RecordType::Srv => {
            let prio = d.u16()?;
            let weight = d.u16()?;
            let port = d.u16()?;
            let target = d.name()?;
            format!("{prio} {weight} {port} {target}")
        }
    };
    if d.pos > rdata_end {
        return Err(format!(
            "{} 记录的数据超出了 RDLENGTH（{rdlen}）",
            rtype.as_str()
        ));
    }
    Ok(Some(text))
}

// ---- the probe -------------------------------------------------------------------------

fn default_resolver() -> SocketAddr {
    std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter_map(|l| l.trim().strip_prefix("nameserver"))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .next()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 53)))
}

pub(super) async fn probe(p: &ProbeSpec) -> Outcome {
    let server = match cfg_str(&p.config, "server") {
        Some(s) => match crate::monitor::spec::split_host_port(s, Some(53)) {
            Ok((h, port)) => match h.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, port),
                Err(_) => return Outcome::fail("dns", None, format!("DNS 服务器 {s} 无效")),
            },
            Err(e) => return Outcome::fail("dns", None, e),
        },
        None => default_resolver(),
    };
    let rt = RecordType::parse(cfg_str(&p.config, "record_type").unwrap_or("A"))
        .unwrap_or(RecordType::A);
    let start = std::time::Instant::now();
    let answers = match query(server, &p.target, rt, p.timeout).await {
        Ok(a) => a,
        Err(DnsError::Timeout) => {
            return Outcome::fail(
                "timeout",
                Some(ms(start)),
                format!("DNS 服务器 {server} 无响应"),
            );
        }
        Err(e) => return Outcome::fail("dns", Some(ms(start)), e.to_string()),
    };
    let latency = ms(start);
    if answers.is_empty() {
        return Outcome::fail(
            "dns",
            Some(latency),
            format!("{} 没有 {} 记录", p.target, rt.as_str()),
        );
    }
    if let Some(Value::Array(exp)) = p.config.get("expected") {
        let want: Vec<String> = exp
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim_end_matches('.').to_lowercase())
            .collect();
        let got: Vec<String> = answers
            .iter()
            .map(|s| s.trim_end_matches('.').to_lowercase())
            .collect();
        if let Some(missing) = want.iter().find(|w| !got.contains(w)) {
            return Outcome::fail(
                "dns",
                Some(latency),
                format!("解析结果 {} 中没有期望的 {missing}", answers.join("、")),
            );
        }
    }
    if let Some(max) = cfg_i64(&p.config, "max_latency_ms")
        && latency > max as f64
    {
        return Outcome::fail(
            "threshold",
            Some(latency),
            format!("解析耗时 {latency:.1} 毫秒，超过上限 {max} 毫秒"),
        );
    }
    Outcome::ok(latency, answers.join("、"))
}

#[cfg(test)]
mod tests;
