//! Inspection photos (巡检照片): a photo item's evidence. An upload is checked as a ticket
//! attachment is (size limit, type by its leading bytes) but only JPEG and PNG pictures
//! pass; the file is stored under the data directory and recorded, and its id is added to
//! the item's reading in the same transaction, with the audit record.

use serde_json::{Value, json};

use super::tasks::{actor, items_of, readings_of, status_of};
use super::{audit, check_read};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inspection::reading::photo_ids;
use crate::domain::inspection::template::{Item, ItemKind};
use crate::error::{AppError, AppResult};
use crate::store::inspect::{NewPhoto, PhotoRow, TaskRow};

/// The most photos one item holds (as `reading::check_shape` allows).
pub const MAX_PHOTOS: usize = 10;

/// A photo as the API shows it; `url` downloads it.
pub fn photo_json(p: &PhotoRow) -> Value {
    json!({
        "id": p.id, "task_id": p.task_id, "item_key": p.item_key, "file_name": p.file_name,
        "content_type": p.content_type, "size": p.size, "sha256": p.sha256,
        "uploaded_by": p.uploaded_by_name, "created_at": crate::clock::rfc3339(p.created_at),
        "url": format!("/api/v1/inspection-tasks/{}/photos/{}", p.task_id, p.id),
    })
}

/// The task if the user may see its evidence; otherwise it does not exist for them.
async fn visible_task(ctx: &Ctx, u: &AuthUser, task_id: i64) -> AppResult<TaskRow> {
    check_read(u)?;
    let t = ctx.store.inspection_task(task_id).await?;
    if !actor(u, &t).sees_evidence() {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

/// Checks that the user may add a photo to the item now; answers the item.
fn check_upload(u: &AuthUser, t: &TaskRow, item_key: &str) -> AppResult<Item> {
    if !actor(u, t).adds_evidence() {
        return Err(AppError::Forbidden(
            "只有任务的执行人可以上传巡检照片".into(),
        ));
    }
    let status = status_of(t)?;
    if !status.editable() {
        return Err(AppError::Conflict(format!(
            "任务当前为“{}”，不能再上传照片",
            status.label()
        )));
    }
    let item = items_of(t)?
        .into_iter()
        .find(|it| it.key == item_key)
        .ok_or_else(|| {
            AppError::invalid(
                "item",
                format!("检查项“{item_key}”不在本任务的模板中，请在字段 item 中给出照片项的编号"),
            )
        })?;
    if item.kind != ItemKind::Photo {
        return Err(AppError::invalid(
            "item",
            format!("“{}”不是照片项，不能上传照片", item.label),
        ));
    }
    let taken = readings_of(t)
        .get(&item.key)
        .map(photo_ids)
        .unwrap_or_default();
    if taken.len() >= MAX_PHOTOS {
        return Err(AppError::invalid(
            "file",
            format!("“{}”最多 {MAX_PHOTOS} 张照片", item.label),
        ));
    }
    Ok(item)
}

/// `POST /inspection-tasks/{id}/photos`: stores a photo for a photo item of the task and
/// adds it to the item's reading; a pending or overdue task counts as started.
pub async fn upload(
    ctx: &Ctx,
    u: &AuthUser,
    task_id: i64,
    item_key: &str,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<PhotoRow> {
    let t = visible_task(ctx, u, task_id).await?;
    check_upload(u, &t, item_key)?;
    let (name, mime) = crate::desk::check_photo(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = crate::desk::sha256_hex(bytes);
    let (rel, path) = write_new(ctx, task_id, &digest, bytes).await?;
    let result = record(
        ctx,
        u,
        task_id,
        item_key,
        &name,
        mime,
        bytes.len(),
        &digest,
        &rel,
    )
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

/// Writes the file under a name no other photo has (the same picture uploaded twice in a
/// millisecond gets a second file, so removing one never loses the other).
async fn write_new(
    ctx: &Ctx,
    task_id: i64,
    digest: &str,
    bytes: &[u8],
) -> AppResult<(String, std::path::PathBuf)> {
    use tokio::io::AsyncWriteExt;
    let dir = ctx
        .config
        .data_dir
        .join(format!("inspection-photos/{task_id}"));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    let stem = format!("{}-{}", ctx.clock.now_ms(), &digest[..16]);
    for n in 0..100 {
        let name = if n == 0 {
            format!("{stem}.bin")
        } else {
            format!("{stem}-{n}.bin")
        };
        let path = dir.join(&name);
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
        {
            Ok(mut f) => {
                let written = async {
                    f.write_all(bytes).await?;
                    f.sync_all().await
                }
                .await;
                if let Err(e) = written {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "writing {}: {e}",
                        path.display()
                    )));
                }
                return Ok((format!("inspection-photos/{task_id}/{name}"), path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "creating {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free file name for photo {stem} of task {task_id}"
    )))
}

/// The photo's record, the reading and the audit record, in one transaction.
#[allow(clippy::too_many_arguments)]
async fn record(
    ctx: &Ctx,
    u: &AuthUser,
    task_id: i64,
    item_key: &str,
    name: &str,
    mime: &str,
    size: usize,
    digest: &str,
    rel: &str,
) -> AppResult<PhotoRow> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    // Checked again under the lock: the task may have been submitted meanwhile.
    let t = ctx
        .store
        .inspection_task_for_update(&mut tx, task_id)
        .await?;
    let item = check_upload(u, &t, item_key)?;
    let id = ctx
        .store
        .insert_inspection_photo(
            &mut tx,
            &NewPhoto {
                task_id,
                item_key: &item.key,
                file_name: name,
                content_type: mime,
                size: size as i64,
                sha256: digest,
                stored_path: rel,
                uploaded_by: (u.id, &u.username),
                created_at: now,
            },
        )
        .await?;
    let mut readings = readings_of(&t);
    let mut ids = readings.get(&item.key).map(photo_ids).unwrap_or_default();
    ids.push(id);
    readings.insert(item.key.clone(), json!(ids));
    let text = serde_json::to_string(&readings).map_err(anyhow::Error::from)?;
    ctx.store
        .save_inspection_readings(&mut tx, task_id, &text, now)
        .await?;
    if matches!(t.status.as_str(), "pending" | "overdue") {
        ctx.store
            .set_inspection_task_status(&mut tx, task_id, "in_progress", None, None, now)
            .await?;
    }
    let photos = crate::store::Store::inspection_photos_in(&mut tx, task_id).await?;
    let row = photos
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| anyhow::anyhow!("photo {id} not found after insert"))?;
    audit(
        &mut tx,
        now,
        u,
        "photo",
        "inspection_tasks",
        task_id,
        format!(
            "上传巡检照片：{} · {} · {}（{} KB）",
            t.target_name,
            item.label,
            name,
            size.div_ceil(1024)
        ),
        None,
        Some(
            json!({"photo_id": id, "item_key": item.key, "sha256": digest, "size": size,
                    "reading": ids}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// `GET /inspection-tasks/{id}/photos/{photo_id}`: the photo's record and bytes, for those
/// who may see the task's evidence.
pub async fn file(
    ctx: &Ctx,
    u: &AuthUser,
    task_id: i64,
    photo_id: i64,
) -> AppResult<(PhotoRow, Vec<u8>)> {
    let t = visible_task(ctx, u, task_id).await?;
    let p = ctx.store.inspection_photo(t.id, photo_id).await?;
    let bytes = crate::desk::read_stored(ctx, &p.stored_path).await?;
    Ok((p, bytes))
}
