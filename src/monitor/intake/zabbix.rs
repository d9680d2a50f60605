//! The Zabbix media type (`integrations/zabbix/media_yunwei.yaml`), parsed without I/O:
//! the bounds of a notification and what it asks for. A problem fires, a recovery
//! resolves, an update (acknowledgement or comment) is noted on the alert.

use serde_json::{Map, Value, json};
use sha2::Digest;

use super::bounds::{MAX_LABEL_CHARS, MAX_LABELS, MAX_TEXT_CHARS, check_text};
use super::{Source, Step};
use crate::domain::FieldError;
use crate::domain::monitor::severity::{SeverityScheme, priority_or_lowest};
use crate::monitor::alerts::Fire;

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

/// What an event from `src` asks for, under the key `zbx:<source>:<event id>`. Zabbix
/// macros arrive as text or numbers; an unexpanded `{EVENT.ID}` is refused.
pub fn step(src: Source<'_>, obj: &Map<String, Value>) -> Result<Step, FieldError> {
    let s = |k: &str| {
        obj.get(k).and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
    };
    let event_id = s("event_id")
        .filter(|e| !e.is_empty() && !e.starts_with('{'))
        .ok_or_else(|| FieldError::new("event_id", "缺少 event_id（{EVENT.ID}）"))?;
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
    Ok(match (value.as_str(), update.as_str()) {
        ("0", _) => Step::Resolve {
            note: format!("Zabbix 报告恢复：{title}"),
            event_key: Some(format!("{key}:recovery")),
            key,
        },
        (_, "1") => {
            let msg = s("event_update_message").unwrap_or_default();
            let who = s("event_update_user").unwrap_or_default();
            let summary = format!("Zabbix 更新（{who}）：{msg}");
            let event_key = format!(
                "{key}:update:{}",
                crate::store::audit::hex(&sha2::Sha256::digest(summary.as_bytes()))
            );
            Step::Note {
                key,
                summary,
                event_key,
            }
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
            Step::Fire(Box::new(Fire {
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
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zabbix_payloads_are_bounded() {
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
    }

    fn step_of(v: Value) -> Result<Step, FieldError> {
        step(
            Source {
                id: 4,
                system_id: None,
                name: "zbx",
            },
            v.as_object().unwrap(),
        )
    }

    #[test]
    fn a_problem_fires_a_recovery_resolves_and_an_update_is_a_note() {
        let Step::Fire(f) = step_of(json!({"event_id": 12, "host_name": "db01",
            "event_name": "CPU 过高", "event_nseverity": "4", "alert_message": "CPU 95%",
            "host_ip": "10.0.0.9"}))
        .unwrap() else {
            panic!("fires")
        };
        assert_eq!(f.key, "zbx:4:12");
        assert_eq!(f.title, "db01：CPU 过高");
        assert_eq!(
            f.description.as_deref(),
            Some("CPU 95%\n主机地址：10.0.0.9")
        );
        assert_eq!(f.event_key.as_deref(), Some("zbx:4:12:problem"));
        assert!(
            matches!(step_of(json!({"event_id": "12", "event_value": "0"})).unwrap(),
            Step::Resolve { event_key: Some(k), .. } if k == "zbx:4:12:recovery")
        );
        assert!(
            matches!(step_of(json!({"event_id": "12", "event_update_status": "1",
            "event_update_user": "张三", "event_update_message": "处理中"})).unwrap(),
            Step::Note { summary, .. } if summary == "Zabbix 更新（张三）：处理中")
        );
        assert_eq!(
            step_of(json!({"event_id": "{EVENT.ID}"}))
                .unwrap_err()
                .field,
            "event_id"
        );
    }
}
