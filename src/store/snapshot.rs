//! yunwei's own backup and restore (`crate::selfbackup`): the schema as the database
//! reports it, every table's rows read inside one read transaction, and rows loaded back
//! in foreign-key order on either backend. Values cross backends as JSON: integers and
//! floats as numbers, text as strings, blobs as base64 strings, NULL as null; the target
//! column's declared type decides how a value is bound.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::{AnyConnection, Column as _, Connection, Executor, Row, ValueRef as _};

use super::db;
use super::{Backend, StoreError, StoreResult};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Tables that triggers keep (row versions and counts): loaded last, after the triggers
/// that the other tables' rows fired, so they end as the snapshot had them.
pub const TRIGGER_KEPT: &[&str] = &["row_versions"];

/// How a column's values are stored, from its declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColKind {
    Int,
    Real,
    Text,
    Blob,
}

impl ColKind {
    /// SQLite's affinity rules, which also read PostgreSQL's type names.
    pub fn of_declared(decl: &str) -> ColKind {
        let d = decl.to_ascii_uppercase();
        if d.contains("INT") {
            ColKind::Int
        } else if d.contains("CHAR") || d.contains("TEXT") || d.contains("CLOB") {
            ColKind::Text
        } else if d.is_empty() || d.contains("BLOB") || d.contains("BYTEA") {
            ColKind::Blob
        } else {
            ColKind::Real
        }
    }
}

#[derive(Clone, Debug)]
pub struct TableSchema {
    pub name: String,
    /// In the table's order.
    pub columns: Vec<(String, ColKind)>,
    /// The primary key's columns (rows are exported in its order).
    pub primary_key: Vec<String>,
    /// Tables this one references (itself excluded).
    pub parents: BTreeSet<String>,
}

/// A raw connection (no pool, no migrations) to a database URL already prepared by
/// `crate::tls::database_url`. SQLite files are opened read-write, created only if
/// `create`.
pub async fn connect_raw(url: &str, create: bool) -> StoreResult<AnyConnection> {
    sqlx::any::install_default_drivers();
    let mut url = url.to_string();
    let backend = Backend::from_url(&url).map_err(|m| StoreError::Other(anyhow::anyhow!(m)))?;
    if backend == Backend::Sqlite && !url.contains("mode=") {
        url.push_str(if url.contains('?') { "&" } else { "?" });
        url.push_str(if create { "mode=rwc" } else { "mode=rw" });
    }
    let mut conn = AnyConnection::connect(&url).await?;
    if backend == Backend::Sqlite {
        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
            .await?;
    }
    Ok(conn)
}

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Whether the migrations table exists (an untouched database has none).
pub async fn has_schema(conn: &mut AnyConnection, backend: Backend) -> StoreResult<bool> {
    let n: i64 = match backend {
        Backend::Sqlite => db::value(
            &mut *conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            (),
        )
        .await?,
        Backend::Postgres => {
            db::value(
                &mut *conn,
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                (),
            )
            .await?
        }
    };
    Ok(n > 0)
}

/// The newest migration applied, 0 when none.
pub async fn schema_version(conn: &mut AnyConnection) -> StoreResult<i64> {
    let v: Option<i64> = db::value(
        &mut *conn,
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
        (),
    )
    .await?;
    Ok(v.unwrap_or(0))
}

/// Rows in a table (the name comes from `tables`).
pub async fn count_rows(conn: &mut AnyConnection, table: &str) -> StoreResult<i64> {
    let sql = format!("SELECT COUNT(*) FROM {}", q(table));
    db::value(&mut *conn, sqlx::AssertSqlSafe(sql), ()).await
}

/// Every table but the migrations' own, parents before children (cycles, if any, in name
/// order after the rest).
pub async fn tables(conn: &mut AnyConnection, backend: Backend) -> StoreResult<Vec<TableSchema>> {
    let names: Vec<String> = match backend {
        Backend::Sqlite => {
            db::values(
                &mut *conn,
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' \
                 AND name NOT LIKE 'search\\_%' ESCAPE '\\' ORDER BY name",
                (),
            )
            .await?
        }
        Backend::Postgres => {
            db::values(
                &mut *conn,
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> '_sqlx_migrations' AND table_name NOT LIKE 'search\\_%' ESCAPE '\\' \
                 ORDER BY 1",
                (),
            )
            .await?
        }
    };
    let mut out = Vec::new();
    for name in names {
        let (columns, primary_key, parents) = match backend {
            Backend::Sqlite => {
                let cols: Vec<(String, String, i64)> = db::all(
                    &mut *conn,
                    "SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid",
                    name.clone(),
                )
                .await?;
                let mut pk: Vec<(i64, String)> = cols
                    .iter()
                    .filter(|c| c.2 > 0)
                    .map(|c| (c.2, c.0.clone()))
                    .collect();
                pk.sort();
                let parents: Vec<String> = db::values(
                    &mut *conn,
                    "SELECT \"table\" FROM pragma_foreign_key_list($1)",
                    name.clone(),
                )
                .await?;
                (
                    cols.into_iter()
                        .map(|(n, t, _)| {
                            let k = ColKind::of_declared(&t);
                            (n, k)
                        })
                        .collect::<Vec<_>>(),
                    pk.into_iter().map(|p| p.1).collect::<Vec<_>>(),
                    parents,
                )
            }
            Backend::Postgres => {
                let cols: Vec<(String, String)> = db::all(
                    &mut *conn,
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                    name.clone(),
                )
                .await?;
                let pk: Vec<String> = db::values(
                    &mut *conn,
                    "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                     ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisprimary \
                     ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    name.clone(),
                )
                .await?;
                let parents: Vec<String> = db::values(
                    &mut *conn,
                    "SELECT DISTINCT p.relname::text FROM pg_constraint c \
                     JOIN pg_class p ON p.oid = c.confrelid \
                     WHERE c.contype = 'f' AND c.conrelid = to_regclass(quote_ident($1))",
                    name.clone(),
                )
                .await?;
                (
                    cols.into_iter()
                        .map(|(n, t)| {
                            let k = ColKind::of_declared(&t);
                            (n, k)
                        })
                        .collect::<Vec<_>>(),
                    pk,
                    parents,
                )
            }
        };
        out.push(TableSchema {
            parents: parents.into_iter().filter(|p| *p != name).collect(),
            name,
            columns,
            primary_key,
        });
    }
    Ok(fk_order(out))
}

/// Parents before children; tables in a cycle follow in name order.
fn fk_order(mut rest: Vec<TableSchema>) -> Vec<TableSchema> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(rest.len());
    loop {
        let (ready, wait): (Vec<_>, Vec<_>) = rest
            .into_iter()
            .partition(|t| t.parents.iter().all(|p| done.contains(p)));
        if ready.is_empty() {
            out.extend(wait);
            break;
        }
        for t in &ready {
            done.insert(t.name.clone());
        }
        out.extend(ready);
        rest = wait;
        if rest.is_empty() {
            break;
        }
    }
    out
}

/// Begins the read transaction every table is then read in: PostgreSQL a read-only
/// `REPEATABLE READ` snapshot, SQLite a read transaction on the WAL. The first read fixes
/// the snapshot, so one is made here.
pub async fn begin_snapshot(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    match backend {
        Backend::Sqlite => {
            conn.execute("BEGIN DEFERRED").await?;
        }
        Backend::Postgres => {
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
        }
    }
    let _: i64 = db::value(&mut *conn, "SELECT COUNT(*) FROM _sqlx_migrations", ()).await?;
    Ok(())
}

pub async fn end_snapshot(conn: &mut AnyConnection) -> StoreResult<()> {
    conn.execute("COMMIT").await?;
    Ok(())
}

/// Streams a table's rows, in primary-key order, as JSON arrays in `t.columns`' order;
/// answers the number of rows.
pub async fn export_table(
    conn: &mut AnyConnection,
    t: &TableSchema,
    mut each: impl FnMut(Vec<Value>) -> std::io::Result<()>,
) -> StoreResult<i64> {
    let cols = t
        .columns
        .iter()
        .map(|c| q(&c.0))
        .collect::<Vec<_>>()
        .join(", ");
    let order = if t.primary_key.is_empty() {
        String::new()
    } else {
        format!(
            " ORDER BY {}",
            t.primary_key
                .iter()
                .map(|c| q(c))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let sql = format!("SELECT {cols} FROM {}{order}", q(&t.name));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut n = 0i64;
    while let Some(row) = rows.try_next().await? {
        let mut vals = Vec::with_capacity(row.columns().len());
        for i in 0..row.columns().len() {
            vals.push(value_of(&row, i).map_err(|e| {
                StoreError::Other(anyhow::anyhow!(
                    "{}.{}: {e}",
                    t.name,
                    row.columns()[i].name()
                ))
            })?);
        }
        each(vals).map_err(|e| StoreError::Other(e.into()))?;
        n += 1;
    }
    Ok(n)
}

fn value_of(row: &sqlx::any::AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    use sqlx::any::AnyTypeInfoKind as K;
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        K::Null => Value::Null,
        K::Bool => Value::from(i64::from(row.try_get::<bool, _>(i)?)),
        K::SmallInt | K::Integer | K::BigInt => Value::from(row.try_get::<i64, _>(i)?),
        K::Real | K::Double => {
            let f: f64 = row.try_get(i)?;
            match serde_json::Number::from_f64(f) {
                Some(n) => Value::Number(n),
                None => Value::String(f.to_string()),
            }
        }
        K::Text => Value::String(row.try_get::<String, _>(i)?),
        K::Blob => Value::String(B64.encode(row.try_get::<Vec<u8>, _>(i)?)),
    })
}

/// A value decoded for its target column.
enum Bound {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

fn bound(kind: ColKind, v: Value) -> Result<Bound, String> {
    Ok(match (kind, v) {
        (ColKind::Int, Value::Null) => Bound::Int(None),
        (ColKind::Real, Value::Null) => Bound::Real(None),
        (ColKind::Text, Value::Null) => Bound::Text(None),
        (ColKind::Blob, Value::Null) => Bound::Blob(None),
        (ColKind::Int, Value::Number(n)) => Bound::Int(Some(n.as_i64().ok_or("不是整数")?)),
        (ColKind::Int, Value::Bool(b)) => Bound::Int(Some(i64::from(b))),
        (ColKind::Real, Value::Number(n)) => Bound::Real(Some(n.as_f64().ok_or("不是数值")?)),
        (ColKind::Real, Value::String(s)) => {
            Bound::Real(Some(s.parse::<f64>().map_err(|_| "不是数值")?))
        }
        (ColKind::Text, Value::String(s)) => Bound::Text(Some(s)),
        (ColKind::Blob, Value::String(s)) => {
            Bound::Blob(Some(B64.decode(s.as_bytes()).map_err(|_| "不是 base64")?))
        }
        (_, other) => return Err(format!("类型不符：{other}")),
    })
}

/// Loads rows into one table inside the caller's transaction, in batches.
pub struct Loader {
    table: String,
    /// The archive's column order mapped to the target's kinds.
    kinds: Vec<ColKind>,
    insert_head: String,
    batch: Vec<Vec<Value>>,
    batch_bytes: usize,
    max_rows: usize,
    /// SQLite: `?` placeholders. Its `$N` are named parameters, each looked up among the
    /// statement's earlier names while it is prepared: quadratic in a 30,000-value
    /// insert, and most of a restore's time.
    anonymous: bool,
    pub rows: i64,
}

const MAX_PARAMS: usize = 30_000;
const MAX_BATCH_BYTES: usize = 16 << 20;

impl Loader {
    /// `columns` are the archive's; each must exist in the target, and the target may have
    /// no column the archive lacks.
    pub fn new(t: &TableSchema, columns: &[String], backend: Backend) -> Result<Loader, String> {
        let target: BTreeMap<&str, ColKind> =
            t.columns.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        let mut kinds = Vec::with_capacity(columns.len());
        for c in columns {
            kinds.push(
                *target
                    .get(c.as_str())
                    .ok_or_else(|| format!("表 {} 没有列 {c}", t.name))?,
            );
        }
        let archived: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
        if let Some((missing, _)) = t.columns.iter().find(|c| !archived.contains(c.0.as_str())) {
            return Err(format!("备份中表 {} 缺少列 {missing}", t.name));
        }
        Ok(Loader {
            table: t.name.clone(),
            insert_head: format!(
                "INSERT INTO {} ({}) VALUES ",
                q(&t.name),
                columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
            ),
            max_rows: (MAX_PARAMS / columns.len().max(1)).clamp(1, 500),
            anonymous: backend == Backend::Sqlite,
            kinds,
            batch: Vec::new(),
            batch_bytes: 0,
            rows: 0,
        })
    }

    pub async fn push(
        &mut self,
        conn: &mut AnyConnection,
        row: Vec<Value>,
        bytes: usize,
    ) -> StoreResult<()> {
        if row.len() != self.kinds.len() {
            return Err(StoreError::Other(anyhow::anyhow!(
                "表 {} 第 {} 行的列数不对",
                self.table,
                self.rows + self.batch.len() as i64 + 1
            )));
        }
        self.batch.push(row);
        self.batch_bytes += bytes;
        if self.batch.len() >= self.max_rows || self.batch_bytes >= MAX_BATCH_BYTES {
            self.flush(conn).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, conn: &mut AnyConnection) -> StoreResult<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let w = self.kinds.len();
        let mut sql = self.insert_head.clone();
        for r in 0..rows.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..w {
                if c > 0 {
                    sql.push_str(", ");
                }
                if self.anonymous {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${}", r * w + c + 1));
                }
            }
            sql.push(')');
        }
        // PostgreSQL: never a cached statement. sqlx's `Any` driver types a NULL `f64` as
        // `float4` and a value as `float8`, and caches a statement by its text with the
        // types of its first execution: a full batch whose REAL column was NULL in the
        // first batch and holds a value in a later one was refused ("incorrect binary
        // data format"). Unnamed, each batch is prepared with its own types.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(self.anonymous);
        let first = self.rows;
        for (r, row) in rows.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                let b = bound(self.kinds[c], v).map_err(|m| {
                    StoreError::Other(anyhow::anyhow!(
                        "表 {} 第 {} 行第 {} 列：{m}",
                        self.table,
                        first + r as i64 + 1,
                        c + 1
                    ))
                })?;
                query = match b {
                    Bound::Int(v) => query.bind(v),
                    Bound::Real(v) => query.bind(v),
                    Bound::Text(v) => query.bind(v),
                    Bound::Blob(v) => query.bind(v),
                };
            }
            self.rows += 1;
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

/// Begins the load: one transaction; SQLite checks foreign keys at commit.
pub async fn begin_load(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    match backend {
        Backend::Sqlite => {
            conn.execute("BEGIN IMMEDIATE").await?;
            conn.execute("PRAGMA defer_foreign_keys = ON").await?;
        }
        Backend::Postgres => {
            conn.execute("BEGIN").await?;
        }
    }
    Ok(())
}

pub async fn rollback(conn: &mut AnyConnection) {
    let _ = conn.execute("ROLLBACK").await;
}

/// Removes the rows the migrations seeded, children first.
///
/// The search index is left out of archives (its layout differs per backend): it is
/// emptied here and rebuilt from the restored records at the next start.
pub async fn clear_tables(conn: &mut AnyConnection, order: &[TableSchema]) -> StoreResult<()> {
    conn.execute("DELETE FROM search_docs").await?;
    for t in order.iter().rev() {
        conn.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {}", q(&t.name))))
            .await?;
    }
    Ok(())
}

/// Before the trigger-kept tables are loaded: PostgreSQL runs the deferred triggers now
/// and their effects are cleared, so the archived rows are what stays.
pub async fn settle_triggers(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend == Backend::Postgres {
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE").await?;
    }
    for t in TRIGGER_KEPT {
        conn.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {}", q(t))))
            .await?;
    }
    Ok(())
}

/// PostgreSQL: every identity column's sequence continues after the loaded rows.
pub async fn reset_sequences(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let cols: Vec<(String, String)> = db::all(
        &mut *conn,
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
        (),
    )
    .await?;
    for (t, c) in cols {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), m)::bigint FROM \
             (SELECT MAX({}) AS m FROM {}) s WHERE m IS NOT NULL",
            q(&c),
            q(&t)
        );
        db::exec(&mut *conn, sqlx::AssertSqlSafe(sql), (q(&t), c.clone())).await?;
    }
    Ok(())
}

pub async fn commit(conn: &mut AnyConnection) -> StoreResult<()> {
    conn.execute("COMMIT").await?;
    Ok(())
}

/// PostgreSQL `--force`: drops and recreates the current schema with everything in it.
pub async fn drop_postgres_schema(conn: &mut AnyConnection) -> StoreResult<()> {
    let s: String = db::value(&mut *conn, "SELECT current_schema()::text", ()).await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA {0} CASCADE; CREATE SCHEMA {0}",
        q(&s)
    )))
    .await?;
    Ok(())
}
