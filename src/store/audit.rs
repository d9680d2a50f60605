//! The audit log: append-only, hash-chained. Each record's hash covers its content and the
//! previous record's hash; `audit_head` holds the chain's last sequence number and hash,
//! and appending locks it first so records are strictly sequential on both backends.

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::db;
use super::{Actor, Store, StoreResult, like_pattern};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is written for one audited action.
#[derive(Clone, Debug, Default)]
pub struct NewAuditEvent {
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub summary: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl NewAuditEvent {
    /// A change to one record (`id`: its number, or a key such as a session's); add
    /// `before` / `after` with the builders.
    pub fn of(
        action: &str,
        entity_type: &str,
        id: impl std::fmt::Display,
        summary: impl Into<String>,
    ) -> Self {
        NewAuditEvent {
            entity_id: Some(id.to_string()),
            ..NewAuditEvent::about(action, entity_type, summary)
        }
    }

    /// An action on a kind of record as a whole (an import, a failed login), no one record.
    pub fn about(action: &str, entity_type: &str, summary: impl Into<String>) -> Self {
        NewAuditEvent {
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id: None,
            summary: summary.into(),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }

    pub fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }

    /// Appends this record inside the caller's transaction (see [`append`]).
    pub async fn write(self, tx: &mut super::Tx, now_ms: i64, actor: &Actor) -> StoreResult<()> {
        append(tx, now_ms, actor, self).await
    }

    /// Writes the record as the last statement of `tx` and commits: how a write that has
    /// nothing else to do after its audit record ends.
    pub async fn write_and_commit(
        self,
        mut tx: super::Tx,
        now_ms: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        append(&mut tx, now_ms, actor, self).await?;
        tx.commit().await
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub ip: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub summary: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    pub fn to_json(&self) -> Value {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
        };
        json!({
            "id": self.seq,
            "seq": self.seq,
            "at": crate::clock::rfc3339(self.at),
            "actor_id": self.actor_id,
            "actor": self.actor_name,
            "ip": self.ip,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "summary": self.summary,
            "before": parse(&self.before_json),
            "after": parse(&self.after_json),
            "hash": self.hash,
        })
    }
}

fn record_hash(prev: &str, seq: i64, at: i64, r: &AuditRowContent<'_>) -> String {
    // A JSON array is an unambiguous encoding of the fields.
    let canonical = json!([
        prev,
        seq,
        at,
        r.actor_id,
        r.actor_name,
        r.ip,
        r.action,
        r.entity_type,
        r.entity_id,
        r.summary,
        r.before_json,
        r.after_json
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    hex(&digest)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct AuditRowContent<'a> {
    actor_id: Option<i64>,
    actor_name: &'a str,
    ip: Option<&'a str>,
    action: &'a str,
    entity_type: &'a str,
    entity_id: Option<&'a str>,
    summary: &'a str,
    before_json: Option<&'a str>,
    after_json: Option<&'a str>,
}

/// Appends one record inside the caller's transaction, so the change and its audit record
/// commit together or not at all.
pub async fn append(
    tx: &mut super::Tx,
    now_ms: i64,
    actor: &Actor,
    ev: NewAuditEvent,
) -> StoreResult<()> {
    if (**tx).backend_name() == "PostgreSQL" {
        // The head stays locked from its update to the commit, so every write waits here
        // for the one before. On PostgreSQL, taking the head, hashing, the record and the
        // head's new hash are one call (migrations/postgres/0035_audit_append.sql), and it
        // runs in the commit's own round trip: the head is held for no round trip to this
        // process, whose turn to run may be milliseconds away on a busy machine.
        let call = format!(
            "SELECT audit_append({})",
            pg_literals(now_ms, actor, &ev).join(", ")
        );
        return tx.run_at_commit(call).await;
    }
    let (seq, prev): (i64, String) = db::row(
        &mut **tx,
        "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
        (),
    )
    .await?;
    let before = ev.before.as_ref().map(|v| v.to_string());
    let after = ev.after.as_ref().map(|v| v.to_string());
    let content = AuditRowContent {
        actor_id: actor.user_id,
        actor_name: &actor.name,
        ip: actor.ip.as_deref(),
        action: &ev.action,
        entity_type: &ev.entity_type,
        entity_id: ev.entity_id.as_deref(),
        summary: &ev.summary,
        before_json: before.as_deref(),
        after_json: after.as_deref(),
    };
    let hash = record_hash(&prev, seq, now_ms, &content);
    // The first ten parameters in the order of `bind_record`.
    let insert = sqlx::query_as(
        "INSERT INTO audit_events (at, actor_id, actor_name, ip, action, entity_type, entity_id, \
         summary, before_json, after_json, seq, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
    );
    let (_,): (i64,) = bind_record(insert, now_ms, actor, ev)
        .bind(seq)
        .bind(prev)
        .bind(hash)
        .fetch_one(&mut **tx)
        .await?;
    // The head takes the record's hash in the trigger `audit_head_follows`
    // (migrations/sqlite/0036).
    Ok(())
}

/// The record's ten fields as PostgreSQL literals, in the order of `audit_append`'s
/// parameters: at, actor id, actor name, ip, action, entity type, entity id, summary,
/// before, after.
pub(crate) fn pg_literals(now_ms: i64, actor: &Actor, ev: &NewAuditEvent) -> [String; 10] {
    use super::sql::pg_lit::{int, opt_int, opt_text, text};
    let json = |v: &Option<Value>| opt_text(v.as_ref().map(Value::to_string).as_deref());
    [
        int(now_ms),
        opt_int(actor.user_id),
        text(&actor.name),
        opt_text(actor.ip.as_deref()),
        text(&ev.action),
        text(&ev.entity_type),
        opt_text(ev.entity_id.as_deref()),
        text(&ev.summary),
        json(&ev.before),
        json(&ev.after),
    ]
}

/// Binds a record's ten fields after whatever `query` has bound already, in the order of
/// `audit_append`'s parameters: at, actor id, actor name, ip, action, entity type, entity
/// id, summary, before, after.
pub(crate) fn bind_record<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    now_ms: i64,
    actor: &Actor,
    ev: NewAuditEvent,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    query
        .bind(now_ms)
        .bind(actor.user_id)
        .bind(actor.name.clone())
        .bind(actor.ip.clone())
        .bind(ev.action)
        .bind(ev.entity_type)
        .bind(ev.entity_id)
        .bind(ev.summary)
        .bind(ev.before.map(|v| v.to_string()))
        .bind(ev.after.map(|v| v.to_string()))
}

/// Filters for the audit log list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub q: Option<String>,
}

/// The result of checking the chain.
#[derive(Debug, PartialEq)]
pub enum Verification {
    Intact { records: i64 },
    Broken { seq: i64, reason: String },
}

impl Store {
    /// Appends one record in its own transaction (logins and other events with no data change).
    pub async fn audit(&self, now_ms: i64, actor: &Actor, ev: NewAuditEvent) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        append(&mut tx, now_ms, actor, ev).await?;
        tx.commit().await
    }

    pub async fn list_audit(
        &self,
        f: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<AuditRow>, i64)> {
        let mut wh = vec!["1=1".to_string()];
        let mut args: Vec<super::entities::Arg> = Vec::new();
        use super::entities::Arg;
        let mut push = |cond: &str, a: Arg, wh: &mut Vec<String>| {
            args.push(a);
            wh.push(cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(a) = &f.actor {
            push("actor_name = ?", Arg::Text(Some(a.clone())), &mut wh);
        }
        if let Some(a) = &f.action {
            push("action = ?", Arg::Text(Some(a.clone())), &mut wh);
        }
        if let Some(a) = &f.entity_type {
            push("entity_type = ?", Arg::Text(Some(a.clone())), &mut wh);
        }
        if let Some(a) = &f.entity_id {
            push("entity_id = ?", Arg::Text(Some(a.clone())), &mut wh);
        }
        if let Some(a) = f.from_ms {
            push("at >= ?", Arg::Int(Some(a)), &mut wh);
        }
        if let Some(a) = f.to_ms {
            push("at < ?", Arg::Int(Some(a)), &mut wh);
        }
        if let Some(q) = &f.q {
            push(
                "LOWER(summary) LIKE ? ESCAPE '\\'",
                Arg::Text(Some(like_pattern(q))),
                &mut wh,
            );
        }
        self.list_page(
            "SELECT * FROM audit_events",
            "audit_events",
            &format!(" WHERE {}", wh.join(" AND ")),
            &args,
            "seq DESC",
            (limit, offset),
        )
        .await
    }

    pub async fn get_audit(&self, seq: i64) -> StoreResult<AuditRow> {
        db::one(
            self.pool(),
            "SELECT * FROM audit_events WHERE seq = $1",
            seq,
        )
        .await
    }

    /// The change history of one record, newest first.
    pub async fn entity_history(
        &self,
        entity_type: &str,
        entity_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        db::all(
            self.pool(),
            "SELECT * FROM audit_events WHERE entity_type = $1 AND entity_id = $2 ORDER BY seq DESC LIMIT $3",
            (entity_type.to_string(), entity_id.to_string(), limit),
        )
        .await
    }

    /// Recomputes every hash from the first kept record to the head.
    pub async fn verify_audit(&self) -> StoreResult<Verification> {
        let (head_seq, head_hash, purged_through, anchor): (i64, String, i64, String) = db::row(
            self.pool(),
            "SELECT seq, hash, purged_through, purged_anchor FROM audit_head WHERE id = 1",
            (),
        )
        .await?;
        let mut expected_seq = purged_through + 1;
        let mut prev = if purged_through == 0 {
            GENESIS.to_string()
        } else {
            anchor
        };
        let mut last_seq = purged_through;
        let batch = 5000i64;
        loop {
            let rows: Vec<AuditRow> = db::all(
                self.pool(),
                "SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
                (expected_seq, batch),
            )
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                if r.seq != expected_seq {
                    return Ok(Verification::Broken {
                        seq: expected_seq,
                        reason: format!(
                            "record {expected_seq} is missing (next present is {})",
                            r.seq
                        ),
                    });
                }
                if r.prev_hash != prev {
                    return Ok(Verification::Broken {
                        seq: r.seq,
                        reason: "previous-hash link does not match the record before it".into(),
                    });
                }
                let content = AuditRowContent {
                    actor_id: r.actor_id,
                    actor_name: &r.actor_name,
                    ip: r.ip.as_deref(),
                    action: &r.action,
                    entity_type: &r.entity_type,
                    entity_id: r.entity_id.as_deref(),
                    summary: &r.summary,
                    before_json: r.before_json.as_deref(),
                    after_json: r.after_json.as_deref(),
                };
                if record_hash(&r.prev_hash, r.seq, r.at, &content) != r.hash {
                    return Ok(Verification::Broken {
                        seq: r.seq,
                        reason: "content was changed after it was written (hash mismatch)".into(),
                    });
                }
                prev = r.hash.clone();
                last_seq = r.seq;
                expected_seq += 1;
            }
        }
        if last_seq != head_seq || prev != head_hash {
            return Ok(Verification::Broken {
                seq: last_seq + 1,
                reason: format!(
                    "the chain ends at record {last_seq} but its head says {head_seq}: records were removed"
                ),
            });
        }
        Ok(Verification::Intact {
            records: last_seq - purged_through,
        })
    }

    /// Removes the oldest records, up to (not including) the first one written at or after
    /// `cutoff_ms`, so the kept records stay one unbroken chain; the chain is anchored at
    /// the last removed record's hash. The caller guarantees the retention floor.
    pub async fn purge_audit(&self, cutoff_ms: i64) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let first_young: Option<i64> = db::value(
            &mut *tx,
            "SELECT MIN(seq) FROM audit_events WHERE at >= $1",
            cutoff_ms,
        )
        .await?;
        let last: Option<(i64, String)> = db::maybe(
            &mut *tx,
            "SELECT seq, hash FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT 1",
            first_young.unwrap_or(i64::MAX),
        )
        .await?;
        let Some((seq, hash)) = last else {
            return Ok(0);
        };
        let removed = db::exec(&mut *tx, "DELETE FROM audit_events WHERE seq <= $1", seq).await?;
        db::exec(
            &mut *tx,
            "UPDATE audit_head SET purged_through = $1, purged_anchor = $2 WHERE id = 1",
            (seq, hash),
        )
        .await?;
        tx.commit().await?;
        Ok(removed as i64)
    }
}
