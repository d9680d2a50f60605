//! The templates the demo ships, from the contract (4.1.1 机房基础环境与硬件设备, 4.1.2 应用
//! 系统日检/周检) and the checklists in `shared/reference/cn-ops.md` §2–3. Every range here
//! is a starting value that the purchaser's own rules override: the templates are ordinary
//! records once loaded, and an admin edits them. Values the research marks as unverified
//! ([K]) carry the source in `standard` so that the inspector sees where they come from.

use super::template::{Item, ItemKind, TargetType, Template};

/// A temperature and humidity profile for the machine room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnvProfile {
    pub code: &'static str,
    pub label: &'static str,
    pub temp: (f64, f64),
    pub humidity: (f64, f64),
}

/// The profiles an admin can pick for the machine room's temperature and humidity items;
/// the first is the contract's.
pub const ENV_PROFILES: &[EnvProfile] = &[
    EnvProfile {
        code: "contract",
        label: "需求书给定值（18–27℃，40%–60%）",
        temp: (18.0, 27.0),
        humidity: (40.0, 60.0),
    },
    EnvProfile {
        code: "gb50174",
        label: "GB 50174-2017 主机房（18–27℃，相对湿度 ≤60%）",
        temp: (18.0, 27.0),
        humidity: (0.0, 60.0),
    },
    EnvProfile {
        code: "legacy",
        label: "沿用旧制度（23±2℃，40%–70%）",
        temp: (21.0, 25.0),
        humidity: (40.0, 70.0),
    },
];

fn check(key: &str, sub: &str, label: &str, method: &str) -> Item {
    Item {
        subsystem: Some(sub.into()),
        method: Some(method.into()),
        ..Item::new(key, label, ItemKind::Check)
    }
}

fn number(
    key: &str,
    sub: &str,
    label: &str,
    unit: &str,
    min: Option<f64>,
    max: Option<f64>,
) -> Item {
    Item {
        subsystem: Some(sub.into()),
        method: Some("读数".into()),
        unit: Some(unit.into()),
        min,
        max,
        ..Item::new(key, label, ItemKind::Number)
    }
}

fn with_standard(mut it: Item, standard: &str) -> Item {
    it.standard = Some(standard.into());
    it
}

fn choice(key: &str, sub: &str, label: &str, choices: &[&str], abnormal: &[&str]) -> Item {
    Item {
        subsystem: Some(sub.into()),
        method: Some("目测".into()),
        choices: choices.iter().map(|c| c.to_string()).collect(),
        abnormal_choices: abnormal.iter().map(|c| c.to_string()).collect(),
        ..Item::new(key, label, ItemKind::Choice)
    }
}

fn optional(mut it: Item) -> Item {
    it.required = false;
    it
}

fn photo(key: &str, sub: &str, label: &str) -> Item {
    optional(Item {
        subsystem: Some(sub.into()),
        method: Some("拍照".into()),
        ..Item::new(key, label, ItemKind::Photo)
    })
}

fn template(
    name: &str,
    target: TargetType,
    category: Option<&str>,
    description: &str,
    items: Vec<Item>,
) -> Template {
    Template {
        name: name.into(),
        target_type: target,
        category: category.map(Into::into),
        description: Some(description.into()),
        items,
    }
}

/// The machine room's daily round, with the temperature and humidity of `profile`.
pub fn machine_room_daily(profile: &EnvProfile) -> Template {
    template(
        "机房日常巡检",
        TargetType::Site,
        None,
        &format!(
            "龙口西机房每日巡检：环境、供配电、UPS、精密空调、气体消防、动环。温湿度标准：{}。",
            profile.label
        ),
        vec![
            number(
                "ENV-01",
                "环境",
                "冷通道进风温度",
                "℃",
                Some(profile.temp.0),
                Some(profile.temp.1),
            ),
            number(
                "ENV-02",
                "环境",
                "相对湿度",
                "%",
                Some(profile.humidity.0),
                Some(profile.humidity.1),
            ),
            number("ENV-03", "环境", "电池区温度", "℃", Some(20.0), Some(30.0)),
            check(
                "ENV-04",
                "环境",
                "漏水检测无告警，空调下及管路无积水",
                "目测",
            ),
            check("ENV-05", "环境", "机房整洁，无杂物、无易燃物", "目测"),
            with_standard(
                number(
                    "PWR-01",
                    "供配电",
                    "市电三相电压",
                    "V",
                    Some(353.0),
                    Some(407.0),
                ),
                "380V ±7%（353–407V）",
            ),
            check("PWR-02", "供配电", "配电柜开关状态与标签正常", "目测"),
            choice(
                "UPS-01",
                "UPS",
                "UPS 运行模式",
                &["市电逆变", "旁路", "电池"],
                &["旁路", "电池"],
            ),
            with_standard(
                number("UPS-02", "UPS", "UPS 负载率", "%", None, Some(70.0)),
                "<70% 正常；70%–85% 预警；≥85% 严重",
            ),
            check("UPS-03", "UPS", "UPS 面板无告警", "目测"),
            check("AC-01", "精密空调", "精密空调运行正常、无告警代码", "目测"),
            check(
                "AC-02",
                "精密空调",
                "压缩机、风机运行正常，冷凝水排水通畅",
                "目测",
            ),
            choice(
                "FIRE-01",
                "气体消防",
                "气体灭火控制器工作方式",
                &["自动", "手动", "故障"],
                &["故障"],
            ),
            check("FIRE-02", "气体消防", "火灾报警控制器无故障报警", "目测"),
            check(
                "MON-01",
                "动环",
                "动环系统在线，各采集点数据刷新",
                "读数(动环)",
            ),
            check("SEC-01", "门禁与视频", "门禁、视频监控运行正常", "目测"),
            photo("PHOTO-01", "环境", "机房现场照片"),
        ],
    )
}

/// The UPS and its battery string (68 cells), monthly.
pub fn ups_battery_monthly() -> Template {
    let cells = Item {
        count: Some(68),
        max_spread: Some(0.4),
        ..with_standard(
            number(
                "BAT-01",
                "蓄电池",
                "单体浮充电压（逐节）",
                "V",
                Some(13.5),
                Some(13.8),
            ),
            "13.5–13.8V（12V 电池，25℃）；单体间差值 >0.4V 需均衡充电",
        )
    };
    template(
        "UPS 与蓄电池月度巡检",
        TargetType::Site,
        None,
        "80KVA UPS 主机与 68 节蓄电池的月度检查，单体电压逐节记录。",
        vec![
            number("UPS-11", "UPS", "输入电压", "V", Some(353.0), Some(407.0)),
            number("UPS-12", "UPS", "输出电压", "V", Some(372.0), Some(388.0)),
            number("UPS-13", "UPS", "输出频率", "Hz", Some(49.8), Some(50.2)),
            with_standard(
                number("UPS-14", "UPS", "负载率", "%", None, Some(70.0)),
                "<70% 正常；70%–85% 预警；≥85% 严重",
            ),
            number("UPS-15", "UPS", "机内温度", "℃", None, Some(40.0)),
            number("BAT-00", "蓄电池", "电池组总电压", "V", None, None),
            cells,
            number("BAT-02", "蓄电池", "电池温度", "℃", None, Some(30.0)),
            check(
                "BAT-03",
                "蓄电池",
                "外观无鼓包、漏液、裂纹、端子腐蚀或松动",
                "目测",
            ),
            photo("PHOTO-11", "UPS", "UPS 面板照片"),
        ],
    )
}

/// Gas suppression and fire alarm, monthly.
pub fn fire_monthly() -> Template {
    template(
        "气体消防月度巡检",
        TargetType::Site,
        None,
        "七氟丙烷气体灭火系统与火灾报警系统的月度检查。",
        vec![
            with_standard(
                check(
                    "FIRE-11",
                    "气体消防",
                    "储瓶与驱动气瓶压力不低于设计压力的 90%（指针在绿区）",
                    "目测(压力表)",
                ),
                "≥ 设计储存压力 × 90%",
            ),
            check(
                "FIRE-12",
                "气体消防",
                "储瓶、选择阀、集流管无损伤锈蚀，铅封完好",
                "目测",
            ),
            check(
                "FIRE-13",
                "气体消防",
                "声光报警器、放气指示灯、紧急启停按钮正常",
                "测试",
            ),
            check("FIRE-14", "火灾报警", "烟感、温感告警功能正常", "测试"),
            photo("PHOTO-21", "气体消防", "储瓶压力表照片"),
        ],
    )
}

/// Network devices (switches, routers, wireless), per device.
pub fn network_device() -> Template {
    template(
        "网络设备巡检",
        TargetType::Asset,
        Some("network"),
        "交换机、路由器、无线 AC/AP：环境、运行、接口、业务与配置。",
        vec![
            check(
                "NET-01",
                "环境",
                "温度、电源、风扇无告警",
                "命令(display environment)",
            ),
            number(
                "NET-02",
                "运行",
                "CPU 使用率（5 分钟均值）",
                "%",
                None,
                Some(70.0),
            ),
            number("NET-03", "运行", "内存使用率", "%", None, Some(80.0)),
            check(
                "NET-04",
                "运行",
                "无 error 及以上级别的告警与日志",
                "命令(display logbuffer)",
            ),
            check(
                "NET-05",
                "接口",
                "端口状态正常，利用率 <70%，无错包增长",
                "命令(display interface brief)",
            ),
            check("NET-06", "配置", "配置已保存并已备份", "命令"),
            optional(Item {
                subsystem: Some("基本信息".into()),
                method: Some("命令(display version)".into()),
                ..Item::new("NET-07", "软件版本", ItemKind::Text)
            }),
        ],
    )
}

/// Security devices (firewall, IPS, WAF, log audit, bastion host), per device.
pub fn security_device() -> Template {
    template(
        "安全设备巡检",
        TargetType::Asset,
        Some("security"),
        "防火墙、IPS、WAF、日志审计、堡垒机：硬件、双机、特征库、授权、策略、日志。",
        vec![
            check("SECD-01", "硬件与系统", "电源、风扇、温度正常", "目测"),
            number("SECD-02", "硬件与系统", "CPU 使用率", "%", None, Some(70.0)),
            number("SECD-03", "硬件与系统", "内存使用率", "%", None, Some(80.0)),
            check("SECD-04", "特征库", "特征库为最新版本，升级正常", "界面"),
            check(
                "SECD-05",
                "授权与维保",
                "授权与升级服务在有效期内（距到期 >90 天）",
                "界面",
            ),
            check("SECD-06", "日志", "日志外发正常，留存 ≥6 个月", "界面"),
            check("SECD-07", "策略", "无 any-any 及失效策略", "界面"),
        ],
    )
}

/// Servers, per server.
pub fn server() -> Template {
    template(
        "服务器巡检",
        TargetType::Asset,
        Some("server"),
        "服务器硬件、操作系统与安全基线。",
        vec![
            check(
                "SRV-01",
                "硬件",
                "带外管理无告警，电源、风扇、硬盘与 RAID 正常",
                "带外管理",
            ),
            number("SRV-02", "操作系统", "CPU 使用率", "%", None, Some(80.0)),
            number("SRV-03", "操作系统", "内存使用率", "%", None, Some(80.0)),
            number(
                "SRV-04",
                "操作系统",
                "磁盘使用率（最高分区）",
                "%",
                None,
                Some(80.0),
            ),
            check(
                "SRV-05",
                "操作系统",
                "关键进程与服务运行正常，系统日志无错误",
                "命令",
            ),
            check("SRV-06", "操作系统", "时间同步正常", "命令"),
            check("SRV-07", "备份", "最近一次备份成功", "备份系统"),
        ],
    )
}

/// Each government system's daily check (contract: 数据接口、数据计算、功能展示).
pub fn system_daily() -> Template {
    template(
        "应用系统日检",
        TargetType::System,
        None,
        "按需求书对每个政务信息系统每日检查数据接口、数据计算与功能展示。",
        vec![
            check(
                "APP-01",
                "数据接口",
                "数据接口可达，当日数据已按时同步",
                "远程",
            ),
            optional(number(
                "APP-02",
                "数据接口",
                "当日接口失败次数",
                "次",
                None,
                Some(0.0),
            )),
            check(
                "APP-03",
                "数据计算",
                "定时与批处理任务按时完成，结果已入库",
                "远程",
            ),
            check(
                "APP-04",
                "功能展示",
                "首页与登录可访问，关键页面有当日数据",
                "远程",
            ),
        ],
    )
}

/// Each government system's weekly performance check (数据库存储与计算负载).
pub fn system_weekly() -> Template {
    template(
        "应用系统周检（性能）",
        TargetType::System,
        None,
        "按需求书每周检查数据库存储与计算负载。",
        vec![
            number("PERF-01", "性能", "平均响应时间", "ms", None, Some(3000.0)),
            number(
                "PERF-02",
                "数据库",
                "数据库存储使用率",
                "%",
                None,
                Some(80.0),
            ),
            number(
                "PERF-03",
                "数据库",
                "数据库服务器 CPU 使用率（峰值）",
                "%",
                None,
                Some(80.0),
            ),
            number(
                "PERF-04",
                "数据库",
                "数据库连接数使用率",
                "%",
                None,
                Some(80.0),
            ),
            check("PERF-05", "日志", "应用与数据库日志无新增错误", "远程"),
        ],
    )
}

/// Every shipped template, the machine room with the contract's profile.
pub fn all() -> Vec<Template> {
    vec![
        machine_room_daily(&ENV_PROFILES[0]),
        ups_battery_monthly(),
        fire_monthly(),
        network_device(),
        security_device(),
        server(),
        system_daily(),
        system_weekly(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::template::validate;
    use super::*;

    #[test]
    fn every_shipped_template_is_valid() {
        for t in all() {
            let errs = validate(&t);
            assert!(errs.is_empty(), "{}: {errs:?}", t.name);
        }
        for p in ENV_PROFILES {
            assert!(validate(&machine_room_daily(p)).is_empty(), "{}", p.code);
        }
    }

    #[test]
    fn the_battery_string_is_read_cell_by_cell() {
        let t = ups_battery_monthly();
        let cells = t.items.iter().find(|i| i.key == "BAT-01").unwrap();
        assert_eq!(cells.count, Some(68));
        assert_eq!(cells.max_spread, Some(0.4));
    }
}
