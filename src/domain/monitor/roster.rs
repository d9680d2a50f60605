//! Duty roster rules without I/O: the Beijing week a date falls in, which shifts a week's
//! copy creates (and which it skips because they are already there), and when two shifts
//! may trade their people.

use chrono::{Datelike, NaiveDate};

use crate::domain::FieldError;

const DAY: i64 = 86_400_000;
const EIGHT_HOURS: i64 = 8 * 3_600_000;

/// A shift as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub user_id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub role: String,
    pub note: Option<String>,
}

/// The Monday of the week `date` falls in.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// Epoch milliseconds of a Beijing date's midnight.
pub fn beijing_midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis() - EIGHT_HOURS)
        .unwrap_or_default()
}

/// The Beijing date of epoch milliseconds.
pub fn beijing_date(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + EIGHT_HOURS)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// Parses a `YYYY-MM-DD` week or day field.
pub fn parse_day(field: &str, v: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("“{v}”不是日期，请写成 2025-03-03 的形式")))
}

/// The copies of `source` moved `weeks` weeks later, without those `existing` already
/// holds (same person, times and role). Answers the copies and how many were skipped.
pub fn copy_plan(source: &[Slot], existing: &[Slot], weeks: i64) -> (Vec<Slot>, usize) {
    let offset = weeks * 7 * DAY;
    let mut out: Vec<Slot> = Vec::new();
    let mut skipped = 0;
    for s in source {
        let c = Slot {
            starts_at: s.starts_at + offset,
            ends_at: s.ends_at + offset,
            ..s.clone()
        };
        let same = |e: &Slot| {
            e.user_id == c.user_id
                && e.starts_at == c.starts_at
                && e.ends_at == c.ends_at
                && e.role == c.role
        };
        if existing.iter().any(same) || out.iter().any(same) {
            skipped += 1;
        } else {
            out.push(c);
        }
    }
    (out, skipped)
}

/// Whether two shifts may trade their people: two different shifts held by two
/// different people.
pub fn check_swap(first: (i64, &Slot), second: (i64, &Slot)) -> Result<(), Vec<FieldError>> {
    if first.0 == second.0 {
        return Err(vec![FieldError::new(
            "second",
            "请选择另一个班次：不能与自己互换",
        )]);
    }
    if first.1.user_id == second.1.user_id {
        return Err(vec![FieldError::new(
            "second",
            "两个班次是同一人值班，互换没有变化：请选择其他人的班次",
        )]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(user_id: i64, starts_at: i64, hours: i64) -> Slot {
        Slot {
            user_id,
            starts_at,
            ends_at: starts_at + hours * 3_600_000,
            role: "primary".into(),
            note: None,
        }
    }

    #[test]
    fn a_week_runs_from_monday_in_beijing() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(); // a Thursday
        assert_eq!(monday_of(d), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let m = beijing_midnight(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(
            beijing_date(m),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(
            beijing_date(m - 1),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
        assert!(parse_day("week", "2026-13-01").is_err());
    }

    #[test]
    fn copying_a_week_moves_shifts_seven_days_and_skips_what_is_already_there() {
        let a = slot(1, 0, 12);
        let b = slot(2, 12 * 3_600_000, 12);
        let already = Slot {
            starts_at: b.starts_at + 7 * DAY,
            ends_at: b.ends_at + 7 * DAY,
            ..b.clone()
        };
        let (copies, skipped) = copy_plan(&[a.clone(), b], &[already], 1);
        assert_eq!(skipped, 1);
        assert_eq!(
            copies,
            vec![Slot {
                starts_at: 7 * DAY,
                ends_at: 7 * DAY + 12 * 3_600_000,
                ..a
            }]
        );
    }

    #[test]
    fn a_shift_cannot_be_swapped_with_itself_or_with_the_same_persons_shift() {
        let a = slot(1, 0, 12);
        let b = slot(1, DAY, 12);
        let c = slot(2, DAY, 12);
        assert!(check_swap((1, &a), (1, &a)).is_err());
        assert!(
            check_swap((1, &a), (2, &b)).unwrap_err()[0]
                .message
                .contains("同一人")
        );
        assert!(check_swap((1, &a), (3, &c)).is_ok());
    }
}
