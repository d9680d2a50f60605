//! Probe errors in plain Chinese: the class of a failed check (connection refused, timeout,
//! DNS failure, an untrusted or expired certificate, a wrong status, a missing keyword, an
//! SNMP or database login failure…) named in words an engineer on duty reads at a glance.
//! The probe's own text stays the detail; this only chooses the headline.

/// A failed check explained: `summary` in Chinese, `detail` the probe's original text
/// (empty when the summary already is that text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    pub summary: String,
    pub detail: String,
}

/// The class of a probe error, from its phase (`spec::PHASES`) and message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    ConnectionRefused,
    ConnectionReset,
    Unreachable,
    Timeout,
    DnsFailure,
    CertificateExpired,
    CertificateUntrusted,
    HostnameMismatch,
    TlsHandshake,
    HttpStatus,
    KeywordMissing,
    SnmpTimeout,
    SnmpAuth,
    DatabaseLogin,
    DatabaseMissing,
    DatabaseQuery,
    Threshold,
    HeartbeatMissed,
    Other,
}

impl ErrorClass {
    /// The headline for this class.
    pub fn summary(self) -> &'static str {
        match self {
            ErrorClass::ConnectionRefused => "目标拒绝连接：端口没有服务在监听，或被防火墙拒绝",
            ErrorClass::ConnectionReset => "连接被对方中断：服务异常退出或被安全设备重置",
            ErrorClass::Unreachable => "网络不可达：没有到目标的路由，请检查网络和防火墙",
            ErrorClass::Timeout => "检测超时：目标在限定时间内没有响应",
            ErrorClass::DnsFailure => "域名解析失败：域名不存在或 DNS 服务器无响应",
            ErrorClass::CertificateExpired => "证书已过期，请尽快更换证书",
            ErrorClass::CertificateUntrusted => "证书不受信任：签发机构未知或为自签名证书",
            ErrorClass::HostnameMismatch => "证书与访问的域名不符",
            ErrorClass::TlsHandshake => "TLS 握手失败：协议或加密套件不匹配",
            ErrorClass::HttpStatus => "HTTP 状态码不符合预期",
            ErrorClass::KeywordMissing => "页面内容不符合预期：没有找到关键字",
            ErrorClass::SnmpTimeout => {
                "SNMP 设备无响应：请检查地址、端口、团体名或 v3 用户名及设备的访问控制"
            }
            ErrorClass::SnmpAuth => "SNMP 认证失败：用户名、认证或加密密码与设备配置不一致",
            ErrorClass::DatabaseLogin => "数据库登录失败：用户名或密码错误，或没有登录权限",
            ErrorClass::DatabaseMissing => "数据库不存在：请检查连接地址中的库名",
            ErrorClass::DatabaseQuery => "数据库已连接，但查询失败",
            ErrorClass::Threshold => "超过阈值",
            ErrorClass::HeartbeatMissed => "未按时收到心跳",
            ErrorClass::Other => "检测失败",
        }
    }
}

/// Classifies a probe error by its phase and message (case-insensitive substrings of
/// what the probes and their libraries say; the most specific first).
pub fn classify(phase: Option<&str>, message: &str) -> ErrorClass {
    let m = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    let phase = phase.unwrap_or("");
    if phase == "heartbeat" {
        return ErrorClass::HeartbeatMissed;
    }
    if phase == "threshold" {
        return ErrorClass::Threshold;
    }
    if has(&[
        "certificate expired",
        "证书已于",
        "证书已过期",
        "expired certificate",
    ]) || (has(&["expired"]) && has(&["certificate", "证书", "tls"]))
    {
        return ErrorClass::CertificateExpired;
    }
    if has(&[
        "notvalidforname",
        "not valid for name",
        "hostname mismatch",
        "certificate is not valid for",
        "与域名不符",
    ]) {
        return ErrorClass::HostnameMismatch;
    }
    if has(&[
        "unknownissuer",
        "unknown issuer",
        "self signed",
        "self-signed",
        "selfsigned",
        "unable to get local issuer",
        "untrusted",
        "不受信任",
    ]) {
        return ErrorClass::CertificateUntrusted;
    }
    if phase == "snmp" || m.contains("snmp") {
        if has(&[
            "认证失败",
            "解密失败",
            "unknownusername",
            "用户名（username）在设备上不存在",
            "wrongdigest",
            "未通过认证校验",
            "authorizationerror",
        ]) {
            return ErrorClass::SnmpAuth;
        }
        if has(&["无响应", "超时", "timeout", "timed out"]) {
            return ErrorClass::SnmpTimeout;
        }
    }
    if has(&[
        "password authentication failed",
        "access denied for user",
        "authentication failed for user",
        "no pg_hba.conf entry",
    ]) {
        return ErrorClass::DatabaseLogin;
    }
    if has(&["unknown database"]) || (m.contains("database") && m.contains("does not exist")) {
        return ErrorClass::DatabaseMissing;
    }
    if has(&[
        "connection refused",
        "os error 111",
        "os error 10061",
        "拒绝连接",
    ]) {
        return ErrorClass::ConnectionRefused;
    }
    if has(&[
        "connection reset",
        "os error 104",
        "broken pipe",
        "connection aborted",
    ]) {
        return ErrorClass::ConnectionReset;
    }
    if has(&[
        "no route to host",
        "network is unreachable",
        "host is unreachable",
        "os error 113",
        "os error 101",
    ]) {
        return ErrorClass::Unreachable;
    }
    if phase == "dns"
        || has(&[
            "dns error",
            "failed to lookup",
            "name or service not known",
            "nxdomain",
            "no such host",
            "temporary failure in name resolution",
            "域名解析失败",
        ])
    {
        return ErrorClass::DnsFailure;
    }
    if phase == "timeout" || has(&["timed out", "timeout", "超时", "deadline has elapsed"]) {
        return ErrorClass::Timeout;
    }
    if phase == "tls" || has(&["handshake", "tls"]) {
        return ErrorClass::TlsHandshake;
    }
    if phase == "http_status" {
        return ErrorClass::HttpStatus;
    }
    if phase == "body_match" {
        return ErrorClass::KeywordMissing;
    }
    if phase == "query" {
        return ErrorClass::DatabaseQuery;
    }
    ErrorClass::Other
}

/// The headline and the detail of a failed check. Threshold, heartbeat and unclassified
/// messages are the probes' own Chinese text, kept as the headline; for the others the
/// headline is the class and the original text the detail. An empty message gives the
/// phase's class alone.
pub fn explain(phase: Option<&str>, message: &str) -> Explained {
    let class = classify(phase, message);
    let raw = message.trim();
    let own_words = matches!(
        class,
        ErrorClass::Threshold | ErrorClass::HeartbeatMissed | ErrorClass::Other
    ) && !raw.is_empty()
        && !mostly_ascii(raw);
    if own_words {
        return Explained {
            summary: raw.to_string(),
            detail: String::new(),
        };
    }
    let mut summary = class.summary().to_string();
    // The status line or the keyword is what the engineer needs: keep the Chinese text
    // the probe wrote (it names both) as the headline.
    if matches!(class, ErrorClass::HttpStatus | ErrorClass::KeywordMissing)
        && !raw.is_empty()
        && !mostly_ascii(raw)
    {
        summary = raw.to_string();
    }
    Explained {
        detail: if raw == summary {
            String::new()
        } else {
            raw.to_string()
        },
        summary,
    }
}

/// More than half of the letters are ASCII: an English library message.
fn mostly_ascii(s: &str) -> bool {
    let letters: Vec<char> = s.chars().filter(|c| c.is_alphabetic()).collect();
    let ascii = letters.iter().filter(|c| c.is_ascii()).count();
    !letters.is_empty() && ascii * 2 > letters.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_tcp_connection_reads_as_refused_with_the_original_kept() {
        let raw = "连接 127.0.0.1:9 失败：Connection refused (os error 111)";
        let e = explain(Some("connect"), raw);
        assert_eq!(e.summary, ErrorClass::ConnectionRefused.summary());
        assert_eq!(e.detail, raw);
        assert_eq!(
            classify(None, "tcp connect error: Connection refused (os error 111)"),
            ErrorClass::ConnectionRefused
        );
    }

    #[test]
    fn timeouts_dns_and_network_failures_are_told_apart() {
        assert_eq!(
            classify(Some("timeout"), "超过 800 毫秒未完成"),
            ErrorClass::Timeout
        );
        assert_eq!(
            classify(
                Some("connect"),
                "连接失败：error sending request: operation timed out"
            ),
            ErrorClass::Timeout
        );
        assert_eq!(
            classify(
                Some("dns"),
                "域名解析失败：dns error: failed to lookup address information: Name or service not known"
            ),
            ErrorClass::DnsFailure
        );
        assert_eq!(
            classify(
                Some("connect"),
                "连接 10.0.0.1:22 失败：No route to host (os error 113)"
            ),
            ErrorClass::Unreachable
        );
        assert_eq!(
            classify(Some("connect"), "Connection reset by peer (os error 104)"),
            ErrorClass::ConnectionReset
        );
    }

    #[test]
    fn certificate_problems_name_expiry_trust_and_hostname() {
        assert_eq!(
            classify(
                Some("tls"),
                "证书已于 3 天前过期（2026-01-01），TLS 握手被拒绝"
            ),
            ErrorClass::CertificateExpired
        );
        assert_eq!(
            classify(
                Some("tls"),
                "TLS 握手或证书校验失败：invalid peer certificate: UnknownIssuer"
            ),
            ErrorClass::CertificateUntrusted
        );
        assert_eq!(
            classify(Some("tls"), "invalid peer certificate: NotValidForName"),
            ErrorClass::HostnameMismatch
        );
        assert_eq!(
            classify(
                Some("tls"),
                "TLS 握手失败：received fatal alert: HandshakeFailure"
            ),
            ErrorClass::TlsHandshake
        );
    }

    #[test]
    fn http_status_and_keyword_keep_the_probes_chinese_headline() {
        let e = explain(Some("http_status"), "HTTP 状态码 503（期望 [200]）");
        assert_eq!(e.summary, "HTTP 状态码 503（期望 [200]）");
        assert_eq!(e.detail, "");
        assert_eq!(
            classify(Some("body_match"), "页面中没有找到关键字“欢迎”"),
            ErrorClass::KeywordMissing
        );
    }

    #[test]
    fn snmp_timeouts_and_authentication_failures_are_distinct() {
        assert_eq!(
            classify(
                Some("snmp"),
                "SNMP 设备无响应（超时，请检查地址、端口和团体名或 SNMPv3 用户名）"
            ),
            ErrorClass::SnmpTimeout
        );
        assert_eq!(
            classify(
                Some("snmp"),
                "SNMPv3 认证失败：认证密码（auth_password）或认证协议（auth_protocol）与设备上的用户配置不一致（wrongDigest）"
            ),
            ErrorClass::SnmpAuth
        );
    }

    #[test]
    fn database_login_and_missing_database_are_named() {
        assert_eq!(
            classify(
                Some("connect"),
                "连接失败：error returned from database: password authentication failed for user \"yw\""
            ),
            ErrorClass::DatabaseLogin
        );
        assert_eq!(
            classify(
                Some("connect"),
                "连接失败：error returned from database: 1045 (28000): Access denied for user 'yw'@'localhost'"
            ),
            ErrorClass::DatabaseLogin
        );
        assert_eq!(
            classify(
                Some("connect"),
                "连接失败：error returned from database: database \"x\" does not exist"
            ),
            ErrorClass::DatabaseMissing
        );
        assert_eq!(
            classify(Some("query"), "SELECT 1 失败：boom"),
            ErrorClass::DatabaseQuery
        );
    }

    #[test]
    fn thresholds_and_unknown_chinese_messages_stay_as_written() {
        let e = explain(Some("threshold"), "响应时间 900 毫秒，超过上限 500 毫秒");
        assert_eq!(e.summary, "响应时间 900 毫秒，超过上限 500 毫秒");
        assert_eq!(e.detail, "");
        let e = explain(Some("connect"), "something odd happened");
        assert_eq!(e.summary, "检测失败");
        assert_eq!(e.detail, "something odd happened");
    }
}
