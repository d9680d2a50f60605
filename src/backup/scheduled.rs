//! yunwei's scheduled backup of itself: `selfbackup::backup` into the configured folder,
//! keeping the newest `backup.self_keep`, and its run reported into the configured
//! policy (`backup.self_policy_id`) like any job's, so that a failure or a missed run
//! alerts through `backup::alerts`.

use std::path::{Path, PathBuf};

use crate::Ctx;
use crate::domain::backup::{RunStatus, RunValues};
use crate::error::{AppError, AppResult};
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
    let Some(pid) = ctx.config.backup.self_policy_id else {
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
    let row = ctx
        .store
        .backup_run_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    super::runs::evaluate(ctx, &row).await;
    Ok(Some(row))
}
