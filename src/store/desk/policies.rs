//! SLA policies and what a new ticket refers to.

use std::sync::Arc;

use sqlx::AssertSqlSafe;

use crate::store::db;
use crate::store::{Store, StoreError, StoreResult};

use super::CALENDAR_TTL;

impl Store {
    /// The SLA policies and the id of the round-the-clock calendar, read on `conn` when
    /// not cached (cached for `CALENDAR_TTL`; edits through this process clear them).
    pub async fn policies_in(&self, conn: &mut crate::store::Conn) -> StoreResult<Arc<PolicySet>> {
        if let Ok(g) = self.policy_cache.lock()
            && let Some((at, set)) = g.as_ref()
            && at.elapsed() < CALENDAR_TTL
        {
            return Ok(set.clone());
        }
        let rules: Vec<PolicyRule> = db::all(
            &mut *conn,
            "SELECT id, kind, priority, system_id, calendar_id, response_minutes, onsite_minutes, \
             resolve_minutes, warn_percent FROM sla_policies ORDER BY id",
            (),
        )
        .await?;
        let always: Option<i64> = db::maybe_value(
            &mut *conn,
            "SELECT id FROM calendars WHERE kind = 'always' ORDER BY id LIMIT 1",
            (),
        )
        .await?;
        let set = Arc::new(PolicySet {
            rules,
            always_calendar_id: always,
        });
        if let Ok(mut g) = self.policy_cache.lock() {
            *g = Some((std::time::Instant::now(), set.clone()));
        }
        Ok(set)
    }

    pub async fn policy(&self, id: i64) -> StoreResult<PolicyRow> {
        let mut conn = crate::store::Conn::from(self.pool().acquire().await?);
        self.policy_in(&mut conn, id).await
    }

    pub async fn policy_in(
        &self,
        conn: &mut crate::store::Conn,
        id: i64,
    ) -> StoreResult<PolicyRow> {
        self.policies_in(conn)
            .await?
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(PolicyRule::row)
            .ok_or(StoreError::NotFound)
    }

    /// What a new ticket refers to, in one round trip on the writer's connection: the
    /// names of the system, asset and requester (none where the row does not exist), the
    /// assignee's role if the account is active and its name, and the user in the system's
    /// slot for `duty` with its name. The names are what the ticket's answer shows, so the
    /// new row need not be read back.
    pub async fn ticket_refs_in(
        conn: &mut crate::store::Conn,
        system_id: Option<i64>,
        asset_id: Option<i64>,
        requester_id: Option<i64>,
        assignee_id: Option<i64>,
        duty: &str,
    ) -> StoreResult<TicketRefs> {
        const SLOT_USER: &str = "SELECT s.user_id FROM assignments a JOIN staff s ON s.id = a.staff_id \
             WHERE a.system_id = $1 AND a.duty = $5 AND s.user_id IS NOT NULL ORDER BY a.id LIMIT 1";
        let sql = format!(
            "SELECT (SELECT name FROM systems WHERE id = $1), \
             (SELECT name FROM assets WHERE id = $2), \
             (SELECT username FROM users WHERE id = $3), \
             (SELECT role FROM users WHERE id = $4 AND disabled = 0), \
             (SELECT display_name FROM users WHERE id = $4), \
             ({SLOT_USER}), \
             (SELECT display_name FROM users WHERE id = ({SLOT_USER}))"
        );
        type Names = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let (
            system_name,
            asset_name,
            requester_username,
            assignee_role,
            assignee_name,
            slot,
            slot_name,
        ): Names = sqlx::query_as(AssertSqlSafe(sql))
            .bind(system_id)
            .bind(asset_id)
            .bind(requester_id)
            .bind(assignee_id)
            .bind(duty.to_string())
            .fetch_one(&mut *conn)
            .await?;
        Ok(TicketRefs {
            system_name,
            asset_name,
            requester_username,
            assignee_role,
            assignee_name,
            slot_user: slot.map(|id| (id, slot_name.unwrap_or_else(|| format!("用户 #{id}")))),
        })
    }

    pub async fn count_policies(&self) -> StoreResult<i64> {
        db::value(self.pool(), "SELECT COUNT(*) FROM sla_policies", ()).await
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub calendar_id: i64,
    pub response_minutes: Option<i64>,
    pub onsite_minutes: Option<i64>,
    pub resolve_minutes: Option<i64>,
    pub warn_percent: i64,
}

/// A policy with what it matches on.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyRule {
    pub id: i64,
    pub kind: String,
    pub priority: String,
    pub system_id: Option<i64>,
    pub calendar_id: i64,
    pub response_minutes: Option<i64>,
    pub onsite_minutes: Option<i64>,
    pub resolve_minutes: Option<i64>,
    pub warn_percent: i64,
}

impl PolicyRule {
    fn row(&self) -> PolicyRow {
        PolicyRow {
            id: self.id,
            calendar_id: self.calendar_id,
            response_minutes: self.response_minutes,
            onsite_minutes: self.onsite_minutes,
            resolve_minutes: self.resolve_minutes,
            warn_percent: self.warn_percent,
        }
    }
}

/// Every SLA policy, as creation and the SLA engine read them.
#[derive(Debug)]
pub struct PolicySet {
    pub rules: Vec<PolicyRule>,
    pub always_calendar_id: Option<i64>,
}

impl PolicySet {
    /// The policy for a ticket: the lowest id among the system's own, else among those
    /// for any system.
    pub fn matching(
        &self,
        kind: &str,
        priority: &str,
        system_id: Option<i64>,
    ) -> Option<PolicyRow> {
        let fits = |r: &&PolicyRule| r.kind == kind && r.priority == priority;
        system_id
            .and_then(|sid| {
                self.rules
                    .iter()
                    .filter(fits)
                    .find(|r| r.system_id == Some(sid))
            })
            .or_else(|| {
                self.rules
                    .iter()
                    .filter(fits)
                    .find(|r| r.system_id.is_none())
            })
            .map(PolicyRule::row)
    }
}

/// What a new ticket refers to (see `Store::ticket_refs_in`).
#[derive(Debug)]
pub struct TicketRefs {
    /// The system's name; none when there is no such system.
    pub system_name: Option<String>,
    /// The asset's name; none when there is no such asset.
    pub asset_name: Option<String>,
    /// The requester's account name; none when there is no such user.
    pub requester_username: Option<String>,
    /// The named assignee's role, if that account is active.
    pub assignee_role: Option<String>,
    /// The named assignee's display name.
    pub assignee_name: Option<String>,
    /// The user in the system's slot for the duty, with its display name.
    pub slot_user: Option<(i64, String)>,
}
