//! The source of "now": the system clock in production, a settable clock in tests.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use std::sync::Arc;
use tokio::sync::watch;

/// Beijing time (UTC+8, no DST) used for display and for calendar days.
pub fn beijing() -> FixedOffset {
    match FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => chrono::Offset::fix(&Utc),
    }
}

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (Beijing midnight) from a query value.
pub fn parse_time_param(name: &str, v: &str) -> Result<i64, crate::error::AppError> {
    parse_time_or_date(v).ok_or_else(|| {
        crate::error::AppError::invalid(
            name,
            format!(
                "{name} 应为 RFC 3339 时间（如 2025-01-01T00:00:00+08:00）或日期（2025-01-01）"
            ),
        )
    })
}

#[derive(Clone, Default)]
pub struct Clock {
    /// The manual clock's time; its receivers hear when a test moves it.
    manual: Option<Arc<watch::Sender<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `at` until moved with [`Clock::set`] or [`Clock::advance`].
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(watch::channel(at).0)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(m) => *m.borrow(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Today's date in Beijing time.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&beijing()).date_naive()
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(m) = &self.manual {
            m.send_replace(at);
        }
    }

    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Waits until the clock is moved by hand. The system clock is never moved, so
    /// this never returns for it: timers keyed by "now" wake on their own sleep, or
    /// sooner under a test's manual clock.
    pub fn moved(&self) -> ClockMoves {
        ClockMoves(self.manual.as_ref().map(|m| m.subscribe()))
    }
}

/// Hears the moves of a manual clock (see [`Clock::moved`]).
pub struct ClockMoves(Option<watch::Receiver<DateTime<Utc>>>);

impl ClockMoves {
    /// The next move after the last one seen; pending forever on the system clock.
    pub async fn next(&mut self) {
        match &mut self.0 {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

/// An RFC 3339 time, or a `YYYY-MM-DD` date (Beijing midnight), in epoch milliseconds.
pub fn parse_time_or_date(v: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(beijing())
        .single()
        .map(|t| t.timestamp_millis())
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
