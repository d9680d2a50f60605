//! Inventory pages, driven by the same entity specs as the API: list with filters,
//! search, sort and pagination; detail with change history; forms; import.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::{PageError, PageResult, layout, query_base};
use crate::accounts::AuthUser;
use crate::domain::entity::{EntitySpec, Field, Kind, ref_name_key};
use crate::domain::inventory::{self as inv, WarrantyStatus};
use crate::domain::roles::Perm;
use crate::error::AppError;
use crate::inventory::{
    can_read, create_record, decorate, delete_record, list_query, may_write, spec_of, today,
    update_record,
};
use crate::store::entities::ListQuery;
use crate::transfer::import_file;
use crate::web::AppState;
use crate::web::api::Paging;
use crate::web::auth::{PageUser, require_perm};
use crate::web::extract::parse_id;

const PAGE_SIZE: i64 = 20;

fn collection_title(spec: &EntitySpec) -> &'static str {
    match spec.name {
        "sites" => "机房",
        "assets" => "设备",
        "systems" => "信息系统",
        "staff" => "团队成员",
        "assignments" => "岗位安排",
        "sla-policies" => "SLA 策略",
        _ => spec.label,
    }
}

/// A value as shown on a page: choice labels, reference titles, years as "2015年".
pub fn display(f: &Field, item: &Map<String, Value>) -> String {
    let v = item.get(f.name).cloned().unwrap_or(Value::Null);
    match (f.kind, &v) {
        (_, Value::Null) => String::new(),
        (Kind::Choice(_), Value::String(code)) => f.choice_label(code).unwrap_or(code).to_string(),
        (Kind::Ref { .. }, _) => item
            .get(&ref_name_key(f.name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        (Kind::PartialDate, Value::String(s)) => match s.len() {
            4 => format!("{s}年"),
            _ => s.clone(),
        },
        (Kind::Float { .. }, Value::Number(n)) => {
            let x = n.as_f64().unwrap_or_default();
            if x.fract() == 0.0 {
                format!("{}", x as i64)
            } else {
                format!("{x:.2}")
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

async fn ref_options(st: &AppState, f: &Field) -> Result<Vec<Value>, PageError> {
    let Kind::Ref { table, .. } = f.kind else {
        return Ok(vec![]);
    };
    let spec = match table {
        "calendars" => {
            let rows = st.store.list_calendars().await?;
            return Ok(rows
                .iter()
                .map(|r| json!({"value": r.id.to_string(), "label": r.name}))
                .collect());
        }
        "sites" => &inv::SITES,
        "systems" => &inv::SYSTEMS,
        "staff" => &inv::STAFF,
        "users" => {
            let (rows, _) = st.store.list_users(None, None, 1000, 0).await?;
            return Ok(rows.iter().map(|r| json!({"value": r.id.to_string(), "label": format!("{}（{}）", r.display_name, r.username)})).collect());
        }
        _ => return Ok(vec![]),
    };
    let items = st.store.all_entities(spec).await?;
    Ok(items
        .iter()
        .map(|i| json!({"value": i.get("id").map(|v| v.to_string()).unwrap_or_default(), "label": i.get("name").and_then(Value::as_str).unwrap_or_default()}))
        .collect())
}

pub async fn list(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(collection): Path<String>,
    headers: HeaderMap,
    Query(mut q): Query<HashMap<String, String>>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    if !can_read(spec, u.role) {
        return Err(AppError::forbidden().into());
    }
    q.entry("limit".into())
        .or_insert_with(|| PAGE_SIZE.to_string());
    let p = Paging::from_query(&q)?;
    let lq: ListQuery = list_query(&st.ctx, spec, &q, p.limit, p.offset)?;
    let (items, total) = st.store.list_entities(spec, &lq).await?;
    let t = today(&st.ctx);
    // Requesters see only which systems exist, not their figures.
    let requester_view = spec.name == "systems" && !u.role.can(Perm::ReadInventory);
    let cols: Vec<&Field> = spec
        .fields
        .iter()
        .filter(|f| {
            f.list && (!requester_view || ["code", "name", "owner_department"].contains(&f.name))
        })
        .collect();
    let rows: Vec<Value> = items
        .into_iter()
        .map(|mut m| {
            decorate(spec, &mut m, t);
            let cells: Vec<String> = cols.iter().map(|f| display(f, &m)).collect();
            let warranty = m
                .get("warranty_status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            json!({"id": m.get("id"), "cells": cells, "warranty": warranty})
        })
        .collect();
    let mut filters = Vec::new();
    for f in spec.fields.iter().filter(|f| f.filter && !requester_view) {
        let options: Vec<Value> = match f.kind {
            Kind::Choice(c) => c
                .iter()
                .map(|c| json!({"value": c.code, "label": c.label}))
                .collect(),
            Kind::Ref { .. } => ref_options(&st, f).await?,
            _ => vec![],
        };
        filters.push(json!({"name": f.name, "label": f.label, "options": options, "value": q.get(f.name).cloned().unwrap_or_default()}));
    }
    if spec.name == "assets" {
        let opts: Vec<Value> = [
            WarrantyStatus::Expired,
            WarrantyStatus::Expiring,
            WarrantyStatus::Valid,
            WarrantyStatus::Unknown,
        ]
        .iter()
        .map(|w| json!({"value": w.as_str(), "label": w.label()}))
        .collect();
        filters.push(json!({"name": "warranty", "label": "保修状态", "options": opts, "value": q.get("warranty").cloned().unwrap_or_default()}));
    }
    let base = query_base(&q, &["offset", "sort", "limit"]);
    let sort = q.get("sort").cloned().unwrap_or_default();
    let columns: Vec<Value> = cols
        .iter()
        .map(|f| {
            let next = if sort == f.name { format!("-{}", f.name) } else { f.name.to_string() };
            json!({"name": f.name, "label": f.label, "sortable": f.sortable, "next_sort": next,
                   "arrow": if sort == f.name { "▲" } else if sort == format!("-{}", f.name) { "▼" } else { "" }})
        })
        .collect();
    let ctx = json!({
        "layout": layout(&u, collection_title(spec), &format!("/{}", spec.name)),
        "collection": spec.name, "title": collection_title(spec), "label": spec.label,
        "columns": columns, "rows": rows, "total": total, "filters": filters,
        "q": q.get("q").cloned().unwrap_or_default(), "sort": sort, "base": base,
        "offset": lq.offset, "limit": lq.limit,
        "can_write": u.role.can(Perm::WriteInventory),
        "can_import": inv::importable(spec.name).is_some() && u.role.can(Perm::WriteInventory),
        "can_export": inv::importable(spec.name).is_some() && u.role.can(Perm::ExportInventory),
        "import_errors": Vec::<Value>::new(), "import_message": "",
    });
    let template = if headers.contains_key("hx-request") && !headers.contains_key("hx-boosted") {
        "entity_table.html"
    } else {
        "entity_list.html"
    };
    Ok(st.ui.page(template, ctx)?.into_response())
}

pub async fn detail(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path((collection, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    require_perm(&u, Perm::ReadInventory)?;
    let id = parse_id(&id)?;
    let mut item = st.store.get_entity(spec, id).await?;
    let t = today(&st.ctx);
    decorate(spec, &mut item, t);
    let fields: Vec<Value> = spec.fields.iter().map(|f| json!({"label": f.label, "value": display(f, &item), "long": matches!(f.kind, Kind::LongText)})).collect();
    let history: Vec<Value> = st
        .store
        .entity_history(spec.name, &id.to_string(), 100)
        .await?
        .iter()
        .map(|r| {
            let changes: Vec<Value> = match (&r.before_json, &r.after_json) {
                (Some(b), Some(a)) => {
                    let b: Map<String, Value> = serde_json::from_str(b).unwrap_or_default();
                    let a: Map<String, Value> = serde_json::from_str(a).unwrap_or_default();
                    a.iter()
                        .filter_map(|(k, v)| {
                            let f = spec.field(k)?;
                            Some(json!({"label": f.label, "before": display(f, &b), "after": display(f, &a), "_v": v}))
                        })
                        .collect()
                }
                _ => vec![],
            };
            json!({"at": crate::clock::local_minutes(r.at), "actor": r.actor_name, "summary": r.summary, "changes": changes})
        })
        .collect();
    let mut related = Vec::new();
    if spec.name == "systems" {
        let lq = ListQuery {
            limit: 100,
            offset: 0,
            filters: vec![("system_id".into(), id.to_string())],
            ..Default::default()
        };
        let (slots, _) = st.store.list_entities(&inv::ASSIGNMENTS, &lq).await?;
        for s in slots {
            related.push(json!({
                "kind": "岗位",
                "text": format!("{} · {} · {} · {}",
                    display(inv::ASSIGNMENTS.field("duty").unwrap_or(&inv::ASSIGNMENTS.fields[0]), &s),
                    s.get("level").and_then(Value::as_str).unwrap_or(""),
                    display(inv::ASSIGNMENTS.field("work_mode").unwrap_or(&inv::ASSIGNMENTS.fields[0]), &s),
                    s.get("staff_name").and_then(Value::as_str).unwrap_or("（待配备）")),
                "href": format!("/assignments/{}", s.get("id").cloned().unwrap_or(Value::Null)),
            }));
        }
        for aid in st.store.system_asset_ids(id).await? {
            let a = st.store.get_entity(&inv::ASSETS, aid).await?;
            related.push(json!({"kind": "运行设备", "text": a.get("name"), "href": format!("/assets/{aid}")}));
        }
    }
    if spec.name == "assets" {
        for sid in st.store.asset_system_ids(id).await? {
            let s = st.store.get_entity(&inv::SYSTEMS, sid).await?;
            related.push(json!({"kind": "承载系统", "text": s.get("name"), "href": format!("/systems/{sid}")}));
        }
    }
    let warranty = item
        .get("warranty_status")
        .and_then(Value::as_str)
        .map(|w| match w {
            "expired" => WarrantyStatus::Expired.label(),
            "expiring" => WarrantyStatus::Expiring.label(),
            "valid" => WarrantyStatus::Valid.label(),
            _ => WarrantyStatus::Unknown.label(),
        });
    let can_edit = may_write(&st.ctx, &u, spec, Some(id)).await.is_ok();
    // A system's page is its 360° view (issue 15).
    let overview = if spec.name == "systems" {
        crate::monitor::overview::system_overview(&st.ctx, &u, id).await?
    } else {
        Value::Null
    };
    let title = item
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{} #{id}", spec.label));
    let demo = super::demo::is_demo(&st, spec.table, id).await?;
    Ok(st
        .ui
        .page(
            "entity_detail.html",
            json!({
                "layout": layout(&u, &title, &format!("/{}", spec.name)), "collection": spec.name, "demo": demo, "list_title": collection_title(spec),
                "label": spec.label, "id": id, "title": title, "fields": fields, "history": history, "related": related,
                "warranty": warranty, "warranty_code": item.get("warranty_status"), "can_edit": can_edit,
                "can_delete": u.role.can(Perm::WriteInventory), "notice": if q.contains_key("saved") { "已保存" } else { "" },
                "overview": overview, "can_add_monitor": u.role.can(Perm::WriteMonitoring),
            }),
        )?
        .into_response())
}

async fn form_fields(
    st: &AppState,
    spec: &EntitySpec,
    values: &Map<String, Value>,
    errors: &[crate::error::FieldError],
) -> Result<Vec<Value>, PageError> {
    let mut out = Vec::new();
    for f in spec.fields {
        let (input, options): (&str, Vec<Value>) = match f.kind {
            Kind::Choice(c) => (
                "select",
                c.iter()
                    .map(|c| json!({"value": c.code, "label": c.label}))
                    .collect(),
            ),
            Kind::Ref { .. } => ("select", ref_options(st, f).await?),
            Kind::LongText => ("textarea", vec![]),
            Kind::Int { .. } | Kind::Float { .. } => ("number", vec![]),
            _ => ("text", vec![]),
        };
        let value = match values.get(f.name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let error = errors
            .iter()
            .find(|e| e.field == f.name)
            .map(|e| e.message.clone())
            .unwrap_or_default();
        let hint = match f.kind {
            Kind::PartialDate => "年份（2015）、年月（2015-06）或日期（2015-06-30）",
            Kind::Url => "以 http:// 或 https:// 开头",
            _ => "",
        };
        out.push(json!({"name": f.name, "label": f.label, "input": input, "options": options, "value": value,
                        "required": f.required, "error": error, "hint": hint,
                        "step": if matches!(f.kind, Kind::Float { .. }) { "any" } else { "1" }}));
    }
    Ok(out)
}

pub async fn new_form(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path(collection): Path<String>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    may_write(&st.ctx, &u, spec, None).await?;
    let mut defaults = Map::new();
    for f in spec.fields {
        match f.default {
            Some(crate::domain::entity::DefaultValue::Int(i)) => {
                defaults.insert(f.name.into(), json!(i));
            }
            Some(crate::domain::entity::DefaultValue::Text(t)) => {
                defaults.insert(f.name.into(), json!(t));
            }
            None => {}
        }
    }
    let fields = form_fields(&st, spec, &defaults, &[]).await?;
    render_form(&st, &u, spec, None, fields, "", StatusCode::OK)
}

fn render_form(
    st: &AppState,
    u: &AuthUser,
    spec: &EntitySpec,
    id: Option<i64>,
    fields: Vec<Value>,
    error: &str,
    status: StatusCode,
) -> PageResult {
    let title = match id {
        Some(_) => format!("编辑{}", spec.label),
        None => format!("新建{}", spec.label),
    };
    let action = match id {
        Some(id) => format!("/{}/{id}", spec.name),
        None => format!("/{}", spec.name),
    };
    let html = st.ui.page(
        "entity_form.html",
        json!({ "layout": layout(u, &title, &format!("/{}", spec.name)), "title": title, "action": action, "fields": fields,
                   "error": error, "collection": spec.name, "list_title": collection_title(spec), "id": id }),
    )?;
    Ok((status, html).into_response())
}

fn form_to_json(spec: &EntitySpec, form: &HashMap<String, String>) -> Map<String, Value> {
    spec.fields
        .iter()
        .filter_map(|f| {
            form.get(f.name)
                .map(|v| (f.name.to_string(), Value::String(v.clone())))
        })
        .collect()
}

async fn save(
    st: &AppState,
    u: &AuthUser,
    spec: &'static EntitySpec,
    id: Option<i64>,
    form: HashMap<String, String>,
) -> PageResult {
    let obj = form_to_json(spec, &form);
    let result = match id {
        Some(id) => update_record(st, u, spec, id, &obj).await,
        None => create_record(st, u, spec, &obj).await,
    };
    match result {
        Ok(item) => {
            let new_id = item.get("id").and_then(Value::as_i64).unwrap_or_default();
            Ok(Redirect::to(&format!("/{}/{new_id}?saved=1", spec.name)).into_response())
        }
        Err(AppError::Validation(errs)) => {
            let fields = form_fields(st, spec, &obj, &errs).await?;
            render_form(
                st,
                u,
                spec,
                id,
                fields,
                "请按提示修改后重新提交",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Conflict(m)) => {
            let fields = form_fields(st, spec, &obj, &[]).await?;
            render_form(st, u, spec, id, fields, &m, StatusCode::CONFLICT)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(collection): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    save(&st, &u, spec, None, form).await
}

pub async fn edit_form(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    Path((collection, id)): Path<(String, String)>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    let id = parse_id(&id)?;
    let item = st.store.get_entity(spec, id).await?;
    may_write(&st.ctx, &u, spec, Some(id)).await?;
    let fields = form_fields(&st, spec, &item, &[]).await?;
    render_form(&st, &u, spec, Some(id), fields, "", StatusCode::OK)
}

pub async fn update(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path((collection, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    save(&st, &u, spec, Some(parse_id(&id)?), form).await
}

pub async fn delete(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path((collection, id)): Path<(String, String)>,
) -> PageResult {
    let spec = spec_of(&collection)?;
    delete_record(&st, &u, spec, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/{}", spec.name)).into_response())
}

pub async fn import(
    State(st): State<AppState>,
    PageUser(u): PageUser,
    _: super::SameOrigin,
    Path(collection): Path<String>,
    mut mp: Multipart,
) -> PageResult {
    let spec = inv::importable(&collection).ok_or(AppError::NotFound)?;
    require_perm(&u, Perm::WriteInventory)?;
    let mut file = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_string();
            let data = field
                .bytes()
                .await
                .map_err(|_| AppError::PayloadTooLarge("文件过大或上传中断".into()))?;
            file = Some((name, data));
        }
    }
    let Some((name, data)) = file else {
        return Err(AppError::invalid("file", "请选择要导入的文件").into());
    };
    let (message, errors) = match import_file(&st.ctx, &u, spec, &name, &data).await {
        Ok(v) => (
            format!(
                "导入成功：{} 条",
                v.get("imported")
                    .and_then(Value::as_i64)
                    .unwrap_or_default()
            ),
            vec![],
        ),
        Err(AppError::Unprocessable {
            message, details, ..
        }) => (
            message,
            details
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        ),
        Err(e @ AppError::Validation(_)) => (e.message(), vec![]),
        Err(e) => return Err(PageError(e)),
    };
    let html = st.ui.page(
        "message.html",
        json!({ "title": format!("导入{}", spec.label), "message": message, "errors": errors, "back": format!("/{}", spec.name), "layout": layout(&u, "导入", &format!("/{}", spec.name)) }),
    )?;
    Ok(html.into_response())
}
