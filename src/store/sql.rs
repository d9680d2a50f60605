//! Small builders for the store's hand-written statements, so a module names its columns
//! and values once instead of spelling out `$n` placeholders and a `.bind` per column:
//! [`Columns`] writes one row (`INSERT … RETURNING id`, `UPDATE … WHERE id`), [`Filter`]
//! collects a list's `WHERE` conditions for [`Store::filtered_page`].
//!
//! Values go through [`Arg`] and `entities::bind_*`, so a statement bound with a NULL
//! `f64` is prepared for its execution only (the sqlx `Any` pitfall described at
//! `entities::cacheable`). Placeholders are `$1..$n` on both backends: sqlx's SQLite driver
//! binds `$n` by number.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, FromRow};

use super::db;
use super::entities::Arg;
use super::{Store, StoreError, StoreResult, Tx};

/// A Rust value as a typed bind argument (PostgreSQL needs a NULL's type).
pub trait IntoArg {
    fn into_arg(self) -> Arg;
}

impl IntoArg for Arg {
    fn into_arg(self) -> Arg {
        self
    }
}

impl IntoArg for i64 {
    fn into_arg(self) -> Arg {
        Arg::Int(Some(self))
    }
}

impl IntoArg for Option<i64> {
    fn into_arg(self) -> Arg {
        Arg::Int(self)
    }
}

/// A flag is stored as 0/1.
impl IntoArg for bool {
    fn into_arg(self) -> Arg {
        Arg::Int(Some(i64::from(self)))
    }
}

impl IntoArg for f64 {
    fn into_arg(self) -> Arg {
        Arg::Float(Some(self))
    }
}

impl IntoArg for Option<f64> {
    fn into_arg(self) -> Arg {
        Arg::Float(self)
    }
}

impl IntoArg for String {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self))
    }
}

impl IntoArg for &str {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self.to_string()))
    }
}

impl IntoArg for &String {
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self.clone()))
    }
}

impl IntoArg for Option<String> {
    fn into_arg(self) -> Arg {
        Arg::Text(self)
    }
}

impl IntoArg for &Option<String> {
    fn into_arg(self) -> Arg {
        Arg::Text(self.clone())
    }
}

impl IntoArg for Option<&str> {
    fn into_arg(self) -> Arg {
        Arg::Text(self.map(str::to_string))
    }
}

/// The columns of one row to write and their values, in order.
///
/// ```ignore
/// let id = Columns::new().set("code", &v.code).set("name", &v.name)
///     .set("created_at", now_ms).set("updated_at", now_ms)
///     .insert(tx, "service_lines").await?;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Columns {
    names: Vec<&'static str>,
    args: Vec<Arg>,
}

impl Columns {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name = value`.
    pub fn set(mut self, name: &'static str, value: impl IntoArg) -> Self {
        self.names.push(name);
        self.args.push(value.into_arg());
        self
    }

    /// Adds `created_at` and `updated_at`, both `now_ms` (a new row).
    pub fn created(self, now_ms: i64) -> Self {
        self.set("created_at", now_ms).set("updated_at", now_ms)
    }

    /// Adds the columns every stored upload's row has: its name, type, size, SHA-256,
    /// where it is stored, and who uploaded it (`uploaded_by`, `uploaded_by_name`).
    pub fn stored_file(
        self,
        (file_name, content_type): (&str, &str),
        size: i64,
        sha256: &str,
        stored_path: &str,
        (user_id, user_name): (i64, &str),
    ) -> Self {
        self.set("file_name", file_name)
            .set("content_type", content_type)
            .set("size", size)
            .set("sha256", sha256)
            .set("stored_path", stored_path)
            .set("uploaded_by", user_id)
            .set("uploaded_by_name", user_name)
    }

    /// `INSERT INTO table (…) VALUES ($1, …)`, then `tail` (e.g. `RETURNING id`).
    fn insert_sql(&self, table: &str, tail: &str) -> String {
        let marks: Vec<String> = (1..=self.names.len()).map(|i| format!("${i}")).collect();
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) {tail}",
            self.names.join(", "),
            marks.join(", ")
        )
    }

    /// `UPDATE table SET a = $1, … WHERE cond`, each `?` of `cond` numbered after the
    /// columns, in order.
    fn update_sql(&self, table: &str, cond: &str) -> String {
        let sets: Vec<String> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let mut n = self.names.len();
        let mut filter = String::new();
        for part in cond.split('?').enumerate() {
            if part.0 > 0 {
                n += 1;
                filter.push_str(&format!("${n}"));
            }
            filter.push_str(part.1);
        }
        format!("UPDATE {table} SET {} WHERE {filter}", sets.join(", "))
    }

    /// Inserts the row into `table` and answers its id.
    pub async fn insert(self, tx: &mut Tx, table: &str) -> StoreResult<i64> {
        let sql = self.insert_sql(table, "RETURNING id");
        db::value(&mut **tx, AssertSqlSafe(sql), self.args).await
    }

    /// Inserts the row into `table` unless it collides with a unique key; answers the new
    /// id, or `None` when such a row existed.
    pub async fn insert_new(self, tx: &mut Tx, table: &str) -> StoreResult<Option<i64>> {
        let sql = self.insert_sql(table, "ON CONFLICT DO NOTHING RETURNING id");
        db::maybe_value(&mut **tx, AssertSqlSafe(sql), self.args).await
    }

    /// Inserts the row into `table` unless one with the same `key` (a unique column)
    /// exists, in which case nothing happens.
    pub async fn insert_unless_exists(
        self,
        tx: &mut Tx,
        table: &str,
        key: &str,
    ) -> StoreResult<()> {
        let sql = self.insert_sql(table, &format!("ON CONFLICT ({key}) DO NOTHING"));
        db::exec(&mut **tx, AssertSqlSafe(sql), self.args).await?;
        Ok(())
    }

    /// Updates the row `id` of `table`; `NotFound` when there is none.
    pub async fn update(self, tx: &mut Tx, table: &str, id: i64) -> StoreResult<()> {
        if self
            .update_where(tx, table, "id = ?", [Arg::Int(Some(id))])
            .await?
            == 0
        {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Updates the rows of `table` that match `cond`, whose `?` marks stand for `keys` in
    /// order; answers how many rows changed (a guarded change checks it for a conflict).
    pub async fn update_where(
        mut self,
        tx: &mut Tx,
        table: &str,
        cond: &str,
        keys: impl IntoIterator<Item = Arg>,
    ) -> StoreResult<u64> {
        let sql = self.update_sql(table, cond);
        self.args.extend(keys);
        db::exec(&mut **tx, AssertSqlSafe(sql), self.args).await
    }
}

/// Deletes the row `id` of `table`; `NotFound` when there is none.
pub async fn delete_by_id(tx: &mut Tx, table: &str, id: i64) -> StoreResult<()> {
    let sql = format!("DELETE FROM {table} WHERE id = $1");
    let n = db::exec(&mut **tx, AssertSqlSafe(sql), id).await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the rows of `table` older than `bound` (`WHERE {column} < bound`) in batches of
/// at most `batch` rows, each batch its own write transaction, and answers how many went.
/// `key` names the columns that identify a row (`id`, or a composite key such as
/// `monitor_id, hour`). A purge of a large table then neither holds the writer for the
/// whole deletion (the desk's writes queue behind it on SQLite) nor keeps every deleted
/// page of one savepoint in memory.
pub async fn delete_older_in_batches(
    store: &super::Store,
    table: &str,
    key: &str,
    column: &str,
    bound: i64,
    batch: i64,
) -> StoreResult<u64> {
    let batch = batch.max(1);
    let sql = format!(
        "DELETE FROM {table} WHERE ({key}) IN \
         (SELECT {key} FROM {table} WHERE {column} < $1 LIMIT {batch})"
    );
    let mut total = 0;
    loop {
        let mut tx = store.write_tx().await?;
        let n = db::exec(&mut *tx, AssertSqlSafe(sql.clone()), bound).await?;
        tx.commit().await?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
    }
}

/// Turns a uniqueness violation into `Conflict(message)` (a message for the user, who
/// must pick another name); any other error passes through.
pub fn unique_conflict(message: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Backend(e) if super::is_unique_violation(&e) => StoreError::Conflict(message),
        e => e,
    }
}

/// A list's `WHERE` conditions and their arguments, numbered in the order they are added.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    conds: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition without arguments.
    pub fn raw(&mut self, cond: impl Into<String>) -> &mut Self {
        self.conds.push(cond.into());
        self
    }

    /// Adds `cond`, each of whose `?` stands for `value`, when there is a value.
    pub fn when<V: IntoArg>(&mut self, cond: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.args.push(v.into_arg());
            let mark = format!("${}", self.args.len());
            self.conds.push(cond.replace('?', &mark));
        }
        self
    }

    /// Adds `column = value` when there is a value.
    pub fn eq<V: IntoArg>(&mut self, column: &str, value: Option<V>) -> &mut Self {
        self.when(&format!("{column} = ?"), value)
    }

    /// Limits `column` to `ids` when given (nothing matches an empty list). Ids are
    /// numbers, so they are written into the statement.
    pub fn within(&mut self, column: &str, ids: Option<&[i64]>) -> &mut Self {
        match ids {
            Some([]) => self.raw("1 = 0"),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                self.raw(format!("{column} IN ({})", list.join(", ")))
            }
            None => self,
        }
    }

    /// Limits `column` to `values` when there are any (`column IN ($a, $b, …)`).
    pub fn one_of(&mut self, column: &str, values: &[String]) -> &mut Self {
        if values.is_empty() {
            return self;
        }
        let mut marks = Vec::new();
        for v in values {
            self.args.push(v.into_arg());
            marks.push(format!("${}", self.args.len()));
        }
        self.raw(format!("{column} IN ({})", marks.join(", ")))
    }

    /// A case-insensitive substring search of `q` (when given) in any of `exprs`, which
    /// must be text (wrap a nullable column in `COALESCE(col, '')`).
    pub fn search(&mut self, exprs: &[&str], q: Option<&str>) -> &mut Self {
        let Some(q) = q else {
            return self;
        };
        self.args.push(Arg::Text(Some(super::like_pattern(q))));
        let n = self.args.len();
        let ors: Vec<String> = exprs
            .iter()
            .map(|e| format!("LOWER({e}) LIKE ${n} ESCAPE '\\'"))
            .collect();
        self.conds.push(format!("({})", ors.join(" OR ")));
        self
    }

    /// ` WHERE a AND b` with its leading space, or nothing without conditions.
    pub fn clause(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// The conditions (to be joined with `AND`) and their arguments.
    pub fn into_parts(self) -> (Vec<String>, Vec<Arg>) {
        (self.conds, self.args)
    }
}

impl Store {
    /// One page of `select` (`SELECT … FROM table alias …`) narrowed by `filter`, in
    /// `order`, and how many rows of `counted` (`table alias`) the filter matches.
    pub(crate) async fn filtered_page<T>(
        &self,
        select: &str,
        counted: &str,
        filter: &Filter,
        order: &str,
        (limit, offset): (i64, i64),
    ) -> StoreResult<(Vec<T>, i64)>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        self.list_page(
            select,
            counted,
            &filter.clause(),
            filter.args(),
            order,
            (limit, offset),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_number_their_placeholders_in_order() {
        let c = Columns::new()
            .set("a", 1_i64)
            .set("b", "x")
            .set("c", None::<f64>);
        assert_eq!(
            c.insert_sql("t", "RETURNING id"),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3) RETURNING id"
        );
        assert_eq!(
            c.update_sql("t", "id = ? AND s = ?"),
            "UPDATE t SET a = $1, b = $2, c = $3 WHERE id = $4 AND s = $5"
        );
    }

    #[test]
    fn a_filter_numbers_its_arguments_and_skips_missing_values() {
        let mut f = Filter::new();
        f.eq("x.a", Some(3_i64))
            .eq("x.b", None::<String>)
            .within("x.c", Some(&[1_i64, 2]))
            .search(&["x.d", "COALESCE(x.e, '')"], Some("Q"))
            .when("x.f >= ?", Some(5_i64))
            .one_of("x.g", &["a".to_string(), "b".to_string()])
            .one_of("x.h", &[]);
        assert_eq!(
            f.clause(),
            " WHERE x.a = $1 AND x.c IN (1, 2) AND (LOWER(x.d) LIKE $2 ESCAPE '\\' OR \
             LOWER(COALESCE(x.e, '')) LIKE $2 ESCAPE '\\') AND x.f >= $3 AND x.g IN ($4, $5)"
        );
        assert_eq!(f.args().len(), 5);
        assert_eq!(Filter::new().clause(), "");
        let mut none = Filter::new();
        none.within("x.c", Some(&[]));
        assert_eq!(none.clause(), " WHERE 1 = 0");
    }
}

/// PostgreSQL literals for a statement that runs in the commit's own round trip
/// ([`Tx::run_at_commit`](super::Tx::run_at_commit)), which goes over the simple-query
/// protocol and so cannot carry bound parameters. Text is written as its UTF-8 bytes in
/// hex, so whatever it holds, the literal is hex digits between two quotes and nothing in
/// it can end the string.
pub mod pg_lit {
    /// `s` as a `text` expression.
    pub fn text(s: &str) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(s.len() * 2 + 40);
        out.push_str("convert_from(decode('");
        for b in s.bytes() {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        out.push_str("', 'hex'), 'UTF8')");
        out
    }

    /// `s` as a `text` expression, or a typed NULL.
    pub fn opt_text(s: Option<&str>) -> String {
        s.map_or_else(|| "CAST(NULL AS text)".to_string(), text)
    }

    /// `i` as a `bigint` expression.
    pub fn int(i: i64) -> String {
        format!("CAST({i} AS bigint)")
    }

    /// `i` as a `bigint` expression, or a typed NULL.
    pub fn opt_int(i: Option<i64>) -> String {
        i.map_or_else(|| "CAST(NULL AS bigint)".to_string(), int)
    }

    #[cfg(test)]
    mod tests {
        use proptest::prelude::*;

        proptest! {
            /// Whatever the text, its literal is hex digits inside the one pair of quotes.
            #[test]
            fn a_text_literal_is_hex_digits_between_two_quotes(s in ".*") {
                let lit = super::text(&s);
                let inner = lit
                    .strip_prefix("convert_from(decode('")
                    .and_then(|r| r.strip_suffix("', 'hex'), 'UTF8')"))
                    .expect("the literal's frame");
                prop_assert!(inner.bytes().all(|b| b.is_ascii_hexdigit()));
                prop_assert_eq!(inner.len(), s.len() * 2);
                let bytes: Vec<u8> = (0..inner.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&inner[i..i + 2], 16).expect("hex"))
                    .collect();
                prop_assert_eq!(String::from_utf8(bytes).expect("utf-8"), s);
            }
        }

        #[test]
        fn integers_and_nulls_are_typed() {
            assert_eq!(super::int(-42), "CAST(-42 AS bigint)");
            assert_eq!(super::opt_int(None), "CAST(NULL AS bigint)");
            assert_eq!(super::opt_text(None), "CAST(NULL AS text)");
            assert_eq!(super::int(i64::MIN), "CAST(-9223372036854775808 AS bigint)");
        }
    }
}
