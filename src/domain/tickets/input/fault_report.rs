//! The fault report a resolved incident carries, and its checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::FieldError;
use crate::domain::input::de;
use crate::domain::tickets::FAULT_REPORT_FIELDS;

/// The fault report a resolved incident carries: every field, times in RFC 3339.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultReport {
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub symptom: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub impact_scope: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true, format = DateTime)]
    pub started_at: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true, format = DateTime)]
    pub recovered_at: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub cause: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub handling: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(required = true)]
    pub measures: Option<String>,
}

impl FaultReport {
    /// The field named `k` (one of `FAULT_REPORT_FIELDS`).
    pub fn get(&self, k: &str) -> Option<&str> {
        match k {
            "symptom" => self.symptom.as_deref(),
            "impact_scope" => self.impact_scope.as_deref(),
            "started_at" => self.started_at.as_deref(),
            "recovered_at" => self.recovered_at.as_deref(),
            "cause" => self.cause.as_deref(),
            "handling" => self.handling.as_deref(),
            "measures" => self.measures.as_deref(),
            _ => None,
        }
    }
}

/// Validates a fault report: every field present; times in RFC 3339 and in order. Returns
/// it as stored (a JSON object of trimmed texts).
pub fn validate_fault_report(
    r: Option<&FaultReport>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(r) = r else {
        return Err(vec![FieldError::new(
            "fault_report",
            "解决故障须填写故障报告：故障现象、影响范围、故障开始时间、恢复时间、原因分析、处理过程、整改措施",
        )]);
    };
    let mut errs = Vec::new();
    let mut out = Map::new();
    for (k, label) in FAULT_REPORT_FIELDS {
        match r.get(k).map(str::trim) {
            Some(s) if !s.is_empty() => {
                if k.ends_with("_at") && DateTime::parse_from_rfc3339(s).is_err() {
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
    if errs.is_empty() {
        let t = |k: &str| {
            out.get(k)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
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

/// How far a reported time may lie after the server's clock: the reporter's clock may run
/// ahead (the same allowance as a ticket's `reported_at`).
const CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// A fault report's times against the moment the ticket is resolved: the fault cannot
/// have started or been recovered after it is reported resolved (beyond clock skew).
pub fn check_report_times(fr: &Map<String, Value>, resolved_at_ms: i64) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, label) in [("started_at", "故障开始时间"), ("recovered_at", "恢复时间")] {
        let t = fr
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        if let Some(t) = t
            && t.timestamp_millis() > resolved_at_ms + CLOCK_SKEW_MS
        {
            errs.push(FieldError::new(
                format!("fault_report.{k}"),
                format!(
                    "{label}不能晚于解决时间（{}），请填写实际发生的时间",
                    DateTime::<Utc>::from_timestamp_millis(resolved_at_ms)
                        .and_then(|t| {
                            chrono::FixedOffset::east_opt(8 * 3600).map(|bj| t.with_timezone(&bj))
                        })
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                ),
            ));
        }
    }
    errs
}
