//! Inspection templates (巡检模板): what is inspected (`target_type`, and for assets an
//! optional category) and the ordered items an inspector fills in. An item is a check
//! (normal / abnormal / not applicable), a number with its unit and normal range, a text,
//! a choice with the choices that count as abnormal, or a photo. A number item may be
//! read per instance (`count`: the 68 cells of a battery string), with a limit on the
//! spread between the highest and the lowest reading.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::field_error::FieldError;
use crate::domain::input::Labels;
use crate::domain::inventory::ASSET_CATEGORIES;
use crate::domain::text::check_field;

/// What a template inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// The machine room as a whole (环境、供配电、UPS、空调、消防).
    Site,
    /// A device from the inventory.
    Asset,
    /// One of the government systems.
    System,
}

impl TargetType {
    pub const ALL: [TargetType; 3] = [TargetType::Site, TargetType::Asset, TargetType::System];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Site => "site",
            TargetType::Asset => "asset",
            TargetType::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TargetType::Site => "机房",
            TargetType::Asset => "设备",
            TargetType::System => "应用系统",
        }
    }
}

/// The kind of reading an item takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// 正常 / 异常 / 不涉及.
    Check,
    /// A measured value with a unit and a normal range.
    Number,
    /// Free text (a version, a note).
    Text,
    /// One of `choices`; those in `abnormal_choices` are findings.
    Choice,
    /// A photo as evidence (an uploaded attachment).
    Photo,
}

impl ItemKind {
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Check => "检查",
            ItemKind::Number => "读数",
            ItemKind::Text => "文本",
            ItemKind::Choice => "选项",
            ItemKind::Photo => "照片",
        }
    }
}

/// One item of a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Stable key within the template (`ENV-01`, `ups_load`): letters, digits, `-` and `_`.
    pub key: String,
    pub label: String,
    pub kind: ItemKind,
    /// The subsystem the item belongs to (环境, 供配电, UPS …), for grouping in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<String>,
    /// How it is checked (目测, 读数, 测量, 测试 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The normal range or standard as the report shows it, when more than `min`/`max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Lowest normal value (number items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest normal value (number items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Number items read per instance: how many readings (e.g. 68 battery cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Per-instance number items: the largest normal difference between the highest and
    /// the lowest reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spread: Option<f64>,
    /// Choice items: the choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Choice items: the choices that are findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abnormal_choices: Vec<String>,
    /// Whether a task cannot be submitted without this reading.
    #[serde(default)]
    pub required: bool,
    /// A monitor whose latest result fills the item in as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_id: Option<i64>,
}

impl Item {
    /// A required item of a kind, with nothing else set.
    pub fn new(key: &str, label: &str, kind: ItemKind) -> Self {
        Item {
            key: key.into(),
            label: label.into(),
            kind,
            subsystem: None,
            method: None,
            standard: None,
            unit: None,
            min: None,
            max: None,
            count: None,
            max_spread: None,
            choices: Vec::new(),
            abnormal_choices: Vec::new(),
            required: true,
            monitor_id: None,
        }
    }

    /// The normal range in words: `18–27 ℃`, `≤ 70 %`, or the item's own standard.
    pub fn range_text(&self) -> Option<String> {
        if let Some(s) = &self.standard {
            return Some(s.clone());
        }
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        match (self.min, self.max) {
            (Some(a), Some(b)) => Some(format!("{}–{}{unit}", num(a), num(b))),
            (Some(a), None) => Some(format!("≥ {}{unit}", num(a))),
            (None, Some(b)) => Some(format!("≤ {}{unit}", num(b))),
            (None, None) => None,
        }
    }
}

/// A number as a person writes it: no trailing `.0`.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A template as created or replaced (`POST`/`PUT /inspection-templates`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub target_type: TargetType,
    /// For asset templates: the asset category it applies to (交换机, 服务器 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub items: Vec<Item>,
}

impl Labels for Template {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("name", "模板名称"),
        ("target_type", "巡检对象类型"),
        ("category", "设备类别"),
        ("description", "说明"),
        ("items", "检查项"),
        ("key", "检查项编号"),
        ("label", "检查项名称"),
        ("kind", "检查项类型"),
        ("subsystem", "子系统"),
        ("method", "检查方法"),
        ("standard", "标准值"),
        ("unit", "单位"),
        ("min", "下限"),
        ("max", "上限"),
        ("count", "读数个数"),
        ("max_spread", "最大差值"),
        ("choices", "选项"),
        ("abnormal_choices", "异常选项"),
        ("required", "是否必填"),
        ("monitor_id", "关联监控"),
    ];
}

/// The most items a template may hold, and the most instances an item may be read for.
pub const MAX_ITEMS: usize = 300;
pub const MAX_COUNT: u32 = 500;
const MAX_CHOICES: usize = 20;

/// Checks a template: every problem at once, each on its field (`items[3].max`).
pub fn validate(t: &Template) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let text = |field: String, label: &str, v: &str, max: usize, errs: &mut Vec<FieldError>| {
        if let Err(m) = check_field(label, v, false, max) {
            errs.push(FieldError::new(field, m));
        }
    };
    if t.name.trim().is_empty() {
        errs.push(FieldError::new("name", "请填写模板名称"));
    }
    text("name".into(), "模板名称", &t.name, 100, &mut errs);
    if let Some(c) = &t.category {
        if !ASSET_CATEGORIES.iter().any(|k| k.code == c) {
            let opts: Vec<String> = ASSET_CATEGORIES
                .iter()
                .map(|k| format!("{}（{}）", k.label, k.code))
                .collect();
            errs.push(FieldError::new(
                "category",
                format!("设备类别“{c}”无效，可选：{}", opts.join("、")),
            ));
        }
        if t.target_type != TargetType::Asset {
            errs.push(FieldError::new(
                "category",
                "只有设备巡检模板可以指定设备类别，请删除该字段或把对象类型改为设备",
            ));
        }
    }
    if let Some(d) = &t.description
        && let Err(m) = check_field("说明", d, true, 2_000)
    {
        errs.push(FieldError::new("description", m));
    }
    if t.items.is_empty() {
        errs.push(FieldError::new("items", "请至少添加一个检查项"));
    }
    if t.items.len() > MAX_ITEMS {
        errs.push(FieldError::new(
            "items",
            format!("检查项不能超过 {MAX_ITEMS} 个，请拆分为多个模板"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, it) in t.items.iter().enumerate().take(MAX_ITEMS) {
        let f = |k: &str| format!("items[{i}].{k}");
        let n = i + 1;
        if it.key.is_empty()
            || it.key.chars().count() > 40
            || !it
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errs.push(FieldError::new(
                f("key"),
                format!("第 {n} 项的编号应为 1–40 个字母、数字、“-”或“_”，如 ENV-01"),
            ));
        } else if !seen.insert(it.key.to_ascii_lowercase()) {
            errs.push(FieldError::new(
                f("key"),
                format!("第 {n} 项的编号“{}”与前面的检查项重复", it.key),
            ));
        }
        if it.label.trim().is_empty() {
            errs.push(FieldError::new(
                f("label"),
                format!("请填写第 {n} 项的名称"),
            ));
        }
        text(f("label"), "检查项名称", &it.label, 100, &mut errs);
        for (k, label, v) in [
            ("subsystem", "子系统", &it.subsystem),
            ("method", "检查方法", &it.method),
            ("unit", "单位", &it.unit),
        ] {
            if let Some(v) = v {
                text(f(k), label, v, 50, &mut errs);
            }
        }
        if let Some(s) = &it.standard {
            text(f("standard"), "标准值", s, 200, &mut errs);
        }
        let is_number = it.kind == ItemKind::Number;
        for (k, v) in [
            ("min", it.min),
            ("max", it.max),
            ("max_spread", it.max_spread),
        ] {
            match v {
                Some(_) if !is_number => {
                    errs.push(FieldError::new(
                        f(k),
                        format!("第 {n} 项不是读数项，不能设置{}", Template::label(k)),
                    ));
                }
                Some(x) if !x.is_finite() => {
                    errs.push(FieldError::new(
                        f(k),
                        format!("第 {n} 项的{}应为有限数值", Template::label(k)),
                    ));
                }
                _ => {}
            }
        }
        if let (Some(a), Some(b)) = (it.min, it.max)
            && a > b
        {
            errs.push(FieldError::new(
                f("max"),
                format!("第 {n} 项的上限 {} 小于下限 {}", num(b), num(a)),
            ));
        }
        if it.max_spread.is_some_and(|s| s < 0.0) {
            errs.push(FieldError::new(
                f("max_spread"),
                format!("第 {n} 项的最大差值不能为负数"),
            ));
        }
        match it.count {
            Some(_) if !is_number => {
                errs.push(FieldError::new(
                    f("count"),
                    format!("第 {n} 项不是读数项，不能逐个读数"),
                ));
            }
            Some(c) if c == 0 || c > MAX_COUNT => {
                errs.push(FieldError::new(
                    f("count"),
                    format!("第 {n} 项的读数个数应为 1–{MAX_COUNT}"),
                ));
            }
            _ => {}
        }
        if it.max_spread.is_some() && it.count.is_none() && is_number {
            errs.push(FieldError::new(
                f("max_spread"),
                format!("第 {n} 项只有逐个读数（设置读数个数）时才能限制最大差值"),
            ));
        }
        if it.kind == ItemKind::Choice {
            if it.choices.len() < 2 || it.choices.len() > MAX_CHOICES {
                errs.push(FieldError::new(
                    f("choices"),
                    format!("第 {n} 项应有 2–{MAX_CHOICES} 个选项"),
                ));
            }
            let mut uniq = std::collections::HashSet::new();
            for c in &it.choices {
                if c.trim().is_empty() || !uniq.insert(c.as_str()) {
                    errs.push(FieldError::new(
                        f("choices"),
                        format!("第 {n} 项的选项不能为空或重复"),
                    ));
                    break;
                }
                text(f("choices"), "选项", c, 50, &mut errs);
            }
            if let Some(bad) = it.abnormal_choices.iter().find(|a| !it.choices.contains(a)) {
                errs.push(FieldError::new(
                    f("abnormal_choices"),
                    format!("第 {n} 项的异常选项“{bad}”不在选项中"),
                ));
            }
        } else if !it.choices.is_empty() || !it.abnormal_choices.is_empty() {
            errs.push(FieldError::new(
                f("choices"),
                format!("第 {n} 项不是选项类，不能设置选项"),
            ));
        }
        if it.monitor_id.is_some_and(|m| m <= 0) {
            errs.push(FieldError::new(
                f("monitor_id"),
                format!("第 {n} 项的关联监控编号无效"),
            ));
        }
        if it.monitor_id.is_some() && matches!(it.kind, ItemKind::Photo | ItemKind::Text) {
            errs.push(FieldError::new(
                f("monitor_id"),
                format!("第 {n} 项是{}项，不能由监控结果填写", it.kind.label()),
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::decode;
    use serde_json::json;

    fn number(key: &str, min: Option<f64>, max: Option<f64>) -> Item {
        Item {
            unit: Some("℃".into()),
            min,
            max,
            ..Item::new(key, "进风温度", ItemKind::Number)
        }
    }

    fn template(items: Vec<Item>) -> Template {
        Template {
            name: "机房日常巡检".into(),
            target_type: TargetType::Site,
            category: None,
            description: None,
            items,
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_sound_template_passes_and_decodes_from_json() {
        let t: Template = decode(json!({
            "name": "机房日常巡检", "target_type": "site",
            "items": [
                {"key": "ENV-01", "label": "冷通道进风温度", "kind": "number", "unit": "℃",
                 "min": 18, "max": 27, "required": true},
                {"key": "BAT-02", "label": "单体浮充电压", "kind": "number", "unit": "V",
                 "min": 13.5, "max": 13.8, "count": 68, "max_spread": 0.4},
                {"key": "FIRE-01", "label": "控制器工作方式", "kind": "choice",
                 "choices": ["自动", "手动", "故障"], "abnormal_choices": ["故障"]},
                {"key": "PHOTO", "label": "机房全景", "kind": "photo"}
            ]
        }))
        .unwrap();
        assert!(validate(&t).is_empty(), "{:?}", validate(&t));
        assert_eq!(t.items[0].range_text().unwrap(), "18–27 ℃");
        assert_eq!(t.items[1].range_text().unwrap(), "13.5–13.8 V");
        assert!(!t.items[2].required, "required defaults to false in JSON");
    }

    #[test]
    fn every_problem_is_reported_on_its_item_field() {
        let mut bad_choice = Item::new("C", "方式", ItemKind::Choice);
        bad_choice.choices = vec!["自动".into()];
        bad_choice.abnormal_choices = vec!["故障".into()];
        let mut photo_with_monitor = Item::new("P", "照片", ItemKind::Photo);
        photo_with_monitor.monitor_id = Some(3);
        let mut text_with_range = Item::new("T", "版本", ItemKind::Text);
        text_with_range.max = Some(1.0);
        let t = Template {
            category: Some("network".into()),
            ..template(vec![
                number("ENV 01", None, None),
                number("A", Some(30.0), Some(20.0)),
                number("a", None, None),
                bad_choice,
                photo_with_monitor,
                text_with_range,
            ])
        };
        let errs = validate(&t);
        assert_eq!(
            fields(&errs),
            vec![
                "category",
                "items[0].key",
                "items[1].max",
                "items[2].key",
                "items[3].choices",
                "items[3].abnormal_choices",
                "items[4].monitor_id",
                "items[5].max",
            ],
            "{errs:?}"
        );
        assert!(errs[2].message.contains("上限 20 小于下限 30"), "{errs:?}");
        assert!(errs[3].message.contains("重复"), "{errs:?}");
    }

    #[test]
    fn an_empty_or_oversized_template_is_refused() {
        let errs = validate(&Template {
            name: " ".into(),
            ..template(vec![])
        });
        assert_eq!(fields(&errs), vec!["name", "items"]);
        let many: Vec<Item> = (0..=MAX_ITEMS)
            .map(|i| Item::new(&format!("K{i}"), "项", ItemKind::Check))
            .collect();
        assert_eq!(fields(&validate(&template(many))), vec!["items"]);
        let mut cells = number("BAT", Some(13.5), Some(13.8));
        cells.count = Some(MAX_COUNT + 1);
        assert_eq!(
            fields(&validate(&template(vec![cells]))),
            vec!["items[0].count"]
        );
    }

    #[test]
    fn numbers_are_written_as_people_write_them() {
        assert_eq!(num(27.0), "27");
        assert_eq!(num(13.5), "13.5");
        assert_eq!(num(0.125), "0.125");
        assert_eq!(num(-2.0), "-2");
    }
}
