//! Backup runs: reported by the job through its policy's secret URL (`start`, then
//! `success` or `fail`, paired into one run), or recorded by hand by a writer (audited).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{need_read, need_write, token_hash};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::backup::{ReportStatus, RunCreate, RunReport, RunStatus, check_run_values};
use crate::domain::backup_eval::{Flag, Rules, RunFacts, run_flags};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::backup::PolicyRow;
use crate::store::backup_runs::{NewRun, RunFilter, RunRow};

/// How long a reported start waits for its end: an end reported later starts a run of its
/// own (and the start stays `running`, to be seen).
const PAIR_WINDOW_MS: i64 = 48 * 3_600_000;

/// The evaluation rules of a policy.
fn rules(p: &PolicyRow) -> Rules {
    Rules {
        expected_min_bytes: p.expected_min_bytes,
        expected_max_bytes: p.expected_max_bytes,
        checksum_required: p.checksum_required != 0,
        shrink_percent: p.shrink_percent,
    }
}

fn facts(r: &RunRow) -> RunFacts {
    RunFacts {
        status: RunStatus::parse(&r.status).unwrap_or(RunStatus::Running),
        size_bytes: r.size_bytes,
        has_checksum: r.checksum.is_some(),
    }
}

/// The flags of each run. The last good size is that of the latest earlier success
/// within the expected size and with a checksum where one is required (whether it had
/// shrunk itself is not asked again).
pub async fn flags_of(ctx: &Ctx, rows: &[RunRow]) -> AppResult<Vec<Vec<Flag>>> {
    let mut policies: HashMap<i64, Rules> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let rules = match policies.get(&r.policy_id) {
            Some(x) => *x,
            None => {
                let x = rules(&ctx.store.backup_policy(r.policy_id).await?);
                policies.insert(r.policy_id, x);
                x
            }
        };
        let plain = Rules {
            shrink_percent: 100,
            ..rules
        };
        let earlier = ctx
            .store
            .backup_successes_before(r.policy_id, r.started_at, r.id, 50)
            .await?;
        let last_good = earlier
            .iter()
            .map(|(size, sum)| RunFacts {
                status: RunStatus::Success,
                size_bytes: *size,
                has_checksum: *sum != 0,
            })
            .find(|f| run_flags(&plain, f, None).is_empty())
            .and_then(|f| f.size_bytes);
        out.push(run_flags(&rules, &facts(r), last_good));
    }
    Ok(out)
}

pub fn run_json(r: &RunRow, flags: &[Flag]) -> Value {
    json!({
        "flags": flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "flag_labels": flags.iter().map(|f| f.label()).collect::<Vec<_>>(),
        "id": r.id, "policy_id": r.policy_id, "system_id": r.system_id, "system_name": r.system_name,
        "data_set": r.data_set, "status": r.status,
        "status_label": RunStatus::parse(&r.status).map(RunStatus::label),
        "source": r.source, "started_at": crate::clock::rfc3339(r.started_at),
        "finished_at": r.finished_at.map(crate::clock::rfc3339),
        "size_bytes": r.size_bytes, "duration_seconds": r.duration_seconds, "checksum": r.checksum,
        "location": r.location, "log_tail": r.log_tail, "note": r.note, "created_by": r.created_by,
        "created_at": crate::clock::rfc3339(r.created_at), "updated_at": crate::clock::rfc3339(r.updated_at),
    })
}

/// `POST /backup-runs/report/{token}`: no login, the token names the policy. A start
/// opens a run; a success or failure ends the policy's latest open run (of the last 48
/// hours) or, without one, is a run of its own that began `duration_seconds` before.
pub async fn report(ctx: &Ctx, token: &str, r: RunReport) -> AppResult<RunRow> {
    if !(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(AppError::NotFound);
    }
    let v = check_run_values(
        r.size_bytes,
        r.duration_seconds,
        r.checksum,
        r.location,
        r.log_tail,
    )
    .map_err(AppError::Validation)?;
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let policy = ctx
        .store
        .backup_policy_by_token_in(&mut tx, &token_hash(&token.to_ascii_lowercase()))
        .await?
        .ok_or(AppError::NotFound)?;
    let id = match r.status {
        ReportStatus::Start => {
            let new = NewRun {
                policy_id: policy.id,
                status: RunStatus::Running.as_str(),
                source: "report",
                started_at: now_ms,
                finished_at: None,
                values: &v,
                note: None,
                created_by: None,
            };
            ctx.store.insert_backup_run(&mut tx, &new, now_ms).await?
        }
        ReportStatus::Success | ReportStatus::Fail => {
            let status = if r.status == ReportStatus::Success {
                RunStatus::Success
            } else {
                RunStatus::Fail
            };
            let open = ctx
                .store
                .running_backup_run_in(&mut tx, policy.id, now_ms - PAIR_WINDOW_MS)
                .await?;
            match open {
                Some(o) => {
                    let mut v = v;
                    if v.duration_seconds.is_none() {
                        v.duration_seconds = Some((now_ms - o.started_at).max(0) as f64 / 1000.0);
                    }
                    ctx.store
                        .finish_backup_run(&mut tx, o.id, status.as_str(), &v, now_ms)
                        .await?;
                    o.id
                }
                None => {
                    let took = v.duration_seconds.map_or(0, |d| (d * 1000.0) as i64);
                    let new = NewRun {
                        policy_id: policy.id,
                        status: status.as_str(),
                        source: "report",
                        started_at: now_ms - took,
                        finished_at: Some(now_ms),
                        values: &v,
                        note: None,
                        created_by: None,
                    };
                    ctx.store.insert_backup_run(&mut tx, &new, now_ms).await?
                }
            }
        }
    };
    commit_and_evaluate(ctx, tx, id).await
}

/// Reads run `id` back, commits it and alerts on it (`evaluate`).
pub(super) async fn commit_and_evaluate(
    ctx: &Ctx,
    mut tx: crate::store::Tx,
    id: i64,
) -> AppResult<RunRow> {
    let row = ctx
        .store
        .backup_run_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    evaluate(ctx, &row).await;
    Ok(row)
}

/// Alerts on a finished run once it is stored. A failure to alert is logged, not
/// answered: the run is recorded, and a job reporting again would record it twice.
pub(crate) async fn evaluate(ctx: &Ctx, row: &RunRow) {
    if let Err(e) = super::alerts::after_run(ctx, row).await {
        tracing::error!(run = row.id, policy = row.policy_id, "backup alert: {e}");
    }
}

/// `POST /backup-runs`: a finished run recorded by hand (audited).
pub async fn create(ctx: &Ctx, u: &AuthUser, c: RunCreate) -> AppResult<RunRow> {
    need_write(u)?;
    let now_ms = ctx.clock.now_ms();
    let mut errs = Vec::new();
    if c.status == RunStatus::Running {
        errs.push(FieldError::new(
            "status",
            "手工登记的备份应已结束：状态填 success 或 fail",
        ));
    }
    let started = crate::clock::parse_time_or_date(c.started_at.trim());
    match started {
        None => errs.push(FieldError::new(
            "started_at",
            "开始时间应为日期时间，如 2025-11-03T02:00:00+08:00",
        )),
        Some(t) if t > now_ms => errs.push(FieldError::new("started_at", "开始时间不能晚于现在")),
        Some(_) => {}
    }
    let note = c
        .note
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errs.push(FieldError::new("note", "说明不能超过 2000 字"));
    }
    let v = match check_run_values(
        c.size_bytes,
        c.duration_seconds,
        c.checksum,
        c.location,
        c.log_tail,
    ) {
        Ok(v) => Some(v),
        Err(e) => {
            errs.extend(e);
            None
        }
    };
    let mut tx = ctx.store.write_tx().await?;
    let policy = if c.policy_id > 0 {
        ctx.store.backup_policy_in(&mut tx, c.policy_id).await?
    } else {
        None
    };
    if policy.is_none() {
        errs.push(FieldError::new(
            "policy_id",
            format!("备份策略 {} 不存在", c.policy_id),
        ));
    }
    let (Some(v), Some(started), Some(policy)) = (v, started, policy) else {
        return Err(AppError::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let finished = started + v.duration_seconds.map_or(0, |d| (d * 1000.0) as i64);
    let new = NewRun {
        policy_id: policy.id,
        status: c.status.as_str(),
        source: "manual",
        started_at: started,
        finished_at: Some(finished.min(now_ms)),
        values: &v,
        note,
        created_by: Some(u.id),
    };
    let id = ctx.store.insert_backup_run(&mut tx, &new, now_ms).await?;
    let row = ctx
        .store
        .backup_run_in(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    NewAuditEvent::of(
        "create",
        "backup_runs",
        id,
        format!(
            "登记备份记录：{} {}（{}）",
            row.system_name.as_deref().unwrap_or_default(),
            policy.data_set,
            c.status.label()
        ),
    )
    .after(run_json(&row, &[]))
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    evaluate(ctx, &row).await;
    Ok(row)
}

pub async fn list(
    ctx: &Ctx,
    u: &AuthUser,
    f: RunFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<RunRow>, i64)> {
    need_read(u)?;
    Ok(ctx.store.backup_runs(&f, limit, offset).await?)
}
