//! Notification channels, rules and the outbox.

use serde_json::{Value, json};

use super::db;
use super::desk::Tx;
use super::entities::Arg;
use super::sql::{Columns, delete_by_id, unique_conflict};
use super::{Store, StoreError, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub config: String,
    pub secret_enc: Option<String>,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RuleRow {
    pub id: i64,
    pub event: String,
    pub channel_id: i64,
    pub to_assignee: i64,
    pub to_requester: i64,
    pub priority: Option<String>,
    pub system_id: Option<i64>,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RuleRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "event": self.event, "channel_id": self.channel_id, "to_assignee": self.to_assignee != 0,
               "to_requester": self.to_requester != 0, "priority": self.priority, "system_id": self.system_id,
               "enabled": self.enabled != 0, "created_at": crate::clock::rfc3339(self.created_at)})
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub channel_id: i64,
    pub event: String,
    pub ticket_id: Option<i64>,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl OutboxRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "idempotency_key": self.idempotency_key, "channel_id": self.channel_id, "event": self.event,
               "ticket_id": self.ticket_id, "recipient": self.recipient, "subject": self.subject, "status": self.status,
               "attempts": self.attempts, "next_attempt_at": crate::clock::rfc3339(self.next_attempt_at),
               "last_error": self.last_error, "created_at": crate::clock::rfc3339(self.created_at),
               "sent_at": self.sent_at.map(crate::clock::rfc3339)})
    }
}

/// A message to put in the outbox.
pub struct NewMessage {
    pub key: String,
    pub channel_id: i64,
    pub event: String,
    pub ticket_id: Option<i64>,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
}

/// The conflict of a channel name already in use.
fn channel_name_taken(name: &str) -> impl FnOnce(StoreError) -> StoreError {
    unique_conflict(format!("已有名为“{name}”的通道"))
}

/// The channel `$1`.
const CHANNEL: &str = "SELECT * FROM notification_channels WHERE id = $1";

impl Store {
    pub async fn channels(&self) -> StoreResult<Vec<ChannelRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM notification_channels ORDER BY id",
            (),
        )
        .await
    }

    pub async fn channel(&self, id: i64) -> StoreResult<ChannelRow> {
        db::one(self.pool(), CHANNEL, id).await
    }

    /// A channel, read on the writer's transaction.
    pub async fn channel_in(&self, tx: &mut Tx, id: i64) -> StoreResult<ChannelRow> {
        db::one(&mut **tx, CHANNEL, id).await
    }

    pub async fn insert_channel(
        &self,
        tx: &mut Tx,
        kind: &str,
        name: &str,
        config: &str,
        secret_enc: Option<String>,
        enabled: bool,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("kind", kind)
            .set("name", name)
            .set("config", config)
            .set("secret_enc", secret_enc)
            .set("enabled", enabled)
            .created(now_ms)
            .insert(tx, "notification_channels")
            .await
            .map_err(channel_name_taken(name))
    }

    pub async fn update_channel(
        &self,
        tx: &mut Tx,
        id: i64,
        name: &str,
        config: &str,
        secret_enc: Option<String>,
        enabled: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        // An edit of a channel that is gone changes nothing and is not an error.
        Columns::new()
            .set("name", name)
            .set("config", config)
            .set("secret_enc", secret_enc)
            .set("enabled", enabled)
            .set("updated_at", now_ms)
            .update_where(tx, "notification_channels", "id = ?", [Arg::Int(Some(id))])
            .await
            .map_err(channel_name_taken(name))?;
        Ok(())
    }

    pub async fn delete_channel(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "notification_channels", id).await
    }

    pub async fn rules(&self) -> StoreResult<Vec<RuleRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM notification_rules ORDER BY id",
            (),
        )
        .await
    }

    pub async fn rule(&self, id: i64) -> StoreResult<RuleRow> {
        db::one(
            self.pool(),
            "SELECT * FROM notification_rules WHERE id = $1",
            id,
        )
        .await
    }

    /// The enabled rules of an event, read on the writer's transaction.
    /// The enabled rules of `event` whose channel is enabled, with that channel, from the
    /// rules snapshot (`Caches::rules`), read on the caller's transaction when it is stale.
    pub async fn rules_for(
        &self,
        tx: &mut Tx,
        event: &str,
    ) -> StoreResult<Vec<(RuleRow, ChannelRow)>> {
        let all = match self.caches.rules.get() {
            Ok(all) => all,
            Err(generation) => {
                let rules: Vec<RuleRow> = db::all(
                    &mut **tx,
                    "SELECT r.* FROM notification_rules r JOIN notification_channels c ON c.id = r.channel_id \
                     WHERE r.enabled = 1 AND c.enabled = 1 ORDER BY r.id",
                    (),
                )
                .await?;
                let channels: Vec<ChannelRow> = db::all(
                    &mut **tx,
                    "SELECT * FROM notification_channels WHERE enabled = 1",
                    (),
                )
                .await?;
                let all: Vec<(RuleRow, ChannelRow)> = rules
                    .into_iter()
                    .filter_map(|r| {
                        let c = channels.iter().find(|c| c.id == r.channel_id)?.clone();
                        Some((r, c))
                    })
                    .collect();
                let all = std::sync::Arc::new(all);
                self.caches.rules.put(generation, all.clone());
                all
            }
        };
        Ok(all
            .iter()
            .filter(|(r, _)| r.event == event)
            .cloned()
            .collect())
    }

    /// Forgets the rules snapshot; after a committed edit of a rule or a channel.
    pub fn forget_rules(&self) {
        self.caches.rules.forget();
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_rule(
        &self,
        tx: &mut Tx,
        event: &str,
        channel_id: i64,
        to_assignee: bool,
        to_requester: bool,
        priority: Option<String>,
        system_id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Columns::new()
            .set("event", event)
            .set("channel_id", channel_id)
            .set("to_assignee", to_assignee)
            .set("to_requester", to_requester)
            .set("priority", priority)
            .set("system_id", system_id)
            .set("enabled", true)
            .created(now_ms)
            .insert(tx, "notification_rules")
            .await
    }

    pub async fn delete_rule(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        delete_by_id(tx, "notification_rules", id).await
    }

    /// Adds a message unless one with the same key exists (then nothing happens).
    pub async fn enqueue(&self, tx: &mut Tx, m: &NewMessage, now_ms: i64) -> StoreResult<()> {
        Columns::new()
            .set("idempotency_key", &m.key)
            .set("channel_id", m.channel_id)
            .set("event", &m.event)
            .set("ticket_id", m.ticket_id)
            .set("recipient", &m.recipient)
            .set("subject", &m.subject)
            .set("body", &m.body)
            .set("status", "pending")
            .set("attempts", 0_i64)
            .set("next_attempt_at", now_ms)
            .set("created_at", now_ms)
            .insert_unless_exists(tx, "notification_outbox", "idempotency_key")
            .await
    }

    /// Claims up to `n` due messages for `lease_ms`. The claim condition is repeated in the
    /// outer WHERE so that, on PostgreSQL, a replica that lost the race re-checks the row it
    /// waited for and skips it: each message is claimed by one replica at a time.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        n: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        db::all(
            self.pool(),
            "UPDATE notification_outbox SET claimed_until = $1 \
             WHERE id IN (SELECT id FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3) \
             AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $2) \
             RETURNING *",
            (now_ms + lease_ms, now_ms, n),
        )
        .await
    }

    pub async fn mark_sent(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write_one(
            "UPDATE notification_outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, claimed_until = NULL, last_error = NULL WHERE id = $2",
            (now_ms, id),
        )
        .await
    }

    pub async fn mark_failed(&self, id: i64, error: &str, next_ms: Option<i64>) -> StoreResult<()> {
        self.write_one(
            "UPDATE notification_outbox SET attempts = attempts + 1, claimed_until = NULL, last_error = $1, \
             status = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3",
            (error.chars().take(500).collect::<String>(), next_ms, id),
        )
        .await
    }

    pub async fn outbox(&self, limit: i64, offset: i64) -> StoreResult<(Vec<OutboxRow>, i64)> {
        let total: i64 =
            db::value(self.pool(), "SELECT COUNT(*) FROM notification_outbox", ()).await?;
        let rows = db::all(
            self.pool(),
            "SELECT * FROM notification_outbox ORDER BY id DESC LIMIT $1 OFFSET $2",
            (limit, offset),
        )
        .await?;
        Ok((rows, total))
    }

    /// A user's e-mail address, read on the writer's transaction.
    pub async fn user_email(&self, tx: &mut Tx, id: i64) -> StoreResult<Option<String>> {
        Ok(
            db::maybe_value(&mut **tx, "SELECT email FROM users WHERE id = $1", id)
                .await?
                .flatten(),
        )
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InboxRow {
    pub id: i64,
    pub event: String,
    pub ticket_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl InboxRow {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "event": self.event, "ticket_id": self.ticket_id, "subject": self.subject, "body": self.body,
               "created_at": crate::clock::rfc3339(self.created_at), "read": self.read_at.is_some(),
               "read_at": self.read_at.map(crate::clock::rfc3339)})
    }
}

impl Store {
    /// Active users holding one of `roles`.
    /// Active users with any of the roles, read on the writer's transaction.
    /// Active accounts holding any of `roles`, in one query on the writer's transaction.
    pub async fn active_user_ids_with_roles_in(
        &self,
        tx: &mut Tx,
        roles: &[&str],
    ) -> StoreResult<Vec<i64>> {
        Self::users_with_roles(tx, roles).await
    }

    /// Active accounts holding any of `roles`.
    pub async fn active_user_ids_with_roles(&self, roles: &[&str]) -> StoreResult<Vec<i64>> {
        let mut conn = crate::store::Conn::from(self.pool().acquire().await?);
        Self::users_with_roles(&mut conn, roles).await
    }

    async fn users_with_roles(
        conn: &mut crate::store::Conn,
        roles: &[&str],
    ) -> StoreResult<Vec<i64>> {
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=roles.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM users WHERE role IN ({}) AND disabled = 0 ORDER BY id",
            marks.join(", ")
        );
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for r in roles {
            q = q.bind(r.to_string());
        }
        Ok(q.fetch_all(&mut *conn).await?)
    }

    /// Adds an in-app message unless one with the same key exists.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_inbox(
        &self,
        tx: &mut Tx,
        key: &str,
        user_id: i64,
        event: &str,
        ticket_id: Option<i64>,
        subject: &str,
        body: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        Columns::new()
            .set("idempotency_key", key)
            .set("user_id", user_id)
            .set("event", event)
            .set("ticket_id", ticket_id)
            .set("subject", subject)
            .set("body", body)
            .set("created_at", now_ms)
            .insert_unless_exists(tx, "user_messages", "idempotency_key")
            .await
    }

    /// A user's messages, newest first, and how many are unread.
    pub async fn inbox(
        &self,
        user_id: i64,
        unread_only: bool,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<InboxRow>, i64, i64)> {
        let filter = if unread_only {
            " AND read_at IS NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, event, ticket_id, subject, body, created_at, read_at FROM user_messages \
             WHERE user_id = $1{filter} ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = db::all(
            self.pool(),
            sqlx::AssertSqlSafe(sql),
            (user_id, limit, offset),
        )
        .await?;
        let sql = format!("SELECT COUNT(*) FROM user_messages WHERE user_id = $1{filter}");
        let total: i64 = db::value(self.pool(), sqlx::AssertSqlSafe(sql), user_id).await?;
        let unread = self.unread_count(user_id).await?;
        Ok((rows, total, unread))
    }

    pub async fn unread_count(&self, user_id: i64) -> StoreResult<i64> {
        db::value(
            self.pool(),
            "SELECT COUNT(*) FROM user_messages WHERE user_id = $1 AND read_at IS NULL",
            user_id,
        )
        .await
    }

    /// Marks one message (or, with `None`, all of them) read; answers how many changed.
    /// Another user's message is simply not found.
    pub async fn mark_read(&self, user_id: i64, id: Option<i64>, now_ms: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let n =
            match id {
                Some(id) => {
                    let exists: Option<i64> = db::maybe_value(
                        &mut *tx,
                        "SELECT id FROM user_messages WHERE id = $1 AND user_id = $2",
                        (id, user_id),
                    )
                    .await?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound);
                    }
                    db::exec(
                        &mut *tx,
                        "UPDATE user_messages SET read_at = $1 WHERE id = $2 AND read_at IS NULL",
                        (now_ms, id),
                    )
                    .await?
                }
                None => db::exec(
                    &mut *tx,
                    "UPDATE user_messages SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
                    (now_ms, user_id),
                )
                .await?,
            };
        tx.commit().await?;
        Ok(n)
    }
}
