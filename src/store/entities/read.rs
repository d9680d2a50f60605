//! Reading records: a filtered, searched, sorted page, one record, and every record.

use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::{Arg, ListQuery, normalize_item, row_to_json, select_list};
use crate::domain::FieldError;
use crate::domain::entity::{EntitySpec, Kind, ref_name_key};
use crate::store::db;
use crate::store::{Store, StoreError, StoreResult, like_pattern};

impl Store {
    /// One page of a filtered list and the filter's total. `select` is the query up to
    /// its filter (`SELECT … FROM table alias`), `counted` what is counted (`table alias`),
    /// `filter` the `WHERE` clause with its leading space (or nothing) whose parameters are
    /// `args`, `order` the `ORDER BY` list.
    pub(crate) async fn list_page<T>(
        &self,
        select: &str,
        counted: &str,
        filter: &str,
        args: &[Arg],
        order: &str,
        (limit, offset): (i64, i64),
    ) -> StoreResult<(Vec<T>, i64)>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let count_sql = format!("SELECT COUNT(*) FROM {counted}{filter}");
        let total: i64 = db::value(self.pool(), AssertSqlSafe(count_sql), args).await?;
        let n = args.len();
        let sql = format!(
            "{select}{filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let page_args = [args, &[Arg::Int(Some(limit)), Arg::Int(Some(offset))]].concat();
        let rows = db::all(self.pool(), AssertSqlSafe(sql), page_args).await?;
        Ok((rows, total))
    }
}

impl Store {
    pub async fn list_entities(
        &self,
        spec: &EntitySpec,
        lq: &ListQuery,
    ) -> StoreResult<(Vec<Map<String, Value>>, i64)> {
        let mut wh: Vec<String> = vec!["1=1".into()];
        let mut args: Vec<Arg> = Vec::new();
        if let Some(q) = lq.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pat = like_pattern(q);
            let mut ors = Vec::new();
            for f in spec.fields.iter().filter(|f| f.search) {
                args.push(Arg::Text(Some(pat.clone())));
                ors.push(format!(
                    "LOWER(COALESCE(t.{}, '')) LIKE ${} ESCAPE '\\'",
                    f.name,
                    args.len()
                ));
            }
            if !ors.is_empty() {
                wh.push(format!("({})", ors.join(" OR ")));
            }
        }
        for (name, value) in &lq.filters {
            let Some(f) = spec.field(name).filter(|f| f.filter) else {
                continue;
            };
            if value == "none" && !f.required {
                wh.push(format!("t.{} IS NULL", f.name));
                continue;
            }
            let arg = match f.kind {
                Kind::Ref { .. } | Kind::Int { .. } => match value.parse::<i64>() {
                    Ok(i) => Arg::Int(Some(i)),
                    Err(_) => {
                        return Err(StoreError::Invalid(vec![FieldError::new(
                            name.clone(),
                            format!("{}应为编号", f.label),
                        )]));
                    }
                },
                Kind::Choice(c) => match c.iter().find(|c| c.code == value || c.label == value) {
                    Some(c) => Arg::Text(Some(c.code.into())),
                    None => {
                        return Err(StoreError::Invalid(vec![FieldError::new(
                            name.clone(),
                            format!("{}“{value}”无效", f.label),
                        )]));
                    }
                },
                _ => Arg::Text(Some(value.clone())),
            };
            args.push(arg);
            wh.push(format!("t.{} = ${}", f.name, args.len()));
        }
        for (cond, extra) in &lq.extra {
            let mut c = cond.clone();
            for a in extra {
                args.push(a.clone());
                c = c.replacen('?', &format!("${}", args.len()), 1);
            }
            wh.push(c);
        }
        let where_sql = wh.join(" AND ");
        let order = match &lq.sort {
            // The id tiebreak runs in the same direction so an index on (filter, column)
            // (which ends in the row id) serves the order without a sort.
            Some((col, desc)) => {
                let dir = if *desc { "DESC" } else { "ASC" };
                format!("t.{col} {dir}, t.id {dir}")
            }
            None => format!("t.{}", spec.default_sort),
        };
        let page = format!(
            "(SELECT t.* FROM {} t WHERE {where_sql} ORDER BY {order} LIMIT ${} OFFSET ${})",
            spec.table,
            args.len() + 1,
            args.len() + 2
        );
        // The page comes back as one JSON array in one row, with the table's row version
        // read in the same statement. Rows are many small messages between sqlx's SQLite
        // worker thread and the request; one message per page keeps a list request cheap.
        // The JSON functions differ by dialect (the one place this query branches).
        let mut pairs = vec![
            "'id', t.id".to_string(),
            "'created_at', t.created_at".into(),
            "'updated_at', t.updated_at".into(),
        ];
        for f in spec.fields {
            pairs.push(format!("'{0}', t.{0}", f.name));
            if let Kind::Ref { table, title, .. } = f.kind {
                pairs.push(format!(
                    "'{}', (SELECT r.{title} FROM {table} r WHERE r.id = t.{})",
                    ref_name_key(f.name),
                    f.name
                ));
            }
        }
        let agg = match self.backend {
            crate::store::Backend::Sqlite => format!(
                "json_group_array(json_object({}) ORDER BY {order})",
                pairs.join(", ")
            ),
            crate::store::Backend::Postgres => format!(
                "CAST(json_agg(json_build_object({}) ORDER BY {order}) AS TEXT)",
                pairs.join(", ")
            ),
        };
        let sql = format!(
            "SELECT {agg} AS items, (SELECT v.version FROM row_versions v WHERE v.name = '{}') AS row_version__ FROM {page} t",
            spec.table
        );
        let (items_json, version): (Option<String>, Option<i64>) = db::row(
            self.pool(),
            AssertSqlSafe(sql),
            [
                &args[..],
                &[Arg::Int(Some(lq.limit)), Arg::Int(Some(lq.offset))],
            ]
            .concat(),
        )
        .await?;
        let version = match version {
            Some(v) => v,
            None => self.row_version(spec.table).await?,
        };
        let count_sql = format!("SELECT COUNT(*) FROM {} t WHERE {where_sql}", spec.table);
        let key = format!("{count_sql}|{args:?}");
        let total: i64 = match self.cached_count(&key, version) {
            Some(n) => n,
            None => {
                let n = db::value(self.pool(), AssertSqlSafe(count_sql), &args[..]).await?;
                self.cache_count(key, version, n);
                n
            }
        };
        let raw: Vec<Map<String, Value>> = match items_json.as_deref() {
            Some(j) => serde_json::from_str(j).map_err(|e| {
                StoreError::Other(anyhow::anyhow!("list JSON from the database: {e}"))
            })?,
            None => Vec::new(),
        };
        let items = raw.into_iter().map(|m| normalize_item(spec, m)).collect();
        Ok((items, total))
    }

    /// Whether a record exists, read on the writer's transaction.
    pub async fn entity_exists_in(
        &self,
        tx: &mut crate::store::Tx,
        spec: &EntitySpec,
        id: i64,
    ) -> StoreResult<bool> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE id = $1", spec.table);
        let n: i64 = db::value(&mut **tx, AssertSqlSafe(sql), id).await?;
        Ok(n > 0)
    }

    pub async fn get_entity(&self, spec: &EntitySpec, id: i64) -> StoreResult<Map<String, Value>> {
        entity_on(self.pool(), spec, id).await
    }

    pub(crate) async fn get_entity_tx(
        &self,
        tx: &mut crate::store::Tx,
        spec: &EntitySpec,
        id: i64,
    ) -> StoreResult<Map<String, Value>> {
        entity_on(&mut **tx, spec, id).await
    }

    /// Every row of a collection, for export.
    pub async fn all_entities(&self, spec: &EntitySpec) -> StoreResult<Vec<Map<String, Value>>> {
        let sql = format!("{} ORDER BY t.id", select_list(spec));
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| row_to_json(spec, r)).collect()
    }
}

/// The record `id` as the API's JSON object, read on `db`; `NotFound` when there is none.
async fn entity_on<'c>(
    db: impl db::Db<'c>,
    spec: &EntitySpec,
    id: i64,
) -> StoreResult<Map<String, Value>> {
    let sql = format!("{} WHERE t.id = $1", select_list(spec));
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    row_to_json(spec, &row)
}
