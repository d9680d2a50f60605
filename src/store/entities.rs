//! Generic storage for the records described by an `EntitySpec` (sites, assets, systems,
//! staff, assignments): list with filter/search/sort/pagination, get, create, update,
//! delete and whole-file import, each change audited in the same transaction.

use serde_json::{Map, Value, json};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, AssertSqlSafe, Row};

use super::audit::NewAuditEvent;
use super::{
    Actor, Store, StoreError, StoreResult, is_fk_violation, is_unique_violation, like_pattern,
};
use crate::domain::FieldError;
use crate::domain::entity::{EntitySpec, Field, Kind, SqlValue, ref_name_key};

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

pub fn bind_all<'q, O>(
    mut q: QueryScalar<'q, Any, O, AnyArguments>,
    args: &[Arg],
) -> QueryScalar<'q, Any, O, AnyArguments> {
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

pub fn bind_all_as<'q, O>(
    mut q: QueryAs<'q, Any, O, AnyArguments>,
    args: &[Arg],
) -> QueryAs<'q, Any, O, AnyArguments> {
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
        let total: i64 = bind_all(sqlx::query_scalar(AssertSqlSafe(count_sql)), args)
            .fetch_one(self.pool())
            .await?;
        let n = args.len();
        let sql = format!(
            "{select}{filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = bind_all_as(sqlx::query_as(AssertSqlSafe(sql)), args)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
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
        let (items_json, version): (Option<String>, Option<i64>) =
            bind_all_as(sqlx::query_as(AssertSqlSafe(sql)), &args)
                .bind(lq.limit)
                .bind(lq.offset)
                .fetch_one(self.pool())
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
                let n = bind_all(sqlx::query_scalar(AssertSqlSafe(count_sql)), &args)
                    .fetch_one(self.pool())
                    .await?;
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
        tx: &mut super::Tx,
        spec: &EntitySpec,
        id: i64,
    ) -> StoreResult<bool> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE id = $1", spec.table);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(n > 0)
    }

    /// Forgets what this process caches of a collection after a committed change.
    fn after_write(&self, spec: &EntitySpec) {
        if spec.table == "sla_policies" {
            self.forget_policies();
        }
    }

    pub async fn get_entity(&self, spec: &EntitySpec, id: i64) -> StoreResult<Map<String, Value>> {
        let sql = format!("{} WHERE t.id = $1", select_list(spec));
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        row_to_json(spec, &row)
    }

    pub(crate) async fn get_entity_tx(
        &self,
        tx: &mut super::Tx,
        spec: &EntitySpec,
        id: i64,
    ) -> StoreResult<Map<String, Value>> {
        let sql = format!("{} WHERE t.id = $1", select_list(spec));
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        row_to_json(spec, &row)
    }

    /// Replaces reference titles by ids and checks that referenced rows exist.
    async fn resolve_refs(
        tx: &mut super::Tx,
        values: &mut [(&'static Field, SqlValue)],
    ) -> StoreResult<Vec<FieldError>> {
        let mut errors = Vec::new();
        for (f, v) in values.iter_mut() {
            let Kind::Ref {
                table,
                title,
                label,
            } = f.kind
            else {
                continue;
            };
            match v.clone() {
                SqlValue::Text(t) => {
                    let sql =
                        format!("SELECT id FROM {table} WHERE {title} = $1 ORDER BY id LIMIT 1");
                    let id: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
                        .bind(t.clone())
                        .fetch_optional(&mut **tx)
                        .await?;
                    match id {
                        Some(id) => *v = SqlValue::Int(id),
                        None => errors.push(FieldError::new(
                            f.name,
                            format!("{}“{t}”不存在，请先创建该{label}", f.label),
                        )),
                    }
                }
                SqlValue::Int(id) => {
                    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
                    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                        .bind(id)
                        .fetch_one(&mut **tx)
                        .await?;
                    if n == 0 {
                        errors.push(FieldError::new(
                            f.name,
                            format!("{}编号 {id} 不存在", f.label),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(errors)
    }

    fn map_write_error(spec: &EntitySpec, e: sqlx::Error) -> StoreError {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!(
                "已存在同名的{}，请修改名称或编号后重试",
                spec.label
            ))
        } else if is_fk_violation(&e) {
            StoreError::Conflict(format!("{}仍被其他记录引用，无法完成操作", spec.label))
        } else {
            StoreError::Backend(e)
        }
    }

    async fn insert_entity_tx(
        &self,
        tx: &mut super::Tx,
        spec: &EntitySpec,
        values: &[(&'static Field, SqlValue)],
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut cols: Vec<&str> = values.iter().map(|(f, _)| f.name).collect();
        let mut args: Vec<Arg> = values.iter().map(|(f, v)| arg_for(f, v)).collect();
        cols.push("created_at");
        cols.push("updated_at");
        args.push(Arg::Int(Some(now_ms)));
        args.push(Arg::Int(Some(now_ms)));
        let ph: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) RETURNING id",
            spec.table,
            cols.join(", "),
            ph.join(", ")
        );
        let id: i64 = bind_all(sqlx::query_scalar(AssertSqlSafe(sql)), &args)
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| Self::map_write_error(spec, e))?;
        self.reindex_entity_in(tx, spec, id, now_ms).await?;
        Ok(id)
    }

    /// Rewrites a searched record's index row on the write's transaction.
    async fn reindex_entity_in(
        &self,
        tx: &mut super::Tx,
        spec: &EntitySpec,
        id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        if !matches!(spec.table, "assets" | "systems" | "staff") {
            return Ok(());
        }
        let m = self.get_entity_tx(tx, spec, id).await?;
        self.index_entity_in(tx, spec.table, &m, now_ms).await
    }

    /// Creates one record from validated values inside the caller's transaction, which
    /// writes the audit record; references given by title are resolved.
    pub async fn create_entity_in(
        &self,
        tx: &mut super::Tx,
        spec: &EntitySpec,
        mut values: Vec<(&'static Field, SqlValue)>,
        now_ms: i64,
    ) -> StoreResult<Map<String, Value>> {
        let errs = Self::resolve_refs(tx, &mut values).await?;
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        let id = self.insert_entity_tx(tx, spec, &values, now_ms).await?;
        self.get_entity_tx(tx, spec, id).await
    }

    /// Creates one record from validated values; references given by title are resolved.
    pub async fn create_entity(
        &self,
        spec: &EntitySpec,
        mut values: Vec<(&'static Field, SqlValue)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Map<String, Value>> {
        let mut tx = self.write_tx().await?;
        let errs = Self::resolve_refs(&mut tx, &mut values).await?;
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        let id = self
            .insert_entity_tx(&mut tx, spec, &values, now_ms)
            .await?;
        let after = self.get_entity_tx(&mut tx, spec, id).await?;
        NewAuditEvent::of(
            "create",
            spec.name,
            id,
            format!("新建{}：{}", spec.label, title_of(&after)),
        )
        .after(Value::Object(after.clone()))
        .write(&mut tx, now_ms, actor)
        .await?;
        tx.commit().await?;
        self.after_write(spec);
        Ok(after)
    }

    pub async fn update_entity(
        &self,
        spec: &EntitySpec,
        id: i64,
        mut values: Vec<(&'static Field, SqlValue)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Map<String, Value>> {
        let mut tx = self.write_tx().await?;
        let before = self.get_entity_tx(&mut tx, spec, id).await?;
        let errs = Self::resolve_refs(&mut tx, &mut values).await?;
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        if values.is_empty() {
            return Ok(before);
        }
        let mut sets: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        for (f, v) in &values {
            args.push(arg_for(f, v));
            sets.push(format!("{} = ${}", f.name, args.len()));
        }
        args.push(Arg::Int(Some(now_ms)));
        sets.push(format!("updated_at = ${}", args.len()));
        args.push(Arg::Int(Some(id)));
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ${}",
            spec.table,
            sets.join(", "),
            args.len()
        );
        bind_query(sqlx::query(AssertSqlSafe(sql)), &args)
            .execute(&mut *tx)
            .await
            .map_err(|e| Self::map_write_error(spec, e))?;
        let after = self.get_entity_tx(&mut tx, spec, id).await?;
        self.index_entity_in(&mut tx, spec.table, &after, now_ms)
            .await?;
        let (b, a) = changed_fields(&before, &after);
        if !a.is_empty() {
            NewAuditEvent::of(
                "update",
                spec.name,
                id,
                format!(
                    "修改{}：{}（{}）",
                    spec.label,
                    title_of(&after),
                    changed_labels(spec, &a)
                ),
            )
            .before(Value::Object(b))
            .after(Value::Object(a))
            .write(&mut tx, now_ms, actor)
            .await?;
        }
        tx.commit().await?;
        self.after_write(spec);
        Ok(after)
    }

    pub async fn delete_entity(
        &self,
        spec: &EntitySpec,
        id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let before = self.get_entity_tx(&mut tx, spec, id).await?;
        for (table, col, label) in spec.dependents {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {col} = $1");
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "该{}下仍有 {n} 条{label}记录，请先移除或改挂后再删除",
                    spec.label
                )));
            }
        }
        let sql = format!("DELETE FROM {} WHERE id = $1", spec.table);
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| Self::map_write_error(spec, e))?;
        Self::unindex_entity_in(&mut tx, spec.table, id).await?;
        NewAuditEvent::of(
            "delete",
            spec.name,
            id,
            format!("删除{}：{}", spec.label, title_of(&before)),
        )
        .before(Value::Object(before))
        .write(&mut tx, now_ms, actor)
        .await?;
        tx.commit().await?;
        self.after_write(spec);
        Ok(())
    }

    /// Imports rows in one transaction: either every row is inserted or none is. `rows`
    /// carries the 1-based line number of each row in the file. Errors name row and column.
    pub async fn import_entities(
        &self,
        spec: &EntitySpec,
        rows: Vec<(usize, Vec<(&'static Field, SqlValue)>)>,
        actor: &Actor,
        now_ms: i64,
        file_name: &str,
    ) -> Result<i64, ImportFailure> {
        let mut tx = self.write_tx().await.map_err(ImportFailure::Store)?;
        let mut errors = Vec::new();
        let mut count = 0i64;
        let mut seen: std::collections::HashSet<(&'static str, String)> =
            std::collections::HashSet::new();
        for (line, mut values) in rows {
            let mut errs = Self::resolve_refs(&mut tx, &mut values)
                .await
                .map_err(ImportFailure::Store)?;
            // Uniqueness is checked before inserting: a failed INSERT would abort the whole
            // transaction on PostgreSQL and hide the remaining rows' problems.
            for (f, v) in &values {
                let SqlValue::Text(t) = v else { continue };
                if !spec.unique.contains(&f.name) {
                    continue;
                }
                if !seen.insert((f.name, t.clone())) {
                    errs.push(FieldError::new(
                        f.name,
                        format!("{}“{t}”在文件中重复出现", f.label),
                    ));
                    continue;
                }
                let sql = format!("SELECT COUNT(*) FROM {} WHERE {} = $1", spec.table, f.name);
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                    .bind(t.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| ImportFailure::Store(e.into()))?;
                if n > 0 {
                    errs.push(FieldError::new(f.name, format!("{}“{t}”已存在", f.label)));
                }
            }
            if !errs.is_empty() {
                errors.extend(
                    errs.into_iter()
                        .map(|e| RowError::from_field(spec, line, e)),
                );
                continue;
            }
            if !errors.is_empty() {
                // Keep checking the remaining rows but insert nothing more.
                continue;
            }
            self.insert_entity_tx(&mut tx, spec, &values, now_ms)
                .await
                .map_err(ImportFailure::Store)?;
            count += 1;
        }
        if !errors.is_empty() {
            // Dropping the transaction rolls everything back.
            return Err(ImportFailure::Rows(errors));
        }
        NewAuditEvent::about(
            "import",
            spec.name,
            format!("导入{}：{count} 条（文件 {file_name}）", spec.label),
        )
        .after(json!({"count": count, "file": file_name}))
        .write(&mut tx, now_ms, actor)
        .await
        .map_err(ImportFailure::Store)?;
        tx.commit().await.map_err(ImportFailure::Store)?;
        self.after_write(spec);
        Ok(count)
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

/// One problem in an import file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn from_field(spec: &EntitySpec, row: usize, e: FieldError) -> Self {
        let column = spec
            .field(&e.field)
            .map(|f| f.label.to_string())
            .unwrap_or_else(|| e.field.clone());
        RowError {
            row,
            column,
            field: e.field,
            message: e.message,
        }
    }
}

#[derive(Debug)]
pub enum ImportFailure {
    Rows(Vec<RowError>),
    Store(StoreError),
}

fn title_of(m: &Map<String, Value>) -> String {
    m.get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| m.get("id").map(|v| format!("#{v}")))
        .unwrap_or_default()
}

fn changed_fields(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut b = Map::new();
    let mut a = Map::new();
    for (k, v) in after {
        if k == "updated_at" {
            continue;
        }
        if before.get(k) != Some(v) {
            b.insert(k.clone(), before.get(k).cloned().unwrap_or(Value::Null));
            a.insert(k.clone(), v.clone());
        }
    }
    (b, a)
}

fn changed_labels(spec: &EntitySpec, a: &Map<String, Value>) -> String {
    a.keys()
        .filter_map(|k| spec.field(k).map(|f| f.label))
        .collect::<Vec<_>>()
        .join("、")
}
