//! Unit tests: OIDs, values, error texts, and the client against fake agents built with
//! the crate's own message types (retransmission, foreign datagrams, walks).

use super::*;
use async_snmp::message::{CommunityMessage, Message};
use async_snmp::{DecodeConfig, OutboundErrorStatus, PduType, ResponsePdu};
use bytes::Bytes;
use tokio::net::UdpSocket;

fn oid(s: &str) -> Oid {
    Oid::parse(s).unwrap()
}

fn public() -> Credentials {
    Credentials::v2c("public")
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
fn error_messages_are_chinese_and_name_what_to_fix() {
    assert!(SnmpError::Timeout.to_string().contains("超时"));
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
    for (failure, names) in [
        (UsmFailure::WrongDigest, "auth_password"),
        (UsmFailure::DecryptionError, "priv_password"),
        (UsmFailure::PrivacyNoAnswer, "priv_password"),
        (UsmFailure::UnknownUser, "username"),
        (UsmFailure::UnsupportedSecurityLevel, "security_level"),
    ] {
        let text = SnmpError::Usm(failure).to_string();
        assert!(text.contains(names), "{text}");
    }
}

#[test]
fn crate_values_convert_to_ours() {
    use async_snmp::Value as V;
    let cases = [
        (V::Integer(-3), SnmpValue::Int(-3)),
        (
            V::OctetString(Bytes::from_static(b"eth0")),
            SnmpValue::Str(b"eth0".to_vec()),
        ),
        (V::Gauge32(7), SnmpValue::Gauge32(7)),
        (V::UInteger32(8), SnmpValue::Gauge32(8)),
        (V::Counter64(u64::MAX), SnmpValue::Counter64(u64::MAX)),
        (V::TimeTicks(150), SnmpValue::TimeTicks(150)),
        (
            V::IpAddress([10, 0, 0, 1]),
            SnmpValue::IpAddr([10, 0, 0, 1]),
        ),
        (
            V::ObjectIdentifier(async_snmp::Oid::from_slice(&[1, 3, 6, 1])),
            SnmpValue::Oid(oid("1.3.6.1")),
        ),
        (
            V::Nsap(Bytes::from_static(&[1, 2])),
            SnmpValue::Opaque(vec![1, 2]),
        ),
        (V::EndOfMibView, SnmpValue::EndOfMibView),
    ];
    for (lib, ours) in cases {
        assert_eq!(SnmpValue::from(lib), ours);
    }
    assert_eq!(oid("1.3.6.1.2.1").to_lib().arcs(), &[1, 3, 6, 1, 2, 1]);
}

/// The crate's value for one of ours (fake agents only).
fn lib_value(v: &SnmpValue) -> async_snmp::Value {
    use async_snmp::Value as V;
    match v {
        SnmpValue::Int(n) => V::Integer(i32::try_from(*n).unwrap()),
        SnmpValue::Str(b) => V::OctetString(Bytes::copy_from_slice(b)),
        SnmpValue::Oid(o) => V::ObjectIdentifier(o.to_lib()),
        SnmpValue::IpAddr(a) => V::IpAddress(*a),
        SnmpValue::Counter32(n) => V::Counter32(*n),
        SnmpValue::Gauge32(n) => V::Gauge32(*n),
        SnmpValue::TimeTicks(n) => V::TimeTicks(*n),
        SnmpValue::Counter64(n) => V::Counter64(*n),
        SnmpValue::Opaque(b) => V::Opaque(Bytes::copy_from_slice(b)),
        SnmpValue::Null => V::Null,
        SnmpValue::NoSuchObject => V::NoSuchObject,
        SnmpValue::NoSuchInstance => V::NoSuchInstance,
        SnmpValue::EndOfMibView => V::EndOfMibView,
    }
}

/// A v2c response message as an agent would send it.
fn response(
    community: &str,
    request_id: i32,
    status: OutboundErrorStatus,
    varbinds: &[(Oid, SnmpValue)],
) -> Vec<u8> {
    let vbs = varbinds
        .iter()
        .map(|(o, v)| async_snmp::VarBind::new(o.to_lib(), lib_value(v)))
        .collect();
    let pdu = ResponsePdu::new(async_snmp::Version::V2c, request_id, status, None, vbs).unwrap();
    CommunityMessage::v2c(community, pdu)
        .unwrap()
        .encode()
        .unwrap()
        .to_vec()
}

/// The PDU type, request-id and OIDs of a request (fake agent side).
fn parse_request(msg: &[u8]) -> (PduType, i32, Vec<Oid>) {
    let m = Message::decode(Bytes::copy_from_slice(msg), DecodeConfig::default())
        .unwrap()
        .value;
    let pdu = m.pdu().unwrap();
    let oids = pdu
        .varbinds()
        .iter()
        .map(|vb| Oid::from_lib(&vb.oid))
        .collect();
    (pdu.pdu_type(), pdu.request_id(), oids)
}

/// A fake agent that ignores the first request, then sends a stale
/// response, a garbage datagram, one for another community and finally the real one.
#[tokio::test]
async fn retries_and_ignores_foreign_responses() {
    let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = agent.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let (n1, _) = agent.recv_from(&mut buf).await.unwrap();
        let (first_type, first_id, first_oids) = parse_request(&buf[..n1]);
        let (n2, peer) = agent.recv_from(&mut buf).await.unwrap();
        let (pdu_type, id, oids) = parse_request(&buf[..n2]);
        assert_eq!(
            (first_type, &first_oids),
            (pdu_type, &oids),
            "the retry asks the same"
        );
        assert_eq!(pdu_type, PduType::GetRequest);
        let vbs = vec![(oids[0].clone(), SnmpValue::TimeTicks(42))];
        let stale = response(
            "public",
            first_id.wrapping_add(7),
            OutboundErrorStatus::NoError,
            &vbs,
        );
        agent.send_to(&stale, peer).await.unwrap();
        agent.send_to(b"\x30\x03garbage", peer).await.unwrap();
        agent
            .send_to(
                &response("other", id, OutboundErrorStatus::NoError, &vbs),
                peer,
            )
            .await
            .unwrap();
        agent
            .send_to(
                &response("public", id, OutboundErrorStatus::NoError, &vbs),
                peer,
            )
            .await
            .unwrap();
    });
    let sys_up = oid("1.3.6.1.2.1.1.3.0");
    let got = get(
        addr,
        &public(),
        std::slice::from_ref(&sys_up),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(got.unwrap(), vec![(sys_up, SnmpValue::TimeTicks(42))]);
    task.await.unwrap();
}

/// A fake agent serving a small table.
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
            let vb = if pdu_type == PduType::GetNextRequest {
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
                .send_to(
                    &response("public", id, OutboundErrorStatus::NoError, &[vb]),
                    peer,
                )
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
    let c = public();
    let addr = fake_agent(rows.clone(), 20).await;
    let got = walk(addr, &c, &oid("1.3.6.1.2.1.2.2.1.8"), 100, t)
        .await
        .unwrap();
    assert_eq!(got, rows[1..4].to_vec());
    let got = walk(addr, &c, &oid("1.3.6.1.2.1.2.2.1.8"), 2, t)
        .await
        .unwrap();
    assert_eq!(got, rows[1..3].to_vec());
    // Past the last object: EndOfMibView ends the walk.
    let got = walk(addr, &c, &oid("1.3.6.1.2.1.2.2.1.10"), 100, t)
        .await
        .unwrap();
    assert_eq!(got, rows[4..].to_vec());
    // A scalar falls back to GET (one GETNEXT, one GET).
    let got = walk(addr, &c, &oid("1.3.6.1.2.1.1.3.0"), 100, t)
        .await
        .unwrap();
    assert_eq!(got, rows[..1].to_vec());
    assert!(walk(addr, &c, &oid("1.3"), 0, t).await.unwrap().is_empty());
    let got = get_next(addr, &c, &[oid("1.3.6.1.2.1.2.2.1.8.2")], t)
        .await
        .unwrap();
    assert_eq!(got, rows[3..4].to_vec());
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
                .send_to(
                    &response("public", id, OutboundErrorStatus::NoError, &[vb]),
                    peer,
                )
                .await;
        }
    });
    let got = walk(
        addr,
        &public(),
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
            .send_to(
                &response("public", id, OutboundErrorStatus::AuthorizationError, &[]),
                peer,
            )
            .await
            .unwrap();
    });
    let got = get(
        addr,
        &public(),
        &[oid("1.3.6.1.2.1.1.1.0")],
        Duration::from_secs(1),
    )
    .await;
    assert!(
        matches!(
            got,
            Err(SnmpError::ErrorStatus {
                status: 16,
                index: 0
            })
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_silent_agent_times_out_after_the_timeout_and_nothing_is_asked_for_no_oids() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let start = std::time::Instant::now();
    let got = get(
        addr,
        &public(),
        &[oid("1.3.6.1.2.1.1.1.0")],
        Duration::from_millis(300),
    )
    .await;
    assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert!(
        get(addr, &public(), &[], Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_v3_password_shorter_than_eight_characters_is_a_config_error() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let user = Credentials::V3(Usm {
        username: "monitor".into(),
        auth: Some((AuthProtocol::Sha256, "short".into())),
        privacy: None,
        context: String::new(),
    });
    let got = get(
        addr,
        &user,
        &[oid("1.3.6.1.2.1.1.1.0")],
        Duration::from_millis(300),
    )
    .await;
    assert!(matches!(got, Err(SnmpError::Config(_))), "{got:?}");
}
