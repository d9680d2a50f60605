//! Generic events (the PagerDuty Events v2 format), parsed without I/O: the bounds of an
//! event and what it asks for (trigger, acknowledge or resolve).

use serde_json::{Map, Value};
use sha2::Digest;

use super::bounds::{MAX_LABEL_CHARS, MAX_LABELS, MAX_LINKS, MAX_TEXT_CHARS, check_text};
use super::{Source, Step, label_str, system_from_labels};
use crate::domain::FieldError;
use crate::domain::input::decode;
use crate::domain::monitor::severity::{SeverityScheme, listed_priority};
use crate::monitor::alerts::Fire;
use crate::monitor::input::{EventAction, EventInput};

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

/// What an event from `src` asks for, with its dedup key (derived from summary and
/// source when a trigger has none), under the alert key `ev:<source>:<dedup key>`.
pub fn step(src: Source<'_>, obj: &Map<String, Value>) -> Result<(String, Step), Vec<FieldError>> {
    let input: EventInput = decode(Value::Object(obj.clone()))?;
    let action = input.event_action;
    // The payload as sent (typed above): stored as the alert's labels.
    let empty = Map::new();
    let payload = obj
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let invalid = |field: &str, msg: &str| vec![FieldError::new(field, msg)];
    let dedup = match input.dedup_key.as_deref().filter(|s| !s.is_empty()) {
        Some(d) if d.chars().count() <= 255 => d.to_string(),
        Some(_) => return Err(invalid("dedup_key", "dedup_key 不能超过 255 个字符")),
        None if matches!(action, EventAction::Trigger) => {
            let basis = format!(
                "{}|{}",
                label_str(payload, "summary").unwrap_or_default(),
                label_str(payload, "source").unwrap_or_default()
            );
            crate::store::audit::hex(&sha2::Sha256::digest(basis.as_bytes()))[..32].to_string()
        }
        None => {
            return Err(invalid(
                "dedup_key",
                "acknowledge 和 resolve 需要 dedup_key",
            ));
        }
    };
    let key = format!("ev:{}:{dedup}", src.id);
    let step = match action {
        EventAction::Trigger => Step::Fire(Box::new(trigger(src, &key, payload)?)),
        EventAction::Acknowledge => Step::Acknowledge { key },
        EventAction::Resolve => Step::Resolve {
            key,
            note: format!("{} 报告恢复", src.name),
            event_key: None,
        },
    };
    Ok((dedup, step))
}

/// The alert a trigger fires: summary, source and a known severity are required, and
/// every one missing is reported.
fn trigger(
    src: Source<'_>,
    key: &str,
    payload: &Map<String, Value>,
) -> Result<Fire, Vec<FieldError>> {
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
        return Err(errs);
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
    Ok(Fire {
        key: key.to_string(),
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_payloads_are_bounded() {
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

    fn step_of(v: Value) -> Result<(String, Step), Vec<FieldError>> {
        step(
            Source {
                id: 9,
                system_id: Some(1),
                name: "事件源",
            },
            v.as_object().unwrap(),
        )
    }

    #[test]
    fn a_trigger_fires_and_the_others_need_a_dedup_key() {
        let (dedup, s) = step_of(
            json!({"event_action": "trigger", "payload": {"summary": "磁盘满",
            "source": "fs01", "severity": "error", "component": "disk",
            "custom_details": {"system_id": 3}}}),
        )
        .unwrap();
        assert_eq!(dedup.len(), 32);
        let Step::Fire(f) = s else { panic!("fires") };
        assert_eq!(f.key, format!("ev:9:{dedup}"));
        assert_eq!(f.system_id, Some(3));
        assert_eq!(
            f.description
                .as_deref()
                .map(|d| d.starts_with("对象：fs01\ncomponent：disk")),
            Some(true)
        );
        let e = step_of(json!({"event_action": "trigger", "payload": {}})).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["payload.summary", "payload.source", "payload.severity"]
        );
        let e = step_of(json!({"event_action": "resolve"})).unwrap_err();
        assert_eq!(e[0].message, "acknowledge 和 resolve 需要 dedup_key");
        assert!(
            matches!(step_of(json!({"event_action": "resolve", "dedup_key": "d"})).unwrap().1,
            Step::Resolve { key, note, .. } if key == "ev:9:d" && note == "事件源 报告恢复")
        );
        assert!(
            matches!(step_of(json!({"event_action": "acknowledge", "dedup_key": "d"})).unwrap().1,
            Step::Acknowledge { key } if key == "ev:9:d")
        );
    }
}
