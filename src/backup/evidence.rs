//! Evidence files of restore drills and of backup runs (the drill record, screenshots, a
//! hand-recorded run's log): checked as attachments are (size limit, type by leading bytes;
//! PDF, pictures, text/log, DOCX, XLSX), stored under the data directory with their
//! SHA-256, recorded and audited. Writers add and delete them; readers list and download.

use serde_json::{Value, json};

use super::{need_read, need_write};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::backup_drills::{EvidenceFileRow, FileOwner, NewEvidenceFile};

/// The most files one drill or run carries.
pub const MAX_FILES: i64 = 50;

fn base(owner: FileOwner) -> String {
    match owner {
        FileOwner::Drill(id) => format!("/api/v1/restore-drills/{id}/files"),
        FileOwner::Run(id) => format!("/api/v1/backup-runs/{id}/files"),
    }
}

/// The audited entity and its name, for messages.
fn entity(owner: FileOwner) -> (&'static str, String) {
    match owner {
        FileOwner::Drill(id) => ("restore_drills", format!("恢复演练 #{id}")),
        FileOwner::Run(id) => ("backup_runs", format!("备份记录 #{id}")),
    }
}

pub fn file_json(owner: FileOwner, f: &EvidenceFileRow) -> Value {
    json!({"id": f.id, "drill_id": f.drill_id, "run_id": f.run_id, "file_name": f.file_name,
           "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
           "uploaded_by": f.uploaded_by_name, "created_at": crate::clock::rfc3339(f.created_at),
           "url": format!("{}/{}", base(owner), f.id)})
}

/// Whether the owner exists, read through the pool.
async fn exists(ctx: &Ctx, owner: FileOwner) -> AppResult<()> {
    let found = match owner {
        FileOwner::Drill(id) => ctx
            .store
            .restore_drill(id)
            .await
            .map(|_| true)
            .or_else(|e| {
                if matches!(e, crate::store::StoreError::NotFound) {
                    Ok(false)
                } else {
                    Err(e)
                }
            })?,
        FileOwner::Run(id) => ctx.store.backup_run_exists(id).await?,
    };
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Whether the owner exists, on the write transaction.
async fn exists_in(ctx: &Ctx, tx: &mut crate::store::Tx, owner: FileOwner) -> AppResult<()> {
    let found = match owner {
        FileOwner::Drill(id) => ctx.store.restore_drill_in(tx, id).await?.is_some(),
        FileOwner::Run(id) => ctx.store.backup_run_exists_in(tx, id).await?,
    };
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn list(ctx: &Ctx, u: &AuthUser, owner: FileOwner) -> AppResult<Vec<EvidenceFileRow>> {
    need_read(u)?;
    exists(ctx, owner).await?;
    Ok(ctx.store.evidence_files(owner).await?)
}

/// Stores a file under the data directory and records it on its drill or run.
pub async fn attach(
    ctx: &Ctx,
    u: &AuthUser,
    owner: FileOwner,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<EvidenceFileRow> {
    need_write(u)?;
    exists(ctx, owner).await?;
    let (name, mime) =
        crate::desk::check_evidence(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = crate::desk::sha256_hex(bytes);
    let now = ctx.clock.now_ms();
    let dir = match owner {
        FileOwner::Drill(id) => format!("backup-evidence/drills/{id}"),
        FileOwner::Run(id) => format!("backup-evidence/runs/{id}"),
    };
    let file = crate::desk::write_stored(ctx, &dir, now, &digest, bytes).await?;
    let (table, what) = entity(owner);
    let result: AppResult<EvidenceFileRow> = async {
        let mut tx = ctx.store.write_tx().await?;
        // Deleted meanwhile, or full: nothing is recorded.
        exists_in(ctx, &mut tx, owner).await?;
        if ctx.store.evidence_file_count_in(&mut tx, owner).await? >= MAX_FILES {
            return Err(AppError::invalid(
                "file",
                format!("每项最多 {MAX_FILES} 个证明材料"),
            ));
        }
        let id = ctx
            .store
            .insert_evidence_file(
                &mut tx,
                &NewEvidenceFile {
                    owner,
                    file_name: &name,
                    content_type: mime,
                    size: bytes.len() as i64,
                    sha256: &digest,
                    stored_path: &file.rel,
                    user: (u.id, &u.username),
                },
                now,
            )
            .await?;
        let row = ctx
            .store
            .evidence_file_in(&mut tx, owner, id)
            .await?
            .ok_or(AppError::NotFound)?;
        NewAuditEvent::of(
            "attach",
            table,
            owner.id(),
            format!("{what}添加证明材料：{name}"),
        )
        .after(file_json(owner, &row))
        .write_and_commit(tx, now, &u.actor())
        .await?;
        Ok(row)
    }
    .await;
    file.kept_if(result).await
}

/// A file's record and bytes, for readers.
pub async fn file(
    ctx: &Ctx,
    u: &AuthUser,
    owner: FileOwner,
    id: i64,
) -> AppResult<(EvidenceFileRow, Vec<u8>)> {
    need_read(u)?;
    let f = ctx.store.evidence_file(owner, id).await?;
    let bytes = crate::desk::read_stored(ctx, &f.stored_path).await?;
    Ok((f, bytes))
}

/// Deletes a file's record (audited), then its stored bytes.
pub async fn remove(ctx: &Ctx, u: &AuthUser, owner: FileOwner, id: i64) -> AppResult<()> {
    need_write(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let f = ctx
        .store
        .evidence_file_in(&mut tx, owner, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.store.delete_evidence_file(&mut tx, id).await?;
    let (table, what) = entity(owner);
    NewAuditEvent::of(
        "detach",
        table,
        owner.id(),
        format!("{what}删除证明材料：{}", f.file_name),
    )
    .before(file_json(owner, &f))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    let _ = tokio::fs::remove_file(ctx.config.data_dir.join(&f.stored_path)).await;
    Ok(())
}
