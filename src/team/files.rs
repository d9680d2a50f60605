//! Files attached to a personnel change (the signed written request, the incoming
//! member's CV and certificates): checked as a member's document is (size limit, type by
//! leading bytes, PDF/JPEG/PNG), stored under the data directory, recorded and audited.
//! Either party adds them while the change awaits its decision.

use serde_json::{Value, json};

use super::check_read;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::domain::team::changes::ChangeStatus;
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::team::ChangeFileRow;

/// The most files one change carries.
pub const MAX_FILES: usize = 20;

pub fn file_json(f: &ChangeFileRow) -> Value {
    json!({"id": f.id, "change_id": f.change_id, "file_name": f.file_name,
           "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
           "uploaded_by": f.uploaded_by_name, "created_at": crate::clock::rfc3339(f.created_at),
           "url": format!("/api/v1/personnel-changes/{}/files/{}", f.change_id, f.id)})
}

/// The files of a change, for its readers.
pub async fn list(ctx: &Ctx, u: &AuthUser, change_id: i64) -> AppResult<Vec<ChangeFileRow>> {
    check_read(u)?;
    ctx.store.personnel_change(change_id).await?;
    Ok(ctx.store.change_files(change_id).await?)
}

/// `POST /personnel-changes/{id}/files`: the manager, the admin or the purchaser adds a
/// file while the change awaits its decision.
pub async fn attach(
    ctx: &Ctx,
    u: &AuthUser,
    change_id: i64,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<ChangeFileRow> {
    check_read(u)?;
    if !matches!(u.role, Role::Manager | Role::Admin | Role::Supervisor) {
        return Err(AppError::forbidden());
    }
    let c = ctx.store.personnel_change(change_id).await?;
    if c.status != ChangeStatus::Requested.as_str() {
        return Err(AppError::Conflict(format!(
            "人员变更 #{change_id} 已审批，不能再添加附件"
        )));
    }
    let (name, mime) =
        crate::desk::check_staff_document(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = crate::desk::sha256_hex(bytes);
    let now = ctx.clock.now_ms();
    let dir = format!("personnel-changes/{change_id}");
    let file = crate::desk::write_stored(ctx, &dir, now, &digest, bytes).await?;
    let result: AppResult<ChangeFileRow> = async {
        let mut tx = ctx.store.write_tx().await?;
        // Decided meanwhile, or full: nothing is recorded.
        let c = ctx.store.personnel_change_in(&mut tx, change_id).await?;
        if c.status != ChangeStatus::Requested.as_str() {
            return Err(AppError::Conflict(format!(
                "人员变更 #{change_id} 已审批，不能再添加附件"
            )));
        }
        if ctx.store.change_files_in(&mut tx, change_id).await?.len() >= MAX_FILES {
            return Err(AppError::invalid(
                "file",
                format!("每项人员变更最多 {MAX_FILES} 个附件"),
            ));
        }
        let id = ctx
            .store
            .insert_change_file(
                &mut tx,
                change_id,
                &name,
                mime,
                bytes.len() as i64,
                &digest,
                &file.rel,
                (u.id, &u.username),
                now,
            )
            .await?;
        let row = ctx
            .store
            .change_files_in(&mut tx, change_id)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(AppError::NotFound)?;
        NewAuditEvent::of(
            "attach",
            "personnel_changes",
            change_id,
            format!("人员变更 #{change_id} 添加附件：{name}"),
        )
        .after(file_json(&row))
        .write_and_commit(tx, now, &u.actor())
        .await?;
        Ok(row)
    }
    .await;
    file.kept_if(result).await
}

/// A file's record and bytes, for the change's readers.
pub async fn file(
    ctx: &Ctx,
    u: &AuthUser,
    change_id: i64,
    id: i64,
) -> AppResult<(ChangeFileRow, Vec<u8>)> {
    check_read(u)?;
    let f = ctx.store.change_file(change_id, id).await?;
    let bytes = crate::desk::read_stored(ctx, &f.stored_path).await?;
    Ok((f, bytes))
}
