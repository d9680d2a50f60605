//! A `kill -9` of the real binary in the middle of ticket creation loses no acknowledged
//! ticket (issue 9): 64 clients create tickets, the process gets SIGKILL with requests in
//! flight, and after a restart on the same database every ticket answered with 201 is there
//! and the numbers are still unique and gapless.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use yunwei::config::{Config, Secret};

use crate::helpers::*;
use crate::load::{CLIENTS, Outcomes, client, fetch, numbering_problems, parse_number, send};

/// The real binary, serving until it is dropped (then killed).
struct Server {
    child: std::process::Child,
    base: String,
    /// The server's log lines (it logs to stderr, which a thread drains).
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data_dir: &Path, database: Option<&str>) -> Server {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir);
        if let Some(d) = database {
            cmd.arg("--database").arg(d);
        }
        let mut child = cmd
            .env("YUNWEI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("YUNWEI_MONITORING_ENABLED", "false")
            .env("YUNWEI_LOG_FORMAT", "human")
            .env("YUNWEI_LOG_LEVEL", "info")
            .env_remove("RUST_LOG")
            .env_remove("YUNWEI_CONFIG")
            .env_remove("YUNWEI_DATABASE_URL")
            .env_remove("YUNWEI_DATA_DIR")
            .env_remove("YUNWEI_LISTEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start yunwei");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        // Drains stderr for the server's whole life, so that logging never blocks it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("yunwei listening") {
                    let _ = tx.send(line.clone());
                }
                let mut l = lines.lock().expect("log");
                if l.len() < 5000 {
                    l.push(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "yunwei did not start:\n{}",
                    log.lock().expect("log").join("\n")
                )
            });
        let at = line
            .find("127.0.0.1:")
            .expect("address in the listening line");
        let port: String = line[at + "127.0.0.1:".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "{status:?}");
    }

    fn errors(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains("ERROR"))
            .take(10)
            .cloned()
            .collect()
    }
}

async fn login(base: &str) -> String {
    let r = client()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("login json");
    v["token"].as_str().expect("token").to_string()
}

async fn all_numbers(url: &str) -> Vec<(String, String)> {
    sqlx::any::install_default_drivers();
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query_as("SELECT number, kind FROM tickets")
        .fetch_all(&mut conn)
        .await
        .expect("ticket numbers");
    let _ = conn.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_the_middle_of_ticket_creation_loses_no_acknowledged_ticket() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let database = fresh_database().await;
    let url = Config {
        data_dir: tmp.path().to_path_buf(),
        database_url: database.clone().map(Secret),
        ..Config::default()
    }
    .effective_database_url();
    let mut server = Server::start(tmp.path(), database.as_deref());
    let token = login(&server.base).await;

    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (base, token, acked, killed) = (
                server.base.clone(),
                token.clone(),
                acked.clone(),
                killed.clone(),
            );
            tokio::spawn(async move {
                let client = client();
                let mut out = Outcomes::default();
                let mut n = 0;
                while !killed.load(Ordering::SeqCst) {
                    n += 1;
                    let kind = if n % 2 == 0 { "request" } else { "incident" };
                    let body = json!({"kind": kind, "title": format!("断电测试 {i}-{n}")});
                    let answer = send(&client, &base, &token, "/api/v1/tickets", &body).await;
                    // A request in flight at the kill gets no answer: not acknowledged.
                    if killed.load(Ordering::SeqCst) && answer.is_err() {
                        out.record("in flight", answer, StatusCode::CREATED);
                        break;
                    }
                    if let Some(v) = out.record("create", answer, StatusCode::CREATED) {
                        acked.lock().expect("acked").push((
                            v["id"].as_i64().expect("id"),
                            v["number"].as_str().expect("number").to_string(),
                        ));
                    }
                }
                out
            })
        })
        .collect();

    // Load for three seconds and until one ticket per client is acknowledged (at most a
    // minute: a server that acknowledges fewer fails below only if it acknowledged none).
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3)
        || (acked.lock().expect("acked").len() < CLIENTS
            && started.elapsed() < Duration::from_secs(60))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    killed.store(true, Ordering::SeqCst);
    let at_kill = acked.lock().expect("acked").len();
    server.kill_9();
    let errors = server.errors();
    let mut out = Outcomes::default();
    for c in clients {
        out.merge(c.await.expect("client task"));
    }
    let acked = std::mem::take(&mut *acked.lock().expect("acked"));
    println!(
        "kill -9 after {:.1} s of {CLIENTS} clients creating tickets: {} acknowledged ({at_kill} when the kill was sent)\n{}",
        started.elapsed().as_secs_f64(),
        acked.len(),
        out.table()
    );
    assert!(
        !acked.is_empty(),
        "no ticket was acknowledged before the kill:\n{}\nserver errors: {errors:#?}",
        out.table()
    );

    // Started again on the same database: every acknowledged ticket is there.
    drop(server);
    let server = Server::start(tmp.path(), database.as_deref());
    let token = login(&server.base).await;
    let client = client();
    let mut problems = Vec::new();
    for (id, number) in &acked {
        match fetch(
            &client,
            &server.base,
            &token,
            &format!("/api/v1/tickets/{id}"),
        )
        .await
        {
            Ok((StatusCode::OK, v)) if v["number"] == json!(number) => {}
            other => problems.push(format!(
                "acknowledged ticket {id} ({number}) after the restart: {other:?}"
            )),
        }
    }
    // And numbering goes on from where it was, unique and gapless.
    let (s, v) = send(
        &client,
        &server.base,
        &token,
        "/api/v1/tickets",
        &json!({"kind": "request", "title": "重启后建单"}),
    )
    .await
    .expect("create after restart");
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rows = all_numbers(&url).await;
    let (numbering, max) = numbering_problems(&rows);
    problems.extend(numbering);
    let (_, day, seq) = parse_number(v["number"].as_str().expect("number")).expect("number");
    if max.get(day) != Some(&seq) {
        problems.push(format!(
            "the ticket created after the restart is {}, the day's largest is {:?}",
            v["number"],
            max.get(day)
        ));
    }
    assert!(
        problems.is_empty(),
        "{} of {} acknowledged tickets or numbers wrong:\n{}",
        problems.len(),
        acked.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
