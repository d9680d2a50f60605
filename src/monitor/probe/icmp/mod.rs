//! ICMP echo ("ping") for monitors, without an external `ping` binary, and the icmp
//! probe (loss and round-trip limits) at the end.
//!
//! Two kinds of socket can send ICMP echo requests on Linux:
//!
//! * `SOCK_DGRAM` with `IPPROTO_ICMP`/`IPPROTO_ICMPV6` ("ping sockets"). Any
//!   user whose group lies in `net.ipv4.ping_group_range` may open one (the
//!   same sysctl governs IPv6). The kernel rewrites the echo identifier to the
//!   socket's own "port", hands the socket only the replies to its own requests
//!   and strips the IP header.
//! * `SOCK_RAW`, which needs root or `CAP_NET_RAW`. Every raw ICMP socket sees
//!   every ICMP packet the host receives, and IPv4 raw sockets get the IP
//!   header too.
//!
//! [`ping`] tries the ping socket first and falls back to the raw one. Replies
//! are matched by sequence number and by a per-call random payload, and on raw
//! sockets also by a per-call identifier, so that concurrent calls never take
//! each other's replies.
//!
//! The socket2 socket is turned into a `std::net::UdpSocket` and then a
//! `tokio::net::UdpSocket`: both kinds are datagram-oriented file descriptors,
//! so tokio's `send_to`/`recv_from` work on them unchanged.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{Outcome, ProbeSpec, cfg_f64, cfg_i64, resolve};

/// The outcome of one [`ping`] run.
#[derive(Clone, Debug, PartialEq)]
pub struct PingResult {
    /// Echo requests sent (including ones the network refused to route).
    pub sent: u32,
    /// Echo requests answered within their timeout.
    pub received: u32,
    /// Round-trip times of the answered requests, in order of sequence.
    pub rtts_ms: Vec<f64>,
}

impl PingResult {
    /// Share of requests left unanswered, 0.0..=100.0. Nothing sent counts as
    /// total loss, so a misconfigured check never looks healthy.
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 100.0;
        }
        let lost = self.sent.saturating_sub(self.received);
        f64::from(lost) * 100.0 / f64::from(self.sent)
    }

    /// Mean round-trip time, if anything answered.
    pub fn avg_ms(&self) -> Option<f64> {
        if self.rtts_ms.is_empty() {
            return None;
        }
        Some(self.rtts_ms.iter().sum::<f64>() / self.rtts_ms.len() as f64)
    }

    /// Largest round-trip time, if anything answered.
    pub fn max_ms(&self) -> Option<f64> {
        self.rtts_ms.iter().copied().reduce(f64::max)
    }
}

/// Why a ping could not be run at all (an unanswered ping is not an error).
#[derive(Debug)]
pub enum PingError {
    /// Neither a ping socket nor a raw socket may be opened by this process.
    /// The message is in Chinese and says how to fix it.
    Permission(String),
    /// Any other failure of the socket layer.
    Io(String),
}

impl fmt::Display for PingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PingError::Permission(message) | PingError::Io(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for PingError {}

/// Send `count` echo requests to `addr`, one every `interval`, and wait up to
/// `timeout_each` for the reply to each.
///
/// Returns once every request has been answered or has timed out, so it
/// takes at most about `(count - 1) * interval + timeout_each`. Requests the
/// network refuses outright (no route, host unreachable) count as sent and
/// lost. An IPv4-mapped IPv6 address is pinged over IPv4. `interval` and
/// `timeout_each` are capped at one day; `count == 0` sends nothing and
/// opens no socket.
pub async fn ping(
    addr: IpAddr,
    count: u32,
    interval: Duration,
    timeout_each: Duration,
) -> Result<PingResult, PingError> {
    ping_with(
        addr,
        count,
        interval,
        timeout_each,
        &[SocketKind::Dgram, SocketKind::Raw],
    )
    .await
}

/// Which kind of ICMP socket a ping runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SocketKind {
    /// `SOCK_DGRAM` ping socket (unprivileged, `net.ipv4.ping_group_range`).
    Dgram,
    /// `SOCK_RAW` (root or `CAP_NET_RAW`).
    Raw,
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SocketKind::Dgram => "SOCK_DGRAM",
            SocketKind::Raw => "SOCK_RAW",
        })
    }
}

const ICMPV4_ECHO_REPLY: u8 = 0;
const ICMPV4_ECHO_REQUEST: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
const ICMP_HEADER_LEN: usize = 8;
const PAYLOAD_LEN: usize = 32;
/// Longer intervals and timeouts are cut to this (one day).
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// One echo request in flight or finished.
struct Probe {
    sent_at: Instant,
    rtt: Option<Duration>,
}

/// The identity of one `ping` call: what its requests carry and its replies
/// must echo back.
struct Identity {
    ident: u16,
    payload: [u8; PAYLOAD_LEN],
}

impl Identity {
    /// A fresh identity, unique among the calls of this process for 65536
    /// consecutive calls (identifier) and random enough (payload token) to
    /// tell apart the replies of other processes.
    fn new() -> Self {
        static CALLS: AtomicU32 = AtomicU32::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // An odd multiplier is a bijection on u16, so consecutive calls of
        // this process get distinct identifiers.
        let ident = ((pid & 0xffff) as u16) ^ ((call & 0xffff) as u16).wrapping_mul(0x9e37);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let token = splitmix64(nanos ^ (u64::from(pid) << 32) ^ u64::from(call));
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[..8].copy_from_slice(&token.to_be_bytes());
        let tag = b"yunwei-ping";
        payload[8..8 + tag.len()].copy_from_slice(tag);
        Identity { ident, payload }
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

async fn ping_with(
    addr: IpAddr,
    count: u32,
    interval: Duration,
    timeout_each: Duration,
    kinds: &[SocketKind],
) -> Result<PingResult, PingError> {
    if count == 0 {
        return Ok(PingResult {
            sent: 0,
            received: 0,
            rtts_ms: Vec::new(),
        });
    }
    // An IPv4-mapped IPv6 address is an IPv4 host: use ICMPv4 for it.
    let addr = addr.to_canonical();
    // Keep Instant arithmetic far away from overflow.
    let interval = interval.min(MAX_DURATION);
    let timeout_each = timeout_each.min(MAX_DURATION);
    let (socket, kind) = open_socket(addr, kinds)?;
    let identity = Identity::new();
    let target = SocketAddr::new(addr, 0);
    let total = usize::try_from(count).unwrap_or(usize::MAX);
    let mut probes: Vec<Probe> = Vec::new();
    let mut next_send_at = Instant::now();
    let mut buf = [0u8; 2048];

    loop {
        let now = Instant::now();
        if probes.len() < total && now >= next_send_at {
            let seq = (probes.len() & 0xffff) as u16;
            let request = echo_request(addr.is_ipv6(), identity.ident, seq, &identity.payload);
            let sent_at = Instant::now();
            match socket.send_to(&request, target).await {
                Ok(_) => {}
                // The request is lost, just as if the network had dropped it.
                Err(e) if is_unreachable(&e) => {}
                Err(e) => return Err(PingError::Io(format!("ICMP send to {addr} failed: {e}"))),
            }
            probes.push(Probe { sent_at, rtt: None });
            next_send_at += interval;
            continue;
        }

        // Probes go out in order with the same timeout, so the last probe
        // still waiting has the latest deadline.
        let last_deadline = probes
            .iter()
            .rev()
            .find(|p| p.rtt.is_none())
            .map(|p| p.sent_at + timeout_each)
            .filter(|deadline| *deadline > now);
        let wake = if probes.len() < total {
            next_send_at
        } else if let Some(deadline) = last_deadline {
            deadline
        } else {
            break;
        };

        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let arrived = Instant::now();
                let len = match received {
                    Ok((len, _from)) => len,
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => {
                        return Err(PingError::Io(format!("ICMP receive from {addr} failed: {e}")));
                    }
                };
                let packet = buf.get(..len).unwrap_or_default();
                let Some(seq) = match_reply(packet, addr.is_ipv6(), kind, &identity) else {
                    continue;
                };
                if let Some(probe) = probe_index(seq, probes.len()).and_then(|i| probes.get_mut(i))
                    && probe.rtt.is_none()
                    && arrived <= probe.sent_at + timeout_each
                {
                    probe.rtt = Some(arrived - probe.sent_at);
                }
            }
            () = tokio::time::sleep_until(wake) => {}
        }
    }

    let rtts_ms: Vec<f64> = probes
        .iter()
        .filter_map(|p| p.rtt)
        .map(|rtt| rtt.as_secs_f64() * 1000.0)
        .collect();
    Ok(PingResult {
        sent: u32::try_from(probes.len()).unwrap_or(u32::MAX),
        received: u32::try_from(rtts_ms.len()).unwrap_or(u32::MAX),
        rtts_ms,
    })
}

/// Open the first socket kind of `kinds` that this process may open.
fn open_socket(addr: IpAddr, kinds: &[SocketKind]) -> Result<(UdpSocket, SocketKind), PingError> {
    let (domain, protocol) = match addr {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let mut failures = Vec::new();
    let mut permission_denied = false;
    for &kind in kinds {
        let ty = match kind {
            SocketKind::Dgram => Type::DGRAM,
            SocketKind::Raw => Type::RAW,
        };
        match Socket::new(domain, ty, Some(protocol)) {
            Ok(socket) => {
                let socket = into_tokio(socket)
                    .map_err(|e| PingError::Io(format!("ICMP {kind} socket setup failed: {e}")))?;
                return Ok((socket, kind));
            }
            Err(e) => {
                // EACCES for ping sockets outside ping_group_range, EPERM for
                // raw sockets without CAP_NET_RAW.
                permission_denied |= e.kind() == io::ErrorKind::PermissionDenied;
                failures.push(format!("{kind}: {e}"));
            }
        }
    }
    let details = failures.join("; ");
    if permission_denied {
        Err(PingError::Permission(format!(
            "无法创建 ICMP 套接字（{details}）。请以 root 身份运行（或为程序授予 CAP_NET_RAW 能力），\
             或设置 sysctl net.ipv4.ping_group_range 使运行用户所在的组可以使用 ICMP 套接字，\
             例如：sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"（IPv6 同样由该项控制）"
        )))
    } else {
        Err(PingError::Io(format!(
            "cannot open an ICMP socket: {details}"
        )))
    }
}

/// Hand a socket2 socket to tokio. Both ICMP socket kinds are datagram
/// sockets, so `UdpSocket` send_to/recv_from apply to them as they are.
fn into_tokio(socket: Socket) -> io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = socket.into();
    UdpSocket::from_std(std_socket)
}

/// Build an echo request. IPv4 needs its checksum here; for ICMPv6 the
/// kernel fills it in (it covers a pseudo-header we do not know).
fn echo_request(v6: bool, ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(ICMP_HEADER_LEN + payload.len());
    packet.push(if v6 {
        ICMPV6_ECHO_REQUEST
    } else {
        ICMPV4_ECHO_REQUEST
    });
    packet.push(0); // code
    packet.extend_from_slice(&[0, 0]); // checksum, filled below
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(payload);
    if !v6 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| {
            u32::from(u16::from_be_bytes([
                pair[0],
                pair.get(1).copied().unwrap_or(0),
            ]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// If `packet` is an echo reply to this call, return its sequence number.
///
/// Raw IPv4 sockets deliver the IP header, which is skipped using its IHL.
/// On ping sockets the kernel has replaced our identifier with its own, so
/// only raw sockets compare it; the payload token is compared always.
fn match_reply(packet: &[u8], v6: bool, kind: SocketKind, identity: &Identity) -> Option<u16> {
    let icmp = if !v6 && kind == SocketKind::Raw {
        let first = *packet.first()?;
        if first >> 4 != 4 {
            return None;
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < 20 {
            return None;
        }
        packet.get(header_len..)?
    } else {
        packet
    };
    if icmp.len() < ICMP_HEADER_LEN {
        return None;
    }
    let reply_type = if v6 {
        ICMPV6_ECHO_REPLY
    } else {
        ICMPV4_ECHO_REPLY
    };
    if icmp[0] != reply_type || icmp[1] != 0 {
        return None;
    }
    let ident = u16::from_be_bytes([icmp[4], icmp[5]]);
    if kind == SocketKind::Raw && ident != identity.ident {
        return None;
    }
    if icmp[ICMP_HEADER_LEN..] != identity.payload {
        return None;
    }
    Some(u16::from_be_bytes([icmp[6], icmp[7]]))
}

/// The index of the latest probe sent with sequence number `seq` (sequence
/// numbers wrap after 65536 probes).
fn probe_index(seq: u16, sent: usize) -> Option<usize> {
    let last = sent.checked_sub(1)?;
    let back = usize::from(((last & 0xffff) as u16).wrapping_sub(seq));
    last.checked_sub(back)
}

/// Send errors that mean "this request is lost", not "ping is broken".
fn is_unreachable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
    )
}

/// Receive errors that a pending ICMP error or a signal can leave behind.
fn is_transient(e: &io::Error) -> bool {
    is_unreachable(e)
        || matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
        )
}

// ---- the probe -------------------------------------------------------------------------

pub(super) async fn probe(p: &ProbeSpec) -> Outcome {
    let addr = match resolve(&p.target, 0).await {
        Ok(a) => a.ip(),
        Err(o) => return o,
    };
    let count = cfg_i64(&p.config, "count").unwrap_or(3).clamp(1, 20) as u32;
    // Spread the packets over the timeout, keeping room for the last reply.
    let each = p.timeout / (count + 1);
    let interval = each.min(Duration::from_secs(1));
    let res = match ping(addr, count, interval, each.max(Duration::from_millis(100))).await {
        Ok(r) => r,
        Err(e) => return Outcome::fail("connect", None, format!("{e:?}")),
    };
    let loss = res.loss_percent();
    let avg = res.avg_ms();
    let max_loss = cfg_f64(&p.config, "max_loss_percent").unwrap_or(0.0);
    if res.received == 0 {
        return Outcome::fail(
            "timeout",
            None,
            format!("{addr} 无响应（{} 个包全部丢失）", res.sent),
        );
    }
    if loss > max_loss {
        return Outcome::fail(
            "threshold",
            avg,
            format!("丢包率 {loss:.0}%，超过上限 {max_loss:.0}%"),
        );
    }
    if let (Some(max), Some(worst)) = (cfg_f64(&p.config, "max_rtt_ms"), res.max_ms())
        && worst > max
    {
        return Outcome::fail(
            "threshold",
            avg,
            format!("往返时间 {worst:.1} 毫秒，超过上限 {max:.0} 毫秒"),
        );
    }
    Outcome::ok(
        avg.unwrap_or(0.0),
        format!(
            "{}/{} 个包收到回应，丢包 {loss:.0}%",
            res.received, res.sent
        ),
    )
}

#[cfg(test)]
mod tests;
