//! The wall display (大屏) and the system 360° page: display links (migration 0030) and the
//! few aggregate reads those pages need that no other module has.

use sqlx::FromRow;

use super::db;
use super::{Store, StoreResult, Tx};

/// A read-only link to the wall display. The token itself is never stored.
#[derive(Clone, Debug, FromRow)]
pub struct DisplayLinkRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const LINK_SELECT: &str = "SELECT l.id, l.name, l.description, l.created_by, \
     u.display_name AS created_by_name, l.created_at, l.revoked_at, l.last_used_at \
     FROM display_links l LEFT JOIN users u ON u.id = l.created_by";

/// A ticket as the 360° page lists it.
#[derive(Clone, Debug, FromRow)]
pub struct TicketBrief {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub title: String,
    pub priority: String,
    pub status: String,
    pub sla_breached: i64,
    pub reported_at: i64,
    pub resolve_due_at: Option<i64>,
    pub assignee_name: Option<String>,
}

/// An inspection task as the 360° page lists it.
#[derive(Clone, Debug, FromRow)]
pub struct InspectionBrief {
    pub id: i64,
    pub template_name: String,
    pub target_name: String,
    pub status: String,
    pub round_at: i64,
    pub submitted_at: Option<i64>,
    pub findings: i64,
}

/// Who is on call at a time.
#[derive(Clone, Debug, FromRow)]
pub struct OnCallRow {
    pub name: String,
    pub role: String,
    pub ends_at: i64,
}

/// A machine room (site) with its equipment count.
#[derive(Clone, Debug, FromRow)]
pub struct SiteBrief {
    pub id: i64,
    pub name: String,
    pub assets: i64,
}

const OPEN: &str = "status NOT IN ('resolved', 'closed', 'canceled')";

impl Store {
    pub async fn insert_display_link(
        &self,
        tx: &mut Tx,
        name: &str,
        description: Option<&str>,
        token_hash: &str,
        created_by: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO display_links (name, description, token_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name.to_string())
        .bind(description.map(str::to_string))
        .bind(token_hash.to_string())
        .bind(created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn display_link_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> StoreResult<Option<DisplayLinkRow>> {
        let sql = format!("{LINK_SELECT} WHERE l.id = $1");
        db::maybe(&mut **tx, sqlx::AssertSqlSafe(sql), id).await
    }

    /// Every link, newest first, revoked ones included (they stay listed as revoked).
    pub async fn display_links(
        &self,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DisplayLinkRow>, i64)> {
        let sql = format!("{LINK_SELECT} ORDER BY l.id DESC LIMIT $1 OFFSET $2");
        let rows = db::all(self.pool(), sqlx::AssertSqlSafe(sql), (limit, offset)).await?;
        let total: i64 = db::value(self.pool(), "SELECT COUNT(*) FROM display_links", ()).await?;
        Ok((rows, total))
    }

    /// The live (not revoked) link whose token has this hash.
    pub async fn active_display_link(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<DisplayLinkRow>> {
        let sql = format!("{LINK_SELECT} WHERE l.token_hash = $1 AND l.revoked_at IS NULL");
        db::maybe(
            self.pool(),
            sqlx::AssertSqlSafe(sql),
            token_hash.to_string(),
        )
        .await
    }

    pub async fn revoke_display_link(
        &self,
        tx: &mut Tx,
        id: i64,
        by: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut **tx,
            "UPDATE display_links SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
            (now_ms, by, id),
        )
        .await?;
        Ok(())
    }

    /// When a link was last opened, at most once a minute (a wall display polls).
    pub async fn touch_display_link(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        db::exec(
            self.pool(),
            "UPDATE display_links SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
            (now_ms, id, now_ms - 60_000),
        )
        .await?;
        Ok(())
    }

    /// Open tickets counted by system, kind and priority: `(system_id, kind, priority, n)`.
    pub async fn open_ticket_counts(&self) -> StoreResult<Vec<(Option<i64>, String, String, i64)>> {
        let sql = format!(
            "SELECT system_id, kind, priority, COUNT(*) FROM tickets WHERE {OPEN} \
             GROUP BY system_id, kind, priority"
        );
        db::all(self.pool(), sqlx::AssertSqlSafe(sql), ()).await
    }

    /// Open alerts counted by system: `(system_id, n)`.
    pub async fn open_alert_counts(&self) -> StoreResult<Vec<(Option<i64>, i64)>> {
        db::all(
            self.pool(),
            "SELECT system_id, COUNT(*) FROM alerts WHERE status <> 'resolved' GROUP BY system_id",
            (),
        )
        .await
    }

    pub async fn on_call_now(&self, at: i64) -> StoreResult<Vec<OnCallRow>> {
        db::all(
            self.pool(),
            "SELECT u.display_name AS name, d.role, d.ends_at FROM duty_shifts d \
             JOIN users u ON u.id = d.user_id WHERE d.starts_at <= $1 AND d.ends_at > $1 \
             ORDER BY CASE d.role WHEN 'primary' THEN 0 ELSE 1 END, d.starts_at",
            at,
        )
        .await
    }

    /// Every system: `(id, code, name)`, in the contract's order.
    pub async fn system_briefs(&self) -> StoreResult<Vec<(i64, Option<String>, String)>> {
        db::all(
            self.pool(),
            "SELECT id, code, name FROM systems ORDER BY id",
            (),
        )
        .await
    }

    pub async fn site_briefs(&self) -> StoreResult<Vec<SiteBrief>> {
        db::all(
            self.pool(),
            "SELECT s.id, s.name, (SELECT COUNT(*) FROM assets a WHERE a.site_id = s.id) AS assets \
             FROM sites s ORDER BY s.id",
            (),
        )
        .await
    }

    /// Asset ids by site: `(asset_id, site_id, category)`.
    pub async fn asset_sites(&self) -> StoreResult<Vec<(i64, Option<i64>, String)>> {
        db::all(self.pool(), "SELECT id, site_id, category FROM assets", ()).await
    }

    /// A system's open tickets (all of them, most urgent first) or its recent closed ones.
    pub async fn system_tickets(
        &self,
        system_id: i64,
        open: bool,
        limit: i64,
    ) -> StoreResult<Vec<TicketBrief>> {
        let open_cond = "t.status NOT IN ('resolved', 'closed', 'canceled')";
        let (cond, order) = if open {
            (open_cond.to_string(), "t.priority, t.reported_at")
        } else {
            (format!("NOT ({open_cond})"), "t.reported_at DESC")
        };
        let sql = format!(
            "SELECT t.id, t.number, t.kind, t.title, t.priority, t.status, t.sla_breached, \
             t.reported_at, t.resolve_due_at, u.display_name AS assignee_name \
             FROM tickets t LEFT JOIN users u ON u.id = t.assignee_id \
             WHERE t.system_id = $1 AND {cond} ORDER BY {order}, t.id DESC LIMIT $2"
        );
        db::all(self.pool(), sqlx::AssertSqlSafe(sql), (system_id, limit)).await
    }

    pub async fn system_inspections(
        &self,
        system_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<InspectionBrief>> {
        db::all(
            self.pool(),
            "SELECT id, template_name, target_name, status, round_at, submitted_at, findings \
             FROM inspection_tasks WHERE system_id = $1 OR (target_type = 'system' AND target_id = $1) \
             ORDER BY round_at DESC, id DESC LIMIT $2",
            (system_id, limit),
        )
        .await
    }

    /// Every service line with the JSON array of the systems it serves: `(id, code, name, system_ids)`.
    pub async fn line_systems(&self) -> StoreResult<Vec<(i64, String, String, String)>> {
        db::all(
            self.pool(),
            "SELECT id, code, name, system_ids FROM service_lines ORDER BY id",
            (),
        )
        .await
    }

    /// Requirements of a system or of its lines: `(id, title, status, created_at)`.
    pub async fn system_requirements(
        &self,
        system_id: i64,
        line_ids: &[i64],
        limit: i64,
    ) -> StoreResult<Vec<(i64, String, String, i64)>> {
        let lines = id_list(line_ids);
        let sql = format!(
            "SELECT id, title, status, created_at FROM requirements \
             WHERE system_id = $1 OR line_id IN ({lines}) ORDER BY id DESC LIMIT $2"
        );
        db::all(self.pool(), sqlx::AssertSqlSafe(sql), (system_id, limit)).await
    }

    /// Deliverables of some lines: `(id, section, name, cadence)`.
    pub async fn line_deliverables(
        &self,
        line_ids: &[i64],
    ) -> StoreResult<Vec<(i64, String, String, String)>> {
        let lines = id_list(line_ids);
        let sql = format!(
            "SELECT id, section, name, cadence FROM deliverables WHERE line_id IN ({lines}) \
             ORDER BY sort_order, id"
        );
        db::all(self.pool(), sqlx::AssertSqlSafe(sql), ()).await
    }
}

/// Numbers written into SQL: integers only, so nothing to escape; `-1` for none.
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "-1".into();
    }
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
