//! Notifications: which events go where (rules), delivery through a database outbox with
//! retries, and the senders — e-mail (SMTP), webhook, 企业微信 and 钉钉 robots, and an SMS
//! HTTP gateway. Enqueueing happens in the transaction of the change that caused it, so a
//! crash loses nothing; each message carries an idempotency key (webhook header
//! `Idempotency-Key`, e-mail `Message-ID`) so a redelivery after a crash can be recognised.

pub mod channels;
pub mod inbox;
pub mod input;
pub mod manage;
pub mod secrets;
pub mod texts;

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::Ctx;
use crate::store::desk::{TicketRow, Tx};
use crate::store::notify::{ChannelRow, NewMessage, OutboxRow};

/// How a DingTalk signature (base64) goes into the query string: everything but ASCII
/// letters, digits and `/` percent-encoded, as the page links encode query values.
const SIGN_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub const EVENTS: &[(&str, &str)] = &[
    ("ticket.created", "新工单"),
    ("ticket.assigned", "工单分派"),
    ("ticket.supervised", "工单督办"),
    ("ticket.resolved", "工单已解决"),
    ("ticket.reopened", "工单重新打开"),
    ("sla.warning", "SLA 即将超时"),
    ("sla.breached", "SLA 已超时"),
    ("alert.firing", "监控告警"),
    ("alert.resolved", "告警恢复"),
    ("alert.escalated", "告警升级"),
    ("inspection.overdue", "巡检任务逾期"),
];

/// Longest a send may take; a claim lasts a little longer.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
const LEASE_MS: i64 = 60_000;
const MAX_ATTEMPTS: i64 = 8;

/// Retry delay after `attempts` failures: 30 s, 1, 2, 4, 8 … minutes, at most an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    (30_000i64 << attempts.clamp(0, 7)).min(3_600_000)
}

/// Who gets an in-app message for an event without any rule: (assignee, requester, roles).
/// 督办 reaches the assignee and the managers; a breach escalates to the managers and the
/// purchaser's IT office (甲方).
pub fn inbox_audience(event: &str) -> (bool, bool, &'static [&'static str]) {
    match event {
        "ticket.assigned" | "ticket.reopened" | "sla.warning" | "alert.firing" => {
            (true, false, &[])
        }
        "ticket.supervised" => (true, false, &["manager"]),
        "sla.breached" => (true, false, &["manager", "supervisor"]),
        "ticket.resolved" => (false, true, &[]),
        _ => (false, false, &[]),
    }
}

/// Puts the in-app messages and the messages the rules ask for into the outbox, inside the caller's transaction.
/// `marker` identifies the occurrence (e.g. the timeline event id), so the same
/// occurrence never yields two messages.
pub async fn enqueue_for_ticket(
    ctx: &Ctx,
    tx: &mut Tx,
    event: &str,
    t: &TicketRow,
    assignee_id: Option<i64>,
    marker: &str,
    detail: &str,
) -> crate::store::StoreResult<()> {
    let texts::Text { subject, body } = texts::render(&texts::TicketNotice::new(event, t, detail))
        .map_err(|e| anyhow::anyhow!("notification template of {event}: {e:#}"))?;
    let now = ctx.clock.now_ms();
    // Built-in in-app messages need no configuration.
    let mut inbox: Vec<i64> = Vec::new();
    let (to_assignee, to_requester, roles): (bool, bool, &[&str]) = inbox_audience(event);
    if to_assignee && let Some(a) = assignee_id {
        inbox.push(a);
    }
    if to_requester && let Some(r) = t.requester_id {
        inbox.push(r);
    }
    inbox.extend(ctx.store.active_user_ids_with_roles_in(tx, roles).await?);
    inbox.sort_unstable();
    inbox.dedup();
    for uid in inbox {
        let key = format!("{event}:{}:{marker}:user{uid}", t.id);
        ctx.store
            .add_inbox(tx, &key, uid, event, Some(t.id), &subject, detail, now)
            .await?;
    }
    let scope = RuleScope {
        ticket_id: Some(t.id),
        priority: Some(&t.priority),
        system_id: t.system_id,
        assignee_id,
        requester_id: t.requester_id,
    };
    let marker = format!("{}:{marker}", t.id);
    enqueue_by_rules(ctx, tx, event, &scope, &marker, &subject, &body).await
}

/// What the rules of an event may filter on, and whom they may address.
pub struct RuleScope<'a> {
    /// The ticket the message is about, if any (recorded on the outbox row).
    pub ticket_id: Option<i64>,
    /// The ticket's priority; `None` for events that have none, which no rule with a
    /// priority filter matches.
    pub priority: Option<&'a str>,
    pub system_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub requester_id: Option<i64>,
}

/// Puts into the outbox, inside the caller's transaction, one message per rule of `event`
/// that matches `scope` (and per recipient for e-mail). `marker` identifies the
/// occurrence, so that the same occurrence never yields two messages.
pub async fn enqueue_by_rules(
    ctx: &Ctx,
    tx: &mut Tx,
    event: &str,
    scope: &RuleScope<'_>,
    marker: &str,
    subject: &str,
    body: &str,
) -> crate::store::StoreResult<()> {
    let rules = ctx.store.rules_for(tx, event).await?;
    if rules.is_empty() {
        return Ok(());
    }
    let now = ctx.clock.now_ms();
    for (r, channel) in rules {
        if r.priority
            .as_deref()
            .is_some_and(|p| Some(p) != scope.priority)
            || r.system_id.is_some_and(|s| Some(s) != scope.system_id)
        {
            continue;
        }
        let mut recipients: Vec<Option<String>> = vec![None];
        if channel.kind == "email" {
            recipients.clear();
            let cfg: Map<String, Value> = serde_json::from_str(&channel.config).unwrap_or_default();
            recipients.extend(channels::listed_recipients(&cfg).into_iter().map(Some));
            for (wanted, uid) in [
                (r.to_assignee != 0, scope.assignee_id),
                (r.to_requester != 0, scope.requester_id),
            ] {
                if let (true, Some(uid)) = (wanted, uid)
                    && let Some(e) = ctx.store.user_email(tx, uid).await?
                {
                    recipients.push(Some(e));
                }
            }
            recipients.sort();
            recipients.dedup();
        }
        for to in recipients {
            let key = format!("{event}:{marker}:{}:{}", r.id, to.as_deref().unwrap_or("-"));
            let m = NewMessage {
                key,
                channel_id: r.channel_id,
                event: event.into(),
                ticket_id: scope.ticket_id,
                recipient: to,
                subject: subject.to_string(),
                body: body.to_string(),
            };
            ctx.store.enqueue(tx, &m, now).await?;
        }
    }
    Ok(())
}

/// An inspection task past its due time: an in-app message to its assignee, and the
/// messages the rules of `inspection.overdue` ask for (a rule's system filter matches the
/// task's system).
pub async fn enqueue_inspection_overdue(
    ctx: &Ctx,
    tx: &mut Tx,
    n: &texts::InspectionNotice<'_>,
    assignee_id: Option<i64>,
    system_id: Option<i64>,
) -> crate::store::StoreResult<()> {
    let event = "inspection.overdue";
    let texts::Text { subject, body } = texts::render_inspection(event, n)
        .map_err(|e| anyhow::anyhow!("notification template of {event}: {e:#}"))?;
    let now = ctx.clock.now_ms();
    let marker = format!("task{}", n.task_id);
    if let Some(uid) = assignee_id {
        let key = format!("{event}:{marker}:user{uid}");
        ctx.store
            .add_inbox(tx, &key, uid, event, None, &subject, body.trim_end(), now)
            .await?;
    }
    let scope = RuleScope {
        ticket_id: None,
        priority: None,
        system_id,
        assignee_id,
        requester_id: None,
    };
    enqueue_by_rules(ctx, tx, event, &scope, &marker, &subject, &body).await
}

/// Delivers due messages once; returns how many were sent. Jobs call this in a loop;
/// tests call it directly.
pub async fn deliver_due(ctx: &Ctx) -> anyhow::Result<usize> {
    let now = ctx.clock.now_ms();
    let batch = ctx.store.claim_due(now, LEASE_MS, 20).await?;
    let mut sent = 0;
    for m in batch {
        let result = match ctx.store.channel(m.channel_id).await {
            Ok(ch) => tokio::time::timeout(SEND_TIMEOUT, send(ctx, &ch, &m))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out"))),
            Err(e) => Err(anyhow::anyhow!("channel: {e}")),
        };
        let now = ctx.clock.now_ms();
        match result {
            Ok(()) => {
                ctx.store.mark_sent(m.id, now).await?;
                sent += 1;
            }
            Err(e) => {
                let next = (m.attempts + 1 < MAX_ATTEMPTS).then(|| now + backoff_ms(m.attempts));
                tracing::warn!(outbox_id = m.id, attempts = m.attempts + 1, error = %e, "notification delivery failed");
                ctx.store.mark_failed(m.id, &format!("{e:#}"), next).await?;
            }
        }
    }
    Ok(sent)
}

fn channel_config(ctx: &Ctx, ch: &ChannelRow) -> anyhow::Result<Map<String, Value>> {
    let mut cfg: Map<String, Value> = serde_json::from_str(&ch.config)?;
    if let Some(enc) = &ch.secret_enc {
        let secret: Map<String, Value> = serde_json::from_str(&ctx.secrets.decrypt(enc)?)?;
        cfg.extend(secret);
    }
    Ok(cfg)
}

fn s<'a>(cfg: &'a Map<String, Value>, k: &str) -> &'a str {
    cfg.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A client for the webhook, robot and SMS gateways, on the outbound TLS trust policy.
fn http(ctx: &Ctx) -> anyhow::Result<reqwest::Client> {
    Ok(ctx.tls.reqwest(true).timeout(SEND_TIMEOUT).build()?)
}

async fn send(ctx: &Ctx, ch: &ChannelRow, m: &OutboxRow) -> anyhow::Result<()> {
    let cfg = channel_config(ctx, ch)?;
    let text = format!("{}\n{}", m.subject, m.body);
    match ch.kind.as_str() {
        "email" => send_email(ctx, &cfg, m).await,
        "webhook" => {
            let body = json!({"event": m.event, "ticket_id": m.ticket_id, "subject": m.subject, "body": m.body, "idempotency_key": m.idempotency_key});
            let mut req = http(ctx)?
                .post(s(&cfg, "url"))
                .header("Idempotency-Key", &m.idempotency_key)
                .json(&body);
            if !s(&cfg, "secret").is_empty() {
                let mut mac = Hmac::<Sha256>::new_from_slice(s(&cfg, "secret").as_bytes())?;
                mac.update(body.to_string().as_bytes());
                req = req.header(
                    "X-Yunwei-Signature",
                    crate::store::audit::hex(&mac.finalize().into_bytes()),
                );
            }
            check(req.send().await?).await
        }
        "wecom" => {
            check(
                http(ctx)?
                    .post(s(&cfg, "url"))
                    .json(&json!({"msgtype": "text", "text": {"content": text}}))
                    .send()
                    .await?,
            )
            .await
        }
        "dingtalk" => {
            let mut url = s(&cfg, "url").to_string();
            if !s(&cfg, "secret").is_empty() {
                let ts = ctx.clock.now_ms();
                let mut mac = Hmac::<Sha256>::new_from_slice(s(&cfg, "secret").as_bytes())?;
                mac.update(format!("{ts}\n{}", s(&cfg, "secret")).as_bytes());
                let sign =
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
                url.push_str(&format!(
                    "{}timestamp={ts}&sign={}",
                    if url.contains('?') { "&" } else { "?" },
                    percent_encoding::utf8_percent_encode(&sign, SIGN_VALUE)
                ));
            }
            check(
                http(ctx)?
                    .post(url)
                    .json(&json!({"msgtype": "text", "text": {"content": text}}))
                    .send()
                    .await?,
            )
            .await
        }
        "sms" => {
            let mut results = Vec::new();
            for to in channels::listed_recipients(&cfg) {
                let body = s(&cfg, "body_template")
                    .replace("{to}", &to)
                    .replace("{content}", &json_escape(&text));
                results.push(
                    check(
                        http(ctx)?
                            .post(s(&cfg, "url"))
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await?,
                    )
                    .await,
                );
            }
            results.into_iter().collect()
        }
        other => anyhow::bail!("unknown channel kind {other}"),
    }
}

fn json_escape(s: &str) -> String {
    let q = Value::String(s.to_string()).to_string();
    q[1..q.len() - 1].to_string()
}

async fn check(r: reqwest::Response) -> anyhow::Result<()> {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    anyhow::ensure!(
        status.is_success(),
        "HTTP {status}: {}",
        body.chars().take(200).collect::<String>()
    );
    // The IM robots answer 200 with an error code in the body.
    if let Ok(v) = serde_json::from_str::<Value>(&body)
        && let Some(code) = v.get("errcode").and_then(Value::as_i64).filter(|c| *c != 0)
    {
        anyhow::bail!(
            "robot refused the message: errcode {code} {}",
            v.get("errmsg").and_then(Value::as_str).unwrap_or_default()
        );
    }
    Ok(())
}

async fn send_email(ctx: &Ctx, cfg: &Map<String, Value>, m: &OutboxRow) -> anyhow::Result<()> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::Tls;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let to = m
        .recipient
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("no recipient"))?;
    let domain = s(cfg, "from")
        .split('@')
        .nth(1)
        .unwrap_or("yunwei.local")
        .to_string();
    let key_id = crate::store::audit::hex(
        &<Sha256 as sha2::Digest>::digest(m.idempotency_key.as_bytes())[..16],
    );
    let msg = Message::builder()
        .from(s(cfg, "from").parse()?)
        .to(to.parse()?)
        .subject(&m.subject)
        .message_id(Some(format!("<{key_id}@{domain}>")))
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())?;
    let host = s(cfg, "host");
    let port = cfg.get("port").and_then(Value::as_u64).unwrap_or(25) as u16;
    // Implicit TLS or STARTTLS verify the server against the outbound trust policy.
    let tls = match s(cfg, "tls") {
        "tls" => Tls::Wrapper(ctx.tls.smtp(host)?),
        "starttls" => Tls::Required(ctx.tls.smtp(host)?),
        _ => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .tls(tls)
        .port(port)
        .timeout(Some(SEND_TIMEOUT));
    if !s(cfg, "username").is_empty() {
        b = b.credentials(Credentials::new(
            s(cfg, "username").to_string(),
            s(cfg, "password").to_string(),
        ));
    }
    b.build().send(msg).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_an_hour() {
        assert_eq!(backoff_ms(0), 30_000);
        assert_eq!(backoff_ms(1), 60_000);
        assert_eq!(backoff_ms(10), 3_600_000);
    }
}
