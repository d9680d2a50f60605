//! Reads for the role homes and for readable history: small, indexed queries (each one a
//! bounded list or an aggregate over an index range), and names for ids.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::db;
use super::{Store, StoreResult};

/// The statuses of a ticket still being worked on. The literal list matches the partial
/// index `tickets_open_due` (migration 0031): SQLite uses a partial index only when the
/// query repeats its condition.
pub const OPEN: &str = "status IN ('new','assigned','in_progress','pending')";

/// A ticket as a home lists it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct HomeTicket {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub priority: String,
    pub status: String,
    pub resolve_due_at: Option<i64>,
    pub sla_breached: i64,
    pub assignee_id: Option<i64>,
    pub reported_at: i64,
}

const HT: &str =
    "id, number, title, priority, status, resolve_due_at, sla_breached, assignee_id, reported_at";

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct HomeTask {
    pub id: i64,
    pub template_name: String,
    pub target_name: String,
    pub status: String,
    pub due_at: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct HomeShift {
    pub starts_at: i64,
    pub ends_at: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Load {
    pub user_id: i64,
    pub name: String,
    pub open: i64,
    pub breached: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct SystemState {
    pub id: i64,
    pub name: String,
    pub monitors: i64,
    pub down: i64,
    pub up: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Supervised {
    pub ticket_id: i64,
    pub number: String,
    pub title: String,
    pub status: String,
    pub at: i64,
    pub summary: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AwaitingReview {
    pub deliverable_id: i64,
    pub name: String,
    pub period_key: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Highlight {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub summary: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct LineToday {
    pub line_id: i64,
    pub name: String,
    pub records: i64,
    /// The line's operations staff (a JSON array of user ids).
    pub staff_ids: String,
}

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// Display names of the given user ids (missing ids are left out).
    pub async fn user_names(&self, ids: &[i64]) -> StoreResult<HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, display_name FROM users WHERE id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(self.pool()).await?.into_iter().collect())
    }

    /// Display names of the given usernames (the audit log's actors).
    pub async fn user_names_by_login(
        &self,
        names: &[String],
    ) -> StoreResult<HashMap<String, String>> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT username, display_name FROM users WHERE username IN ({})",
            placeholders(names.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
        for n in names {
            q = q.bind(n.clone());
        }
        Ok(q.fetch_all(self.pool()).await?.into_iter().collect())
    }

    /// Numbers of the given ticket ids.
    pub async fn ticket_numbers(&self, ids: &[i64]) -> StoreResult<HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, number FROM tickets WHERE id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(self.pool()).await?.into_iter().collect())
    }

    /// The display name of one user on the write's own connection.
    pub async fn user_name_in(
        conn: &mut crate::store::Conn,
        id: i64,
    ) -> StoreResult<Option<String>> {
        db::maybe_value(
            &mut *conn,
            "SELECT display_name FROM users WHERE id = $1",
            id,
        )
        .await
    }

    /// A user's open tickets, the least SLA time left first (no due time last).
    pub async fn home_my_tickets(&self, uid: i64, limit: i64) -> StoreResult<Vec<HomeTicket>> {
        // Two reads on `tickets_open_assignee_due` rather than one sort of all the user's
        // open tickets: those with a resolve time by it, then (if room is left) those
        // without one.
        let sql = format!(
            "SELECT {HT} FROM tickets WHERE assignee_id = $1 AND {OPEN} \
             AND resolve_due_at IS NOT NULL ORDER BY resolve_due_at LIMIT $2"
        );
        let mut rows: Vec<HomeTicket> =
            db::all(self.pool(), AssertSqlSafe(sql), (uid, limit)).await?;
        if (rows.len() as i64) < limit {
            let sql = format!(
                "SELECT {HT} FROM tickets WHERE assignee_id = $1 AND {OPEN} \
                 AND resolve_due_at IS NULL ORDER BY id LIMIT $2"
            );
            let more: Vec<HomeTicket> = db::all(
                self.pool(),
                AssertSqlSafe(sql),
                (uid, limit - rows.len() as i64),
            )
            .await?;
            rows.extend(more);
        }
        Ok(rows)
    }

    /// (open, overdue) tickets of a user; overdue: breached or past the resolve time.
    pub async fn home_my_counts(&self, uid: i64, now: i64) -> StoreResult<(i64, i64)> {
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sla_breached = 1 OR resolve_due_at < $2 THEN 1 ELSE 0 END), 0) \
             FROM tickets WHERE assignee_id = $1 AND {OPEN}"
        );
        db::row(self.pool(), AssertSqlSafe(sql), (uid, now)).await
    }

    /// A user's inspection tasks due in `[from, to)` and those overdue still open.
    pub async fn home_my_tasks(&self, uid: i64, from: i64, to: i64) -> StoreResult<Vec<HomeTask>> {
        db::all(
            self.pool(),
            "SELECT id, template_name, target_name, status, due_at FROM inspection_tasks \
             WHERE assignee_id = $1 AND due_at < $3 AND (due_at >= $2 OR status IN ('pending','in_progress')) \
             ORDER BY due_at LIMIT 50",
            (uid, from, to),
        )
        .await
    }

    /// A user's current or next duty shift.
    pub async fn home_my_shift(&self, uid: i64, now: i64) -> StoreResult<Option<HomeShift>> {
        db::maybe(
            self.pool(),
            "SELECT starts_at, ends_at FROM duty_shifts WHERE user_id = $1 AND ends_at > $2 \
             ORDER BY starts_at LIMIT 1",
            (uid, now),
        )
        .await
    }

    /// Open tickets per assignee, the busiest first.
    pub async fn home_team_load(&self, now: i64) -> StoreResult<Vec<Load>> {
        let sql = format!(
            "SELECT u.id AS user_id, u.display_name AS name, COUNT(t.id) AS open, \
             COALESCE(SUM(CASE WHEN t.sla_breached = 1 OR t.resolve_due_at < $1 THEN 1 ELSE 0 END), 0) AS breached \
             FROM users u JOIN tickets t ON t.assignee_id = u.id AND t.{OPEN} \
             WHERE u.disabled = 0 GROUP BY u.id, u.display_name ORDER BY open DESC, u.id LIMIT 50"
        );
        db::all(self.pool(), AssertSqlSafe(sql), now).await
    }

    /// Open tickets whose resolve time falls before `until` (already late included).
    pub async fn home_at_risk(&self, until: i64, limit: i64) -> StoreResult<Vec<HomeTicket>> {
        let sql = format!(
            "SELECT {HT} FROM tickets WHERE {OPEN} AND resolve_due_at IS NOT NULL AND resolve_due_at < $1 \
             ORDER BY resolve_due_at LIMIT $2"
        );
        db::all(self.pool(), AssertSqlSafe(sql), (until, limit)).await
    }

    pub async fn home_at_risk_count(&self, until: i64) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM tickets WHERE {OPEN} AND resolve_due_at IS NOT NULL AND resolve_due_at < $1"
        );
        db::value(self.pool(), AssertSqlSafe(sql), until).await
    }

    /// Open tickets nobody is assigned, oldest first, and how many there are.
    pub async fn home_unassigned(&self, limit: i64) -> StoreResult<(Vec<HomeTicket>, i64)> {
        let sql = format!(
            "SELECT {HT} FROM tickets WHERE assignee_id IS NULL AND {OPEN} ORDER BY id LIMIT $1"
        );
        let rows = db::all(self.pool(), AssertSqlSafe(sql), limit).await?;
        let sql = format!("SELECT COUNT(*) FROM tickets WHERE assignee_id IS NULL AND {OPEN}");
        let n = db::value(self.pool(), AssertSqlSafe(sql), ()).await?;
        Ok((rows, n))
    }

    /// Open P1 and P2 tickets, most urgent first, and the open count per priority.
    pub async fn home_open_urgent(
        &self,
        limit: i64,
    ) -> StoreResult<(Vec<HomeTicket>, Vec<(String, i64)>)> {
        let sql = format!(
            "SELECT {HT} FROM tickets WHERE {OPEN} AND priority IN ('P1','P2') \
             ORDER BY priority, id DESC LIMIT $1"
        );
        let rows = db::all(self.pool(), AssertSqlSafe(sql), limit).await?;
        let sql = format!(
            "SELECT priority, COUNT(*) FROM tickets WHERE {OPEN} GROUP BY priority ORDER BY priority"
        );
        let by = db::all(self.pool(), AssertSqlSafe(sql), ()).await?;
        Ok((rows, by))
    }

    /// Tickets reported in `[from, to)` that are resolved or closed, and how many of those
    /// breached their SLA.
    pub async fn home_sla_month(&self, from: i64, to: i64) -> StoreResult<(i64, i64)> {
        db::row(
            self.pool(),
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sla_breached = 1 THEN 1 ELSE 0 END), 0) FROM tickets \
             WHERE reported_at >= $1 AND reported_at < $2 AND status IN ('resolved','closed')",
            (from, to),
        )
        .await
    }

    /// Each system with how many of its monitors are down and up now.
    pub async fn home_systems(&self) -> StoreResult<Vec<SystemState>> {
        db::all(
            self.pool(),
            "SELECT s.id, s.name, COUNT(m.id) AS monitors, \
             COALESCE(SUM(CASE WHEN m.state IN ('down','unreachable') THEN 1 ELSE 0 END), 0) AS down, \
             COALESCE(SUM(CASE WHEN m.state = 'up' THEN 1 ELSE 0 END), 0) AS up \
             FROM systems s LEFT JOIN monitors m ON m.system_id = s.id AND m.paused = 0 \
             GROUP BY s.id, s.name ORDER BY s.id",
            (),
        )
        .await
    }

    /// The latest 督办 (supervision) steps with their ticket's status now.
    pub async fn home_supervised(&self, limit: i64) -> StoreResult<Vec<Supervised>> {
        db::all(
            self.pool(),
            "SELECT e.ticket_id, t.number, t.title, t.status, e.at, e.summary \
             FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id \
             WHERE e.kind = 'supervise' ORDER BY e.id DESC LIMIT $1",
            limit,
        )
        .await
    }

    /// Deliverable instances submitted and not yet reviewed.
    pub async fn home_awaiting_review(&self) -> StoreResult<Vec<AwaitingReview>> {
        db::all(
            self.pool(),
            "SELECT d.id AS deliverable_id, d.name, i.period_key, i.updated_at \
             FROM deliverable_instances i JOIN deliverables d ON d.id = i.deliverable_id \
             WHERE i.status = 'submitted' ORDER BY i.updated_at LIMIT 50",
            (),
        )
        .await
    }

    /// Audit records worth a look: failed logins, deletions, resets and revocations.
    pub async fn home_audit_highlights(&self, limit: i64) -> StoreResult<Vec<Highlight>> {
        db::all(
            self.pool(),
            "SELECT seq, at, actor_id, actor_name, action, entity_type, entity_id, summary \
             FROM audit_events WHERE action IN ('login_failed','delete','password_reset','revoke','refuse') \
             ORDER BY seq DESC LIMIT $1",
            limit,
        )
        .await
    }

    /// A requester's own tickets, newest first.
    pub async fn home_my_reports(&self, uid: i64, limit: i64) -> StoreResult<Vec<HomeTicket>> {
        let sql =
            format!("SELECT {HT} FROM tickets WHERE requester_id = $1 ORDER BY id DESC LIMIT $2");
        db::all(self.pool(), AssertSqlSafe(sql), (uid, limit)).await
    }

    /// Support records per service line in `[from, to)`, and the user's own count.
    pub async fn home_lines_today(
        &self,
        uid: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<(Vec<LineToday>, i64)> {
        let rows = db::all(
            self.pool(),
            "SELECT l.id AS line_id, l.name, COUNT(w.id) AS records, l.staff_ids FROM service_lines l \
             LEFT JOIN work_records w ON w.line_id = l.id AND w.occurred_at >= $1 AND w.occurred_at < $2 \
             GROUP BY l.id, l.name, l.staff_ids ORDER BY l.id",
            (from, to),
        )
        .await?;
        let mine = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM work_records WHERE operator_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
            (uid, from, to),
        )
        .await?;
        Ok((rows, mine))
    }

    /// Platform state: accounts per role, locked and disabled accounts, monitors, firing
    /// alerts.
    pub async fn home_platform(&self, now: i64) -> StoreResult<Vec<(String, i64)>> {
        let mut out: Vec<(String, i64)> = db::all(
            self.pool(),
            "SELECT role, COUNT(*) FROM users WHERE disabled = 0 GROUP BY role ORDER BY role",
            (),
        )
        .await?;
        let locked: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM users WHERE locked_until > $1",
            now,
        )
        .await?;
        let disabled: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM users WHERE disabled = 1",
            (),
        )
        .await?;
        let monitors: i64 = db::value(self.pool(), "SELECT COUNT(*) FROM monitors", ()).await?;
        let firing: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM alerts WHERE status = 'firing'",
            (),
        )
        .await?;
        out.push(("locked".into(), locked));
        out.push(("disabled".into(), disabled));
        out.push(("monitors".into(), monitors));
        out.push(("firing".into(), firing));
        Ok(out)
    }
}
