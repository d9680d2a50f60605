//! Documents the contract asks for, rendered in Chinese on one engine: DOCX (`docx`) and
//! XLSX (`xlsx`) with a cover, page numbers, signature block and real properties. A
//! generated report is stored with its file (`POST /reports`, `yunwei report`), so that what
//! was delivered can be downloaded again as it was.

pub mod annual;
pub mod backup;
pub mod chart;
pub mod cloud;
pub mod docx;
pub mod fault;
pub mod inspection;
mod monthly_job;
pub mod om;
pub mod operations;
pub mod quality;
pub mod requirements;
mod statistics_job;

pub use monthly_job::monthly;
pub mod summary;
pub mod texts;
pub mod xlsx;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::input::Labels;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::inspect::{FindingRow, TaskRow};
use crate::store::reports::{NewReport, ReportRow};

/// The kinds this release generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// 《月度巡检报告》 for `scope` infrastructure or systems.
    InspectionMonthly,
    /// 《周期巡检报告》 of one plan (`plan_id`) over the period.
    InspectionCycle,
    /// 《云资源利用率月度情况报表》 of a month (`period` YYYY-MM).
    CloudUtilization,
    /// 《技术支持服务表》 of one service line (`line_id`): every support record of the period.
    SupportTable,
    /// 《运营月报》 of one service line (`line_id`).
    LineMonthly,
    /// 统计报表 of one service line (`line_id`) over the period (a month or a quarter as
    /// the line's cadence says, or any range).
    LineStatistics,
    /// 服务条线工作总结 of one service line (`line_id`) over a year or any range.
    LineSummary,
    /// 《系统业务需求和功能改进清单》 over the period, optionally of one `line_id` or
    /// `system_id`.
    RequirementsList,
    /// 《运维月报》 of the infrastructure and the systems over the period (usually a month).
    OmMonthly,
    /// 《年终总结报告》 of `scope` infrastructure or systems (default) over a year or a
    /// service period.
    AnnualSummary,
    /// 《服务质量评价报告》: the contract's quality targets against the measured values,
    /// and the rectification items, over the period.
    QualityReport,
    /// 《备份监督月报》 of a month (`period` YYYY-MM): the backup coverage per system and
    /// data set, the failed, missed and flagged runs, and the restore drills.
    BackupMonthly,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::InspectionMonthly => "inspection_monthly",
            ReportKind::InspectionCycle => "inspection_cycle",
            ReportKind::CloudUtilization => "cloud_utilization",
            ReportKind::SupportTable => "support_table",
            ReportKind::LineMonthly => "line_monthly",
            ReportKind::LineStatistics => "line_statistics",
            ReportKind::LineSummary => "line_summary",
            ReportKind::RequirementsList => "requirements_list",
            ReportKind::OmMonthly => "om_monthly",
            ReportKind::AnnualSummary => "annual_summary",
            ReportKind::QualityReport => "quality_report",
            ReportKind::BackupMonthly => "backup_monthly",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Docx,
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The machine room and the devices (sites and assets).
    Infrastructure,
    /// The government systems.
    Systems,
}

/// A period: `"2025-11"`, `"2025-Q3"` (a quarter), `"2025"`, or `{"from": "2025-11-01", "to": "2025-11-30"}` (dates
/// in Beijing time, both days included).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PeriodInput {
    Text(String),
    Range { from: String, to: String },
}

/// `POST /reports`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub kind: ReportKind,
    pub period: PeriodInput,
    pub format: Format,
    /// `inspection_monthly`: infrastructure (default) or systems.
    pub scope: Option<Scope>,
    /// `inspection_cycle`: the plan.
    pub plan_id: Option<i64>,
    /// `requirements_list`: only the requirements of this service line.
    pub line_id: Option<i64>,
    /// `requirements_list`: only the requirements of this system.
    pub system_id: Option<i64>,
}

impl Labels for ReportRequest {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("kind", "报告类型"),
        ("period", "报告期间"),
        ("format", "文件格式"),
        ("scope", "报告范围"),
        ("plan_id", "巡检计划"),
        ("line_id", "服务条线"),
        ("system_id", "系统"),
    ];
}

/// A resolved period: `[from, to)` and how the cover shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub label: String,
    /// The period before, of the same length (the previous month for a month).
    pub previous: (DateTime<Utc>, DateTime<Utc>),
}

fn bj_midnight(d: NaiveDate) -> Option<DateTime<Utc>> {
    crate::clock::beijing()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

const PERIOD_HELP: &str = "报告期间应为“2025-11”（月）、“2025-Q3”（季度）、“2025”（年）或 {\"from\": \"2025-11-01\", \"to\": \"2025-11-30\"}";

/// Resolves a period in Beijing time.
pub fn period(p: &PeriodInput) -> Result<Period, String> {
    let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (from_d, to_d, label, prev_from_d) = match p {
        PeriodInput::Text(s) => {
            let s = s.trim();
            if let Ok(y) = s.parse::<i32>()
                && s.len() == 4
            {
                let from = NaiveDate::from_ymd_opt(y, 1, 1).ok_or(PERIOD_HELP)?;
                let to = NaiveDate::from_ymd_opt(y + 1, 1, 1).ok_or(PERIOD_HELP)?;
                let prev = NaiveDate::from_ymd_opt(y - 1, 1, 1).ok_or(PERIOD_HELP)?;
                (from, to, format!("{y} 年"), prev)
            } else if let Some((y, q)) = s.split_once("-Q")
                && let (Ok(y), Ok(q @ 1..=4)) = (y.parse::<i32>(), q.parse::<u32>())
                && s.len() == 7
            {
                let from = NaiveDate::from_ymd_opt(y, q * 3 - 2, 1).ok_or(PERIOD_HELP)?;
                let to = from
                    .checked_add_months(chrono::Months::new(3))
                    .ok_or(PERIOD_HELP)?;
                let prev = from
                    .checked_sub_months(chrono::Months::new(3))
                    .ok_or(PERIOD_HELP)?;
                let name = ["一", "二", "三", "四"][q as usize - 1];
                (from, to, format!("{y} 年第{name}季度"), prev)
            } else {
                let from = date(&format!("{s}-01"))
                    .filter(|_| s.len() == 7)
                    .ok_or(PERIOD_HELP)?;
                let to = from
                    .checked_add_months(chrono::Months::new(1))
                    .ok_or(PERIOD_HELP)?;
                let prev = from
                    .checked_sub_months(chrono::Months::new(1))
                    .ok_or(PERIOD_HELP)?;
                (
                    from,
                    to,
                    format!("{} 年 {} 月", from.year(), from.month()),
                    prev,
                )
            }
        }
        PeriodInput::Range { from, to } => {
            let f = date(from).ok_or(PERIOD_HELP)?;
            let t = date(to).ok_or(PERIOD_HELP)?;
            if t < f {
                return Err("报告期间的结束日期不能早于开始日期".into());
            }
            if (t - f).num_days() > 366 * 5 {
                return Err("报告期间不能超过 5 年".into());
            }
            let end = t.succ_opt().ok_or(PERIOD_HELP)?;
            let prev = f - (end - f);
            (
                f,
                end,
                format!("{} 至 {}", f.format("%Y-%m-%d"), t.format("%Y-%m-%d")),
                prev,
            )
        }
    };
    if !(2000..=2100).contains(&from_d.year()) {
        return Err("报告期间应在 2000 至 2100 年之间".into());
    }
    let (Some(from), Some(to), Some(prev)) = (
        bj_midnight(from_d),
        bj_midnight(to_d),
        bj_midnight(prev_from_d),
    ) else {
        return Err(PERIOD_HELP.into());
    };
    Ok(Period {
        from,
        to,
        label,
        previous: (prev, from),
    })
}

/// Who may generate and read reports: staff, the supervisor, the auditor — not requesters.
fn check(u: &AuthUser) -> AppResult<()> {
    if u.role == Role::Requester {
        Err(AppError::forbidden())
    } else {
        Ok(())
    }
}

/// The project, purchaser and contractor the covers show (settings `project.name`,
/// `project.purchaser`, `project.contractor`; the demo sets the first two from the seed).
pub async fn project_meta(ctx: &Ctx) -> AppResult<(String, String, String)> {
    let get = |k: &'static str| async move {
        ctx.store
            .get_setting(k)
            .await
            .map(|v| v.filter(|s| !s.trim().is_empty()))
    };
    Ok((
        get("project.name")
            .await?
            .unwrap_or_else(|| "（未设置项目名称）".into()),
        get("project.purchaser")
            .await?
            .unwrap_or_else(|| "（未设置采购单位）".into()),
        get("project.contractor")
            .await?
            .unwrap_or_else(|| "（未设置运维单位）".into()),
    ))
}

pub fn report_json(r: &ReportRow) -> Value {
    json!({
        "id": r.id, "kind": r.kind, "period": r.period_label,
        "from": crate::clock::rfc3339(r.period_from), "to": crate::clock::rfc3339(r.period_to),
        "format": r.format, "params": serde_json::from_str::<Value>(&r.params).unwrap_or(Value::Null),
        "status": r.status, "file_name": r.file_name, "size": r.size,
        "created_by": r.created_by, "created_at": crate::clock::rfc3339(r.created_at),
        "file_url": format!("/api/v1/reports/{}/file", r.id),
    })
}

/// A document made, before it is stored.
pub struct Made {
    pub title: String,
    pub subtitle: String,
    pub bytes: Vec<u8>,
    /// Said after the audit record's summary (why charts are missing, …).
    pub note: String,
}

/// Runs `f`, the blocking work of writing a document (and drawing its charts), off the
/// async runtime.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("report task failed: {e}")))?
        .map_err(AppError::Internal)
}

/// Writes `d` as `format` (with `docx` or `xlsx`) off the async runtime.
async fn write_off_runtime<D: Send + 'static>(
    format: Format,
    d: D,
    docx: fn(&D) -> anyhow::Result<Vec<u8>>,
    xlsx: fn(&D) -> anyhow::Result<Vec<u8>>,
) -> AppResult<Vec<u8>> {
    off_runtime(move || match format {
        Format::Docx => docx(&d),
        Format::Xlsx => xlsx(&d),
    })
    .await
}

/// Writes a document with charts as `format` off the async runtime: reads the chart font
/// (once), makes the data with it and writes it with `docx` or `xlsx`; answers the bytes
/// and the `chart_note`.
async fn write_with_charts<D: Send + 'static>(
    ctx: &Ctx,
    format: Format,
    data: impl FnOnce(Result<std::sync::Arc<chart::Font>, String>) -> D + Send + 'static,
    docx: fn(&D) -> anyhow::Result<Vec<u8>>,
    xlsx: fn(&D) -> anyhow::Result<Vec<u8>>,
) -> AppResult<(Vec<u8>, String)> {
    let report_font = ctx.config.report_font.clone();
    off_runtime(move || {
        let font = chart::font(report_font.as_deref());
        let note = chart_note(&font, format);
        let d = data(font);
        let bytes = match format {
            Format::Docx => docx(&d),
            Format::Xlsx => xlsx(&d),
        }?;
        Ok((bytes, note))
    })
    .await
}

/// What the audit record's summary says of a DOCX whose charts could not be drawn for
/// want of `font`; nothing otherwise (an XLSX's charts are drawn by the spreadsheet).
fn chart_note(font: &Result<std::sync::Arc<chart::Font>, String>, format: Format) -> String {
    match (font, format) {
        (Err(why), Format::Docx) => format!("；未生成统计图：{why}"),
        _ => String::new(),
    }
}

/// Generates a report and stores it with its file.
pub async fn generate(ctx: &Ctx, u: &AuthUser, req: &ReportRequest) -> AppResult<ReportRow> {
    check(u)?;
    let p = period(&req.period).map_err(|m| AppError::invalid("period", m))?;
    unused_params(req)?;
    let now = ctx.clock.now();
    let (project, purchaser, contractor) = project_meta(ctx).await?;
    // The cover and properties of a document of this request.
    let meta_of = |title: String, subtitle: Option<String>| docx::DocMeta {
        title,
        subtitle,
        project: project.clone(),
        purchaser: purchaser.clone(),
        contractor: contractor.clone(),
        period: p.label.clone(),
        date: now.with_timezone(&crate::clock::beijing()).date_naive(),
        version: "V1.0".into(),
        created: now,
    };
    let (title, subtitle, scope_label, types, plan_id): (
        String,
        String,
        String,
        Vec<&str>,
        Option<i64>,
    ) = match req.kind {
        ReportKind::RequirementsList => return requirements_list(ctx, u, req, &p).await,
        ReportKind::InspectionMonthly => match req.scope.unwrap_or(Scope::Infrastructure) {
            Scope::Infrastructure => (
                "月度巡检报告".into(),
                "基础设施".into(),
                "机房基础环境及硬件设备".into(),
                vec!["site", "asset"],
                None,
            ),
            Scope::Systems => (
                "月度巡检报告".into(),
                "应用系统".into(),
                "政务信息系统".into(),
                vec!["system"],
                None,
            ),
        },
        ReportKind::InspectionCycle => {
            let Some(pid) = req.plan_id else {
                return Err(AppError::invalid("plan_id", "周期巡检报告请选择巡检计划"));
            };
            let plan = match ctx.store.inspection_plan(pid).await {
                Ok(p) => p,
                Err(crate::store::StoreError::NotFound) => {
                    return Err(AppError::invalid(
                        "plan_id",
                        format!("巡检计划编号 {pid} 不存在"),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            (
                "周期巡检报告".into(),
                plan.name.clone(),
                format!("巡检计划“{}”", plan.name),
                vec!["site", "asset", "system"],
                Some(pid),
            )
        }
        ReportKind::CloudUtilization => return cloud_report(ctx, u, req, &p).await,
        ReportKind::OmMonthly => {
            let meta = meta_of(om::TITLE.into(), Some("基础设施及应用系统".into()));
            let m = om::document(ctx, u, req.format, &p, meta).await?;
            return save(ctx, u, req, &p, (&m.title, &m.subtitle), &m.bytes, &m.note).await;
        }
        ReportKind::QualityReport => {
            let meta = meta_of(quality::TITLE.into(), None);
            let m = quality::document(ctx, u, req.format, &p, meta).await?;
            return save(ctx, u, req, &p, (&m.title, &m.subtitle), &m.bytes, &m.note).await;
        }
        ReportKind::BackupMonthly => {
            let month = backup::month_of(&req.period)?;
            let meta = meta_of(backup::TITLE.into(), Some("数据备份".into()));
            let m = backup::document(ctx, u, req.format, &month, &p, meta).await?;
            return save(ctx, u, req, &p, (&m.title, &m.subtitle), &m.bytes, &m.note).await;
        }
        ReportKind::AnnualSummary => {
            let meta = meta_of(annual::TITLE.into(), None);
            let m = annual::document(ctx, u, req.format, req.scope, &p, meta).await?;
            return save(ctx, u, req, &p, (&m.title, &m.subtitle), &m.bytes, &m.note).await;
        }
        ReportKind::SupportTable
        | ReportKind::LineMonthly
        | ReportKind::LineStatistics
        | ReportKind::LineSummary => {
            let meta = meta_of(String::new(), None);
            let m = if req.kind == ReportKind::LineSummary {
                summary::document(ctx, u, req, &p, meta).await?
            } else {
                operations::document(ctx, u, req, &p, meta).await?
            };
            return save(ctx, u, req, &p, (&m.title, &m.subtitle), &m.bytes, &m.note).await;
        }
    };
    let (tasks, findings) = inspections_between(ctx, (p.from, p.to), &types, plan_id).await?;
    let (prev_tasks, prev_findings) = inspections_between(ctx, p.previous, &types, plan_id).await?;
    let previous =
        crate::domain::inspection::stats::stats(&inspection::facts(&prev_tasks, &prev_findings));
    let texts = texts::load(ctx, "inspection.").await?;
    let system_names: std::collections::BTreeMap<i64, String> = prev_tasks
        .iter()
        .chain(tasks.iter())
        .filter(|t| t.target_type == "system")
        .filter_map(|t| Some((t.system_id?, t.target_name.clone())))
        .collect();
    let meta = meta_of(title.clone(), Some(subtitle.clone()));
    let report_font = ctx.config.report_font.clone();
    let format = req.format;
    let (from, to) = (p.from, p.to);
    // Reading the font (once) and drawing the charts are blocking work: off the runtime.
    let (bytes, chart_note) = off_runtime(move || {
        // The DOCX's charts are drawn here (the XLSX's by the spreadsheet); a missing font
        // is said in the document, the log and the audit record, never drawn as boxes.
        let font = chart::font(report_font.as_deref());
        let note = chart_note(&font, format);
        if let (Err(why), Format::Docx) = (&font, format) {
            tracing::warn!(reason = %why, "report charts left out: no usable CJK font");
        }
        let data = inspection::InspectionData {
            meta,
            scope_label,
            tasks,
            findings,
            previous,
            from,
            to,
            system_names,
            font,
            texts,
        };
        let bytes = match format {
            Format::Docx => inspection::docx(&data),
            Format::Xlsx => inspection::xlsx(&data),
        }?;
        anyhow::Ok((bytes, note))
    })
    .await?;
    save(ctx, u, req, &p, (&title, &subtitle), &bytes, &chart_note).await
}

/// The inspection tasks of `types` (of plan `plan_id`, if one) between `from` and `to`, and
/// the findings of those tasks raised in that time.
async fn inspections_between(
    ctx: &Ctx,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    types: &[&str],
    plan_id: Option<i64>,
) -> AppResult<(Vec<TaskRow>, Vec<FindingRow>)> {
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let tasks = ctx
        .store
        .inspection_tasks_for_report(from_ms, to_ms, types, plan_id)
        .await?;
    let ids: std::collections::HashSet<i64> = tasks.iter().map(|t| t.id).collect();
    let findings = ctx
        .store
        .inspection_findings_between(from_ms, to_ms)
        .await?
        .into_iter()
        .filter(|f| ids.contains(&f.task_id))
        .collect();
    Ok((tasks, findings))
}

/// Stores a generated document with its audit record and answers it.
async fn save(
    ctx: &Ctx,
    u: &AuthUser,
    req: &ReportRequest,
    p: &Period,
    (title, subtitle): (&str, &str),
    bytes: &[u8],
    note: &str,
) -> AppResult<ReportRow> {
    let file_name = format!(
        "{title}-{subtitle}-{}.{}",
        p.label.replace(' ', ""),
        req.format.as_str()
    );
    let params = params_of(req);
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let id = ctx
        .store
        .insert_report(
            &mut tx,
            &NewReport {
                kind: req.kind.as_str(),
                period_label: &p.label,
                period_from: p.from.timestamp_millis(),
                period_to: p.to.timestamp_millis(),
                format: req.format.as_str(),
                params: &params.to_string(),
                file_name: &file_name,
                content: bytes,
                created_by: &u.username,
            },
            now_ms,
        )
        .await?;
    crate::store::audit::NewAuditEvent::of(
        "create",
        "reports",
        id,
        format!(
            "生成报告《{title}》（{subtitle}，{}，{}）{note}",
            p.label,
            req.format.as_str()
        ),
    )
    .after(params)
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(ctx.store.report(id).await?)
}

/// The cover and properties of a document titled `title` (under `subtitle`, if any) over
/// `period`, made now for the project's parties.
pub async fn cover(
    ctx: &Ctx,
    title: &str,
    subtitle: Option<String>,
    period: String,
) -> AppResult<docx::DocMeta> {
    let (project, purchaser, contractor) = project_meta(ctx).await?;
    let now = ctx.clock.now();
    Ok(docx::DocMeta {
        title: title.into(),
        subtitle,
        project,
        purchaser,
        contractor,
        period,
        date: now.with_timezone(&crate::clock::beijing()).date_naive(),
        version: "V1.0".into(),
        created: now,
    })
}

/// 《云资源利用率月度情况报表》 of one month.
async fn cloud_report(
    ctx: &Ctx,
    u: &AuthUser,
    req: &ReportRequest,
    p: &Period,
) -> AppResult<ReportRow> {
    let month = match &req.period {
        PeriodInput::Text(t) if t.trim().len() == 7 => t.trim().to_string(),
        _ => {
            return Err(AppError::invalid(
                "period",
                "云资源利用率报表按月生成，报告期间应为“2025-11”这样的月份",
            ));
        }
    };
    let data = crate::cloud::summary_data(ctx, &month).await?;
    let meta = cover(
        ctx,
        cloud::TITLE,
        Some("系统业务运营服务".into()),
        p.label.clone(),
    )
    .await?;
    let d = cloud::CloudData {
        meta,
        summary: data.summary,
        names: data.names,
        rows: data.rows,
    };
    let format = req.format;
    let bytes = write_off_runtime(format, d, cloud::docx, cloud::xlsx).await?;
    save(
        ctx,
        u,
        req,
        p,
        (cloud::TITLE, "系统业务运营服务"),
        &bytes,
        "",
    )
    .await
}

fn params_of(req: &ReportRequest) -> Value {
    let scope = req.scope.map(|s| match s {
        Scope::Infrastructure => "infrastructure",
        Scope::Systems => "systems",
    });
    match req.kind {
        ReportKind::RequirementsList => {
            json!({"line_id": req.line_id, "system_id": req.system_id})
        }
        ReportKind::SupportTable
        | ReportKind::LineMonthly
        | ReportKind::LineStatistics
        | ReportKind::LineSummary => {
            json!({"scope": scope, "plan_id": req.plan_id, "line_id": req.line_id})
        }
        _ => json!({"scope": scope, "plan_id": req.plan_id}),
    }
}

/// Refuses the parameters of another kind (a plan for the requirements list, a line for
/// an inspection report), so that nothing asked for is silently ignored.
fn unused_params(req: &ReportRequest) -> AppResult<()> {
    let given: &[(&str, bool)] = &[
        ("scope", req.scope.is_some()),
        ("plan_id", req.plan_id.is_some()),
        ("line_id", req.line_id.is_some()),
        ("system_id", req.system_id.is_some()),
    ];
    let used: &[&str] = match req.kind {
        ReportKind::InspectionMonthly | ReportKind::AnnualSummary => &["scope"],
        ReportKind::InspectionCycle => &["plan_id"],
        ReportKind::RequirementsList => &["line_id", "system_id"],
        ReportKind::CloudUtilization
        | ReportKind::OmMonthly
        | ReportKind::QualityReport
        | ReportKind::BackupMonthly => &[],
        ReportKind::SupportTable
        | ReportKind::LineMonthly
        | ReportKind::LineStatistics
        | ReportKind::LineSummary => &["line_id"],
    };
    let errs: Vec<crate::domain::FieldError> = given
        .iter()
        .filter(|(k, set)| *set && !used.contains(k))
        .map(|(k, _)| {
            crate::domain::FieldError::new(
                *k,
                format!("报告类型 {} 不使用 {k}，请删除该字段", req.kind.as_str()),
            )
        })
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errs))
    }
}

/// 《系统业务需求和功能改进清单》: the requirements open during the period, of the line
/// or system asked for (both must exist), or all.
async fn requirements_list(
    ctx: &Ctx,
    u: &AuthUser,
    req: &ReportRequest,
    p: &Period,
) -> AppResult<ReportRow> {
    let mut errs = Vec::new();
    let mut scope = Vec::new();
    if let Some(l) = req.line_id {
        match ctx.store.service_line(l).await {
            Ok(line) => scope.push(format!("{} {}", line.code, line.name)),
            Err(crate::store::StoreError::NotFound) => errs.push(crate::domain::FieldError::new(
                "line_id",
                format!("服务条线 {l} 不存在"),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(s) = req.system_id {
        match ctx
            .store
            .get_entity(&crate::domain::inventory::SYSTEMS, s)
            .await
        {
            Ok(sys) => scope.push(
                sys.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(crate::store::StoreError::NotFound) => errs.push(crate::domain::FieldError::new(
                "system_id",
                format!("系统 {s} 不存在"),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let subtitle = if scope.is_empty() {
        "全部系统".to_string()
    } else {
        scope.join("，")
    };
    let rows = ctx
        .store
        .requirements_for_report(
            p.from.timestamp_millis(),
            p.to.timestamp_millis(),
            req.line_id,
            req.system_id,
        )
        .await?;
    let meta = cover(
        ctx,
        requirements::TITLE,
        Some(subtitle.clone()),
        p.label.clone(),
    )
    .await?;
    let bytes = match req.format {
        Format::Docx => requirements::docx(&meta, &subtitle, &rows),
        Format::Xlsx => requirements::xlsx(&meta, &rows),
    }
    .map_err(AppError::Internal)?;
    save(ctx, u, req, p, (requirements::TITLE, &subtitle), &bytes, "").await
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<ReportRow>, i64)> {
    check(u)?;
    Ok(ctx.store.reports(limit, offset).await?)
}

pub async fn get(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<ReportRow> {
    check(u)?;
    Ok(ctx.store.report(id).await?)
}

/// The stored file: its name, content type and bytes.
pub async fn file(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(String, &'static str, Vec<u8>)> {
    check(u)?;
    let r = ctx.store.report(id).await?;
    let ct = if r.format == "xlsx" {
        Format::Xlsx
    } else {
        Format::Docx
    }
    .content_type();
    Ok((r.file_name, ct, ctx.store.report_content(id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn periods_are_months_years_or_ranges_in_beijing_time() {
        let p = period(&PeriodInput::Text("2025-11".into())).unwrap();
        assert_eq!(p.label, "2025 年 11 月");
        assert_eq!(
            p.from,
            Utc.with_ymd_and_hms(2025, 10, 31, 16, 0, 0).unwrap()
        );
        assert_eq!(p.to, Utc.with_ymd_and_hms(2025, 11, 30, 16, 0, 0).unwrap());
        assert_eq!(
            p.previous.0,
            Utc.with_ymd_and_hms(2025, 9, 30, 16, 0, 0).unwrap()
        );
        let y = period(&PeriodInput::Text("2025".into())).unwrap();
        assert_eq!(y.label, "2025 年");
        let r = period(&PeriodInput::Range {
            from: "2025-11-01".into(),
            to: "2025-11-07".into(),
        })
        .unwrap();
        assert_eq!(r.to - r.from, Duration::days(7));
        assert_eq!(r.previous.1, r.from);
        let q = period(&PeriodInput::Text("2025-Q3".into())).unwrap();
        assert_eq!(q.label, "2025 年第三季度");
        assert_eq!(q.to - q.from, Duration::days(92));
        assert_eq!(q.previous.1 - q.previous.0, Duration::days(91));
        for bad in [
            "2025-13", "25-11", "2025-1", "x", "1999", "2025-Q5", "2025-Q0", "2025-Q",
        ] {
            assert!(period(&PeriodInput::Text(bad.into())).is_err(), "{bad}");
        }
        assert!(
            period(&PeriodInput::Range {
                from: "2025-11-07".into(),
                to: "2025-11-01".into()
            })
            .is_err()
        );
    }
}
