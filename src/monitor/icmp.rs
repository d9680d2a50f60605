//! ICMP echo ("ping") for monitors, without an external `ping` binary.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const LOCAL_V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const LOCAL_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
    /// TEST-NET-2 (RFC 5737): never routed, so nothing answers. (On the test
    /// machines 192.0.2.1, TEST-NET-1, is the default gateway and does answer.)
    const SILENT_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    /// The IPv6 discard-only prefix (RFC 6666). Without an IPv6 route the
    /// send fails with "network unreachable", which also counts as a loss.
    const SILENT_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 1));

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Run `ping_with`, or return `None` (after saying so) if this process
    /// may not open that socket kind.
    async fn try_ping(
        addr: IpAddr,
        count: u32,
        interval: Duration,
        timeout: Duration,
        kinds: &[SocketKind],
    ) -> Option<PingResult> {
        match ping_with(addr, count, interval, timeout, kinds).await {
            Ok(result) => Some(result),
            Err(PingError::Permission(message)) => {
                eprintln!("skipped ({kinds:?} to {addr}): {message}");
                None
            }
            Err(e) => panic!("ping {addr} over {kinds:?} failed: {e}"),
        }
    }

    fn has_ipv6_loopback() -> bool {
        std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // Odd length pads with a zero octet.
        assert_eq!(checksum(&[0x01]), !0x0100);
        // A packet carrying its checksum sums to 0xffff, i.e. checks to zero.
        let request = echo_request(false, 0x1234, 7, b"abc");
        assert_eq!(checksum(&request), 0);
    }

    #[test]
    fn result_statistics() {
        let result = PingResult {
            sent: 4,
            received: 3,
            rtts_ms: vec![1.0, 2.0, 6.0],
        };
        assert_eq!(result.loss_percent(), 25.0);
        assert_eq!(result.avg_ms(), Some(3.0));
        assert_eq!(result.max_ms(), Some(6.0));
        let empty = PingResult {
            sent: 0,
            received: 0,
            rtts_ms: vec![],
        };
        assert_eq!(empty.loss_percent(), 100.0);
        assert_eq!(empty.avg_ms(), None);
        assert_eq!(empty.max_ms(), None);
    }

    #[test]
    fn sequence_wraps() {
        assert_eq!(probe_index(0, 0), None);
        assert_eq!(probe_index(0, 1), Some(0));
        assert_eq!(probe_index(1, 1), None);
        assert_eq!(probe_index(2, 5), Some(2));
        assert_eq!(probe_index(0, 65_537), Some(65_536));
        assert_eq!(probe_index(65_535, 65_537), Some(65_535));
    }

    /// Turn an echo request into the reply the network would return.
    fn reply_for(request: &[u8], v6: bool) -> Vec<u8> {
        let mut reply = request.to_vec();
        reply[0] = if v6 {
            ICMPV6_ECHO_REPLY
        } else {
            ICMPV4_ECHO_REPLY
        };
        reply
    }

    fn with_ipv4_header(icmp: &[u8], ihl_words: u8) -> Vec<u8> {
        let mut packet = vec![0u8; usize::from(ihl_words) * 4];
        packet[0] = 0x40 | ihl_words;
        packet.extend_from_slice(icmp);
        packet
    }

    #[test]
    fn reply_matching() {
        let me = Identity::new();
        let other = Identity::new();
        assert_ne!(me.ident, other.ident);
        assert_ne!(me.payload, other.payload);

        let request = echo_request(false, me.ident, 5, &me.payload);
        let reply = reply_for(&request, false);
        // Raw IPv4: the IP header (with or without options) comes first.
        for ihl in [5, 6, 15] {
            let packet = with_ipv4_header(&reply, ihl);
            assert_eq!(match_reply(&packet, false, SocketKind::Raw, &me), Some(5));
            assert_eq!(match_reply(&packet, false, SocketKind::Raw, &other), None);
        }
        // Our own request looped back is not a reply.
        let looped = with_ipv4_header(&request, 5);
        assert_eq!(match_reply(&looped, false, SocketKind::Raw, &me), None);
        // Ping sockets: no IP header, identifier rewritten by the kernel.
        let mut rewritten = reply.clone();
        rewritten[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
        assert_eq!(
            match_reply(&rewritten, false, SocketKind::Dgram, &me),
            Some(5)
        );
        assert_eq!(
            match_reply(&rewritten, false, SocketKind::Dgram, &other),
            None
        );
        let rewritten_raw = with_ipv4_header(&rewritten, 5);
        assert_eq!(
            match_reply(&rewritten_raw, false, SocketKind::Raw, &me),
            None
        );
        // Same identifier but a foreign payload (another process).
        let mut foreign = reply.clone();
        foreign[ICMP_HEADER_LEN] ^= 1;
        assert_eq!(
            match_reply(&with_ipv4_header(&foreign, 5), false, SocketKind::Raw, &me),
            None
        );

        // IPv6: no IP header on either kind.
        let request6 = echo_request(true, me.ident, 9, &me.payload);
        let reply6 = reply_for(&request6, true);
        assert_eq!(match_reply(&reply6, true, SocketKind::Raw, &me), Some(9));
        assert_eq!(match_reply(&reply6, true, SocketKind::Dgram, &me), Some(9));
        assert_eq!(match_reply(&request6, true, SocketKind::Raw, &me), None);
        assert_eq!(match_reply(&reply6, true, SocketKind::Raw, &other), None);

        // Garbage of every short length is ignored without panicking.
        for len in 0..reply.len() + 30 {
            let packet: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            for kind in [SocketKind::Raw, SocketKind::Dgram] {
                for v6 in [false, true] {
                    let _ = match_reply(&packet, v6, kind, &me);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]

        /// Replies are matched in place: any bytes, on either socket kind and family,
        /// give a sequence number or nothing, without panicking or allocating.
        #[test]
        fn random_replies_never_panic_or_allocate(
            packet in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            v6 in proptest::prelude::any::<bool>(),
            raw in proptest::prelude::any::<bool>(),
        ) {
            let me = Identity::new();
            let kind = if raw { SocketKind::Raw } else { SocketKind::Dgram };
            let info = allocation_counter::measure(|| {
                let _ = std::hint::black_box(match_reply(&packet, v6, kind, &me));
            });
            proptest::prop_assert_eq!(info.bytes_total, 0);
        }

        #[test]
        fn mutated_real_replies_match_only_when_untouched_where_it_matters(
            v6 in proptest::prelude::any::<bool>(),
            seq in proptest::prelude::any::<u16>(),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
                1..4,
            ),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let me = Identity::new();
            let reply = reply_for(&echo_request(v6, me.ident, seq, &me.payload), v6);
            let mut packet = if v6 { reply } else { with_ipv4_header(&reply, 5) };
            for (at, byte) in &edits {
                let i = at.index(packet.len());
                packet[i] = *byte;
            }
            let kind = SocketKind::Raw;
            if let Some(got) = match_reply(&packet, v6, kind, &me) {
                // Whatever matched carries our payload token; the sequence is read
                // from the packet.
                proptest::prop_assert!(packet.ends_with(&me.payload));
                let _ = got;
            }
            let _ = match_reply(&packet[..cut.index(packet.len() + 1)], v6, kind, &me);
        }
    }

    #[tokio::test]
    async fn loopback_v4_default() {
        let result = match ping(LOCAL_V4, 3, ms(20), ms(1000)).await {
            Ok(result) => result,
            Err(PingError::Permission(message)) => {
                eprintln!("skipped: {message}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!((result.sent, result.received), (3, 3), "{result:?}");
        assert_eq!(result.rtts_ms.len(), 3);
        assert_eq!(result.loss_percent(), 0.0);
        assert!(result.max_ms().unwrap() < 100.0, "{result:?}");
        assert!(result.avg_ms().unwrap() > 0.0);
    }

    #[tokio::test]
    async fn loopback_each_kind() {
        let mut targets = vec![LOCAL_V4];
        if has_ipv6_loopback() {
            targets.push(LOCAL_V6);
        } else {
            eprintln!("no IPv6 loopback: testing IPv4 only");
        }
        for addr in targets {
            for kind in [SocketKind::Raw, SocketKind::Dgram] {
                let Some(result) = try_ping(addr, 3, ms(20), ms(1000), &[kind]).await else {
                    continue;
                };
                assert_eq!((result.sent, result.received), (3, 3), "{addr} {kind}");
                assert!(
                    result.max_ms().unwrap() < 100.0,
                    "{addr} {kind}: {result:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn loopback_v6_default() {
        if !has_ipv6_loopback() {
            eprintln!("no IPv6 loopback: skipped");
            return;
        }
        let result = match ping(LOCAL_V6, 3, ms(20), ms(1000)).await {
            Ok(result) => result,
            Err(PingError::Permission(message)) => {
                eprintln!("skipped: {message}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!((result.sent, result.received), (3, 3), "{result:?}");
    }

    #[tokio::test]
    async fn silent_address_times_out() {
        for addr in [SILENT_V4, SILENT_V6] {
            let started = std::time::Instant::now();
            let result = match ping(addr, 2, ms(50), ms(300)).await {
                Ok(result) => result,
                Err(PingError::Permission(message)) => {
                    eprintln!("skipped: {message}");
                    return;
                }
                Err(e) => panic!("{addr}: {e}"),
            };
            assert_eq!((result.sent, result.received), (2, 0), "{addr}: {result:?}");
            assert_eq!(result.loss_percent(), 100.0);
            assert_eq!(result.avg_ms(), None);
            // About one interval plus one timeout, not more.
            assert!(
                started.elapsed() < ms(1500),
                "{addr}: {:?}",
                started.elapsed()
            );
        }
    }

    #[tokio::test]
    async fn mapped_address_and_huge_durations() {
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        let result = match ping(mapped, 1, Duration::MAX, Duration::MAX).await {
            Ok(result) => result,
            Err(PingError::Permission(message)) => {
                eprintln!("skipped: {message}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!((result.sent, result.received), (1, 1), "{result:?}");
    }

    #[tokio::test]
    async fn zero_count_sends_nothing() {
        let result = ping(LOCAL_V4, 0, ms(10), ms(10)).await.unwrap();
        assert_eq!((result.sent, result.received), (0, 0));
        assert_eq!(result.loss_percent(), 100.0);
    }

    /// Twenty pings at once, on whichever socket kinds this process may
    /// open, half of them to an address that never answers: every loopback
    /// ping must get exactly its three replies and no silent ping may pick
    /// up someone else's (all calls use sequence numbers 0..3).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pings_keep_their_own_replies() {
        let mut kinds = Vec::new();
        for kind in [SocketKind::Raw, SocketKind::Dgram] {
            if try_ping(LOCAL_V4, 1, ms(0), ms(1000), &[kind])
                .await
                .is_some()
            {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return;
        }
        let mut tasks = Vec::new();
        for i in 0..20 {
            let kind = kinds[i % kinds.len()];
            let silent = i % 4 == 3;
            let addr = if silent { SILENT_V4 } else { LOCAL_V4 };
            tasks.push((
                kind,
                silent,
                tokio::spawn(async move { ping_with(addr, 3, ms(10), ms(1500), &[kind]).await }),
            ));
        }
        for (kind, silent, task) in tasks {
            let result = task.await.unwrap().unwrap();
            let expected = if silent { 0 } else { 3 };
            assert_eq!(result.sent, 3);
            assert_eq!(
                result.received, expected,
                "{kind} silent={silent}: {result:?}"
            );
            assert_eq!(result.rtts_ms.len(), expected as usize);
        }
    }
}
