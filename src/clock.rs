//! The source of "now": the system clock in production, a settable clock in tests.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use std::sync::{Arc, Mutex};

/// Beijing time (UTC+8, no DST) used for display and for calendar days.
pub fn beijing() -> FixedOffset {
    match FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => chrono::Offset::fix(&Utc),
    }
}

#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `at` until moved with [`Clock::set`] or [`Clock::advance`].
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(m) => match m.lock() {
                Ok(g) => *g,
                Err(p) => *p.into_inner(),
            },
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(m) = &self.manual {
            match m.lock() {
                Ok(mut g) => *g = at,
                Err(p) => *p.into_inner() = at,
            }
        }
    }

    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

/// Formats epoch milliseconds as RFC 3339 in UTC (the API's time format).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Formats epoch milliseconds in Beijing time with seconds, for probe results and other
/// times a minute is too coarse for: `2025-01-02 08:30:05`.
pub fn local_seconds(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&beijing())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// Formats epoch milliseconds in Beijing time for pages: `2025-01-02 08:30`.
pub fn local_minutes(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&beijing())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}
