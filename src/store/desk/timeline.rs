//! The ticket timeline, SLA clock events, comments, worklogs and links.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::sla::{ClockEvent, ClockEventKind, ClockTarget};
use crate::store::db;
use crate::store::{Store, StoreResult};

use super::{CommentRow, TicketEventRow, Tx, WorklogRow, ms};

impl Store {
    // ---- timeline and clocks -----------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn add_ticket_event(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        at_ms: i64,
        actor_id: Option<i64>,
        actor_name: &str,
        kind: &str,
        summary: &str,
        data: Option<Value>,
        internal: bool,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_name, kind, summary, data, internal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(ticket_id)
        .bind(at_ms)
        .bind(actor_id)
        .bind(actor_name.to_string())
        .bind(kind.to_string())
        .bind(summary.to_string())
        .bind(data.map(|d| d.to_string()))
        .bind(i64::from(internal))
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn ticket_events(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<TicketEventRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM ticket_events WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id",
            (ticket_id, i64::from(include_internal)),
        )
        .await
    }

    /// Whether the timeline already has an event of this kind with this marker (dedup of
    /// SLA warnings and breaches), read on `conn`.
    pub async fn has_ticket_event_in(
        conn: &mut crate::store::Conn,
        ticket_id: i64,
        kind: &str,
        marker: &str,
    ) -> StoreResult<bool> {
        let n: i64 = db::value(
            &mut *conn,
            "SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1 AND kind = $2 AND data = $3",
            (ticket_id, kind.to_string(), marker.to_string()),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn add_clock_event(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        target: ClockTarget,
        e: &ClockEvent,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ticket_id)
            .bind(target.as_str().to_string())
            .bind(e.kind.as_str().to_string())
            .bind(ms(e.at))
            .bind(e.target_seconds)
            .bind(e.reason.clone())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Clock events of a ticket by target, in order.
    pub async fn clock_events(
        &self,
        ticket_id: i64,
    ) -> StoreResult<BTreeMap<String, Vec<ClockEvent>>> {
        let mut conn = crate::store::Conn::from(self.pool().acquire().await?);
        Self::clock_events_in(&mut conn, ticket_id).await
    }

    /// Clock events of a ticket by target, in order, read on `conn`.
    pub async fn clock_events_in(
        conn: &mut crate::store::Conn,
        ticket_id: i64,
    ) -> StoreResult<BTreeMap<String, Vec<ClockEvent>>> {
        let rows: Vec<(String, String, i64, Option<i64>, String)> = db::all(
            &mut *conn,
            "SELECT target, kind, at, target_seconds, reason FROM sla_clock_events WHERE ticket_id = $1 ORDER BY id",
            ticket_id,
        )
        .await?;
        let mut out: BTreeMap<String, Vec<ClockEvent>> = BTreeMap::new();
        for (target, kind, at, ts, reason) in rows {
            let (Some(kind), Some(at)) = (
                ClockEventKind::parse(&kind),
                DateTime::<Utc>::from_timestamp_millis(at),
            ) else {
                continue;
            };
            out.entry(target).or_default().push(ClockEvent {
                at,
                kind,
                target_seconds: ts,
                reason,
            });
        }
        Ok(out)
    }

    // ---- comments and worklog ----------------------------------------------------------

    pub async fn add_comment(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        author_id: Option<i64>,
        author: &str,
        body: &str,
        internal: bool,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ticket_comments (ticket_id, author_id, author_name, body, internal, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(ticket_id)
        .bind(author_id)
        .bind(author.to_string())
        .bind(body.to_string())
        .bind(i64::from(internal))
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn comments(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StoreResult<Vec<CommentRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM ticket_comments WHERE ticket_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY id",
            (ticket_id, i64::from(include_internal)),
        )
        .await
    }

    pub async fn add_worklog(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        user_id: Option<i64>,
        user: &str,
        minutes: i64,
        note: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO worklogs (ticket_id, user_id, user_name, minutes, note, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(ticket_id)
        .bind(user_id)
        .bind(user.to_string())
        .bind(minutes)
        .bind(note)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn worklogs(&self, ticket_id: i64) -> StoreResult<Vec<WorklogRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM worklogs WHERE ticket_id = $1 ORDER BY id",
            ticket_id,
        )
        .await
    }

    pub async fn add_link(
        &self,
        tx: &mut Tx,
        a: i64,
        b: i64,
        kind: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "INSERT INTO ticket_links (ticket_id, other_id, kind, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id, other_id, kind) DO NOTHING",
            (a, b, kind.to_string(), now_ms),
        )
        .await?;
        Ok(())
    }

    pub async fn links(&self, ticket_id: i64) -> StoreResult<Vec<(i64, String, String)>> {
        db::all(
            self.pool(),
            "SELECT l.other_id, l.kind, t.number FROM ticket_links l JOIN tickets t ON t.id = l.other_id WHERE l.ticket_id = $1 ORDER BY l.created_at",
            ticket_id,
        )
        .await
    }
}
