//! Generic storage for the records described by an `EntitySpec` (sites, assets, systems,
//! staff, assignments): list with filter/search/sort/pagination, get, create, update,
//! delete and whole-file import, each change audited in the same transaction.

use serde_json::{Map, Value, json};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::StoreResult;
use crate::domain::entity::{EntitySpec, Field, Kind, SqlValue, ref_name_key};

mod import;
mod read;
mod write;

pub use import::{ImportFailure, RowError};

/// A bind argument with its SQL type known even when null (PostgreSQL needs the type).
#[derive(Clone, Debug)]
pub enum Arg {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

/// Whether a statement bound with `args` may be kept prepared on its connection. sqlx's
/// `Any` driver types a NULL `f64` as `float4` (a value as `float8`), and PostgreSQL
/// caches a statement by its text with the types of its first execution: one first run
/// with a number field cleared refused every later value on that connection ("incorrect
/// binary data format"). Such a statement is prepared for this execution only.
fn cacheable(args: &[Arg]) -> bool {
    !args.iter().any(|a| matches!(a, Arg::Float(None)))
}

pub fn bind_query<'q>(
    mut q: Query<'q, Any, AnyArguments>,
    args: &[Arg],
) -> Query<'q, Any, AnyArguments> {
    q = q.persistent(cacheable(args));
    for a in args {
        q = match a.clone() {
            Arg::Int(v) => q.bind(v),
            Arg::Float(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    q
}

fn arg_for(f: &Field, v: &SqlValue) -> Arg {
    let int_kind = matches!(f.kind, Kind::Int { .. } | Kind::Ref { .. });
    let float_kind = matches!(f.kind, Kind::Float { .. });
    match v {
        SqlValue::Int(i) if float_kind => Arg::Float(Some(*i as f64)),
        SqlValue::Int(i) => Arg::Int(Some(*i)),
        SqlValue::Float(x) => Arg::Float(Some(*x)),
        SqlValue::Text(t) => Arg::Text(Some(t.clone())),
        SqlValue::Null if int_kind => Arg::Int(None),
        SqlValue::Null if float_kind => Arg::Float(None),
        SqlValue::Null => Arg::Text(None),
    }
}

/// Options of a list request.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub limit: i64,
    pub offset: i64,
    pub q: Option<String>,
    /// `(field, descending)`
    pub sort: Option<(String, bool)>,
    /// Equality filters on filterable fields, already validated to name such fields.
    pub filters: Vec<(String, String)>,
    /// Raw SQL conditions with their arguments, added by the caller for computed filters.
    pub extra: Vec<(String, Vec<Arg>)>,
}

fn select_list(spec: &EntitySpec) -> String {
    let mut cols = vec!["t.*".to_string()];
    for f in spec.fields {
        if let Kind::Ref { table, title, .. } = f.kind {
            cols.push(format!(
                "(SELECT r.{title} FROM {table} r WHERE r.id = t.{}) AS {}",
                f.name,
                ref_name_key(f.name)
            ));
        }
    }
    format!("SELECT {} FROM {} t", cols.join(", "), spec.table)
}

/// Brings an object built by the database into the API's shape: times as RFC 3339 and
/// numbers typed by the spec (SQLite's JSON writes 2.0 as 2.0 but PostgreSQL may not).
fn normalize_item(spec: &EntitySpec, mut m: Map<String, Value>) -> Map<String, Value> {
    for k in ["created_at", "updated_at"] {
        if let Some(ms) = m.get(k).and_then(Value::as_i64) {
            m.insert(k.into(), json!(crate::clock::rfc3339(ms)));
        }
    }
    for f in spec.fields {
        if let Some(v) = m.get_mut(f.name) {
            match f.kind {
                Kind::Float { .. } => {
                    if let Some(x) = v.as_f64() {
                        *v = json!(x);
                    }
                }
                Kind::Int { .. } | Kind::Ref { .. } if !v.is_i64() => {
                    if let Some(x) = v.as_f64() {
                        *v = json!(x as i64);
                    }
                }
                _ => {}
            }
        }
    }
    m
}

/// Turns a row into the API's JSON object.
pub fn row_to_json(spec: &EntitySpec, row: &AnyRow) -> StoreResult<Map<String, Value>> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.try_get::<i64, _>("id")?));
    for f in spec.fields {
        let v = match f.kind {
            Kind::Int { .. } | Kind::Ref { .. } => json!(row.try_get::<Option<i64>, _>(f.name)?),
            Kind::Float { .. } => json!(row.try_get::<Option<f64>, _>(f.name)?),
            _ => json!(row.try_get::<Option<String>, _>(f.name)?),
        };
        m.insert(f.name.into(), v);
        if let Kind::Ref { .. } = f.kind {
            let key = ref_name_key(f.name);
            let name: Option<String> = row.try_get(key.as_str()).ok().flatten();
            m.insert(key, json!(name));
        }
    }
    for k in ["created_at", "updated_at"] {
        if let Ok(ms) = row.try_get::<i64, _>(k) {
            m.insert(k.into(), json!(crate::clock::rfc3339(ms)));
        }
    }
    Ok(m)
}
