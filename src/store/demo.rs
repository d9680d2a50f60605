//! The demo marker: which rows the simulated demo history generated (`demo_items`).

use sqlx::AssertSqlSafe;

use super::db;
use super::{Store, StoreResult, Tx};

/// The tables whose rows the demo history generates, in the order an admin would remove
/// them (dependents first).
pub const DEMO_TABLES: &[&str] = &[
    "restore_drills",
    "backup_runs",
    "work_records",
    "inspection_findings",
    "inspection_tasks",
    "inspection_plans",
    "alerts",
    "tickets",
    "duty_shifts",
    "monitors",
    "staff",
    "users",
];

/// The summaries cache's key of `demo_banner`.
const DEMO_LOADED_KEY: &str = "demo.loaded";

/// How many rows are marked as demo data, per table.
const DEMO_COUNTS: &str = "SELECT tbl, COUNT(*) FROM demo_items GROUP BY tbl ORDER BY tbl";

impl Store {
    /// The highest id of each demo table now (0 for an empty table): the rows above it
    /// are the ones a generation adds.
    pub async fn demo_marks(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        let mut out = Vec::with_capacity(DEMO_TABLES.len());
        for t in DEMO_TABLES {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {t}");
            let n: i64 = db::value(self.pool(), AssertSqlSafe(sql), ()).await?;
            out.push((*t, n));
        }
        Ok(out)
    }

    /// Marks every row added since `marks` as demo data, in one transaction.
    pub async fn mark_demo_rows(&self, marks: &[(&'static str, i64)]) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let mut n = 0;
        for (t, after) in marks {
            if !DEMO_TABLES.contains(t) {
                continue;
            }
            let sql = format!(
                "INSERT INTO demo_items (tbl, row_id) SELECT '{t}', id FROM {t} WHERE id > $1"
            );
            n += db::exec(&mut *tx, AssertSqlSafe(sql), *after).await? as i64;
        }
        tx.commit().await?;
        self.caches.summaries.remove(DEMO_LOADED_KEY);
        Ok(n)
    }

    /// How many rows are marked as demo data, per table.
    pub async fn demo_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        db::all(self.pool(), DEMO_COUNTS, ()).await
    }

    /// [`Store::demo_counts`] on the caller's transaction.
    pub async fn demo_counts_in(&self, tx: &mut Tx) -> StoreResult<Vec<(String, i64)>> {
        db::all(&mut **tx, DEMO_COUNTS, ()).await
    }

    /// Whether a row is demo data.
    pub async fn is_demo_row(&self, tbl: &str, id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM demo_items WHERE tbl = $1 AND row_id = $2",
            (tbl.to_string(), id),
        )
        .await?;
        Ok(n > 0)
    }
}

impl Store {
    /// The contract's staffing slots: (assignment id, system id, duty, work mode), by id.
    pub async fn demo_slots(&self) -> StoreResult<Vec<(i64, i64, String, String)>> {
        db::all(
            self.pool(),
            "SELECT id, system_id, duty, work_mode FROM assignments ORDER BY id",
            (),
        )
        .await
    }

    /// The systems' ids and names, by id.
    pub async fn demo_systems(&self) -> StoreResult<Vec<(i64, String)>> {
        db::all(self.pool(), "SELECT id, name FROM systems ORDER BY id", ()).await
    }
}

impl Store {
    /// The backup policies' ids and data sets, by id.
    pub async fn demo_policies(&self) -> StoreResult<Vec<(i64, String)>> {
        db::all(
            self.pool(),
            "SELECT id, data_set FROM backup_policies ORDER BY id",
            (),
        )
        .await
    }

    /// The service lines' ids and names, by id.
    pub async fn demo_lines(&self) -> StoreResult<Vec<(i64, String)>> {
        db::all(
            self.pool(),
            "SELECT id, name FROM service_lines ORDER BY id",
            (),
        )
        .await
    }
}

/// The demo rows of table `t`, as a subquery (`t` is one of [`DEMO_TABLES`], from code).
fn marked(t: &str) -> String {
    debug_assert!(DEMO_TABLES.contains(&t));
    format!("(SELECT row_id FROM demo_items WHERE tbl = '{t}')")
}

/// What a removal deleted or cleared: (what, rows), in the order it happened.
pub type Removed = Vec<(&'static str, i64)>;

impl Store {
    /// `demo_loaded` for the pages' banner, asked on every page request: kept in the
    /// summaries cache (`SUMMARY_TTL`); this process's marking and removal drop it at once,
    /// another replica's show within the TTL.
    pub async fn demo_banner(&self) -> StoreResult<bool> {
        let c = &self.caches;
        if let Some(v) = c.summaries.get(DEMO_LOADED_KEY, c.now_ms()) {
            return Ok(v == "true");
        }
        let loaded = self.demo_loaded().await?;
        c.summaries
            .insert(DEMO_LOADED_KEY.to_string(), loaded.to_string(), c.now_ms());
        Ok(loaded)
    }

    /// Whether any row is marked as demo data.
    pub async fn demo_loaded(&self) -> StoreResult<bool> {
        let any: Option<i64> =
            db::maybe_value(self.pool(), "SELECT row_id FROM demo_items LIMIT 1", ()).await?;
        Ok(any.is_some())
    }

    /// Which of `ids` of table `tbl` are demo data (one query, for a list page).
    pub async fn demo_ids(
        &self,
        tbl: &str,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashSet<i64>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        // The ids are integers from the database: a literal list is safe and one query.
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT row_id FROM demo_items WHERE tbl = $1 AND row_id IN ({})",
            list.join(",")
        );
        let rows: Vec<i64> = db::values(self.pool(), AssertSqlSafe(sql), tbl.to_string()).await?;
        Ok(rows.into_iter().collect())
    }

    /// The real (unmarked) records that a removal of the demo data would leave without
    /// the person responsible for them: open tickets, open inspection tasks, active
    /// inspection plans and coming duty shifts of demo accounts, and personnel changes
    /// naming demo staff. Each as a Chinese line; at most `per_kind` per kind.
    pub async fn demo_blockers_in(
        &self,
        tx: &mut Tx,
        now_ms: i64,
        per_kind: usize,
    ) -> StoreResult<Vec<String>> {
        let users = marked("users");
        let queries: [(&str, String); 5] = [
            (
                "工单",
                format!(
                    "SELECT t.number, u.display_name FROM tickets t JOIN users u ON u.id = t.assignee_id \
                     WHERE t.assignee_id IN {users} AND t.id NOT IN {} \
                     AND t.status NOT IN ('resolved', 'closed', 'canceled') ORDER BY t.id",
                    marked("tickets")
                ),
            ),
            (
                "巡检任务",
                format!(
                    "SELECT t.template_name || ' / ' || t.target_name || ' #' || CAST(t.id AS TEXT), u.display_name \
                     FROM inspection_tasks t JOIN users u ON u.id = t.assignee_id \
                     WHERE t.assignee_id IN {users} AND t.id NOT IN {} \
                     AND t.status IN ('pending', 'in_progress') ORDER BY t.id",
                    marked("inspection_tasks")
                ),
            ),
            (
                "巡检计划",
                format!(
                    "SELECT p.name, u.display_name FROM inspection_plans p JOIN users u ON u.id = p.assignee_id \
                     WHERE p.assignee_id IN {users} AND p.id NOT IN {} AND p.active <> 0 ORDER BY p.id",
                    marked("inspection_plans")
                ),
            ),
            (
                "值班",
                format!(
                    "SELECT CAST(d.id AS TEXT), u.display_name FROM duty_shifts d JOIN users u ON u.id = d.user_id \
                     WHERE d.user_id IN {users} AND d.id NOT IN {} AND d.ends_at > $1 ORDER BY d.id",
                    marked("duty_shifts")
                ),
            ),
            (
                "人员变更",
                format!(
                    "SELECT CAST(c.id AS TEXT), s.name FROM personnel_changes c JOIN staff s \
                     ON s.id = c.leaving_staff_id OR s.id = c.joining_staff_id \
                     WHERE s.id IN {} ORDER BY c.id",
                    marked("staff")
                ),
            ),
        ];
        let mut out = Vec::new();
        for (kind, sql) in queries {
            let q = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
            let q = if kind == "值班" { q.bind(now_ms) } else { q };
            let rows = q.fetch_all(&mut **tx).await?;
            for (what, who) in rows.iter().take(per_kind) {
                out.push(match kind {
                    "值班" => format!("值班 #{what}（{who}，尚未结束）"),
                    "人员变更" => format!("人员变更 #{what}（涉及 {who}）"),
                    _ => format!("{kind} {what}（由 {who} 负责）"),
                });
            }
            if rows.len() > per_kind {
                out.push(format!("……另有 {} 项{kind}", rows.len() - per_kind));
            }
        }
        Ok(out)
    }

    /// Deletes every row marked as demo data and the rows that only exist because of
    /// them (a demo ticket's timeline, a demo monitor's results and alerts, a demo
    /// account's sessions …), dependents first, on the caller's transaction; references
    /// from real records to demo ones are cleared. The marks and the `demo.history`
    /// setting go too. The audit log is not touched. Answers what went, per table.
    pub async fn remove_demo_in(&self, tx: &mut Tx) -> StoreResult<Removed> {
        let d = |t: &str| marked(t);
        let alerts = format!(
            "(SELECT id FROM alerts WHERE id IN {} OR monitor_id IN {})",
            d("alerts"),
            d("monitors")
        );
        let tickets = d("tickets");
        let users = d("users");
        let steps: Vec<(&'static str, String)> = vec![
            // Backups: evidence files of demo runs and drills, then the runs and drills.
            (
                "backup_evidence_files",
                format!(
                    "DELETE FROM backup_evidence_files WHERE drill_id IN {} OR run_id IN {}",
                    d("restore_drills"),
                    d("backup_runs")
                ),
            ),
            (
                "restore_drills",
                format!(
                    "DELETE FROM restore_drills WHERE id IN {}",
                    d("restore_drills")
                ),
            ),
            (
                "backup_runs",
                format!("DELETE FROM backup_runs WHERE id IN {}", d("backup_runs")),
            ),
            (
                "work_records",
                format!("DELETE FROM work_records WHERE id IN {}", d("work_records")),
            ),
            // Inspections.
            (
                "inspection_photos",
                format!(
                    "DELETE FROM inspection_photos WHERE task_id IN {}",
                    d("inspection_tasks")
                ),
            ),
            (
                "inspection_findings",
                format!(
                    "DELETE FROM inspection_findings WHERE id IN {} OR task_id IN {}",
                    d("inspection_findings"),
                    d("inspection_tasks")
                ),
            ),
            (
                "inspection_tasks",
                format!(
                    "DELETE FROM inspection_tasks WHERE id IN {}",
                    d("inspection_tasks")
                ),
            ),
            (
                "inspection_tasks.plan_id",
                format!(
                    "UPDATE inspection_tasks SET plan_id = NULL WHERE plan_id IN {}",
                    d("inspection_plans")
                ),
            ),
            (
                "inspection_plans",
                format!(
                    "DELETE FROM inspection_plans WHERE id IN {}",
                    d("inspection_plans")
                ),
            ),
            // Alerts: the demo's, and any a demo monitor raised since.
            (
                "alert_events",
                format!("DELETE FROM alert_events WHERE alert_id IN {alerts}"),
            ),
            ("alerts", format!("DELETE FROM alerts WHERE id IN {alerts}")),
            // Tickets: their timeline, clocks, links, comments, work logs, attachments,
            // notifications, messages and search entries; real records' references cleared.
            (
                "ticket_events",
                format!("DELETE FROM ticket_events WHERE ticket_id IN {tickets}"),
            ),
            (
                "sla_clock_events",
                format!("DELETE FROM sla_clock_events WHERE ticket_id IN {tickets}"),
            ),
            (
                "ticket_links",
                format!(
                    "DELETE FROM ticket_links WHERE ticket_id IN {tickets} OR other_id IN {tickets}"
                ),
            ),
            (
                "ticket_comments",
                format!("DELETE FROM ticket_comments WHERE ticket_id IN {tickets}"),
            ),
            (
                "worklogs",
                format!("DELETE FROM worklogs WHERE ticket_id IN {tickets}"),
            ),
            (
                "attachments",
                format!("DELETE FROM attachments WHERE ticket_id IN {tickets}"),
            ),
            (
                "notification_outbox",
                format!("DELETE FROM notification_outbox WHERE ticket_id IN {tickets}"),
            ),
            (
                "user_messages",
                format!(
                    "DELETE FROM user_messages WHERE ticket_id IN {tickets} OR user_id IN {users}"
                ),
            ),
            (
                "search_docs",
                format!(
                    "DELETE FROM search_docs WHERE (kind = 'ticket' AND ref_id IN {tickets}) \
                     OR (kind = 'staff' AND ref_id IN {})",
                    d("staff")
                ),
            ),
            (
                "inspection_findings.ticket_id",
                format!(
                    "UPDATE inspection_findings SET ticket_id = NULL WHERE ticket_id IN {tickets}"
                ),
            ),
            (
                "work_records.ticket_id",
                format!("UPDATE work_records SET ticket_id = NULL WHERE ticket_id IN {tickets}"),
            ),
            (
                "alerts.ticket_id",
                format!("UPDATE alerts SET ticket_id = NULL WHERE ticket_id IN {tickets}"),
            ),
            (
                "tickets",
                format!("DELETE FROM tickets WHERE id IN {tickets}"),
            ),
            (
                "duty_shifts",
                format!(
                    "DELETE FROM duty_shifts WHERE id IN {} OR user_id IN {users}",
                    d("duty_shifts")
                ),
            ),
            // Monitors: their results, rollups, state changes and maintenance windows.
            (
                "monitor_results",
                format!(
                    "DELETE FROM monitor_results WHERE monitor_id IN {}",
                    d("monitors")
                ),
            ),
            (
                "monitor_rollups",
                format!(
                    "DELETE FROM monitor_rollups WHERE monitor_id IN {}",
                    d("monitors")
                ),
            ),
            (
                "monitor_daily",
                format!(
                    "DELETE FROM monitor_daily WHERE monitor_id IN {}",
                    d("monitors")
                ),
            ),
            (
                "monitor_state_changes",
                format!(
                    "DELETE FROM monitor_state_changes WHERE monitor_id IN {}",
                    d("monitors")
                ),
            ),
            (
                "maintenance_windows",
                format!(
                    "DELETE FROM maintenance_windows WHERE monitor_id IN {}",
                    d("monitors")
                ),
            ),
            (
                "monitors.depends_on",
                format!(
                    "UPDATE monitors SET depends_on = NULL WHERE depends_on IN {}",
                    d("monitors")
                ),
            ),
            (
                "monitors",
                format!("DELETE FROM monitors WHERE id IN {}", d("monitors")),
            ),
            // Staff: certificates, documents, the slots they filled (open again).
            (
                "staff_certificates",
                format!(
                    "DELETE FROM staff_certificates WHERE staff_id IN {}",
                    d("staff")
                ),
            ),
            (
                "staff_documents",
                format!(
                    "DELETE FROM staff_documents WHERE staff_id IN {}",
                    d("staff")
                ),
            ),
            (
                "assignments.staff_id",
                format!(
                    "UPDATE assignments SET staff_id = NULL WHERE staff_id IN {}",
                    d("staff")
                ),
            ),
            (
                "staff",
                format!("DELETE FROM staff WHERE id IN {}", d("staff")),
            ),
            // Accounts: sessions, tokens, password history; real records' references
            // to them cleared (the names kept beside the ids stay readable).
            (
                "sessions",
                format!("DELETE FROM sessions WHERE user_id IN {users}"),
            ),
            (
                "api_tokens",
                format!("DELETE FROM api_tokens WHERE user_id IN {users}"),
            ),
            (
                "password_history",
                format!("DELETE FROM password_history WHERE user_id IN {users}"),
            ),
            (
                "staff.user_id",
                format!("UPDATE staff SET user_id = NULL WHERE user_id IN {users}"),
            ),
            (
                "tickets.requester_id",
                format!("UPDATE tickets SET requester_id = NULL WHERE requester_id IN {users}"),
            ),
            (
                "tickets.assignee_id",
                format!("UPDATE tickets SET assignee_id = NULL WHERE assignee_id IN {users}"),
            ),
            (
                "inspection_plans.assignee_id",
                format!(
                    "UPDATE inspection_plans SET assignee_id = NULL WHERE assignee_id IN {users}"
                ),
            ),
            (
                "inspection_tasks.assignee_id",
                format!(
                    "UPDATE inspection_tasks SET assignee_id = NULL WHERE assignee_id IN {users}"
                ),
            ),
            (
                "inspection_tasks.reviewer_id",
                format!(
                    "UPDATE inspection_tasks SET reviewer_id = NULL WHERE reviewer_id IN {users}"
                ),
            ),
            (
                "work_records.confirmed_by",
                format!(
                    "UPDATE work_records SET confirmed_by = NULL WHERE confirmed_by IN {users}"
                ),
            ),
            ("users", format!("DELETE FROM users WHERE id IN {users}")),
            ("demo_items", "DELETE FROM demo_items".to_string()),
        ];
        let mut out = Vec::new();
        // The service lines' operations staff (a JSON array of account ids) forget demo
        // accounts; done before the accounts go, while their marks still say which.
        let demo_users: std::collections::HashSet<i64> = db::values(
            &mut **tx,
            "SELECT row_id FROM demo_items WHERE tbl = 'users'",
            (),
        )
        .await?
        .into_iter()
        .collect();
        let lines: Vec<(i64, String)> =
            db::all(&mut **tx, "SELECT id, staff_ids FROM service_lines", ()).await?;
        let mut lines_changed = 0;
        for (id, staff) in lines {
            let ids: Vec<i64> = serde_json::from_str(&staff).unwrap_or_default();
            let kept: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|u| !demo_users.contains(u))
                .collect();
            if kept.len() != ids.len() {
                db::exec(
                    &mut **tx,
                    "UPDATE service_lines SET staff_ids = $1 WHERE id = $2",
                    (
                        serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()),
                        id,
                    ),
                )
                .await?;
                lines_changed += 1;
            }
        }
        if lines_changed > 0 {
            out.push(("service_lines.staff_ids", lines_changed));
        }
        for (what, sql) in steps {
            let n = db::exec(&mut **tx, AssertSqlSafe(sql), ()).await? as i64;
            if n > 0 {
                out.push((what, n));
            }
        }
        self.delete_setting_in(tx, "demo.history").await?;
        Ok(out)
    }

    /// Drops what the read caches hold (after a removal of many rows at once).
    pub fn clear_read_caches(&self) {
        self.caches.pages.clear();
        self.caches.counts.clear();
        self.caches.credentials.clear();
        self.caches.summaries.clear();
    }
}

impl Store {
    /// The ids of table `tbl`'s demo rows.
    pub async fn demo_row_ids(&self, tbl: &str) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT row_id FROM demo_items WHERE tbl = $1 ORDER BY row_id",
            tbl.to_string(),
        )
        .await
    }
}
