//! Tickets (工单): kinds, the lifecycle and who may move it, priority from impact ×
//! urgency, and the fault report an incident needs before it can be resolved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::entity::Choice;
use crate::domain::FieldError;

pub const KINDS: &[Choice] = &[
    Choice {
        code: "incident",
        label: "故障",
    },
    Choice {
        code: "request",
        label: "服务请求/咨询",
    },
    Choice {
        code: "problem",
        label: "问题",
    },
    Choice {
        code: "change",
        label: "变更",
    },
];

pub const CHANGE_TYPES: &[Choice] = &[
    Choice {
        code: "upgrade",
        label: "系统升级",
    },
    Choice {
        code: "optimisation",
        label: "性能优化",
    },
    Choice {
        code: "vulnerability_fix",
        label: "漏洞修复",
    },
    Choice {
        code: "configuration",
        label: "配置变更",
    },
];

pub const SOURCES: &[Choice] = &[
    Choice {
        code: "portal",
        label: "门户",
    },
    Choice {
        code: "phone",
        label: "电话",
    },
    Choice {
        code: "on_site",
        label: "现场",
    },
    Choice {
        code: "api",
        label: "接口",
    },
    Choice {
        code: "monitoring",
        label: "监控告警",
    },
    Choice {
        code: "inspection",
        label: "巡检发现",
    },
];

pub const LEVELS: &[Choice] = &[
    Choice {
        code: "high",
        label: "高",
    },
    Choice {
        code: "medium",
        label: "中",
    },
    Choice {
        code: "low",
        label: "低",
    },
];

pub const STATUSES: &[Choice] = &[
    Choice {
        code: "new",
        label: "新建",
    },
    Choice {
        code: "assigned",
        label: "已分派",
    },
    Choice {
        code: "in_progress",
        label: "处理中",
    },
    Choice {
        code: "pending",
        label: "挂起",
    },
    Choice {
        code: "resolved",
        label: "已解决",
    },
    Choice {
        code: "closed",
        label: "已关闭",
    },
    Choice {
        code: "canceled",
        label: "已取消",
    },
];

pub const LINK_KINDS: &[Choice] = &[
    Choice {
        code: "related",
        label: "相关",
    },
    Choice {
        code: "duplicate",
        label: "重复",
    },
    Choice {
        code: "caused_by",
        label: "由…引起",
    },
    Choice {
        code: "parent",
        label: "父工单",
    },
    Choice {
        code: "child",
        label: "子工单",
    },
];

/// Categories that route to the system's DBA rather than its O&M engineer.
pub const DATABASE_CATEGORIES: &[&str] = &["database", "数据库", "数据备份", "backup"];

pub fn label(choices: &[Choice], code: &str) -> String {
    choices
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.label.to_string())
        .unwrap_or_else(|| code.to_string())
}

pub fn choice(choices: &[Choice], v: &str) -> Option<&'static str> {
    choices
        .iter()
        .find(|c| c.code == v || c.label == v)
        .map(|c| c.code)
}

/// The impact × urgency → priority matrix. Keys are `impact/urgency`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriorityMatrix(pub BTreeMap<String, String>);

impl Default for PriorityMatrix {
    fn default() -> Self {
        let mut m = BTreeMap::new();
        for (k, v) in [
            ("high/high", "P1"),
            ("high/medium", "P2"),
            ("medium/high", "P2"),
            ("high/low", "P3"),
            ("medium/medium", "P3"),
            ("low/high", "P3"),
            ("medium/low", "P4"),
            ("low/medium", "P4"),
            ("low/low", "P4"),
        ] {
            m.insert(k.to_string(), v.to_string());
        }
        PriorityMatrix(m)
    }
}

impl PriorityMatrix {
    pub fn priority(&self, impact: &str, urgency: &str) -> String {
        self.0
            .get(&format!("{impact}/{urgency}"))
            .cloned()
            .unwrap_or_else(|| "P3".into())
    }

    pub fn validate(&self) -> Result<(), String> {
        for i in ["high", "medium", "low"] {
            for u in ["high", "medium", "low"] {
                match self.0.get(&format!("{i}/{u}")).map(String::as_str) {
                    Some("P1" | "P2" | "P3" | "P4") => {}
                    _ => {
                        return Err(format!(
                            "desk.priority_matrix: \"{i}/{u}\" must be one of P1–P4"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Every action of the lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Assign,
    Start,
    Pend,
    Resume,
    CheckIn,
    Resolve,
    Close,
    Reopen,
    Cancel,
    Supervise,
    Rate,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "assign" => Action::Assign,
            "start" => Action::Start,
            "pend" => Action::Pend,
            "resume" => Action::Resume,
            "check_in" => Action::CheckIn,
            "resolve" => Action::Resolve,
            "close" => Action::Close,
            "reopen" => Action::Reopen,
            "cancel" => Action::Cancel,
            "supervise" => Action::Supervise,
            "rate" => Action::Rate,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Assign => "分派",
            Action::Start => "开始处理",
            Action::Pend => "挂起",
            Action::Resume => "恢复处理",
            Action::CheckIn => "到场签到",
            Action::Resolve => "解决",
            Action::Close => "关闭",
            Action::Reopen => "重新打开",
            Action::Cancel => "取消",
            Action::Supervise => "督办",
            Action::Rate => "评价",
        }
    }

    /// The states from which the action is allowed.
    pub fn allowed_from(self) -> &'static [&'static str] {
        match self {
            Action::Assign => &["new", "assigned", "in_progress", "pending"],
            Action::Start => &["new", "assigned"],
            Action::Pend => &["assigned", "in_progress"],
            Action::Resume => &["pending"],
            Action::CheckIn => &["new", "assigned", "in_progress", "pending"],
            Action::Resolve => &["assigned", "in_progress", "pending"],
            Action::Close => &["resolved"],
            Action::Reopen => &["resolved", "closed"],
            Action::Cancel => &["new", "assigned", "in_progress", "pending"],
            Action::Supervise => &["new", "assigned", "in_progress", "pending"],
            Action::Rate => &["resolved", "closed"],
        }
    }
}

pub const FAULT_REPORT_FIELDS: &[(&str, &str)] = &[
    ("symptom", "故障现象"),
    ("impact_scope", "影响范围"),
    ("started_at", "故障开始时间"),
    ("recovered_at", "恢复时间"),
    ("cause", "原因分析"),
    ("handling", "处理过程"),
    ("measures", "整改措施"),
];

/// Validates a fault report: every field present; times in RFC 3339 and in order.
pub fn validate_fault_report(v: Option<&Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(Value::Object(o)) = v else {
        return Err(vec![FieldError::new(
            "fault_report",
            "解决故障须填写故障报告：故障现象、影响范围、故障开始时间、恢复时间、原因分析、处理过程、整改措施",
        )]);
    };
    let mut errs = Vec::new();
    let mut out = Map::new();
    for (k, label) in FAULT_REPORT_FIELDS {
        match o.get(*k).and_then(Value::as_str).map(str::trim) {
            Some(s) if !s.is_empty() => {
                if k.ends_with("_at") && chrono::DateTime::parse_from_rfc3339(s).is_err() {
                    errs.push(FieldError::new(
                        format!("fault_report.{k}"),
                        format!("{label}应为时间，如 2025-10-15T09:30:00+08:00"),
                    ));
                } else if s.chars().count() > 10_000 {
                    errs.push(FieldError::new(
                        format!("fault_report.{k}"),
                        format!("{label}不能超过 10000 个字符"),
                    ));
                } else {
                    out.insert(k.to_string(), Value::String(s.to_string()));
                }
            }
            _ => errs.push(FieldError::new(
                format!("fault_report.{k}"),
                format!("请填写故障报告的“{label}”"),
            )),
        }
    }
    for k in o.keys() {
        if !FAULT_REPORT_FIELDS.iter().any(|(f, _)| f == k) {
            errs.push(FieldError::new(
                format!("fault_report.{k}"),
                format!("故障报告中没有“{k}”这一项"),
            ));
        }
    }
    if errs.is_empty() {
        let t = |k: &str| {
            out.get(k)
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        };
        if let (Some(a), Some(b)) = (t("started_at"), t("recovered_at"))
            && b < a
        {
            errs.push(FieldError::new(
                "fault_report.recovered_at",
                "恢复时间不能早于故障开始时间",
            ));
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

pub const PRIORITIES: &[Choice] = &[
    Choice {
        code: "P1",
        label: "P1 紧急",
    },
    Choice {
        code: "P2",
        label: "P2 高",
    },
    Choice {
        code: "P3",
        label: "P3 中",
    },
    Choice {
        code: "P4",
        label: "P4 低",
    },
];

use super::entity::{EntitySpec, Field, Kind};

/// SLA policies: targets per ticket kind × priority (optionally per system) on a calendar.
pub static SLA_POLICIES: EntitySpec = EntitySpec {
    name: "sla-policies",
    table: "sla_policies",
    label: "SLA 策略",
    fields: &[
        Field::new("name", "名称", Kind::Text { max: 100 })
            .required()
            .search()
            .list(),
        Field::new("kind", "工单类型", Kind::Choice(KINDS))
            .required()
            .filter()
            .list(),
        Field::new("priority", "优先级", Kind::Choice(PRIORITIES))
            .required()
            .filter()
            .sortable()
            .list(),
        Field::new(
            "system_id",
            "适用系统",
            Kind::Ref {
                table: "systems",
                title: "name",
                label: "系统",
            },
        )
        .filter()
        .list(),
        Field::new(
            "calendar_id",
            "服务日历",
            Kind::Ref {
                table: "calendars",
                title: "name",
                label: "日历",
            },
        )
        .required()
        .list(),
        Field::new(
            "response_minutes",
            "响应时限(分钟)",
            Kind::Int {
                min: 1,
                max: 525_600,
            },
        )
        .list(),
        Field::new(
            "onsite_minutes",
            "到场时限(分钟)",
            Kind::Int {
                min: 1,
                max: 525_600,
            },
        )
        .list(),
        Field::new(
            "resolve_minutes",
            "解决时限(分钟)",
            Kind::Int {
                min: 1,
                max: 525_600,
            },
        )
        .list(),
        Field::new("warn_percent", "预警阈值(%)", Kind::Int { min: 1, max: 99 })
            .default_int(75)
            .list(),
    ],
    default_sort: "id",
    dependents: &[],
    unique: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_matrix_covers_every_pair() {
        let m = PriorityMatrix::default();
        assert!(m.validate().is_ok());
        assert_eq!(m.priority("high", "high"), "P1");
        assert_eq!(m.priority("low", "low"), "P4");
    }

    #[test]
    fn a_fault_report_needs_every_field_in_order() {
        assert!(validate_fault_report(None).is_err());
        let mut r = json!({"symptom": "无法登录", "impact_scope": "全体用户", "started_at": "2025-10-15T09:00:00+08:00",
            "recovered_at": "2025-10-15T08:00:00+08:00", "cause": "证书过期", "handling": "更换证书", "measures": "证书到期监控"});
        let e = validate_fault_report(Some(&r)).unwrap_err();
        assert_eq!(e[0].field, "fault_report.recovered_at");
        r["recovered_at"] = json!("2025-10-15T10:00:00+08:00");
        assert!(validate_fault_report(Some(&r)).is_ok());
        r["cause"] = json!("");
        assert_eq!(
            validate_fault_report(Some(&r)).unwrap_err()[0].field,
            "fault_report.cause"
        );
    }
}
