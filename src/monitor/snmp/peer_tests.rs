//! The client against real agents: net-snmp's snmpd (v2c, and v3 users created in a
//! private snmpd.conf) and snmpsim. Skipped with a note when the program is not
//! installed, and failed instead when YUNWEI_REQUIRE_PROBE_PEERS is set (as in CI). The
//! programs are looked up in SNMPD_BIN / SNMPSIM_BIN, then PATH and the sbin directories.

use super::*;
use std::time::{SystemTime, UNIX_EPOCH};

fn oid(s: &str) -> Oid {
    Oid::parse(s).unwrap()
}

fn find_program(name: &str, env_var: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(Into::into))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Kills the child and removes its scratch directory when dropped.
struct Agent {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("yunwei-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe_oid` until the agent answers or `patience` runs out.
async fn wait_ready(
    agent: &mut Agent,
    addr: SocketAddr,
    credentials: &Credentials,
    probe_oid: &Oid,
    patience: Duration,
) -> bool {
    let until = std::time::Instant::now() + patience;
    while std::time::Instant::now() < until {
        if let Ok(Some(_)) = agent.child.try_wait() {
            return false; // exited, e.g. the port was taken meanwhile
        }
        let probe = get(
            addr,
            credentials,
            std::slice::from_ref(probe_oid),
            Duration::from_millis(200),
        )
        .await;
        if probe.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// snmpd on `port` with `dir`/snmpd.conf, keeping its persistent state (engine ID and
/// boots) in `dir`/persist rather than /var/lib/snmp.
fn spawn_snmpd(bin: &std::path::Path, dir: &std::path::Path, port: u16) -> std::process::Child {
    std::process::Command::new(bin)
        .arg("-f")
        .arg("-Lo")
        .arg("-C")
        .arg("-c")
        .arg(dir.join("snmpd.conf"))
        .arg(format!("udp:127.0.0.1:{port}"))
        .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
        .env("MIBS", "")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn snmpd")
}

async fn start_snmpd(bin: &std::path::Path) -> (Agent, SocketAddr) {
    for _ in 0..3 {
        let dir = scratch_dir("snmpd");
        let conf = dir.join("snmpd.conf");
        std::fs::write(
            &conf,
            "rocommunity public 127.0.0.1\n\
             sysLocation 龙口西机房\n\
             sysContact ops@yunwei.test\n\
             sysName yunwei-snmpd-test\n\
             sysDescr yunwei integration test agent\n\
             createUser yw-priv SHA-256 \"auth-pass-256\" AES \"priv-pass-aes\"\n\
             createUser yw-priv-sha1 SHA \"auth-pass-sha\" AES \"priv-pass-aes\"\n\
             createUser yw-strong SHA-512 \"auth-pass-512\" AES256 \"priv-pass-256\"\n\
             createUser yw-auth SHA \"auth-pass-sha\"\n\
             createUser yw-none\n\
             rouser yw-priv priv\n\
             rouser yw-priv-sha1 priv\n\
             rouser yw-strong priv\n\
             rouser yw-auth auth\n\
             rouser yw-none noauth\n",
        )
        .unwrap();
        let port = free_udp_port();
        let child = spawn_snmpd(bin, &dir, port);
        let mut agent = Agent { child, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if wait_ready(
            &mut agent,
            addr,
            &Credentials::v2c("public"),
            &oid("1.3.6.1.2.1.1.1.0"),
            Duration::from_secs(10),
        )
        .await
        {
            return (agent, addr);
        }
    }
    panic!("snmpd did not start");
}

fn v3(
    username: &str,
    auth: Option<(AuthProtocol, &str)>,
    privacy: Option<(PrivProtocol, &str)>,
) -> Credentials {
    Credentials::V3(Usm {
        username: username.into(),
        auth: auth.map(|(a, p)| (a, p.to_string())),
        privacy: privacy.map(|(a, p)| (a, p.to_string())),
        context: String::new(),
    })
}

/// snmpd needed: the agent-side skip, shared by the snmpd tests.
fn snmpd_bin() -> Option<std::path::PathBuf> {
    let bin = find_program("snmpd", "SNMPD_BIN");
    if bin.is_none() {
        assert!(
            std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
            "snmpd is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
        );
        println!("note: snmpd not installed, skipping the SNMP integration test");
    }
    bin
}

#[tokio::test]
async fn snmpd_answers_v3_users_at_every_security_level_and_refuses_wrong_passwords() {
    let Some(bin) = snmpd_bin() else {
        return;
    };
    let (_agent, addr) = start_snmpd(&bin).await;
    let t = Duration::from_secs(2);
    let sys_descr = oid("1.3.6.1.2.1.1.1.0");
    let sys_location = oid("1.3.6.1.2.1.1.6.0");
    let ask = [sys_descr.clone(), sys_location.clone()];
    use AuthProtocol::{Sha1, Sha256, Sha512};
    use PrivProtocol::{Aes128, Aes256};

    // authPriv with SHA-256/AES-128, SHA-1/AES-128 and SHA-512/AES-256; authNoPriv with
    // SHA-1; noAuthNoPriv.
    for user in [
        v3(
            "yw-priv",
            Some((Sha256, "auth-pass-256")),
            Some((Aes128, "priv-pass-aes")),
        ),
        v3(
            "yw-priv-sha1",
            Some((Sha1, "auth-pass-sha")),
            Some((Aes128, "priv-pass-aes")),
        ),
        v3(
            "yw-strong",
            Some((Sha512, "auth-pass-512")),
            Some((Aes256, "priv-pass-256")),
        ),
        v3("yw-auth", Some((Sha1, "auth-pass-sha")), None),
        v3("yw-none", None, None),
    ] {
        let got = get(addr, &user, &ask, t).await;
        let got = got.unwrap_or_else(|e| panic!("{user:?}: {e}"));
        assert_eq!(
            got[0].1.to_text(),
            "yunwei integration test agent",
            "{user:?}"
        );
        assert_eq!(got[1].1.to_text(), "龙口西机房", "{user:?}");
    }
    // A walk over v3 discovers the engine once and pages with GETNEXT.
    let priv_user = v3(
        "yw-priv",
        Some((Sha256, "auth-pass-256")),
        Some((Aes128, "priv-pass-aes")),
    );
    let rows = walk(addr, &priv_user, &oid("1.3.6.1.2.1.1"), 3, t)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, sys_descr);

    // Wrong authentication password: the agent reports a wrong digest.
    let got = get(
        addr,
        &v3(
            "yw-priv",
            Some((Sha256, "wrong-pass-256")),
            Some((Aes128, "priv-pass-aes")),
        ),
        &ask,
        t,
    )
    .await;
    assert!(
        matches!(got, Err(SnmpError::Usm(UsmFailure::WrongDigest))),
        "{got:?}"
    );
    let text = got.unwrap_err().to_string();
    assert!(text.contains("认证密码（auth_password）"), "{text}");
    // The wrong authentication protocol looks the same to the agent.
    let got = get(
        addr,
        &v3("yw-auth", Some((Sha256, "auth-pass-sha")), None),
        &ask,
        t,
    )
    .await;
    assert!(
        matches!(got, Err(SnmpError::Usm(UsmFailure::WrongDigest))),
        "{got:?}"
    );

    // Wrong privacy password: net-snmp cannot parse the decrypted PDU and drops it
    // silently; discovery worked, so the error names the privacy password.
    let got = get(
        addr,
        &v3(
            "yw-priv",
            Some((Sha256, "auth-pass-256")),
            Some((Aes128, "wrong-priv-1")),
        ),
        &ask,
        Duration::from_millis(800),
    )
    .await;
    let Err(e) = got else {
        panic!("a wrong privacy password was accepted: {got:?}")
    };
    assert!(
        matches!(
            e,
            SnmpError::Usm(UsmFailure::PrivacyNoAnswer | UsmFailure::DecryptionError)
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("加密密码（priv_password）"), "{e}");

    // An unknown user, and a level the user does not have.
    let got = get(
        addr,
        &v3("nobody", Some((Sha256, "auth-pass-256")), None),
        &ask,
        t,
    )
    .await;
    assert!(
        matches!(got, Err(SnmpError::Usm(UsmFailure::UnknownUser))),
        "{got:?}"
    );
    let got = get(addr, &v3("yw-auth", None, None), &ask, t).await;
    assert!(got.is_err(), "noAuthNoPriv for an authNoPriv user: {got:?}");
}

#[tokio::test]
async fn a_v3_agent_restarted_with_a_new_engine_id_and_time_is_discovered_again() {
    let Some(bin) = snmpd_bin() else {
        return;
    };
    let (mut agent, addr) = start_snmpd(&bin).await;
    let t = Duration::from_secs(2);
    // snmpEngineID and snmpEngineTime, read over v3 itself.
    let engine = [oid("1.3.6.1.6.3.10.2.1.1.0"), oid("1.3.6.1.6.3.10.2.1.3.0")];
    let user = v3(
        "yw-priv",
        Some((AuthProtocol::Sha256, "auth-pass-256")),
        Some((PrivProtocol::Aes128, "priv-pass-aes")),
    );
    let before = get(addr, &user, &engine, t).await.unwrap();
    // snmpd started with -C keeps no engine ID across restarts: the same port answers
    // with another engine, whose keys and time window the client must learn again.
    let _ = agent.child.kill();
    let _ = agent.child.wait();
    agent.child = spawn_snmpd(&bin, &agent.dir, addr.port());
    assert!(
        wait_ready(
            &mut agent,
            addr,
            &Credentials::v2c("public"),
            &engine[0],
            Duration::from_secs(10),
        )
        .await,
        "snmpd did not restart"
    );
    let after = get(addr, &user, &engine, t).await.unwrap();
    assert_ne!(before[0].1, after[0].1, "a new engine ID");
    assert!(after[1].1.as_f64().is_some(), "{:?}", after[1].1);
}

#[tokio::test]
async fn snmpd_answers_v2c_get_getnext_and_walk() {
    let Some(bin) = snmpd_bin() else {
        return;
    };
    let (_agent, addr) = start_snmpd(&bin).await;
    let t = Duration::from_secs(2);

    let sys_descr = oid("1.3.6.1.2.1.1.1.0");
    let sys_up = oid("1.3.6.1.2.1.1.3.0");
    let sys_location = oid("1.3.6.1.2.1.1.6.0");
    let got = get(
        addr,
        &Credentials::v2c("public"),
        &[sys_descr.clone(), sys_up.clone(), sys_location.clone()],
        t,
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, sys_descr);
    assert_eq!(got[0].1.to_text(), "yunwei integration test agent");
    assert_eq!(got[1].0, sys_up);
    assert!(
        matches!(got[1].1, SnmpValue::TimeTicks(_)),
        "{:?}",
        got[1].1
    );
    assert!(got[1].1.as_f64().is_some());
    assert_eq!(got[2].1.to_text(), "龙口西机房");

    // Missing objects are values, not errors.
    let got = get(
        addr,
        &Credentials::v2c("public"),
        &[
            oid("1.3.6.1.2.1.1.6.1"),
            oid("1.3.6.1.2.1.1.99.0"),
            oid("1.3.6.1.4.1.99999.1.0"),
        ],
        t,
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3);
    for (o, v) in &got {
        assert!(
            matches!(v, SnmpValue::NoSuchObject | SnmpValue::NoSuchInstance),
            "{o} = {v:?}"
        );
    }

    // GETNEXT from the system group start.
    let got = get_next(
        addr,
        &Credentials::v2c("public"),
        &[oid("1.3.6.1.2.1.1")],
        t,
    )
    .await
    .unwrap();
    assert_eq!(got[0].0, sys_descr);

    // Walk ifOperStatus: one row per interface, each 1..=7.
    let root = oid("1.3.6.1.2.1.2.2.1.8");
    let rows = walk(addr, &Credentials::v2c("public"), &root, 1000, t)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (o, v) in &rows {
        assert!(o.starts_with(&root) && o.0.len() == root.0.len() + 1, "{o}");
        assert!(matches!(v, SnmpValue::Int(1..=7)), "{o} = {v:?}");
    }
    let limited = walk(
        addr,
        &Credentials::v2c("public"),
        &oid("1.3.6.1.2.1.1"),
        2,
        t,
    )
    .await
    .unwrap();
    assert_eq!(limited.len(), 2);
    // A scalar walk returns the scalar.
    let scalar = walk(addr, &Credentials::v2c("public"), &sys_descr, 10, t)
        .await
        .unwrap();
    assert_eq!(scalar.len(), 1);

    // A wrong community is silently dropped by the agent.
    let got = get(
        addr,
        &Credentials::v2c("wrong-community"),
        std::slice::from_ref(&sys_descr),
        Duration::from_millis(600),
    )
    .await;
    assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
}

/// Serves tests/fixtures/snmp/*.snmprec with snmpsim, if installed.
#[tokio::test]
async fn snmpsim_serves_the_ups_and_switch_fixtures() {
    let Some(bin) = find_program("snmpsim-command-responder", "SNMPSIM_BIN") else {
        assert!(
            std::env::var("YUNWEI_REQUIRE_PROBE_PEERS").is_err(),
            "snmpsim-command-responder is required (YUNWEI_REQUIRE_PROBE_PEERS is set)"
        );
        println!(
            "note: snmpsim-command-responder not installed, skipping the snmpsim fixture test"
        );
        return;
    };
    let data_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snmp");
    let mut started = None;
    for _ in 0..3 {
        let dir = scratch_dir("snmpsim");
        let port = free_udp_port();
        let child = std::process::Command::new(&bin)
            .arg(format!("--data-dir={}", data_dir.display()))
            .arg(format!("--cache-dir={}", dir.display()))
            .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
            .arg("--logging-method=null")
            // snmpsim refuses to run as root unless told to.
            .env("SNMPSIM_ALLOW_ROOT", "true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn snmpsim");
        let mut agent = Agent { child, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if wait_ready(
            &mut agent,
            addr,
            &Credentials::v2c("ups"),
            &oid("1.3.6.1.2.1.1.1.0"),
            Duration::from_secs(30),
        )
        .await
        {
            started = Some((agent, addr));
            break;
        }
    }
    let Some((_agent, addr)) = started else {
        panic!("snmpsim did not start");
    };
    let t = Duration::from_secs(3);

    let ups = get(
        addr,
        &Credentials::v2c("ups"),
        &[
            oid("1.3.6.1.2.1.1.1.0"),
            oid("1.3.6.1.2.1.33.1.2.1.0"),
            oid("1.3.6.1.2.1.33.1.2.3.0"),
            oid("1.3.6.1.2.1.33.1.2.4.0"),
            oid("1.3.6.1.2.1.33.1.3.1.0"),
            oid("1.3.6.1.2.1.33.1.4.1.0"),
            oid("1.3.6.1.2.1.33.1.4.4.1.5.1"),
            oid("1.3.6.1.2.1.33.1.6.1.0"),
        ],
        t,
    )
    .await
    .unwrap();
    let values: Vec<SnmpValue> = ups.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        vec![
            SnmpValue::Str(b"UPS 40kVA".to_vec()),
            SnmpValue::Int(2),
            SnmpValue::Int(45),
            SnmpValue::Int(96),
            SnmpValue::Counter32(0),
            SnmpValue::Int(3),
            SnmpValue::Int(38),
            SnmpValue::Gauge32(0),
        ]
    );

    let sys = get(
        addr,
        &Credentials::v2c("switch"),
        &[
            oid("1.3.6.1.2.1.1.1.0"),
            oid("1.3.6.1.2.1.1.5.0"),
            oid("1.3.6.1.2.1.1.6.0"),
        ],
        t,
    )
    .await
    .unwrap();
    assert_eq!(sys[0].1.to_text(), "H3C S5560X-30C-EI");
    assert_eq!(sys[1].1.to_text(), "core-sw-1");
    assert_eq!(sys[2].1.to_text(), "龙口西机房 A02 机柜");
    let oper = walk(
        addr,
        &Credentials::v2c("switch"),
        &oid("1.3.6.1.2.1.2.2.1.8"),
        100,
        t,
    )
    .await
    .unwrap();
    let oper: Vec<(String, i64)> = oper
        .into_iter()
        .map(|(o, v)| (o.to_string(), v.as_f64().unwrap() as i64))
        .collect();
    assert_eq!(
        oper,
        vec![
            ("1.3.6.1.2.1.2.2.1.8.1".to_string(), 1),
            ("1.3.6.1.2.1.2.2.1.8.2".to_string(), 1),
            ("1.3.6.1.2.1.2.2.1.8.3".to_string(), 2),
            ("1.3.6.1.2.1.2.2.1.8.4".to_string(), 1),
        ]
    );
    let hc = walk(
        addr,
        &Credentials::v2c("switch"),
        &oid("1.3.6.1.2.1.31.1.1.1.6"),
        100,
        t,
    )
    .await
    .unwrap();
    assert_eq!(hc.len(), 4);
    assert_eq!(hc[0].1, SnmpValue::Counter64(123_456_789_012_345));
    // The last object in the file: the walk ends on EndOfMibView.
    let last = walk(
        addr,
        &Credentials::v2c("switch"),
        &oid("1.3.6.1.2.1.31.1.1.1.15"),
        100,
        t,
    )
    .await
    .unwrap();
    assert_eq!(last.len(), 4);
    // An unknown community times out.
    let got = get(
        addr,
        &Credentials::v2c("nope"),
        &[oid("1.3.6.1.2.1.1.1.0")],
        Duration::from_millis(600),
    )
    .await;
    assert!(matches!(got, Err(SnmpError::Timeout)), "{got:?}");
}
