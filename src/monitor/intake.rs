//! Bounds on the payloads other monitoring systems push to us (Alertmanager webhooks,
//! the Zabbix media type, generic events), checked before any work is done.
//!
//! A body is at most [`MAX_BODY_BYTES`] (the route's body limit). Before serde_json
//! builds anything, a scan of the raw bytes that allocates nothing bounds the nesting
//! depth and the number of JSON elements, so the parsed value is a bounded multiple of
//! the body. Then each source's counts and field lengths are checked, and only then do
//! the handlers open alerts and tickets. Every refusal is a Chinese message that names
//! the limit.
//!
//! Then each source's payload is handled: alerts fire, resolve or take a note by the
//! source's own identity of the event, and the answer names what happened.

use serde_json::{Map, Value, json};
use sha2::Digest;

use super::alerts::{self, Fire, Outcome};
use super::input::{EventAction, EventInput};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::input::decode;
use crate::domain::monitor::severity::{SeverityScheme, listed_priority, priority_or_lowest};
use crate::error::{AppError, AppResult};
use crate::store::Optional;
use crate::store::desk::TicketRow;
use crate::store::monitor::{AlertRow, IntegrationRow};

/// Largest intake body; also the body limit on the intake routes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Deepest JSON nesting accepted (real payloads are 4 levels deep).
pub const MAX_DEPTH: usize = 32;
/// Most JSON elements (values and keys) in one body.
pub const MAX_ELEMENTS: usize = 50_000;
/// Most alerts in one Alertmanager notification (its `max_alerts` setting).
pub const MAX_ALERTS: usize = 500;
/// Most labels, or annotations, on one alert; most keys in one payload object.
pub const MAX_LABELS: usize = 64;
/// Longest label or annotation name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest label value, in characters.
pub const MAX_LABEL_CHARS: usize = 4096;
/// Longest free text (annotation, message, details), in characters.
pub const MAX_TEXT_CHARS: usize = 16 * 1024;
/// Most links or images on one generic event.
pub const MAX_LINKS: usize = 50;

/// What the allocation-free scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub depth: usize,
    pub elements: usize,
}

/// Scans JSON text without allocating: the deepest nesting and an upper bound on the
/// number of elements (every value and key follows `{`, `[`, `,` or `:`, or is the
/// first). Text that is not JSON is scanned all the same; serde_json refuses it later.
/// Stops early once a limit is passed.
pub fn scan(body: &[u8]) -> Shape {
    let mut shape = Shape {
        depth: 0,
        elements: 1,
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                shape.depth = shape.depth.max(depth);
                shape.elements += 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' | b':' => shape.elements += 1,
            _ => {}
        }
        if shape.depth > MAX_DEPTH || shape.elements > MAX_ELEMENTS {
            break;
        }
    }
    shape
}

/// Parses an intake body into a JSON object, refusing anything past the size, depth
/// and element limits before serde_json allocates.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, FieldError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FieldError::new(
            "body",
            format!(
                "请求体 {} 字节，超过上限 {MAX_BODY_BYTES} 字节（1 MB）",
                body.len()
            ),
        ));
    }
    let shape = scan(body);
    if shape.depth > MAX_DEPTH {
        return Err(FieldError::new(
            "body",
            format!("JSON 嵌套超过 {MAX_DEPTH} 层，请检查发送方的模板"),
        ));
    }
    if shape.elements > MAX_ELEMENTS {
        return Err(FieldError::new(
            "body",
            format!("JSON 元素超过 {MAX_ELEMENTS} 个，请拆分后分批发送"),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(FieldError::new("body", "请求体应为 JSON 对象")),
        Err(e) => Err(FieldError::new(
            "body",
            format!("请求体不是有效的 JSON：{e}"),
        )),
    }
}

fn chars_over(s: &str, max: usize) -> bool {
    // Bytes bound characters from above: the count is needed only for long strings.
    s.len() > max && s.chars().count() > max
}

/// A string field of at most `max` characters (numbers and other values pass: the
/// handlers read them as text themselves, bounded by the element scan).
fn check_text(v: Option<&Value>, field: &str, max: usize) -> Result<(), FieldError> {
    match v {
        Some(Value::String(s)) if chars_over(s, max) => Err(FieldError::new(
            field,
            format!("{field} 超过 {max} 个字符，请缩短"),
        )),
        _ => Ok(()),
    }
}

/// A map of names to strings (labels, annotations): count, name and value lengths.
fn check_pairs(v: Option<&Value>, field: &str, max_value: usize) -> Result<(), FieldError> {
    let Some(Value::Object(m)) = v else {
        return Ok(());
    };
    if m.len() > MAX_LABELS {
        return Err(FieldError::new(
            field,
            format!("{field} 有 {} 项，最多 {MAX_LABELS} 项", m.len()),
        ));
    }
    for (k, v) in m {
        if chars_over(k, MAX_NAME_CHARS) {
            return Err(FieldError::new(
                field,
                format!("{field} 的名称超过 {MAX_NAME_CHARS} 个字符"),
            ));
        }
        match v {
            Value::String(s) if chars_over(s, max_value) => {
                return Err(FieldError::new(
                    format!("{field}.{k}"),
                    format!("{field}.{k} 超过 {max_value} 个字符，请缩短"),
                ));
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {}
            _ => {
                return Err(FieldError::new(
                    format!("{field}.{k}"),
                    format!("{field}.{k} 应为字符串"),
                ));
            }
        }
    }
    Ok(())
}

/// The bounds of an Alertmanager webhook (version 4) notification.
pub fn check_alertmanager(obj: &Map<String, Value>) -> Result<(), FieldError> {
    if let Some(Value::Array(alerts)) = obj.get("alerts")
        && alerts.len() > MAX_ALERTS
    {
        return Err(FieldError::new(
            "alerts",
            format!(
                "一次通知有 {} 条告警，最多 {MAX_ALERTS} 条；请在 Alertmanager 的 webhook_configs 中设置 max_alerts: {MAX_ALERTS}",
                alerts.len()
            ),
        ));
    }
    for k in ["groupLabels", "commonLabels"] {
        check_pairs(obj.get(k), k, MAX_LABEL_CHARS)?;
    }
    check_pairs(
        obj.get("commonAnnotations"),
        "commonAnnotations",
        MAX_TEXT_CHARS,
    )?;
    for k in ["status", "receiver", "groupKey", "externalURL", "version"] {
        check_text(obj.get(k), k, MAX_LABEL_CHARS)?;
    }
    let Some(Value::Array(alerts)) = obj.get("alerts") else {
        return Ok(());
    };
    for (i, a) in alerts.iter().enumerate() {
        let Value::Object(a) = a else {
            continue;
        };
        check_pairs(
            a.get("labels"),
            &format!("alerts[{i}].labels"),
            MAX_LABEL_CHARS,
        )?;
        check_pairs(
            a.get("annotations"),
            &format!("alerts[{i}].annotations"),
            MAX_TEXT_CHARS,
        )?;
        for k in [
            "status",
            "startsAt",
            "endsAt",
            "fingerprint",
            "generatorURL",
        ] {
            check_text(a.get(k), &format!("alerts[{i}].{k}"), MAX_LABEL_CHARS)?;
        }
    }
    Ok(())
}

/// The bounds of a Zabbix media-type notification: a flat object of short fields and
/// one message.
pub fn check_zabbix(obj: &Map<String, Value>) -> Result<(), FieldError> {
    if obj.len() > MAX_LABELS {
        return Err(FieldError::new(
            "body",
            format!("Zabbix 通知有 {} 个字段，最多 {MAX_LABELS} 个", obj.len()),
        ));
    }
    for (k, v) in obj {
        let max = if matches!(k.as_str(), "alert_message" | "event_update_message") {
            MAX_TEXT_CHARS
        } else {
            MAX_LABEL_CHARS
        };
        check_text(Some(v), k, max)?;
    }
    Ok(())
}

/// The bounds of a generic event (PagerDuty Events v2 shape).
pub fn check_event(obj: &Map<String, Value>) -> Result<(), FieldError> {
    for k in [
        "routing_key",
        "event_action",
        "dedup_key",
        "client",
        "client_url",
    ] {
        check_text(obj.get(k), k, MAX_LABEL_CHARS)?;
    }
    for k in ["links", "images"] {
        if let Some(Value::Array(a)) = obj.get(k)
            && a.len() > MAX_LINKS
        {
            return Err(FieldError::new(
                k,
                format!("{k} 有 {} 项，最多 {MAX_LINKS} 项", a.len()),
            ));
        }
    }
    let Some(Value::Object(payload)) = obj.get("payload") else {
        return Ok(());
    };
    if payload.len() > MAX_LABELS {
        return Err(FieldError::new(
            "payload",
            format!("payload 有 {} 个字段，最多 {MAX_LABELS} 个", payload.len()),
        ));
    }
    for (k, v) in payload {
        if k == "custom_details" {
            // Shown in the ticket: bounded as text, whatever its shape.
            let len = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
            if len > MAX_TEXT_CHARS {
                return Err(FieldError::new(
                    "payload.custom_details",
                    format!("payload.custom_details 超过 {MAX_TEXT_CHARS} 字节，请精简"),
                ));
            }
        } else {
            check_text(Some(v), &format!("payload.{k}"), MAX_LABEL_CHARS)?;
        }
    }
    Ok(())
}

// ---- handling -------------------------------------------------------------------------

/// An intake body as a JSON object, within the bounds above, checked before anything is
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

/// What became of one alert of an Alertmanager webhook.
pub struct Received {
    pub fingerprint: String,
    pub status: String,
    pub outcome: Outcome,
    pub alert: Option<AlertRow>,
}

/// An Alertmanager webhook (version 4) from `src`: each alert fires or resolves by its
/// fingerprint (or, from older senders, its sorted label set).
pub async fn alertmanager(
    ctx: &Ctx,
    src: &IntegrationRow,
    body: &[u8],
) -> AppResult<Vec<Received>> {
    let obj = read_body(body)?;
    check_alertmanager(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    if obj.get("version").and_then(Value::as_str) != Some("4") {
        return Err(AppError::invalid(
            "version",
            "只支持 Alertmanager webhook version \"4\"",
        ));
    }
    let Some(Value::Array(items)) = obj.get("alerts") else {
        return Err(AppError::invalid("alerts", "缺少 alerts 数组"));
    };
    let empty = Map::new();
    let mut out = Vec::new();
    for (i, a) in items.iter().enumerate() {
        let Some(a) = a.as_object() else {
            return Err(AppError::invalid(
                &format!("alerts[{i}]"),
                "每条告警应为对象",
            ));
        };
        let labels = a.get("labels").and_then(Value::as_object).unwrap_or(&empty);
        let ann = a
            .get("annotations")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let fp = match label_str(a, "fingerprint") {
            Some(f) => f.to_string(),
            None => {
                // Older senders: the sorted label set is the identity.
                let sorted: std::collections::BTreeMap<_, _> = labels.iter().collect();
                crate::store::audit::hex(&sha2::Sha256::digest(
                    serde_json::to_vec(&sorted).unwrap_or_default(),
                ))[..16]
                    .to_string()
            }
        };
        let starts = label_str(a, "startsAt").unwrap_or("");
        let status = label_str(a, "status")
            .or_else(|| label_str(&obj, "status"))
            .unwrap_or("firing");
        let key = format!("am:{}:{fp}", src.id);
        let name = label_str(labels, "alertname").unwrap_or("Alertmanager 告警");
        let title = match label_str(ann, "summary") {
            Some(s) => s.to_string(),
            None => match label_str(labels, "instance") {
                Some(inst) => format!("{name}（{inst}）"),
                None => name.to_string(),
            },
        };
        let (alert, outcome) = if status == "resolved" {
            alerts::resolve(
                ctx,
                &key,
                &format!("Alertmanager 报告恢复：{title}"),
                Some(&format!("{key}:{starts}:resolved")),
            )
            .await?
        } else {
            let priority =
                priority_or_lowest(SeverityScheme::Alertmanager, label_str(labels, "severity"));
            let mut desc = String::new();
            if let Some(d) = label_str(ann, "description") {
                desc.push_str(d);
                desc.push('\n');
            }
            desc.push_str("标签：");
            desc.push_str(
                &labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if let Some(g) = label_str(a, "generatorURL") {
                desc.push_str(&format!("\n来源：{g}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "alertmanager".into(),
                integration_id: Some(src.id),
                system_id: system_from_labels(labels).or(src.system_id),
                priority: priority.into(),
                title,
                description: Some(desc),
                labels: Some(Value::Object(labels.clone())),
                event_key: Some(format!("{key}:{starts}:firing")),
                ..Default::default()
            };
            let (a, o) = alerts::fire(ctx, &f).await?;
            (Some(a), o)
        };
        out.push(Received {
            fingerprint: fp,
            status: status.to_string(),
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
    let obj = read_body(body)?;
    check_zabbix(&obj).map_err(|e| AppError::Validation(vec![e]))?;
    let s = |k: &str| {
        obj.get(k).and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
    };
    let event_id = s("event_id")
        .filter(|e| !e.is_empty() && !e.starts_with('{'))
        .ok_or_else(|| AppError::invalid("event_id", "缺少 event_id（{EVENT.ID}）"))?;
    let value = s("event_value").unwrap_or_else(|| "1".into());
    let update = s("event_update_status").unwrap_or_else(|| "0".into());
    let key = format!("zbx:{}:{event_id}", src.id);
    let host = s("host_name").unwrap_or_default();
    let name = s("event_name")
        .or_else(|| s("alert_subject"))
        .unwrap_or_else(|| "Zabbix 告警".into());
    let title = if host.is_empty() {
        name.clone()
    } else {
        format!("{host}：{name}")
    };
    let (alert, outcome) = match (value.as_str(), update.as_str()) {
        ("0", _) => {
            let note = format!("Zabbix 报告恢复：{title}");
            alerts::resolve(ctx, &key, &note, Some(&format!("{key}:recovery"))).await?
        }
        (_, "1") => {
            // An update (acknowledgement or comment) in Zabbix: noted on the alert.
            let msg = s("event_update_message").unwrap_or_default();
            let who = s("event_update_user").unwrap_or_default();
            let mut tx = ctx.store.write_tx().await?;
            let a = ctx.store.alert_by_key_tx(&mut tx, &key).await?;
            if let Some(a) = &a {
                let summary = format!("Zabbix 更新（{who}）：{msg}");
                let k = format!(
                    "{key}:update:{}",
                    crate::store::audit::hex(&sha2::Sha256::digest(summary.as_bytes()))
                );
                ctx.store
                    .add_alert_event(
                        &mut tx,
                        a.id,
                        ctx.clock.now_ms(),
                        "note",
                        &summary,
                        Some(&k),
                    )
                    .await?;
            }
            tx.commit().await?;
            (a, Outcome::Refired)
        }
        _ => {
            let priority =
                priority_or_lowest(SeverityScheme::Zabbix, s("event_nseverity").as_deref());
            let mut desc = s("alert_message").unwrap_or_default();
            if let Some(ip) = s("host_ip") {
                desc.push_str(&format!("\n主机地址：{ip}"));
            }
            if let Some(v) = s("item_lastvalue") {
                desc.push_str(&format!("\n最新值：{v}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "zabbix".into(),
                integration_id: Some(src.id),
                system_id: src.system_id,
                priority: priority.into(),
                title,
                description: Some(desc.trim().to_string()),
                labels: Some(
                    json!({"event_id": event_id, "trigger_id": s("trigger_id"), "host": host}),
                ),
                event_key: Some(format!("{key}:problem")),
                ..Default::default()
            };
            let (a, o) = alerts::fire(ctx, &f).await?;
            (Some(a), o)
        }
    };
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
    let input: EventInput = decode(Value::Object(obj.clone())).map_err(AppError::Validation)?;
    let action = input.event_action;
    // The payload as sent (typed above): stored as the alert's labels.
    let empty = Map::new();
    let payload = obj
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let dedup = match input.dedup_key.as_deref().filter(|s| !s.is_empty()) {
        Some(d) if d.chars().count() <= 255 => d.to_string(),
        Some(_) => {
            return Err(AppError::invalid(
                "dedup_key",
                "dedup_key 不能超过 255 个字符",
            ));
        }
        None if matches!(action, EventAction::Trigger) => {
            let basis = format!(
                "{}|{}",
                label_str(payload, "summary").unwrap_or_default(),
                label_str(payload, "source").unwrap_or_default()
            );
            crate::store::audit::hex(&sha2::Sha256::digest(basis.as_bytes()))[..32].to_string()
        }
        None => {
            return Err(AppError::invalid(
                "dedup_key",
                "acknowledge 和 resolve 需要 dedup_key",
            ));
        }
    };
    let key = format!("ev:{}:{dedup}", src.id);
    match action {
        EventAction::Trigger => {
            let mut errs = Vec::new();
            let summary = label_str(payload, "summary");
            if summary.is_none() {
                errs.push(FieldError::new(
                    "payload.summary",
                    "请填写 payload.summary（告警摘要）",
                ));
            }
            let source = label_str(payload, "source");
            if source.is_none() {
                errs.push(FieldError::new(
                    "payload.source",
                    "请填写 payload.source（告警对象，如主机名）",
                ));
            }
            let priority = match label_str(payload, "severity")
                .and_then(|s| listed_priority(SeverityScheme::PagerDuty, s))
            {
                Some(p) => p,
                None => {
                    errs.push(FieldError::new(
                        "payload.severity",
                        "payload.severity 应为 critical、error、warning 或 info",
                    ));
                    "P4"
                }
            };
            if !errs.is_empty() {
                return Err(AppError::Validation(errs));
            }
            let summary = summary
                .unwrap_or_default()
                .chars()
                .take(1024)
                .collect::<String>();
            let mut desc = format!("对象：{}", source.unwrap_or_default());
            for k in ["component", "group", "class"] {
                if let Some(v) = label_str(payload, k) {
                    desc.push_str(&format!("\n{k}：{v}"));
                }
            }
            if let Some(d) = payload.get("custom_details") {
                desc.push_str(&format!("\n详情：{d}"));
            }
            let f = Fire {
                key: key.clone(),
                source: "events".into(),
                integration_id: Some(src.id),
                system_id: payload
                    .get("custom_details")
                    .and_then(Value::as_object)
                    .and_then(system_from_labels)
                    .or(src.system_id),
                priority: priority.into(),
                title: summary,
                description: Some(desc),
                labels: Some(Value::Object(payload.clone())),
                event_key: None,
                ..Default::default()
            };
            alerts::fire(ctx, &f).await?;
        }
        EventAction::Acknowledge => {
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
                }
                Some(_) => {}
                None => return Err(AppError::NotFound),
            }
        }
        EventAction::Resolve => {
            alerts::resolve(ctx, &key, &format!("{} 报告恢复", src.name), None).await?;
        }
    }
    Ok(dedup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn the_scan_counts_depth_and_elements_and_ignores_brackets_in_strings() {
        assert_eq!(
            scan(b"{}"),
            Shape {
                depth: 1,
                elements: 2
            }
        );
        assert_eq!(
            scan(br#"{"a":[1,2,{"b":"[[[{"}]}"#),
            Shape {
                depth: 3,
                elements: 8
            }
        );
        assert_eq!(
            scan(br#""\"[""#),
            Shape {
                depth: 0,
                elements: 1
            }
        );
        let deep = "[".repeat(100);
        assert_eq!(scan(deep.as_bytes()).depth, MAX_DEPTH + 1);
    }

    #[test]
    fn deep_or_crowded_bodies_are_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(
            parse_object(deep.as_bytes())
                .unwrap_err()
                .message
                .contains("嵌套")
        );
        let crowded = format!("{{\"a\":[{}0]}}", "0,".repeat(MAX_ELEMENTS));
        assert!(
            parse_object(crowded.as_bytes())
                .unwrap_err()
                .message
                .contains("元素")
        );
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(parse_object(&big).unwrap_err().message.contains("上限"));
        assert!(parse_object(b"[]").unwrap_err().message.contains("对象"));
        assert!(parse_object(b"{").unwrap_err().message.contains("JSON"));
    }

    fn am(alerts: usize, labels: usize) -> Map<String, Value> {
        let labels: Map<String, Value> =
            (0..labels).map(|i| (format!("l{i}"), json!("v"))).collect();
        let a = json!({"status": "firing", "labels": labels, "annotations": {"summary": "s"}});
        json!({"version": "4", "alerts": vec![a; alerts]})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn alertmanager_payloads_are_bounded_in_alerts_labels_and_lengths() {
        assert!(check_alertmanager(&am(MAX_ALERTS, MAX_LABELS)).is_ok());
        let e = check_alertmanager(&am(MAX_ALERTS + 1, 1)).unwrap_err();
        assert!(e.message.contains("max_alerts"), "{}", e.message);
        let e = check_alertmanager(&am(1, MAX_LABELS + 1)).unwrap_err();
        assert_eq!(e.field, "alerts[0].labels");
        let mut p = am(1, 1);
        p["alerts"][0]["labels"]["job"] = json!("x".repeat(MAX_LABEL_CHARS + 1));
        assert_eq!(
            check_alertmanager(&p).unwrap_err().field,
            "alerts[0].labels.job"
        );
        let mut p = am(1, 1);
        p["alerts"][0]["labels"]["job"] = json!("运".repeat(MAX_LABEL_CHARS));
        assert!(check_alertmanager(&p).is_ok(), "characters, not bytes");
        let mut p = am(1, 1);
        p["alerts"][0]["labels"]["job"] = json!({"nested": 1});
        assert!(
            check_alertmanager(&p)
                .unwrap_err()
                .message
                .contains("字符串")
        );
        let mut p = am(1, 1);
        p["alerts"][0]["annotations"]["description"] = json!("d".repeat(MAX_TEXT_CHARS + 1));
        assert!(check_alertmanager(&p).is_err());
        let mut p = am(1, 1);
        p["alerts"][0]["labels"][&"k".repeat(MAX_NAME_CHARS + 1)] = json!("v");
        assert!(check_alertmanager(&p).unwrap_err().message.contains("名称"));
    }

    #[test]
    fn zabbix_and_event_payloads_are_bounded() {
        let z = json!({"event_id": "1", "alert_message": "m".repeat(MAX_TEXT_CHARS)});
        assert!(check_zabbix(z.as_object().unwrap()).is_ok());
        let z = json!({"event_id": "1", "host_name": "h".repeat(MAX_LABEL_CHARS + 1)});
        assert_eq!(
            check_zabbix(z.as_object().unwrap()).unwrap_err().field,
            "host_name"
        );
        let many: Map<String, Value> = (0..=MAX_LABELS)
            .map(|i| (format!("f{i}"), json!(1)))
            .collect();
        assert!(check_zabbix(&many).is_err());

        let e = json!({"event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "info",
                       "custom_details": {"a": "x".repeat(MAX_TEXT_CHARS)}}});
        assert_eq!(
            check_event(e.as_object().unwrap()).unwrap_err().field,
            "payload.custom_details"
        );
        let e = json!({"event_action": "trigger", "links": vec![json!({}); MAX_LINKS + 1]});
        assert_eq!(
            check_event(e.as_object().unwrap()).unwrap_err().field,
            "links"
        );
        let e = json!({"event_action": "trigger", "payload": {"summary": "s".repeat(MAX_LABEL_CHARS + 1)}});
        assert_eq!(
            check_event(e.as_object().unwrap()).unwrap_err().field,
            "payload.summary"
        );
    }

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
