//! One statement run and read in one call: the shapes every store module repeats ("the row
//! with this id, or `NotFound`", "every row", "a count", "change these rows"). Each takes
//! where it runs, as sqlx does: the pool (`self.pool()`) for a read outside a write, or the
//! write transaction (`&mut **tx`) a write path was given, so a method still says which.
//!
//! The statement's parameters `$1..$n` are [`Params`]: `()`, one value, a tuple of up to
//! four values, or arguments gathered beforehand (`Vec<Arg>`, `&[Arg]`), bound in order
//! through [`Arg`] (as [`Columns`](super::sql::Columns) binds).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Map;
use sqlx::{Any, Executor, FromRow, SqlSafeStr};

use super::entities::{Arg, bind_query};
use super::sql::IntoArg;
use super::{Store, StoreError, StoreResult};

/// A statement's parameters, `$1..$n` in order.
pub trait Params {
    fn args(self) -> Vec<Arg>;
}

/// No parameters.
impl Params for () {
    fn args(self) -> Vec<Arg> {
        Vec::new()
    }
}

/// One parameter, `$1`.
impl<A: IntoArg> Params for A {
    fn args(self) -> Vec<Arg> {
        vec![self.into_arg()]
    }
}

/// Arguments gathered beforehand (a [`Filter`](super::sql::Filter)'s, a row's columns).
impl Params for Vec<Arg> {
    fn args(self) -> Vec<Arg> {
        self
    }
}

impl Params for &[Arg] {
    fn args(self) -> Vec<Arg> {
        self.to_vec()
    }
}

impl<A: IntoArg, B: IntoArg> Params for (A, B) {
    fn args(self) -> Vec<Arg> {
        vec![self.0.into_arg(), self.1.into_arg()]
    }
}

impl<A: IntoArg, B: IntoArg, C: IntoArg> Params for (A, B, C) {
    fn args(self) -> Vec<Arg> {
        vec![self.0.into_arg(), self.1.into_arg(), self.2.into_arg()]
    }
}

impl<A: IntoArg, B: IntoArg, C: IntoArg, D: IntoArg> Params for (A, B, C, D) {
    fn args(self) -> Vec<Arg> {
        let (a, b, c, d) = self;
        vec![a.into_arg(), b.into_arg(), c.into_arg(), d.into_arg()]
    }
}

/// A row read as `T` (a `FromRow` struct or a tuple).
pub trait Row: for<'r> FromRow<'r, AnyRow> + Send + Unpin {}

impl<T: for<'r> FromRow<'r, AnyRow> + Send + Unpin> Row for T {}

/// Where a statement runs: the pool, or a transaction's connection.
pub trait Db<'c>: Executor<'c, Database = Any> {}

impl<'c, E: Executor<'c, Database = Any>> Db<'c> for E {}

/// `sql` with its parameters bound, each row read as `T`.
fn rows<'q, T: Row>(
    sql: impl SqlSafeStr,
    params: impl Params,
) -> Map<'q, Any, impl FnMut(AnyRow) -> Result<T, sqlx::Error> + Send, AnyArguments> {
    bind_query(sqlx::query(sql), &params.args()).try_map(|row: AnyRow| T::from_row(&row))
}

/// The row `sql` selects, or `NotFound` when it selects none (a failing query stays its
/// error).
pub async fn one<'c, T: Row>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<T> {
    maybe(db, sql, p).await?.ok_or(StoreError::NotFound)
}

/// The row `sql` selects, if any.
pub async fn maybe<'c, T: Row>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<Option<T>> {
    Ok(rows(sql, p).fetch_optional(db).await?)
}

/// The first row `sql` selects, which must exist (an aggregate's): none is a query error,
/// not `NotFound`.
pub async fn row<'c, T: Row>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<T> {
    Ok(rows(sql, p).fetch_one(db).await?)
}

/// Every row `sql` selects.
pub async fn all<'c, T: Row>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<Vec<T>> {
    Ok(rows(sql, p).fetch_all(db).await?)
}

/// The one value `sql` selects, which must exist (a count): none is a query error.
pub async fn value<'c, T>(db: impl Db<'c>, sql: impl SqlSafeStr, p: impl Params) -> StoreResult<T>
where
    (T,): Row,
{
    row(db, sql, p).await.map(|(v,)| v)
}

/// The value of the first row `sql` selects, if any.
pub async fn maybe_value<'c, T>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<Option<T>>
where
    (T,): Row,
{
    Ok(maybe(db, sql, p).await?.map(|(v,)| v))
}

/// The value of every row `sql` selects.
pub async fn values<'c, T>(
    db: impl Db<'c>,
    sql: impl SqlSafeStr,
    p: impl Params,
) -> StoreResult<Vec<T>>
where
    (T,): Row,
{
    Ok(all(db, sql, p).await?.into_iter().map(|(v,)| v).collect())
}

/// Runs `sql` and answers how many rows it changed.
pub async fn exec<'c>(db: impl Db<'c>, sql: impl SqlSafeStr, p: impl Params) -> StoreResult<u64> {
    Ok(bind_query(sqlx::query(sql), &p.args())
        .execute(db)
        .await?
        .rows_affected())
}

impl Store {
    /// Runs `sql` in a write transaction of its own and commits it.
    pub(crate) async fn write_one(&self, sql: impl SqlSafeStr, p: impl Params) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        exec(&mut *tx, sql, p).await?;
        tx.commit().await
    }
}
