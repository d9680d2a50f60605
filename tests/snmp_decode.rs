//! Property tests for the SNMP decoding the snmp probe relies on: the async-snmp
//! crate's v2c and v3 message decoders, the USM parameters, AES decryption of a scoped
//! PDU, and the conversion into the probe's values and text. On random bytes and on
//! mutated valid messages (bytes replaced, inserted, removed, truncated, a length
//! field blown up to 2 GiB) decoding never panics, and it never allocates more than a
//! fixed multiple of the datagram's size: lengths are checked against the input before
//! anything is allocated for them.
//!
//! This is a test binary of its own because it counts allocations with a global
//! allocator; it has a single #[test] (keep it so), and proptest runs its cases one
//! after another, so nothing else allocates while a case is measured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_snmp::ber::Decoder;
use async_snmp::message::{
    CommunityMessage, Message, MsgFlags, MsgGlobalData, RawMsgData, RawV3Message, ScopedPdu,
    SecurityLevel, V3Message,
};
use async_snmp::v3::{PrivKey, SaltCounter, UsmSecurityParams};
use async_snmp::{
    AuthProtocol, DecodeConfig, MessageSize, PrivProtocol, ResponsePdu, Value, VarBind, Version,
};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use yunwei::monitor::snmp::{Oid, SnmpValue};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Bytes a decode may allocate per input byte, plus a constant: twice what was measured
/// (under 32 per byte plus 4 KiB over these generators: a 7-byte varbind becomes a
/// VarBind, our (Oid, SnmpValue) and its text). A decoder that sized a buffer from a
/// declared length would show up as megabytes from a 2 GiB length field.
const BYTES_PER_INPUT_BYTE: usize = 64;
const CONSTANT: usize = 64 * 1024;

const ENGINE_ID: &[u8] = b"\x80\x00\x1f\x88\x80yunwei-test";

fn priv_key() -> PrivKey {
    PrivKey::from_password(
        AuthProtocol::Sha256,
        PrivProtocol::Aes128,
        b"priv-pass-aes",
        ENGINE_ID,
    )
    .expect("a valid key")
}

/// What the probe does with the varbinds of an accepted message.
fn convert(varbinds: Vec<VarBind>) -> usize {
    varbinds
        .into_iter()
        .map(|vb| {
            let oid = Oid(vb.oid.arcs().to_vec());
            let value = SnmpValue::from(vb.value);
            oid.to_string().len() + value.to_text().len() + usize::from(value.as_f64().is_some())
        })
        .sum()
}

fn scoped_varbinds(data: Bytes) -> usize {
    let mut d = Decoder::new(data);
    match ScopedPdu::decode(&mut d) {
        Ok(s) => convert(s.pdu.into_varbinds()),
        Err(_) => 0,
    }
}

/// Every decoder a received datagram can reach, as the client tries them.
fn decode_like_the_client(bytes: &[u8], key: &PrivKey) -> usize {
    let data = Bytes::copy_from_slice(bytes);
    let config = DecodeConfig::default();
    let mut seen = 0;
    if let Ok(m) = Message::decode(data.clone(), config)
        && let Some(pdu) = m.value.into_pdu()
    {
        seen += convert(pdu.into_varbinds());
    }
    if let Ok(raw) = RawV3Message::decode(data, config) {
        let raw = raw.value;
        let usm = UsmSecurityParams::decode(raw.security_params().clone(), config);
        match raw.msg_data() {
            RawMsgData::Plaintext { data, .. } => seen += scoped_varbinds(data.clone()),
            RawMsgData::Encrypted(ciphertext) => {
                if let Ok(usm) = usm
                    && let Ok(plain) = key.decrypt(
                        ciphertext,
                        usm.value.engine_boots(),
                        usm.value.engine_time(),
                        usm.value.priv_params(),
                    )
                {
                    seen += scoped_varbinds(plain);
                }
            }
        }
    }
    seen
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| Value::OctetString(b.into())),
        Just(Value::Null),
        oid().prop_map(Value::ObjectIdentifier),
        any::<[u8; 4]>().prop_map(Value::IpAddress),
        any::<u32>().prop_map(Value::Counter32),
        any::<u32>().prop_map(Value::Gauge32),
        any::<u32>().prop_map(Value::TimeTicks),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| Value::Opaque(b.into())),
        any::<u64>().prop_map(Value::Counter64),
        Just(Value::NoSuchObject),
        Just(Value::NoSuchInstance),
        Just(Value::EndOfMibView),
    ]
}

fn oid() -> impl Strategy<Value = async_snmp::Oid> {
    prop::collection::vec(any::<u32>(), 0..24).prop_map(|tail| {
        let mut arcs = vec![1, 3, 6, 1];
        arcs.extend(tail);
        async_snmp::Oid::from_slice(&arcs)
    })
}

fn varbinds() -> impl Strategy<Value = Vec<VarBind>> {
    prop::collection::vec(
        (oid(), value()).prop_map(|(o, v)| VarBind::new(o, v)),
        0..10,
    )
}

/// A v2c Response as an agent sends it.
fn v2c_response() -> impl Strategy<Value = Vec<u8>> {
    ("[a-z]{1,16}", 0..i32::MAX, varbinds()).prop_map(|(community, id, vbs)| {
        let pdu = ResponsePdu::success(Version::V2c, id, vbs).expect("a valid response");
        CommunityMessage::v2c(community.as_str(), pdu)
            .and_then(|m| m.encode())
            .expect("encodes")
            .to_vec()
    })
}

/// A v3 message: a plaintext Response (noAuthNoPriv, authNoPriv) or an encrypted one
/// (authPriv), the ciphertext being a real AES encryption or random bytes.
fn v3_message() -> impl Strategy<Value = Vec<u8>> {
    (
        0..i32::MAX,
        any::<u32>(),
        any::<u32>(),
        "[a-z]{1,32}",
        varbinds(),
        0u8..3,
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(id, boots, time, user, vbs, level, noise)| {
            let pdu = ResponsePdu::success(Version::V3, id, vbs).expect("a valid response");
            let scoped = ScopedPdu::new(Bytes::from_static(ENGINE_ID), Bytes::new(), pdu);
            let usm = UsmSecurityParams::new(
                Bytes::from_static(ENGINE_ID),
                boots,
                time,
                user.into_bytes(),
            )
            .expect("valid USM parameters");
            let level = match level {
                0 => SecurityLevel::NoAuthNoPriv,
                1 => SecurityLevel::AuthNoPriv,
                _ => SecurityLevel::AuthPriv,
            };
            let global = MsgGlobalData::new(
                id,
                MessageSize::new(65_507).expect("size"),
                MsgFlags::new(level, false),
            )
            .expect("global data");
            let message = match level {
                SecurityLevel::NoAuthNoPriv => {
                    V3Message::new(global, usm.encode().expect("USM encodes"), scoped)
                }
                SecurityLevel::AuthNoPriv => {
                    let usm = usm.with_auth_placeholder(24).expect("placeholder");
                    V3Message::new(global, usm.encode().expect("USM encodes"), scoped)
                }
                SecurityLevel::AuthPriv => {
                    // Half the cases carry a real AES encryption, half random bytes.
                    let (ciphertext, salt) = if noise.len() % 2 == 0 {
                        let plain = scoped.encode_to_bytes().expect("scoped PDU encodes");
                        let salts = SaltCounter::new().expect("salt");
                        priv_key()
                            .encrypt_aes(&plain, boots, time, &salts)
                            .expect("encrypts")
                    } else {
                        (Bytes::from(noise.clone()), Bytes::from_static(&[7; 8]))
                    };
                    let usm = usm
                        .with_auth_placeholder(24)
                        .and_then(|u| u.with_priv_params(salt))
                        .expect("priv params");
                    V3Message::new_with_opaque_encrypted_scoped_pdu(
                        global,
                        usm.encode().expect("USM encodes"),
                        ciphertext,
                    )
                }
            };
            message
                .and_then(|m| m.encode())
                .expect("v3 message encodes")
                .to_vec()
        })
}

/// Edits applied to a valid message.
#[derive(Clone, Debug)]
enum Edit {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
    /// A long-form length of 2 GiB - 1 written over the message.
    HugeLength(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Remove),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
        any::<prop::sample::Index>().prop_map(Edit::HugeLength),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Replace(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Edit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Edit::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Edit::HugeLength(i) => {
                let i = i.index(bytes.len());
                for (k, b) in [0x84, 0x7F, 0xFF, 0xFF, 0xFF].into_iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(i + k) {
                        *slot = b;
                    }
                }
            }
        }
    }
    bytes
}

fn check_bounded(bytes: &[u8], key: &PrivKey) -> Result<(), TestCaseError> {
    let region = Region::new(GLOBAL);
    let seen = decode_like_the_client(bytes, key);
    let allocated = region.change().bytes_allocated;
    let bound = BYTES_PER_INPUT_BYTE * bytes.len() + CONSTANT;
    prop_assert!(
        allocated <= bound,
        "decoding {} bytes allocated {allocated} bytes (bound {bound})",
        bytes.len()
    );
    // The converted output is made of the input: never more text than a bounded
    // multiple of it either.
    prop_assert!(
        seen <= 16 * bytes.len() + 1,
        "{seen} for {} bytes",
        bytes.len()
    );
    Ok(())
}

#[test]
fn snmp_decoding_never_panics_and_allocates_at_most_a_multiple_of_the_datagram() {
    // The count sees a decoder that would trust a declared length: copying the
    // declared size of this 5-byte TLV is far over the bound.
    let bomb = [0x04u8, 0x83, 0x10, 0x00, 0x00];
    let region = Region::new(GLOBAL);
    let naive = vec![0u8; usize::from(bomb[2]) << 16];
    let allocated = region.change().bytes_allocated;
    assert_eq!(naive.len(), 1 << 20);
    assert!(
        allocated > BYTES_PER_INPUT_BYTE * bomb.len() + CONSTANT,
        "{allocated}"
    );
    drop(naive);

    let key = priv_key();
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });

    // The valid messages decode to what was encoded (the generators are right), within
    // the bound.
    runner
        .run(&v2c_response(), |bytes| {
            prop_assert!(decode_like_the_client(&bytes, &key) > 0 || bytes.len() < 40);
            check_bounded(&bytes, &key)
        })
        .expect("valid v2c responses");
    runner
        .run(&v3_message(), |bytes| check_bounded(&bytes, &key))
        .expect("valid v3 messages");

    // Random datagrams.
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..1500), |bytes| {
            check_bounded(&bytes, &key)
        })
        .expect("random bytes");
    // Random datagrams that start like an SNMP message.
    runner
        .run(
            &prop::collection::vec(any::<u8>(), 0..600).prop_map(|tail| {
                let mut b = vec![0x30, 0x82, 0x02, 0x00, 0x02, 0x01, 0x03];
                b.extend(tail);
                b
            }),
            |bytes| check_bounded(&bytes, &key),
        )
        .expect("random bytes after a v3 header");

    // Mutated valid messages.
    runner
        .run(
            &(v2c_response(), prop::collection::vec(edit(), 1..6)),
            |(bytes, edits)| check_bounded(&mutate(bytes, &edits), &key),
        )
        .expect("mutated v2c responses");
    runner
        .run(
            &(v3_message(), prop::collection::vec(edit(), 1..6)),
            |(bytes, edits)| check_bounded(&mutate(bytes, &edits), &key),
        )
        .expect("mutated v3 messages");
}
