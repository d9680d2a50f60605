//! Tickets (工单): kinds, the lifecycle and who may move it, priority from impact ×
//! urgency, and the fault report an incident needs before it can be resolved.

pub mod input;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::entity::Choice;

pub use input::validate_fault_report;

/// A ticket's id: the one a use case acts on, or the other one a link names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

/// The id of the alert a ticket is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlertId(pub i64);

pub const KINDS: &[Choice] = &[
    Choice::new("incident", "故障"),
    Choice::new("request", "服务请求/咨询"),
    Choice::new("problem", "问题"),
    Choice::new("change", "变更"),
];

pub const CHANGE_TYPES: &[Choice] = &[
    Choice::new("upgrade", "系统升级"),
    Choice::new("optimisation", "性能优化"),
    Choice::new("vulnerability_fix", "漏洞修复"),
    Choice::new("configuration", "配置变更"),
];

pub const SOURCES: &[Choice] = &[
    Choice::new("portal", "门户"),
    Choice::new("phone", "电话"),
    Choice::new("on_site", "现场"),
    Choice::new("api", "接口"),
    Choice::new("monitoring", "监控告警"),
    Choice::new("inspection", "巡检发现"),
];

pub const LEVELS: &[Choice] = &[
    Choice::new("high", "高"),
    Choice::new("medium", "中"),
    Choice::new("low", "低"),
];

pub const STATUSES: &[Choice] = &[
    Choice::new("new", "新建"),
    Choice::new("assigned", "已分派"),
    Choice::new("in_progress", "处理中"),
    Choice::new("pending", "挂起"),
    Choice::new("resolved", "已解决"),
    Choice::new("closed", "已关闭"),
    Choice::new("canceled", "已取消"),
];

pub const LINK_KINDS: &[Choice] = &[
    Choice::new("related", "相关"),
    Choice::new("duplicate", "重复"),
    Choice::new("caused_by", "由…引起"),
    Choice::new("parent", "父工单"),
    Choice::new("child", "子工单"),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
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
    /// Every action, in the order pages list them.
    pub const ALL: [Action; 11] = [
        Action::Assign,
        Action::Start,
        Action::Pend,
        Action::Resume,
        Action::CheckIn,
        Action::Resolve,
        Action::Close,
        Action::Reopen,
        Action::Cancel,
        Action::Supervise,
        Action::Rate,
    ];

    /// The action's name in the API, the timeline and the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Action::Assign => "assign",
            Action::Start => "start",
            Action::Pend => "pend",
            Action::Resume => "resume",
            Action::CheckIn => "check_in",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Cancel => "cancel",
            Action::Supervise => "supervise",
            Action::Rate => "rate",
        }
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

pub const PRIORITIES: &[Choice] = &[
    Choice::new("P1", "P1 紧急"),
    Choice::new("P2", "P2 高"),
    Choice::new("P3", "P3 中"),
    Choice::new("P4", "P4 低"),
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
        let report = |r: &serde_json::Value| -> input::FaultReport {
            serde_json::from_value(r.clone()).unwrap()
        };
        let mut r = json!({"symptom": "无法登录", "impact_scope": "全体用户", "started_at": "2025-10-15T09:00:00+08:00",
            "recovered_at": "2025-10-15T08:00:00+08:00", "cause": "证书过期", "handling": "更换证书", "measures": "证书到期监控"});
        let e = validate_fault_report(Some(&report(&r))).unwrap_err();
        assert_eq!(e[0].field, "fault_report.recovered_at");
        r["recovered_at"] = json!("2025-10-15T10:00:00+08:00");
        assert!(validate_fault_report(Some(&report(&r))).is_ok());
        r["cause"] = json!("");
        assert_eq!(
            validate_fault_report(Some(&report(&r))).unwrap_err()[0].field,
            "fault_report.cause"
        );
    }
}
