//! The contract record (合同): parties, project, the two service periods, budget lines,
//! payment milestones with their conditions and the quality targets, as one typed value;
//! the patch that replaces any of its parts and the checks of a whole record, every
//! problem at once with a Chinese message. Pure: no I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field_error::FieldError;
use super::input::Labels;

/// 采购人, 中标人 (the contractor, blank until awarded) and 监理.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Parties {
    pub purchaser: String,
    #[serde(default)]
    pub contractor: String,
    #[serde(default)]
    pub supervisor: String,
}

/// A service period, both dates included (Beijing dates, `YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePeriod {
    pub from: String,
    pub to: String,
}

impl ServicePeriod {
    /// The dates, when both parse.
    pub fn dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((date(&self.from)?, date(&self.to)?))
    }
}

/// A budget line in 万元 (two decimals).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLine {
    /// infrastructure, systems or operations (or any short code).
    pub key: String,
    pub name: String,
    pub amount_wan: f64,
}

/// A payment milestone: its share of the contract sum and the condition that makes it due.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub name: String,
    pub percent: f64,
    pub condition: String,
}

/// The quality targets the records measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKey {
    SlaCompliance,
    #[serde(rename = "onsite_2h")]
    Onsite2h,
    InspectionCompletion,
    Rectification,
    Satisfaction,
    Availability,
    BackupSuccess,
}

pub const TARGET_KEYS: [TargetKey; 7] = [
    TargetKey::SlaCompliance,
    TargetKey::Onsite2h,
    TargetKey::InspectionCompletion,
    TargetKey::Rectification,
    TargetKey::Satisfaction,
    TargetKey::Availability,
    TargetKey::BackupSuccess,
];

impl TargetKey {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKey::SlaCompliance => "sla_compliance",
            TargetKey::Onsite2h => "onsite_2h",
            TargetKey::InspectionCompletion => "inspection_completion",
            TargetKey::Rectification => "rectification",
            TargetKey::Satisfaction => "satisfaction",
            TargetKey::Availability => "availability",
            TargetKey::BackupSuccess => "backup_success",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TargetKey::SlaCompliance => "SLA 达标率",
            TargetKey::Onsite2h => "2 小时内到场率",
            TargetKey::InspectionCompletion => "巡检完成率",
            TargetKey::Rectification => "整改完成率",
            TargetKey::Satisfaction => "用户满意度",
            TargetKey::Availability => "系统可用率",
            TargetKey::BackupSuccess => "备份成功率",
        }
    }
}

/// A target: the value (a percentage) the measured value must reach.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityTarget {
    pub key: TargetKey,
    pub target_percent: f64,
    #[serde(default)]
    pub note: String,
}

/// The whole record.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractRecord {
    pub project_name: String,
    #[serde(default)]
    pub project_number: String,
    pub parties: Parties,
    /// 运行维护服务 (infrastructure and systems).
    pub om_period: ServicePeriod,
    /// 系统业务运营服务 (the operations lines).
    pub operations_period: ServicePeriod,
    pub budget_lines: Vec<BudgetLine>,
    pub milestones: Vec<Milestone>,
    pub quality_targets: Vec<QualityTarget>,
}

/// `PATCH /contract`: each part given replaces the stored one.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPatch {
    pub project_name: Option<String>,
    pub project_number: Option<String>,
    pub parties: Option<Parties>,
    pub om_period: Option<ServicePeriod>,
    pub operations_period: Option<ServicePeriod>,
    pub budget_lines: Option<Vec<BudgetLine>>,
    pub milestones: Option<Vec<Milestone>>,
    pub quality_targets: Option<Vec<QualityTarget>>,
}

impl Labels for ContractPatch {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("project_name", "项目名称"),
        ("project_number", "项目编号"),
        ("parties", "合同各方"),
        ("purchaser", "采购人"),
        ("contractor", "中标人"),
        ("supervisor", "监理单位"),
        ("om_period", "运行维护服务期"),
        ("operations_period", "系统业务运营服务期"),
        ("from", "开始日期"),
        ("to", "结束日期"),
        ("budget_lines", "预算明细"),
        ("amount_wan", "金额（万元）"),
        ("milestones", "付款节点"),
        ("percent", "付款比例"),
        ("condition", "付款条件"),
        ("quality_targets", "质量目标"),
        ("key", "指标"),
        ("target_percent", "目标值（%）"),
    ];
}

impl ContractPatch {
    pub fn is_empty(&self) -> bool {
        self.project_name.is_none()
            && self.project_number.is_none()
            && self.parties.is_none()
            && self.om_period.is_none()
            && self.operations_period.is_none()
            && self.budget_lines.is_none()
            && self.milestones.is_none()
            && self.quality_targets.is_none()
    }

    pub fn apply(self, mut r: ContractRecord) -> ContractRecord {
        if let Some(v) = self.project_name {
            r.project_name = v;
        }
        if let Some(v) = self.project_number {
            r.project_number = v;
        }
        if let Some(v) = self.parties {
            r.parties = v;
        }
        if let Some(v) = self.om_period {
            r.om_period = v;
        }
        if let Some(v) = self.operations_period {
            r.operations_period = v;
        }
        if let Some(v) = self.budget_lines {
            r.budget_lines = v;
        }
        if let Some(v) = self.milestones {
            r.milestones = v;
        }
        if let Some(v) = self.quality_targets {
            r.quality_targets = v;
        }
        r
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Rounds to two decimals (万元 with 元 precision of 100).
pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The contract sum in 万元: the budget lines added.
pub fn total_wan(r: &ContractRecord) -> f64 {
    round2(r.budget_lines.iter().map(|b| b.amount_wan).sum())
}

fn text(errs: &mut Vec<FieldError>, field: &str, v: &str, what: &str, max: usize, required: bool) {
    let n = v.trim().chars().count();
    if required && n == 0 {
        errs.push(FieldError::new(field, format!("请填写{what}")));
    } else if n > max {
        errs.push(FieldError::new(
            field,
            format!("{what}不能超过 {max} 个字（现有 {n} 个）"),
        ));
    }
}

fn period(errs: &mut Vec<FieldError>, field: &str, p: &ServicePeriod, what: &str) {
    match (date(&p.from), date(&p.to)) {
        (None, _) => errs.push(FieldError::new(
            format!("{field}.from"),
            format!("{what}的开始日期应写成 2024-09-22"),
        )),
        (_, None) => errs.push(FieldError::new(
            format!("{field}.to"),
            format!("{what}的结束日期应写成 2025-09-21"),
        )),
        (Some(a), Some(b)) if b < a => errs.push(FieldError::new(
            format!("{field}.to"),
            format!("{what}的结束日期不能早于开始日期 {a}"),
        )),
        (Some(a), Some(b)) if (b - a).num_days() > 366 * 5 => errs.push(FieldError::new(
            format!("{field}.to"),
            format!("{what}不能超过 5 年"),
        )),
        _ => {}
    }
}

/// Checks a whole record: texts, dates, amounts, milestones adding up to 100 %, targets
/// between 0 and 100 and each at most once.
pub fn check_record(r: &ContractRecord) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    text(
        &mut errs,
        "project_name",
        &r.project_name,
        "项目名称",
        200,
        true,
    );
    text(
        &mut errs,
        "project_number",
        &r.project_number,
        "项目编号",
        100,
        false,
    );
    text(
        &mut errs,
        "parties.purchaser",
        &r.parties.purchaser,
        "采购人",
        200,
        true,
    );
    text(
        &mut errs,
        "parties.contractor",
        &r.parties.contractor,
        "中标人",
        200,
        false,
    );
    text(
        &mut errs,
        "parties.supervisor",
        &r.parties.supervisor,
        "监理单位",
        200,
        false,
    );
    period(&mut errs, "om_period", &r.om_period, "运行维护服务期");
    period(
        &mut errs,
        "operations_period",
        &r.operations_period,
        "系统业务运营服务期",
    );
    if r.budget_lines.is_empty() || r.budget_lines.len() > 20 {
        errs.push(FieldError::new("budget_lines", "预算明细应有 1 到 20 行"));
    }
    for (i, b) in r.budget_lines.iter().enumerate() {
        let f = format!("budget_lines[{i}]");
        text(&mut errs, &format!("{f}.key"), &b.key, "预算代码", 40, true);
        text(
            &mut errs,
            &format!("{f}.name"),
            &b.name,
            "预算名称",
            100,
            true,
        );
        if !b.amount_wan.is_finite() || b.amount_wan < 0.0 || b.amount_wan > 1.0e6 {
            errs.push(FieldError::new(
                format!("{f}.amount_wan"),
                "金额应为 0 到 1000000 之间的万元数",
            ));
        } else if (round2(b.amount_wan) - b.amount_wan).abs() > 1e-9 {
            errs.push(FieldError::new(
                format!("{f}.amount_wan"),
                "金额最多保留两位小数（万元）",
            ));
        }
    }
    if r.milestones.is_empty() || r.milestones.len() > 12 {
        errs.push(FieldError::new("milestones", "付款节点应有 1 到 12 个"));
    }
    let mut sum = 0.0;
    for (i, m) in r.milestones.iter().enumerate() {
        let f = format!("milestones[{i}]");
        text(
            &mut errs,
            &format!("{f}.name"),
            &m.name,
            "付款节点名称",
            50,
            true,
        );
        text(
            &mut errs,
            &format!("{f}.condition"),
            &m.condition,
            "付款条件",
            500,
            true,
        );
        if !m.percent.is_finite() || m.percent <= 0.0 || m.percent > 100.0 {
            errs.push(FieldError::new(
                format!("{f}.percent"),
                "付款比例应大于 0、不超过 100",
            ));
        } else {
            sum += m.percent;
        }
    }
    if !r.milestones.is_empty()
        && (sum - 100.0).abs() > 1e-6
        && errs.iter().all(|e| !e.field.ends_with(".percent"))
    {
        errs.push(FieldError::new(
            "milestones",
            format!("各付款节点比例之和应为 100%，现为 {}%", round2(sum)),
        ));
    }
    for (i, t) in r.quality_targets.iter().enumerate() {
        let f = format!("quality_targets[{i}]");
        if !t.target_percent.is_finite() || !(0.0..=100.0).contains(&t.target_percent) {
            errs.push(FieldError::new(
                format!("{f}.target_percent"),
                "目标值应为 0 到 100 之间的百分数",
            ));
        }
        text(&mut errs, &format!("{f}.note"), &t.note, "说明", 200, false);
        if r.quality_targets[..i].iter().any(|o| o.key == t.key) {
            errs.push(FieldError::new(
                format!("{f}.key"),
                format!("指标“{}”重复，每项指标只能设一个目标", t.key.label()),
            ));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Whether a measured value meets its target (`None` when nothing was measured).
pub fn met(target: f64, measured: Option<f64>) -> Option<bool> {
    measured.map(|m| m + 1e-9 >= target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ContractRecord {
        ContractRecord {
            project_name: "项目".into(),
            project_number: String::new(),
            parties: Parties {
                purchaser: "广东省生态环境厅".into(),
                contractor: String::new(),
                supervisor: String::new(),
            },
            om_period: ServicePeriod {
                from: "2024-09-22".into(),
                to: "2025-09-21".into(),
            },
            operations_period: ServicePeriod {
                from: "2024-09-24".into(),
                to: "2025-09-23".into(),
            },
            budget_lines: vec![
                BudgetLine {
                    key: "a".into(),
                    name: "基础设施".into(),
                    amount_wan: 21.14,
                },
                BudgetLine {
                    key: "b".into(),
                    name: "软件".into(),
                    amount_wan: 392.76,
                },
                BudgetLine {
                    key: "c".into(),
                    name: "运营".into(),
                    amount_wan: 944.51,
                },
            ],
            milestones: vec![
                Milestone {
                    name: "首期款".into(),
                    percent: 60.0,
                    condition: "签订合同后".into(),
                },
                Milestone {
                    name: "进度款".into(),
                    percent: 30.0,
                    condition: "8 个月后".into(),
                },
                Milestone {
                    name: "尾款".into(),
                    percent: 10.0,
                    condition: "验收后".into(),
                },
            ],
            quality_targets: vec![QualityTarget {
                key: TargetKey::SlaCompliance,
                target_percent: 95.0,
                note: String::new(),
            }],
        }
    }

    #[test]
    fn the_seed_budget_adds_up_to_1358_41() {
        assert_eq!(total_wan(&record()), 1358.41);
        assert!(check_record(&record()).is_ok());
    }

    #[test]
    fn milestones_must_add_up_to_100_and_periods_must_be_ordered() {
        let mut r = record();
        r.milestones[2].percent = 5.0;
        r.om_period.to = "2024-01-01".into();
        let e = check_record(&r).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["om_period.to", "milestones"]);
    }

    #[test]
    fn a_target_is_met_at_or_above_its_value_and_unknown_without_data() {
        assert_eq!(met(95.0, Some(95.0)), Some(true));
        assert_eq!(met(95.0, Some(94.9)), Some(false));
        assert_eq!(met(95.0, None), None);
    }
}
