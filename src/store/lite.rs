//! The SQLite writer's connection, run on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement to it
//! and its answer back: two thread wake-ups per statement. A creation runs a dozen
//! statements while it holds the single writer (the lane), so those hand-overs were most of
//! the writer's time and half of the process's CPU (`docs/PERFORMANCE.md`). [`LiteConn`]
//! runs the statements where the writer's task runs, through rusqlite (the same SQLite
//! library sqlx links), and answers in sqlx's own `Any` types, so every store function
//! keeps its one text of SQL, its parameters and its row types for both databases.
//!
//! What it reproduces of sqlx's SQLite driver, which the pool's readers still use:
//! - parameters: `$N` and `?N` name the N-th argument, a bare `?` the next one, across the
//!   statements of one text; an argument past the end leaves the rest unbound (NULL);
//! - rows: a column's type is its declared type, else unknown; a value's kind is its
//!   storage class, a NULL keeps its column's kind; text must be UTF-8;
//! - results: each statement answers its rows, then the rows it changed; with a limit
//!   (`fetch_optional`), nothing runs past the first row;
//! - errors: SQLite's message and extended result code, with the constraint kind.
//!
//! A statement runs to its end before its future is first polled. That holds the calling
//! thread for the statement's time, which is the writer's serial section anyway. Its
//! answer then spends a unit of tokio's cooperative budget, so a write of thousands of
//! statements (an import) still lets the other tasks of its thread run now and then.

use std::borrow::Cow;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::{Null, ValueRef};
use rusqlite::{Batch, OpenFlags, Statement};
use sqlx::any::{
    Any, AnyArguments, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo, AnyTypeInfoKind, AnyValue,
};
use sqlx::{Execute, Executor};
use sqlx_core::Either;
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::error::{DatabaseError, ErrorKind};
use sqlx_core::ext::ustr::UStr;
use sqlx_core::sql_str::SqlStr;

/// How many statement texts stay prepared (rusqlite's cache) and keep their columns.
const CACHE_MAX: usize = 512;

/// A statement's columns, as `Any` rows carry them.
#[derive(Clone, Default)]
struct Columns {
    list: Arc<Vec<AnyColumn>>,
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
}

/// A SQLite connection whose statements run on the calling thread.
pub struct LiteConn {
    conn: rusqlite::Connection,
    /// The columns of the cached statements, by text.
    columns: std::collections::HashMap<String, Columns>,
}

impl std::fmt::Debug for LiteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteConn")
            .field("prepared", &self.columns.len())
            .finish()
    }
}

/// An error SQLite reported.
#[derive(Debug)]
pub struct LiteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for LiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for LiteError {}

impl DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn protocol(msg: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Protocol(msg.into())
}

/// sqlx's error for a rusqlite one.
fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => sqlx::Error::Database(Box::new(LiteError {
            code: f.extended_code,
            message: msg.unwrap_or_else(|| f.to_string()),
        })),
        other => protocol(other.to_string()),
    }
}

type Step = Either<AnyQueryResult, AnyRow>;

impl LiteConn {
    /// Opens (creating if needed) the database file at `path` and runs `pragmas`.
    pub fn open(path: &std::path::Path, pragmas: &str) -> Result<LiteConn, sqlx::Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(to_sqlx)?;
        conn.set_prepared_statement_cache_capacity(CACHE_MAX);
        let mut c = LiteConn {
            conn,
            columns: Default::default(),
        };
        c.run(pragmas, None, false, None)?;
        Ok(c)
    }

    /// From now on a statement that finds the database locked by another connection fails
    /// at once (`SQLITE_BUSY`) instead of waiting on the calling thread.
    pub fn no_wait(&mut self) -> Result<(), sqlx::Error> {
        self.conn
            .busy_timeout(std::time::Duration::ZERO)
            .map_err(to_sqlx)
    }

    /// Runs `sql` (no arguments) waiting up to `wait` for a lock another connection holds:
    /// for a blocking thread, after [`LiteConn::is_busy`].
    pub fn run_waiting(&mut self, sql: &str, wait: std::time::Duration) -> Result<(), sqlx::Error> {
        self.conn.busy_timeout(wait).map_err(to_sqlx)?;
        let r = self.run(sql, None, false, None).map(|_| ());
        let back = self.no_wait();
        r.and(back)
    }

    /// Whether `e` says another connection holds the lock a statement needed.
    pub fn is_busy(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d)
            if d.code().and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == rusqlite::ffi::SQLITE_BUSY))
    }

    /// Runs `sql` with `args`: every statement's rows, then what it changed. With
    /// `limit`, stops after that many rows, as sqlx does for `fetch_optional`.
    fn run(
        &mut self,
        sql: &str,
        args: Option<AnyArguments>,
        persistent: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Step>, sqlx::Error> {
        let cached = persistent && args.is_some();
        let mut run = Run {
            conn: &self.conn,
            values: args.map(|a| a.values.0).unwrap_or_default(),
            offset: 0,
            limit,
            out: Vec::new(),
        };
        if cached {
            match self.conn.prepare_cached(sql) {
                Ok(mut stmt) => {
                    let cols = match self.columns.get(sql) {
                        Some(c) if c.list.len() == stmt.column_count() => c.clone(),
                        _ => {
                            let c = columns_of(&stmt)?;
                            if self.columns.len() >= CACHE_MAX {
                                self.columns.clear();
                            }
                            self.columns.insert(sql.to_string(), c.clone());
                            c
                        }
                    };
                    run.statement(&mut stmt, &cols)?;
                    return Ok(run.out);
                }
                // Several statements in one text: prepared one by one below.
                Err(rusqlite::Error::MultipleStatement) => {}
                Err(e) => return Err(to_sqlx(e)),
            }
        }
        let mut batch = Batch::new(&self.conn, sql);
        while let Some(mut stmt) = batch.next().map_err(to_sqlx)? {
            let cols = columns_of(&stmt)?;
            if !run.statement(&mut stmt, &cols)? {
                break;
            }
        }
        Ok(run.out)
    }
}

/// One text's run: its arguments, the bare `?` parameters bound so far, and what it
/// answered.
struct Run<'a> {
    conn: &'a rusqlite::Connection,
    values: Vec<AnyValueKind>,
    offset: usize,
    limit: Option<usize>,
    out: Vec<Step>,
}

impl Run<'_> {
    /// Binds and runs one statement to its end (or until the limit of rows), adding its
    /// rows and then what it changed. `Ok(false)`: the limit was reached, run nothing
    /// further.
    fn statement(&mut self, stmt: &mut Statement<'_>, cols: &Columns) -> Result<bool, sqlx::Error> {
        bind(stmt, &self.values, &mut self.offset)?;
        let readonly = stmt.readonly();
        let mut seen = self.out.iter().filter(|s| s.is_right()).count();
        let mut rows = stmt.raw_query();
        loop {
            if self.limit.is_some_and(|l| seen >= l) {
                return Ok(false);
            }
            match rows.next().map_err(to_sqlx)? {
                Some(row) => {
                    self.out.push(Either::Right(any_row(row, cols)?));
                    seen += 1;
                }
                None => break,
            }
        }
        drop(rows);
        self.out.push(Either::Left(AnyQueryResult {
            rows_affected: if readonly { 0 } else { self.conn.changes() },
            last_insert_id: None,
        }));
        Ok(true)
    }
}

/// Binds `values` to `stmt`'s parameters the way sqlx's SQLite driver does (`offset`: the
/// bare `?` parameters of earlier statements of the same text).
fn bind(
    stmt: &mut Statement<'_>,
    values: &[AnyValueKind],
    offset: &mut usize,
) -> Result<(), sqlx::Error> {
    for i in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(i) {
            None => {
                *offset += 1;
                *offset
            }
            Some(name) => {
                let digits = name
                    .strip_prefix('?')
                    .or_else(|| name.strip_prefix('$'))
                    .ok_or_else(|| protocol(format!("unsupported SQL parameter format: {name}")))?;
                digits.parse::<usize>().map_err(|_| {
                    protocol(format!(
                        "parameters with non-integer names are not currently supported: {name}"
                    ))
                })?
            }
        };
        if n == 0 || n > values.len() {
            // SQLite leaves an unbound parameter NULL; sqlx stops binding there.
            break;
        }
        let r = match &values[n - 1] {
            AnyValueKind::Null(_) => stmt.raw_bind_parameter(i, Null),
            AnyValueKind::Bool(b) => stmt.raw_bind_parameter(i, i32::from(*b)),
            AnyValueKind::SmallInt(v) => stmt.raw_bind_parameter(i, v),
            AnyValueKind::Integer(v) => stmt.raw_bind_parameter(i, v),
            AnyValueKind::BigInt(v) => stmt.raw_bind_parameter(i, v),
            AnyValueKind::Real(v) => stmt.raw_bind_parameter(i, f64::from(*v)),
            AnyValueKind::Double(v) => stmt.raw_bind_parameter(i, v),
            AnyValueKind::Text(t) => stmt.raw_bind_parameter(i, t.as_str()),
            AnyValueKind::TextSlice(t) => stmt.raw_bind_parameter(i, &**t),
            AnyValueKind::Blob(b) => stmt.raw_bind_parameter(i, b.as_slice()),
            other => return Err(protocol(format!("cannot bind {other:?} to SQLite"))),
        };
        r.map_err(to_sqlx)?;
    }
    Ok(())
}

/// The `Any` kind of an SQLite declared type, as sqlx's driver maps it (`None`: a type the
/// `Any` driver refuses).
fn decl_kind(decl: Option<&str>) -> Option<AnyTypeInfoKind> {
    let Some(d) = decl else {
        return Some(AnyTypeInfoKind::Null);
    };
    let s = d.to_ascii_lowercase();
    Some(match s.as_str() {
        "int4" => AnyTypeInfoKind::Integer,
        "int8" => AnyTypeInfoKind::BigInt,
        "boolean" | "bool" | "date" | "time" | "datetime" | "timestamp" => return None,
        _ if s.contains("int") => AnyTypeInfoKind::BigInt,
        _ if s.contains("char") || s.contains("clob") || s.contains("text") => {
            AnyTypeInfoKind::Text
        }
        _ if s.contains("blob") => AnyTypeInfoKind::Blob,
        _ if s.contains("real") || s.contains("floa") || s.contains("doub") => {
            AnyTypeInfoKind::Double
        }
        // An unknown declared type reads as an expression's: no type until a value has one.
        _ => AnyTypeInfoKind::Null,
    })
}

/// A prepared statement's columns.
fn columns_of(stmt: &Statement<'_>) -> Result<Columns, sqlx::Error> {
    let cols = stmt.columns();
    let mut list = Vec::with_capacity(cols.len());
    let mut names = sqlx_core::HashMap::with_capacity(cols.len());
    for (ordinal, c) in cols.iter().enumerate() {
        let kind = decl_kind(c.decl_type()).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: c.name().to_string(),
            source: format!(
                "Any driver does not support the SQLite type {:?}",
                c.decl_type()
            )
            .into(),
        })?;
        let name = UStr::from(c.name().to_string());
        names.insert(name.clone(), ordinal);
        list.push(AnyColumn {
            ordinal,
            name,
            type_info: AnyTypeInfo { kind },
        });
    }
    Ok(Columns {
        list: Arc::new(list),
        names: Arc::new(names),
    })
}

/// A row as sqlx's `Any` driver answers it.
fn any_row(row: &rusqlite::Row<'_>, cols: &Columns) -> Result<AnyRow, sqlx::Error> {
    let mut values = Vec::with_capacity(cols.list.len());
    for col in cols.list.iter() {
        let kind = match row.get_ref(col.ordinal).map_err(to_sqlx)? {
            ValueRef::Null => AnyValueKind::Null(col.type_info.kind),
            ValueRef::Integer(i) => AnyValueKind::BigInt(i),
            ValueRef::Real(f) => AnyValueKind::Double(f),
            ValueRef::Text(t) => {
                let s = std::str::from_utf8(t).map_err(|e| sqlx::Error::ColumnDecode {
                    index: col.name.to_string(),
                    source: Box::new(e),
                })?;
                AnyValueKind::Text(Arc::new(s.to_owned()))
            }
            ValueRef::Blob(b) => AnyValueKind::Blob(Arc::new(b.to_vec())),
        };
        values.push(AnyValue { kind });
    }
    Ok(AnyRow {
        column_names: cols.names.clone(),
        columns: cols.list.to_vec(),
        values,
    })
}

/// The SQL, arguments and caching wish of a query.
fn take<'q, E: Execute<'q, Any>>(
    mut query: E,
) -> Result<(SqlStr, Option<AnyArguments>, bool), sqlx::Error> {
    let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
    let persistent = query.persistent();
    Ok((query.sql(), args, persistent))
}

impl<'c> Executor<'c> for &'c mut LiteConn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Step, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let steps = take(query)
            .and_then(|(sql, args, persistent)| self.run(sql.as_str(), args, persistent, None));
        let items: Vec<Result<Step, sqlx::Error>> = match steps {
            Ok(s) => s.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        let answer = async move {
            tokio::task::consume_budget().await;
            futures_util::stream::iter(items)
        };
        Box::pin(futures_util::stream::once(answer).flatten())
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let r = take(query)
            .and_then(|(sql, args, persistent)| self.run(sql.as_str(), args, persistent, Some(1)))
            .map(|steps| {
                steps.into_iter().find_map(|s| match s {
                    Either::Right(row) => Some(row),
                    Either::Left(_) => None,
                })
            });
        Box::pin(async move {
            tokio::task::consume_budget().await;
            r
        })
    }

    fn prepare_with<'e>(
        self,
        _sql: SqlStr,
        _parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(std::future::ready(Err(protocol(
            "the SQLite writer does not hand out prepared statements",
        ))))
    }

    fn describe<'e>(
        self,
        _sql: SqlStr,
    ) -> BoxFuture<'e, Result<sqlx_core::describe::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(std::future::ready(Err(protocol(
            "the SQLite writer does not describe statements",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::any::AnyConnectOptions;
    use sqlx::{AnyConnection, ConnectOptions, Row};

    use super::*;

    /// The same file through sqlx's SQLite driver and through [`LiteConn`].
    async fn both(dir: &std::path::Path) -> (AnyConnection, LiteConn) {
        sqlx::any::install_default_drivers();
        let file = dir.join("t.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut any = AnyConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql(
            "PRAGMA journal_mode = WAL; \
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, \
             data BLOB, note VARCHAR(20), n INT4, odd NUMERIC, parent INTEGER REFERENCES t(id)); \
             INSERT INTO t (name, score, data, note, n, odd) VALUES \
             ('一', 1.5, X'00ff', NULL, 7, 3), ('two', NULL, NULL, 'x', NULL, 'abc')",
        )
        .execute(&mut any)
        .await
        .unwrap();
        let lite = LiteConn::open(&file, "PRAGMA foreign_keys = ON;").unwrap();
        (any, lite)
    }

    /// Every column of every row, as the `Any` kinds and column metadata say.
    fn shape(rows: &[AnyRow]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                let cols: Vec<String> = r
                    .columns
                    .iter()
                    .map(|c| format!("{}#{}:{:?}", c.name, c.ordinal, c.type_info.kind))
                    .collect();
                let vals: Vec<String> = r.values.iter().map(|v| format!("{:?}", v.kind)).collect();
                format!("{cols:?} = {vals:?}")
            })
            .collect()
    }

    /// Reads answer the same rows, column kinds and value kinds through both.
    #[tokio::test]
    async fn rows_read_as_sqlx_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut any, mut lite) = both(dir.path()).await;
        for sql in [
            "SELECT * FROM t ORDER BY id",
            "SELECT id, name || '!' AS shout, score * 2, NULL AS nil, count(*) OVER () FROM t ORDER BY id",
            "SELECT (SELECT name FROM t WHERE id = $1), $2 AS echoed, ?3 AS third",
        ] {
            let a = sqlx::query(sql)
                .bind(2i64)
                .bind("回声")
                .bind(3.25f64)
                .fetch_all(&mut any)
                .await
                .unwrap();
            let l = sqlx::query(sql)
                .bind(2i64)
                .bind("回声")
                .bind(3.25f64)
                .fetch_all(&mut lite)
                .await
                .unwrap();
            assert_eq!(shape(&a), shape(&l), "{sql}");
        }
        let (name, score): (String, Option<f64>) =
            sqlx::query_as("SELECT name, score FROM t WHERE id = $1")
                .bind(1i64)
                .fetch_one(&mut lite)
                .await
                .unwrap();
        assert_eq!((name.as_str(), score), ("一", Some(1.5)));
    }

    /// Several statements in one text share the arguments as sqlx binds them; changes are
    /// counted per statement; `fetch_optional` stops at the first row.
    #[tokio::test]
    async fn statements_of_one_text_and_their_results() {
        let dir = tempfile::tempdir().unwrap();
        let (mut any, mut lite) = both(dir.path()).await;
        let r = sqlx::query("UPDATE t SET score = $1 WHERE id = 1; UPDATE t SET score = $1")
            .bind(9.0f64)
            .execute(&mut lite)
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 3);
        let sql =
            "INSERT INTO t (name) VALUES (?); INSERT INTO t (name) VALUES (?) RETURNING id, name";
        let rows = sqlx::query(sql)
            .bind("a")
            .bind("b")
            .fetch_all(&mut lite)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("name"), "b");
        let first = sqlx::query("SELECT id FROM t ORDER BY id")
            .fetch_optional(&mut lite)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.get::<i64, _>(0), 1);
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut any)
            .await
            .unwrap();
        assert_eq!(n, 4, "the writer's rows are committed and seen by sqlx");
        let none = sqlx::query("SELECT id FROM t WHERE id < 0")
            .fetch_optional(&mut lite)
            .await
            .unwrap();
        assert!(none.is_none());
    }

    /// Constraint errors keep their kind and SQLite's message, as the store's checks
    /// (`is_unique_violation`, `is_fk_violation`) read them; nothing is written.
    #[tokio::test]
    async fn constraint_errors_read_as_sqlxs() {
        let dir = tempfile::tempdir().unwrap();
        let (mut any, mut lite) = both(dir.path()).await;
        for (sql, unique) in [
            ("INSERT INTO t (name) VALUES ('two')", true),
            ("INSERT INTO t (name, parent) VALUES ('x', 99)", false),
        ] {
            let l = sqlx::query(sql).execute(&mut lite).await.unwrap_err();
            assert_eq!(crate::store::is_unique_violation(&l), unique, "{l}");
            assert_eq!(crate::store::is_fk_violation(&l), !unique, "{l}");
            let sqlx::Error::Database(d) = &l else {
                panic!("{l:?}")
            };
            assert!(d.message().contains("constraint failed"), "{}", d.message());
        }
        let e = sqlx::query("SELEC nonsense").execute(&mut lite).await;
        assert!(e.is_err());
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut any)
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
}
