//! Alertmanager webhooks (version 4), parsed without I/O: the bounds of a notification
//! and what each of its alerts asks for. Each alert fires or resolves by its
//! fingerprint (or, from older senders, its sorted label set).

use serde_json::{Map, Value};
use sha2::Digest;

use super::bounds::{MAX_ALERTS, MAX_LABEL_CHARS, MAX_TEXT_CHARS, check_pairs, check_text};
use super::{Source, Step, label_str, system_from_labels};
use crate::domain::FieldError;
use crate::domain::monitor::severity::{SeverityScheme, priority_or_lowest};
use crate::monitor::alerts::Fire;

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

/// The alerts of a webhook that passed its bounds: only version "4" is understood.
pub fn alerts(obj: &Map<String, Value>) -> Result<&[Value], FieldError> {
    if obj.get("version").and_then(Value::as_str) != Some("4") {
        return Err(FieldError::new(
            "version",
            "只支持 Alertmanager webhook version \"4\"",
        ));
    }
    match obj.get("alerts") {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(FieldError::new("alerts", "缺少 alerts 数组")),
    }
}

/// One alert of a webhook, as what to do with it.
#[derive(Debug)]
pub struct AlertStep {
    pub fingerprint: String,
    pub status: String,
    pub step: Step,
}

/// What alert `i` of `obj` (from `src`) asks for: fire or resolve, under the key
/// `am:<source>:<fingerprint>`.
pub fn alert_step(
    src: Source<'_>,
    obj: &Map<String, Value>,
    i: usize,
    a: &Value,
) -> Result<AlertStep, FieldError> {
    let Some(a) = a.as_object() else {
        return Err(FieldError::new(format!("alerts[{i}]"), "每条告警应为对象"));
    };
    let empty = Map::new();
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
        .or_else(|| label_str(obj, "status"))
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
    let step = if status == "resolved" {
        Step::Resolve {
            note: format!("Alertmanager 报告恢复：{title}"),
            event_key: Some(format!("{key}:{starts}:resolved")),
            key,
        }
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
        Step::Fire(Box::new(Fire {
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
        }))
    };
    Ok(AlertStep {
        fingerprint: fp,
        status: status.to_string(),
        step,
    })
}

#[cfg(test)]
mod tests {
    use super::super::bounds::{MAX_LABELS, MAX_NAME_CHARS};
    use super::*;
    use serde_json::json;

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

    fn source() -> Source<'static> {
        Source {
            id: 7,
            system_id: Some(2),
            name: "am",
        }
    }

    #[test]
    fn an_alert_fires_by_its_fingerprint_and_a_resolved_one_resolves() {
        let obj = json!({"version": "4", "status": "firing", "alerts": [
            {"labels": {"alertname": "HostDown", "instance": "h1", "severity": "critical"},
             "startsAt": "t0", "fingerprint": "abc"},
            {"status": "resolved", "labels": {"alertname": "HostDown", "system_id": "5"},
             "annotations": {"summary": "主机恢复"}, "startsAt": "t0", "fingerprint": "def"}]});
        let obj = obj.as_object().unwrap();
        let items = alerts(obj).unwrap();
        let first = alert_step(source(), obj, 0, &items[0]).unwrap();
        assert_eq!(
            (first.fingerprint.as_str(), first.status.as_str()),
            ("abc", "firing")
        );
        let Step::Fire(f) = first.step else {
            panic!("fires")
        };
        assert_eq!(f.key, "am:7:abc");
        assert_eq!(f.title, "HostDown（h1）");
        assert_eq!(f.priority, "P1");
        assert_eq!(f.system_id, Some(2));
        assert_eq!(f.event_key.as_deref(), Some("am:7:abc:t0:firing"));
        let second = alert_step(source(), obj, 1, &items[1]).unwrap();
        assert!(
            matches!(second.step, Step::Resolve { ref key, ref note, .. }
            if key == "am:7:def" && note == "Alertmanager 报告恢复：主机恢复")
        );
        assert_eq!(
            alert_step(source(), obj, 2, &json!(3)).unwrap_err().field,
            "alerts[2]"
        );
        let old = json!({"version": "3", "alerts": []});
        assert_eq!(
            alerts(old.as_object().unwrap()).unwrap_err().field,
            "version"
        );
    }
}
