//! One outbound TLS trust policy: servers signed by a private CA made with `openssl` (an
//! intranet CA) are trusted by the HTTP and TLS probes, webhooks, SMTP and the PostgreSQL
//! connection only when the CA is in `tls_ca_file`, and a server signed by another private
//! CA stays refused. The servers are small rustls servers on loopback speaking just enough
//! HTTP, SMTP or PostgreSQL; they report every handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::helpers::*;
use crate::monitoring::peer;

/// A CA and a server certificate for `localhost` and 127.0.0.1 it signed, in a temp dir.
struct PrivateCa {
    dir: tempfile::TempDir,
}

impl PrivateCa {
    /// `None` (and a note) when openssl is missing; a failure under
    /// YUNWEI_REQUIRE_PROBE_PEERS=1.
    fn new(name: &str) -> Option<PrivateCa> {
        let openssl = peer("/usr/bin/openssl")?;
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&openssl)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        std::fs::write(
            p("server.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        let subject = format!("/CN={name}/O=Yunwei test");
        self_signed_ec(&openssl, "30", &subject, p("ca.key"), p("ca.pem"));
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-set_serial",
            "2",
            "-days",
            "20",
            "-extfile",
            &p("server.ext"),
            "-out",
            &p("server.pem"),
        ]);
        Some(PrivateCa { dir })
    }

    /// The CA certificate: what goes into `tls_ca_file`.
    fn bundle(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.dir.path().join("server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.dir.path().join("server.key")).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    }
}

#[derive(Clone, Copy)]
enum Speaks {
    /// Answers every request 200 with `{"errcode":0}`.
    Http,
    /// Implicit-TLS SMTP that accepts one message.
    Smtp,
    /// PostgreSQL's SSLRequest, the TLS handshake, then a hang-up.
    Postgres,
}

/// What a server saw: a handshake (`Ok` or the error) and, for HTTP and SMTP, what came
/// over it.
#[derive(Debug)]
enum Seen {
    Handshake(Result<(), String>),
    Request(String),
}

async fn serve(ca: &PrivateCa, speaks: Speaks) -> (u16, mpsc::UnboundedReceiver<Seen>) {
    let acceptor = ca.acceptor();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = l.accept().await else {
                return;
            };
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Speaks::Postgres = speaks {
                    let mut req = [0u8; 8];
                    if tcp.read_exact(&mut req).await.is_err()
                        || req != [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
                    {
                        return;
                    }
                    tcp.write_all(b"S").await.unwrap();
                }
                let tls = match acceptor.accept(tcp).await {
                    Ok(s) => {
                        let _ = tx.send(Seen::Handshake(Ok(())));
                        s
                    }
                    Err(e) => {
                        let _ = tx.send(Seen::Handshake(Err(e.to_string())));
                        return;
                    }
                };
                let got = match speaks {
                    Speaks::Http => http_exchange(tls).await,
                    Speaks::Smtp => smtp_exchange(tls).await,
                    Speaks::Postgres => None,
                };
                if let Some(g) = got {
                    let _ = tx.send(Seen::Request(g));
                }
            });
        }
    });
    (port, rx)
}

async fn http_exchange<S: tokio::io::AsyncRead + AsyncWrite + Unpin>(s: S) -> Option<String> {
    let mut r = BufReader::new(s);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).await.ok()?;
    let answer = "{\"errcode\":0,\"errmsg\":\"ok\"}";
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    r.get_mut().write_all(resp.as_bytes()).await.ok()?;
    r.get_mut().shutdown().await.ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

async fn smtp_exchange<S: tokio::io::AsyncRead + AsyncWrite + Unpin>(s: S) -> Option<String> {
    let mut r = BufReader::new(s);
    r.get_mut()
        .write_all(b"220 localhost ESMTP test\r\n")
        .await
        .ok()?;
    let mut message = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let cmd = line.to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            b"250 localhost\r\n"
        } else if cmd.starts_with("DATA") {
            r.get_mut().write_all(b"354 go ahead\r\n").await.ok()?;
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await.ok()? == 0 {
                    return None;
                }
                if l == ".\r\n" {
                    break;
                }
                message.push_str(&l);
            }
            b"250 queued\r\n"
        } else if cmd.starts_with("QUIT") {
            let _ = r.get_mut().write_all(b"221 bye\r\n").await;
            let _ = r.get_mut().shutdown().await;
            return Some(message);
        } else {
            b"250 ok\r\n"
        };
        r.get_mut().write_all(reply).await.ok()?;
    }
}

/// The next handshake a server reports.
async fn handshake(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Result<(), String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Some(Seen::Handshake(h))) => return h,
            Ok(Some(Seen::Request(_))) => continue,
            _ => panic!("the server saw no handshake"),
        }
    }
}

/// The next request a server reports.
async fn request(rx: &mut mpsc::UnboundedReceiver<Seen>) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Some(Seen::Request(r))) => return r,
            Ok(Some(Seen::Handshake(_))) => continue,
            _ => panic!("the server saw no request"),
        }
    }
}

async fn check(app: &TestApp, body: Value) -> Value {
    let t = &app.admin_token;
    let (s, m) = app.post(t, "/api/v1/monitors", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{body}: {m}");
    app.post_expect(
        t,
        &format!("/api/v1/monitors/{}/check", m["id"]),
        &json!({}),
        StatusCode::OK,
    )
    .await
}

/// Options trusting `bundle` when there is one.
fn trusting(bundle: &Option<PathBuf>) -> Options {
    Options {
        tls_ca_file: bundle.clone(),
        ..Options::default()
    }
}

/// Opens an incident titled `title` as `token`, which must succeed.
async fn open_incident(app: &TestApp, token: &str, title: &str) {
    let body = json!({"kind": "incident", "title": title});
    app.post_expect(token, "/api/v1/tickets", &body, StatusCode::CREATED)
        .await;
}

fn with_bundle(bundle: &Path) -> Options {
    Options {
        tls_ca_file: Some(bundle.to_path_buf()),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_server_signed_by_a_private_ca_is_trusted_by_the_http_and_tls_probes_only_with_the_bundle()
 {
    let Some(ca) = PrivateCa::new("政务外网测试 CA") else {
        return;
    };
    let Some(other) = PrivateCa::new("Another private CA") else {
        return;
    };
    let (port, _seen) = serve(&ca, Speaks::Http).await;
    let (other_port, _other_seen) = serve(&other, Speaks::Http).await;
    let plain = spawn_app().await;
    let trusting = spawn_with(with_bundle(&ca.bundle())).await;

    let https = |port: u16| json!({"name": "内网门户", "kind": "http", "target": format!("https://127.0.0.1:{port}/"), "config": {}});
    let tls = |port: u16| json!({"name": "内网证书", "kind": "tls", "target": format!("127.0.0.1:{port}"), "config": {"server_name": "localhost"}});

    for probe in [https(port), tls(port)] {
        let v = check(&plain, probe.clone()).await;
        assert_eq!(v["ok"], json!(false), "without the bundle: {probe}: {v}");
        assert_eq!(v["phase"], json!("tls"), "{probe}: {v}");
        let v = check(&trusting, probe.clone()).await;
        assert_eq!(v["ok"], json!(true), "with the bundle: {probe}: {v}");
    }
    // The bundle trusts its CA, not every private CA.
    for probe in [https(other_port), tls(other_port)] {
        let v = check(&trusting, probe.clone()).await;
        assert_eq!(v["ok"], json!(false), "another CA: {probe}: {v}");
        assert_eq!(v["phase"], json!("tls"), "{probe}: {v}");
    }
    // Turning verification off still works, bundle or not.
    for app in [&plain, &trusting] {
        let v = check(app, json!({"name": "不校验", "kind": "http", "target": format!("https://127.0.0.1:{other_port}/"), "config": {"verify_tls": false}})).await;
        assert_eq!(v["ok"], json!(true), "{v}");
        let v = check(app, json!({"name": "不校验", "kind": "tls", "target": format!("127.0.0.1:{other_port}"), "config": {"verify": false}})).await;
        assert_eq!(v["ok"], json!(true), "{v}");
    }
}

#[tokio::test]
async fn a_webhook_receiver_signed_by_a_private_ca_gets_messages_only_with_the_bundle() {
    let Some(ca) = PrivateCa::new("政务外网测试 CA") else {
        return;
    };
    for bundle in [None, Some(ca.bundle())] {
        let (port, mut seen) = serve(&ca, Speaks::Http).await;
        let app = spawn_with(trusting(&bundle)).await;
        let t = &app.admin_token;
        let ch = app.post_expect(t, "/api/v1/notification-channels", &json!({"kind": "webhook", "name": "值班系统", "config": {"url": format!("https://127.0.0.1:{port}/hook")}}), StatusCode::CREATED).await;
        app.post_expect(
            t,
            "/api/v1/notification-rules",
            &json!({"event": "ticket.created", "channel_id": ch["id"]}),
            StatusCode::CREATED,
        )
        .await;
        open_incident(&app, t, "统一身份认证无法登录").await;
        let sent = yunwei::notify::deliver_due(&app.ctx).await.unwrap();
        let hs = handshake(&mut seen).await;
        if bundle.is_none() {
            assert_eq!(sent, 0);
            assert!(hs.is_err(), "the client refused the handshake");
            let (_, ob) = app.get_json(t, "/api/v1/notification-outbox").await;
            let err = ob["items"][0]["last_error"].as_str().unwrap_or_default();
            assert!(err.to_lowercase().contains("certificate"), "{ob}");
        } else {
            assert_eq!(sent, 1);
            assert_eq!(hs, Ok(()));
            let req = request(&mut seen).await;
            assert!(
                req.starts_with("POST /hook") && req.contains("统一身份认证无法登录"),
                "{req}"
            );
        }
    }
}

#[tokio::test]
async fn smtp_with_implicit_tls_to_a_private_ca_server_works_only_with_the_bundle() {
    let Some(ca) = PrivateCa::new("政务外网测试 CA") else {
        return;
    };
    for bundle in [None, Some(ca.bundle())] {
        let (port, mut seen) = serve(&ca, Speaks::Smtp).await;
        let app = spawn_with(trusting(&bundle)).await;
        let t = &app.admin_token;
        let ch = app.post_expect(t, "/api/v1/notification-channels", &json!({"kind": "email", "name": "值班邮箱", "config": {"host": "127.0.0.1", "port": port, "tls": "tls",
                "from": "yunwei@ops.example.gov.cn", "to": "duty@example.gov.cn"}}), StatusCode::CREATED).await;
        app.post(
            t,
            "/api/v1/notification-rules",
            &json!({"event": "ticket.created", "channel_id": ch["id"]}),
        )
        .await;
        open_incident(&app, t, "邮件网关证书测试").await;
        let sent = yunwei::notify::deliver_due(&app.ctx).await.unwrap();
        let hs = handshake(&mut seen).await;
        if bundle.is_none() {
            assert_eq!(sent, 0);
            assert!(hs.is_err(), "the client refused the handshake");
        } else {
            assert_eq!(sent, 1);
            assert_eq!(hs, Ok(()));
            let mail = request(&mut seen).await;
            assert!(mail.contains("duty@example.gov.cn"), "{mail}");
        }
    }
}

/// The application's own PostgreSQL connection with `sslmode=verify-full`: the server
/// completes the handshake (and then hangs up) only when the bundle is configured.
#[tokio::test]
async fn the_postgres_connection_verifies_against_the_bundle() {
    let Some(ca) = PrivateCa::new("政务外网测试 CA") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    for bundle in [None, Some(ca.bundle())] {
        // A fresh server each time: the pool may retry a refused connection.
        let (port, mut seen) = serve(&ca, Speaks::Postgres).await;
        let config = yunwei::Config {
            database_url: Some(yunwei::config::Secret(format!(
                "postgres://yunwei@127.0.0.1:{port}/yunwei?sslmode=verify-full"
            ))),
            data_dir: data.path().to_path_buf(),
            tls_ca_file: bundle.clone(),
            ..yunwei::Config::default()
        };
        let connecting =
            tokio::spawn(async move { yunwei::store::Store::connect(&config).await.is_ok() });
        let hs = handshake(&mut seen).await;
        connecting.abort();
        if bundle.is_none() {
            assert!(hs.is_err(), "refused without the bundle");
        } else {
            assert_eq!(hs, Ok(()), "trusted with the bundle");
        }
    }

    // The PostgreSQL probe follows the same policy.
    for bundle in [None, Some(ca.bundle())] {
        let (port, mut seen) = serve(&ca, Speaks::Postgres).await;
        let target = format!("postgres://mon@127.0.0.1:{port}/app?sslmode=verify-full");
        let app = spawn_with(trusting(&bundle)).await;
        let v = check(
            &app,
            json!({"name": "库", "kind": "postgres", "target": target}),
        )
        .await;
        assert_eq!(v["ok"], json!(false), "the fake server hangs up: {v}");
        let hs = handshake(&mut seen).await;
        if bundle.is_none() {
            assert!(hs.is_err(), "{v}");
            assert!(
                v["message"].as_str().unwrap().contains("certificate"),
                "{v}"
            );
        } else {
            assert_eq!(hs, Ok(()), "{v}");
        }
    }
}

#[tokio::test]
async fn a_bundle_that_is_not_a_certificate_stops_the_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ca.pem");
    std::fs::write(
        &f,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let config = yunwei::Config {
        data_dir: dir.path().to_path_buf(),
        tls_ca_file: Some(f),
        ..yunwei::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = yunwei::Application::build(config, listener, yunwei::Clock::system())
        .await
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("YUNWEI_TLS_CA_FILE"), "{e:#}");

    // The CLI says the same and `yunwei config` shows a good bundle.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["config", "--data-dir"])
        .arg(dir.path())
        .env("YUNWEI_TLS_CA_FILE", dir.path().join("ca.pem"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("YUNWEI_TLS_CA_FILE"),
        "{out:?}"
    );
    let Some(ca) = PrivateCa::new("政务外网测试 CA") else {
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
        .args(["config", "--data-dir"])
        .arg(dir.path())
        .env("YUNWEI_TLS_CA_FILE", ca.bundle())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("tls_ca_file = \"{}\"", ca.bundle().display())),
        "{shown}"
    );
}
