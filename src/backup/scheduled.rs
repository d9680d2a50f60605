//! yunwei's scheduled backup of itself: `selfbackup::backup` into the configured folder,
//! keeping the newest `backup.self_keep`, and its run reported into the configured
//! policy (`backup.self_policy_id`) like any job's, so that a failure or a missed run
//! alerts through `backup::alerts`.

use std::path::{Path, PathBuf};

use crate::Ctx;
use crate::domain::backup::{RunStatus, RunValues};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::backup_runs::{NewRun, RunRow};

/// The archives' name prefix; only files with it are pruned.
const PREFIX: &str = "yunwei-";

pub fn dir(ctx: &Ctx) -> PathBuf {
    ctx.config
        .backup
        .self_dir
        .clone()
        .unwrap_or_else(|| ctx.config.data_dir.join("self-backups"))
}

fn sha256_file(p: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(p)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(crate::store::audit::hex(&h.finalize()))
}

/// Removes all but the newest `keep` archives in `dir` (by name: they carry their time).
fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(PREFIX) && n.ends_with(".zip"))
        .collect();
    names.sort();
    let cut = names.len().saturating_sub(keep);
    for n in &names[..cut] {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(cut)
}

/// The data set's name of the built-in policy.
pub const BUILTIN_DATA_SET: &str = "运维平台数据库与文件（yunwei 自备份）";

/// The policy the scheduled self-backup reports into: `backup.self_policy_id` when set,
/// else the built-in one (made, or brought in line with the configuration, by
/// `ensure_builtin`). `None` when neither is configured.
pub async fn policy_id(ctx: &Ctx) -> AppResult<Option<i64>> {
    if let Some(id) = ctx.config.backup.self_policy_id {
        return Ok(Some(id));
    }
    ensure_builtin(ctx).await
}

/// With `backup.self_schedule` set and no `backup.self_policy_id`: the built-in policy of
/// yunwei's own backup exists, with the configured schedule, folder and count kept. It is
/// created once (audited, by the system) and updated (audited) when the configuration
/// changes; the rest of it (expected size, drill cadence, note) is the admin's to edit.
pub async fn ensure_builtin(ctx: &Ctx) -> AppResult<Option<i64>> {
    use crate::domain::backup::{Method, PolicyCreate, Scope, Target, check_policy};
    use crate::store::backup::BUILTIN_SELF;
    let b = &ctx.config.backup;
    if b.self_schedule.trim().is_empty() || b.self_policy_id.is_some() {
        return Ok(None);
    }
    let location = dir(ctx).display().to_string();
    let note = format!(
        "内置策略：由配置 backup.self_schedule 生成，运维平台按计划执行 yunwei backup，保留最新 {} 份",
        b.self_keep
    );
    let now_ms = ctx.clock.now_ms();
    let actor = crate::store::Actor::system("self-backup");
    let mut tx = ctx.store.write_tx().await?;
    if let Some(id) = ctx
        .store
        .backup_policy_builtin_in(&mut tx, BUILTIN_SELF)
        .await?
    {
        let old = super::policies::policy_in(ctx, &mut tx, id).await?;
        if old.schedule == b.self_schedule.trim() && old.location.as_deref() == Some(&location) {
            return Ok(Some(id));
        }
        let mut p = super::policies::as_policy(&old)?;
        p.schedule = b.self_schedule.trim().to_string();
        p.location = Some(location);
        let p = check_policy(p).map_err(AppError::Validation)?;
        ctx.store
            .update_backup_policy(&mut tx, id, &p, now_ms)
            .await?;
        let new = super::policies::policy_in(ctx, &mut tx, id).await?;
        NewAuditEvent::of(
            "update",
            "backup_policies",
            id,
            format!("按配置更新内置自备份策略 #{id} 的计划与存放位置"),
        )
        .before(super::policies::policy_json(&old))
        .after(super::policies::policy_json(&new))
        .write_and_commit(tx, now_ms, &actor)
        .await?;
        return Ok(Some(id));
    }
    let c = PolicyCreate {
        system_id: 0,
        data_set: BUILTIN_DATA_SET.into(),
        description: Some("yunwei 自身的数据库、审计记录、附件与报告文件".into()),
        scope: Scope::Both,
        method: Method::Full,
        schedule: b.self_schedule.trim().to_string(),
        grace_minutes: None,
        retention_days: None,
        target: Target::Local,
        location: Some(location),
        encrypted: false,
        expected_min_bytes: Some(1024),
        expected_max_bytes: None,
        checksum_required: true,
        shrink_percent: None,
        drill_cadence: None,
        note: Some(note),
    };
    let p = check_policy(c.into_policy(None)).map_err(AppError::Validation)?;
    // The report URL is not used (the server records the runs itself); an admin may
    // re-issue one.
    let (_, hash) = super::new_token();
    let id = ctx
        .store
        .insert_backup_policy(&mut tx, &p, &hash, None, now_ms)
        .await?;
    ctx.store
        .set_backup_policy_builtin(&mut tx, id, BUILTIN_SELF)
        .await?;
    let row = super::policies::policy_in(ctx, &mut tx, id).await?;
    NewAuditEvent::of(
        "create",
        "backup_policies",
        id,
        format!("新建内置自备份策略 #{id}：{BUILTIN_DATA_SET}"),
    )
    .after(super::policies::policy_json(&row))
    .write_and_commit(tx, now_ms, &actor)
    .await?;
    tracing::info!(policy = id, "built-in self-backup policy created");
    Ok(Some(id))
}

/// One scheduled backup now: writes the archive, prunes, and records the run (success
/// with size, duration, SHA-256 and location, or failure with the error) in the
/// configured policy. Answers the run when a policy is configured.
pub async fn run_once(ctx: &Ctx) -> AppResult<Option<RunRow>> {
    let started = ctx.clock.now_ms();
    let t0 = std::time::Instant::now();
    let dir = dir(ctx);
    let stamp = chrono::DateTime::from_timestamp_millis(started)
        .unwrap_or_default()
        .with_timezone(&crate::clock::beijing())
        .format("%Y%m%d-%H%M%S");
    let out = dir.join(format!("{PREFIX}{stamp}.zip"));
    let result: anyhow::Result<(u64, String)> = async {
        std::fs::create_dir_all(&dir)?;
        let s = crate::selfbackup::backup(&ctx.config, &out, started).await?;
        let sum = sha256_file(&out)?;
        prune(&dir, ctx.config.backup.self_keep)?;
        Ok((
            std::fs::metadata(&out).map(|m| m.len()).unwrap_or(s.bytes),
            sum,
        ))
    }
    .await;
    let took = t0.elapsed().as_secs_f64();
    let (status, values) = match &result {
        Ok((size, sum)) => {
            tracing::info!(file = %out.display(), size, "scheduled self-backup written");
            (
                RunStatus::Success,
                RunValues {
                    size_bytes: i64::try_from(*size).ok(),
                    duration_seconds: Some(took),
                    checksum: Some(format!("sha256:{sum}")),
                    location: Some(out.display().to_string()),
                    log_tail: None,
                },
            )
        }
        Err(e) => {
            tracing::error!(file = %out.display(), "scheduled self-backup failed: {e:#}");
            (
                RunStatus::Fail,
                RunValues {
                    size_bytes: None,
                    duration_seconds: Some(took),
                    checksum: None,
                    location: Some(out.display().to_string()),
                    log_tail: Some(format!("{e:#}").chars().take(4000).collect()),
                },
            )
        }
    };
    let Some(pid) = policy_id(ctx).await? else {
        return Ok(None);
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    if ctx.store.backup_policy_in(&mut tx, pid).await?.is_none() {
        tracing::error!(policy = pid, "backup.self_policy_id names no backup policy");
        return Ok(None);
    }
    let new = NewRun {
        policy_id: pid,
        status: status.as_str(),
        source: "report",
        started_at: started,
        finished_at: Some(now),
        values: &values,
        note: Some("yunwei 定时自备份".into()),
        created_by: None,
    };
    let id = ctx.store.insert_backup_run(&mut tx, &new, now).await?;
    Ok(Some(super::runs::commit_and_evaluate(ctx, tx, id).await?))
}
