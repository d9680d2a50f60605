//! Maintenance windows: recurrence, whether a window covers a monitor, and their API.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;

use super::input::MaintenanceInput;
use super::monitors::*;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::Optional;
use crate::store::audit::NewAuditEvent;
use crate::store::monitor::{MaintenanceRow, MonitorRow};

// ---- maintenance ---------------------------------------------------------------------

/// A recurring window: weekdays (1 = Monday … 7 = Sunday) and a daily span in Beijing
/// time, between `starts_at` and `ends_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub weekdays: Vec<u32>,
    pub start_min: u32,
    pub end_min: u32,
}

impl Recurrence {
    pub fn parse(v: &Value) -> Result<Recurrence, String> {
        let o = v.as_object().ok_or(
            "recurrence 应为对象，如 {\"weekdays\": [6], \"start\": \"22:00\", \"end\": \"23:59\"}",
        )?;
        for k in o.keys() {
            if !["weekdays", "start", "end"].contains(&k.as_str()) {
                return Err(format!(
                    "recurrence 不支持“{k}”，可用：weekdays、start、end"
                ));
            }
        }
        let weekdays: Vec<u32> = match o.get("weekdays") {
            None => (1..=7).collect(),
            Some(Value::Array(a)) => {
                let w: Vec<u32> = a
                    .iter()
                    .filter_map(Value::as_u64)
                    .map(|n| n as u32)
                    .collect();
                if w.len() != a.len() || w.iter().any(|d| !(1..=7).contains(d)) || w.is_empty() {
                    return Err("weekdays 应为 1（周一）到 7（周日）的数组".into());
                }
                w
            }
            Some(_) => return Err("weekdays 应为 1（周一）到 7（周日）的数组".into()),
        };
        let hm = |k: &str| -> Result<u32, String> {
            let s = o
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("请填写 {k}，如 \"22:00\""))?;
            let (h, m) = s.split_once(':').ok_or_else(|| format!("{k} 应为 HH:MM"))?;
            match (h.parse::<u32>(), m.parse::<u32>()) {
                (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
                (Ok(24), Ok(0)) => Ok(24 * 60),
                _ => Err(format!("{k} 应为 HH:MM")),
            }
        };
        let (start_min, end_min) = (hm("start")?, hm("end")?);
        if end_min <= start_min {
            return Err("end 应晚于 start（跨零点请分成两个窗口）".into());
        }
        Ok(Recurrence {
            weekdays,
            start_min,
            end_min,
        })
    }

    fn covers(&self, at: DateTime<Utc>) -> bool {
        let l = at.with_timezone(&crate::clock::beijing());
        let minute = l.hour() * 60 + l.minute();
        self.weekdays.contains(&l.weekday().number_from_monday())
            && minute >= self.start_min
            && minute < self.end_min
    }
}

pub fn window_covers(w: &MaintenanceRow, m: &MonitorRow, at_ms: i64) -> bool {
    let applies = match (w.monitor_id, w.system_id) {
        (Some(id), _) => id == m.id,
        (None, Some(s)) => m.system_id == Some(s),
        (None, None) => true,
    };
    if !applies || at_ms < w.starts_at || at_ms >= w.ends_at {
        return false;
    }
    match &w.recurrence {
        None => true,
        Some(r) => serde_json::from_str::<Value>(r)
            .ok()
            .and_then(|v| Recurrence::parse(&v).ok())
            .zip(DateTime::from_timestamp_millis(at_ms))
            .is_some_and(|(r, t)| r.covers(t)),
    }
}

// ---- maintenance windows (API) ---------------------------------------------------------

/// Adds a maintenance window for a monitor, a system or (neither given) everything.
/// Every problem is reported at once.
pub async fn add_maintenance(
    ctx: &Ctx,
    u: &AuthUser,
    input: MaintenanceInput,
) -> AppResult<MaintenanceRow> {
    check_write(u)?;
    let mut errs = Vec::new();
    let id_of = |k: &str, v: Option<i64>, errs: &mut Vec<FieldError>| match v {
        Some(n) if n <= 0 => {
            errs.push(FieldError::new(k, "应为正整数编号"));
            None
        }
        v => v,
    };
    let monitor_id = id_of("monitor_id", input.monitor_id, &mut errs);
    let system_id = id_of("system_id", input.system_id, &mut errs);
    let reason = Some(input.reason.trim())
        .filter(|s| !s.is_empty() && s.chars().count() <= 500)
        .map(str::to_string);
    if reason.is_none() {
        errs.push(FieldError::new(
            "reason",
            "请填写维护原因（不超过 500 个字符）",
        ));
    }
    let owner = input
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| u.display_name.clone());
    let time = |k: &str, v: &str, errs: &mut Vec<FieldError>| match DateTime::parse_from_rfc3339(v)
    {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errs.push(FieldError::new(
                k,
                "时间应为 RFC 3339 格式，如 2025-10-15T22:00:00+08:00",
            ));
            None
        }
    };
    let starts = time("starts_at", &input.starts_at, &mut errs);
    let ends = time("ends_at", &input.ends_at, &mut errs);
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        errs.push(FieldError::new("ends_at", "结束时间应晚于开始时间"));
    }
    let recurrence = match &input.recurrence {
        None => None,
        Some(r) => {
            let v = serde_json::to_value(r).unwrap_or_default();
            match Recurrence::parse(&v) {
                Ok(_) => Some(v.to_string()),
                Err(e) => {
                    errs.push(FieldError::new("recurrence", e));
                    None
                }
            }
        }
    };
    if let Some(mid) = monitor_id
        && ctx.store.monitor(mid).await.optional()?.is_none()
    {
        errs.push(FieldError::new(
            "monitor_id",
            format!("监控编号 {mid} 不存在"),
        ));
    }
    if let Some(s) = system_id
        && !system_exists(ctx, s).await?
    {
        errs.push(FieldError::new("system_id", format!("系统编号 {s} 不存在")));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (Some(reason), Some(starts), Some(ends)) = (reason, starts, ends) else {
        return Err(AppError::Validation(errs));
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_maintenance(
            &mut tx,
            monitor_id,
            system_id,
            &reason,
            &owner,
            starts,
            ends,
            recurrence,
            u.uid(),
            now,
        )
        .await?;
    NewAuditEvent::of(
        "create",
        "maintenance-windows",
        id,
        format!("维护窗口：{reason}（负责人 {owner}）"),
    )
    .after(serde_json::to_value(&input).unwrap_or_default())
    .write_and_commit(tx, now, &u.actor())
    .await?;
    ctx.monitors.forget_maintenance();
    Ok(ctx.store.maintenance_window(id).await?)
}

pub async fn delete_maintenance(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<()> {
    check_write(u)?;
    let w = ctx.store.maintenance_window(id).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    ctx.store.delete_maintenance(&mut tx, id).await?;
    NewAuditEvent::of(
        "delete",
        "maintenance-windows",
        id,
        format!("删除维护窗口：{}", w.reason),
    )
    .before(w.to_json())
    .write_and_commit(tx, now, &u.actor())
    .await?;
    ctx.monitors.forget_maintenance();
    Ok(())
}
