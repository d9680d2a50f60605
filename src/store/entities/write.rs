//! Creating, updating and deleting one record, each audited in its transaction.

use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::{Arg, arg_for};
use crate::domain::FieldError;
use crate::domain::entity::{EntitySpec, Field, Kind, SqlValue};
use crate::store::audit::NewAuditEvent;
use crate::store::db;
use crate::store::{Actor, Store, StoreError, StoreResult, is_fk_violation, is_unique_violation};

impl Store {
    /// Forgets what this process caches of a collection after a committed change.
    pub(super) fn after_write(&self, spec: &EntitySpec) {
        if spec.table == "sla_policies" {
            self.forget_policies();
        }
    }

    /// Replaces reference titles by ids and checks that referenced rows exist.
    pub(super) async fn resolve_refs(
        tx: &mut crate::store::Tx,
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
                    let id: Option<i64> =
                        db::maybe_value(&mut **tx, AssertSqlSafe(sql), t.clone()).await?;
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
                    let n: i64 = db::value(&mut **tx, AssertSqlSafe(sql), id).await?;
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

    fn map_write_error(spec: &EntitySpec, e: StoreError) -> StoreError {
        match e {
            StoreError::Backend(e) if is_unique_violation(&e) => StoreError::Conflict(format!(
                "已存在同名的{}，请修改名称或编号后重试",
                spec.label
            )),
            StoreError::Backend(e) if is_fk_violation(&e) => {
                StoreError::Conflict(format!("{}仍被其他记录引用，无法完成操作", spec.label))
            }
            e => e,
        }
    }

    pub(super) async fn insert_entity_tx(
        &self,
        tx: &mut crate::store::Tx,
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
        let id: i64 = db::value(&mut **tx, AssertSqlSafe(sql), args)
            .await
            .map_err(|e| Self::map_write_error(spec, e))?;
        self.reindex_entity_in(tx, spec, id, now_ms).await?;
        Ok(id)
    }

    /// Rewrites a searched record's index row on the write's transaction.
    async fn reindex_entity_in(
        &self,
        tx: &mut crate::store::Tx,
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
        tx: &mut crate::store::Tx,
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
        .write_and_commit(tx, now_ms, actor)
        .await?;
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
        db::exec(&mut *tx, AssertSqlSafe(sql), args)
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
            let n: i64 = db::value(&mut *tx, AssertSqlSafe(sql), id).await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "该{}下仍有 {n} 条{label}记录，请先移除或改挂后再删除",
                    spec.label
                )));
            }
        }
        let sql = format!("DELETE FROM {} WHERE id = $1", spec.table);
        db::exec(&mut *tx, AssertSqlSafe(sql), id)
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
        .write_and_commit(tx, now_ms, actor)
        .await?;
        self.after_write(spec);
        Ok(())
    }
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
