//! The editable text blocks of the documents: paragraphs whose wording the contractor or
//! the purchaser wants in their own words (the overview, the summary, the advice). Each
//! block is a minijinja template over the figures the document computes; the built-in
//! text is the default, and an admin or the project manager may replace it
//! (`PATCH /report-texts/{key}`), stored as the setting `report_text.<key>`.
//!
//! A block is checked before it is stored: it must compile, use only the variables its
//! document offers (strict undefined), and render on sample figures within a fuel budget
//! and an output cap, so that a stored text can neither fail nor hang a report.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::input::Labels;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};

/// Longest template an admin may store, in characters.
pub const MAX_SOURCE_CHARS: usize = 4_000;
/// Longest text a block may render to, in characters.
pub const MAX_OUTPUT_CHARS: usize = 20_000;
/// Instructions a block may spend rendering (minijinja's fuel).
const FUEL: u64 = 100_000;

/// One editable block.
pub struct Block {
    /// `document.block`, e.g. `inspection.overview`.
    pub key: &'static str,
    /// Which documents use it.
    pub documents: &'static str,
    pub label: &'static str,
    pub default: &'static str,
    /// The variables it may use, with what they mean.
    pub variables: &'static [(&'static str, &'static str)],
}

/// The variables of the inspection reports' blocks.
const INSPECTION_VARS: &[(&str, &str)] = &[
    ("period", "报告期间，如“2025 年 11 月”"),
    ("scope", "巡检范围，如“机房基础环境及硬件设备”"),
    ("targets", "巡检对象数"),
    ("people", "巡检人员（以顿号分隔）"),
    ("planned", "计划巡检任务数"),
    ("completed", "已完成任务数"),
    ("completed_on_time", "按时完成任务数"),
    ("completion_rate", "完成率，如“96.7%”，无任务时为“—”"),
    ("on_time_rate", "按时率"),
    ("findings", "发现问题数"),
    ("rectified", "已整改问题数"),
    ("unrectified", "未整改问题数"),
    ("rectification_rate", "整改率"),
    ("all_completed", "是否全部按计划完成（true/false）"),
    ("prev_planned", "上期计划任务数"),
    ("prev_completion_rate", "上期完成率"),
    ("prev_findings", "上期发现问题数"),
    ("photos", "留存的现场照片张数"),
];

/// The variables of the service lines' monthly report (运营月报), from `ops::indicators`,
/// the figures `GET /service-lines/{id}/stats` answers.
const LINE_VARS: &[(&str, &str)] = &[
    ("period", "报告期间，如“2025 年 11 月”"),
    ("line", "服务条线名称"),
    ("code", "服务条线编号，如“4.2.7”"),
    ("total", "运营记录总数"),
    (
        "types",
        "各类记录数，如“技术支持 3 项、数据对账 1 项”，无记录时为“无”",
    ),
    (
        "channels",
        "技术支持各渠道次数，如“电话 2 次、邮件 1 次”，无时为“无”",
    ),
    ("support", "技术支持次数"),
    ("resolved", "已解决次数"),
    ("unresolved", "未解决次数"),
    ("resolution_rate", "解决率，如“96.7%”，无技术支持时为“—”"),
    ("timed", "记录了耗时的技术支持次数"),
    ("handled_in_time", "约定时限内处理的次数"),
    ("in_time_rate", "按时处理率"),
    ("handle_minutes", "约定处理时限（分钟）"),
    ("average_minutes", "平均处理时长，如“25 分钟”，无时为“—”"),
    ("rated", "有评价的记录数"),
    ("satisfied", "评价为非常满意或满意的记录数"),
    ("satisfaction", "满意度，如“95%”，无评价时为“—”"),
    ("top_question", "最常见的问题，无时为“无”"),
    ("requirements_new", "本期本条线登记的需求与改进建议数"),
    ("requirements_delivered", "本期交付或验收的需求数"),
];

/// The variables of the 运维月报's blocks, from `report::om::text_vars`.
const OM_VARS: &[(&str, &str)] = &[
    ("period", "报告期间，如“2025 年 11 月”"),
    ("tickets", "本月工单总数"),
    ("incidents", "本月故障数"),
    ("resolved", "本月已解决工单数"),
    ("open", "本月工单中尚未解决的数量"),
    ("open_p1", "尚未解决的 P1 故障数"),
    ("changes", "本月变更工单数"),
    (
        "availability",
        "有监控的系统平均可用率，如“99.95%”，无监控数据时为“—”",
    ),
    ("systems_measured", "有可用率数据的系统数"),
    ("systems_total", "系统总数"),
    ("mtta", "平均响应时长，如“12 分钟”"),
    ("mttr", "平均修复时长"),
    ("sla_compliance", "SLA 达标率"),
    ("onsite_rate", "到场及时率"),
    ("satisfaction", "满意度（满意及以上占比）"),
    ("inspection_planned", "计划巡检任务数"),
    ("inspection_completed", "已完成巡检任务数"),
    ("inspection_rate", "巡检完成率"),
    ("findings", "巡检发现问题数"),
    ("rectified", "已整改问题数"),
    ("unrectified", "未整改问题数"),
    ("rectification_rate", "问题整改率"),
    ("prev_incidents", "上月故障数"),
];

/// The variables of the 年终总结报告's blocks, from `report::annual::text_vars`.
const ANNUAL_VARS: &[(&str, &str)] = &[
    ("period", "报告期间，如“2025 年”"),
    ("scope", "范围：“基础设施运维”或“应用系统运维”"),
    ("tickets", "本期工单总数"),
    ("incidents", "本期故障数"),
    ("resolved", "已解决工单数"),
    ("open", "尚未解决的工单数"),
    ("changes", "变更工单数"),
    (
        "availability",
        "有监控的系统平均可用率（应用系统范围），如“99.95%”，无数据时为“—”",
    ),
    ("mtta", "平均响应时长"),
    ("mttr", "平均修复时长"),
    ("sla_compliance", "SLA 达标率"),
    ("onsite_rate", "到场及时率"),
    ("satisfaction", "满意度（满意及以上占比）"),
    ("inspection_planned", "计划巡检任务数"),
    ("inspection_completed", "已完成巡检任务数"),
    ("inspection_rate", "巡检完成率"),
    ("findings", "巡检发现问题数"),
    ("rectified", "已整改问题数"),
    ("unrectified", "未整改问题数"),
    ("rectification_rate", "问题整改率"),
    ("prev_incidents", "上期故障数"),
];

/// The variables of the 服务质量评价报告's conclusion, from `report::quality::text_vars`.
const QUALITY_VARS: &[(&str, &str)] = &[
    ("period", "报告期间"),
    ("targets", "质量目标个数"),
    ("met", "达标的目标个数"),
    ("unmet", "未达标的目标个数"),
    ("no_data", "本期无数据的目标个数"),
    (
        "unmet_names",
        "未达标的目标（以顿号分隔），全部达标时为“无”",
    ),
    ("findings", "巡检发现的整改事项数"),
    ("rectified", "已整改事项数"),
    ("open_findings", "整改中的事项数"),
];

/// The variables of the 备份监督月报's blocks, from `report::backup::text_vars`, the
/// figures `GET /backups/coverage` answers for the month.
const BACKUP_VARS: &[(&str, &str)] = &[
    ("period", "报告期间，如“2025 年 11 月”"),
    ("policies", "备份策略数"),
    ("systems", "涉及的系统数"),
    ("expected", "本月计划备份次数"),
    ("due", "已到期的计划备份次数"),
    ("succeeded", "成功的备份次数"),
    ("failed", "失败的备份次数"),
    ("missed", "漏备次数（计划时间加宽限期内无成功备份）"),
    ("success_rate", "备份成功率，如“96.7%”，无到期计划时为“—”"),
    ("volume", "本月成功备份的数据量，如“1.5 TB”"),
    (
        "flagged",
        "有标记（大小异常、明显缩小、缺少校验值）的成功备份次数",
    ),
    ("problem_policies", "有失败或漏备的备份策略数"),
];

pub const BLOCKS: &[Block] = &[
    Block {
        key: "inspection.overview",
        documents: "月度巡检报告、周期巡检报告：“巡检概况”第一段",
        label: "巡检概况",
        default: "巡检期间：{{ period }}。巡检范围：{{ scope }}，共 {{ targets }} 个对象。巡检方式：现场与远程检查，平台记录读数并自动判定。巡检人员：{{ people }}。巡检依据：《基础设施维护规范》《软件系统维护规范》及合同约定。",
        variables: INSPECTION_VARS,
    },
    Block {
        key: "inspection.summary",
        documents: "月度巡检报告、周期巡检报告：“巡检概况”第二段",
        label: "巡检结论",
        default: "本期计划巡检任务 {{ planned }} 个，已完成 {{ completed }} 个，其中按时完成 {{ completed_on_time }} 个，完成率 {{ completion_rate }}，按时率 {{ on_time_rate }}；发现问题 {{ findings }} 项，已整改 {{ rectified }} 项，整改率 {{ rectification_rate }}；留存现场照片 {{ photos }} 张。",
        variables: INSPECTION_VARS,
    },
    Block {
        key: "inspection.advice",
        documents: "月度巡检报告、周期巡检报告：“风险提示与建议”",
        label: "风险提示与建议",
        default: "{% if unrectified > 0 %}尚有 {{ unrectified }} 项问题未整改，请相关责任人按工单尽快处理。{% elif not all_completed %}部分巡检任务未按计划完成，建议核查人员安排与任务时限。{% else %}本期巡检按计划完成，发现问题均已整改。{% endif %}",
        variables: INSPECTION_VARS,
    },
    Block {
        key: "line.overview",
        documents: "运营月报：“本月运营概述”",
        label: "本月运营概述",
        default: "{{ period }}，{{ line }}（{{ code }}）共记录运营服务 {{ total }} 项（{{ types }}）。其中技术支持 {{ support }} 次，已解决 {{ resolved }} 次，解决率 {{ resolution_rate }}；平均处理时长 {{ average_minutes }}，{{ handle_minutes }} 分钟内处理率 {{ in_time_rate }}；用户满意度 {{ satisfaction }}。",
        variables: LINE_VARS,
    },
    Block {
        key: "line.requirements",
        documents: "运营月报：“需求收集与处理”",
        label: "需求收集与处理",
        default: "本期本条线登记需求与功能改进建议 {{ requirements_new }} 项，交付或验收 {{ requirements_delivered }} 项；明细见《系统业务需求和功能改进清单》。",
        variables: LINE_VARS,
    },
    Block {
        key: "line.problems",
        documents: "运营月报：“问题与建议”",
        label: "问题与建议",
        default: "{% if unresolved > 0 %}本月尚有 {{ unresolved }} 次技术支持未解决，已安排专人跟进。{% else %}本月技术支持请求均已按时响应处理。{% endif %}{% if top_question != \"无\" %}用户咨询较集中的问题为“{{ top_question }}”，建议完善操作指引并加强培训。{% endif %}",
        variables: LINE_VARS,
    },
    Block {
        key: "line.next_month",
        documents: "运营月报：“下月计划”",
        label: "下月计划",
        default: "下月将继续做好{{ line }}的用户支持与日常运营服务，跟进未解决的问题，按时提交运营服务工作报告。",
        variables: LINE_VARS,
    },
    Block {
        key: "om.overview",
        documents: "运维月报：“本月运维情况综述”",
        label: "本月运维情况综述",
        default: "{{ period }}，各系统总体运行平稳，纳入监控的 {{ systems_measured }} 个系统（共 {{ systems_total }} 个）平均可用率 {{ availability }}。本月受理工单 {{ tickets }} 个，其中故障 {{ incidents }} 个（上月 {{ prev_incidents }} 个），已解决 {{ resolved }} 个；平均响应时长 {{ mtta }}，平均修复时长 {{ mttr }}，SLA 达标率 {{ sla_compliance }}，到场及时率 {{ onsite_rate }}，满意度 {{ satisfaction }}。完成巡检任务 {{ inspection_completed }} 个（计划 {{ inspection_planned }} 个，完成率 {{ inspection_rate }}），发现问题 {{ findings }} 项，整改 {{ rectified }} 项。",
        variables: OM_VARS,
    },
    Block {
        key: "om.problems",
        documents: "运维月报：“存在问题及改进建议”",
        label: "存在问题及改进建议",
        default: "{% if open_p1 > 0 %}尚有 {{ open_p1 }} 个 P1 故障未解决，已组织专人处置。{% endif %}{% if unrectified > 0 %}巡检发现的问题尚有 {{ unrectified }} 项未整改，将按工单跟踪闭环。{% endif %}{% if open_p1 == 0 and unrectified == 0 %}本月未发现需要甲方协调的遗留问题。{% endif %}",
        variables: OM_VARS,
    },
    Block {
        key: "om.next_month",
        documents: "运维月报：“下月工作计划”",
        label: "下月工作计划",
        default: "下月将按巡检计划完成机房与应用系统巡检，跟进未解决的工单与未整改问题，做好节假日与重要时期值守，按时提交运维月报及相关文档。",
        variables: OM_VARS,
    },
    Block {
        key: "backup.summary",
        documents: "备份监督月报：“本月备份情况综述”",
        label: "本月备份情况综述",
        default: "{{ period }}，纳入备份监督的备份策略 {{ policies }} 个，涉及系统 {{ systems }} 个。按各策略的备份计划，本月应执行备份 {{ expected }} 次，其中已到期 {{ due }} 次；成功 {{ succeeded }} 次，失败 {{ failed }} 次，漏备 {{ missed }} 次，备份成功率 {{ success_rate }}；成功备份数据量合计 {{ volume }}。",
        variables: BACKUP_VARS,
    },
    Block {
        key: "backup.advice",
        documents: "备份监督月报：“问题与建议”",
        label: "问题与建议",
        default: "{% if problem_policies > 0 %}本月有 {{ problem_policies }} 个备份策略存在失败或漏备，已逐项核查原因并补做备份，请相关责任人持续关注。{% endif %}{% if flagged > 0 %}有 {{ flagged }} 次成功备份的大小或校验值异常，建议核对备份内容的完整性。{% endif %}{% if problem_policies == 0 and flagged == 0 %}本月各备份策略均按计划完成，未发现异常。{% endif %}建议按策略要求定期开展恢复演练，验证备份的可用性。",
        variables: BACKUP_VARS,
    },
    Block {
        key: "annual.overview",
        documents: "年终总结报告：“年度工作概述”",
        label: "年度工作概述",
        default: "{{ period }}，{{ scope }}共受理工单 {{ tickets }} 个，其中故障 {{ incidents }} 个（上期 {{ prev_incidents }} 个），已解决 {{ resolved }} 个；平均响应时长 {{ mtta }}，平均修复时长 {{ mttr }}，SLA 达标率 {{ sla_compliance }}，到场及时率 {{ onsite_rate }}，满意度 {{ satisfaction }}。完成巡检任务 {{ inspection_completed }} 个（计划 {{ inspection_planned }} 个，完成率 {{ inspection_rate }}），发现问题 {{ findings }} 项，整改 {{ rectified }} 项，整改率 {{ rectification_rate }}；实施变更 {{ changes }} 项。",
        variables: ANNUAL_VARS,
    },
    Block {
        key: "annual.lessons",
        documents: "年终总结报告：“经验与不足”",
        label: "经验与不足",
        default: "本期坚持日常巡检与监控预警相结合，故障处置按 SLA 闭环管理。{% if unrectified > 0 %}仍有 {{ unrectified }} 项巡检问题未整改，需在下一年度持续跟踪。{% endif %}{% if open > 0 %}尚有 {{ open }} 个工单未解决，已逐项明确责任人和完成时限。{% endif %}",
        variables: ANNUAL_VARS,
    },
    Block {
        key: "annual.next_year",
        documents: "年终总结报告：“下一年度工作计划”",
        label: "下一年度工作计划",
        default: "下一年度将继续按合同做好{{ scope }}，完善监控覆盖与巡检计划，压降故障数量和修复时长，按时提交各类运维文档，配合做好项目验收。",
        variables: ANNUAL_VARS,
    },
    Block {
        key: "quality.conclusion",
        documents: "服务质量评价报告：“质量评价结论”",
        label: "质量评价结论",
        default: "{{ period }}共考核质量目标 {{ targets }} 项，达标 {{ met }} 项{% if unmet > 0 %}，未达标 {{ unmet }} 项（{{ unmet_names }}），运维单位须分析原因并制定整改措施{% endif %}{% if no_data > 0 %}，{{ no_data }} 项本期无数据{% endif %}。巡检发现整改事项 {{ findings }} 项，已整改 {{ rectified }} 项{% if open_findings > 0 %}，{{ open_findings }} 项整改中，将跟踪至闭环{% endif %}。",
        variables: QUALITY_VARS,
    },
    Block {
        key: "summary.overview",
        documents: "服务条线工作总结：“工作总结”",
        label: "工作总结",
        default: "{{ period }}，{{ line }}（{{ code }}）共记录运营服务 {{ total }} 项（{{ types }}）。提供技术支持 {{ support }} 次（{{ channels }}），已解决 {{ resolved }} 次，解决率 {{ resolution_rate }}；平均处理时长 {{ average_minutes }}，{{ handle_minutes }} 分钟内处理率 {{ in_time_rate }}；收到评价 {{ rated }} 条，用户满意度 {{ satisfaction }}。登记需求与功能改进建议 {{ requirements_new }} 项，交付或验收 {{ requirements_delivered }} 项。",
        variables: LINE_VARS,
    },
    Block {
        key: "summary.outlook",
        documents: "服务条线工作总结：“存在问题与下一步工作”",
        label: "存在问题与下一步工作",
        default: "{% if unresolved > 0 %}期内尚有 {{ unresolved }} 次技术支持未解决，将安排专人跟进直至关闭。{% endif %}{% if top_question != \"无\" %}用户咨询较集中的问题为“{{ top_question }}”，下一步将完善操作指引、加强培训。{% endif %}下一阶段将继续做好{{ line }}的用户支持与日常运营服务，按时提交运营服务工作报告。",
        variables: LINE_VARS,
    },
];

pub fn block(key: &str) -> Option<&'static Block> {
    BLOCKS.iter().find(|b| b.key == key)
}

fn setting_key(key: &str) -> String {
    format!("report_text.{key}")
}

/// Figures of the right shape for checking a block before it is stored.
fn sample(b: &Block) -> Value {
    let mut m = serde_json::Map::new();
    for (name, _) in b.variables {
        let v = match *name {
            "period" => json!("2025 年 11 月"),
            "scope" if b.key.starts_with("annual.") => json!("应用系统运维"),
            "unmet_names" => json!("SLA 达标率"),
            "scope" => json!("机房基础环境及硬件设备"),
            "people" => json!("张三、李四"),
            "line" => json!("政务服务事项管理系统运营服务"),
            "code" => json!("4.2.7"),
            "types" => json!("技术支持 3 项、数据对账 1 项"),
            "channels" => json!("电话 2 次、邮件 1 次"),
            "top_question" => json!("办件无法提交"),
            "volume" => json!("1.5 TB"),
            "average_minutes" | "satisfaction" | "mtta" | "mttr" | "availability"
            | "sla_compliance" | "onsite_rate" => json!("25 分钟"),
            "all_completed" => json!(false),
            n if n.ends_with("_rate") => json!("96.7%"),
            _ => json!(3),
        };
        m.insert((*name).to_string(), v);
    }
    Value::Object(m)
}

/// Renders a block's template over `vars`: strict about undefined names, within the fuel
/// budget and the output cap. The error is a Chinese sentence saying what to fix.
pub fn render(source: &str, vars: &Value) -> Result<String, String> {
    if multiplies(source) {
        return Err("模板中不能使用乘法（*）：报告文字只需引用变量、判断与过滤器".into());
    }
    // No globals (no `range`) and a handful of filters that cannot amplify their input:
    // the output grows at most linearly with the template.
    let mut env = Environment::empty();
    env.add_filter("upper", minijinja::filters::upper);
    env.add_filter("lower", minijinja::filters::lower);
    env.add_filter("trim", minijinja::filters::trim);
    env.add_filter("default", minijinja::filters::default);
    env.add_filter("round", minijinja::filters::round);
    env.add_filter("abs", minijinja::filters::abs);
    env.add_filter("int", minijinja::filters::int);
    env.add_filter("float", minijinja::filters::float);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let out = env
        .render_str(
            source,
            minijinja::Value::from(minijinja::value::Serde(vars)),
        )
        .map_err(|e| match e.kind() {
            minijinja::ErrorKind::UndefinedError => {
                format!("模板使用了未定义的变量（{e}），请只使用列出的变量")
            }
            minijinja::ErrorKind::OutOfFuel => "模板计算量过大，请简化循环".to_string(),
            minijinja::ErrorKind::SyntaxError => format!("模板语法错误：{e}"),
            _ => format!("模板无法生成文字：{e}"),
        })?;
    if out.chars().count() > MAX_OUTPUT_CHARS {
        return Err(format!("模板生成的文字超过 {MAX_OUTPUT_CHARS} 字，请缩短"));
    }
    Ok(out)
}

/// Whether an expression or statement of the template multiplies (strings repeat under
/// `*`, which would let a short template render megabytes).
fn multiplies(source: &str) -> bool {
    let mut rest = source;
    while let Some(i) = rest.find(['{']) {
        let after = &rest[i + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        if body[..end].contains('*') {
            return true;
        }
        rest = &body[end..];
    }
    false
}

/// Checks a template for `b` on sample figures.
pub fn check(b: &Block, source: &str) -> Result<(), String> {
    if source.chars().count() > MAX_SOURCE_CHARS {
        return Err(format!("模板不能超过 {MAX_SOURCE_CHARS} 字"));
    }
    if source.trim().is_empty() {
        return Err("模板不能为空；要恢复默认文字，请将 text 设为 null".into());
    }
    render(source, &sample(b)).map(|_| ())
}

/// The templates in force for the blocks whose keys start with `prefix`: the stored text,
/// or the default.
pub async fn load(ctx: &Ctx, prefix: &str) -> AppResult<Texts> {
    let mut out = BTreeMap::new();
    for b in BLOCKS.iter().filter(|b| b.key.starts_with(prefix)) {
        let stored = ctx.store.get_setting(&setting_key(b.key)).await?;
        out.insert(b.key, stored.unwrap_or_else(|| b.default.to_string()));
    }
    Ok(Texts(out))
}

/// The templates a document renders its blocks from.
#[derive(Clone, Debug, Default)]
pub struct Texts(BTreeMap<&'static str, String>);

impl Texts {
    /// The built-in texts only.
    pub fn defaults() -> Self {
        Texts(
            BLOCKS
                .iter()
                .map(|b| (b.key, b.default.to_string()))
                .collect(),
        )
    }

    /// Renders block `key` over `vars`. A stored text that no longer renders (checked when
    /// stored, so only after an upgrade changed the variables) falls back to the default,
    /// with a warning in the log.
    pub fn render(&self, key: &str, vars: &Value) -> String {
        let Some(b) = block(key) else {
            return String::new();
        };
        let source = self.0.get(key).map_or(b.default, String::as_str);
        match render(source, vars) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(block = key, error = %e, "report text block falls back to its default");
                render(b.default, vars).unwrap_or_default()
            }
        }
    }
}

fn check_read(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

fn check_write(u: &AuthUser) -> AppResult<()> {
    if matches!(u.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// A block as the API shows it.
#[derive(Debug, Serialize)]
pub struct BlockView {
    pub key: &'static str,
    pub label: &'static str,
    pub documents: &'static str,
    pub text: String,
    pub default: &'static str,
    pub customized: bool,
    pub variables: Vec<Value>,
    pub updated_at: Option<String>,
}

async fn view(ctx: &Ctx, b: &'static Block) -> AppResult<BlockView> {
    let stored = ctx.store.setting_row(&setting_key(b.key)).await?;
    Ok(BlockView {
        key: b.key,
        label: b.label,
        documents: b.documents,
        customized: stored.is_some(),
        text: stored
            .as_ref()
            .map_or_else(|| b.default.to_string(), |s| s.0.clone()),
        default: b.default,
        variables: b
            .variables
            .iter()
            .map(|(n, d)| json!({"name": n, "description": d}))
            .collect(),
        updated_at: stored.map(|s| crate::clock::rfc3339(s.1)),
    })
}

/// `GET /report-texts`.
pub async fn list(ctx: &Ctx, u: &AuthUser) -> AppResult<Vec<BlockView>> {
    check_read(u)?;
    let mut out = Vec::new();
    for b in BLOCKS {
        out.push(view(ctx, b).await?);
    }
    Ok(out)
}

/// `GET /report-texts/{key}`.
pub async fn get(ctx: &Ctx, u: &AuthUser, key: &str) -> AppResult<BlockView> {
    check_read(u)?;
    view(ctx, block(key).ok_or(AppError::NotFound)?).await
}

/// `PATCH /report-texts/{key}`: `text` a template, or null for the default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextUpdate {
    #[serde(default, deserialize_with = "crate::domain::input::de::patch")]
    #[schema(value_type = Option<String>)]
    pub text: Option<Option<String>>,
}

impl Labels for TextUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = &[("text", "模板文字")];
}

pub async fn update(ctx: &Ctx, u: &AuthUser, key: &str, input: TextUpdate) -> AppResult<BlockView> {
    check_write(u)?;
    let b = block(key).ok_or(AppError::NotFound)?;
    let Some(text) = input.text else {
        return Err(AppError::invalid(
            "text",
            "请提供 text：模板文字，或 null 恢复默认",
        ));
    };
    if let Some(t) = &text {
        check(b, t).map_err(|m| AppError::invalid("text", m))?;
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let before = ctx.store.setting_in(&mut tx, &setting_key(b.key)).await?;
    match &text {
        Some(t) => {
            ctx.store
                .put_setting_in(&mut tx, &setting_key(b.key), t, now)
                .await?
        }
        None => {
            ctx.store
                .delete_setting_in(&mut tx, &setting_key(b.key))
                .await?
        }
    }
    let summary = match &text {
        Some(_) => format!("修改报告文字“{}”（{}）", b.label, b.key),
        None => format!("报告文字“{}”（{}）恢复默认", b.label, b.key),
    };
    let ev = crate::store::audit::NewAuditEvent {
        action: "update".into(),
        entity_type: "report_texts".into(),
        entity_id: Some(b.key.to_string()),
        summary,
        before: Some(json!({"text": before})),
        after: Some(json!({"text": text})),
    };
    crate::store::audit::append(&mut tx, now, &u.actor(), ev).await?;
    tx.commit().await?;
    view(ctx, b).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_default_renders_on_its_sample() {
        for b in BLOCKS {
            check(b, b.default).unwrap_or_else(|e| panic!("{}: {e}", b.key));
        }
    }

    #[test]
    fn the_advice_follows_the_figures() {
        let b = block("inspection.advice").unwrap();
        let mut v = sample(b);
        v["unrectified"] = json!(2);
        assert_eq!(
            render(b.default, &v).unwrap(),
            "尚有 2 项问题未整改，请相关责任人按工单尽快处理。"
        );
        v["unrectified"] = json!(0);
        v["all_completed"] = json!(true);
        assert_eq!(
            render(b.default, &v).unwrap(),
            "本期巡检按计划完成，发现问题均已整改。"
        );
    }

    #[test]
    fn bad_templates_say_what_to_fix() {
        let b = block("inspection.summary").unwrap();
        let e = check(b, "完成率 {{ complete_rate }}").unwrap_err();
        assert!(e.contains("未定义的变量"), "{e}");
        let e = check(b, "{% if %}").unwrap_err();
        assert!(e.contains("语法错误"), "{e}");
        // No `range`, no repetition: a short template cannot render megabytes.
        let e = check(b, "{% for i in range(10000) %}x{% endfor %}").unwrap_err();
        assert!(e.contains("未定义") || e.contains("无法生成"), "{e}");
        let e = check(b, "{{ period * 99999999 }}").unwrap_err();
        assert!(e.contains("乘法"), "{e}");
        let e = check(b, "{% set x = people * 99999999 %}{{ x }}").unwrap_err();
        assert!(e.contains("乘法"), "{e}");
        assert!(
            check(b, "合计 5*3 项：{{ planned }}").is_ok(),
            "a * in the text is text"
        );
        assert!(check(b, &"字".repeat(MAX_SOURCE_CHARS + 1)).is_err());
        assert!(check(b, "  ").is_err());
        assert!(check(b, "本期完成 {{ completed }} 个。").is_ok());
    }

    proptest! {
        #[test]
        fn any_source_is_checked_without_panicking(s in "\\PC{0,200}") {
            let b = &BLOCKS[0];
            let _ = check(b, &s);
        }

        #[test]
        fn template_fragments_are_checked_without_panicking(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("{{ planned }}"), Just("{% for i in range(99) %}"), Just("{% endfor %}"),
                    Just("{% if findings %}"), Just("{% endif %}"), Just("{{ x }}"), Just("字"),
                    Just("{"), Just("{{ planned ~ people ~ period }}"),
                    Just("{{ period * 9999 }}"), Just("{{ people|upper }}"), Just("{%"), Just("}}"),
                ],
                0..30,
            )
        ) {
            let src: String = parts.concat();
            let _ = check(&BLOCKS[1], &src);
        }
    }
}
