//! The inventory (CMDB): sites, equipment, software systems, the contractor's staff and
//! their assignments to systems. Specs and rules only.

use chrono::NaiveDate;
use serde::Serialize;

use super::entity::{Choice, EntitySpec, Field, Kind, partial_date_end};
use super::team;

pub const ASSET_CATEGORIES: &[Choice] = &[
    Choice::new("environment", "机房环境设备"),
    Choice::new("network", "网络设备"),
    Choice::new("security", "安全设备"),
    Choice::new("server", "服务器设备"),
    Choice::new("storage", "存储设备"),
    Choice::new("other", "其他"),
];

pub const RUNNING_STATUS: &[Choice] = &[
    Choice::new("good", "良好"),
    Choice::new("fair", "一般"),
    Choice::new("faulty", "故障"),
    Choice::new("repairing", "维修中"),
    Choice::new("retired", "停用"),
];

pub const SERVICE_MODES: &[Choice] = &[
    Choice::new("remote", "远程"),
    Choice::new("on_site", "驻场"),
    Choice::new("hybrid", "驻场与远程"),
];

pub const WORK_MODES: &[Choice] = &[
    Choice::new("remote", "远程"),
    Choice::new("on_site", "驻场"),
];

pub const DUTIES: &[Choice] = &[
    Choice::new("om_engineer", "运维工程师"),
    Choice::new("dba", "数据库工程师"),
    Choice::new("operations", "运营人员"),
];

const T100: Kind = Kind::Text { max: 100 };
const T200: Kind = Kind::Text { max: 200 };

pub static SITES: EntitySpec = EntitySpec {
    name: "sites",
    table: "sites",
    label: "机房",
    fields: &[
        Field::new("name", "名称", T100)
            .required()
            .aliases(&["机房", "机房名称"])
            .sortable()
            .search()
            .list(),
        Field::new("address", "地址", T200).search().list(),
        Field::new("notes", "备注", Kind::LongText),
    ],
    default_sort: "id",
    dependents: &[("assets", "site_id", "设备")],
    unique: &["name"],
};

pub static ASSETS: EntitySpec = EntitySpec {
    name: "assets",
    table: "assets",
    label: "设备",
    fields: &[
        Field::new("name", "名称", T100)
            .required()
            .aliases(&["设备名称", "名称及类别"])
            .sortable()
            .search()
            .list(),
        Field::new("category", "类别", Kind::Choice(ASSET_CATEGORIES))
            .required()
            .aliases(&["设备类别", "分类"])
            .sortable()
            .filter()
            .list(),
        Field::new(
            "site_id",
            "所在机房",
            Kind::Ref {
                table: "sites",
                title: "name",
                label: "机房",
            },
        )
        .aliases(&["机房", "位置"])
        .filter()
        .list(),
        Field::new("subsystem", "所属子系统", T100)
            .aliases(&["系统名称", "子系统"])
            .search(),
        Field::new("brand_model", "品牌/型号", T200)
            .aliases(&["品牌", "型号", "型号规格", "品牌型号", "规格型号"])
            .search()
            .list(),
        Field::new(
            "quantity",
            "数量",
            Kind::Int {
                min: 0,
                max: 1_000_000,
            },
        )
        .default_int(1)
        .sortable()
        .list(),
        Field::new("unit", "单位", Kind::Text { max: 10 }).list(),
        Field::new("acquired", "取得时间", Kind::PartialDate)
            .aliases(&["购置时间", "购买时间"])
            .sortable(),
        Field::new("warranty_until", "过保时间", Kind::PartialDate)
            .aliases(&["保修截止", "维保到期"])
            .sortable()
            .list(),
        Field::new("status", "运行状态", Kind::Choice(RUNNING_STATUS))
            .default_text("good")
            .aliases(&["状态"])
            .filter()
            .sortable()
            .list(),
        Field::new("serial_no", "序列号", T100).search(),
        Field::new("ip", "管理IP", Kind::Text { max: 45 })
            .aliases(&["IP", "IP地址"])
            .search(),
        Field::new("notes", "备注", Kind::LongText),
    ],
    default_sort: "id",
    dependents: &[],
    unique: &[],
};

pub static SYSTEMS: EntitySpec = EntitySpec {
    name: "systems",
    table: "systems",
    label: "信息系统",
    fields: &[
        Field::new("code", "编号", Kind::Text { max: 30 })
            .aliases(&["序号", "条款"])
            .sortable()
            .search()
            .list(),
        Field::new("name", "系统名称", T200)
            .required()
            .aliases(&["名称"])
            .sortable()
            .search()
            .list(),
        Field::new("owner_department", "主管处室", T100)
            .aliases(&["业务处室", "责任部门"])
            .search()
            .filter()
            .list(),
        Field::new(
            "users_count",
            "用户数",
            Kind::Int {
                min: 0,
                max: 100_000_000,
            },
        )
        .aliases(&["用户数量", "用户规模"])
        .sortable()
        .list(),
        Field::new(
            "data_volume_gb",
            "数据量(GB)",
            Kind::Float {
                min: 0.0,
                max: 1.0e9,
            },
        )
        .aliases(&["数据量", "数据量GB"])
        .sortable()
        .list(),
        Field::new("url", "访问地址", Kind::Url).aliases(&["URL", "网址"]),
        Field::new("service_mode", "服务方式", Kind::Choice(SERVICE_MODES))
            .default_text("remote")
            .filter()
            .list(),
        Field::new("stack", "技术栈", T200),
        Field::new("description", "说明", Kind::LongText)
            .aliases(&["描述", "服务内容"])
            .search(),
    ],
    default_sort: "id",
    dependents: &[],
    unique: &["code", "name"],
};

pub static STAFF: EntitySpec = EntitySpec {
    name: "staff",
    table: "staff",
    label: "团队成员",
    fields: &[
        Field::new("name", "姓名", Kind::Text { max: 50 })
            .required()
            .sortable()
            .search()
            .list(),
        Field::new("position", "岗位", T100)
            .aliases(&["职务"])
            .search()
            .filter()
            .list(),
        Field::new("level", "级别", Kind::Text { max: 20 })
            .aliases(&["职级"])
            .filter()
            .list(),
        Field::new("phone", "电话", Kind::Phone)
            .aliases(&["手机", "联系电话"])
            .list(),
        Field::new("email", "邮箱", Kind::Email),
        Field::new("work_mode", "工作方式", Kind::Choice(WORK_MODES))
            .default_text("remote")
            .aliases(&["驻场/远程"])
            .filter()
            .list(),
        Field::new(
            "user_id",
            "登录账号",
            Kind::Ref {
                table: "users",
                title: "username",
                label: "账号",
            },
        ),
        Field::new("notes", "备注", Kind::LongText),
        // Team compliance (issue 13): role, key staff, qualifications and experience.
        Field::new("team_role", "团队角色", Kind::Choice(team::TEAM_ROLES))
            .aliases(&["角色"])
            .filter()
            .list(),
        Field::new("key_staff", "关键人员", Kind::Choice(team::YES_NO))
            .default_text("no")
            .aliases(&["是否关键人员", "主要人员"])
            .filter()
            .list(),
        Field::new("qualifications", "资历与资质", Kind::LongText).aliases(&["资质", "资历"]),
        Field::new(
            "years_experience",
            "从业年限",
            Kind::Int { min: 0, max: 60 },
        )
        .aliases(&["工作年限", "从业经验"])
        .sortable(),
        Field::new("pm_years", "项目管理年限", Kind::Int { min: 0, max: 60 })
            .aliases(&["项目管理经验"])
            .sortable(),
        Field::new("status", "在岗状态", Kind::Choice(team::STAFF_STATUSES))
            .default_text("active")
            .filter()
            .list(),
        Field::new("left_on", "离开日期", Kind::PartialDate),
    ],
    default_sort: "id",
    dependents: &[("personnel_changes", "leaving_staff_id", "人员变更")],
    unique: &[],
};

pub static ASSIGNMENTS: EntitySpec = EntitySpec {
    name: "assignments",
    table: "assignments",
    label: "岗位安排",
    fields: &[
        Field::new(
            "system_id",
            "系统",
            Kind::Ref {
                table: "systems",
                title: "name",
                label: "系统",
            },
        )
        .required()
        .filter()
        .list(),
        Field::new("duty", "职责", Kind::Choice(DUTIES))
            .required()
            .filter()
            .list(),
        Field::new("level", "级别", Kind::Text { max: 20 }).list(),
        Field::new("work_mode", "工作方式", Kind::Choice(WORK_MODES))
            .default_text("remote")
            .filter()
            .list(),
        Field::new(
            "staff_id",
            "人员",
            Kind::Ref {
                table: "staff",
                title: "name",
                label: "团队成员",
            },
        )
        .filter()
        .list(),
        Field::new("notes", "备注", Kind::LongText),
    ],
    default_sort: "id",
    dependents: &[],
    unique: &[],
};

/// Collections that support import and export.
pub fn importable(name: &str) -> Option<&'static EntitySpec> {
    match name {
        "assets" => Some(&ASSETS),
        "systems" => Some(&SYSTEMS),
        "staff" => Some(&STAFF),
        "sites" => Some(&SITES),
        _ => None,
    }
}

/// Warranty state of a piece of equipment on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WarrantyStatus {
    Expired,
    Expiring,
    Valid,
    Unknown,
}

impl WarrantyStatus {
    pub fn label(self) -> &'static str {
        match self {
            WarrantyStatus::Expired => "已过保",
            WarrantyStatus::Expiring => "90天内过保",
            WarrantyStatus::Valid => "在保",
            WarrantyStatus::Unknown => "未知",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            WarrantyStatus::Expired => "expired",
            WarrantyStatus::Expiring => "expiring",
            WarrantyStatus::Valid => "valid",
            WarrantyStatus::Unknown => "unknown",
        }
    }
}

/// Days before the end of warranty from which equipment counts as "expiring".
pub const WARRANTY_WARNING_DAYS: i64 = 90;

/// Expired when the last covered day is before `today`; expiring within 90 days.
pub fn warranty_status(warranty_until: Option<&str>, today: NaiveDate) -> WarrantyStatus {
    match warranty_until.and_then(partial_date_end) {
        None => WarrantyStatus::Unknown,
        Some(end) if end < today => WarrantyStatus::Expired,
        Some(end) if (end - today).num_days() <= WARRANTY_WARNING_DAYS => WarrantyStatus::Expiring,
        Some(_) => WarrantyStatus::Valid,
    }
}

/// The SQL condition on `warranty_until` (normalized partial-date text) that selects a
/// warranty status, given today's date and the date 90 days ahead, both `YYYY-MM-DD`.
/// Works on both backends because normalized partial dates compare as text once padded:
/// a year `2015` ends on `2015-12-31`, a month `2015-06` on `2015-06-31` (close enough for
/// comparison: no real date falls between the month's last day and "31").
pub fn warranty_end_sql() -> &'static str {
    "(CASE WHEN length(warranty_until) = 4 THEN warranty_until || '-12-31' \
      WHEN length(warranty_until) = 7 THEN warranty_until || '-31' ELSE warranty_until END)"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn warranty_status_by_period_end() {
        let today = d("2025-10-15");
        assert_eq!(
            warranty_status(Some("2015"), today),
            WarrantyStatus::Expired
        );
        assert_eq!(
            warranty_status(Some("2025"), today),
            WarrantyStatus::Expiring
        );
        assert_eq!(
            warranty_status(Some("2026-06"), today),
            WarrantyStatus::Valid
        );
        assert_eq!(
            warranty_status(Some("2025-10-14"), today),
            WarrantyStatus::Expired
        );
        assert_eq!(
            warranty_status(Some("2025-10-15"), today),
            WarrantyStatus::Expiring
        );
        assert_eq!(warranty_status(None, today), WarrantyStatus::Unknown);
    }
}
