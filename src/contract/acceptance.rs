//! The acceptance package (验收资料包, `GET /acceptance-package`, `yunwei acceptance-package`)
//! and the 符合性审查 overview: the latest accepted version of every deliverable instance of
//! the chosen service period, in folders by area and deliverable, with the index workbook
//! 交付物清单.xlsx (a second sheet lists every instance not accepted), the team compliance
//! checks and the quality report as DOCX, and `SHA256SUMS` over every other file. The ZIP
//! is written to a temporary file under the data directory, one file at a time (constant
//! memory), and streamed from there.
//!
//! Roles: the purchaser (`supervisor`), 监理 (`auditor`), the manager and the admin.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::acceptance::{
    AcceptedFile, DeliverableFact, InstanceFact, Plan, Scope, plan, sha256sums,
};
use crate::domain::deliverables::{Area, Cadence, Status};
use crate::domain::roles::Role;
use crate::domain::team::compliance::Check;
use crate::error::{AppError, AppResult};
use crate::report::docx::{DocBuilder, DocMeta};
use crate::report::xlsx::{Cell, Sheet, workbook};
use crate::report::{Period, PeriodInput};
use crate::store::audit::NewAuditEvent;
use crate::store::contract::InstanceRow;

use super::deliverables::Schedule;

pub const INDEX_NAME: &str = "交付物清单.xlsx";
pub const SUMS_NAME: &str = "SHA256SUMS";
pub const COMPLIANCE_NAME: &str = "团队符合性检查.docx";
pub const QUALITY_NAME: &str = "服务质量评价报告.docx";
const COMPLIANCE_TITLE: &str = "服务团队符合性检查表";

/// Who may see the overview and download the package.
pub fn check_access(u: &AuthUser) -> AppResult<()> {
    if matches!(
        u.role,
        Role::Supervisor | Role::Auditor | Role::Manager | Role::Admin
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "验收资料包由采购方（甲方）、监理、项目经理或管理员下载".into(),
        ))
    }
}

/// Parses `period=om|operations|all`.
pub fn scope(s: Option<&str>) -> AppResult<Scope> {
    Scope::parse(s.unwrap_or_default()).ok_or_else(|| {
        AppError::invalid(
            "period",
            "period 应为 om（运维服务期）、operations（运营服务期）或 all（全部，默认）",
        )
    })
}

/// The deliverables of the scope with every instance over their service period.
pub async fn facts(ctx: &Ctx, sc: Scope) -> AppResult<(Schedule, Vec<DeliverableFact>)> {
    let s = Schedule::load(ctx).await?;
    let all = ctx.store.all_deliverables().await?;
    let stored = ctx.store.deliverable_instances(None).await?;
    let mut out = Vec::new();
    for d in all.into_iter().filter(|d| sc.includes(&d.area)) {
        let mine: Vec<&InstanceRow> = stored.iter().filter(|i| i.deliverable_id == d.id).collect();
        let mut instances = Vec::new();
        for o in s.occurrences(&d, &mine) {
            let row = mine.iter().find(|i| i.period_key == o.key).copied();
            let v = s.instance_json(&d, &o, row);
            let accepted = match row {
                Some(i) if i.status == Status::Accepted.as_str() => ctx
                    .store
                    .deliverable_versions(i.id)
                    .await?
                    .pop()
                    .map(|v| AcceptedFile {
                        file_name: v.file_name,
                        sha256: v.sha256,
                        stored_path: v.stored_path,
                    }),
                _ => None,
            };
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            instances.push(InstanceFact {
                key: o.key.clone(),
                label: o.label.clone(),
                due_date: text("due_date"),
                status: text("status"),
                // A returned or submitted instance past its date: both facts.
                status_label: match row.and_then(|i| Status::parse(&i.status)) {
                    Some(st) if st.as_str() != v["status"] && st != Status::Accepted => {
                        format!("{}，{}", st.label(), text("status_label"))
                    }
                    _ => text("status_label"),
                },
                accepted,
            });
        }
        let section = d.section.clone();
        out.push(DeliverableFact {
            area_label: match (&d.line_name, Area::parse(&d.area)) {
                (Some(l), Some(Area::Operations)) => format!("{}-{l}", Area::Operations.label()),
                (_, a) => a.map_or(d.area.clone(), |a| a.label().to_string()),
            },
            section,
            name: d.name.clone(),
            area: d.area.clone(),
            cadence_label: Cadence::parse(&d.cadence)
                .map_or(d.cadence.clone(), |c| c.label().to_string()),
            instances,
        });
    }
    Ok((s, out))
}

/// The service period of the scope as a report period.
async fn service_period(ctx: &Ctx, sc: Scope) -> AppResult<Period> {
    let (om, ops) = super::periods(ctx).await?.ok_or_else(|| {
        AppError::Conflict("尚未录入合同服务期，无法生成验收资料包：请先填写合同信息".into())
    })?;
    let (from, to) = match sc {
        Scope::Om => om,
        Scope::Operations => ops,
        Scope::All => (om.0.min(ops.0), om.1.max(ops.1)),
    };
    crate::report::period(&PeriodInput::Range {
        from: from.to_string(),
        to: to.to_string(),
    })
    .map_err(|m| AppError::Conflict(format!("合同服务期不可用：{m}")))
}

/// The 符合性审查 overview: counts per area, the open instances and the compliance checks.
pub async fn overview(ctx: &Ctx, u: &AuthUser, sc: Scope) -> AppResult<Value> {
    check_access(u)?;
    let (_, items) = facts(ctx, sc).await?;
    let p = plan(&items, &[]);
    let (checks, _) = crate::team::compliance::compliance(ctx, u).await?;
    Ok(json!({
        "period": sc.as_str(), "period_label": sc.label(),
        "areas": p.summary.iter().map(|s| json!({
            "area": s.area, "area_label": s.area_label, "deliverables": s.deliverables,
            "due": s.due, "accepted": s.accepted, "open": s.open,
        })).collect::<Vec<_>>(),
        "deliverables": p.index.iter().map(|r| json!({
            "section": r.section, "name": r.name, "area_label": r.area, "cadence": r.cadence,
            "due": r.due, "accepted": r.accepted, "open": r.open, "open_items": r.open_items,
        })).collect::<Vec<_>>(),
        "open": p.open.iter().map(|o| json!({
            "section": o.section, "name": o.name, "area_label": o.area, "label": o.label,
            "due_date": o.due_date, "status_label": o.status_label,
        })).collect::<Vec<_>>(),
        "checks": checks,
    }))
}

fn index_workbook(
    p: &Plan,
    sc: Scope,
    author: &str,
    created: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<u8>> {
    let rows = p
        .index
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.section.clone()),
                Cell::Text(r.name.clone()),
                Cell::Text(r.area.clone()),
                Cell::Text(r.cadence.clone()),
                Cell::Number(r.due as f64),
                Cell::Number(r.accepted as f64),
                Cell::Number(r.open as f64),
                Cell::Text(r.open_items.clone()),
                Cell::Text(r.files.clone()),
                Cell::Text(r.checksums.clone()),
            ]
        })
        .collect();
    let open = p
        .open
        .iter()
        .enumerate()
        .map(|(n, o)| {
            vec![
                Cell::Number((n + 1) as f64),
                Cell::Text(o.section.clone()),
                Cell::Text(o.name.clone()),
                Cell::Text(o.area.clone()),
                Cell::Text(o.label.clone()),
                Cell::Text(o.due_date.clone()),
                Cell::Text(o.status_label.clone()),
            ]
        })
        .collect();
    let sheets = [
        Sheet {
            name: "交付物清单",
            title: format!("交付物清单（{}）", sc.label()),
            headers: vec![
                "章节",
                "交付物",
                "服务范围",
                "频次",
                "应交期数",
                "已验收",
                "未验收",
                "未验收期次及状态",
                "资料包内文件",
                "SHA-256",
            ],
            rows,
        },
        Sheet {
            name: "未验收事项",
            title: format!("缺失或未验收的交付物（{}）", sc.label()),
            headers: vec![
                "序号",
                "章节",
                "交付物",
                "服务范围",
                "期次",
                "应交日期",
                "状态",
            ],
            rows: open,
        },
    ];
    workbook(
        &sheets,
        &format!("交付物清单（{}）", sc.label()),
        author,
        created,
    )
}

fn evidence_names(c: &Check) -> String {
    c.evidence["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["name"].as_str())
                .collect::<Vec<_>>()
                .join("、")
        })
        .unwrap_or_default()
}

fn compliance_docx(meta: &DocMeta, checks: &[Check]) -> anyhow::Result<Vec<u8>> {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .enumerate()
        .map(|(n, c)| {
            vec![
                (n + 1).to_string(),
                c.name.clone(),
                c.state_label.to_string(),
                c.details.clone(),
                evidence_names(c),
            ]
        })
        .collect();
    let broken = checks.iter().filter(|c| c.state_label == "不符合").count();
    let risk = checks.iter().filter(|c| c.state_label == "有风险").count();
    DocBuilder::new(meta)
        .heading(1, "检查结果")
        .paragraph(&format!(
            "共检查 {} 项：符合 {} 项，有风险 {risk} 项，不符合 {broken} 项。",
            checks.len(),
            checks.len() - broken - risk
        ))
        .table(
            &["序号", "检查项", "状态", "依据", "涉及人员"],
            &rows,
            &[1, 4, 2, 6, 4],
        )
        .signatures()
        .finish()
}

/// A package written to a temporary file: where, its name for the download and its size.
pub struct Package {
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
}

/// Writes `bytes` as an entry, hashing it.
fn put(
    z: &mut zip::ZipWriter<std::fs::File>,
    name: &str,
    bytes: &[u8],
    sums: &mut Vec<(String, String)>,
) -> anyhow::Result<()> {
    z.start_file(name, options())?;
    z.write_all(bytes)?;
    sums.push((
        name.to_string(),
        crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes)),
    ));
    Ok(())
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true)
}

/// Copies a stored file into the ZIP in chunks, checking it against its recorded SHA-256.
fn copy_stored(
    z: &mut zip::ZipWriter<std::fs::File>,
    data_dir: &Path,
    f: &crate::domain::acceptance::PlannedFile,
) -> anyhow::Result<()> {
    use sha2::Digest;
    let src = data_dir.join(&f.stored_path);
    let Ok(mut r) = std::fs::File::open(&src) else {
        return Err(Integrity(f.path.clone()).into());
    };
    z.start_file(f.path.as_str(), options())?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        z.write_all(&buf[..n])?;
    }
    let got = crate::store::audit::hex(&h.finalize());
    if got != f.sha256 {
        return Err(Integrity(f.path.clone()).into());
    }
    Ok(())
}

/// An accepted file missing from the data directory, or no longer what was accepted.
#[derive(Debug)]
struct Integrity(String);

impl std::fmt::Display for Integrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "已验收的文件“{}”在数据目录中缺失或与验收时的 SHA-256 不符，资料包未生成：请核查数据目录或从备份恢复该文件",
            self.0
        )
    }
}

impl std::error::Error for Integrity {}

/// Removes packages left in `dir` by a build that did not finish (a crash), after an hour.
async fn sweep(dir: &Path) {
    let Ok(mut rd) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|d| d.as_secs() > 3600);
        if name.starts_with("acceptance-") && name.ends_with(".zip") && old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

/// Builds the package into a temporary file under the data directory and audits it. The
/// caller streams the file and removes it.
pub async fn build(ctx: &Ctx, u: &AuthUser, sc: Scope) -> AppResult<Package> {
    check_access(u)?;
    let (_, items) = facts(ctx, sc).await?;
    let p = plan(
        &items,
        &[INDEX_NAME, SUMS_NAME, COMPLIANCE_NAME, QUALITY_NAME],
    );
    let period = service_period(ctx, sc).await?;
    let now = ctx.clock.now();
    let (project, purchaser, contractor) = crate::report::project_meta(ctx).await?;
    let meta = |title: &str| DocMeta {
        title: title.into(),
        subtitle: Some(sc.label().into()),
        project: project.clone(),
        purchaser: purchaser.clone(),
        contractor: contractor.clone(),
        period: period.label.clone(),
        date: now.with_timezone(&crate::clock::beijing()).date_naive(),
        version: "V1.0".into(),
        created: now,
    };
    let (checks, _) = crate::team::compliance::compliance(ctx, u).await?;
    let quality =
        crate::report::quality::data(ctx, u, &period, meta(crate::report::quality::TITLE)).await?;
    let compliance_meta = meta(COMPLIANCE_TITLE);
    let dir = ctx.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    sweep(&dir).await;
    // Unique per build, also for two at the same millisecond.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let path = dir.join(format!(
        "acceptance-{}-{}-{}.zip",
        now.timestamp_millis(),
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let data_dir = ctx.config.data_dir.clone();
    let plan_c = p.clone();
    let path_c = path.clone();
    let contractor_c = contractor.clone();
    let made = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let file = std::fs::File::create(&path_c)?;
        let mut z = zip::ZipWriter::new(file);
        let mut sums = Vec::new();
        for f in &plan_c.files {
            copy_stored(&mut z, &data_dir, f)?;
            sums.push((f.path.clone(), f.sha256.clone()));
        }
        put(
            &mut z,
            INDEX_NAME,
            &index_workbook(&plan_c, sc, &contractor_c, now)?,
            &mut sums,
        )?;
        put(
            &mut z,
            COMPLIANCE_NAME,
            &compliance_docx(&compliance_meta, &checks)?,
            &mut sums,
        )?;
        put(
            &mut z,
            QUALITY_NAME,
            &crate::report::quality::docx(&quality)?,
            &mut sums,
        )?;
        z.start_file(SUMS_NAME, options())?;
        z.write_all(sha256sums(&sums).as_bytes())?;
        let f = z.finish()?;
        f.sync_all()?;
        Ok(f.metadata()?.len())
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("package task failed: {e}")));
    let size = match made {
        Ok(Ok(n)) => n,
        Ok(Err(e)) | Err(AppError::Internal(e)) => {
            let _ = tokio::fs::remove_file(&path).await;
            if let Some(i) = e.downcast_ref::<Integrity>() {
                return Err(AppError::Conflict(i.to_string()));
            }
            return Err(AppError::Internal(
                e.context("building the acceptance package"),
            ));
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
    };
    let bj = now.with_timezone(&crate::clock::beijing());
    let file_name = format!("验收资料包-{}-{}.zip", sc.label(), bj.format("%Y%m%d"));
    let open: usize = p.summary.iter().map(|s| s.open).sum();
    let now_ms = ctx.clock.now_ms();
    let tx = ctx.store.write_tx().await?;
    NewAuditEvent::of(
        "download",
        "acceptance_package",
        0,
        format!(
            "下载验收资料包（{}）：{} 个交付物文件，{open} 期未验收",
            sc.label(),
            p.files.len()
        ),
    )
    .after(
        json!({"period": sc.as_str(), "files": p.files.len(), "open": open,
                  "size": size, "file_name": file_name}),
    )
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok(Package {
        path,
        file_name,
        size,
    })
}
