//! Intake from other monitoring systems: Alertmanager webhooks, the Zabbix media type and
//! generic events (PagerDuty Events v2).
//!
//! Each format's file parses without I/O: the bounds of its payload and what the payload
//! asks for, as [`Step`]s (fire, resolve, note, acknowledge) keyed by the source's own
//! identity of the event. [`bounds`] refuses oversized or overly nested bodies before
//! serde_json builds anything. This file is the service: it reads a body within the
//! bounds, applies the steps (alerts fire, resolve or take a note) and answers what
//! happened.

use serde_json::{Map, Value};

use super::alerts::{self, Fire, Outcome};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};
use crate::store::Optional;
use crate::store::desk::TicketRow;
use crate::store::monitor::{AlertRow, IntegrationRow};

pub mod alertmanager;
pub mod bounds;
pub mod events;
pub mod zabbix;

pub use alertmanager::check_alertmanager;
pub use bounds::*;
pub use events::check_event;
pub use zabbix::check_zabbix;

/// An intake source as the parsers need it.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub id: i64,
    /// The system whose tickets the source's alerts open, unless the payload names one.
    pub system_id: Option<i64>,
    pub name: &'a str,
}

impl<'a> From<&'a IntegrationRow> for Source<'a> {
    fn from(r: &'a IntegrationRow) -> Self {
        Source {
            id: r.id,
            system_id: r.system_id,
            name: &r.name,
        }
    }
}

/// What a payload asks for, by the alert's key.
#[derive(Debug)]
pub enum Step {
    Fire(Box<Fire>),
    /// The source reports recovery; `event_key` makes a repeat a no-op.
    Resolve {
        key: String,
        note: String,
        event_key: Option<String>,
    },
    /// A note on the alert (an update in the source), if the alert exists.
    Note {
        key: String,
        summary: String,
        event_key: String,
    },
    /// The source acknowledged the alert; an unknown key is not found.
    Acknowledge {
        key: String,
    },
}

fn label_str<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The `system_id` label (a number, or a number as text), if any.
fn system_from_labels(m: &Map<String, Value>) -> Option<i64> {
    m.get("system_id").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

// ---- the service ------------------------------------------------------------------------

/// An intake body as a JSON object, within the bounds, checked before anything is
/// parsed: a body over [`MAX_BODY_BYTES`] is refused as too large, anything else that
/// does not pass as invalid.
pub fn read_body(body: &[u8]) -> AppResult<Map<String, Value>> {
    parse_object(body).map_err(|e| {
        if body.len() > MAX_BODY_BYTES {
            AppError::PayloadTooLarge(e.message)
        } else {
            AppError::Validation(vec![e])
        }
    })
}

/// How an intake answer names what happened to an alert.
pub fn outcome_str(o: &Outcome) -> &'static str {
    match o {
        Outcome::Opened => "opened",
        Outcome::Reopened => "reopened",
        Outcome::Refired => "refired",
        Outcome::Duplicate => "duplicate",
        Outcome::Resolved => "resolved",
        Outcome::NotOpen => "not_open",
    }
}

/// Applies one step from `src`: the alert it touched (if any) and what became of it.
async fn apply(
    ctx: &Ctx,
    src: &IntegrationRow,
    step: Step,
) -> AppResult<(Option<AlertRow>, Outcome)> {
    match step {
        Step::Fire(f) => {
            let (a, o) = alerts::fire(ctx, &f).await?;
            Ok((Some(a), o))
        }
        Step::Resolve {
            key,
            note,
            event_key,
        } => alerts::resolve(ctx, &key, &note, event_key.as_deref()).await,
        Step::Note {
            key,
            summary,
            event_key,
        } => {
            let mut tx = ctx.store.write_tx().await?;
            let a = ctx.store.alert_by_key_tx(&mut tx, &key).await?;
            if let Some(a) = &a {
                ctx.store
                    .add_alert_event(
                        &mut tx,
                        a.id,
                        ctx.clock.now_ms(),
                        "note",
                        &summary,
                        Some(&event_key),
                    )
                    .await?;
            }
            tx.commit().await?;
            Ok((a, Outcome::Refired))
        }
        Step::Acknowledge { key } => {
            let mut tx = ctx.store.write_tx().await?;
            let a = ctx.store.alert_by_key_tx(&mut tx, &key).await?;
            tx.commit().await?;
            match a {
                Some(a) if a.status == "firing" => {
                    alerts::acknowledge(
                        ctx,
                        &AuthUser::system(&format!("integration:{}", src.name)),
                        a.id,
                    )
                    .await?;
                    Ok((Some(a), Outcome::Refired))
                }
                Some(a) => Ok((Some(a), Outcome::Refired)),
                None => Err(AppError::NotFound),
            }
        }
    }
}

/// What became of one alert of an Alertmanager webhook.
pub struct Received {
    pub fingerprint: String,
    pub status: String,
    pub outcome: Outcome,
    pub alert: Option<AlertRow>,
}

/// An Alertmanager webhook (version 4) from `src`: each alert fires or resolves by its
/// fingerprint (or, from older senders, its sorted label set), in order; a malformed
/// alert stops the rest.
pub async fn alertmanager(
    ctx: &Ctx,
    src: &IntegrationRow,
    body: &[u8],
) -> AppResult<Vec<Received>> {
    let invalid = |e| AppError::Validation(vec![e]);
    let obj = read_body(body)?;
    check_alertmanager(&obj).map_err(invalid)?;
    let items = alertmanager::alerts(&obj).map_err(invalid)?;
    let mut out = Vec::new();
    for (i, a) in items.iter().enumerate() {
        let s = alertmanager::alert_step(src.into(), &obj, i, a).map_err(invalid)?;
        let (alert, outcome) = apply(ctx, src, s.step).await?;
        out.push(Received {
            fingerprint: s.fingerprint,
            status: s.status,
            outcome,
            alert,
        });
    }
    Ok(out)
}

/// What became of a Zabbix event: the alert, and its ticket for Zabbix to tag the event
/// with.
pub struct ZabbixReceipt {
    pub outcome: Outcome,
    pub alert: Option<AlertRow>,
    pub ticket: Option<TicketRow>,
}

/// An event of the Zabbix media type (`integrations/zabbix/media_yunwei.yaml`) from
/// `src`: a problem fires, a recovery resolves, an update is noted on the alert.
pub async fn zabbix(ctx: &Ctx, src: &IntegrationRow, body: &[u8]) -> AppResult<ZabbixReceipt> {
    let invalid = |e| AppError::Validation(vec![e]);
    let obj = read_body(body)?;
    check_zabbix(&obj).map_err(invalid)?;
    let step = zabbix::step(src.into(), &obj).map_err(invalid)?;
    let (alert, outcome) = apply(ctx, src, step).await?;
    let ticket = match alert.as_ref().and_then(|a| a.ticket_id) {
        Some(t) => ctx.store.ticket(t).await.optional()?,
        None => None,
    };
    Ok(ZabbixReceipt {
        outcome,
        alert,
        ticket,
    })
}

/// A generic event (PagerDuty Events v2) from `src`: trigger, acknowledge or resolve.
/// Answers the dedup key (derived from summary and source when a trigger has none).
pub async fn event(ctx: &Ctx, src: &IntegrationRow, body: &[u8]) -> AppResult<String> {
    let obj = read_body(body)?;
    check_event(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    let (dedup, step) = events::step(src.into(), &obj).map_err(AppError::Validation)?;
    apply(ctx, src, step).await?;
    Ok(dedup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every intake path on one body: parse, then each source's checks.
    fn all_paths(body: &[u8]) {
        if let Ok(m) = parse_object(body) {
            let _ = check_alertmanager(&m);
            let _ = check_zabbix(&m);
            let _ = check_event(&m);
        }
    }

    /// Peak allocation of [`all_paths`], against a bound of the body: serde_json's
    /// value for the smallest objects (`{"":0}` opens a map node of ~650 bytes for
    /// seven bytes of text) is the worst case.
    fn bounded(body: &[u8]) {
        let info = allocation_counter::measure(|| all_paths(body));
        assert!(
            info.bytes_max <= 16 * 1024 + 128 * body.len() as u64,
            "{} bytes allocated for a {}-byte body",
            info.bytes_max,
            body.len()
        );
    }

    const VALID: [&str; 3] = [
        r#"{"version":"4","status":"firing","receiver":"yunwei","groupLabels":{"alertname":"HostDown"},
            "alerts":[{"status":"firing","labels":{"alertname":"HostDown","instance":"10.0.0.5:9100","severity":"critical","system_id":"3"},
            "annotations":{"summary":"主机宕机","description":"10.0.0.5 不可达"},"startsAt":"2025-10-15T01:00:00Z",
            "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"abc123"}]}"#,
        r#"{"event_id":"12345","event_value":"1","event_update_status":"0","event_nseverity":"4","host_name":"db01",
            "host_ip":"10.0.0.9","event_name":"CPU 使用率过高","alert_message":"CPU 95%","item_lastvalue":95,"trigger_id":"77"}"#,
        r#"{"routing_key":"k","event_action":"trigger","dedup_key":"d1","payload":{"summary":"磁盘满","source":"fs01",
            "severity":"error","component":"disk","custom_details":{"used":"99%","system_id":3}},"links":[{"href":"http://x"}]}"#,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn random_bodies_never_panic_and_allocate_a_bound_of_their_size(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            bounded(&body);
        }

        #[test]
        fn random_json_like_text_never_panics(
            body in r#"[\[\]{}":,0-9a-z\\ ]{0,600}"#,
        ) {
            bounded(body.as_bytes());
        }

        #[test]
        fn mutated_valid_payloads_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut body = VALID[which].as_bytes().to_vec();
            bounded(&body);
            for (at, byte) in &edits {
                let i = at.index(body.len());
                body[i] = *byte;
            }
            bounded(&body);
            bounded(&body[..cut.index(body.len() + 1)]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn many_copies_of_a_valid_alert_are_bounded_by_count(repeat in 1usize..50) {
            let mut v: Value = serde_json::from_str(VALID[0]).unwrap();
            let one = v["alerts"][0].clone();
            v["alerts"] = Value::Array(vec![one; repeat * 12]);
            let text = serde_json::to_vec(&v).unwrap();
            bounded(&text);
            prop_assert_eq!(
                check_alertmanager(&parse_object(&text).unwrap()).is_ok(),
                repeat * 12 <= MAX_ALERTS
            );
        }
    }
}
