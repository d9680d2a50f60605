//! What a certificate monitor needs from an X.509 certificate, read by hand.
//!
//! This is a deliberately small DER reader: it walks the `Certificate`
//! structure of RFC 5280 far enough to pull out the subject and issuer common
//! names, the validity period, the `subjectAltName` DNS names and whether the
//! certificate is self-issued. It does not verify signatures, does not decode
//! public keys and ignores every extension other than `subjectAltName`.
//!
//! The reader never panics: every length is bounds-checked and every malformed
//! input ends in an `Err` with a short English description.

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

// Universal tags (class universal, with the constructed bit where it applies).
const TAG_BOOLEAN: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_T61_STRING: u8 = 0x14;
const TAG_IA5_STRING: u8 = 0x16;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_VISIBLE_STRING: u8 = 0x1a;
const TAG_UNIVERSAL_STRING: u8 = 0x1c;
const TAG_BMP_STRING: u8 = 0x1e;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

// Context-specific tags used inside `TBSCertificate` and `GeneralName`.
const TAG_VERSION: u8 = 0xa0; // [0] EXPLICIT, constructed
const TAG_ISSUER_UID: u8 = 0x81; // [1] IMPLICIT BIT STRING
const TAG_SUBJECT_UID: u8 = 0x82; // [2] IMPLICIT BIT STRING
const TAG_EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT, constructed
const TAG_DNS_NAME: u8 = 0x82; // GeneralName dNSName [2] IMPLICIT IA5String

/// 2.5.4.3 (id-at-commonName), content octets only.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17 (id-ce-subjectAltName), content octets only.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// Parse a DER-encoded X.509 certificate.
///
/// The input must be exactly one certificate (no PEM armour, no trailing
/// bytes).
pub fn parse_cert(der: &[u8]) -> Result<CertInfo, String> {
    let mut outer = Reader::new(der);
    let cert = outer.read(TAG_SEQUENCE, "Certificate")?;
    if !outer.is_empty() {
        return Err("trailing data after Certificate".to_string());
    }

    let mut cert_reader = Reader::new(cert.content);
    let tbs = cert_reader.read(TAG_SEQUENCE, "tbsCertificate")?;
    // Neither is needed, but a certificate without them is not a certificate.
    cert_reader.read(TAG_SEQUENCE, "signatureAlgorithm")?;
    cert_reader.read(TAG_BIT_STRING, "signatureValue")?;
    if !cert_reader.is_empty() {
        return Err("unexpected data after signatureValue".to_string());
    }

    let mut t = Reader::new(tbs.content);
    if let Some(version) = t.read_optional(TAG_VERSION, "version")? {
        let mut v = Reader::new(version.content);
        v.read(TAG_INTEGER, "version")?;
    }
    t.read(TAG_INTEGER, "serialNumber")?;
    t.read(TAG_SEQUENCE, "signature")?;
    let issuer = t.read(TAG_SEQUENCE, "issuer")?;
    let validity = t.read(TAG_SEQUENCE, "validity")?;
    let subject = t.read(TAG_SEQUENCE, "subject")?;
    t.read(TAG_SEQUENCE, "subjectPublicKeyInfo")?;
    t.read_optional(TAG_ISSUER_UID, "issuerUniqueID")?;
    t.read_optional(TAG_SUBJECT_UID, "subjectUniqueID")?;
    let dns_names = match t.read_optional(TAG_EXTENSIONS, "extensions")? {
        Some(extensions) => parse_extensions(extensions.content)?,
        None => Vec::new(),
    };
    if !t.is_empty() {
        return Err("unexpected data at the end of tbsCertificate".to_string());
    }

    let (not_before, not_after) = parse_validity(validity.content)?;
    Ok(CertInfo {
        subject_cn: find_common_name(subject.content).map_err(|e| format!("subject: {e}"))?,
        issuer_cn: find_common_name(issuer.content).map_err(|e| format!("issuer: {e}"))?,
        not_before,
        not_after,
        dns_names,
        self_signed: issuer.raw == subject.raw,
    })
}

/// One decoded tag-length-value element.
#[derive(Clone, Copy, Debug)]
struct Tlv<'a> {
    tag: u8,
    /// The content octets.
    content: &'a [u8],
    /// The whole encoding: tag, length and content.
    raw: &'a [u8],
}

/// A cursor over a run of DER elements.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Read the next element whatever its tag.
    fn read_any(&mut self) -> Result<Tlv<'a>, String> {
        let start = self.pos;
        let tag = *self.data.get(start).ok_or("unexpected end of data")?;
        if tag & 0x1f == 0x1f {
            return Err(format!("unsupported high tag number form (0x{tag:02x})"));
        }
        let first = *self.data.get(start + 1).ok_or("truncated length")?;
        let mut pos = start + 2;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err("indefinite length is not allowed in DER".to_string());
            }
            if n > 4 {
                return Err(format!("length of {n} octets is too large"));
            }
            let bytes = self.data.get(pos..pos + n).ok_or("truncated length")?;
            pos += n;
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let end = pos
            .checked_add(len)
            .ok_or("length overflows the address space")?;
        let content = self.data.get(pos..end).ok_or_else(|| {
            format!(
                "truncated element: tag 0x{tag:02x} needs {len} octets, {} left",
                self.data.len().saturating_sub(pos)
            )
        })?;
        let raw = self.data.get(start..end).ok_or("truncated element")?;
        self.pos = end;
        Ok(Tlv { tag, content, raw })
    }

    /// Read the next element and require its tag.
    fn read(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
        let tlv = self.read_any().map_err(|e| format!("{what}: {e}"))?;
        if tlv.tag != tag {
            return Err(format!(
                "{what}: expected tag 0x{tag:02x}, found 0x{:02x}",
                tlv.tag
            ));
        }
        Ok(tlv)
    }

    /// Read the next element only if it carries `tag`.
    fn read_optional(&mut self, tag: u8, what: &str) -> Result<Option<Tlv<'a>>, String> {
        if self.peek_tag() == Some(tag) {
            self.read(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The content of `Extensions` wrapped in `[3]`: collect the SAN DNS names.
fn parse_extensions(explicit: &[u8]) -> Result<Vec<String>, String> {
    let mut wrapper = Reader::new(explicit);
    let extensions = wrapper.read(TAG_SEQUENCE, "extensions")?;
    let mut reader = Reader::new(extensions.content);
    let mut names = Vec::new();
    while !reader.is_empty() {
        let extension = reader.read(TAG_SEQUENCE, "extension")?;
        let mut fields = Reader::new(extension.content);
        let oid = fields.read(TAG_OID, "extnID")?;
        fields.read_optional(TAG_BOOLEAN, "critical")?;
        let value = fields.read(TAG_OCTET_STRING, "extnValue")?;
        if oid.content == OID_SUBJECT_ALT_NAME {
            names.extend(parse_subject_alt_name(value.content)?);
        }
    }
    Ok(names)
}

/// `GeneralNames ::= SEQUENCE OF GeneralName`; keep the `dNSName` entries.
fn parse_subject_alt_name(value: &[u8]) -> Result<Vec<String>, String> {
    let mut wrapper = Reader::new(value);
    let sequence = wrapper.read(TAG_SEQUENCE, "subjectAltName")?;
    let mut reader = Reader::new(sequence.content);
    let mut names = Vec::new();
    while !reader.is_empty() {
        let name = reader
            .read_any()
            .map_err(|e| format!("subjectAltName entry: {e}"))?;
        if name.tag == TAG_DNS_NAME {
            names.push(latin1(name.content));
        }
    }
    Ok(names)
}

/// Find the last common name in a `Name` (the content of its SEQUENCE).
fn find_common_name(name: &[u8]) -> Result<Option<String>, String> {
    let mut rdns = Reader::new(name);
    let mut found = None;
    while !rdns.is_empty() {
        let rdn = rdns.read(TAG_SET, "RelativeDistinguishedName")?;
        let mut attributes = Reader::new(rdn.content);
        while !attributes.is_empty() {
            let attribute = attributes.read(TAG_SEQUENCE, "AttributeTypeAndValue")?;
            let mut fields = Reader::new(attribute.content);
            let oid = fields.read(TAG_OID, "attribute type")?;
            let value = fields
                .read_any()
                .map_err(|e| format!("attribute value: {e}"))?;
            if oid.content == OID_COMMON_NAME {
                found = Some(decode_string(value)?);
            }
        }
    }
    Ok(found)
}

/// Decode one of the directory string types into a Rust string.
///
/// Invalid code units become U+FFFD rather than errors: a monitor would rather
/// show a slightly garbled name than nothing.
fn decode_string(value: Tlv<'_>) -> Result<String, String> {
    match value.tag {
        TAG_UTF8_STRING => Ok(String::from_utf8_lossy(value.content).into_owned()),
        // T61String is treated as Latin-1, which is what it is in practice.
        TAG_PRINTABLE_STRING | TAG_IA5_STRING | TAG_VISIBLE_STRING | TAG_T61_STRING => {
            Ok(latin1(value.content))
        }
        TAG_BMP_STRING => {
            if !value.content.len().is_multiple_of(2) {
                return Err("BMPString with an odd number of octets".to_string());
            }
            let units = value
                .content
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            Ok(char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect())
        }
        TAG_UNIVERSAL_STRING => {
            if !value.content.len().is_multiple_of(4) {
                return Err("UniversalString length is not a multiple of 4".to_string());
            }
            Ok(value
                .content
                .chunks_exact(4)
                .map(|quad| {
                    char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect())
        }
        other => Err(format!("unsupported string type 0x{other:02x}")),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// `Validity ::= SEQUENCE { notBefore Time, notAfter Time }`.
fn parse_validity(validity: &[u8]) -> Result<(i64, i64), String> {
    let mut reader = Reader::new(validity);
    let not_before = reader.read_any().map_err(|e| format!("notBefore: {e}"))?;
    let not_after = reader.read_any().map_err(|e| format!("notAfter: {e}"))?;
    if !reader.is_empty() {
        return Err("unexpected data in validity".to_string());
    }
    Ok((
        parse_time(not_before).map_err(|e| format!("notBefore: {e}"))?,
        parse_time(not_after).map_err(|e| format!("notAfter: {e}"))?,
    ))
}

/// Convert a UTCTime or GeneralizedTime to unix seconds.
///
/// DER requires `YYMMDDHHMMSSZ` and `YYYYMMDDHHMMSSZ`; for robustness this also
/// accepts a missing seconds field, fractional seconds (GeneralizedTime) and a
/// `+hhmm`/`-hhmm` offset instead of `Z`.
fn parse_time(time: Tlv<'_>) -> Result<i64, String> {
    let text = time.content;
    let (year, rest) = match time.tag {
        TAG_UTC_TIME => {
            let yy = digits(text, 0, 2)?;
            // RFC 5280 4.1.2.5.1: 50..=99 is 19YY, 00..=49 is 20YY.
            let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
            (year, text.get(2..).unwrap_or_default())
        }
        TAG_GENERALIZED_TIME => (digits(text, 0, 4)?, text.get(4..).unwrap_or_default()),
        other => {
            return Err(format!(
                "expected UTCTime or GeneralizedTime, found tag 0x{other:02x}"
            ));
        }
    };
    let month = digits(rest, 0, 2)?;
    let day = digits(rest, 2, 2)?;
    let hour = digits(rest, 4, 2)?;
    let minute = digits(rest, 6, 2)?;
    let mut pos = 8;
    let mut second = 0;
    if rest.get(pos).is_some_and(u8::is_ascii_digit) {
        second = digits(rest, pos, 2)?;
        pos += 2;
    }
    if time.tag == TAG_GENERALIZED_TIME && matches!(rest.get(pos), Some(b'.' | b',')) {
        pos += 1;
        let start = pos;
        while rest.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == start {
            return Err("empty fractional seconds".to_string());
        }
    }
    let offset = match rest.get(pos) {
        Some(b'Z') => {
            pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let hours = digits(rest, pos + 1, 2)?;
            let minutes = digits(rest, pos + 3, 2)?;
            if hours > 23 || minutes > 59 {
                return Err("invalid time zone offset".to_string());
            }
            let seconds = hours * 3600 + minutes * 60;
            pos += 5;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return Err("missing time zone designator".to_string()),
    };
    if pos != rest.len() {
        return Err("unexpected characters after the time".to_string());
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("invalid date {year:04}-{month:02}-{day:02}"));
    }
    // 60 allows a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("invalid time {hour:02}:{minute:02}:{second:02}"));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Read `len` ASCII digits at `start` as a number.
fn digits(text: &[u8], start: usize, len: usize) -> Result<i64, String> {
    let field = start
        .checked_add(len)
        .and_then(|end| text.get(start..end))
        .ok_or("time is too short")?;
    field.iter().try_fold(0i64, |acc, b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + i64::from(b - b'0'))
        } else {
            Err(format!("unexpected character {:?} in time", char::from(*b)))
        }
    })
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`). `month` is 1..=12, `day` is 1..=31.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March so that the leap day is the last day of a year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let month_from_march = (month + 9) % 12; // March = 0, February = 11
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// A self-signed P-256 certificate made with
    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
    /// -days 30 -subj "/CN=app.yunwei.test" -addext
    /// "subjectAltName=DNS:app.yunwei.test,DNS:www.yunwei.test"`,
    /// kept so that the parser is tested even where `openssl` is missing.
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

    fn hex(text: &str) -> Vec<u8> {
        let text: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        text.chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn have_openssl() -> bool {
        let found = Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("openssl not found: skipping the openssl-generated certificate tests");
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
    fn days_from_civil_known_values() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1950, 1, 1) * 86_400, -631_152_000);
        assert_eq!(days_from_civil(2060, 1, 1) * 86_400, 2_840_140_800);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
        // Walk every day from 1600 to 2400 and check that consecutive dates
        // are consecutive day numbers.
        let mut expected = days_from_civil(1600, 1, 1);
        for year in 1600..2400 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), expected);
                    expected += 1;
                }
            }
        }
    }

    fn time(tag: u8, text: &str) -> Result<i64, String> {
        parse_time(Tlv {
            tag,
            content: text.as_bytes(),
            raw: &[],
        })
    }

    #[test]
    fn time_formats() {
        // 2038-01-19T03:14:07Z is i32::MAX.
        assert_eq!(time(TAG_UTC_TIME, "380119031407Z"), Ok(2_147_483_647));
        assert_eq!(time(TAG_UTC_TIME, "500101000000Z"), Ok(-631_152_000));
        assert_eq!(time(TAG_UTC_TIME, "491231235959Z"), Ok(2_524_607_999));
        assert_eq!(time(TAG_UTC_TIME, "700101000000Z"), Ok(0));
        assert_eq!(time(TAG_UTC_TIME, "7001010000Z"), Ok(0));
        assert_eq!(time(TAG_UTC_TIME, "700101080000+0800"), Ok(0));
        assert_eq!(
            time(TAG_GENERALIZED_TIME, "20600101000000Z"),
            Ok(2_840_140_800)
        );
        assert_eq!(time(TAG_GENERALIZED_TIME, "19700101000001.5Z"), Ok(1));
        assert_eq!(time(TAG_GENERALIZED_TIME, "19691231190000-0500"), Ok(0));
        for bad in [
            "",
            "Z",
            "700101000000",
            "700101000000ZZ",
            "701301000000Z",
            "700230000000Z",
            "700101240000Z",
            "700101006000Z",
            "7001010000+08",
            "70010100000aZ",
            "700101000000+2400",
        ] {
            assert!(time(TAG_UTC_TIME, bad).is_err(), "{bad:?} should fail");
        }
        assert!(time(TAG_GENERALIZED_TIME, "20000229000000.Z").is_err());
        assert!(time(TAG_GENERALIZED_TIME, "21000229000000Z").is_err());
        assert!(time(TAG_GENERALIZED_TIME, "20000229000000Z").is_ok());
        assert!(time(TAG_INTEGER, "700101000000Z").is_err());
    }

    #[test]
    fn strings() {
        let bmp = [0x00, 0x41, 0x4e, 0x2d, 0x65, 0x87];
        let tlv = |tag, content| Tlv {
            tag,
            content,
            raw: &[],
        };
        assert_eq!(decode_string(tlv(TAG_BMP_STRING, &bmp)).unwrap(), "A中文");
        assert!(decode_string(tlv(TAG_BMP_STRING, &bmp[..3])).is_err());
        assert_eq!(
            decode_string(tlv(TAG_UTF8_STRING, "运维".as_bytes())).unwrap(),
            "运维"
        );
        assert_eq!(
            decode_string(tlv(TAG_PRINTABLE_STRING, b"ab c")).unwrap(),
            "ab c"
        );
        assert_eq!(decode_string(tlv(TAG_IA5_STRING, b"a@b")).unwrap(), "a@b");
        assert!(decode_string(tlv(TAG_INTEGER, b"1")).is_err());
    }

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

    /// Truncations, bit flips and overwrites of a real certificate must give
    /// `Err` (or, for harmless changes, `Ok`) but never panic.
    #[test]
    fn garbled_input_never_panics() {
        let der = hex(FIXED_CERT_HEX);
        let mut ok = 0usize;
        let mut err = 0usize;
        let mut count = |result: Result<CertInfo, String>| match result {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        };
        for len in 0..der.len() {
            count(parse_cert(&der[..len]));
        }
        let mut extended = der.clone();
        extended.push(0);
        count(parse_cert(&extended));
        for pos in 0..der.len() {
            for value in [0x00, 0xff, 0x80, 0x84, 0x1f, 0x30, 0x7f] {
                let mut garbled = der.clone();
                garbled[pos] = value;
                count(parse_cert(&garbled));
            }
            for bit in 0..8 {
                let mut garbled = der.clone();
                garbled[pos] ^= 1 << bit;
                count(parse_cert(&garbled));
            }
        }
        // A small deterministic pseudo-random walk (xorshift) over multi-byte
        // damage.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut garbled = der.clone();
            for _ in 0..(next() % 6 + 1) {
                let pos = usize::try_from(next() % der.len() as u64).unwrap();
                garbled[pos] = next().to_le_bytes()[0];
            }
            let cut = usize::try_from(next() % (der.len() as u64 + 1)).unwrap();
            count(parse_cert(&garbled[..cut.max(der.len() / 2)]));
            count(parse_cert(&garbled));
        }
        for garbage in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x00],
            &[0x3f, 0x00],
            &[0x30, 0x02, 0x30, 0x00],
        ] {
            count(parse_cert(garbage));
        }
        assert!(err > 0);
        eprintln!("garbled inputs: {ok} parsed, {err} rejected");
    }

    #[test]
    fn openssl_ec_self_signed() {
        if !have_openssl() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        #[rustfmt::skip]
        openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "30", "-subj", "/CN=app.yunwei.test", "-addext", SAN,
            "-keyout", "key.pem", "-out", "cert.pem"]);
        let info = parse_cert(&read_der(d, "cert.pem")).unwrap();
        let (before, after) = openssl_dates(d, "cert.pem");
        assert_eq!(info.subject_cn.as_deref(), Some("app.yunwei.test"));
        assert_eq!(info.issuer_cn.as_deref(), Some("app.yunwei.test"));
        assert_eq!(info.dns_names, ["app.yunwei.test", "www.yunwei.test"]);
        assert_eq!((info.not_before, info.not_after), (before, after));
        assert_eq!(info.not_after - info.not_before, 30 * 86_400);
        assert!(info.self_signed);
    }

    #[test]
    fn openssl_rsa_generalized_time() {
        if !have_openssl() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
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
        if !have_openssl() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
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
        let leaf = parse_cert(&read_der(d, "leaf.pem")).unwrap();
        let (before, after) = openssl_dates(d, "leaf.pem");
        assert_eq!((leaf.not_before, leaf.not_after), (before, after));
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
        if !have_openssl() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
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
