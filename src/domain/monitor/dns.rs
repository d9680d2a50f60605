//! DNS record types a dns monitor may ask for. The resolver is `crate::monitor::probe::dns`.

/// Record types the probe can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Ptr,
    Soa,
    Srv,
}

impl RecordType {
    /// Parses a record type name case-insensitively ("A", "aaaa", "Mx", ...).
    pub fn parse(s: &str) -> Option<RecordType> {
        let t = match s.trim().to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "MX" => RecordType::Mx,
            "TXT" => RecordType::Txt,
            "NS" => RecordType::Ns,
            "PTR" => RecordType::Ptr,
            "SOA" => RecordType::Soa,
            "SRV" => RecordType::Srv,
            _ => return None,
        };
        Some(t)
    }

    /// The conventional upper-case name of the type.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
            RecordType::Ptr => "PTR",
            RecordType::Soa => "SOA",
            RecordType::Srv => "SRV",
        }
    }
}
