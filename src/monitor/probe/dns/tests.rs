use super::*;

/// Builds a response header.
fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [id, flags, qd, an, 0, 0] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p
}

fn question(p: &mut Vec<u8>, name: &str, rtype: RecordType) {
    p.extend_from_slice(&encode_name(name).unwrap());
    p.extend_from_slice(&rtype.code().to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
}

/// Appends a record whose owner is a pointer to offset 12 (the qname).
fn record(p: &mut Vec<u8>, rtype: u16, rdata: &[u8]) {
    p.extend_from_slice(&[0xC0, 12]);
    p.extend_from_slice(&rtype.to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    p.extend_from_slice(&300u32.to_be_bytes());
    p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    p.extend_from_slice(rdata);
}

/// A reply of `flags` to query `id` for `name` and `rtype`, with an answer of that type
/// for each `rdata` (and the count of answers saying so).
fn reply(id: u16, flags: u16, name: &str, rtype: RecordType, rdata: &[&[u8]]) -> Vec<u8> {
    let mut p = header(id, flags, 1, rdata.len() as u16);
    question(&mut p, name, rtype);
    for r in rdata {
        record(&mut p, rtype.code(), r);
    }
    p
}

/// A UDP server on a free loopback port, its task running `serve` on the socket.
async fn udp_server<F>(
    serve: impl FnOnce(UdpSocket) -> F,
) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, tokio::spawn(serve(server)))
}

/// The ID of a DNS message.
fn id_of(msg: &[u8]) -> u16 {
    u16::from_be_bytes([msg[0], msg[1]])
}

fn parse(msg: &[u8], id: u16, name: &str, rtype: RecordType) -> Result<Vec<String>, DnsError> {
    parse_response(msg, id, &encode_name(name).unwrap(), rtype)
        .expect("response accepted")
        .map(|r| r.answers)
}

#[test]
fn record_type_names() {
    for t in [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ns,
        RecordType::Ptr,
        RecordType::Soa,
        RecordType::Srv,
    ] {
        assert_eq!(RecordType::parse(t.as_str()), Some(t));
        assert_eq!(RecordType::parse(&t.as_str().to_lowercase()), Some(t));
    }
    assert_eq!(RecordType::parse(" aaaa "), Some(RecordType::Aaaa));
    assert_eq!(RecordType::parse("ANY"), None);
}

#[test]
fn encodes_names() {
    assert_eq!(
        encode_name("www.Example.com.").unwrap(),
        b"\x03www\x07Example\x03com\x00"
    );
    assert_eq!(
        encode_name("_sip._tcp.x").unwrap(),
        b"\x04_sip\x04_tcp\x01x\x00"
    );
    assert_eq!(encode_name(".").unwrap(), vec![0]);
}

#[test]
fn rejects_bad_names() {
    let long_label = format!("{}.com", "a".repeat(64));
    let ok_label = format!("{}.com", "a".repeat(63));
    assert!(encode_name(&ok_label).is_ok());
    let long_name = vec!["abcdefghi"; 26].join("."); // 259 chars
    let max_name = format!("{}.a", vec!["abcdefghi"; 25].join(".")); // 251 chars
    assert!(encode_name(&max_name).is_ok());
    for bad in [
        "",
        "  ",
        "a..b",
        ".a",
        "a b.com",
        "中文.com",
        long_label.as_str(),
        long_name.as_str(),
    ] {
        match encode_name(bad) {
            Err(DnsError::BadName(msg)) => assert!(!msg.is_empty()),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn builds_query_bytes() {
    let q = build_query(0xBEEF, &encode_name("a.cn").unwrap(), RecordType::Mx, false);
    assert_eq!(
        q,
        b"\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x02cn\x00\x00\x0F\x00\x01"
    );
    let q = build_query(1, &encode_name("a.cn").unwrap(), RecordType::A, true);
    assert_eq!(&q[10..12], &[0, 1]); // ARCOUNT
    assert_eq!(
        &q[q.len() - 11..],
        b"\x00\x00\x29\x04\xD0\x00\x00\x00\x00\x00\x00"
    );
}

#[test]
fn random_ids_vary() {
    let ids: std::collections::HashSet<u16> = (0..64).map(|_| random_id()).collect();
    assert!(ids.len() > 50, "only {} distinct ids", ids.len());
}

#[test]
fn reads_compressed_names() {
    // "example.com" at 0, "www" + pointer to 0 at 13, pointer to 13 at 19.
    let msg = b"\x07example\x03com\x00\x03www\xC0\x00\xC0\x0D";
    assert_eq!(read_name(msg, 0).unwrap(), ("example.com".to_string(), 13));
    assert_eq!(
        read_name(msg, 13).unwrap(),
        ("www.example.com".to_string(), 19)
    );
    assert_eq!(
        read_name(msg, 19).unwrap(),
        ("www.example.com".to_string(), 21)
    );
    assert_eq!(read_name(b"\x00", 0).unwrap(), (".".to_string(), 1));
    // Escaping of odd bytes.
    assert_eq!(read_name(b"\x03a.\x01\x00", 0).unwrap().0, "a\\.\\001");
}

#[test]
fn rejects_pointer_loops_and_overruns() {
    // A pointer to itself.
    assert!(read_name(b"\xC0\x00", 0).unwrap_err().contains("循环"));
    // Two pointers pointing at each other.
    assert!(
        read_name(b"\x01a\xC0\x04\xC0\x00", 0)
            .unwrap_err()
            .contains("循环")
    );
    // Pointer past the end, label past the end, missing terminator.
    assert!(read_name(b"\xC0\x09", 0).is_err());
    assert!(read_name(b"\x05ab", 0).is_err());
    assert!(read_name(b"\x01a", 0).is_err());
    // Reserved label type.
    assert!(read_name(b"\x40", 0).is_err());
    // Over 255 bytes through repeated forward labels.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'x'; 63]);
    }
    long.push(0);
    assert!(read_name(&long, 0).unwrap_err().contains("255"));
}

#[test]
fn parses_a_with_cname_chain() {
    let mut p = header(7, 0x8180, 1, 2);
    question(&mut p, "www.yunwei.test", RecordType::A);
    // CNAME www -> app.yunwei.test, with "yunwei.test" compressed.
    let cname_at = p.len() + 12;
    record(&mut p, 5, b"\x03app\xC0\x10");
    // A record owned by the CNAME target (pointer to its rdata).
    p.extend_from_slice(&[0xC0, cname_at as u8]);
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    p.extend_from_slice(&60u32.to_be_bytes());
    p.extend_from_slice(&4u16.to_be_bytes());
    p.extend_from_slice(&[10, 1, 2, 3]);
    assert_eq!(
        parse(&p, 7, "www.yunwei.test", RecordType::A).unwrap(),
        vec!["10.1.2.3"]
    );
    assert_eq!(
        parse(&p, 7, "WWW.yunwei.TEST.", RecordType::A).unwrap(),
        vec!["10.1.2.3"]
    );
}

#[test]
fn parses_record_types() {
    let cases: Vec<(RecordType, Vec<u8>, &str)> = vec![
        (
            RecordType::Aaaa,
            {
                let mut v = vec![0x20, 0x01, 0x0d, 0xb8];
                v.extend_from_slice(&[0; 11]);
                v.push(1);
                v
            },
            "2001:db8::1",
        ),
        (
            RecordType::Mx,
            b"\x00\x0a\x04mail\xC0\x0C".to_vec(),
            "10 mail.x.cn",
        ),
        (
            RecordType::Txt,
            b"\x05v=spf\x041 -a\x00".to_vec(),
            "v=spf1 -a",
        ),
        (RecordType::Ns, b"\x02ns\xC0\x0C".to_vec(), "ns.x.cn"),
        (RecordType::Ptr, b"\x01h\x00".to_vec(), "h"),
        (RecordType::Cname, b"\x01y\xC0\x0C".to_vec(), "y.x.cn"),
        (
            RecordType::Soa,
            {
                let mut v = b"\x02ns\xC0\x0C\x05admin\xC0\x0C".to_vec();
                for n in [2024010101u32, 3600, 600, 86400, 300] {
                    v.extend_from_slice(&n.to_be_bytes());
                }
                v
            },
            "ns.x.cn admin.x.cn 2024010101",
        ),
        (
            RecordType::Srv,
            b"\x00\x01\x00\x05\x13\xC4\x03sip\xC0\x0C".to_vec(),
            "1 5 5060 sip.x.cn",
        ),
        (
            RecordType::Srv,
            b"\x00\x00\x00\x00\x00\x00\x00".to_vec(),
            "0 0 0 .",
        ),
    ];
    for (rtype, rdata, want) in cases {
        let p = reply(9, 0x8180, "x.cn", rtype, &[&rdata]);
        assert_eq!(parse(&p, 9, "x.cn", rtype).unwrap(), vec![want], "{rtype}");
    }
}

#[test]
fn rejects_bad_rdata() {
    let p = reply(9, 0x8180, "x.cn", RecordType::A, &[&[1, 2, 3]]);
    assert!(matches!(
        parse(&p, 9, "x.cn", RecordType::A),
        Err(DnsError::Malformed(_))
    ));
    // MX whose name runs past RDLENGTH.
    let mut p = reply(9, 0x8180, "x.cn", RecordType::Mx, &[b"\x00\x0a\x04ma"]);
    p.extend_from_slice(b"il\x00");
    assert!(matches!(
        parse(&p, 9, "x.cn", RecordType::Mx),
        Err(DnsError::Malformed(_))
    ));
    // Answer count larger than the records present, without TC.
    let mut p = header(9, 0x8180, 1, 2);
    question(&mut p, "x.cn", RecordType::A);
    record(&mut p, 1, &[1, 2, 3, 4]);
    assert!(matches!(
        parse(&p, 9, "x.cn", RecordType::A),
        Err(DnsError::Malformed(_))
    ));
}

#[test]
fn a_truncated_response_is_marked_and_keeps_what_is_there() {
    let mut p = header(9, 0x8380, 1, 3); // TC set
    question(&mut p, "x.cn", RecordType::A);
    record(&mut p, 1, &[1, 1, 1, 1]);
    record(&mut p, 1, &[2, 2, 2, 2]);
    p.extend_from_slice(&[0xC0, 12, 0, 1]); // third record cut short
    assert_eq!(
        parse(&p, 9, "x.cn", RecordType::A).unwrap(),
        vec!["1.1.1.1", "2.2.2.2"]
    );
    let qname = encode_name("x.cn").unwrap();
    let reply = parse_response(&p, 9, &qname, RecordType::A)
        .unwrap()
        .unwrap();
    assert!(reply.truncated);
    p[2] = 0x81; // TC cleared: the cut record is an error, not the end
    assert!(matches!(
        parse_response(&p, 9, &qname, RecordType::A).unwrap(),
        Err(DnsError::Malformed(_))
    ));
}

/// Peak allocation of parsing `msg`, checked against a bound of its size: the
/// worst case is a 14-byte CNAME whose pointer expands to a 255-byte name
/// rendered with escapes (4 characters a byte).
fn parse_bounded(msg: &[u8], qname: &[u8], rtype: RecordType) {
    let info = allocation_counter::measure(|| {
        let _ = std::hint::black_box(parse_response(msg, 7, qname, rtype));
    });
    assert!(
        info.bytes_max <= 16 * 1024 + 160 * msg.len() as u64,
        "{} bytes allocated for a {}-byte message",
        info.bytes_max,
        msg.len()
    );
}

fn valid_reply(rtype: RecordType, n: u16) -> Vec<u8> {
    let mut p = header(7, 0x8180, 1, n);
    question(&mut p, "x.cn", rtype);
    for i in 0..n {
        match rtype {
            RecordType::A => record(&mut p, 1, &[10, 0, 0, i as u8]),
            RecordType::Mx => record(&mut p, 15, b"\x00\x0a\x04mail\xC0\x0C"),
            RecordType::Txt => record(&mut p, 16, b"\x05v=spf\x041 -a"),
            _ => record(&mut p, 5, b"\x01y\xC0\x0C"),
        }
    }
    p
}

const RTYPES: [RecordType; 9] = [
    RecordType::A,
    RecordType::Aaaa,
    RecordType::Cname,
    RecordType::Mx,
    RecordType::Txt,
    RecordType::Ns,
    RecordType::Ptr,
    RecordType::Soa,
    RecordType::Srv,
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    #[test]
    fn random_replies_never_panic_and_allocate_a_bound_of_their_size(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1500),
        flags in proptest::prelude::any::<u16>(),
        counts in proptest::prelude::any::<(u16, u16)>(),
        t in 0usize..9,
    ) {
        let qname = encode_name("x.cn").unwrap();
        // Random bytes as they come, and behind a header that passes the id check.
        parse_bounded(&body, &qname, RTYPES[t]);
        let mut msg = header(7, flags | 0x8000, counts.0, counts.1);
        msg.extend_from_slice(&body);
        parse_bounded(&msg, &qname, RTYPES[t]);
    }

    #[test]
    fn mutated_valid_replies_never_panic(
        t in 0usize..9,
        n in 0u16..40,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            1..6,
        ),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let rtype = [RecordType::A, RecordType::Mx, RecordType::Txt, RecordType::Cname][t % 4];
        let qname = encode_name("x.cn").unwrap();
        let mut msg = valid_reply(rtype, n);
        for (at, byte) in &edits {
            let i = at.index(msg.len());
            msg[i] = *byte;
        }
        parse_bounded(&msg, &qname, RTYPES[t]);
        parse_bounded(&msg[..cut.index(msg.len() + 1)], &qname, rtype);
    }
}

#[test]
fn pointer_heavy_replies_stay_within_the_allocation_bound() {
    // A 255-byte name of escaped bytes, then as many CNAMEs pointing at it as fit.
    let mut p = header(7, 0x8180, 1, 0);
    question(&mut p, "x.cn", RecordType::Cname);
    let mut name = Vec::new();
    for _ in 0..4 {
        name.push(62);
        name.extend_from_slice(&[0x01; 62]);
    }
    name.push(0);
    record(&mut p, 5, &name);
    let name_at = p.len() - name.len();
    let mut n = 1u16;
    while p.len() + 14 <= 65_535 {
        p.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2]);
        p.extend_from_slice(&[0xC0 | (name_at >> 8) as u8, name_at as u8]);
        n += 1;
    }
    p[6..8].copy_from_slice(&n.to_be_bytes());
    let qname = encode_name("x.cn").unwrap();
    let got = parse_response(&p, 7, &qname, RecordType::Cname)
        .unwrap()
        .unwrap();
    assert_eq!(got.answers.len(), usize::from(n));
    parse_bounded(&p, &qname, RecordType::Cname);
}

#[test]
fn rcodes_and_foreign_packets() {
    let qname = encode_name("x.cn").unwrap();
    let mut p = header(9, 0x8183, 1, 0);
    question(&mut p, "x.cn", RecordType::A);
    assert!(matches!(
        parse(&p, 9, "x.cn", RecordType::A),
        Err(DnsError::Rcode(3))
    ));
    // Error responses without a question section are accepted too.
    let p = header(9, 0x8185, 0, 0);
    assert!(matches!(
        parse(&p, 9, "x.cn", RecordType::A),
        Err(DnsError::Rcode(5))
    ));
    // Wrong id, missing QR bit, other question, short packet: ignored.
    let mut p = header(8, 0x8180, 1, 0);
    question(&mut p, "x.cn", RecordType::A);
    assert!(parse_response(&p, 9, &qname, RecordType::A).is_none());
    let mut p = header(9, 0x0100, 1, 0);
    question(&mut p, "x.cn", RecordType::A);
    assert!(parse_response(&p, 9, &qname, RecordType::A).is_none());
    let mut p = header(9, 0x8180, 1, 0);
    question(&mut p, "y.cn", RecordType::A);
    assert!(parse_response(&p, 9, &qname, RecordType::A).is_none());
    let mut p = header(9, 0x8180, 1, 0);
    question(&mut p, "x.cn", RecordType::Mx);
    assert!(parse_response(&p, 9, &qname, RecordType::A).is_none());
    assert!(parse_response(&[0, 9, 0x81], 9, &qname, RecordType::A).is_none());
}

#[test]
fn error_messages_are_chinese() {
    assert_eq!(DnsError::Rcode(3).to_string(), "域名不存在（NXDOMAIN）");
    assert_eq!(DnsError::Timeout.to_string(), "DNS 服务器无响应（超时）");
    assert!(DnsError::Rcode(5).to_string().contains("REFUSED"));
    assert!(DnsError::Rcode(9).to_string().contains('9'));
}

/// A fake server that drops the first query, then sends a stale response
/// with a wrong id, then the real answer: exercises retry and id checks.
#[tokio::test]
async fn retries_and_ignores_wrong_ids() {
    let (addr, task) = udp_server(|server| async move {
        let mut buf = [0u8; 512];
        let (n1, _) = server.recv_from(&mut buf).await.unwrap();
        let first = buf[..n1].to_vec();
        let (n2, peer) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n2], &first[..], "retry resends the same query");
        let id = id_of(&buf);
        let stale = reply(
            id.wrapping_add(1),
            0x8180,
            "app.test",
            RecordType::A,
            &[&[9; 4]],
        );
        server.send_to(&stale, peer).await.unwrap();
        let good = reply(id, 0x8180, "app.test", RecordType::A, &[&[10, 0, 0, 1]]);
        server.send_to(&good, peer).await.unwrap();
    })
    .await;
    let got = query(addr, "app.test", RecordType::A, Duration::from_millis(1000)).await;
    assert_eq!(got.unwrap(), vec!["10.0.0.1"]);
    task.await.unwrap();
}

#[tokio::test]
async fn falls_back_without_edns_on_formerr() {
    let (addr, task) = udp_server(|server| async move {
        let mut buf = [0u8; 512];
        let (n, peer) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[10..12], &[0, 1], "first query carries OPT");
        let id = id_of(&buf);
        let mut formerr = buf[..n].to_vec();
        formerr[2] = 0x81;
        formerr[3] = 0x81;
        server.send_to(&formerr, peer).await.unwrap();
        let (_, peer) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[10..12], &[0, 0], "second query has no OPT");
        assert_ne!(id_of(&buf), id);
        let id = id_of(&buf);
        let good = reply(id, 0x8180, "old.test", RecordType::Txt, &[b"\x02ok"]);
        server.send_to(&good, peer).await.unwrap();
    })
    .await;
    let got = query(addr, "old.test", RecordType::Txt, Duration::from_secs(2)).await;
    assert_eq!(got.unwrap(), vec!["ok"]);
    task.await.unwrap();
}

#[tokio::test]
async fn silent_server_times_out() {
    // Bound but never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let start = std::time::Instant::now();
    let got = query(addr, "a.test", RecordType::A, Duration::from_millis(300)).await;
    assert!(matches!(got, Err(DnsError::Timeout)), "{got:?}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn closed_port_is_an_io_error() {
    // Nothing bound: loopback reports ICMP port unreachable at once.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let got = query(addr, "a.test", RecordType::A, Duration::from_millis(300)).await;
    match got {
        Err(DnsError::Io(msg)) => assert!(msg.contains("不可达"), "{msg}"),
        Err(DnsError::Timeout) => {} // if ICMP is filtered
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_name_fails_before_sending() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let got = query(addr, "a..b", RecordType::A, Duration::from_millis(100)).await;
    assert!(matches!(got, Err(DnsError::BadName(_))));
}

/// Integration test against a real dnsmasq; skipped when not installed,
/// unless YUNWEI_REQUIRE_PROBE_PEERS is set.
#[tokio::test]
async fn dnsmasq_integration() {
    let Some(bin) = find_program("dnsmasq") else {
        assert!(
            std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
            "dnsmasq is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
        );
        println!("note: dnsmasq not installed, skipping the DNS integration test");
        return;
    };
    let (_guard, addr) = start_dnsmasq(&bin).await;
    let t = Duration::from_secs(2);

    let a = query(addr, "app.yunwei.test", RecordType::A, t)
        .await
        .unwrap();
    assert_eq!(a, vec!["10.1.2.3"]);
    // A through the CNAME: only the A record is returned.
    let a = query(addr, "www.yunwei.test", RecordType::A, t)
        .await
        .unwrap();
    assert_eq!(a, vec!["10.1.2.3"]);
    let cname = query(addr, "www.yunwei.test", RecordType::Cname, t)
        .await
        .unwrap();
    assert_eq!(cname, vec!["app.yunwei.test"]);
    let mx = query(addr, "yunwei.test", RecordType::Mx, t).await.unwrap();
    assert_eq!(mx, vec!["10 mail.yunwei.test"]);
    let txt = query(addr, "yunwei.test", RecordType::Txt, t)
        .await
        .unwrap();
    assert_eq!(txt, vec!["v=spf1 -all"]);

    // A name with records, but none of the asked type: empty answer.
    let aaaa = query(addr, "app.yunwei.test", RecordType::Aaaa, t)
        .await
        .unwrap();
    assert!(aaaa.is_empty(), "{aaaa:?}");

    // Too big for UDP (dnsmasq sets TC there) ...
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect(addr).await.unwrap();
    let qname = encode_name("big.yunwei.test").unwrap();
    let q = build_query(77, &qname, RecordType::Txt, true);
    let deadline = Instant::now() + t;
    let cut = exchange(&udp, &q, 77, &qname, RecordType::Txt, deadline)
        .await
        .unwrap();
    assert!(cut.truncated, "dnsmasq answered in one datagram: {cut:?}");
    // ... so it is answered again over TCP, whole.
    let big = query(addr, "big.yunwei.test", RecordType::Txt, t)
        .await
        .unwrap();
    assert_eq!(big, vec![big_txt_strings().concat()]);

    // Inside the --local domain dnsmasq answers NXDOMAIN ...
    let nx = query(addr, "nope.yunwei.test", RecordType::A, t).await;
    assert!(matches!(nx, Err(DnsError::Rcode(3))), "{nx:?}");
    assert_eq!(nx.unwrap_err().to_string(), "域名不存在（NXDOMAIN）");
    // ... and without an upstream it refuses names outside it.
    let refused = query(addr, "example.com", RecordType::A, t).await;
    assert!(matches!(refused, Err(DnsError::Rcode(5))), "{refused:?}");
}

fn big_txt_strings() -> Vec<String> {
    (0..8)
        .map(|i| char::from(b'a' + i).to_string().repeat(200))
        .collect()
}

/// A UDP answer and the same port on TCP, bound together on loopback.
async fn udp_and_tcp() -> (UdpSocket, tokio::net::TcpListener) {
    for _ in 0..20 {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        if let Ok(udp) = UdpSocket::bind(tcp.local_addr().unwrap()).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free on both UDP and TCP");
}

/// Reads one length-prefixed query from a TCP client.
async fn read_tcp_query(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await.unwrap();
    let mut q = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut q).await.unwrap();
    q
}

/// Answers UDP with TC set and one record, and TCP with `tcp_reply(query)`.
async fn truncating_server<F>(tcp_reply: F) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Fn(&[u8]) -> Vec<u8> + Send + 'static,
{
    let (udp, tcp) = udp_and_tcp().await;
    let addr = udp.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let (_, peer) = udp.recv_from(&mut buf).await.unwrap();
        let id = id_of(&buf);
        let mut cut = header(id, 0x8380, 1, 3); // TC set, 3 answers promised
        question(&mut cut, "many.test", RecordType::A);
        record(&mut cut, 1, &[10, 0, 0, 1]);
        udp.send_to(&cut, peer).await.unwrap();
        let (mut stream, _) = tcp.accept().await.unwrap();
        let q = read_tcp_query(&mut stream).await;
        let reply = tcp_reply(&q);
        let _ = stream.write_all(&reply).await;
        let _ = stream.flush().await;
        // Hold the connection a little so the client reads at its own pace.
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    (addr, task)
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    out
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let (addr, task) = truncating_server(|q| {
        let answers: [&[u8]; 3] = [&[10, 0, 0, 1], &[10, 0, 0, 2], &[10, 0, 0, 3]];
        framed(&reply(
            id_of(q),
            0x8180,
            "many.test",
            RecordType::A,
            &answers,
        ))
    })
    .await;
    let got = query(addr, "many.test", RecordType::A, Duration::from_secs(2)).await;
    assert_eq!(got.unwrap(), vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    task.await.unwrap();
}

#[tokio::test]
async fn a_tcp_reply_shorter_than_its_length_prefix_is_an_error_not_a_hang() {
    let (addr, task) = truncating_server(|_| {
        // Promises 65,535 bytes, sends 10 and closes.
        let mut out = vec![0xff, 0xff];
        out.extend_from_slice(&[0u8; 10]);
        out
    })
    .await;
    let start = std::time::Instant::now();
    let got = query(addr, "many.test", RecordType::A, Duration::from_secs(5)).await;
    match got {
        Err(DnsError::Io(msg)) => assert!(msg.contains("TCP"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(4));
    task.await.unwrap();
}

#[tokio::test]
async fn a_tcp_reply_too_short_for_a_header_or_for_another_query_is_malformed() {
    let (addr, task) = truncating_server(|_| framed(&[1, 2, 3])).await;
    let got = query(addr, "many.test", RecordType::A, Duration::from_secs(2)).await;
    assert!(matches!(got, Err(DnsError::Malformed(_))), "{got:?}");
    task.await.unwrap();
    let (addr, task) = truncating_server(|q| {
        let id = id_of(q).wrapping_add(1);
        framed(&reply(id, 0x8180, "many.test", RecordType::A, &[]))
    })
    .await;
    let got = query(addr, "many.test", RecordType::A, Duration::from_secs(2)).await;
    assert!(matches!(got, Err(DnsError::Malformed(_))), "{got:?}");
    task.await.unwrap();
}

#[tokio::test]
async fn a_tcp_server_that_never_answers_times_out_at_the_deadline() {
    let (udp, tcp) = udp_and_tcp().await;
    let addr = udp.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let (_, peer) = udp.recv_from(&mut buf).await.unwrap();
        let id = id_of(&buf);
        let mut cut = header(id, 0x8380, 1, 0);
        question(&mut cut, "slow.test", RecordType::A);
        udp.send_to(&cut, peer).await.unwrap();
        let (stream, _) = tcp.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(stream);
    });
    let start = std::time::Instant::now();
    let got = query(addr, "slow.test", RecordType::A, Duration::from_millis(500)).await;
    assert!(matches!(got, Err(DnsError::Timeout)), "{got:?}");
    assert!(start.elapsed() < Duration::from_millis(1500));
    task.abort();
}

fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(Into::into))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Kills the child process when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts dnsmasq on a free loopback port and waits until it answers.
async fn start_dnsmasq(bin: &std::path::Path) -> (KillOnDrop, SocketAddr) {
    for _ in 0..5 {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(bin)
            .args([
                "--no-daemon".to_string(),
                format!("--port={port}"),
                "--listen-address=127.0.0.1".to_string(),
                "--bind-interfaces".to_string(),
                "--no-resolv".to_string(),
                "--no-hosts".to_string(),
                "--conf-file=/dev/null".to_string(),
                "--pid-file=".to_string(),
                "--local=/yunwei.test/".to_string(),
                "--host-record=app.yunwei.test,10.1.2.3".to_string(),
                "--mx-host=yunwei.test,mail.yunwei.test,10".to_string(),
                "--txt-record=yunwei.test,v=spf1 -all".to_string(),
                "--cname=www.yunwei.test,app.yunwei.test".to_string(),
                // One TXT record of eight 200-character strings: more than the
                // 1232 bytes a UDP answer may carry, so dnsmasq sets TC.
                format!(
                    "--txt-record=big.yunwei.test,{}",
                    big_txt_strings().join(",")
                ),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn dnsmasq");
        let mut guard = KillOnDrop(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..50 {
            if let Ok(Some(_)) = guard.0.try_wait() {
                break; // exited, e.g. the port was taken meanwhile
            }
            let probe = query(
                addr,
                "app.yunwei.test",
                RecordType::A,
                Duration::from_millis(100),
            )
            .await;
            if probe.is_ok() {
                return (guard, addr);
            }
            // Port unreachable until dnsmasq has bound its socket.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = guard.0.kill();
    }
    panic!("dnsmasq did not start");
}
