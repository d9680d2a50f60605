//! What a certificate monitor needs from an X.509 certificate, read with `x509-parser`.
//!
//! The subject and issuer common names, the validity period, the `subjectAltName` DNS
//! names and whether the certificate is self-issued. Signatures are not verified here:
//! the TLS stack does that. The crate bounds every length by its input, and a malformed
//! certificate is an `Err` with a short description, never a panic.

use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// The facts a monitor reports about one certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct CertInfo {
    /// The last `CN` attribute of the subject name, if any.
    pub subject_cn: Option<String>,
    /// The last `CN` attribute of the issuer name, if any.
    pub issuer_cn: Option<String>,
    /// Start of validity, unix seconds (UTC).
    pub not_before: i64,
    /// End of validity, unix seconds (UTC).
    pub not_after: i64,
    /// The `dNSName` entries of the `subjectAltName` extension, in order.
    pub dns_names: Vec<String>,
    /// True when the issuer name is byte-for-byte equal to the subject name.
    pub self_signed: bool,
}

/// Longest certificate accepted: real ones are a few KB; a chain entry of megabytes is
/// hostile.
pub const MAX_DER_LEN: usize = 64 * 1024;

/// Parse a DER-encoded X.509 certificate.
///
/// The input must be exactly one certificate (no PEM armour, no trailing bytes) of at
/// most [`MAX_DER_LEN`] bytes.
pub fn parse_cert(der: &[u8]) -> Result<CertInfo, String> {
    if der.len() > MAX_DER_LEN {
        return Err(format!(
            "certificate of {} bytes is larger than {MAX_DER_LEN}",
            der.len()
        ));
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err("trailing data after Certificate".to_string());
    }
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_string()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("subjectAltName: {e}")),
    };
    let validity = cert.validity();
    Ok(CertInfo {
        subject_cn: common_name(cert.subject()).map_err(|e| format!("subject: {e}"))?,
        issuer_cn: common_name(cert.issuer()).map_err(|e| format!("issuer: {e}"))?,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        dns_names,
        self_signed: cert.issuer().as_raw() == cert.subject().as_raw(),
    })
}

/// The last common name in a name, decoded.
fn common_name(name: &X509Name<'_>) -> Result<Option<String>, String> {
    name.iter_common_name()
        .last()
        .map(decode_string)
        .transpose()
}

/// Decode one of the directory string types into a Rust string.
///
/// x509-parser reads the UTF-8 compatible types; BMPString (what openssl writes for
/// Chinese names by default), UniversalString and T61String are decoded here. Invalid
/// code units become U+FFFD rather than errors: a monitor would rather show a slightly
/// garbled name than nothing.
fn decode_string(value: &AttributeTypeAndValue<'_>) -> Result<String, String> {
    let content = value.as_slice();
    match value.attr_value().tag() {
        Tag::Utf8String => Ok(String::from_utf8_lossy(content).into_owned()),
        // T61String is treated as Latin-1, which is what it is in practice.
        Tag::PrintableString
        | Tag::Ia5String
        | Tag::VisibleString
        | Tag::T61String
        | Tag::NumericString => Ok(content.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if !content.len().is_multiple_of(2) {
                return Err("BMPString with an odd number of octets".to_string());
            }
            let units = content
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            Ok(char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect())
        }
        Tag::UniversalString => {
            if !content.len().is_multiple_of(4) {
                return Err("UniversalString length is not a multiple of 4".to_string());
            }
            Ok(content
                .chunks_exact(4)
                .map(|quad| {
                    char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect())
        }
        other => Err(format!("unsupported string type {other}")),
    }
}

/// How a certificate's end of validity reads at `now` (unix seconds), and whether it is
/// within `warn_days` of it: `Err` (expired or too close) or `Ok` (plenty of time).
///
/// Expired certificates say so ("证书已于 3 天前过期"), never "将在 0 天后到期"; a
/// certificate with less than a day left says how many hours.
pub fn expiry_text(not_after: i64, now: i64, warn_days: i64) -> Result<String, String> {
    let left = not_after - now;
    let at = crate::clock::local_seconds(not_after.saturating_mul(1000));
    if left <= 0 {
        let days = (-left) / 86_400;
        return Err(if days >= 1 {
            format!("证书已于 {days} 天前过期（{at}）")
        } else {
            format!("证书已过期（{at}）")
        });
    }
    let days = left / 86_400;
    let text = if days >= 1 {
        format!("证书将在 {days} 天后到期（{at}）")
    } else {
        format!("证书将在 {} 小时内到期（{at}）", (left + 3599) / 3600)
    };
    if days < warn_days {
        Err(format!("{text}，预警 {warn_days} 天"))
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;
    use std::process::Command;

    const FIXED_CERT_HEX: &str = "\
         308201b83082015da00302010202144096467f613bea1a6fc5525c364e4afa58014019300a06082a8648ce3d04030230\
         1a3118301606035504030c0f6170702e79756e7765692e74657374301e170d3236313132363039333831305a170d3236\
         313232363039333831305a301a3118301606035504030c0f6170702e79756e7765692e746573743059301306072a8648\
         ce3d020106082a8648ce3d03010703420004d7349fd5988eafa8c0d8fadc5b7cf7726757e91f7f67348b53d0d3b51a76\
         1df9452666feccaab5a11575104a27ff67767e42c5ab4089395aa59ba400c6e9b292a38180307e301d0603551d0e0416\
         04140c0d3250af8f995d9b168e86ae82466532a02f6a301f0603551d230418301680140c0d3250af8f995d9b168e86ae\
         82466532a02f6a300f0603551d130101ff040530030101ff302b0603551d1104243022820f6170702e79756e7765692e\
         74657374820f7777772e79756e7765692e74657374300a06082a8648ce3d0403020349003046022100b34c763f873e36\
         96aac2212d12cda373149c595d697660eb6278206bd05f2381022100b9f4432b819df3e0fb1c420bdab0b92795c1c71a\
         0a92d8c2a0d6e518e4132579";
    const FIXED_NOT_BEFORE: i64 = 1_795_685_890; // Nov 26 09:38:10 2026 GMT
    const FIXED_NOT_AFTER: i64 = 1_798_277_890; // Dec 26 09:38:10 2026 GMT

    // DER tags the openssl tests look for in the encoding.
    const TAG_OID: u8 = 0x06;
    const TAG_UTF8_STRING: u8 = 0x0c;
    const TAG_PRINTABLE_STRING: u8 = 0x13;
    const TAG_GENERALIZED_TIME: u8 = 0x18;
    const TAG_BMP_STRING: u8 = 0x1e;
    /// 2.5.4.3 (id-at-commonName), content octets only.
    const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

    fn hex(text: &str) -> Vec<u8> {
        let text: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        text.chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// A scratch directory for openssl's files; `None` (the test is skipped) without openssl.
    fn openssl_dir() -> Option<tempfile::TempDir> {
        have_openssl().then(|| tempfile::tempdir().unwrap())
    }

    fn have_openssl() -> bool {
        let found = Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
                "openssl is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
            );
            println!(
                "note: openssl not installed, skipping the openssl-generated certificate tests"
            );
        }
        found
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn read_der(dir: &Path, pem: &str) -> Vec<u8> {
        let der = format!("{pem}.der");
        openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &der]);
        std::fs::read(dir.join(der)).unwrap()
    }

    /// Parses `pem` and checks its validity against what openssl reads.
    fn parse_checking_dates(dir: &Path, pem: &str) -> CertInfo {
        let info = parse_cert(&read_der(dir, pem)).unwrap();
        let (before, after) = openssl_dates(dir, pem);
        assert_eq!((info.not_before, info.not_after), (before, after));
        info
    }

    /// Ask openssl for `notBefore`/`notAfter` and convert them with GNU date.
    fn openssl_dates(dir: &Path, pem: &str) -> (i64, i64) {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-startdate", "-enddate", "-in", pem])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut before = None;
        let mut after = None;
        for line in text.lines() {
            let (key, value) = line.split_once('=').unwrap();
            let date = Command::new("date")
                .args(["-u", "-d", value, "+%s"])
                .output()
                .unwrap();
            assert!(date.status.success(), "date could not parse {value:?}");
            let secs: i64 = String::from_utf8(date.stdout)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            match key {
                "notBefore" => before = Some(secs),
                "notAfter" => after = Some(secs),
                _ => panic!("unexpected line {line}"),
            }
        }
        (before.unwrap(), after.unwrap())
    }

    const SAN: &str = "subjectAltName=DNS:app.yunwei.test,DNS:www.yunwei.test";

    #[test]
    fn fixed_certificate() {
        let der = hex(FIXED_CERT_HEX);
        let info = parse_cert(&der).unwrap();
        assert_eq!(
            info,
            CertInfo {
                subject_cn: Some("app.yunwei.test".to_string()),
                issuer_cn: Some("app.yunwei.test".to_string()),
                not_before: FIXED_NOT_BEFORE,
                not_after: FIXED_NOT_AFTER,
                dns_names: vec!["app.yunwei.test".to_string(), "www.yunwei.test".to_string()],
                self_signed: true,
            }
        );
    }

    #[test]
    fn expired_certificates_read_as_expired() {
        let now = 1_800_000_000;
        let e = expiry_text(now - 3 * 86_400 - 5, now, 14).unwrap_err();
        assert!(e.starts_with("证书已于 3 天前过期"), "{e}");
        let e = expiry_text(now - 60, now, 14).unwrap_err();
        assert!(e.starts_with("证书已过期"), "{e}");
        let e = expiry_text(now, now, 14).unwrap_err();
        assert!(e.starts_with("证书已过期"), "{e}");
        // Less than a day left: hours, not "0 天".
        let e = expiry_text(now + 5 * 3600, now, 14).unwrap_err();
        assert!(e.starts_with("证书将在 5 小时内到期"), "{e}");
        assert!(e.contains("预警 14 天"), "{e}");
        let e = expiry_text(now + 3 * 86_400, now, 14).unwrap_err();
        assert!(e.starts_with("证书将在 3 天后到期"), "{e}");
        let ok = expiry_text(now + 30 * 86_400 + 10, now, 14).unwrap();
        assert!(ok.starts_with("证书将在 30 天后到期"), "{ok}");
        // Seconds show in the time.
        assert!(ok.contains(':'), "{ok}");
        for delta in [-1_000_000, -86_400, -1, 0, 1, 3599, 86_399, 86_400] {
            let t = expiry_text(now + delta, now, 14).unwrap_err();
            assert!(!t.contains(" 0 天"), "{delta}: {t}");
        }
    }

    /// A certificate bigger than any real one is refused before it is parsed.
    #[test]
    fn an_oversized_certificate_is_refused_before_parsing() {
        let mut der = hex(FIXED_CERT_HEX);
        der.resize(MAX_DER_LEN + 1, 0);
        assert!(parse_cert(&der).unwrap_err().contains("larger"));
    }

    /// Peak allocation of one parse, checked against a bound of the input.
    fn parse_bounded(der: &[u8]) {
        let info = allocation_counter::measure(|| {
            let _ = std::hint::black_box(parse_cert(der));
        });
        assert!(
            info.bytes_max <= 16 * 1024 + 16 * der.len() as u64,
            "{} bytes allocated for {} input bytes",
            info.bytes_max,
            der.len()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn random_bytes_never_panic_and_allocate_a_bound_of_their_size(
            der in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            parse_bounded(&der);
        }

        #[test]
        fn random_bytes_behind_a_sequence_header_never_panic(
            len in any::<u32>(),
            body in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut der = vec![0x30, 0x84];
            der.extend_from_slice(&len.to_be_bytes());
            der.extend_from_slice(&body);
            parse_bounded(&der);
        }

        #[test]
        fn mutated_real_certificates_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            extend in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut der = hex(FIXED_CERT_HEX);
            for (at, byte) in &edits {
                let i = at.index(der.len());
                der[i] = *byte;
            }
            parse_bounded(&der);
            let keep = cut.index(der.len() + 1);
            parse_bounded(&der[..keep]);
            der.extend_from_slice(&extend);
            parse_bounded(&der);
        }
    }

    #[test]
    fn openssl_ec_self_signed() {
        let Some(dir) = openssl_dir() else {
            return;
        };
        let d = dir.path();
        #[rustfmt::skip]
        openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "30", "-subj", "/CN=app.yunwei.test", "-addext", SAN,
            "-keyout", "key.pem", "-out", "cert.pem"]);
        let info = parse_checking_dates(d, "cert.pem");
        assert_eq!(info.subject_cn.as_deref(), Some("app.yunwei.test"));
        assert_eq!(info.issuer_cn.as_deref(), Some("app.yunwei.test"));
        assert_eq!(info.dns_names, ["app.yunwei.test", "www.yunwei.test"]);
        assert_eq!(info.not_after - info.not_before, 30 * 86_400);
        assert!(info.self_signed);
    }

    #[test]
    fn openssl_rsa_generalized_time() {
        let Some(dir) = openssl_dir() else {
            return;
        };
        let d = dir.path();
        // 20000 days from now is past 2049, so notAfter is a GeneralizedTime.
        #[rustfmt::skip]
        openssl(d, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "20000",
            "-subj", "/O=Yunwei/CN=rsa.yunwei.test", "-keyout", "key.pem", "-out", "cert.pem"]);
        let der = read_der(d, "cert.pem");
        // The GeneralizedTime tag followed by a 15-octet length must be there.
        assert!(der.windows(2).any(|w| w == [TAG_GENERALIZED_TIME, 15]));
        let info = parse_cert(&der).unwrap();
        let (before, after) = openssl_dates(d, "cert.pem");
        assert_eq!((info.not_before, info.not_after), (before, after));
        assert!(info.not_after > 2_524_608_000, "after 2050-01-01");
        assert_eq!(info.subject_cn.as_deref(), Some("rsa.yunwei.test"));
        assert!(info.dns_names.is_empty());
        assert!(info.self_signed);
    }

    #[test]
    fn openssl_ca_signed_leaf() {
        let Some(dir) = openssl_dir() else {
            return;
        };
        let d = dir.path();
        #[rustfmt::skip]
        openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "3650", "-subj", "/C=CN/O=Yunwei Test/CN=Yunwei Test CA",
            "-keyout", "ca.key", "-out", "ca.pem"]);
        #[rustfmt::skip]
        openssl(d, &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=leaf.yunwei.test", "-keyout", "leaf.key",
            "-out", "leaf.csr"]);
        std::fs::write(
            d.join("ext.cnf"),
            format!("{SAN},DNS:*.yunwei.test,IP:10.0.0.1\n"),
        )
        .unwrap();
        #[rustfmt::skip]
        openssl(d, &["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "90", "-extfile", "ext.cnf", "-out", "leaf.pem"]);
        let leaf = parse_checking_dates(d, "leaf.pem");
        assert_eq!(leaf.subject_cn.as_deref(), Some("leaf.yunwei.test"));
        assert_eq!(leaf.issuer_cn.as_deref(), Some("Yunwei Test CA"));
        assert_eq!(
            leaf.dns_names,
            ["app.yunwei.test", "www.yunwei.test", "*.yunwei.test"]
        );
        assert!(!leaf.self_signed);

        let ca = parse_cert(&read_der(d, "ca.pem")).unwrap();
        assert_eq!(ca.subject_cn.as_deref(), Some("Yunwei Test CA"));
        assert!(ca.self_signed);
    }

    #[test]
    fn openssl_string_types() {
        let Some(dir) = openssl_dir() else {
            return;
        };
        let d = dir.path();
        // With `string_mask = default` openssl picks PrintableString for ASCII
        // and BMPString for Chinese; `utf8only` always gives UTF8String.
        for (mask, cn, tag) in [
            ("default", "运维监控", TAG_BMP_STRING),
            ("default", "plain.yunwei.test", TAG_PRINTABLE_STRING),
            ("utf8only", "运维监控", TAG_UTF8_STRING),
        ] {
            let config = format!(
                "[req]\ndistinguished_name = dn\nstring_mask = {mask}\nutf8 = yes\n\
                 prompt = no\n[dn]\nO = Yunwei\nCN = {cn}\n"
            );
            std::fs::write(d.join("req.cnf"), config).unwrap();
            #[rustfmt::skip]
            openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "1", "-config", "req.cnf", "-keyout", "key.pem",
                "-out", "cert.pem"]);
            let der = read_der(d, "cert.pem");
            let mut cn_tlv = OID_COMMON_NAME.to_vec();
            cn_tlv.insert(0, 3);
            cn_tlv.insert(0, TAG_OID);
            cn_tlv.push(tag);
            assert!(
                der.windows(cn_tlv.len()).any(|w| w == cn_tlv),
                "{mask}/{cn}: expected string tag 0x{tag:02x}"
            );
            let info = parse_cert(&der).unwrap();
            assert_eq!(info.subject_cn.as_deref(), Some(cn));
            assert_eq!(info.issuer_cn.as_deref(), Some(cn));
            assert!(info.dns_names.is_empty());
        }
    }
}
