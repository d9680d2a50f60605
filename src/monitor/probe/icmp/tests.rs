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

/// Run `ping` (the default socket kinds), or return `None` (after saying so) if this
/// process may open none of them.
async fn try_default_ping(
    addr: IpAddr,
    count: u32,
    interval: Duration,
    timeout: Duration,
) -> Option<PingResult> {
    match ping(addr, count, interval, timeout).await {
        Ok(result) => Some(result),
        Err(PingError::Permission(message)) => {
            eprintln!("skipped: {message}");
            None
        }
        Err(e) => panic!("{addr}: {e}"),
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
    let Some(result) = try_default_ping(LOCAL_V4, 3, ms(20), ms(1000)).await else {
        return;
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
    let Some(result) = try_default_ping(LOCAL_V6, 3, ms(20), ms(1000)).await else {
        return;
    };
    assert_eq!((result.sent, result.received), (3, 3), "{result:?}");
}

#[tokio::test]
async fn silent_address_times_out() {
    for addr in [SILENT_V4, SILENT_V6] {
        let started = std::time::Instant::now();
        let Some(result) = try_default_ping(addr, 2, ms(50), ms(300)).await else {
            return;
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
    let Some(result) = try_default_ping(mapped, 1, Duration::MAX, Duration::MAX).await else {
        return;
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
