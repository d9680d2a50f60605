//! Readable history: the catalogue of audit action codes and record types in Chinese, and
//! the sentence one audit record reads as ("王工 将工单 INC-… 分派给 李工"). The raw code
//! stays in the record; pages show it in the detail.

/// Action code → the Chinese verb phrase. Every code the code base writes to the audit log
/// is here (`tests/api/history.rs` scans the sources and fails on an unknown one).
pub const ACTIONS: &[(&str, &str)] = &[
    // Generic changes to a record.
    ("create", "新建"),
    ("update", "修改"),
    ("delete", "删除"),
    ("import", "导入"),
    ("export", "导出"),
    ("link", "关联"),
    ("unlink", "取消关联"),
    ("attach", "上传附件到"),
    ("detach", "移除附件自"),
    ("revoke", "吊销"),
    ("confirm", "确认"),
    ("transition", "变更状态："),
    ("submit", "提交"),
    ("review", "审核"),
    ("download", "下载"),
    ("nominate", "提名人选："),
    ("approve", "批准"),
    ("refuse", "驳回"),
    ("photo", "上传照片到"),
    ("results", "提交结果："),
    ("overdue", "标记逾期："),
    ("run", "执行"),
    ("generate", "生成任务："),
    ("copy", "复制"),
    ("swap", "互换"),
    ("restore", "从备份恢复数据"),
    // Sessions and accounts.
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("logout", "退出登录"),
    ("session_timeout", "会话超时退出"),
    ("password_change", "修改了自己的密码"),
    ("password_reset", "重置密码："),
    // Tickets: the lifecycle actions (`domain::tickets::Action`) and the other steps.
    ("ticket.assign", "分派"),
    ("ticket.start", "开始处理"),
    ("ticket.pend", "挂起"),
    ("ticket.resume", "恢复处理"),
    ("ticket.check_in", "到场签到："),
    ("ticket.resolve", "解决"),
    ("ticket.close", "关闭"),
    ("ticket.reopen", "重新打开"),
    ("ticket.cancel", "取消"),
    ("ticket.supervise", "督办"),
    ("ticket.rate", "评价"),
    ("ticket.auto_close", "自动关闭"),
    ("comment", "留言于"),
    ("worklog", "填写工作记录于"),
    ("attachment", "上传附件到"),
    // Alerts.
    ("alert.acknowledge", "确认告警"),
    ("alert.silence", "静默告警"),
    // The demo data before going live.
    ("demo.remove", "删除了全部"),
];

/// Record type (the audit log's `entity_type`) → its Chinese name.
pub const OBJECTS: &[(&str, &str)] = &[
    ("tickets", "工单"),
    ("users", "账号"),
    ("session", "会话"),
    ("api_tokens", "API 令牌"),
    ("sites", "机房"),
    ("assets", "设备"),
    ("systems", "信息系统"),
    ("staff", "团队成员"),
    ("assignments", "岗位安排"),
    ("sla-policies", "SLA 策略"),
    ("calendars", "工作日历"),
    ("declared_counts", "申报数量"),
    ("monitors", "监控项"),
    ("alerts", "告警"),
    ("duty-shifts", "值班"),
    ("integrations", "告警接入"),
    ("maintenance-windows", "维护窗口"),
    ("notification_channels", "通知渠道"),
    ("notification_rules", "通知规则"),
    ("inspection_templates", "巡检模板"),
    ("inspection_plans", "巡检计划"),
    ("inspection_tasks", "巡检任务"),
    ("inspection_findings", "巡检问题"),
    ("reports", "报告"),
    ("report_texts", "报告文字"),
    ("service_lines", "服务条线"),
    ("work_records", "支持服务记录"),
    ("requirements", "需求"),
    ("cloud_resources", "云资源"),
    ("settings", "设置"),
    ("contract", "合同"),
    ("deliverables", "交付物"),
    ("acceptance_package", "验收资料包"),
    ("personnel_changes", "人员变更"),
    ("staff_certificates", "成员证书"),
    ("staff_documents", "成员材料"),
    ("backup_policies", "备份策略"),
    ("backup_runs", "备份记录"),
    ("restore_drills", "恢复演练"),
    ("demo", "演示数据"),
];

/// The Chinese phrase of an action code; `None` for a code not in the catalogue.
pub fn action_label(code: &str) -> Option<&'static str> {
    ACTIONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The Chinese name of a record type; `None` for a type not in the catalogue.
pub fn object_label(entity_type: &str) -> Option<&'static str> {
    OBJECTS
        .iter()
        .find(|(c, _)| *c == entity_type)
        .map(|(_, l)| *l)
}

/// One audit record, its names already resolved (by the history service).
#[derive(Clone, Debug, Default)]
pub struct Step<'a> {
    /// Who did it (display name).
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    /// The record's name (a ticket's number, an account's name), or its id.
    pub object: Option<&'a str>,
    /// The person the action went to (an assignment's engineer), when there is one.
    pub target: Option<&'a str>,
}

/// The sentence a record reads as, e.g. "王工 将工单 INC-20251015-0001 分派给 李工",
/// "王工 新建账号 pm", "王工 登录". An unknown code falls back to the raw code, so nothing
/// is hidden.
pub fn sentence(s: &Step<'_>) -> String {
    let noun = object_label(s.entity_type).unwrap_or(s.entity_type);
    let obj = s.object.map(|o| format!(" {o}")).unwrap_or_default();
    match s.action {
        "ticket.assign" => match s.target {
            Some(to) => format!("{} 将{noun}{obj} 分派给 {to}", s.actor),
            None => format!("{} 分派{noun}{obj}", s.actor),
        },
        "login" | "login_failed" | "logout" | "session_timeout" | "password_change" | "restore" => {
            format!("{} {}", s.actor, action_label(s.action).unwrap_or(s.action))
        }
        code => match action_label(code) {
            Some(verb) => format!("{} {verb}{noun}{obj}", s.actor),
            None => format!("{} {code} {noun}{obj}", s.actor),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tickets::Action;

    #[test]
    fn every_ticket_action_has_a_phrase() {
        for a in Action::ALL {
            let code = format!("ticket.{}", a.code());
            assert!(action_label(&code).is_some(), "{code} has no phrase");
        }
    }

    #[test]
    fn an_assignment_names_the_actor_the_ticket_and_the_assignee() {
        let s = sentence(&Step {
            actor: "王工",
            action: "ticket.assign",
            entity_type: "tickets",
            object: Some("INC-20251015-0001"),
            target: Some("李工"),
        });
        assert_eq!(s, "王工 将工单 INC-20251015-0001 分派给 李工");
    }

    #[test]
    fn a_new_account_reads_as_chinese_with_its_name() {
        let s = sentence(&Step {
            actor: "系统管理员",
            action: "create",
            entity_type: "users",
            object: Some("pm"),
            target: None,
        });
        assert_eq!(s, "系统管理员 新建账号 pm");
    }

    #[test]
    fn a_login_is_just_the_person_and_the_verb() {
        let s = sentence(&Step {
            actor: "监理",
            action: "login",
            entity_type: "session",
            ..Step::default()
        });
        assert_eq!(s, "监理 登录");
    }

    #[test]
    fn an_unknown_code_is_shown_raw_rather_than_hidden() {
        assert!(action_label("frobnicate").is_none());
        let s = sentence(&Step {
            actor: "a",
            action: "frobnicate",
            entity_type: "widgets",
            ..Step::default()
        });
        assert_eq!(s, "a frobnicate widgets");
    }

    #[test]
    fn no_code_or_type_is_listed_twice_and_none_is_blank() {
        for list in [ACTIONS, OBJECTS] {
            let mut seen = std::collections::HashSet::new();
            for (c, l) in list {
                assert!(seen.insert(*c), "{c} twice");
                assert!(!l.trim().is_empty(), "{c} blank");
            }
        }
    }
}
