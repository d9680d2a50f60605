//! Bounds on the payloads other monitoring systems push to us (Alertmanager webhooks,
//! the Zabbix media type, generic events), checked before any work is done.
//!
//! A body is at most [`MAX_BODY_BYTES`] (the route's body limit). Before serde_json
//! builds anything, a scan of the raw bytes that allocates nothing bounds the nesting
//! depth and the number of JSON elements, so the parsed value is a bounded multiple of
//! the body. Then each source's counts and field lengths are checked, and only then do
//! the handlers open alerts and tickets. Every refusal is a Chinese message that names
//! the limit.

use serde_json::{Map, Value};

use crate::domain::FieldError;

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
