//! Alert rows and their events.

use sqlx::AssertSqlSafe;

use crate::store::db;
use crate::store::desk::Tx;
use crate::store::entities::Arg;
use crate::store::{Store, StoreResult};

use super::{ALERT_COLS, AlertEventRow, AlertRow};

impl Store {
    // ---- alerts ------------------------------------------------------------------------

    pub async fn alert_by_key_tx(&self, tx: &mut Tx, key: &str) -> StoreResult<Option<AlertRow>> {
        let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE dedup_key = $1");
        db::maybe(&mut **tx, AssertSqlSafe(sql), key.to_string()).await
    }

    /// The keys of the open (not resolved) alerts whose key starts with `prefix`.
    pub async fn open_alert_keys_with_prefix(&self, prefix: &str) -> StoreResult<Vec<String>> {
        let like = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        db::values(
            self.pool(),
            "SELECT dedup_key FROM alerts WHERE dedup_key LIKE $1 ESCAPE '\\' \
             AND status <> 'resolved' ORDER BY id",
            like,
        )
        .await
    }

    pub async fn alert(&self, id: i64) -> StoreResult<AlertRow> {
        let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    pub async fn alert_tx(&self, tx: &mut Tx, id: i64) -> StoreResult<AlertRow> {
        let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_alert(
        &self,
        tx: &mut Tx,
        key: &str,
        source: &str,
        integration_id: Option<i64>,
        monitor_id: Option<i64>,
        system_id: Option<i64>,
        asset_id: Option<i64>,
        priority: &str,
        title: &str,
        description: Option<&str>,
        labels: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO alerts (dedup_key, source, integration_id, monitor_id, system_id, asset_id, status, priority, title, \
             description, labels, episodes, fire_count, started_at, last_fired_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, 1, 1, $11, $11, $11, $11) RETURNING id",
        )
        .bind(key.to_string())
        .bind(source.to_string())
        .bind(integration_id)
        .bind(monitor_id)
        .bind(system_id)
        .bind(asset_id)
        .bind(priority.to_string())
        .bind(title.to_string())
        .bind(description.map(str::to_string))
        .bind(labels)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// A firing alert fired again: one more firing, now the last.
    pub async fn record_alert_refire(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "fire_count = fire_count + 1, last_fired_at = $1",
            now_ms,
            &[],
        )
        .await
    }

    /// A resolved alert fires again: a new episode starting now, unacknowledged and not
    /// escalated, with the firing's title, priority and description.
    pub async fn reopen_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        title: &str,
        priority: &str,
        description: Option<&str>,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "status = 'firing', episodes = episodes + 1, fire_count = fire_count + 1, started_at = $1, \
             last_fired_at = $1, resolved_at = NULL, acknowledged_at = NULL, acknowledged_by = NULL, \
             escalated_at = NULL, title = $3, priority = $4, description = $5",
            now_ms,
            &[
                Arg::Text(Some(title.to_string())),
                Arg::Text(Some(priority.to_string())),
                Arg::Text(description.map(str::to_string)),
            ],
        )
        .await
    }

    pub async fn resolve_alert(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(tx, id, "status = 'resolved', resolved_at = $1", now_ms, &[])
            .await
    }

    pub async fn acknowledge_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        by: &str,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $3",
            now_ms,
            &[Arg::Text(Some(by.to_string()))],
        )
        .await
    }

    /// Silences notifications about an alert until `until_ms`.
    pub async fn silence_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        now_ms: i64,
        until_ms: i64,
        reason: &str,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "silenced_until = $3, silence_reason = $4",
            now_ms,
            &[
                Arg::Int(Some(until_ms)),
                Arg::Text(Some(reason.to_string())),
            ],
        )
        .await
    }

    pub async fn mark_alert_escalated(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        self.update_alert(tx, id, "escalated_at = $1", now_ms, &[])
            .await
    }

    /// Links an alert to the ticket opened for it.
    pub async fn set_alert_ticket(
        &self,
        tx: &mut Tx,
        id: i64,
        ticket_id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.update_alert(
            tx,
            id,
            "ticket_id = $3",
            now_ms,
            &[Arg::Int(Some(ticket_id))],
        )
        .await
    }

    /// Runs an UPDATE on one alert with `$1` = now and `$2` = id, plus extra arguments;
    /// `set_sql` is always one of the constants above, never a caller's text.
    async fn update_alert(
        &self,
        tx: &mut Tx,
        id: i64,
        set_sql: &'static str,
        now_ms: i64,
        extra: &[Arg],
    ) -> StoreResult<()> {
        let mut args = vec![Arg::Int(Some(now_ms)), Arg::Int(Some(id))];
        args.extend_from_slice(extra);
        super::entities::bind_query(
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE alerts SET updated_at = $1, {set_sql} WHERE id = $2"
            ))),
            &args,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records an alert event; answers false when its idempotency key was seen before.
    pub async fn add_alert_event(
        &self,
        tx: &mut Tx,
        alert_id: i64,
        at: i64,
        kind: &str,
        summary: &str,
        key: Option<&str>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO alert_events (alert_id, at, kind, summary, idempotency_key) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(alert_id)
        .bind(at)
        .bind(kind.to_string())
        .bind(summary.to_string())
        .bind(key.map(str::to_string))
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    pub async fn alert_event_seen(&self, tx: &mut Tx, key: &str) -> StoreResult<bool> {
        let n: Option<i64> = db::maybe_value(
            &mut **tx,
            "SELECT id FROM alert_events WHERE idempotency_key = $1",
            key.to_string(),
        )
        .await?;
        Ok(n.is_some())
    }

    pub async fn alert_events(&self, alert_id: i64) -> StoreResult<Vec<AlertEventRow>> {
        db::all(
            self.pool(),
            "SELECT id, at, kind, summary FROM alert_events WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )
        .await
    }

    pub async fn list_alerts(
        &self,
        status: Option<&str>,
        source: Option<&str>,
        system_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<AlertRow>, i64)> {
        let mut wh = vec!["1=1".to_string()];
        let mut args = Vec::new();
        match status {
            Some("open") => wh.push("status <> 'resolved'".into()),
            Some(s) => {
                args.push(Arg::Text(Some(s.to_string())));
                wh.push(format!("status = ${}", args.len()));
            }
            None => {}
        }
        if let Some(s) = source {
            args.push(Arg::Text(Some(s.to_string())));
            wh.push(format!("source = ${}", args.len()));
        }
        if let Some(s) = system_id {
            args.push(Arg::Int(Some(s)));
            wh.push(format!("system_id = ${}", args.len()));
        }
        self.list_page(
            &format!("SELECT {ALERT_COLS} FROM alerts"),
            "alerts",
            &format!(" WHERE {}", wh.join(" AND ")),
            &args,
            "last_fired_at DESC, id DESC",
            (limit, offset),
        )
        .await
    }

    /// Firing alerts nobody acknowledged since `before` and not yet escalated.
    pub async fn alerts_to_escalate(&self, before: i64, now_ms: i64) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE status = 'firing' AND escalated_at IS NULL AND started_at <= $1 \
             AND (silenced_until IS NULL OR silenced_until <= $2) ORDER BY id"
        );
        db::all(self.pool(), AssertSqlSafe(sql), (before, now_ms)).await
    }

    /// Alerts of a ticket still firing: acknowledging the ticket acknowledges them.
    pub async fn acknowledge_alerts_of_ticket(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        who: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<i64>> {
        let ids: Vec<i64> = db::values(
            &mut **tx,
            "SELECT id FROM alerts WHERE ticket_id = $1 AND status = 'firing'",
            ticket_id,
        )
        .await?;
        for id in &ids {
            db::exec(
                &mut **tx,
                "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1 WHERE id = $3",
                (now_ms, who.to_string(), *id),
            )
            .await?;
            self.add_alert_event(
                tx,
                *id,
                now_ms,
                "acknowledged",
                &format!("{who} 受理工单，告警已确认"),
                None,
            )
            .await?;
        }
        Ok(ids)
    }

    pub async fn open_alert_for_monitor(&self, monitor_id: i64) -> StoreResult<bool> {
        let n: Option<i64> = db::maybe_value(
            self.pool(),
            "SELECT id FROM alerts WHERE dedup_key = $1 AND status <> 'resolved'",
            format!("monitor:{monitor_id}"),
        )
        .await?;
        Ok(n.is_some())
    }
}
