//! Inspection plans: which targets a template is applied to, on which schedule (cron in
//! Beijing time), how long each round has, and who does it. Generating a round is one task
//! per target; the rounds a schedule yields in a window are listed here.

use chrono::{DateTime, Duration, Utc};

use super::template::TargetType;
use crate::domain::field_error::FieldError;
use crate::domain::monitor::cron::Cron;
use crate::domain::text::check_field;

/// The checks of a plan that need only the plan and its template's target type.
#[allow(clippy::too_many_arguments)]
pub fn validate(
    name: &str,
    target_type: TargetType,
    mode: &str,
    target_ids: &[i64],
    category: Option<&str>,
    template_category: Option<&str>,
    schedule: &str,
    due_minutes: i64,
    rule: &str,
    assignee_id: Option<i64>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if name.trim().is_empty() {
        errs.push(FieldError::new("name", "请填写计划名称"));
    } else if let Err(m) = check_field("计划名称", name, false, 100) {
        errs.push(FieldError::new("name", m));
    }
    match mode {
        "listed" => {
            if target_ids.is_empty() {
                errs.push(FieldError::new(
                    "target_ids",
                    format!("请至少选择一个{}", target_type.label()),
                ));
            }
            if target_ids.len() > 2_000 {
                errs.push(FieldError::new("target_ids", "巡检对象不能超过 2000 个"));
            }
            if target_ids.iter().any(|i| *i <= 0) {
                errs.push(FieldError::new("target_ids", "巡检对象编号应为正整数"));
            }
        }
        "category" => {
            if target_type != TargetType::Asset {
                errs.push(FieldError::new(
                    "target_mode",
                    "按设备类别选择对象只适用于设备巡检模板",
                ));
            } else if category.or(template_category).is_none() {
                errs.push(FieldError::new(
                    "category",
                    "请填写设备类别（模板未指定类别）",
                ));
            }
        }
        _ => {}
    }
    if mode != "listed" && !target_ids.is_empty() {
        errs.push(FieldError::new(
            "target_ids",
            "只有“指定对象”范围才需要列出对象，请删除该字段或把范围改为 listed",
        ));
    }
    if let Err(m) = Cron::parse(schedule) {
        errs.push(FieldError::new("schedule", m));
    }
    if !(10..=31 * 24 * 60).contains(&due_minutes) {
        errs.push(FieldError::new(
            "due_minutes",
            "完成时限应为 10 分钟到 31 天（44640 分钟）",
        ));
    }
    if rule == "user" && assignee_id.is_none() {
        errs.push(FieldError::new(
            "assignee_id",
            "执行人规则为指定人员时请选择执行人",
        ));
    }
    errs
}

/// The most rounds one generation pass makes for one plan (a minutely schedule over a day
/// would otherwise make 1,440).
pub const MAX_ROUNDS_PER_PASS: usize = 200;

/// The start times a schedule yields in `(after, until]`, at most `MAX_ROUNDS_PER_PASS`.
pub fn rounds(schedule: &str, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let Ok(cron) = Cron::parse(schedule) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut t = after;
    while let Some(next) = cron.next_after(t) {
        if next > until || out.len() >= MAX_ROUNDS_PER_PASS {
            break;
        }
        out.push(next);
        t = next;
    }
    out
}

/// When a round's tasks are due.
pub fn due_at(round_at: DateTime<Utc>, due_minutes: i64) -> DateTime<Utc> {
    round_at + Duration::minutes(due_minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_daily_schedule_yields_one_round_a_day_in_beijing_time() {
        // 2025-10-15 00:00 Beijing = 2025-10-14 16:00 UTC.
        let after = Utc.with_ymd_and_hms(2025, 10, 14, 16, 0, 0).unwrap();
        let r = rounds("0 9 * * *", after, after + Duration::days(3));
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], Utc.with_ymd_and_hms(2025, 10, 15, 1, 0, 0).unwrap());
        assert_eq!(
            due_at(r[0], 480),
            Utc.with_ymd_and_hms(2025, 10, 15, 9, 0, 0).unwrap()
        );
        let many = rounds("* * * * *", after, after + Duration::days(1));
        assert_eq!(many.len(), MAX_ROUNDS_PER_PASS);
        assert!(rounds("bogus", after, after + Duration::days(1)).is_empty());
    }

    #[test]
    fn plan_problems_name_their_fields() {
        let errs = validate(
            "",
            TargetType::System,
            "category",
            &[3],
            None,
            None,
            "61 * * * *",
            5,
            "user",
            None,
        );
        let f: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            f,
            vec![
                "name",
                "target_mode",
                "target_ids",
                "schedule",
                "due_minutes",
                "assignee_id"
            ]
        );
        let ok = validate(
            "机房日检",
            TargetType::Site,
            "all",
            &[],
            None,
            None,
            "0 9 * * *",
            480,
            "assigned",
            None,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let cat = validate(
            "网络",
            TargetType::Asset,
            "category",
            &[],
            None,
            Some("network"),
            "0 9 * * 1",
            480,
            "assigned",
            None,
        );
        assert!(cat.is_empty(), "{cat:?}");
    }
}
