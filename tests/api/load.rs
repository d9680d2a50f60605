//! The write path under load (issue 9), black-box: 64 staff clients create tickets and take
//! them through their lifecycle (assign, start, comment, supervise, resolve, close) for a
//! bounded time; every answer is counted by status, then every acknowledged write is read
//! back and the ticket numbers are checked to be unique and gapless. The `kill -9` test in
//! `durability.rs` shares the client pieces here.
//!
//! It asserts correctness, never speed; throughput is printed for the record
//! (`cargo test --test api -- load:: --nocapture`). `YUNWEI_LOAD_SECS` sets the length of the
//! load (default 10 s, bounded to 1–120 s).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use yunwei::config::Config;

use crate::helpers::*;

/// Concurrent clients, as the issue asks.
pub const CLIENTS: usize = 64;
/// Engineer accounts the clients share (each client works as one of them).
const ENGINEERS: usize = 8;
/// A request without an answer after this long counts as a failure, not a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn load_duration() -> Duration {
    let secs = std::env::var("YUNWEI_LOAD_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, 120);
    Duration::from_secs(secs)
}

pub fn client() -> Client {
    // The app installs it when built in this process; the kill test only runs the binary.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Answers counted by operation and status; status 0 is a request that got no HTTP answer
/// (connection error or timeout).
#[derive(Default)]
pub struct Outcomes {
    counts: BTreeMap<(&'static str, u16), u64>,
    /// The first few answers >= 500 and transport errors, for the failure message.
    samples: Vec<String>,
}

impl Outcomes {
    /// Counts one answer and returns its body when it has the expected status.
    pub fn record(
        &mut self,
        op: &'static str,
        answer: Result<(StatusCode, Value), String>,
        expected: StatusCode,
    ) -> Option<Value> {
        let (status, detail, body) = match answer {
            Ok((s, v)) => (s.as_u16(), v.to_string(), Some((s, v))),
            Err(e) => (0, e, None),
        };
        *self.counts.entry((op, status)).or_default() += 1;
        if op != "in flight"
            && (status == 0 || status >= 500 || (400..500).contains(&status))
            && self.samples.len() < 12
        {
            let mut d = detail;
            d.truncate(300);
            self.samples.push(format!("{op} → {status}: {d}"));
        }
        match body {
            Some((s, v)) if s == expected => Some(v),
            _ => None,
        }
    }

    pub fn merge(&mut self, other: Outcomes) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for s in other.samples {
            if self.samples.len() < 12 {
                self.samples.push(s);
            }
        }
    }

    fn count(&self, pred: impl Fn(&'static str, u16) -> bool) -> u64 {
        self.counts
            .iter()
            .filter(|((op, s), _)| pred(op, *s))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn table(&self) -> String {
        let mut s = String::from("operation  status  count\n");
        for ((op, status), n) in &self.counts {
            let label = if *status == 0 {
                "none".to_string()
            } else {
                status.to_string()
            };
            s.push_str(&format!("{op:<10} {label:>6}  {n}\n"));
        }
        for x in &self.samples {
            s.push_str(&format!("  e.g. {x}\n"));
        }
        s
    }
}

pub async fn send(
    client: &Client,
    base: &str,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<(StatusCode, Value), String> {
    let r = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let s = r.status();
    let v = r
        .json::<Value>()
        .await
        .map_err(|e| format!("{s} with an unreadable body: {e}"))?;
    Ok((s, v))
}

pub async fn fetch(
    client: &Client,
    base: &str,
    token: &str,
    path: &str,
) -> Result<(StatusCode, Value), String> {
    let r = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let s = r.status();
    Ok((s, r.json::<Value>().await.unwrap_or(Value::Null)))
}

/// A ticket whose creation was acknowledged with 201.
struct Acked {
    id: i64,
    number: String,
    kind: &'static str,
    /// The status in the last acknowledged answer about it.
    status: String,
    /// Comments acknowledged with 201.
    comments: usize,
    /// Every request about it was acknowledged, so its state is known exactly.
    clean: bool,
}

struct Staff {
    manager: String,
    supervisor: String,
    engineers: Vec<(i64, String)>,
}

fn fault_report() -> Value {
    json!({"symptom": "系统无法登录", "impact_scope": "部分用户", "started_at": "2025-10-15T09:00:00+08:00",
           "recovered_at": "2025-10-15T10:30:00+08:00", "cause": "应用服务器证书过期", "handling": "更换证书并重启服务",
           "measures": "增加证书到期监控"})
}

/// One client: creates a ticket, takes it through its lifecycle, and again until the
/// deadline (a lifecycle cut by the deadline stops where it is).
async fn work(
    i: usize,
    base: String,
    staff: Arc<Staff>,
    deadline: Instant,
) -> (Outcomes, Vec<Acked>) {
    let client = client();
    let (eng_id, eng) = &staff.engineers[i % ENGINEERS];
    let creator = if i.is_multiple_of(2) {
        &staff.manager
    } else {
        eng
    };
    let mut out = Outcomes::default();
    let mut acked = Vec::new();
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let kind = if (i + n).is_multiple_of(2) {
            "request"
        } else {
            "incident"
        };
        let body = json!({"kind": kind, "title": format!("负载测试 {i}-{n}"), "description": "并发建单与处理",
                          "system_id": 1 + (i * 7 + n) % 27, "impact": "medium", "urgency": "high"});
        let answer = send(&client, &base, creator, "/api/v1/tickets", &body).await;
        let Some(v) = out.record("create", answer, StatusCode::CREATED) else {
            continue;
        };
        let mut t = Acked {
            id: v["id"].as_i64().expect("id in 201"),
            number: v["number"].as_str().expect("number in 201").to_string(),
            kind,
            status: v["status"].as_str().unwrap_or_default().to_string(),
            comments: 0,
            clean: true,
        };
        let actions = format!("/api/v1/tickets/{}/actions", t.id);
        let comments = format!("/api/v1/tickets/{}/comments", t.id);
        let resolve = if kind == "incident" {
            json!({"action": "resolve", "resolution": "更换证书", "fault_report": fault_report(),
                   "remote_fix_reason": "远程登录服务器即可处理"})
        } else {
            json!({"action": "resolve", "resolution": "已处理"})
        };
        let mut steps: Vec<(&'static str, &str, &str, Value, StatusCode)> = vec![
            (
                "assign",
                &staff.manager,
                &actions,
                json!({"action": "assign", "assignee_id": eng_id}),
                StatusCode::OK,
            ),
            (
                "start",
                eng,
                &actions,
                json!({"action": "start"}),
                StatusCode::OK,
            ),
            (
                "comment",
                eng,
                &comments,
                json!({"body": "已联系用户，正在处理"}),
                StatusCode::CREATED,
            ),
        ];
        if n.is_multiple_of(4) {
            steps.push((
                "supervise",
                &staff.supervisor,
                &actions,
                json!({"action": "supervise", "note": "请尽快处理"}),
                StatusCode::OK,
            ));
        }
        steps.push(("resolve", eng, &actions, resolve, StatusCode::OK));
        steps.push((
            "close",
            &staff.manager,
            &actions,
            json!({"action": "close"}),
            StatusCode::OK,
        ));
        for (op, token, path, body, expected) in steps {
            if Instant::now() >= deadline {
                break;
            }
            let answer = send(&client, &base, token, path, &body).await;
            match out.record(op, answer, expected) {
                Some(_) if op == "comment" => t.comments += 1,
                Some(v) => t.status = v["status"].as_str().unwrap_or_default().to_string(),
                None => {
                    t.clean = false;
                    break;
                }
            }
        }
        acked.push(t);
    }
    (out, acked)
}

/// A webhook receiver on loopback that answers every call with success, so ticket events
/// go through notification rules and the outbox as in production.
async fn webhook_sink() -> String {
    let app = Router::new().fallback(post(|| async { "{\"errcode\":0,\"errmsg\":\"ok\"}" }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(l, app).await.expect("sink") });
    format!("http://{addr}/hook")
}

/// `PREFIX-YYYYMMDD-NNNN` split into its parts.
pub fn parse_number(number: &str) -> Option<(&str, &str, u64)> {
    let mut parts = number.split('-');
    let (prefix, day, seq) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || day.len() != 8
        || !day.bytes().all(|b| b.is_ascii_digit())
        || seq.len() < 4
    {
        return None;
    }
    Some((prefix, day, seq.parse().ok()?))
}

fn prefix_of(kind: &str) -> &'static str {
    match kind {
        "incident" => "INC",
        "request" => "REQ",
        "problem" => "PRB",
        _ => "CHG",
    }
}

/// Problems with the numbers of all tickets in the database: each must be well formed with
/// its kind's prefix, unique, and the sequence of each day must run 1..=n without a gap (the
/// counter is per day, shared by the prefixes: `ticket_counters (day, n)`). Returns the
/// problems and the largest sequence number per day.
pub fn numbering_problems(rows: &[(String, String)]) -> (Vec<String>, BTreeMap<String, u64>) {
    let mut problems = Vec::new();
    let mut per_day: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (number, kind) in rows {
        if !seen.insert(number.clone()) {
            problems.push(format!("ticket number {number} occurs twice"));
        }
        match parse_number(number) {
            Some((prefix, day, seq)) => {
                if prefix != prefix_of(kind) {
                    problems.push(format!("{number} is a {kind}"));
                }
                per_day.entry(day.to_string()).or_default().push(seq);
            }
            None => problems.push(format!("malformed ticket number {number}")),
        }
    }
    let mut max = BTreeMap::new();
    for (day, mut seqs) in per_day {
        seqs.sort_unstable();
        let n = seqs.len() as u64;
        let expected: Vec<u64> = (1..=n).collect();
        if seqs != expected {
            let present: BTreeSet<u64> = seqs.iter().copied().collect();
            let missing: Vec<u64> = (1..=seqs.last().copied().unwrap_or(0))
                .filter(|s| !present.contains(s))
                .take(20)
                .collect();
            let dup = seqs.windows(2).filter(|w| w[0] == w[1]).count();
            problems.push(format!(
                "day {day}: {n} tickets, numbers up to {}, missing {missing:?}, {dup} repeated",
                seqs.last().copied().unwrap_or(0)
            ));
        }
        max.insert(day, seqs.last().copied().unwrap_or(0));
    }
    (problems, max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_creating_and_working_tickets_get_no_server_error_and_every_acknowledged_write_reads_back()
 {
    let app = spawn_with(Options {
        demo: true,
        // The production pool size, not the suite's economy of five connections.
        configure: Some(|c: &mut Config| {
            c.database_max_connections = Config::default().database_max_connections;
        }),
        ..Options::default()
    })
    .await;
    let admin = app.admin_token.clone();
    let (_, manager) = app.user_with_role("load.manager", "manager").await;
    let (_, supervisor) = app.user_with_role("load.supervisor", "supervisor").await;
    let mut engineers = Vec::new();
    for e in 0..ENGINEERS {
        engineers.push(
            app.user_with_role(&format!("load.eng{e}"), "engineer")
                .await,
        );
    }
    // Ticket events go through notification rules to a webhook channel (the outbox).
    let hook = webhook_sink().await;
    let ch = app
        .post_expect(
            &admin,
            "/api/v1/notification-channels",
            &json!({"kind": "webhook", "name": "负载测试", "config": {"url": hook}}),
            StatusCode::CREATED,
        )
        .await;
    for event in [
        "ticket.created",
        "ticket.assigned",
        "ticket.supervised",
        "ticket.resolved",
    ] {
        app.post_expect(
            &admin,
            "/api/v1/notification-rules",
            &json!({"event": event, "channel_id": ch["id"]}),
            StatusCode::CREATED,
        )
        .await;
    }
    let staff = Arc::new(Staff {
        manager,
        supervisor,
        engineers,
    });

    let duration = load_duration();
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(work(i, app.base.clone(), staff.clone(), deadline)))
        .collect();
    let mut out = Outcomes::default();
    let mut acked: Vec<Acked> = Vec::new();
    for w in workers {
        let (o, a) = w.await.expect("client task");
        out.merge(o);
        acked.extend(a);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = out.count(|_, _| true);
    let created = acked.len();
    println!(
        "load: {CLIENTS} clients for {} s ({elapsed:.1} s with the last answers): {created} tickets created ({:.1}/s), \
         {requests} requests ({:.1}/s), backend {}\n{}",
        duration.as_secs(),
        created as f64 / elapsed,
        requests as f64 / elapsed,
        if app.database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        out.table()
    );

    let mut problems = Vec::new();
    let server_errors = out.count(|_, s| s >= 500);
    let unanswered = out.count(|_, s| s == 0);
    let client_errors = out.count(|_, s| (400..500).contains(&s));
    if server_errors > 0 {
        problems.push(format!("{server_errors} answers >= 500"));
    }
    if unanswered > 0 {
        problems.push(format!(
            "{unanswered} requests without an answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        ));
    }
    if client_errors > 0 {
        // Each client works only on its own tickets in a valid order: a 4xx is a lost or
        // misread write, not a user's mistake.
        problems.push(format!("{client_errors} answers 4xx to valid requests"));
    }
    if created < CLIENTS {
        problems.push(format!(
            "only {created} tickets created by {CLIENTS} clients"
        ));
    }

    // Every acknowledged write reads back: the ticket with its number, the status of its
    // last acknowledged action, and its acknowledged comments.
    let acked = Arc::new(acked);
    let readers: Vec<_> = (0..8)
        .map(|r| {
            let (acked, base, admin) = (acked.clone(), app.base.clone(), admin.clone());
            tokio::spawn(async move {
                let client = client();
                let mut problems = Vec::new();
                for t in acked.iter().skip(r).step_by(8) {
                    let path = format!("/api/v1/tickets/{}", t.id);
                    match fetch(&client, &base, &admin, &path).await {
                        Ok((StatusCode::OK, v)) => {
                            if v["number"] != json!(t.number) || v["kind"] != json!(t.kind) {
                                problems.push(format!(
                                    "ticket {} acknowledged as {} ({}) reads {} ({})",
                                    t.id, t.number, t.kind, v["number"], v["kind"]
                                ));
                            }
                            if t.clean && v["status"] != json!(t.status) {
                                problems.push(format!(
                                    "{}: last acknowledged status {}, reads {}",
                                    t.number, t.status, v["status"]
                                ));
                            }
                        }
                        other => problems.push(format!(
                            "acknowledged ticket {} ({}) does not read back: {other:?}",
                            t.id, t.number
                        )),
                    }
                    match fetch(&client, &base, &admin, &format!("{path}/comments")).await {
                        Ok((StatusCode::OK, v)) => {
                            let n = v["total"].as_u64().unwrap_or(0) as usize;
                            if n < t.comments || (t.clean && n != t.comments) {
                                problems.push(format!(
                                    "{}: {} comments acknowledged, {n} read back",
                                    t.number, t.comments
                                ));
                            }
                        }
                        other => problems.push(format!(
                            "comments of {} do not read back: {other:?}",
                            t.number
                        )),
                    }
                }
                problems
            })
        })
        .collect();
    for r in readers {
        problems.extend(r.await.expect("reader task"));
    }

    // Numbers: unique, with the kind's prefix, of the manual clock's day, gapless.
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT number, kind FROM tickets")
        .fetch_all(app.ctx.store.pool())
        .await
        .expect("ticket numbers");
    let (numbering, max) = numbering_problems(&rows);
    problems.extend(numbering);
    let today = app
        .clock
        .now()
        .with_timezone(&yunwei::clock::beijing())
        .format("%Y%m%d")
        .to_string();
    if max.keys().any(|d| *d != today) {
        problems.push(format!(
            "ticket days {:?}, the clock says {today}",
            max.keys()
        ));
    }
    let acked_numbers: BTreeSet<&str> = acked.iter().map(|t| t.number.as_str()).collect();
    if acked_numbers.len() != acked.len() {
        problems.push(format!(
            "{} tickets acknowledged with {} distinct numbers",
            acked.len(),
            acked_numbers.len()
        ));
    }
    if rows.len() < acked.len() {
        problems.push(format!(
            "{} tickets acknowledged, {} in the database",
            acked.len(),
            rows.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        out.table()
    );
}
