//! The search index (`search_docs`, migration 0029): one row per ticket, asset, system
//! and staff member, written on the same transaction as the record itself by the store
//! functions that write those records, and the search queries over it (SQLite FTS5 /
//! PostgreSQL `tsvector` with GIN). The text is segmented by `domain::search`.

use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::db;
use super::{Backend, Store, StoreResult, Tx};
use crate::domain::search::{self as ds, Query};

/// Stored text is cut to this many characters (snippets only need the start).
const BODY_MAX_CHARS: usize = 1_000;
/// Totals are counted up to this many matches ("1000+" beyond).
pub const TOTAL_CAP: i64 = 1_000;
/// PostgreSQL: how many of the newest documents a search looks among first.
const PG_WINDOW: i64 = 5_000;
/// Records examined per backfill transaction (a short hold of SQLite's write lock).
pub const BACKFILL_BATCH: i64 = 500;

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

/// PostgreSQL: the kinds a tag group searches, as a condition on `d.kind` (tags come
/// from code: `k<kind>`, or `o<user>` for a requester's own tickets).
fn pg_kinds(tags: &[String]) -> String {
    let mut kinds: Vec<&str> = tags
        .iter()
        .map(|t| match t.strip_prefix('k') {
            Some(k) => KINDS.iter().copied().find(|x| *x == k).unwrap_or("ticket"),
            None => "ticket",
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let quoted: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
    format!("d.kind IN ({})", quoted.join(", "))
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
        conn: &mut crate::store::Conn,
        d: &Doc,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.write_doc(conn, d, now_ms, true).await
    }

    /// Writes a record's index row; with `replace` false an existing row (written by the
    /// record's own transaction meanwhile) is kept.
    async fn write_doc(
        &self,
        conn: &mut crate::store::Conn,
        d: &Doc,
        now_ms: i64,
        replace: bool,
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
        let conflict = if replace {
            format!(
                "DO UPDATE SET key = excluded.key, title = excluded.title, \
                 body = excluded.body, resolution = excluded.resolution, owner_id = excluded.owner_id, \
                 tags = excluded.tags, {col} = excluded.{col}, updated_at = excluded.updated_at"
            )
        } else {
            "DO NOTHING".to_string()
        };
        let sql = format!(
            "INSERT INTO search_docs (kind, ref_id, key, title, body, resolution, owner_id, tags, {col}, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {cast}, $10) \
             ON CONFLICT (kind, ref_id) {conflict}"
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
    pub async fn unindex_in(
        conn: &mut crate::store::Conn,
        kind: &str,
        ref_id: i64,
    ) -> StoreResult<()> {
        db::exec(
            &mut *conn,
            "DELETE FROM search_docs WHERE kind = $1 AND ref_id = $2",
            (kind.to_string(), ref_id),
        )
        .await?;
        Ok(())
    }

    /// Re-reads a ticket on the caller's transaction and rewrites its index row.
    pub async fn index_ticket_in(&self, tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
        let row: Option<TicketText> = db::maybe(
            &mut **tx,
            "SELECT id, number, title, description, resolution, requester_id, status FROM tickets WHERE id = $1",
            id,
        )
        .await?;
        match row {
            Some(t) => self.index_doc_in(tx, &t.doc(), now_ms).await,
            None => Self::unindex_in(tx, "ticket", id).await,
        }
    }

    /// Writes the index row of a ticket just inserted, from the values it was inserted
    /// with (a new ticket has no resolution), so a creation does not read its row back.
    #[allow(clippy::too_many_arguments)]
    pub async fn index_new_ticket_in(
        &self,
        tx: &mut Tx,
        id: i64,
        number: &str,
        title: &str,
        description: Option<&str>,
        requester_id: Option<i64>,
        status: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let t = TicketText {
            id,
            number: number.to_string(),
            title: title.to_string(),
            description: description.map(str::to_string),
            resolution: None,
            requester_id,
            status: status.to_string(),
        };
        self.index_doc_in(tx, &t.doc(), now_ms).await
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

    /// One step of filling the index for records that have no row (the first start
    /// after migration 0029, or a database restored from an archive, which leaves the
    /// index out): the next [`BACKFILL_BATCH`] records of `kind` after id `after`, those
    /// without a row indexed, in one write transaction. Answers the last id examined,
    /// `None` when `kind` has no record after `after`, and how many rows it wrote.
    ///
    /// Records written meanwhile index themselves on their own transaction; a row found
    /// in place is kept (`ON CONFLICT DO NOTHING`), so a step never overwrites a newer one.
    pub async fn backfill_search_step(
        &self,
        kind: &str,
        after: i64,
        now_ms: i64,
    ) -> StoreResult<(Option<i64>, u64)> {
        let table = match kind {
            "ticket" => "tickets",
            "asset" => "assets",
            "system" => "systems",
            "staff" => "staff",
            _ => return Ok((None, 0)),
        };
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "SELECT MAX(id) FROM (SELECT id FROM {table} WHERE id > $1 ORDER BY id LIMIT $2) x"
        );
        let last: Option<i64> =
            db::value(&mut *tx, AssertSqlSafe(sql), (after, BACKFILL_BATCH)).await?;
        let Some(last) = last else {
            return Ok((None, 0));
        };
        let missing = format!(
            "FROM {table} t WHERE t.id > $1 AND t.id <= $2 AND NOT EXISTS \
             (SELECT 1 FROM search_docs d WHERE d.kind = $3 AND d.ref_id = t.id) ORDER BY t.id"
        );
        let mut n = 0u64;
        if kind == "ticket" {
            let sql = format!(
                "SELECT t.id, t.number, t.title, t.description, t.resolution, t.requester_id, t.status {missing}"
            );
            let rows: Vec<TicketText> = db::all(
                &mut *tx,
                AssertSqlSafe(sql),
                (after, last, kind.to_string()),
            )
            .await?;
            for t in rows {
                self.write_doc(&mut tx, &t.doc(), now_ms, false).await?;
                n += 1;
            }
        } else {
            let spec = match kind {
                "asset" => &crate::domain::inventory::ASSETS,
                "system" => &crate::domain::inventory::SYSTEMS,
                _ => &crate::domain::inventory::STAFF,
            };
            let sql = format!("SELECT t.id {missing}");
            let ids: Vec<i64> = db::values(
                &mut *tx,
                AssertSqlSafe(sql),
                (after, last, kind.to_string()),
            )
            .await?;
            for id in ids {
                let m = self.get_entity_tx(&mut tx, spec, id).await?;
                if let Some(d) = entity_doc(spec.table, &m) {
                    self.write_doc(&mut tx, &d, now_ms, false).await?;
                    n += 1;
                }
            }
        }
        tx.commit().await?;
        Ok((Some(last), n))
    }

    /// PostgreSQL: fresh statistics for the index after a backfill wrote many rows (the
    /// planner chooses between the GIN index and walking ids backwards by how common a
    /// term is); nothing on SQLite.
    pub async fn analyze_search(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            db::exec(self.pool(), "ANALYZE search_docs", ()).await?;
        }
        Ok(())
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
            let rows: Vec<Hit> = db::all(
                self.pool(),
                AssertSqlSafe(sql),
                (
                    p.to_string(),
                    format!("{p}\u{FFFF}"),
                    limit,
                    scope.owner_id.unwrap_or(0),
                ),
            )
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
                     WHERE search_fts MATCH $1"
                        .to_string(),
                    e,
                )
            }
            Backend::Postgres => {
                let t: Vec<String> = tags.iter().map(|t| ds::lexeme(&pg_tag(t))).collect();
                let mut e = format!("({}) & ({})", t.join(" | "), q.tsquery());
                if must_kb {
                    e.push_str(" & 'k:b'");
                }
                (
                    format!(
                        "FROM search_docs d WHERE {} AND d.tsv @@ CAST($1 AS tsquery)",
                        pg_kinds(tags)
                    ),
                    e,
                )
            }
        };
        // All terms: newest first (SQLite walks rowids backwards; PostgreSQL walks the
        // (kind, ref_id) index of the group's kinds, so that a search of the few inventory
        // records never walks the 100,000 tickets). Any term (similar tickets): best match
        // first.
        let order = match (self.backend, q.any) {
            (Backend::Sqlite, false) => "f.rowid DESC",
            (Backend::Sqlite, true) => "f.rank, f.rowid DESC",
            (Backend::Postgres, false) => "d.kind DESC, d.ref_id DESC",
            (Backend::Postgres, true) => "ts_rank(d.tsv, CAST($1 AS tsquery)) DESC, d.id DESC",
        };
        let cols = "d.id, d.kind, d.ref_id, d.key, d.title, d.body, d.resolution";
        let sql = format!("SELECT {cols} {from_where} ORDER BY {order} LIMIT $2");
        // PostgreSQL plans each search with its terms (an unnamed statement): a cached
        // generic plan cannot know how common a term is, and chose the GIN bitmap over
        // all 100,000 documents for a word in every ticket (the count) or walked every id
        // backwards for a rare one.
        let keep = self.backend != Backend::Postgres;
        let mut rows: Vec<Hit> = Vec::new();
        if self.backend == Backend::Postgres && !q.any {
            // The newest documents first: a phrase's bigrams are estimated independent, so
            // the planner takes a common phrase for a rare one and sorts its thousands of
            // matches (56 ms for 9,091). Looking among the newest [`PG_WINDOW`] documents
            // answers any term found in one in 500; rarer ones go to the GIN index below.
            let probe = format!(
                "SELECT {cols} FROM (SELECT * FROM search_docs d WHERE {} \
                 ORDER BY {order} LIMIT {PG_WINDOW}) d \
                 WHERE d.tsv @@ CAST($1 AS tsquery) ORDER BY {order} LIMIT $2",
                pg_kinds(tags)
            );
            rows = sqlx::query_as(AssertSqlSafe(probe))
                .persistent(false)
                .bind(expr.clone())
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        }
        let count_sql = format!("SELECT COUNT(*) FROM (SELECT d.id {from_where} LIMIT $2) x");
        if q.any && self.backend == Backend::Postgres {
            // Ranked "any term" (similar tickets): the planner expects most documents to
            // match an OR of bigrams and scans the table testing and ranking each (140 ms
            // over 100,000, the count as much); the GIN index narrows to the candidates
            // first (40 ms).
            let mut tx = self.pool().begin().await?;
            db::exec(&mut *tx, "SET LOCAL enable_seqscan = off", ()).await?;
            rows = sqlx::query_as(AssertSqlSafe(sql))
                .persistent(false)
                .bind(expr.clone())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let n = if (rows.len() as i64) < limit {
                rows.len() as i64
            } else {
                sqlx::query_scalar(AssertSqlSafe(count_sql))
                    .persistent(false)
                    .bind(expr)
                    .bind(TOTAL_CAP)
                    .fetch_one(&mut *tx)
                    .await?
            };
            tx.commit().await?;
            return Ok((rows, n));
        }
        if (rows.len() as i64) < limit {
            rows = sqlx::query_as(AssertSqlSafe(sql))
                .persistent(keep)
                .bind(expr.clone())
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        }
        let n = if (rows.len() as i64) < limit {
            rows.len() as i64
        } else {
            sqlx::query_scalar(AssertSqlSafe(count_sql))
                .persistent(keep)
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
