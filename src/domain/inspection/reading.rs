//! Readings (实测值) and their verdicts (判定: 正常 / 异常 / 不涉及).
//!
//! A task's readings are a JSON object keyed by item key. The value a key holds depends on
//! the item's kind:
//! - check: `"normal"`, `"abnormal"` or `"na"`;
//! - number: a number, or for a per-instance item (`count`) a list of numbers (`null`
//!   for a cell not read yet);
//! - text: a string;
//! - choice: one of the item's choices;
//! - photo: an attachment id, or a list of them.
//!
//! An item bound to a monitor may instead hold the monitor's evidence,
//! `{"value": .., "source": "monitor", "monitor_id": .., "at": ".."}` (`monitor_reading`),
//! written only by the service (a hand reading never takes this shape) and replaced by a
//! hand reading whenever the inspector enters one.
//!
//! Any item but a photo may also be `"na"` (不涉及). Readings are saved item by item while
//! the inspector works (`check_shape`), and the whole set is checked on submit
//! (`check_complete`); `assess` gives the verdict, with the reason for a finding.

use serde::Serialize;
use serde_json::{Map, Value};

use super::template::{Item, ItemKind, num};
use crate::domain::field_error::FieldError;
use crate::domain::text::check_field;

/// A reading's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Normal,
    Abnormal,
    NotApplicable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Normal => "正常",
            Verdict::Abnormal => "异常",
            Verdict::NotApplicable => "不涉及",
        }
    }
}

/// The verdict of one reading, with what makes it abnormal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Assessment {
    fn normal() -> Self {
        Assessment {
            verdict: Verdict::Normal,
            detail: None,
        }
    }

    fn abnormal(detail: String) -> Self {
        Assessment {
            verdict: Verdict::Abnormal,
            detail: Some(detail),
        }
    }
}

/// A text reading's longest length.
pub const MAX_TEXT: usize = 2_000;

fn is_na(v: &Value) -> bool {
    v.as_str() == Some("na")
}

fn unit(it: &Item) -> String {
    it.unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default()
}

/// Whether a value has the shape the item takes; `null` (not read yet) always has.
/// The message says what to enter.
pub fn check_shape(it: &Item, v: &Value) -> Result<(), String> {
    if v.is_null() || (is_na(v) && it.kind != ItemKind::Photo) {
        return Ok(());
    }
    let label = &it.label;
    match it.kind {
        ItemKind::Check => match v.as_str() {
            Some("normal" | "abnormal") => Ok(()),
            _ => Err(format!(
                "“{label}”应填 normal（正常）、abnormal（异常）或 na（不涉及）"
            )),
        },
        ItemKind::Number => match (it.count, v) {
            (None, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => Ok(()),
            (None, _) => Err(format!("“{label}”应填数值")),
            (Some(c), Value::Array(a)) => {
                if a.len() != c as usize {
                    return Err(format!("“{label}”应有 {c} 个读数，收到 {} 个", a.len()));
                }
                match a
                    .iter()
                    .position(|x| !(x.is_null() || x.as_f64().is_some_and(f64::is_finite)))
                {
                    Some(i) => Err(format!("“{label}”第 {} 个读数应为数值", i + 1)),
                    None => Ok(()),
                }
            }
            (Some(c), _) => Err(format!("“{label}”应为 {c} 个读数的列表")),
        },
        ItemKind::Text => match v.as_str() {
            Some(s) => check_field(label, s, true, MAX_TEXT),
            None => Err(format!("“{label}”应填文本")),
        },
        ItemKind::Choice => match v.as_str() {
            Some(s) if it.choices.iter().any(|c| c == s) => Ok(()),
            _ => Err(format!("“{label}”应为以下之一：{}", it.choices.join("、"))),
        },
        ItemKind::Photo => {
            let ok = |x: &Value| x.as_i64().is_some_and(|i| i > 0);
            match v {
                Value::Array(a) if !a.is_empty() && a.len() <= 10 && a.iter().all(ok) => Ok(()),
                x if ok(x) => Ok(()),
                _ => Err(format!("“{label}”应为上传后的照片编号（最多 10 张）")),
            }
        }
    }
}

/// The value a reading holds: the value itself, or the value of a monitor's evidence.
pub fn value_of(v: &Value) -> &Value {
    static NULL: Value = Value::Null;
    match v {
        Value::Object(o) if from_monitor(v) => o.get("value").unwrap_or(&NULL),
        _ => v,
    }
}

/// Whether a reading was filled in from a monitor (not entered by hand).
pub fn from_monitor(v: &Value) -> bool {
    matches!(v, Value::Object(o) if o.get("source").and_then(Value::as_str) == Some("monitor"))
}

/// The photo ids a photo reading holds.
pub fn photo_ids(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
        x => x.as_i64().into_iter().collect(),
    }
}

/// A monitor's latest result, as far as an inspection item cares.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorResult {
    pub monitor_id: i64,
    /// When the result was taken (RFC 3339).
    pub at: String,
    /// `up`, `down`, `maintenance` or `unknown`.
    pub class: String,
    /// What the probe measured (response time, ms).
    pub latency_ms: Option<f64>,
}

/// The evidence a monitor result gives an item: a number item takes the measured value
/// (one decimal), a check item `up` as normal and `down` as abnormal. Anything else (a
/// per-instance or choice item, a result in maintenance or unknown, no measurement) gives
/// nothing, and the item stays for the inspector.
pub fn monitor_reading(it: &Item, r: &MonitorResult) -> Option<Value> {
    let value = match (it.kind, it.count) {
        (ItemKind::Number, None) => {
            let x = r.latency_ms.filter(|x| x.is_finite())?;
            serde_json::json!((x * 10.0).round() / 10.0)
        }
        (ItemKind::Check, _) => match r.class.as_str() {
            "up" => Value::from("normal"),
            "down" => Value::from("abnormal"),
            _ => return None,
        },
        _ => return None,
    };
    Some(serde_json::json!({
        "value": value, "source": "monitor", "monitor_id": r.monitor_id, "at": r.at,
    }))
}

/// Fills in the items bound to a monitor that hold no reading by hand with their monitor's
/// latest result (`latest` by monitor id); a monitor without a result leaves the item as it
/// is. Answers whether any reading changed.
pub fn fill_from_monitors(
    items: &[Item],
    readings: &mut Map<String, Value>,
    latest: &std::collections::HashMap<i64, MonitorResult>,
) -> bool {
    let mut changed = false;
    for it in items {
        let Some(mid) = it.monitor_id else { continue };
        if readings.get(&it.key).is_some_and(|v| !from_monitor(v)) {
            continue;
        }
        if let Some(v) = latest.get(&mid).and_then(|r| monitor_reading(it, r))
            && readings.get(&it.key) != Some(&v)
        {
            readings.insert(it.key.clone(), v);
            changed = true;
        }
    }
    changed
}

/// Whether a value holds a complete reading: per-instance numbers need every instance.
fn is_complete(it: &Item, v: &Value) -> bool {
    match value_of(v) {
        Value::Null => false,
        Value::Array(a) if it.kind == ItemKind::Number => a.iter().all(|x| !x.is_null()),
        _ => true,
    }
}

/// The verdict of a reading of the right shape (`check_shape`); `None` when not read yet
/// (or, per instance, not every instance read).
pub fn assess(it: &Item, v: &Value) -> Option<Assessment> {
    let v = value_of(v);
    if !is_complete(it, v) {
        return None;
    }
    if is_na(v) && it.kind != ItemKind::Photo {
        return Some(Assessment {
            verdict: Verdict::NotApplicable,
            detail: None,
        });
    }
    let u = unit(it);
    Some(match it.kind {
        ItemKind::Check => {
            if v.as_str() == Some("abnormal") {
                Assessment::abnormal(format!("{}：检查异常", it.label))
            } else {
                Assessment::normal()
            }
        }
        ItemKind::Number => {
            let values: Vec<f64> = match v {
                Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                x => x.as_f64().into_iter().collect(),
            };
            let mut out = Vec::new();
            for (i, x) in values.iter().enumerate() {
                let who = if it.count.is_some() {
                    format!("第 {} 个读数 ", i + 1)
                } else {
                    String::new()
                };
                if let Some(min) = it.min
                    && *x < min
                {
                    out.push(format!("{who}{}{u} 低于下限 {}{u}", num(*x), num(min)));
                }
                if let Some(max) = it.max
                    && *x > max
                {
                    out.push(format!("{who}{}{u} 高于上限 {}{u}", num(*x), num(max)));
                }
            }
            if let (Some(limit), Some(hi), Some(lo)) = (
                it.max_spread,
                values.iter().cloned().reduce(f64::max),
                values.iter().cloned().reduce(f64::min),
            ) && hi - lo > limit
            {
                out.push(format!(
                    "最高与最低相差 {}{u}，超过 {}{u}",
                    num(hi - lo),
                    num(limit)
                ));
            }
            if out.is_empty() {
                Assessment::normal()
            } else {
                Assessment::abnormal(format!("{}：{}", it.label, out.join("；")))
            }
        }
        ItemKind::Choice => {
            let s = v.as_str().unwrap_or_default();
            if it.abnormal_choices.iter().any(|c| c == s) {
                Assessment::abnormal(format!("{}：{s}", it.label))
            } else {
                Assessment::normal()
            }
        }
        ItemKind::Text | ItemKind::Photo => Assessment::normal(),
    })
}

/// Checks a partial save: every key names an item and every value has its shape.
/// Field names are `readings.<key>`.
pub fn check_save(items: &[Item], readings: &Map<String, Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in readings {
        let field = format!("readings.{k}");
        match items.iter().find(|it| &it.key == k) {
            None => errs.push(FieldError::new(
                field,
                format!("检查项“{k}”不在本任务的模板中，请删除"),
            )),
            Some(it) => {
                if let Err(m) = check_shape(it, v) {
                    errs.push(FieldError::new(field, m));
                }
            }
        }
    }
    errs
}

/// Checks a submission: every required item has a complete reading.
pub fn check_complete(items: &[Item], readings: &Map<String, Value>) -> Vec<FieldError> {
    items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.required)
        .filter(|(_, it)| !readings.get(&it.key).is_some_and(|v| is_complete(it, v)))
        .map(|(i, it)| {
            FieldError::new(
                format!("readings.{}", it.key),
                format!("第 {} 项“{}”为必填项，请填写后再提交", i + 1, it.label),
            )
        })
        .collect()
}

/// One abnormal reading of a submitted task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub item_key: String,
    pub label: String,
    pub detail: String,
}

/// The findings of a set of readings, in template order.
pub fn findings(items: &[Item], readings: &Map<String, Value>) -> Vec<Finding> {
    items
        .iter()
        .filter_map(|it| {
            let a = assess(it, readings.get(&it.key)?)?;
            (a.verdict == Verdict::Abnormal).then(|| Finding {
                item_key: it.key.clone(),
                label: it.label.clone(),
                detail: a.detail.unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp() -> Item {
        Item {
            unit: Some("℃".into()),
            min: Some(18.0),
            max: Some(27.0),
            ..Item::new("ENV-01", "进风温度", ItemKind::Number)
        }
    }

    fn cells() -> Item {
        Item {
            unit: Some("V".into()),
            min: Some(13.5),
            max: Some(13.8),
            count: Some(4),
            max_spread: Some(0.2),
            ..Item::new("BAT-02", "单体浮充电压", ItemKind::Number)
        }
    }

    fn choice() -> Item {
        Item {
            choices: vec!["自动".into(), "手动".into(), "故障".into()],
            abnormal_choices: vec!["故障".into()],
            ..Item::new("FIRE-01", "控制器工作方式", ItemKind::Choice)
        }
    }

    #[test]
    fn numbers_outside_the_range_are_findings_that_say_by_how_much() {
        let it = temp();
        assert_eq!(assess(&it, &json!(22.5)).unwrap().verdict, Verdict::Normal);
        assert_eq!(assess(&it, &json!(18)).unwrap().verdict, Verdict::Normal);
        let a = assess(&it, &json!(29.5)).unwrap();
        assert_eq!(a.verdict, Verdict::Abnormal);
        assert_eq!(a.detail.unwrap(), "进风温度：29.5 ℃ 高于上限 27 ℃");
        assert_eq!(
            assess(&it, &json!(17)).unwrap().detail.unwrap(),
            "进风温度：17 ℃ 低于下限 18 ℃"
        );
        assert_eq!(
            assess(&it, &json!("na")).unwrap().verdict,
            Verdict::NotApplicable
        );
        assert!(assess(&it, &Value::Null).is_none());
    }

    #[test]
    fn per_instance_readings_check_each_instance_and_the_spread() {
        let it = cells();
        assert!(check_shape(&it, &json!([13.6, null, 13.7, 13.6])).is_ok());
        assert!(
            assess(&it, &json!([13.6, null, 13.7, 13.6])).is_none(),
            "incomplete"
        );
        assert_eq!(
            assess(&it, &json!([13.6, 13.6, 13.7, 13.6]))
                .unwrap()
                .verdict,
            Verdict::Normal
        );
        let a = assess(&it, &json!([13.6, 13.2, 13.7, 13.6])).unwrap();
        assert_eq!(
            a.detail.unwrap(),
            "单体浮充电压：第 2 个读数 13.2 V 低于下限 13.5 V；最高与最低相差 0.5 V，超过 0.2 V"
        );
        assert_eq!(
            check_shape(&it, &json!([13.6, 13.6])).unwrap_err(),
            "“单体浮充电压”应有 4 个读数，收到 2 个"
        );
        assert!(check_shape(&it, &json!(13.6)).is_err());
        assert!(
            check_shape(&it, &json!([13.6, "x", 1, 1]))
                .unwrap_err()
                .contains("第 2 个")
        );
    }

    #[test]
    fn checks_choices_texts_and_photos_take_their_own_shapes() {
        let c = Item::new("C", "外观", ItemKind::Check);
        assert!(check_shape(&c, &json!("normal")).is_ok());
        assert!(check_shape(&c, &json!("ok")).is_err());
        assert_eq!(
            assess(&c, &json!("abnormal")).unwrap().verdict,
            Verdict::Abnormal
        );
        let ch = choice();
        assert!(check_shape(&ch, &json!("自动")).is_ok());
        assert!(
            check_shape(&ch, &json!("半自动"))
                .unwrap_err()
                .contains("自动、手动、故障")
        );
        assert_eq!(
            assess(&ch, &json!("故障")).unwrap().detail.unwrap(),
            "控制器工作方式：故障"
        );
        let p = Item::new("P", "照片", ItemKind::Photo);
        assert!(check_shape(&p, &json!(12)).is_ok());
        assert!(check_shape(&p, &json!([1, 2])).is_ok());
        assert!(
            check_shape(&p, &json!("na")).is_err(),
            "a photo is taken or missing"
        );
        assert!(check_shape(&p, &json!([])).is_err());
        let t = Item::new("T", "版本", ItemKind::Text);
        assert!(check_shape(&t, &json!("V200R019")).is_ok());
        assert!(check_shape(&t, &json!("a\u{0}b")).is_err());
        assert!(check_shape(&t, &json!("x".repeat(MAX_TEXT + 1))).is_err());
    }

    #[test]
    fn saves_name_unknown_items_and_submissions_name_missing_required_ones() {
        let mut optional = Item::new("NOTE", "备注", ItemKind::Text);
        optional.required = false;
        let items = vec![temp(), cells(), choice(), optional];
        let r = json!({"ENV-01": 21, "GHOST": 1, "FIRE-01": "半自动"});
        let errs = check_save(&items, r.as_object().unwrap());
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["readings.FIRE-01", "readings.GHOST"]);
        let r = json!({"ENV-01": 21, "BAT-02": [13.6, null, 13.6, 13.6]});
        let errs = check_complete(&items, r.as_object().unwrap());
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["readings.BAT-02", "readings.FIRE-01"]);
        assert_eq!(
            errs[1].message,
            "第 3 项“控制器工作方式”为必填项，请填写后再提交"
        );
    }

    #[test]
    fn findings_list_the_abnormal_readings_in_template_order() {
        let items = vec![temp(), cells(), choice()];
        let r = json!({"FIRE-01": "故障", "ENV-01": 31, "BAT-02": [13.6, 13.6, 13.6, 13.6]});
        let f = findings(&items, r.as_object().unwrap());
        let keys: Vec<_> = f.iter().map(|f| f.item_key.as_str()).collect();
        assert_eq!(keys, vec!["ENV-01", "FIRE-01"]);
    }

    fn result(class: &str, latency: Option<f64>) -> MonitorResult {
        MonitorResult {
            monitor_id: 7,
            at: "2025-10-15T08:00:00+08:00".into(),
            class: class.into(),
            latency_ms: latency,
        }
    }

    #[test]
    fn a_monitor_result_is_evidence_checked_like_a_hand_reading() {
        let mut lat = Item::new("NET-01", "核心交换机响应时间", ItemKind::Number);
        lat.unit = Some("ms".into());
        lat.max = Some(100.0);
        lat.monitor_id = Some(7);
        let v = monitor_reading(&lat, &result("up", Some(153.26))).unwrap();
        assert_eq!(v["value"], json!(153.3));
        assert_eq!(v["source"], "monitor");
        assert_eq!(v["monitor_id"], 7);
        assert!(from_monitor(&v));
        let a = assess(&lat, &v).unwrap();
        assert_eq!(a.verdict, Verdict::Abnormal);
        assert_eq!(
            a.detail.unwrap(),
            "核心交换机响应时间：153.3 ms 高于上限 100 ms"
        );
        assert!(monitor_reading(&lat, &result("down", None)).is_none());
        // A hand reading never takes the evidence shape.
        assert!(check_shape(&lat, &v).is_err());

        let mut up = Item::new("NET-02", "链路状态", ItemKind::Check);
        up.monitor_id = Some(7);
        let down = monitor_reading(&up, &result("down", None)).unwrap();
        assert_eq!(assess(&up, &down).unwrap().verdict, Verdict::Abnormal);
        let fine = monitor_reading(&up, &result("up", Some(1.0))).unwrap();
        assert_eq!(assess(&up, &fine).unwrap().verdict, Verdict::Normal);
        assert!(monitor_reading(&up, &result("maintenance", None)).is_none());
        assert!(monitor_reading(&cells(), &result("up", Some(1.0))).is_none());
    }

    #[test]
    fn monitors_fill_only_items_without_a_hand_reading() {
        let mut a = Item::new("A", "响应时间", ItemKind::Number);
        a.monitor_id = Some(7);
        let mut b = Item::new("B", "链路状态", ItemKind::Check);
        b.monitor_id = Some(7);
        let mut c = Item::new("C", "另一监控", ItemKind::Check);
        c.monitor_id = Some(8);
        let items = vec![a, b, c, temp()];
        let latest = std::collections::HashMap::from([(7, result("up", Some(12.0)))]);
        let mut r = json!({"B": "abnormal"}).as_object().unwrap().clone();
        assert!(fill_from_monitors(&items, &mut r, &latest));
        assert_eq!(value_of(&r["A"]), &json!(12.0));
        assert_eq!(r["B"], "abnormal", "a hand reading stays");
        assert!(!r.contains_key("C"), "no result: the item stays empty");
        assert!(!r.contains_key("ENV-01"));
        assert!(!fill_from_monitors(&items, &mut r, &latest), "nothing new");
        let newer = std::collections::HashMap::from([(7, result("up", Some(15.0)))]);
        assert!(fill_from_monitors(&items, &mut r, &newer));
        assert_eq!(
            value_of(&r["A"]),
            &json!(15.0),
            "evidence follows the monitor"
        );
        assert_eq!(photo_ids(&json!([3, 4])), vec![3, 4]);
        assert_eq!(photo_ids(&json!(5)), vec![5]);
    }
}
