//! Ticket rows: numbering, insert, SLA fields, reads, lists and the indicator columns.

use sqlx::AssertSqlSafe;

use crate::domain::sla::{ClockEvent, ClockTarget};
use crate::store::audit::NewAuditEvent;
use crate::store::db;
use crate::store::entities::Arg;
use crate::store::{Actor, Store, StoreError, StoreResult};

use super::{
    NewTicket, SlaFields, TICKET_COLUMNS, TICKET_SELECT, TicketFilter, TicketPage, TicketPageQuery,
    TicketRow, Tx, ms, ticket_where,
};

/// The column of a PostgreSQL commit's answer that carries the number
/// [`Store::finalize_ticket_number_pg`] drew.
pub const NUMBER_COLUMN: &str = "ticket_number";

impl Store {
    // ---- tickets ---------------------------------------------------------------------

    /// The next human number of the day: `INC-20251015-0001`.
    pub async fn next_ticket_number(
        &self,
        tx: &mut Tx,
        prefix: &str,
        day: &str,
    ) -> StoreResult<String> {
        let n: i64 = db::value(
            &mut **tx,
            "INSERT INTO ticket_counters (day, n) VALUES ($1, 1) ON CONFLICT (day) DO UPDATE SET n = ticket_counters.n + 1 RETURNING n",
            day.to_string(),
        )
        .await?;
        Ok(format!("{prefix}-{day}-{n:04}"))
    }

    pub async fn insert_ticket(
        &self,
        tx: &mut Tx,
        number: &str,
        t: &NewTicket,
        now_ms: i64,
    ) -> StoreResult<TicketRow> {
        // The row as stored, defaults included, comes back from the insert; the names of
        // what it refers to are the caller's (they are not columns of the ticket).
        let row: TicketRow = sqlx::query_as(
            "INSERT INTO tickets (number, kind, change_type, title, description, system_id, asset_id, category, source, \
             requester_id, requester_name, requester_contact, reported_at, impact, urgency, priority, assignee_id, status, \
             sla_policy_id, calendar_id, created_by, created_at, updated_at, response_due_at, onsite_due_at, \
             resolve_due_at, sla_breached, sla_next_check_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, \
             $23, $24, $25, $26, $27) RETURNING *, CAST(NULL AS TEXT) AS system_name, \
             CAST(NULL AS TEXT) AS asset_name, CAST(NULL AS TEXT) AS assignee_name, \
             CAST(NULL AS TEXT) AS requester_username",
        )
        .bind(number.to_string())
        .bind(t.kind.clone())
        .bind(t.change_type.clone())
        .bind(t.title.clone())
        .bind(t.description.clone())
        .bind(t.system_id)
        .bind(t.asset_id)
        .bind(t.category.clone())
        .bind(t.source.clone())
        .bind(t.requester_id)
        .bind(t.requester_name.clone())
        .bind(t.requester_contact.clone())
        .bind(t.reported_at)
        .bind(t.impact.clone())
        .bind(t.urgency.clone())
        .bind(t.priority.clone())
        .bind(t.assignee_id)
        .bind(t.status.clone())
        .bind(t.sla_policy_id)
        .bind(t.calendar_id)
        .bind(t.created_by)
        .bind(now_ms)
        .bind(t.sla.response_due_at)
        .bind(t.sla.onsite_due_at)
        .bind(t.sla.resolve_due_at)
        .bind(i64::from(t.sla.breached))
        .bind(t.sla.next_check_at)
        .fetch_one(&mut **tx)
        .await?;
        // The search index follows on the same transaction.
        self.index_new_ticket_in(
            tx,
            row.id,
            number,
            &t.title,
            t.description.as_deref(),
            t.requester_id,
            &t.status,
            now_ms,
        )
        .await?;
        Ok(row)
    }

    /// PostgreSQL: draws the day's next number, puts it in place of `provisional` in the
    /// ticket, its timeline, its in-app messages, its outbox rows and its search entry, and
    /// appends the creation's audit record with the number in its summary and `after`, all
    /// in one call (of `ticket_finalize`, migrations/postgres/0037) held for the commit's
    /// round trip ([`Tx::run_at_commit`]): the day's counter row and the audit chain's head
    /// are taken there and released by the `COMMIT` right after, with nothing of the
    /// creation running while they are held.
    /// [`NUMBER_COLUMN`] of the commit's answer ([`Tx::commit_returning`]) is the number.
    #[allow(clippy::too_many_arguments)]
    pub async fn finalize_ticket_number_pg(
        &self,
        tx: &mut Tx,
        id: i64,
        prefix: &str,
        day: &str,
        provisional: &str,
        now_ms: i64,
        actor: &Actor,
        audit: NewAuditEvent,
    ) -> StoreResult<()> {
        use crate::store::sql::pg_lit::{int, text};
        // migrations/postgres/0037_ticket_finalize.sql.
        let sql = format!(
            "SELECT ticket_finalize({}, {}, {}, {}, {}) AS {NUMBER_COLUMN}",
            text(day),
            text(prefix),
            int(id),
            text(provisional),
            crate::store::audit::pg_literals(now_ms, actor, &audit).join(", ")
        );
        tx.run_at_commit(sql).await
    }

    /// Stores the SLA fields of a ticket.
    pub async fn set_sla_fields(
        &self,
        tx: &mut Tx,
        id: i64,
        f: &SlaFields,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.update_ticket_fields(
            tx,
            id,
            &[
                ("response_due_at", Arg::Int(f.response_due_at)),
                ("onsite_due_at", Arg::Int(f.onsite_due_at)),
                ("resolve_due_at", Arg::Int(f.resolve_due_at)),
                ("sla_breached", Arg::Int(Some(i64::from(f.breached)))),
                ("sla_next_check_at", Arg::Int(f.next_check_at)),
            ],
            now_ms,
        )
        .await
    }

    /// The SLA warnings and breaches already on a ticket's timeline, as (kind, marker).
    pub async fn sla_markers_in(
        conn: &mut crate::store::Conn,
        ticket_id: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        db::all(
            &mut *conn,
            "SELECT kind, data FROM ticket_events WHERE ticket_id = $1 \
             AND kind IN ('sla_warning', 'sla_breached') AND data IS NOT NULL",
            ticket_id,
        )
        .await
    }

    /// Adds clock events in one statement.
    pub async fn add_clock_events(
        &self,
        tx: &mut Tx,
        ticket_id: i64,
        events: &[(ClockTarget, ClockEvent)],
    ) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason) VALUES ",
        );
        let mut args = Vec::new();
        for (i, (target, e)) in events.iter().enumerate() {
            let b = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            args.push(Arg::Int(Some(ticket_id)));
            args.push(Arg::Text(Some(target.as_str().to_string())));
            args.push(Arg::Text(Some(e.kind.as_str().to_string())));
            args.push(Arg::Int(Some(ms(e.at))));
            args.push(Arg::Int(e.target_seconds));
            args.push(Arg::Text(Some(e.reason.clone())));
        }
        db::exec(&mut **tx, AssertSqlSafe(sql), args).await?;
        Ok(())
    }

    pub async fn ticket(&self, id: i64) -> StoreResult<TicketRow> {
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1");
        db::one(self.pool(), AssertSqlSafe(sql), id).await
    }

    /// The ticket, locked for the rest of the transaction on PostgreSQL (SQLite's single
    /// writer already excludes other writers).
    pub async fn ticket_for_update(&self, tx: &mut Tx, id: i64) -> StoreResult<TicketRow> {
        let lock = match self.backend {
            // NO KEY: rows that merely reference the ticket (links, alerts) may still be
            // inserted meanwhile.
            crate::store::Backend::Postgres => " FOR NO KEY UPDATE OF t",
            crate::store::Backend::Sqlite => "",
        };
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1{lock}");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// The role of an active account, read on `conn`.
    pub async fn active_role_in(
        conn: &mut crate::store::Conn,
        id: i64,
    ) -> StoreResult<Option<String>> {
        db::maybe_value(
            &mut *conn,
            "SELECT role FROM users WHERE id = $1 AND disabled = 0",
            id,
        )
        .await
    }

    pub async fn ticket_tx(&self, tx: &mut Tx, id: i64) -> StoreResult<TicketRow> {
        let sql = format!("{TICKET_SELECT} WHERE t.id = $1");
        db::one(&mut **tx, AssertSqlSafe(sql), id).await
    }

    /// Sets columns of a ticket (names come from code, never from input).
    pub async fn update_ticket_fields(
        &self,
        tx: &mut Tx,
        id: i64,
        fields: &[(&str, Arg)],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut sets = Vec::new();
        let mut args = Vec::new();
        for (name, a) in fields {
            args.push(a.clone());
            sets.push(format!("{name} = ${}", args.len()));
        }
        args.push(Arg::Int(Some(now_ms)));
        sets.push(format!("updated_at = ${}", args.len()));
        args.push(Arg::Int(Some(id)));
        let sql = format!(
            "UPDATE tickets SET {} WHERE id = ${}",
            sets.join(", "),
            args.len()
        );
        db::exec(&mut **tx, AssertSqlSafe(sql), args).await?;
        // The search index follows on the same transaction when its text, state or
        // requester changed.
        if fields.iter().any(|(name, _)| {
            matches!(
                *name,
                "title" | "description" | "resolution" | "status" | "requester_id" | "number"
            )
        }) {
            self.index_ticket_in(tx, id, now_ms).await?;
        }
        Ok(())
    }

    /// A page of the ticket list, newest first, with the filter's total. See
    /// [`TicketPageQuery`] for offset and keyset (`after`) paging.
    pub async fn list_tickets(
        &self,
        f: &TicketFilter,
        page: TicketPageQuery,
    ) -> StoreResult<TicketPage> {
        let (wh, args) = ticket_where(f);
        let where_sql = wh.join(" AND ");
        // One row more than asked tells whether a next page exists.
        let fetch = page.limit + 1;
        let page_key = format!(
            "{where_sql}|{args:?}|{fetch}|{}|{:?}",
            page.offset, page.after
        );
        let count_sql = format!("SELECT COUNT(*) FROM tickets t WHERE {where_sql}");
        let count_key = format!("{count_sql}|{args:?}");
        let current = self.row_version("tickets").await?;
        let cached = |s: &Self| {
            s.cached_page(&page_key, current)
                .zip(s.cached_count(&count_key, current))
        };
        let (mut rows, total) = match cached(self) {
            Some((rows, total)) => (rows.as_ref().clone(), total),
            None => {
                // One rebuild per page at a time: requests arriving meanwhile wait for it
                // instead of all running the same page query and count after a write.
                let gate = self.page_gate(&page_key);
                let _turn = gate.lock().await;
                match cached(self) {
                    Some((rows, total)) => (rows.as_ref().clone(), total),
                    None => {
                        let (rows, version, row_count) = self
                            .ticket_rows(&where_sql, &args, page.after, fetch, page.offset)
                            .await?;
                        let version = match version {
                            Some(v) => v,
                            None => self.row_version("tickets").await?,
                        };
                        let rows = std::sync::Arc::new(rows);
                        self.cache_page(page_key, version, rows.clone());
                        let total = match self.cached_count(&count_key, version) {
                            Some(n) => n,
                            // The whole table: its size is kept by triggers.
                            None if wh.len() == 1 && row_count.is_some() => {
                                let n = row_count.unwrap_or(0);
                                self.cache_count(count_key, version, n);
                                n
                            }
                            None => {
                                let n: i64 =
                                    db::value(&self.pool, AssertSqlSafe(count_sql), &args[..])
                                        .await?;
                                self.cache_count(count_key, version, n);
                                n
                            }
                        };
                        (
                            std::sync::Arc::try_unwrap(rows).unwrap_or_else(|a| a.as_ref().clone()),
                            total,
                        )
                    }
                }
            }
        };
        let next_cursor = if rows.len() as i64 > page.limit {
            rows.truncate(page.limit as usize);
            rows.last().map(|t| t.id)
        } else {
            None
        };
        Ok(TicketPage {
            rows,
            total,
            next_cursor,
        })
    }

    /// Up to `n` tickets matching `f` older than the ticket `before` (all when `None`),
    /// newest first: one batch of an export, which walks the list by id so every batch is
    /// an indexed range and memory stays at one batch whatever the table's size.
    pub async fn ticket_export_batch(
        &self,
        f: &TicketFilter,
        before: Option<i64>,
        n: i64,
    ) -> StoreResult<Vec<TicketRow>> {
        let (wh, args) = ticket_where(f);
        let (rows, _, _) = self
            .ticket_rows(&wh.join(" AND "), &args, before, n, 0)
            .await?;
        Ok(rows)
    }

    /// Rows of the list in one statement, newest first, with the table's row version and
    /// size. The page's ids are found first by a scan that needs only ids (the primary key,
    /// or a filter's index, which ends in the id), so a deep offset steps over index
    /// entries instead of building rows; then only those rows are read. They travel as one
    /// JSON array in one row: many small rows are many messages between sqlx's SQLite worker
    /// and the request.
    async fn ticket_rows(
        &self,
        where_sql: &str,
        args: &[Arg],
        after: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<TicketRow>, Option<i64>, Option<i64>)> {
        let mut args = args.to_vec();
        let mut where_sql = where_sql.to_string();
        if let Some(a) = after {
            args.push(Arg::Int(Some(a)));
            where_sql.push_str(&format!(" AND t.id < ${}", args.len()));
        }
        let n = args.len();
        // The list never shows the fault report (the largest column); the detail reads it.
        let pairs: Vec<String> = TICKET_COLUMNS
            .iter()
            .filter(|c| **c != "fault_report")
            .map(|c| format!("'{c}', t.{c}"))
            .chain([
            "'system_name', (SELECT s.name FROM systems s WHERE s.id = t.system_id)".to_string(),
            "'asset_name', (SELECT a.name FROM assets a WHERE a.id = t.asset_id)".to_string(),
            "'assignee_name', (SELECT u.display_name FROM users u WHERE u.id = t.assignee_id)".to_string(),
            "'requester_username', (SELECT u.username FROM users u WHERE u.id = t.requester_id)".to_string(),
        ]).collect();
        let agg = match self.backend {
            crate::store::Backend::Sqlite => format!(
                "json_group_array(json_object({}) ORDER BY t.id DESC)",
                pairs.join(", ")
            ),
            crate::store::Backend::Postgres => format!(
                "CAST(json_agg(json_build_object({}) ORDER BY t.id DESC) AS TEXT)",
                pairs.join(", ")
            ),
        };
        let sql = format!(
            "SELECT {agg}, (SELECT v.version FROM row_versions v WHERE v.name = 'tickets'), \
             (SELECT v.row_count FROM row_versions v WHERE v.name = 'tickets') \
             FROM tickets t WHERE t.id IN \
             (SELECT t.id FROM tickets t WHERE {where_sql} ORDER BY t.id DESC LIMIT ${} OFFSET ${})",
            n + 1,
            n + 2
        );
        args.extend([Arg::Int(Some(limit)), Arg::Int(Some(offset))]);
        let (items, version, row_count): (Option<String>, Option<i64>, Option<i64>) =
            db::row(self.pool(), AssertSqlSafe(sql), args).await?;
        let rows: Vec<TicketRow> = match items.as_deref() {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("ticket list JSON: {e}")))?,
            None => Vec::new(),
        };
        Ok((rows, version, row_count))
    }

    /// Open tickets whose SLA check time has come, for the SLA monitor.
    pub async fn tickets_due_for_sla_check(&self, now_ms: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT id FROM tickets WHERE sla_next_check_at IS NOT NULL AND sla_next_check_at <= $1 \
             AND status NOT IN ('closed', 'canceled') ORDER BY sla_next_check_at LIMIT 1000",
            now_ms,
        )
        .await
    }

    /// Resolved tickets whose resolution is older than `before_ms` (for auto-close).
    pub async fn resolved_before(&self, before_ms: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at < $1 ORDER BY id",
            before_ms,
        )
        .await
    }
}

impl Store {
    /// The columns the desk indicators need, for tickets reported in `[from, to)`.
    /// Whether any ticket was reported in [from, to).
    pub async fn any_ticket_reported(&self, from_ms: i64, to_ms: i64) -> StoreResult<bool> {
        let n: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE reported_at >= $1 AND reported_at < $2 LIMIT 1) x",
            (from_ms, to_ms),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn ticket_stat_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::domain::desk_stats::StatRow>> {
        Ok(self
            .ticket_report_rows(from_ms, to_ms)
            .await?
            .into_iter()
            .map(|t| t.stat)
            .collect())
    }

    /// The tickets reported in [from, to) with what the indicators and the 运维月报 need.
    pub async fn ticket_report_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::domain::om::TicketFact>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            kind: String,
            status: String,
            priority: String,
            system: Option<String>,
            assignee: Option<String>,
            reported_at: i64,
            first_response_at: Option<i64>,
            onsite_at: Option<i64>,
            resolved_at: Option<i64>,
            reopen_count: i64,
            sla_breached: i64,
            satisfaction: Option<i64>,
            onsite_waived: i64,
            onsite_target_seconds: Option<i64>,
            number: String,
            title: String,
            source: String,
            category: Option<String>,
            change_type: Option<String>,
        }
        let rows: Vec<Row> = db::all(
            self.pool(),
            "SELECT t.kind, t.status, t.priority, \
             (SELECT s.name FROM systems s WHERE s.id = t.system_id) AS system, \
             (SELECT u.display_name FROM users u WHERE u.id = t.assignee_id) AS assignee, \
             t.reported_at, t.first_response_at, t.onsite_at, t.resolved_at, t.reopen_count, t.sla_breached, t.satisfaction, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM sla_clock_events e WHERE e.ticket_id = t.id AND e.target = 'onsite' AND e.kind = 'waive') THEN 1 ELSE 0 END AS BIGINT) AS onsite_waived, \
             (SELECT e.target_seconds FROM sla_clock_events e WHERE e.ticket_id = t.id AND e.target = 'onsite' AND e.target_seconds IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS onsite_target_seconds, \
             t.number, t.title, t.source, t.category, t.change_type \
             FROM tickets t WHERE t.reported_at >= $1 AND t.reported_at < $2 ORDER BY t.id",
            (from_ms, to_ms),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::domain::om::TicketFact {
                stat: crate::domain::desk_stats::StatRow {
                    kind: r.kind,
                    status: r.status,
                    priority: r.priority,
                    system: r.system,
                    assignee: r.assignee,
                    reported_at: r.reported_at,
                    first_response_at: r.first_response_at,
                    onsite_at: r.onsite_at,
                    resolved_at: r.resolved_at,
                    reopen_count: r.reopen_count,
                    sla_breached: r.sla_breached != 0,
                    satisfaction: r.satisfaction,
                    onsite_waived: r.onsite_waived != 0,
                    onsite_target_min: r.onsite_target_seconds.map(|s| s / 60),
                },
                number: r.number,
                title: r.title,
                source: r.source,
                category: r.category,
                change_type: r.change_type,
            })
            .collect())
    }
}
