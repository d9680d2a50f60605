//! Opening a ticket and editing its fields.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    ChangeType, Level, TicketKind, TicketSource, opt_coded, opt_text_ok, patch_id, patch_text,
    text_ok,
};
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};
use crate::domain::roles::Role;

/// `POST /tickets`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    pub kind: TicketKind,
    /// Required for a change.
    #[serde(default, deserialize_with = "opt_coded")]
    pub change_type: Option<ChangeType>,
    /// Required; checked with the other rules (a form leaves it out when blank).
    #[serde(default)]
    #[schema(required = true, max_length = 200)]
    pub title: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub system_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub asset_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub source: Option<TicketSource>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub requester_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub requester_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub requester_contact: Option<String>,
    /// RFC 3339; staff logging a call may give an earlier time.
    #[serde(default, deserialize_with = "de::opt_text")]
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub impact: Option<Level>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub urgency: Option<Level>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub assignee_id: Option<i64>,
}

impl Labels for TicketCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "工单类型"),
        ("change_type", "变更类型"),
        ("title", "标题"),
        ("description", "描述"),
        ("system_id", "系统"),
        ("asset_id", "设备"),
        ("category", "分类"),
        ("source", "来源"),
        ("requester_id", "报障人"),
        ("requester_name", "报障人姓名"),
        ("requester_contact", "联系方式"),
        ("reported_at", "报障时间"),
        ("impact", "影响程度"),
        ("urgency", "紧急程度"),
        ("assignee_id", "处理人"),
    ];
}

/// A ticket to open: a `TicketCreate` checked and completed with the opener's rules.
#[derive(Clone, Debug)]
pub struct CheckedCreate {
    pub kind: TicketKind,
    pub change_type: Option<ChangeType>,
    pub title: String,
    pub description: Option<String>,
    pub system_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub category: Option<String>,
    pub source: TicketSource,
    pub requester_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub impact: Level,
    pub urgency: Level,
    pub assignee_id: Option<i64>,
}

impl TicketCreate {
    /// A ticket of `kind` titled `title`, everything else left to the defaults.
    pub fn new(kind: TicketKind, title: impl Into<String>) -> Self {
        TicketCreate {
            kind,
            change_type: None,
            title: title.into(),
            description: None,
            system_id: None,
            asset_id: None,
            category: None,
            source: None,
            requester_id: None,
            requester_name: None,
            requester_contact: None,
            reported_at: None,
            impact: None,
            urgency: None,
            assignee_id: None,
        }
    }

    /// The rules of opening a ticket by a user with `role` and id `user_id` at `now`:
    /// lengths, a change's type, the portal's limits for requesters, the reported time's
    /// window and who may name the engineer. Returns the completed ticket and every problem
    /// found (the ticket is only meaningful when there is none).
    pub fn check(
        &self,
        role: Role,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> (CheckedCreate, Vec<FieldError>) {
        let mut errs = Vec::new();
        if self.kind == TicketKind::Change && self.change_type.is_none() {
            errs.push(FieldError::new(
                "change_type",
                "变更工单须选择变更类型：系统升级、性能优化、漏洞修复或配置变更",
            ));
        }
        let title = self.title.trim();
        if title.is_empty() {
            errs.push(FieldError::new("title", "请填写标题"));
        } else {
            text_ok("title", "标题", title, 200, &mut errs);
        }
        let description = opt_text_ok("description", "描述", &self.description, 20_000, &mut errs);
        let category = opt_text_ok("category", "分类", &self.category, 50, &mut errs);
        let requester_name = opt_text_ok(
            "requester_name",
            "报障人姓名",
            &self.requester_name,
            50,
            &mut errs,
        );
        let requester_contact = opt_text_ok(
            "requester_contact",
            "联系方式",
            &self.requester_contact,
            100,
            &mut errs,
        );
        let mut reported_at =
            opt_text_ok("reported_at", "报障时间", &self.reported_at, 40, &mut errs)
                .and_then(|s| match DateTime::parse_from_rfc3339(&s) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => {
                        errs.push(FieldError::new(
                            "reported_at",
                            "报障时间应为 RFC 3339 时间，如 2025-10-15T09:30:00+08:00",
                        ));
                        None
                    }
                })
                .unwrap_or(now);
        let mut requester_id = self.requester_id;
        let mut source = self.source.unwrap_or(TicketSource::Api);
        if role == Role::Requester {
            // The portal: one's own ticket, reported now, about one of the systems.
            requester_id = Some(user_id);
            source = TicketSource::Portal;
            reported_at = now;
            if self.assignee_id.is_some() {
                errs.push(FieldError::new("assignee_id", "报障用户不能指定处理人"));
            }
            if self.system_id.is_none() {
                errs.push(FieldError::new("system_id", "请选择出现问题的系统"));
            }
        } else {
            if reported_at > now + Duration::minutes(5) {
                errs.push(FieldError::new("reported_at", "报障时间不能晚于当前时间"));
            }
            if reported_at < now - Duration::days(30) {
                errs.push(FieldError::new("reported_at", "报障时间不能早于 30 天前"));
            }
            if self.assignee_id.is_some() && !matches!(role, Role::Admin | Role::Manager) {
                errs.push(FieldError::new(
                    "assignee_id",
                    "只有项目经理可以在建单时指定处理人",
                ));
            }
        }
        let checked = CheckedCreate {
            kind: self.kind,
            change_type: self.change_type,
            title: title.to_string(),
            description,
            system_id: self.system_id,
            asset_id: self.asset_id,
            category,
            source,
            requester_id,
            requester_name,
            requester_contact,
            reported_at,
            impact: self.impact.unwrap_or(Level::Medium),
            urgency: self.urgency.unwrap_or(Level::Medium),
            assignee_id: self.assignee_id,
        };
        (checked, errs)
    }
}

/// `PATCH /tickets/{id}`: only the fields to change; `null` clears an optional field
/// (`id` and `number` are ignored).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_text")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub impact: Option<Level>,
    #[serde(default, deserialize_with = "opt_coded")]
    pub urgency: Option<Level>,
    #[serde(default, deserialize_with = "patch_id")]
    #[schema(value_type = Option<i64>)]
    pub system_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch_id")]
    #[schema(value_type = Option<i64>)]
    pub asset_id: Option<Option<i64>>,
    /// Ignored.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub id: Option<Value>,
    /// Ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub number: Option<Value>,
}

impl Labels for TicketUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("title", "标题"),
        ("description", "描述"),
        ("category", "分类"),
        ("impact", "影响程度"),
        ("urgency", "紧急程度"),
        ("system_id", "系统"),
        ("asset_id", "设备"),
        ("id", "编号"),
        ("number", "工单号"),
    ];
}

impl TicketUpdate {
    /// Lengths and a non-blank title; a field that fails is dropped from the patch.
    pub fn check(&self) -> (TicketUpdate, Vec<FieldError>) {
        let mut errs = Vec::new();
        let title = match &self.title {
            None => None,
            Some(None) => {
                errs.push(FieldError::new("title", "请填写标题"));
                None
            }
            Some(Some(t)) => {
                let t = t.trim();
                text_ok("title", "标题", t, 200, &mut errs).then(|| Some(t.to_string()))
            }
        };
        let description = self
            .description
            .as_ref()
            .map(|d| opt_text_ok("description", "描述", d, 20_000, &mut errs));
        let category = self
            .category
            .as_ref()
            .map(|c| opt_text_ok("category", "分类", c, 50, &mut errs));
        let checked = TicketUpdate {
            title,
            description,
            category,
            impact: self.impact,
            urgency: self.urgency,
            system_id: self.system_id,
            asset_id: self.asset_id,
            id: None,
            number: None,
        };
        (checked, errs)
    }
}
