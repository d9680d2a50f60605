//! Ticket attachments: allowed types, checks and storage.

use serde_json::json;

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};

use super::{can_view, record_step};

/// A file type: extension, MIME type, and the leading bytes the content must have
/// (`None`: text, which must decode as UTF-8 or GBK and contain no NUL).
type FileType = (&'static str, &'static str, Option<&'static [u8]>);

const PNG: FileType = ("png", "image/png", Some(b"\x89PNG"));
const JPG: FileType = ("jpg", "image/jpeg", Some(b"\xff\xd8\xff"));
const JPEG: FileType = ("jpeg", "image/jpeg", Some(b"\xff\xd8\xff"));
const GIF: FileType = ("gif", "image/gif", Some(b"GIF8"));
const PDF: FileType = ("pdf", "application/pdf", Some(b"%PDF"));
const DOCX: FileType = (
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Some(b"PK\x03\x04"),
);
const XLSX: FileType = (
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Some(b"PK\x03\x04"),
);
const TXT: FileType = ("txt", "text/plain; charset=utf-8", None);
const LOG: FileType = ("log", "text/plain; charset=utf-8", None);

/// Allowed attachment types.
const ATTACHMENT_TYPES: &[FileType] = &[
    PNG,
    JPG,
    JPEG,
    GIF,
    PDF,
    ("zip", "application/zip", Some(b"PK\x03\x04")),
    DOCX,
    XLSX,
    ("doc", "application/msword", Some(b"\xd0\xcf\x11\xe0")),
    ("xls", "application/vnd.ms-excel", Some(b"\xd0\xcf\x11\xe0")),
    TXT,
    LOG,
    ("csv", "text/csv; charset=utf-8", None),
];

/// The types an inspection photo may have: the pictures among the attachment types that a
/// phone camera takes.
const PHOTO_TYPES: &[FileType] = &[PNG, JPG, JPEG];

/// Checks an upload's name, size and content; answers the stored name and MIME type.
pub fn check_attachment(
    file_name: &str,
    bytes: &[u8],
    max: usize,
) -> AppResult<(String, &'static str)> {
    check_upload(file_name, bytes, max, ATTACHMENT_TYPES, "附件")
}

/// Checks an inspection photo as an attachment is checked (name, size limit, type by its
/// leading bytes), but only JPEG and PNG pictures pass; a file that is not one is a 422 on
/// the field `file`.
pub fn check_photo(file_name: &str, bytes: &[u8], max: usize) -> AppResult<(String, &'static str)> {
    check_upload(file_name, bytes, max, PHOTO_TYPES, "照片").map_err(type_as_field_error)
}

/// The types a deliverable's uploaded version may have: DOCX, XLSX and PDF.
const DOCUMENT_TYPES: &[FileType] = &[PDF, DOCX, XLSX];

/// Checks a deliverable's uploaded document as an attachment is checked (name, size limit,
/// type by its leading bytes); only DOCX, XLSX and PDF pass.
pub fn check_document(
    file_name: &str,
    bytes: &[u8],
    max: usize,
) -> AppResult<(String, &'static str)> {
    check_upload(file_name, bytes, max, DOCUMENT_TYPES, "文件")
}

/// The types a team member's document (社保证明, 保密协议) may have: scans and photos.
const STAFF_DOCUMENT_TYPES: &[FileType] = &[PDF, PNG, JPG, JPEG];

/// Checks a team member's document as an attachment is checked (name, size limit, type by
/// its leading bytes), but only PDF, JPEG and PNG pass; anything else is a 422 on `file`.
pub fn check_staff_document(
    file_name: &str,
    bytes: &[u8],
    max: usize,
) -> AppResult<(String, &'static str)> {
    check_upload(file_name, bytes, max, STAFF_DOCUMENT_TYPES, "证明材料")
        .map_err(type_as_field_error)
}

/// A file of a type the route does not take as a 422 on the field `file` (for forms that
/// show it next to the field) instead of a 415.
fn type_as_field_error(e: AppError) -> AppError {
    match e {
        AppError::UnsupportedMediaType(m) => AppError::invalid("file", m),
        e => e,
    }
}

/// The types a backup's evidence (a restore drill's record, a run's log or screenshot) may
/// have: PDF, pictures, text and logs, DOCX and XLSX.
const EVIDENCE_TYPES: &[FileType] = &[PDF, PNG, JPG, JPEG, GIF, TXT, LOG, DOCX, XLSX];

/// Checks a backup evidence file as an attachment is checked (name, size limit, type by
/// its leading bytes); only PDF, pictures, text/log, DOCX and XLSX pass (415 otherwise).
pub fn check_evidence(
    file_name: &str,
    bytes: &[u8],
    max: usize,
) -> AppResult<(String, &'static str)> {
    check_upload(file_name, bytes, max, EVIDENCE_TYPES, "证明材料")
}

fn check_upload(
    file_name: &str,
    bytes: &[u8],
    max: usize,
    types: &[FileType],
    what: &str,
) -> AppResult<(String, &'static str)> {
    let name: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("file", "文件名不能为空"));
    }
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "上传的文件为空"));
    }
    if bytes.len() > max {
        return Err(AppError::PayloadTooLarge(format!(
            "{what}不能超过 {} MB",
            max / 1024 / 1024
        )));
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let Some((_, mime, magic)) = types.iter().find(|(e, ..)| *e == ext) else {
        let list: Vec<&str> = types.iter().map(|(e, ..)| *e).collect();
        return Err(AppError::UnsupportedMediaType(format!(
            "不支持的{what}类型“.{ext}”，可上传：{}",
            list.join("、")
        )));
    };
    let ok = match magic {
        Some(m) => bytes.starts_with(m),
        None => {
            !bytes.contains(&0)
                && (std::str::from_utf8(bytes).is_ok() || !encoding_rs::GBK.decode(bytes).2)
        }
    };
    if !ok {
        return Err(AppError::UnsupportedMediaType(format!(
            "文件内容与扩展名 .{ext} 不符，请检查文件"
        )));
    }
    Ok((name, *mime))
}

/// Stores an attachment under the data directory and records it on the ticket.
pub async fn attach(
    ctx: &Ctx,
    u: &AuthUser,
    ticket_id: i64,
    file_name: &str,
    bytes: &[u8],
    internal: bool,
) -> AppResult<i64> {
    let t = ctx.store.ticket(ticket_id).await?;
    if !can_view(u, &t) {
        return Err(AppError::NotFound);
    }
    if matches!(u.role, Role::Auditor | Role::Supervisor) || (u.role == Role::Requester && internal)
    {
        return Err(AppError::forbidden());
    }
    if t.status == "canceled" {
        return Err(AppError::Conflict("已取消的工单不能再上传附件".into()));
    }
    let (name, mime) = check_attachment(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = sha256_hex(bytes);
    let dir = format!("attachments/{ticket_id}");
    let file = write_stored(ctx, &dir, ctx.clock.now_ms(), &digest, bytes).await?;
    let rel = &file.rel;
    let now_ms = ctx.clock.now_ms();
    let result: AppResult<i64> = async {
        let mut tx = ctx.store.write_tx().await?;
        let id = ctx
            .store
            .insert_attachment(
                &mut tx,
                ticket_id,
                &name,
                mime,
                bytes.len() as i64,
                &digest,
                rel,
                internal,
                (u.id, &u.username),
                now_ms,
            )
            .await?;
        let summary = format!("上传附件：{name}（{} KB）", bytes.len().div_ceil(1024));
        let data = json!({"attachment_id": id, "sha256": digest, "size": bytes.len()});
        record_step(
            ctx,
            &mut tx,
            u,
            &t,
            "attachment",
            &summary,
            data,
            internal,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
    .await;
    file.kept_if(result).await
}

/// The SHA-256 of an upload, in hex, as recorded with it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// An upload's bytes written under the data directory before its record is, so that a
/// record never names a missing file; removed again when the record is not committed.
pub struct StoredFile {
    /// The path relative to the data directory, as recorded.
    pub rel: String,
    path: std::path::PathBuf,
}

/// Writes `bytes` to `{dir}/{now}-{first 16 of sha256}.bin` under the data directory,
/// creating the folder.
pub async fn write_stored(
    ctx: &Ctx,
    dir: &str,
    now: i64,
    sha256: &str,
    bytes: &[u8],
) -> AppResult<StoredFile> {
    let rel = format!("{dir}/{now}-{}.bin", &sha256[..16]);
    let path = ctx.config.data_dir.join(&rel);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing {}: {e}", path.display())))?;
    Ok(StoredFile { rel, path })
}

impl StoredFile {
    /// `result` as it is; when it failed, the file is removed again (no record names it).
    pub async fn kept_if<T>(self, result: AppResult<T>) -> AppResult<T> {
        if result.is_err() {
            let _ = tokio::fs::remove_file(&self.path).await;
        }
        result
    }
}

/// The bytes of a stored file, `rel` under the data directory.
pub async fn read_stored(ctx: &Ctx, rel: &str) -> AppResult<Vec<u8>> {
    tokio::fs::read(ctx.config.data_dir.join(rel))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading {rel}: {e}")))
}
