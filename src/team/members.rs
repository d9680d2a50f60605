//! Members' certificates (证书, with expiry) and documents (任职证明/社保证明 and 保密协议,
//! uploaded files with their validity). An upload is checked as a ticket attachment is
//! (size limit, type by leading bytes) but only PDF, JPEG and PNG pass.

use serde_json::{Value, json};

use super::{check_read, check_write};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory::STAFF;
use crate::domain::roles::Role;
use crate::domain::team::{CertificateInput, DocKind, check_validity};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::team::{CertificateRow, DocumentRow, NewDocument};

/// The most documents one member keeps (each renewal adds one).
pub const MAX_DOCUMENTS: usize = 50;
/// The most certificates one member lists.
pub const MAX_CERTIFICATES: usize = 50;

pub fn certificate_json(c: &CertificateRow, today: chrono::NaiveDate) -> Value {
    let expired = c
        .expires_on
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|d| d < today);
    json!({"id": c.id, "staff_id": c.staff_id, "name": c.name, "number": c.number,
           "issued_on": c.issued_on, "expires_on": c.expires_on, "expired": expired,
           "created_at": crate::clock::rfc3339(c.created_at)})
}

pub fn document_json(d: &DocumentRow) -> Value {
    json!({"id": d.id, "staff_id": d.staff_id, "kind": d.kind,
           "kind_label": DocKind::parse(&d.kind).map(DocKind::label),
           "file_name": d.file_name, "content_type": d.content_type, "size": d.size,
           "sha256": d.sha256, "valid_from": d.valid_from, "valid_until": d.valid_until,
           "uploaded_by": d.uploaded_by_name, "created_at": crate::clock::rfc3339(d.created_at),
           "url": format!("/api/v1/staff/{}/documents/{}/file", d.staff_id, d.id)})
}

async fn member_exists(ctx: &Ctx, tx: &mut crate::store::Tx, id: i64) -> AppResult<()> {
    if ctx.store.entity_exists_in(tx, &STAFF, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The certificates and documents shown with a staff record (`GET /staff/{id}`).
pub async fn extras(ctx: &Ctx, staff_id: i64) -> AppResult<(Value, Value)> {
    let today = ctx.clock.today();
    let certs = ctx.store.certificates(Some(staff_id)).await?;
    let docs = ctx.store.staff_documents(Some(staff_id)).await?;
    Ok((
        json!(
            certs
                .iter()
                .map(|c| certificate_json(c, today))
                .collect::<Vec<_>>()
        ),
        json!(docs.iter().map(document_json).collect::<Vec<_>>()),
    ))
}

pub async fn certificates(
    ctx: &Ctx,
    u: &AuthUser,
    staff_id: i64,
) -> AppResult<Vec<CertificateRow>> {
    check_read(u)?;
    ctx.store.get_entity(&STAFF, staff_id).await?;
    Ok(ctx.store.certificates(Some(staff_id)).await?)
}

/// `POST /staff/{id}/certificates`.
pub async fn add_certificate(
    ctx: &Ctx,
    u: &AuthUser,
    staff_id: i64,
    c: CertificateInput,
) -> AppResult<CertificateRow> {
    check_write(u)?;
    let checked = c.check("").map_err(AppError::Validation)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    member_exists(ctx, &mut tx, staff_id).await?;
    if ctx.store.certificates_in(&mut tx, staff_id).await?.len() >= MAX_CERTIFICATES {
        return Err(AppError::invalid(
            "name",
            format!("每名成员最多登记 {MAX_CERTIFICATES} 个证书"),
        ));
    }
    let id = ctx
        .store
        .insert_certificate(
            &mut tx,
            staff_id,
            &checked.name,
            checked.number.as_deref(),
            checked.issued_on.map(|d| d.to_string()),
            checked.expires_on.map(|d| d.to_string()),
            now,
        )
        .await?;
    let row = certificate_in(ctx, &mut tx, staff_id, id).await?;
    NewAuditEvent::of(
        "create",
        "staff_certificates",
        id,
        format!("登记成员 #{staff_id} 的证书：{}", checked.name),
    )
    .after(certificate_json(&row, ctx.clock.today()))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(row)
}

/// Certificate `id` of member `staff_id`, on the write transaction.
async fn certificate_in(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    staff_id: i64,
    id: i64,
) -> AppResult<CertificateRow> {
    ctx.store
        .certificates_in(tx, staff_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)
}

/// `DELETE /staff/{id}/certificates/{cert_id}`.
pub async fn remove_certificate(ctx: &Ctx, u: &AuthUser, staff_id: i64, id: i64) -> AppResult<()> {
    check_write(u)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let before = certificate_in(ctx, &mut tx, staff_id, id).await?;
    ctx.store.delete_certificate(&mut tx, staff_id, id).await?;
    NewAuditEvent::of(
        "delete",
        "staff_certificates",
        id,
        format!("删除成员 #{staff_id} 的证书：{}", before.name),
    )
    .before(certificate_json(&before, ctx.clock.today()))
    .write_and_commit(tx, now, &u.actor())
    .await?;
    Ok(())
}

pub async fn documents(ctx: &Ctx, u: &AuthUser, staff_id: i64) -> AppResult<Vec<DocumentRow>> {
    check_read(u)?;
    ctx.store.get_entity(&STAFF, staff_id).await?;
    Ok(ctx.store.staff_documents(Some(staff_id)).await?)
}

/// What a document upload carries besides the file (multipart text fields).
pub struct DocumentMeta {
    pub kind: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
}

/// `POST /staff/{id}/documents`: checks the fields and the file, stores the file under the
/// data directory and records it with its validity, audited.
pub async fn upload_document(
    ctx: &Ctx,
    u: &AuthUser,
    staff_id: i64,
    meta: DocumentMeta,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<DocumentRow> {
    check_write(u)?;
    let mut errs = Vec::new();
    let kind = match meta.kind.as_deref().map(str::trim) {
        None | Some("") => {
            errs.push(crate::domain::FieldError::new(
                "kind",
                "请在字段 kind 中给出材料类型：employment_proof（任职证明/社保证明）或 confidentiality（保密协议）",
            ));
            None
        }
        Some(k) => match DocKind::parse(k) {
            Some(k) => Some(k),
            None => {
                errs.push(crate::domain::FieldError::new(
                    "kind",
                    format!("材料类型“{k}”无效，可选：employment_proof（任职证明/社保证明）、confidentiality（保密协议）"),
                ));
                None
            }
        },
    };
    let validity = match check_validity(meta.valid_from.as_deref(), meta.valid_until.as_deref()) {
        Ok(v) => Some(v),
        Err(e) => {
            errs.extend(e);
            None
        }
    };
    let (Some(kind), Some((from, until))) = (kind, validity) else {
        return Err(AppError::Validation(errs));
    };
    let (name, mime) =
        crate::desk::check_staff_document(file_name, bytes, ctx.config.max_attachment_bytes)?;
    let digest = crate::desk::sha256_hex(bytes);
    let now = ctx.clock.now_ms();
    ctx.store.get_entity(&STAFF, staff_id).await?;
    if ctx.store.staff_documents(Some(staff_id)).await?.len() >= MAX_DOCUMENTS {
        return Err(AppError::invalid(
            "file",
            format!("每名成员最多保存 {MAX_DOCUMENTS} 份证明材料"),
        ));
    }
    let file =
        crate::desk::write_stored(ctx, &format!("staff/{staff_id}"), now, &digest, bytes).await?;
    let rel = &file.rel;
    let result: AppResult<DocumentRow> = async {
        let mut tx = ctx.store.write_tx().await?;
        member_exists(ctx, &mut tx, staff_id).await?;
        let d = NewDocument {
            staff_id,
            kind: kind.as_str(),
            file_name: &name,
            content_type: mime,
            size: bytes.len() as i64,
            sha256: &digest,
            stored_path: rel,
            valid_from: from.to_string(),
            valid_until: until.to_string(),
            uploaded_by: (u.id, &u.username),
        };
        let id = ctx.store.insert_staff_document(&mut tx, &d, now).await?;
        let row = DocumentRow {
            id,
            staff_id,
            kind: kind.as_str().into(),
            file_name: name.clone(),
            content_type: mime.into(),
            size: bytes.len() as i64,
            sha256: digest.clone(),
            stored_path: rel.to_string(),
            valid_from: from.to_string(),
            valid_until: until.to_string(),
            uploaded_by_name: u.username.clone(),
            created_at: now,
        };
        NewAuditEvent::of(
            "create",
            "staff_documents",
            id,
            format!(
                "上传成员 #{staff_id} 的{}：{name}（有效期 {from} 至 {until}）",
                kind.label()
            ),
        )
        .after(document_json(&row))
        .write_and_commit(tx, now, &u.actor())
        .await?;
        Ok(row)
    }
    .await;
    file.kept_if(result).await
}

/// A document's record and bytes, for the admin, the manager, the purchaser and 监理.
pub async fn document_file(
    ctx: &Ctx,
    u: &AuthUser,
    staff_id: i64,
    id: i64,
) -> AppResult<(DocumentRow, Vec<u8>)> {
    if !matches!(
        u.role,
        Role::Admin | Role::Manager | Role::Supervisor | Role::Auditor
    ) {
        return Err(AppError::forbidden());
    }
    let d = ctx.store.staff_document(staff_id, id).await?;
    let bytes = crate::desk::read_stored(ctx, &d.stored_path).await?;
    Ok((d, bytes))
}
