//! The OpenAPI 3.1 document of every endpoint, built from one table so it stays complete
//! (a test walks the router's routes against it).

use axum::Json;
use serde_json::{Map, Value, json};

/// (method, path, tag, summary, request body schema ref or "", success status)
pub const ENDPOINTS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "post",
        "/auth/login",
        "auth",
        "登录，返回令牌",
        "Login",
        "200",
    ),
    ("post", "/auth/logout", "auth", "退出登录", "", "204"),
    (
        "post",
        "/auth/password",
        "auth",
        "修改本人密码",
        "PasswordChange",
        "204",
    ),
    ("get", "/me", "auth", "当前用户", "", "200"),
    (
        "get",
        "/me/messages",
        "auth",
        "本人的站内消息（?unread=true 只看未读）",
        "",
        "200",
    ),
    (
        "post",
        "/me/messages/{id}/read",
        "auth",
        "标记一条站内消息为已读",
        "",
        "200",
    ),
    (
        "post",
        "/me/messages/read-all",
        "auth",
        "全部标记为已读",
        "",
        "200",
    ),
    ("get", "/api-tokens", "auth", "本人的 API 令牌", "", "200"),
    (
        "post",
        "/api-tokens",
        "auth",
        "创建 API 令牌（明文只返回一次）",
        "ApiTokenCreate",
        "201",
    ),
    (
        "delete",
        "/api-tokens/{id}",
        "auth",
        "吊销 API 令牌",
        "",
        "204",
    ),
    (
        "get",
        "/users",
        "users",
        "账号列表（系统管理员）",
        "",
        "200",
    ),
    ("post", "/users", "users", "新建账号", "UserCreate", "201"),
    ("get", "/users/{id}", "users", "账号详情", "", "200"),
    (
        "patch",
        "/users/{id}",
        "users",
        "修改账号（姓名、角色、停用、解锁）",
        "UserUpdate",
        "200",
    ),
    ("delete", "/users/{id}", "users", "删除账号", "", "204"),
    (
        "post",
        "/users/{id}/reset-password",
        "users",
        "重置密码（下次登录须修改）",
        "PasswordReset",
        "204",
    ),
    (
        "get",
        "/audit-events",
        "audit",
        "审计日志（监理、甲方）",
        "",
        "200",
    ),
    (
        "get",
        "/audit-events/verify",
        "audit",
        "校验审计日志哈希链",
        "",
        "200",
    ),
    ("get", "/audit-events/{id}", "audit", "审计记录", "", "200"),
    (
        "get",
        "/inventory/summary",
        "inventory",
        "资产概览：分类数量、过保、申报与实数差异",
        "",
        "200",
    ),
    (
        "get",
        "/systems/{id}/assets",
        "inventory",
        "系统运行所在设备",
        "",
        "200",
    ),
    (
        "put",
        "/systems/{id}/assets/{asset_id}",
        "inventory",
        "关联系统与设备",
        "",
        "204",
    ),
    (
        "delete",
        "/systems/{id}/assets/{asset_id}",
        "inventory",
        "取消关联",
        "",
        "204",
    ),
    (
        "get",
        "/systems/{id}/assignments",
        "inventory",
        "系统的岗位安排",
        "",
        "200",
    ),
    (
        "post",
        "/{collection}/import",
        "inventory",
        "导入 CSV/XLSX（整文件一个事务）",
        "",
        "200",
    ),
    (
        "get",
        "/{collection}/export",
        "inventory",
        "导出 CSV/XLSX",
        "",
        "200",
    ),
    (
        "get",
        "/{collection}",
        "inventory",
        "列表：limit、offset、q、sort、筛选",
        "",
        "200",
    ),
    (
        "post",
        "/{collection}",
        "inventory",
        "新建记录",
        "Record",
        "201",
    ),
    (
        "get",
        "/{collection}/{id}",
        "inventory",
        "记录详情",
        "",
        "200",
    ),
    (
        "patch",
        "/{collection}/{id}",
        "inventory",
        "修改记录",
        "Record",
        "200",
    ),
    (
        "delete",
        "/{collection}/{id}",
        "inventory",
        "删除记录",
        "",
        "204",
    ),
    (
        "get",
        "/{collection}/{id}/history",
        "inventory",
        "记录的变更历史（来自审计日志）",
        "",
        "200",
    ),
    (
        "get",
        "/calendars",
        "desk",
        "工作日历列表（含各日历已有安排的年份 years；12 月起下一年缺安排时给出 warning）",
        "",
        "200",
    ),
    ("get", "/calendars/{id}", "desk", "工作日历详情", "", "200"),
    (
        "get",
        "/calendars/{id}/days",
        "desk",
        "日历逐日是否上班（?from=&to=，不超过 3 年）",
        "",
        "200",
    ),
    (
        "put",
        "/calendars/{id}/days/{date}",
        "desk",
        "设置一天为放假或调休上班，或恢复按星期",
        "CalendarDay",
        "204",
    ),
    (
        "post",
        "/calendars/{id}/import",
        "desk",
        "导入节假日安排（CSV 或 JSON 行：date、working、reason）；?dry_run=true 只返回差异；已有安排的年份须 confirm=true，否则 409 confirmation_required 并返回差异；坏行 422 并指明行列",
        "",
        "200",
    ),
    (
        "get",
        "/monitors",
        "monitoring",
        "监控列表（?system_id=&asset_id=&kind=&state=&q=）",
        "",
        "200",
    ),
    (
        "post",
        "/monitors",
        "monitoring",
        "新建监控",
        "Monitor",
        "201",
    ),
    (
        "get",
        "/monitors/{id}",
        "monitoring",
        "监控详情（含最近状态变化）",
        "",
        "200",
    ),
    (
        "patch",
        "/monitors/{id}",
        "monitoring",
        "修改监控（含暂停 paused）",
        "Monitor",
        "200",
    ),
    (
        "delete",
        "/monitors/{id}",
        "monitoring",
        "删除监控",
        "",
        "204",
    ),
    (
        "post",
        "/monitors/{id}/check",
        "monitoring",
        "立即检测一次",
        "",
        "200",
    ),
    (
        "get",
        "/monitors/{id}/results",
        "monitoring",
        "检测结果（?from=&to=&limit=）",
        "",
        "200",
    ),
    (
        "get",
        "/monitors/{id}/availability",
        "monitoring",
        "可用率（?from=&to= RFC 3339，&days=true 按日）",
        "",
        "200",
    ),
    (
        "get",
        "/systems/{id}/availability",
        "monitoring",
        "系统可用率（?from=&to=）",
        "",
        "200",
    ),
    (
        "get",
        "/maintenance-windows",
        "monitoring",
        "维护窗口",
        "",
        "200",
    ),
    (
        "post",
        "/maintenance-windows",
        "monitoring",
        "新建维护窗口（一次性或每周重复）",
        "Maintenance",
        "201",
    ),
    (
        "delete",
        "/maintenance-windows/{id}",
        "monitoring",
        "删除维护窗口",
        "",
        "204",
    ),
    (
        "get",
        "/alerts",
        "monitoring",
        "告警列表（?status=open|firing|acknowledged|resolved&source=&system_id=）",
        "",
        "200",
    ),
    (
        "get",
        "/alerts/{id}",
        "monitoring",
        "告警详情与历史",
        "",
        "200",
    ),
    (
        "post",
        "/alerts/{id}/acknowledge",
        "monitoring",
        "确认告警",
        "",
        "200",
    ),
    (
        "post",
        "/alerts/{id}/silence",
        "monitoring",
        "静默告警（须填原因）",
        "Silence",
        "200",
    ),
    (
        "get",
        "/integrations",
        "monitoring",
        "告警接入源",
        "",
        "200",
    ),
    (
        "post",
        "/integrations",
        "monitoring",
        "新建接入源，返回令牌（只显示一次）",
        "Integration",
        "201",
    ),
    (
        "delete",
        "/integrations/{id}",
        "monitoring",
        "删除接入源",
        "",
        "204",
    ),
    (
        "post",
        "/integrations/alertmanager",
        "intake",
        "Alertmanager webhook（version 4）；令牌用 Bearer 或 ?token=",
        "",
        "200",
    ),
    (
        "post",
        "/integrations/zabbix",
        "intake",
        "Zabbix 媒介（integrations/zabbix/media_yunwei.yaml）",
        "",
        "200",
    ),
    (
        "post",
        "/integrations/events",
        "intake",
        "通用事件（PagerDuty Events v2 格式）",
        "",
        "202",
    ),
    (
        "get",
        "/heartbeat/{token}",
        "intake",
        "心跳（任务成功）；?duration_s=&size_bytes=",
        "",
        "200",
    ),
    (
        "post",
        "/heartbeat/{token}",
        "intake",
        "心跳（任务成功）",
        "",
        "200",
    ),
    (
        "get",
        "/heartbeat/{token}/{action}",
        "intake",
        "任务开始（start）或失败（fail）",
        "",
        "200",
    ),
    (
        "post",
        "/heartbeat/{token}/{action}",
        "intake",
        "任务开始（start）或失败（fail）",
        "",
        "200",
    ),
    (
        "get",
        "/duty-shifts",
        "monitoring",
        "值班表与当前值班人员",
        "",
        "200",
    ),
    (
        "post",
        "/duty-shifts",
        "monitoring",
        "新增排班",
        "Shift",
        "201",
    ),
    (
        "delete",
        "/duty-shifts/{id}",
        "monitoring",
        "删除排班",
        "",
        "204",
    ),
];

fn params(path: &str, method: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let schema = if name == "collection" {
                json!({"type": "string", "enum": ["sites", "assets", "systems", "staff", "assignments", "sla-policies"]})
            } else if name == "action" {
                json!({"type": "string", "enum": ["start", "fail"]})
            } else if ["token", "date"].contains(&name) {
                json!({"type": "string"})
            } else {
                json!({"type": "integer", "minimum": 1})
            };
            out.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    if method == "get"
        && (path.ends_with("}")
            && path.matches('{').count() == 1
            && path.starts_with("/{collection}")
            || path == "/users"
            || path == "/audit-events")
    {
        for (name, ty) in [
            ("limit", "integer"),
            ("offset", "integer"),
            ("q", "string"),
            ("sort", "string"),
        ] {
            out.push(
                json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}}),
            );
        }
    }
    if path.ends_with("/export") {
        out.push(json!({"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["xlsx", "csv"]}}));
    }
    out
}

pub fn build() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary, body, status) in ENDPOINTS {
        let mut op = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": format!("{method}_{}", path.replace(['/', '{', '}', '-'], "_").trim_matches('_')),
            "parameters": params(path, method),
            "responses": {
                *status: {"description": "成功", "content": if *status == "204" { json!(null) } else { json!({"application/json": {"schema": {"type": "object"}}}) }},
                "4XX": {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if *status == "204"
            && let Some(r) = op["responses"][*status].as_object_mut()
        {
            r.remove("content");
        }
        if !body.is_empty() {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        if *path == "/{collection}/import" {
            op["requestBody"] = json!({"required": true, "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}
            }});
        }
        if *path == "/calendars/{id}/import" {
            op["requestBody"] = json!({"required": true, "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
                "text/csv": {"schema": {"type": "string", "description": "date,working,reason 每行一天；working 为 true/false 或 上班/休息"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/HolidayRows"}}
            }});
            if let Some(ps) = op["parameters"].as_array_mut() {
                for (name, desc) in [
                    ("dry_run", "只计算差异，不做修改"),
                    ("confirm", "已有安排的年份也导入"),
                ] {
                    ps.push(json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "boolean", "default": false}}));
                }
                ps.push(json!({"name": "base", "in": "query", "required": false, "description": "预览返回的 base；日历在预览后被修改则 409", "schema": {"type": "string"}}));
            }
            op["responses"]["409"] = json!({"description": "已有安排，需确认（details 为差异）", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        }
        if *path != "/auth/login" && !path.starts_with("/heartbeat/") {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "yunwei 运维平台 API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
                "Login": {"type": "object", "required": ["username", "password"], "additionalProperties": false, "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
                "PasswordChange": {"type": "object", "required": ["current_password", "new_password"], "additionalProperties": false, "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}},
                "PasswordReset": {"type": "object", "required": ["new_password"], "additionalProperties": false, "properties": {"new_password": {"type": "string"}}},
                "ApiTokenCreate": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {"name": {"type": "string"}, "expires_in_days": {"type": "integer"}}},
                "UserCreate": {"type": "object", "required": ["username", "role", "password"], "properties": {
                    "username": {"type": "string"}, "display_name": {"type": "string"}, "password": {"type": "string"},
                    "role": {"type": "string", "enum": ["admin", "supervisor", "auditor", "manager", "engineer", "operator", "requester"]},
                    "phone": {"type": "string"}, "email": {"type": "string"}}},
                "UserUpdate": {"type": "object", "properties": {"display_name": {"type": "string"}, "role": {"type": "string"}, "disabled": {"type": "boolean"}, "unlock": {"type": "boolean"}, "phone": {"type": "string"}, "email": {"type": "string"}}},
                "TicketCreate": {"type": "object", "required": ["kind", "title"], "properties": {
                    "kind": {"type": "string", "enum": ["incident", "request", "problem", "change"]},
                    "change_type": {"type": "string", "enum": ["upgrade", "optimisation", "vulnerability_fix", "configuration"]},
                    "title": {"type": "string"}, "description": {"type": "string"}, "system_id": {"type": "integer"}, "asset_id": {"type": "integer"},
                    "category": {"type": "string"}, "source": {"type": "string", "enum": ["portal", "phone", "on_site", "api", "monitoring", "inspection"]},
                    "requester_id": {"type": "integer"}, "requester_name": {"type": "string"}, "requester_contact": {"type": "string"},
                    "reported_at": {"type": "string", "format": "date-time"},
                    "impact": {"type": "string", "enum": ["high", "medium", "low"]}, "urgency": {"type": "string", "enum": ["high", "medium", "low"]},
                    "assignee_id": {"type": "integer"}}},
                "TicketUpdate": {"type": "object", "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "category": {"type": "string"},
                    "impact": {"type": "string"}, "urgency": {"type": "string"}, "system_id": {"type": "integer"}, "asset_id": {"type": "integer"}}},
                "TicketAction": {"type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["assign", "start", "pend", "resume", "check_in", "resolve", "close", "reopen", "cancel", "supervise", "rate"]},
                    "assignee_id": {"type": "integer"}, "reason": {"type": "string"}, "resolution": {"type": "string"}, "remote_fix_reason": {"type": "string"},
                    "note": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5}, "comment": {"type": "string"},
                    "fault_report": {"type": "object", "properties": {"symptom": {"type": "string"}, "impact_scope": {"type": "string"},
                        "started_at": {"type": "string", "format": "date-time"}, "recovered_at": {"type": "string", "format": "date-time"},
                        "cause": {"type": "string"}, "handling": {"type": "string"}, "measures": {"type": "string"}}}}},
                "Comment": {"type": "object", "required": ["body"], "properties": {"body": {"type": "string"}, "internal": {"type": "boolean"}}},
                "Worklog": {"type": "object", "required": ["minutes"], "properties": {"minutes": {"type": "integer"}, "note": {"type": "string"}}},
                "Channel": {"type": "object", "required": ["kind", "name", "config"], "properties": {"kind": {"type": "string", "enum": ["email", "webhook", "wecom", "dingtalk", "sms"]},
                    "name": {"type": "string"}, "enabled": {"type": "boolean"}, "config": {"type": "object"}}},
                "Monitor": {"type": "object", "required": ["name", "kind"], "additionalProperties": false, "properties": {
                    "name": {"type": "string"}, "kind": {"type": "string", "enum": ["http", "tcp", "icmp", "dns", "tls", "snmp", "postgres", "mysql", "heartbeat"]},
                    "target": {"type": "string"}, "interval_s": {"type": "integer", "minimum": 1, "default": 60}, "timeout_ms": {"type": "integer"},
                    "failures_before_down": {"type": "integer"}, "successes_before_up": {"type": "integer"}, "system_id": {"type": "integer"},
                    "asset_id": {"type": "integer"}, "depends_on": {"type": "integer"}, "priority": {"type": "string", "enum": ["P1", "P2", "P3", "P4"]},
                    "paused": {"type": "boolean"}, "auto_resolve": {"type": "boolean"}, "config": {"type": "object"}}},
                "Maintenance": {"type": "object", "required": ["reason", "starts_at", "ends_at"], "properties": {"monitor_id": {"type": "integer"},
                    "system_id": {"type": "integer"}, "reason": {"type": "string"}, "owner": {"type": "string"}, "starts_at": {"type": "string", "format": "date-time"},
                    "ends_at": {"type": "string", "format": "date-time"}, "recurrence": {"type": "object", "properties": {"weekdays": {"type": "array", "items": {"type": "integer"}},
                    "start": {"type": "string"}, "end": {"type": "string"}}}}},
                "Silence": {"type": "object", "required": ["minutes", "reason"], "properties": {"minutes": {"type": "integer"}, "reason": {"type": "string"}}},
                "Integration": {"type": "object", "required": ["kind", "name"], "properties": {"kind": {"type": "string", "enum": ["alertmanager", "zabbix", "events"]},
                    "name": {"type": "string"}, "system_id": {"type": "integer"}}},
                "Shift": {"type": "object", "required": ["user_id", "starts_at", "ends_at"], "properties": {"user_id": {"type": "integer"},
                    "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
                    "role": {"type": "string", "enum": ["primary", "backup"]}, "note": {"type": "string"}}},
                "Rule": {"type": "object", "required": ["event", "channel_id"], "properties": {"event": {"type": "string"}, "channel_id": {"type": "integer"},
                    "to_assignee": {"type": "boolean"}, "to_requester": {"type": "boolean"}, "priority": {"type": "string"}, "system_id": {"type": "integer"}}},
                "Link": {"type": "object", "required": ["ticket_id"], "properties": {"ticket_id": {"type": "integer"}, "kind": {"type": "string", "enum": ["related", "duplicate", "caused_by", "parent", "child"]}}},
                "HolidayRows": {"type": "array", "maxItems": 2000, "items": {"type": "object", "required": ["date", "working", "reason"], "additionalProperties": false, "properties": {
                    "date": {"type": "string", "format": "date"}, "working": {"type": ["boolean", "string"], "description": "true/上班（调休上班）或 false/休息（放假）"},
                    "reason": {"type": "string", "maxLength": 100}}}},
                "CalendarDay": {"type": "object", "properties": {"working": {"type": ["boolean", "null"]}, "reason": {"type": "string"}}},
                "Record": {"type": "object", "description": "字段见各集合：sites、assets、systems、staff、assignments"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
