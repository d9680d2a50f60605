//! The OpenAPI 3.1 document, generated from the handlers: every route of the API is
//! registered with `utoipa_axum::routes!`, which adds the route and its `#[utoipa::path]`
//! documentation together (see `super::routes`). This module holds what the operations
//! share: the error shape, the list shape, query parameters, and the finishing pass that
//! adds the error responses and the security requirement to every operation.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::{IntoParams, IntoResponses, ToSchema};

/// The error body of every 4xx (and of the rare 5xx): see `crate::error::AppError`.
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `validation_failed`, `not_found`, `forbidden`.
    pub code: String,
    /// What went wrong and what to do, in Chinese.
    pub message: String,
    /// `null`, a list of `{field, message}` for a validation failure, or an object with
    /// the rows and columns of an import.
    #[schema(value_type = Option<Value>)]
    pub details: Value,
}

/// One problem with one field, as listed in `details` of a `validation_failed` error.
#[derive(ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// A list answer: `items` (objects) and `total`, the number of matching items.
#[derive(ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub total: i64,
}

/// A JSON object (the fields depend on the resource).
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Record(pub HashMap<String, Value>);

/// `{"id": N}`: what was created.
#[derive(ToSchema)]
pub struct Created {
    pub id: i64,
}

// ---- error responses that many operations document alike ------------------------------
// Each stands in `responses(...)` for one `(status = …, description = …, body = ErrorBody)`
// that would otherwise be written out again and again; the document is the same.

/// 403 无权查看.
#[derive(IntoResponses)]
#[response(status = 403, description = "无权查看")]
pub struct CannotView(pub ErrorBody);

/// 403 无权修改.
#[derive(IntoResponses)]
#[response(status = 403, description = "无权修改")]
pub struct CannotEdit(pub ErrorBody);

/// 403 无权删除.
#[derive(IntoResponses)]
#[response(status = 403, description = "无权删除")]
pub struct CannotDelete(pub ErrorBody);

/// 403 无权登记.
#[derive(IntoResponses)]
#[response(status = 403, description = "无权登记")]
pub struct CannotRegister(pub ErrorBody);

/// 403 无权上传.
#[derive(IntoResponses)]
#[response(status = 403, description = "无权上传")]
pub struct CannotUpload(pub ErrorBody);

/// 404 不存在.
#[derive(IntoResponses)]
#[response(status = 404, description = "不存在")]
pub struct NotFound(pub ErrorBody);

/// 413 文件过大.
#[derive(IntoResponses)]
#[response(status = 413, description = "文件过大")]
pub struct FileTooLarge(pub ErrorBody);

/// 415 文件类型不支持.
#[derive(IntoResponses)]
#[response(status = 415, description = "文件类型不支持")]
pub struct FileTypeRefused(pub ErrorBody);

/// 422 输入有误.
#[derive(IntoResponses)]
#[response(status = 422, description = "输入有误")]
pub struct Invalid(pub ErrorBody);

/// 422 文件有误.
#[derive(IntoResponses)]
#[response(status = 422, description = "文件有误")]
pub struct FileInvalid(pub ErrorBody);

/// `limit` / `offset` of a list (see `super::Paging`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// `limit` / `offset` and a free-text search `q`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
    /// Free-text search.
    pub q: Option<String>,
}

/// A period for statistics: `from` and `to`, RFC 3339 times.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RfcPeriodQuery {
    /// Start, RFC 3339 (e.g. 2025-10-01T00:00:00+08:00).
    #[param(format = DateTime)]
    pub from: String,
    /// End, RFC 3339, after `from`.
    #[param(format = DateTime)]
    pub to: String,
    /// `true` adds the availability of each day.
    pub days: Option<bool>,
}

/// Operations that take no bearer token: login, and the intake endpoints that carry their
/// own integration or heartbeat token.
const PUBLIC: &[&str] = &[
    "/openapi.json",
    "/auth/login",
    "/heartbeat/{token}",
    "/heartbeat/{token}/{action}",
    "/backup-runs/report/{token}",
    "/display/{token}",
    "/integrations/alertmanager",
    "/integrations/zabbix",
    "/integrations/events",
];

/// The finished document as JSON: the generated paths with the shared error responses and
/// security requirement on every operation.
pub fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.1.0");
    doc["info"] = json!({
        "title": "yunwei 运维平台 API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "运维平台的 REST API。除登录与接入端点外，每个请求都须带 `Authorization: Bearer 令牌`（登录返回的会话令牌或 API 令牌）。错误一律为 `{\"error\": {\"code\", \"message\", \"details\"}}`。",
    });
    doc["servers"] = json!([{"url": "/api/v1"}]);
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer"}});
    let error = json!({"description": "请求有误、未登录、无权限、不存在或冲突（见 error.code）",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let unavailable = json!({"description": "数据库繁忙，请稍后重试（带 Retry-After）",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                // Unique across the document (handlers of different modules share names).
                let id = format!("{method}_{}", path.replace(['/', '{', '}', '-', '.'], "_"));
                let id = id.split('_').filter(|s| !s.is_empty()).collect::<Vec<_>>();
                op.insert("operationId".into(), json!(id.join("_")));
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.entry("4XX").or_insert_with(|| error.clone());
                    responses
                        .entry("503")
                        .or_insert_with(|| unavailable.clone());
                }
                if !PUBLIC.contains(&path.as_str()) {
                    op.insert("security".into(), json!([{"bearer": []}]));
                }
            }
        }
    }
    doc
}

/// The document, built once from the API's routes.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| finish(super::routes(&super::Limits::default()).into_openapi()))
}

/// The OpenAPI document of this API (this document).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", summary = "本 API 的 OpenAPI 3.1 文档",
    responses((status = 200, description = "OpenAPI 文档", body = Record)))]
pub async fn serve() -> Response {
    Json(document()).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The (method, path) pairs of the router's own route table, read from its `Debug`
    /// form (axum has no other way to list routes): each route id's method router, with
    /// the methods it answers in `allow_header`, and each route id's path.
    fn router_operations() -> BTreeSet<(String, String)> {
        let (router, _) = super::super::routes(&super::super::Limits::default()).split_for_parts();
        let table = format!("{router:?}");
        // Only the main path router, not the fallback router that follows it.
        let table = table.split("fallback_router").next().unwrap_or_default();
        let endpoint = regex::Regex::new(r"RouteId\((\d+)\): (\w+)\(").unwrap();
        let methods =
            regex::Regex::new(r#"RouteId\((\d+)\): MethodRouter\(MethodRouter \{.*?allow_header: Bytes\(b"([A-Z,]*)"\)"#)
                .unwrap();
        let paths = regex::Regex::new(r#"RouteId\((\d+)\): "([^"]*)""#).unwrap();
        // Every endpoint is a method router (a bare service would hide its methods).
        for c in endpoint.captures_iter(table) {
            assert_eq!(
                &c[2], "MethodRouter",
                "route {} is not a method router",
                &c[1]
            );
        }
        let path_of: BTreeMap<String, String> = paths
            .captures_iter(table)
            .map(|c| (c[1].to_string(), c[2].to_string()))
            .collect();
        let mut out = BTreeSet::new();
        let mut seen = 0;
        // Non-greedy `.*?` stops at the first allow_header, which is this route's own.
        for c in methods.captures_iter(table) {
            seen += 1;
            let path = path_of.get(&c[1]).cloned().unwrap_or_default();
            assert!(!path.is_empty(), "route {} has no path", &c[1]);
            for m in c[2].split(',').filter(|m| *m != "HEAD") {
                out.insert((m.to_ascii_lowercase(), path.clone()));
            }
        }
        assert_eq!(seen, path_of.len(), "every route's methods are known");
        out
    }

    fn documented_operations() -> BTreeSet<(String, String)> {
        let doc = super::document();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                out.insert((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let routed = router_operations();
        let documented = documented_operations();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes without documentation: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented operations without a route: {unrouted:?}"
        );
        // The 209 operations of the API and the document itself.
        assert_eq!(routed.len(), 210, "{routed:?}");
    }

    #[test]
    fn every_operation_has_a_unique_id_a_success_response_and_the_error_shape() {
        let doc = super::document();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(ids.insert(id.clone()), "{method} {path}: duplicate id {id}");
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|k| k.starts_with('2')),
                    "{method} {path}: no success response"
                );
                assert_eq!(
                    responses["4XX"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path}"
                );
                let public = super::PUBLIC.contains(&path.as_str());
                assert_eq!(op.get("security").is_none(), public, "{method} {path}");
                if ["post", "put", "patch"].contains(&method.as_str())
                    && !op["requestBody"].is_object()
                {
                    // Only calls whose meaning is in the path take no body.
                    assert!(
                        path.ends_with("/read")
                            || path.ends_with("/read-all")
                            || path.ends_with("/acknowledge")
                            || path.ends_with("/check")
                            || path.ends_with("/run")
                            || path.ends_with("/confirmation")
                            || path.ends_with("/report-url")
                            || path.starts_with("/heartbeat/")
                            || path.starts_with("/systems/")
                            || path == "/auth/logout",
                        "{method} {path}: no request body documented"
                    );
                }
                // Every path parameter is declared.
                for seg in path.split('/') {
                    if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        let declared = op["parameters"].as_array().is_some_and(|ps| {
                            ps.iter().any(|p| p["name"] == name && p["in"] == "path")
                        });
                        assert!(
                            declared,
                            "{method} {path}: path parameter {name} undeclared"
                        );
                    }
                }
            }
        }
        // Every reference resolves.
        let text = doc.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "unresolved reference to {name}"
            );
        }
        // The documented collections are the ones served.
        let collections = doc["paths"]["/{collection}"]["get"]["parameters"][0]["schema"]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(collections.len(), 6, "{collections:?}");
        for c in collections {
            assert!(crate::inventory::spec_of(c.as_str().unwrap_or_default()).is_ok());
        }
        // The patch of a monitor is documented with its own (all-optional) schema.
        let patch = &doc["paths"]["/monitors/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(patch, "#/components/schemas/MonitorUpdate");
        assert!(doc["components"]["schemas"]["MonitorUpdate"]["required"].is_null());
    }
}
