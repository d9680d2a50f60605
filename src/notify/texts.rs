//! The texts of notifications, from templates: one per event kind under
//! `templates/notify/` (compiled in), rendered with a [`TicketNotice`]. A template writes
//! the body and sets `subject`; plain text, nothing escaped. An event without a template
//! of its own uses `notify/other.txt`.

use std::sync::LazyLock;

use minijinja::Environment;
use serde::Serialize;

use crate::store::desk::TicketRow;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "ticket.created",
        include_str!("../../templates/notify/ticket.created.txt"),
    ),
    (
        "ticket.assigned",
        include_str!("../../templates/notify/ticket.assigned.txt"),
    ),
    (
        "ticket.supervised",
        include_str!("../../templates/notify/ticket.supervised.txt"),
    ),
    (
        "ticket.resolved",
        include_str!("../../templates/notify/ticket.resolved.txt"),
    ),
    (
        "ticket.reopened",
        include_str!("../../templates/notify/ticket.reopened.txt"),
    ),
    (
        "sla.warning",
        include_str!("../../templates/notify/sla.warning.txt"),
    ),
    (
        "sla.breached",
        include_str!("../../templates/notify/sla.breached.txt"),
    ),
    (
        "alert.firing",
        include_str!("../../templates/notify/alert.firing.txt"),
    ),
    (
        "alert.resolved",
        include_str!("../../templates/notify/alert.resolved.txt"),
    ),
    (
        "alert.escalated",
        include_str!("../../templates/notify/alert.escalated.txt"),
    ),
    (
        "inspection.overdue",
        include_str!("../../templates/notify/inspection.overdue.txt"),
    ),
    ("other", include_str!("../../templates/notify/other.txt")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Texts, not HTML: nothing is escaped, and the body keeps its last line break.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    match minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        Ok(s) => env.set_syntax(s),
        Err(e) => tracing::error!(error = %e, "notification template syntax"),
    }
    for (name, src) in TEMPLATES {
        if let Err(e) = env.add_template(name, src) {
            // Templates are compiled into the binary and covered by tests.
            tracing::error!(template = name, error = %e, "notification template does not compile");
        }
    }
    env
});

/// What a ticket's notification says.
#[derive(Debug, Serialize)]
pub struct TicketNotice<'a> {
    /// The event kind, e.g. `ticket.created`.
    pub event: &'a str,
    pub number: &'a str,
    pub title: &'a str,
    /// The system's name, "—" for none.
    pub system: &'a str,
    pub priority: &'a str,
    /// What happened, as the ticket's timeline says it.
    pub detail: &'a str,
}

impl<'a> TicketNotice<'a> {
    pub fn new(event: &'a str, t: &'a TicketRow, detail: &'a str) -> Self {
        TicketNotice {
            event,
            number: &t.number,
            title: &t.title,
            system: t.system_name.as_deref().unwrap_or("—"),
            priority: &t.priority,
            detail,
        }
    }
}

/// What an inspection task's notification says.
#[derive(Debug, Serialize)]
pub struct InspectionNotice<'a> {
    pub task_id: i64,
    /// The template's name, e.g. 机房日常巡检.
    pub template: &'a str,
    /// What is inspected: the site, device or system.
    pub target: &'a str,
    /// The due time in Beijing time, `YYYY-MM-DD HH:MM`.
    pub due: &'a str,
    /// The assignee's name, "未分派" for none.
    pub assignee: &'a str,
}

/// A rendered notification.
#[derive(Debug, PartialEq)]
pub struct Text {
    pub subject: String,
    pub body: String,
}

/// Renders the notification of `n.event` from its template.
pub fn render(n: &TicketNotice) -> Result<Text, minijinja::Error> {
    let name = if TEMPLATES.iter().any(|(e, _)| *e == n.event) {
        n.event
    } else {
        "other"
    };
    render_named(name, n)
}

/// Renders an inspection event's notification from its template.
pub fn render_inspection(event: &str, n: &InspectionNotice) -> Result<Text, minijinja::Error> {
    render_named(event, n)
}

fn render_named(name: &str, n: &impl Serialize) -> Result<Text, minijinja::Error> {
    let t = ENV.get_template(name)?;
    let out = t.render_captured(minijinja::Value::from(minijinja::value::Serde(n)))?;
    let subject = out
        .state()
        .lookup("subject")
        .map(|v| v.to_string())
        .unwrap_or_default();
    Ok(Text {
        subject,
        body: out.output().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(event: &str) -> TicketNotice<'_> {
        TicketNotice {
            event,
            number: "GD-20250101-001",
            title: "机房空调告警 <1>",
            system: "—",
            priority: "P2",
            detail: "按系统岗位自动分派",
        }
    }

    #[test]
    fn every_event_kind_has_a_template_and_renders_the_texts_it_always_had() {
        for (event, label) in super::super::EVENTS {
            if event.starts_with("inspection.") {
                continue;
            }
            assert!(
                TEMPLATES.iter().any(|(e, _)| e == event),
                "no template for {event}"
            );
            let text = render(&notice(event)).unwrap();
            assert_eq!(
                text.subject,
                format!("【{label}】GD-20250101-001 机房空调告警 <1>"),
                "{event}"
            );
            assert_eq!(
                text.body,
                format!(
                    "{label}\n工单：GD-20250101-001（机房空调告警 <1>）\n系统：—\n优先级：P2\n按系统岗位自动分派\n"
                ),
                "{event}"
            );
        }
    }

    #[test]
    fn an_overdue_inspection_names_the_task_target_and_due_time() {
        let n = InspectionNotice {
            task_id: 42,
            template: "机房日常巡检",
            target: "主机房",
            due: "2025-11-03 18:00",
            assignee: "张工",
        };
        let text = render_inspection("inspection.overdue", &n).unwrap();
        assert_eq!(text.subject, "【巡检任务逾期】主机房 机房日常巡检");
        assert_eq!(
            text.body,
            "巡检任务逾期\n任务：#42 机房日常巡检\n对象：主机房\n应完成时间：2025-11-03 18:00\n处理人：张工\n请尽快完成巡检并提交。\n"
        );
        assert!(render_inspection("inspection.unknown", &n).is_err());
    }

    #[test]
    fn an_event_without_a_template_is_named_by_its_kind() {
        let text = render(&notice("ticket.exploded")).unwrap();
        assert_eq!(
            text.subject,
            "【ticket.exploded】GD-20250101-001 机房空调告警 <1>"
        );
        assert!(text.body.starts_with("ticket.exploded\n"), "{}", text.body);
    }
}
