//! Calendar storage: working-hours calendars, their exception days and the calendar cache.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::domain::calendar::{Calendar, CalendarKind, DayOverride, parse_periods};
use crate::store::db;
use crate::store::{Store, StoreError, StoreResult};

use super::{CalendarRow, Tx};

/// The calendar `$1`.
const CALENDAR: &str = "SELECT id, name, kind, periods, description FROM calendars WHERE id = $1";

/// Removes the exception day `$2` of the calendar `$1`.
const DELETE_DAY: &str = "DELETE FROM calendar_days WHERE calendar_id = $1 AND day = $2";

impl Store {
    pub async fn list_calendars(&self) -> StoreResult<Vec<CalendarRow>> {
        db::all(
            self.pool(),
            "SELECT id, name, kind, periods, description FROM calendars ORDER BY id",
            (),
        )
        .await
    }

    pub async fn calendar_row(&self, id: i64) -> StoreResult<CalendarRow> {
        db::one(self.pool(), CALENDAR, id).await
    }

    /// Creates a calendar with its exception days (used for the shipped defaults).
    pub async fn create_calendar(
        &self,
        name: &str,
        kind: &str,
        periods: Option<&str>,
        description: &str,
        days: &BTreeMap<NaiveDate, DayOverride>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO calendars (name, kind, periods, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(name.to_string())
        .bind(kind.to_string())
        .bind(periods.map(str::to_string))
        .bind(description.to_string())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        for (d, o) in days {
            db::exec(
                &mut *tx,
                "INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)",
                (id, d.format("%Y-%m-%d").to_string(), i64::from(o.working), o.reason.clone()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Sets or clears (`working == None`) one exception day.
    pub async fn set_calendar_day(
        &self,
        tx: &mut Tx,
        id: i64,
        day: NaiveDate,
        working: Option<bool>,
        reason: &str,
    ) -> StoreResult<()> {
        self.forget_calendars();
        let d = day.format("%Y-%m-%d").to_string();
        db::exec(&mut **tx, DELETE_DAY, (id, d.clone())).await?;
        if let Some(w) = working {
            db::exec(
                &mut **tx,
                "INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)",
                (id, d, i64::from(w), reason.to_string()),
            )
            .await?;
        }
        Ok(())
    }

    /// A calendar's exception days from `from` to `to` (inclusive), read on `tx` when
    /// given (so a write sees what it is about to replace), else on the pool.
    pub async fn calendar_days_between(
        &self,
        tx: Option<&mut Tx>,
        id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<BTreeMap<NaiveDate, DayOverride>> {
        let q = sqlx::query_as::<_, (String, i64, String)>(
            "SELECT day, working, reason FROM calendar_days WHERE calendar_id = $1 AND day >= $2 AND day <= $3",
        )
        .bind(id)
        .bind(from.format("%Y-%m-%d").to_string())
        .bind(to.format("%Y-%m-%d").to_string());
        let rows = match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.pool()).await?,
        };
        Ok(rows
            .into_iter()
            .filter_map(|(d, w, r)| {
                let d = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?;
                Some((
                    d,
                    DayOverride {
                        working: w != 0,
                        reason: r,
                    },
                ))
            })
            .collect())
    }

    /// Replaces the exception days of whole `years` and sets each of `days` (other days
    /// of other years stay), on the caller's transaction.
    pub async fn replace_calendar_days(
        &self,
        tx: &mut Tx,
        id: i64,
        years: &[i32],
        days: &[(NaiveDate, DayOverride)],
    ) -> StoreResult<()> {
        self.forget_calendars();
        for y in years {
            db::exec(
                &mut **tx,
                "DELETE FROM calendar_days WHERE calendar_id = $1 AND day >= $2 AND day <= $3",
                (id, format!("{y:04}-01-01"), format!("{y:04}-12-31")),
            )
            .await?;
        }
        for (d, o) in days {
            let d = d.format("%Y-%m-%d").to_string();
            db::exec(&mut **tx, DELETE_DAY, (id, d.clone())).await?;
            db::exec(
                &mut **tx,
                "INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4)",
                (id, d, i64::from(o.working), o.reason.clone()),
            )
            .await?;
        }
        Ok(())
    }

    /// Adds days that are missing (an existing day is kept as it is); returns how many
    /// were added. Two replicas starting together add each day once.
    pub async fn add_missing_calendar_days(
        &self,
        tx: &mut Tx,
        id: i64,
        days: &BTreeMap<NaiveDate, DayOverride>,
    ) -> StoreResult<u64> {
        self.forget_calendars();
        let mut n = 0;
        for (d, o) in days {
            n += db::exec(
                &mut **tx,
                "INSERT INTO calendar_days (calendar_id, day, working, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (calendar_id, day) DO NOTHING",
                (id, d.format("%Y-%m-%d").to_string(), i64::from(o.working), o.reason.clone()),
            )
            .await?;
        }
        Ok(n)
    }

    /// How many exception days each calendar has per year: (calendar id, year, days).
    pub async fn calendar_year_counts(&self) -> StoreResult<Vec<(i64, i32, i64)>> {
        let rows: Vec<(i64, String, i64)> = db::all(
            self.pool(),
            "SELECT calendar_id, substr(day, 1, 4) AS y, COUNT(*) AS n FROM calendar_days GROUP BY calendar_id, substr(day, 1, 4) ORDER BY calendar_id, y",
            (),
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(c, y, n)| Some((c, y.parse().ok()?, n)))
            .collect())
    }

    /// The calendar as the SLA engine uses it (cached for `CALENDAR_TTL`).
    pub async fn calendar(&self, id: i64) -> StoreResult<Calendar> {
        if let Some(c) = self.cached_calendar(id) {
            return Ok(c);
        }
        let mut conn = crate::store::Conn::from(self.pool().acquire().await?);
        self.calendar_in(&mut conn, id).await
    }

    fn cached_calendar(&self, id: i64) -> Option<Calendar> {
        let c = &self.caches;
        c.calendars.get(&id, c.now_ms())
    }

    /// The calendar, read on `conn` (a write transaction's connection) when not cached.
    pub async fn calendar_in(
        &self,
        conn: &mut crate::store::Conn,
        id: i64,
    ) -> StoreResult<Calendar> {
        if let Some(c) = self.cached_calendar(id) {
            return Ok(c);
        }
        let cal = Self::calendar_uncached(conn, id).await?;
        let c = &self.caches;
        c.calendars.insert(id, cal.clone(), c.now_ms());
        Ok(cal)
    }

    /// Forgets cached calendars and policies, after an edit.
    pub fn forget_calendars(&self) {
        self.caches.calendars.clear();
        self.forget_policies();
    }

    /// Forgets the cached SLA policies, after an edit.
    pub fn forget_policies(&self) {
        if let Ok(mut p) = self.policy_cache.lock() {
            *p = None;
        }
    }

    async fn calendar_uncached(conn: &mut crate::store::Conn, id: i64) -> StoreResult<Calendar> {
        let row: CalendarRow = db::one(&mut *conn, CALENDAR, id).await?;
        if row.kind == "always" {
            return Ok(Calendar::always());
        }
        let days: Vec<(String, i64, String)> = db::all(
            &mut *conn,
            "SELECT day, working, reason FROM calendar_days WHERE calendar_id = $1",
            id,
        )
        .await?;
        let mut overrides = BTreeMap::new();
        for (d, w, r) in days {
            if let Ok(d) = NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                overrides.insert(
                    d,
                    DayOverride {
                        working: w != 0,
                        reason: r,
                    },
                );
            }
        }
        let periods = parse_periods(row.periods.as_deref().unwrap_or("08:30-12:00,14:00-17:30"))
            .map_err(|e| {
                StoreError::Other(anyhow::anyhow!("calendar {id} has bad periods: {e}"))
            })?;
        Ok(Calendar {
            kind: CalendarKind::WorkingHours,
            periods,
            overrides,
        })
    }
}
