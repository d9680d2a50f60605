//! Requirements and improvements (migration 0018).

use sqlx::{AssertSqlSafe, FromRow};

use super::{Store, StoreError, StoreResult, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct RequirementRow {
    pub id: i64,
    pub system_id: Option<i64>,
    pub system_name: Option<String>,
    pub line_id: Option<i64>,
    pub line_code: Option<String>,
    pub line_name: Option<String>,
    pub source: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub status: String,
    pub proposer_name: Option<String>,
    pub proposer_org: Option<String>,
    pub planned_date: Option<String>,
    /// JSON arrays.
    pub ticket_ids: String,
    pub history: String,
    pub created_by: i64,
    pub created_by_name: Option<String>,
    pub status_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT q.id, q.system_id, s.name AS system_name, q.line_id, l.code AS line_code, \
     l.name AS line_name, q.source, q.title, q.description, q.priority, q.status, q.proposer_name, \
     q.proposer_org, q.planned_date, q.ticket_ids, q.history, q.created_by, \
     u.display_name AS created_by_name, q.status_at, q.created_at, q.updated_at \
     FROM requirements q LEFT JOIN systems s ON s.id = q.system_id \
     LEFT JOIN service_lines l ON l.id = q.line_id LEFT JOIN users u ON u.id = q.created_by";

/// A requirement's editable fields as stored.
pub struct RequirementValues {
    pub system_id: Option<i64>,
    pub line_id: Option<i64>,
    pub source: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub proposer_name: Option<String>,
    pub proposer_org: Option<String>,
    pub planned_date: Option<String>,
    /// A JSON array.
    pub ticket_ids: String,
}

/// The list's filters; `created_by`, when set, limits the list to one proposer's (a
/// requester's own).
#[derive(Clone, Debug, Default)]
pub struct RequirementFilter {
    pub status: Option<String>,
    pub system_id: Option<i64>,
    pub line_id: Option<i64>,
    pub source: Option<String>,
    pub q: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub created_by: Option<i64>,
}

impl RequirementFilter {
    /// The WHERE clause and its text arguments (numbers are inlined: they are i64s).
    fn clause(&self) -> (String, Vec<String>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut args: Vec<String> = Vec::new();
        if let Some(v) = self.system_id {
            w.push(format!("q.system_id = {v}"));
        }
        if let Some(v) = self.line_id {
            w.push(format!("q.line_id = {v}"));
        }
        if let Some(v) = self.from_ms {
            w.push(format!("q.created_at >= {v}"));
        }
        if let Some(v) = self.to_ms {
            w.push(format!("q.created_at < {v}"));
        }
        if let Some(v) = self.created_by {
            w.push(format!("q.created_by = {v}"));
        }
        if let Some(v) = &self.status {
            args.push(v.clone());
            w.push(format!("q.status = ${}", args.len()));
        }
        if let Some(v) = &self.source {
            args.push(v.clone());
            w.push(format!("q.source = ${}", args.len()));
        }
        if let Some(v) = &self.q {
            args.push(super::like_pattern(v));
            let n = args.len();
            w.push(format!(
                "(LOWER(q.title) LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(q.description, '')) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(COALESCE(q.proposer_name, '')) LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(q.proposer_org, '')) LIKE ${n} ESCAPE '\\')"
            ));
        }
        (w.join(" AND "), args)
    }
}

impl Store {
    pub async fn insert_requirement(
        &self,
        tx: &mut Tx,
        v: &RequirementValues,
        status: &str,
        history: &str,
        created_by: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO requirements (system_id, line_id, source, title, description, priority, status, \
             proposer_name, proposer_org, planned_date, ticket_ids, history, created_by, status_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $14) RETURNING id",
        )
        .bind(v.system_id)
        .bind(v.line_id)
        .bind(v.source.clone())
        .bind(v.title.clone())
        .bind(v.description.clone())
        .bind(v.priority.clone())
        .bind(status.to_string())
        .bind(v.proposer_name.clone())
        .bind(v.proposer_org.clone())
        .bind(v.planned_date.clone())
        .bind(v.ticket_ids.clone())
        .bind(history.to_string())
        .bind(created_by)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn update_requirement(
        &self,
        tx: &mut Tx,
        id: i64,
        v: &RequirementValues,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE requirements SET system_id = $1, line_id = $2, source = $3, title = $4, description = $5, \
             priority = $6, proposer_name = $7, proposer_org = $8, planned_date = $9, ticket_ids = $10, \
             updated_at = $11 WHERE id = $12",
        )
        .bind(v.system_id)
        .bind(v.line_id)
        .bind(v.source.clone())
        .bind(v.title.clone())
        .bind(v.description.clone())
        .bind(v.priority.clone())
        .bind(v.proposer_name.clone())
        .bind(v.proposer_org.clone())
        .bind(v.planned_date.clone())
        .bind(v.ticket_ids.clone())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Moves a requirement to `status` with its new history, if it still stands at `from`
    /// (a conflict otherwise: someone moved it meanwhile).
    pub async fn set_requirement_status(
        &self,
        tx: &mut Tx,
        id: i64,
        from: &str,
        status: &str,
        history: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE requirements SET status = $1, history = $2, status_at = $3, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(status.to_string())
        .bind(history.to_string())
        .bind(now_ms)
        .bind(id)
        .bind(from.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(
                "需求状态已被他人变更，请刷新后重试".into(),
            ));
        }
        Ok(())
    }

    pub async fn requirement(&self, id: i64) -> StoreResult<RequirementRow> {
        sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE q.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn requirement_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> StoreResult<Option<RequirementRow>> {
        Ok(
            sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE q.id = $1")))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    /// A page of requirements, newest first, and how many match.
    pub async fn requirements(
        &self,
        f: &RequirementFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<RequirementRow>, i64)> {
        let (w, args) = f.clause();
        let sql = format!(
            "{SELECT} WHERE {w} ORDER BY q.created_at DESC, q.id DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows: Vec<RequirementRow> = q.fetch_all(self.pool()).await?;
        let csql = format!("SELECT COUNT(*) FROM requirements q WHERE {w}");
        let mut c = sqlx::query_scalar(AssertSqlSafe(csql));
        for a in &args {
            c = c.bind(a.clone());
        }
        let total: i64 = c.fetch_one(self.pool()).await?;
        Ok((rows, total))
    }

    /// The requirements open at some time in `[from, to)`: proposed before `to`, and not
    /// verified or rejected before `from`; oldest first. Optionally of one line or system.
    pub async fn requirements_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
        line_id: Option<i64>,
        system_id: Option<i64>,
    ) -> StoreResult<Vec<RequirementRow>> {
        let mut w = format!(
            "q.created_at < {to_ms} AND (q.status NOT IN ('verified', 'rejected') OR q.status_at >= {from_ms})"
        );
        if let Some(l) = line_id {
            w.push_str(&format!(" AND q.line_id = {l}"));
        }
        if let Some(s) = system_id {
            w.push_str(&format!(" AND q.system_id = {s}"));
        }
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} WHERE {w} ORDER BY q.created_at, q.id"
        )))
        .fetch_all(self.pool())
        .await?)
    }

    /// The kinds of those of `ids` that are tickets: `(id, number, kind)`.
    pub async fn ticket_kinds_in(
        &self,
        tx: &mut Tx,
        ids: &[i64],
    ) -> StoreResult<Vec<(i64, String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, number, kind FROM tickets WHERE id IN ({})",
            list.join(", ")
        )))
        .fetch_all(&mut **tx)
        .await?)
    }
}
