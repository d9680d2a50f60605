//! 《服务质量评价报告》 (`quality_report`, DOCX and XLSX): the contract's quality targets
//! against the values measured over the period (exactly those of `GET /contract`,
//! `contract::quality::measure`), the rectification items (整改) the inspections found and
//! their state, and the editable `quality.*` conclusion.

use serde_json::{Value, json};

use super::docx::{DocBuilder, DocMeta};
use super::texts::Texts;
use super::xlsx::{Cell, Sheet, text_rows, workbook};
use super::{Format, Made, Period};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};
use crate::store::inspect::FindingRow;

pub const TITLE: &str = "服务质量评价报告";

pub struct QualityData {
    pub meta: DocMeta,
    /// `contract::quality::measure`'s `targets`.
    pub targets: Vec<Value>,
    pub findings: Vec<FindingRow>,
    pub texts: Texts,
}

fn percent(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |p| {
        format!("{}%", crate::domain::inspection::template::num(p))
    })
}

fn met_label(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "达标",
        Some(false) => "未达标",
        None => "无数据",
    }
}

/// 指标, 目标, 实测, 计算依据, 结论.
pub fn target_rows(targets: &[Value]) -> Vec<Vec<String>> {
    targets
        .iter()
        .map(|t| {
            let basis = match t["reason"].as_str() {
                Some(r) => r.to_string(),
                None => t["basis"].as_str().unwrap_or_default().to_string(),
            };
            vec![
                t["label"].as_str().unwrap_or_default().to_string(),
                percent(&t["target_percent"]),
                percent(&t["measured_percent"]),
                basis,
                met_label(&t["met"]).to_string(),
            ]
        })
        .collect()
}

fn finding_status(s: &str) -> &'static str {
    if s == "rectified" {
        "已整改"
    } else {
        "整改中"
    }
}

/// 序号, 发现时间, 对象, 问题, 关联工单, 状态, 整改时间.
pub fn finding_rows(findings: &[FindingRow]) -> Vec<Vec<String>> {
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            vec![
                (i + 1).to_string(),
                crate::clock::local_minutes(f.created_at),
                f.target_name.clone(),
                if f.detail.trim().is_empty() {
                    f.label.clone()
                } else {
                    format!("{}：{}", f.label, f.detail)
                },
                f.ticket_number.clone().unwrap_or_default(),
                finding_status(&f.status).into(),
                f.rectified_at
                    .map(crate::clock::local_minutes)
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

const TARGET_HEADERS: [&str; 5] = ["指标", "目标值", "实测值", "计算依据", "结论"];
const FINDING_HEADERS: [&str; 7] = [
    "序号",
    "发现时间",
    "对象",
    "问题",
    "关联工单",
    "状态",
    "整改时间",
];

pub fn text_vars(d: &QualityData) -> Value {
    let count = |want: Option<bool>| {
        d.targets
            .iter()
            .filter(|t| t["met"].as_bool() == want)
            .count()
    };
    let unmet: Vec<&str> = d
        .targets
        .iter()
        .filter(|t| t["met"] == json!(false))
        .filter_map(|t| t["label"].as_str())
        .collect();
    let rectified = d
        .findings
        .iter()
        .filter(|f| f.status == "rectified")
        .count();
    json!({
        "period": d.meta.period,
        "targets": d.targets.len(),
        "met": count(Some(true)),
        "unmet": count(Some(false)),
        "no_data": count(None),
        "unmet_names": if unmet.is_empty() { "无".to_string() } else { unmet.join("、") },
        "findings": d.findings.len(),
        "rectified": rectified,
        "open_findings": d.findings.len() - rectified,
    })
}

pub fn docx(d: &QualityData) -> anyhow::Result<Vec<u8>> {
    let vars = text_vars(d);
    let mut b = DocBuilder::new(&d.meta)
        .heading(1, "质量目标与完成情况")
        .table(&TARGET_HEADERS, &target_rows(&d.targets), &[3, 2, 2, 5, 2]);
    b = b.heading(1, "整改事项");
    if d.findings.is_empty() {
        b = b.paragraph("本期巡检未发现需要整改的问题。");
    } else {
        b = b.table(
            &FINDING_HEADERS,
            &finding_rows(&d.findings),
            &[1, 3, 3, 5, 3, 2, 3],
        );
    }
    b = b.heading(1, "质量评价结论");
    b = b.paragraphs(&d.texts.render("quality.conclusion", &vars));
    b.signatures().finish()
}

pub fn xlsx(d: &QualityData) -> anyhow::Result<Vec<u8>> {
    let targets = d
        .targets
        .iter()
        .zip(target_rows(&d.targets))
        .map(|(t, r)| {
            vec![
                r[0].clone().into(),
                t["target_percent"]
                    .as_f64()
                    .map_or(Cell::Empty, Cell::Percent),
                t["measured_percent"]
                    .as_f64()
                    .map_or(Cell::Empty, Cell::Percent),
                r[3].clone().into(),
                r[4].clone().into(),
            ]
        })
        .collect();
    let sheets = [
        Sheet::new(
            "质量目标",
            format!("{} 质量目标与完成情况", d.meta.period),
            TARGET_HEADERS.to_vec(),
            targets,
        ),
        Sheet::new(
            "整改事项",
            format!("{} 整改事项", d.meta.period),
            FINDING_HEADERS.to_vec(),
            text_rows(finding_rows(&d.findings)),
        ),
    ];
    workbook(
        &sheets,
        &format!("{TITLE}（{}）", d.meta.period),
        &d.meta.contractor,
        d.meta.created,
    )
}

/// The quality report's data over `p`; 409 without a contract record.
pub async fn data(ctx: &Ctx, u: &AuthUser, p: &Period, meta: DocMeta) -> AppResult<QualityData> {
    let record = crate::contract::stored(ctx).await?.ok_or_else(|| {
        AppError::Conflict(
            "尚未录入合同信息，无法评价质量目标：请由采购方（甲方）先填写合同信息".into(),
        )
    })?;
    let measured = crate::contract::quality::measure(ctx, u, &record, p).await?;
    let targets = measured["targets"].as_array().cloned().unwrap_or_default();
    let findings = ctx
        .store
        .inspection_findings_between(p.from.timestamp_millis(), p.to.timestamp_millis())
        .await?;
    let texts = super::texts::load(ctx, "quality.").await?;
    Ok(QualityData {
        meta,
        targets,
        findings,
        texts,
    })
}

pub async fn document(
    ctx: &Ctx,
    u: &AuthUser,
    format: Format,
    p: &Period,
    meta: DocMeta,
) -> AppResult<Made> {
    let d = data(ctx, u, p, meta).await?;
    let bytes = super::write_off_runtime(format, d, docx, xlsx).await?;
    Ok(Made {
        title: TITLE.into(),
        subtitle: "质量目标与整改".into(),
        bytes,
        note: String::new(),
    })
}
