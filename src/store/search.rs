//! The search index (`search_docs`, migration 0029): one row per ticket, asset, system
//! and staff member, written on the same transaction as the record itself by the store
//! functions that write those records, and the search queries over it (SQLite FTS5 /
//! PostgreSQL `tsvector` with GIN). The text is segmented by `domain::search`.

use serde_json::{Map, Value};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::{Backend, Store, StoreResult, Tx};
use crate::domain::search::{self as ds, Query};

/// Stored text is cut to this many characters (snippets only need the start).
const BODY_MAX_CHARS: usize = 1_000;
/// Totals are counted up to this many matches ("1000+" beyond).
pub const TOTAL_CAP: i64 = 1_000;

/// The kinds of records in the index.
pub const KINDS: &[&str] = &["ticket", "asset", "system", "staff"];

/// One indexed record as the index stores it.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    pub kind: &'static str,
    pub ref_id: i64,
    pub key: Option<String>,
    pub title: String,
    pub body: Option<String>,
    pub resolution: Option<String>,
    pub owner_id: Option<i64>,
    pub knowledge: bool,
    /// The text the terms are cut from.
    pub text: String,
}

/// What a search may return, already narrowed to what the caller may see.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Inventory kinds the caller may read (`asset`, `system`, `staff`).
    pub inventory: Vec<&'static str>,
    /// Tickets are searched at all.
    pub tickets: bool,
    /// Only the tickets of this requester.
    pub owner_id: Option<i64>,
    /// Only resolved tickets with a resolution (knowledge), shown with it.
    pub knowledge_only: bool,
}

/// One hit, before the service shapes it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Hit {
    pub id: i64,
    pub kind: String,
    pub ref_id: i64,
    pub key: Option<String>,
    pub title: String,
    pub body: Option<String>,
    pub resolution: Option<String>,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn opt_text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The index document of an inventory record (its JSON as the entity writer reads it),
/// or `None` for collections that are not searched.
pub fn entity_doc(table: &str, m: &Map<String, Value>) -> Option<Doc> {
    let (kind, fields, body_field): (&'static str, &[&str], &str) = match table {
        "assets" => (
            "asset",
            &[
                "name",
                "subsystem",
                "brand_model",
                "serial_no",
                "ip",
                "notes",
            ],
            "brand_model",
        ),
        // Only what a requester may see of a system (`inventory::trim_for_role`).
        "systems" => (
            "system",
            &["code", "name", "owner_department"],
            "owner_department",
        ),
        "staff" => ("staff", &["name", "position", "phone", "email"], "position"),
        _ => return None,
    };
    let id = m.get("id").and_then(Value::as_i64)?;
    let text: Vec<String> = fields.iter().filter_map(|f| opt_text(m, f)).collect();
    Some(Doc {
        kind,
        ref_id: id,
        title: opt_text(m, "name").unwrap_or_else(|| format!("#{id}")),
        body: opt_text(m, body_field),
        text: text.join(" "),
        ..Default::default()
    })
}

fn tags_of(d: &Doc) -> Vec<String> {
    let mut t = vec![format!("k{}", d.kind)];
    if let Some(o) = d.owner_id {
        t.push(format!("o{o}"));
    }
    if d.knowledge {
        t.push("kb".into());
    }
    t
}

/// The SQLite FTS5 tag filter: any of `tags` (each alphanumeric, from code).
fn fts_tags(tags: &[String]) -> String {
    let q: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
    format!("tags : ({})", q.join(" OR "))
}

/// The PostgreSQL tag lexeme of a SQLite tag (`kticket` → `k:ticket`, `o42` → `o:42`):
/// the colon keeps tags apart from any term.
fn pg_tag(t: &str) -> String {
    let (a, b) = t.split_at(1);
    format!("{a}:{b}")
}

impl Store {
    /// Writes (or rewrites) a record's index row on the caller's connection.
    pub async fn index_doc_in(
        &self,
        conn: &mut AnyConnection,
        d: &Doc,
        now_ms: i64,
    ) -> StoreResult<()> {
        let terms = ds::doc_terms(&d.text);
        let tags = tags_of(d);
        let (col, value, cast) = match self.backend {
            Backend::Sqlite => ("terms", terms.join(" "), "$9"),
            // Built as a literal, not by a text search parser (see the migration).
            Backend::Postgres => {
                let pg: Vec<String> = tags.iter().map(|t| pg_tag(t)).collect();
                ("tsv", ds::tsvector(&terms, &pg), "CAST($9 AS tsvector)")
            }
        };
        let sql = format!(
            "INSERT INTO search_docs (kind, ref_id, key, title, body, resolution, owner_id, tags, {col}, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {cast}, $10) \
             ON CONFLICT (kind, ref_id) DO UPDATE SET key = excluded.key, title = excluded.title, \
             body = excluded.body, resolution = excluded.resolution, owner_id = excluded.owner_id, \
             tags = excluded.tags, {col} = excluded.{col}, updated_at = excluded.updated_at"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(d.kind.to_string())
            .bind(d.ref_id)
            .bind(d.key.clone())
            .bind(cut(&d.title, 300))
            .bind(d.body.as_deref().map(|b| cut(b, BODY_MAX_CHARS)))
            .bind(d.resolution.as_deref().map(|b| cut(b, BODY_MAX_CHARS)))
            .bind(d.owner_id)
            .bind(tags.join(" "))
            .bind(value)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Removes a record's index row on the caller's connection.
    pub async fn unindex_in(conn: &mut AnyConnection, kind: &str, ref_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM search_docs WHERE kind = $1 AND ref_id = $2")
            .bind(kind.to_string())
            .bind(ref_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Re-reads a ticket on the caller's transaction and rewrites its index row.
    pub async fn index_ticket_in(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        let row: Option<TicketText> = sqlx::query_as(
            "SELECT id, number, title, description, resolution, requester_id, status FROM tickets WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some(t) => self.index_doc_in(tx, &t.doc(), now_ms).await,
            None => Self::unindex_in(tx, "ticket", id).await,
        }
    }

    /// Rewrites the index row of an inventory record after a write, on its transaction
    /// (`m` is the record as read back); nothing for collections that are not searched.
    pub async fn index_entity_in(
        &self,
        tx: &mut Tx,
        table: &str,
        m: &Map<String, Value>,
        now_ms: i64,
    ) -> StoreResult<()> {
        match entity_doc(table, m) {
            Some(d) => self.index_doc_in(tx, &d, now_ms).await,
            None => Ok(()),
        }
    }

    /// Removes an inventory record's index row (if the collection is searched).
    pub async fn unindex_entity_in(tx: &mut Tx, table: &str, id: i64) -> StoreResult<()> {
        let kind = match table {
            "assets" => "asset",
            "systems" => "system",
            "staff" => "staff",
            _ => return Ok(()),
        };
        Self::unindex_in(tx, kind, id).await
    }

    /// Fills the index from the records when it is empty (first start after migration
    /// 0029, or a database restored from before it), in one transaction; returns how many
    /// rows it wrote.
    pub async fn rebuild_search_if_empty(&self, now_ms: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let any: Option<i64> = sqlx::query_scalar("SELECT id FROM search_docs LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        if any.is_some() {
            return Ok(0);
        }
        let n = self.rebuild_search_in(&mut tx, now_ms).await?;
        tx.commit().await?;
        if self.backend == Backend::Postgres && n > 0 {
            // Statistics now, not when autovacuum comes by: the planner chooses between
            // the GIN index and walking ids backwards by how common a term is.
            sqlx::query("ANALYZE search_docs")
                .execute(self.pool())
                .await?;
        }
        Ok(n)
    }

    /// Rewrites every index row from the records, on the caller's transaction.
    pub async fn rebuild_search_in(&self, tx: &mut Tx, now_ms: i64) -> StoreResult<u64> {
        sqlx::query("DELETE FROM search_docs")
            .execute(&mut **tx)
            .await?;
        let mut n = 0u64;
        let tickets: Vec<TicketText> = sqlx::query_as(
            "SELECT id, number, title, description, resolution, requester_id, status FROM tickets ORDER BY id",
        )
        .fetch_all(&mut **tx)
        .await?;
        for t in tickets {
            self.index_doc_in(tx, &t.doc(), now_ms).await?;
            n += 1;
        }
        for spec in [
            &crate::domain::inventory::ASSETS,
            &crate::domain::inventory::SYSTEMS,
            &crate::domain::inventory::STAFF,
        ] {
            let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT id FROM {} ORDER BY id",
                spec.table
            )))
            .fetch_all(&mut **tx)
            .await?;
            for id in ids {
                let m = self.get_entity_tx(tx, spec, id).await?;
                self.index_entity_in(tx, spec.table, &m, now_ms).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The records matching `q` within `scope`: ticket numbers starting with
    /// `number_prefix` first, then inventory records, then tickets (newest first); at most
    /// `limit`, with the number of matches counted up to [`TOTAL_CAP`].
    pub async fn search(
        &self,
        q: &Query,
        number_prefix: Option<&str>,
        scope: &Scope,
        limit: i64,
    ) -> StoreResult<(Vec<Hit>, i64)> {
        let mut hits: Vec<Hit> = Vec::new();
        let mut total = 0i64;
        let owner_tag = scope.owner_id.map(|o| format!("o{o}"));
        if scope.tickets
            && let Some(p) = number_prefix
        {
            let mut sql = String::from(
                "SELECT id, kind, ref_id, key, title, body, resolution FROM search_docs \
                 WHERE key >= $1 AND key < $2",
            );
            // Only tickets have a key; naming the kind as well would lead SQLite to the
            // (kind, ref_id) index and a sort of every ticket.
            if scope.owner_id.is_some() {
                sql.push_str(" AND owner_id = $4");
            }
            if scope.knowledge_only {
                sql.push_str(" AND resolution IS NOT NULL");
            }
            sql.push_str(" ORDER BY key LIMIT $3");
            // The prefix's upper bound: every key starting with it sorts below it + U+FFFF
            // (keys are ASCII).
            let rows: Vec<Hit> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(p.to_string())
                .bind(format!("{p}\u{FFFF}"))
                .bind(limit)
                .bind(scope.owner_id.unwrap_or(0))
                .fetch_all(self.pool())
                .await?;
            total += rows.len() as i64;
            hits.extend(rows);
        }
        let mut groups: Vec<Vec<String>> = Vec::new();
        if !scope.inventory.is_empty() && !scope.knowledge_only {
            groups.push(scope.inventory.iter().map(|k| format!("k{k}")).collect());
        }
        if scope.tickets {
            let mut g = vec!["kticket".to_string()];
            if let Some(o) = &owner_tag {
                g = vec![o.clone()];
            }
            groups.push(g);
        }
        for tags in groups {
            let must_kb = scope.knowledge_only;
            let (rows, n) = self.search_tagged(q, &tags, must_kb, limit).await?;
            total += n;
            for r in rows {
                if !hits.iter().any(|h| h.id == r.id) {
                    hits.push(r);
                }
            }
        }
        hits.truncate(usize::try_from(limit).unwrap_or(0));
        Ok((hits, total.min(TOTAL_CAP)))
    }

    /// One tag group's matches, newest first, and their count up to [`TOTAL_CAP`].
    async fn search_tagged(
        &self,
        q: &Query,
        tags: &[String],
        must_kb: bool,
        limit: i64,
    ) -> StoreResult<(Vec<Hit>, i64)> {
        let (from_where, expr) = match self.backend {
            Backend::Sqlite => {
                let mut e = format!("{} AND terms : ({})", fts_tags(tags), q.fts5());
                if must_kb {
                    e.push_str(" AND tags : \"kb\"");
                }
                (
                    "FROM search_fts f JOIN search_docs d ON d.id = f.rowid \
                     WHERE search_fts MATCH $1",
                    e,
                )
            }
            Backend::Postgres => {
                let t: Vec<String> = tags.iter().map(|t| ds::lexeme(&pg_tag(t))).collect();
                let mut e = format!("({}) & ({})", t.join(" | "), q.tsquery());
                if must_kb {
                    e.push_str(" & 'k:b'");
                }
                ("FROM search_docs d WHERE d.tsv @@ CAST($1 AS tsquery)", e)
            }
        };
        // All terms: newest first (the index walks rowids backwards). Any term (similar
        // tickets): best match first.
        let order = match (self.backend, q.any) {
            (Backend::Sqlite, false) => "f.rowid DESC",
            (Backend::Sqlite, true) => "f.rank, f.rowid DESC",
            (Backend::Postgres, false) => "d.id DESC",
            (Backend::Postgres, true) => "ts_rank(d.tsv, CAST($1 AS tsquery)) DESC, d.id DESC",
        };
        let sql = format!(
            "SELECT d.id, d.kind, d.ref_id, d.key, d.title, d.body, d.resolution {from_where} \
             ORDER BY {order} LIMIT $2"
        );
        let rows: Vec<Hit> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(expr.clone())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let n = if (rows.len() as i64) < limit {
            rows.len() as i64
        } else {
            let sql = format!("SELECT COUNT(*) FROM (SELECT d.id {from_where} LIMIT $2) x");
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(expr)
                .bind(TOTAL_CAP)
                .fetch_one(self.pool())
                .await?
        };
        Ok((rows, n))
    }

    /// The ids of the tickets matching `q` (for the ticket list's `q`), newest first, at
    /// most `cap`.
    pub async fn search_ticket_ids(&self, q: &Query, cap: i64) -> StoreResult<Vec<i64>> {
        let (rows, _) = self
            .search_tagged(q, &["kticket".to_string()], false, cap)
            .await?;
        Ok(rows.into_iter().map(|h| h.ref_id).collect())
    }
}

/// A ticket's searchable columns.
#[derive(sqlx::FromRow)]
struct TicketText {
    id: i64,
    number: String,
    title: String,
    description: Option<String>,
    resolution: Option<String>,
    requester_id: Option<i64>,
    status: String,
}

impl TicketText {
    fn doc(self) -> Doc {
        let resolution = self
            .resolution
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        let knowledge =
            resolution.is_some() && matches!(self.status.as_str(), "resolved" | "closed");
        let text = format!(
            "{} {} {}",
            self.title,
            self.description.as_deref().unwrap_or(""),
            resolution.as_deref().unwrap_or("")
        );
        Doc {
            kind: "ticket",
            ref_id: self.id,
            key: Some(self.number),
            title: self.title,
            body: self.description,
            resolution: if knowledge { resolution } else { None },
            owner_id: self.requester_id,
            knowledge,
            text,
        }
    }
}
