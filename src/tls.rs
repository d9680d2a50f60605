//! The outbound TLS trust policy, in one place: which roots every client that leaves this
//! process trusts — the HTTP and TLS probes, webhooks and the IM/SMS gateways, SMTP, and
//! the database connections.
//!
//! The policy is the operating system's root store (read once at start through
//! `rustls-native-certs`, which honours `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus the PEM
//! bundle named by `tls_ca_file` (`YUNWEI_TLS_CA_FILE`), for the intranet CAs government
//! networks run. When the system has no usable roots at all, the Mozilla roots compiled
//! in (`webpki-roots`) stand in for them, with a warning. One `rustls::ClientConfig` is
//! built at start with the ring provider and shared by every client.
//!
//! PostgreSQL and MySQL connections go through sqlx, which builds its own rustls config
//! per connection: with the `tls-rustls-ring-native-roots` feature it trusts the same
//! system roots, and the bundle is handed to it as `sslrootcert` (see [`database_url`]).
//! sqlx verifies the server only when the URL asks for it (`sslmode=verify-ca` or
//! `verify-full`), as libpq does.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, RootCertStore};

/// Largest `tls_ca_file` read, in bytes (a full Mozilla bundle is about 220 KB).
pub const MAX_BUNDLE_BYTES: usize = 1024 * 1024;
/// Most certificates taken from `tls_ca_file`.
pub const MAX_BUNDLE_CERTS: usize = 1000;

/// How the setting is named in messages.
const SETTING: &str = "tls_ca_file（YUNWEI_TLS_CA_FILE）";

/// Parses a PEM bundle of one or more CA certificates. Sections other than `CERTIFICATE`
/// (keys, comments) are ignored; every certificate must be one rustls can use as a trust
/// anchor. The input is bounded by [`MAX_BUNDLE_BYTES`] before anything is decoded.
pub fn parse_bundle(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    if pem.len() > MAX_BUNDLE_BYTES {
        return Err(format!(
            "文件超过 {} KB，请只放入需要信任的 CA 证书",
            MAX_BUNDLE_BYTES / 1024
        ));
    }
    let mut certs = Vec::new();
    let mut check = RootCertStore::empty();
    for (i, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = item.map_err(|e| format!("第 {} 个证书不是有效的 PEM：{e}", i + 1))?;
        if certs.len() == MAX_BUNDLE_CERTS {
            return Err(format!("证书超过 {MAX_BUNDLE_CERTS} 个"));
        }
        // The check rustls makes when the root is added: a parseable X.509 certificate
        // with a subject and a public key.
        check
            .add(cert.clone())
            .map_err(|e| format!("第 {} 个证书无法解析：{e}", i + 1))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err("文件中没有 PEM 格式的证书（以 -----BEGIN CERTIFICATE----- 开头）".to_string());
    }
    Ok(certs)
}

/// Reads and parses `tls_ca_file`, naming the setting in every error.
pub fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| format!("{SETTING}：无法读取 {shown}：{e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{SETTING}：无法读取 {shown}：{e}"))?;
    parse_bundle(&bytes).map_err(|m| format!("{SETTING}：{shown}：{m}"))
}

/// The trust policy in effect, and the client configurations built from it.
pub struct Trust {
    /// Every root a verifying client trusts, as DER (system roots, then the bundle); empty
    /// when the compiled-in Mozilla roots stand in for the system's.
    roots: Vec<CertificateDer<'static>>,
    bundle_len: usize,
    ca_file: Option<PathBuf>,
    mozilla_fallback: bool,
    verified: Arc<ClientConfig>,
    unverified: Arc<ClientConfig>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("roots", &self.roots.len())
            .field("bundle", &self.bundle_len)
            .field("ca_file", &self.ca_file)
            .field("mozilla_fallback", &self.mozilla_fallback)
            .finish()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Trust {
    /// Reads the system roots and `ca_file` and builds the shared client configurations.
    pub fn load(ca_file: Option<&Path>) -> Result<Trust, String> {
        let bundle = match ca_file {
            Some(p) => read_bundle(p)?,
            None => Vec::new(),
        };
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "cannot read a system CA certificate");
        }
        Trust::with_roots(native.certs, ca_file.map(Path::to_path_buf), bundle)
    }

    /// Builds the policy from given system roots and bundle (tests pass their own).
    pub fn with_roots(
        system: Vec<CertificateDer<'static>>,
        ca_file: Option<PathBuf>,
        bundle: Vec<CertificateDer<'static>>,
    ) -> Result<Trust, String> {
        let mut store = RootCertStore::empty();
        let mut roots = Vec::with_capacity(system.len() + bundle.len());
        for c in system {
            // A system store may hold certificates rustls cannot use; they are skipped,
            // as every TLS library does.
            if store.add(c.clone()).is_ok() {
                roots.push(c);
            }
        }
        let system_roots = roots.len();
        let mozilla_fallback = system_roots == 0;
        if mozilla_fallback {
            tracing::warn!(
                "the system has no CA certificates (install ca-certificates); using the compiled-in Mozilla roots"
            );
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let bundle_len = bundle.len();
        for c in bundle {
            store
                .add(c.clone())
                .map_err(|e| format!("{SETTING}：证书无法作为根证书使用：{e}"))?;
            roots.push(c);
        }
        tracing::info!(
            system_roots,
            bundle = bundle_len,
            mozilla_fallback,
            "outbound TLS trust"
        );
        let builder = || {
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS 配置无效：{e}"))
        };
        let verified = builder()?
            .with_root_certificates(store)
            .with_no_client_auth();
        let unverified = builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth();
        Ok(Trust {
            roots,
            bundle_len,
            ca_file,
            mozilla_fallback,
            verified: Arc::new(verified),
            unverified: Arc::new(unverified),
        })
    }

    /// The shared client configuration: verifying against the policy, or (for probes the
    /// user set to `verify: false`) accepting any certificate while still checking the
    /// handshake signatures.
    pub fn client_config(&self, verify: bool) -> Arc<ClientConfig> {
        if verify {
            self.verified.clone()
        } else {
            self.unverified.clone()
        }
    }

    /// A reqwest client builder on the shared configuration. reqwest takes the
    /// configuration by value: the clone shares the verifier and the provider. reqwest
    /// recognises it only if both use the same rustls version (one in Cargo.lock); a
    /// mismatch fails `build()` at start, never silently.
    pub fn reqwest(&self, verify: bool) -> reqwest::ClientBuilder {
        let mut cfg = ClientConfig::clone(&self.client_config(verify));
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        reqwest::Client::builder().tls_backend_preconfigured(cfg)
    }

    /// TLS parameters for an SMTP connection to `domain` with the same roots. lettre
    /// builds its own rustls configuration from the roots it is given.
    pub fn smtp(
        &self,
        domain: &str,
    ) -> Result<lettre::transport::smtp::client::TlsParameters, lettre::transport::smtp::Error>
    {
        use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
        let mut b = TlsParameters::builder(domain.to_string()).certificate_store(
            if self.mozilla_fallback {
                CertificateStore::WebpkiRoots
            } else {
                CertificateStore::None
            },
        );
        for c in &self.roots {
            b = b.add_root_certificate(Certificate::from_der(c.to_vec())?);
        }
        b.build_rustls()
    }

    /// The configured bundle, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Whether any root is trusted beyond the system's (or the fallback's).
    pub fn bundle_len(&self) -> usize {
        self.bundle_len
    }
}

/// Whether a database URL already names its own CA certificate.
pub fn names_own_ca(url: &str) -> bool {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query.split('&').any(|kv| {
        let k = kv.split('=').next().unwrap_or_default();
        ["sslrootcert", "ssl-root-cert", "ssl-ca", "sslca"].contains(&k)
    })
}

/// The PostgreSQL URL sqlx is given: `tls_ca_file` added as `sslrootcert` unless the URL
/// names its own, so a server signed by the intranet CA verifies (with `sslmode=verify-ca`
/// or `verify-full`). Other URLs are returned unchanged.
pub fn database_url(url: &str, ca_file: Option<&Path>) -> String {
    let Some(path) = ca_file else {
        return url.to_string();
    };
    let is_pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_pg || names_own_ca(url) {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}sslrootcert={}",
        query_escape(&path.to_string_lossy())
    )
}

/// Percent-encodes a query value (all but unreserved characters and `/`).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Accepts any certificate (the probes' `verify: false`) but still checks that the peer
/// holds the key it presents.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TWO_CAS: &[u8] = include_bytes!("../tests/fixtures/tls/two-cas.pem");

    #[test]
    fn a_bundle_of_two_cas_with_comments_gives_two_roots() {
        let certs = parse_bundle(TWO_CAS).unwrap();
        assert_eq!(certs.len(), 2);
        let t = Trust::with_roots(vec![], Some("/x.pem".into()), certs).unwrap();
        assert_eq!(t.bundle_len(), 2);
        assert!(t.mozilla_fallback);
    }

    #[test]
    fn empty_garbage_or_truncated_bundles_are_refused_with_a_reason() {
        let text = std::str::from_utf8(TWO_CAS).unwrap();
        let truncated = &text[..text.len() / 2];
        let mut corrupted = text.replacen("MII", "M!I", 1);
        if corrupted == text {
            corrupted = text.replacen(
                "BEGIN CERTIFICATE-----\n",
                "BEGIN CERTIFICATE-----\n!!!!",
                1,
            );
        }
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let not_x509 = "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n";
        for (input, want) in [
            ("", "没有 PEM 格式的证书"),
            ("hello", "没有 PEM 格式的证书"),
            (key_only, "没有 PEM 格式的证书"),
            (truncated, "PEM"),
            (corrupted.as_str(), "证书"),
            (not_x509, "无法解析"),
        ] {
            let e = parse_bundle(input.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{input:?}: {e}");
        }
    }

    #[test]
    fn a_bundle_over_the_size_or_count_bound_is_refused_before_decoding() {
        let big = vec![b'a'; MAX_BUNDLE_BYTES + 1];
        assert!(parse_bundle(&big).unwrap_err().contains("KB"));
        let one = parse_bundle(TWO_CAS).unwrap().remove(0);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, one.as_ref())
        );
        let many = pem.repeat(MAX_BUNDLE_CERTS + 1);
        assert!(
            many.len() <= MAX_BUNDLE_BYTES,
            "the count bound is reached first"
        );
        assert!(parse_bundle(many.as_bytes()).unwrap_err().contains("超过"));
    }

    #[test]
    fn reading_a_missing_bundle_names_the_setting_and_the_file() {
        let e = read_bundle(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(
            e.contains("YUNWEI_TLS_CA_FILE") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
    }

    #[test]
    fn the_bundle_adds_to_the_system_roots_instead_of_replacing_them() {
        let mut certs = parse_bundle(TWO_CAS).unwrap();
        let bundle = vec![certs.remove(1)];
        let t = Trust::with_roots(certs.clone(), Some("/b.pem".into()), bundle.clone()).unwrap();
        assert_eq!(t.roots, [certs, bundle].concat());
        assert!(!t.mozilla_fallback);
        assert_eq!(t.ca_file(), Some(Path::new("/b.pem")));
    }

    #[test]
    fn system_roots_rustls_cannot_use_are_skipped_not_fatal() {
        let good = parse_bundle(TWO_CAS).unwrap();
        let system = vec![CertificateDer::from(vec![1, 2, 3]), good[0].clone()];
        let t = Trust::with_roots(system, None, vec![]).unwrap();
        assert_eq!(t.roots.len(), 1);
        assert!(!t.mozilla_fallback);
        assert!(t.ca_file().is_none());
    }

    #[test]
    fn smtp_parameters_carry_the_roots() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = parse_bundle(TWO_CAS).unwrap();
        let t = Trust::with_roots(certs.clone(), None, vec![]).unwrap();
        assert_eq!(
            t.smtp("mail.example.gov.cn").unwrap().domain(),
            "mail.example.gov.cn"
        );
        let fallback = Trust::with_roots(vec![], None, certs).unwrap();
        assert!(fallback.smtp("mail.example.gov.cn").is_ok());
    }

    #[test]
    fn the_bundle_reaches_postgres_urls_that_do_not_name_their_own_ca() {
        let ca = Path::new("/etc/yunwei/内网 CA+1.pem");
        assert_eq!(
            database_url("postgres://u@db/yunwei", Some(ca)),
            "postgres://u@db/yunwei?sslrootcert=/etc/yunwei/%E5%86%85%E7%BD%91%20CA%2B1.pem"
        );
        assert_eq!(
            database_url(
                "postgresql://u@db/y?sslmode=verify-full",
                Some(Path::new("/ca.pem"))
            ),
            "postgresql://u@db/y?sslmode=verify-full&sslrootcert=/ca.pem"
        );
        for unchanged in [
            "postgres://u@db/y?sslrootcert=/own.pem",
            "postgres://u@db/y?sslmode=verify-ca&ssl-root-cert=/own.pem",
            "sqlite:///var/lib/yunwei/yunwei.db",
        ] {
            assert_eq!(database_url(unchanged, Some(ca)), unchanged);
        }
        assert_eq!(database_url("postgres://u@db/y", None), "postgres://u@db/y");
    }

    #[test]
    fn the_escaped_path_reads_back_through_sqlx() {
        let ca = Path::new("/tmp/a b&c=d+e%41/ca.pem");
        let url = database_url("postgres://u@localhost/y?sslmode=verify-full", Some(ca));
        let opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        let shown = format!("{opts:?}");
        assert!(shown.contains("/tmp/a b&c=d+e%41/ca.pem"), "{shown}");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_the_bundle_parser(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse_bundle(&bytes);
        }

        #[test]
        fn mutated_bundles_never_panic_the_parser(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut b = TWO_CAS.to_vec();
            for (i, v) in edits {
                let at = i.index(b.len());
                b[at] = v;
            }
            let _ = parse_bundle(&b);
            let _ = parse_bundle(&b[..cut.index(b.len())]);
        }

        #[test]
        fn mutated_der_inside_valid_armour_never_panics_the_parser(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut der = parse_bundle(TWO_CAS).unwrap().remove(1).to_vec();
            for (i, v) in edits {
                let at = i.index(der.len());
                der[at] = v;
            }
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
            );
            let _ = parse_bundle(pem.as_bytes());
        }
    }
}
