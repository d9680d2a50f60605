//! Marking a calendar day as working day or holiday.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::nullable;
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};

/// `PUT /calendars/{id}/days/{date}`: `working` true (working day), false (holiday) or
/// null (back to the weekday rule).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayInput {
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>, required = true)]
    pub working: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub reason: Option<String>,
}

impl Labels for CalendarDayInput {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("working", "上班（true）、放假（false）或恢复按星期（null）"),
        ("reason", "原因"),
    ];
}

impl CalendarDayInput {
    /// The day (`YYYY-MM-DD`) and the reason, required (up to 100 characters) unless the
    /// day goes back to the weekday rule.
    pub fn check(&self, date: &str) -> Result<(NaiveDate, String), Vec<FieldError>> {
        let mut errs = Vec::new();
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| errs.push(FieldError::new("date", "日期应为 YYYY-MM-DD")))
            .ok();
        let reason = self
            .reason
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string();
        if self.working.is_some() && (reason.is_empty() || reason.chars().count() > 100) {
            errs.push(FieldError::new(
                "reason",
                "请填写原因（不超过 100 个字符），如“国庆节”或“国庆节调休上班”",
            ));
        }
        match day {
            Some(d) if errs.is_empty() => Ok((d, reason)),
            _ => Err(errs),
        }
    }
}
