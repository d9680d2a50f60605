//! The typed inputs of the inspection use cases. A template is created from
//! `domain::inspection::template::Template` itself.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::input::{Labels, de};
use crate::domain::inspection::task::TaskAction;
use crate::domain::inspection::template::{Item, TargetType, Template};

/// `PATCH /inspection-templates/{id}`: the fields to change; `items` replaces the list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub target_type: Option<TargetType>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub items: Option<Vec<Item>>,
}

impl TemplatePatch {
    /// `t` with the fields this patch names changed.
    pub fn apply(self, mut t: Template) -> Template {
        if let Some(v) = self.name {
            t.name = v;
        }
        if let Some(v) = self.target_type {
            t.target_type = v;
        }
        if let Some(v) = self.category {
            t.category = v;
        }
        if let Some(v) = self.description {
            t.description = v;
        }
        if let Some(v) = self.items {
            t.items = v;
        }
        t
    }
}

impl Labels for TemplatePatch {
    const LABELS: &'static [(&'static str, &'static str)] =
        crate::domain::inspection::template::Template::LABELS;
}

/// Which targets a plan covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    /// The ids in `target_ids`.
    Listed,
    /// Every asset of `category` (or of the template's category).
    Category,
    /// Every target of the template's type.
    All,
}

impl TargetMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetMode::Listed => "listed",
            TargetMode::Category => "category",
            TargetMode::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TargetMode::Listed, TargetMode::Category, TargetMode::All]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Who a plan's tasks go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeRule {
    /// The target's staff from the inventory, else `assignee_id`.
    Assigned,
    /// Always `assignee_id`.
    User,
}

impl AssigneeRule {
    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeRule::Assigned => "assigned",
            AssigneeRule::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [AssigneeRule::Assigned, AssigneeRule::User]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// `POST /inspection-plans`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanCreate {
    pub name: String,
    pub template_id: i64,
    pub target_mode: TargetMode,
    #[serde(default)]
    pub target_ids: Vec<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub category: Option<String>,
    /// Five-field cron in Beijing time: when a round starts (`0 9 * * *` every day at 9:00).
    pub schedule: String,
    /// Minutes from a round's start to its due time (default 480, a working day).
    #[schema(minimum = 10, maximum = 44640)]
    pub due_minutes: Option<i64>,
    pub assignee_rule: Option<AssigneeRule>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub assignee_id: Option<i64>,
    pub active: Option<bool>,
}

/// `PATCH /inspection-plans/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    pub name: Option<String>,
    pub template_id: Option<i64>,
    pub target_mode: Option<TargetMode>,
    pub target_ids: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    pub schedule: Option<String>,
    pub due_minutes: Option<i64>,
    pub assignee_rule: Option<AssigneeRule>,
    #[serde(default, deserialize_with = "de::patch")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    pub active: Option<bool>,
}

const PLAN_LABELS: &[(&str, &str)] = &[
    ("name", "计划名称"),
    ("template_id", "巡检模板"),
    ("target_mode", "巡检对象范围"),
    ("target_ids", "巡检对象"),
    ("category", "设备类别"),
    ("schedule", "执行周期"),
    ("due_minutes", "完成时限"),
    ("assignee_rule", "执行人规则"),
    ("assignee_id", "执行人"),
    ("active", "是否启用"),
];

impl Labels for PlanCreate {
    const LABELS: &'static [(&'static str, &'static str)] = PLAN_LABELS;
}

impl Labels for PlanPatch {
    const LABELS: &'static [(&'static str, &'static str)] = PLAN_LABELS;
}

/// `POST /inspection-tasks/{id}/results`: readings keyed by item key, saved as given
/// (`null` clears one); other items keep theirs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsInput {
    #[schema(value_type = Object)]
    pub readings: Map<String, Value>,
}

impl Labels for ResultsInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[("readings", "读数")];
}

/// `POST /inspection-tasks/{id}/actions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskActionInput {
    pub action: TaskAction,
    /// Required to return a task; optional otherwise.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for TaskActionInput {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("action", "操作"), ("comment", "审核意见")];
}
