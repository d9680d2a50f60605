//! Confirmation by the requester: the link, what it shows, and the rating it takes.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::records::record_to_change;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::FieldError;
use crate::domain::input::{Labels, de};
use crate::error::{AppError, AppResult};
use crate::store::audit::NewAuditEvent;
use crate::store::operations::RecordRow;

/// How long a confirmation link stays valid.
pub const CONFIRM_DAYS: i64 = 7;

fn token_hash(token: &str) -> String {
    crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()))
}

/// A new confirmation link for a record: its token (shown once) and expiry. The record's
/// author, the manager and the admin may make one; a new link replaces the old.
pub async fn confirmation_link(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(String, i64)> {
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let (r, _) = record_to_change(ctx, &mut tx, u, id).await?;
    if r.confirmed_at.is_some() {
        return Err(AppError::Conflict(
            "该记录已由服务对象确认，无需再发确认链接".into(),
        ));
    }
    let mut raw = [0u8; 32];
    password_hash::rand_core::RngCore::fill_bytes(&mut password_hash::rand_core::OsRng, &mut raw);
    let token = crate::store::audit::hex(&raw);
    let expires = now_ms + CONFIRM_DAYS * 86_400_000;
    ctx.store
        .set_confirm_token(&mut tx, id, &token_hash(&token), expires)
        .await?;
    NewAuditEvent::of(
        "update",
        "work_records",
        id,
        format!("生成运营记录 #{id} 的确认链接（{CONFIRM_DAYS} 天内有效）"),
    )
    .write_and_commit(tx, now_ms, &u.actor())
    .await?;
    Ok((token, expires))
}

/// Why a confirmation link does not open.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkState {
    Open,
    /// Used up, replaced, or never issued.
    Unknown,
    Expired,
}

/// The record a confirmation link shows, and whether it can still be used.
pub async fn confirmation_view(
    ctx: &Ctx,
    token: &str,
) -> AppResult<(Option<RecordRow>, LinkState)> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((None, LinkState::Unknown));
    }
    match ctx.store.record_by_confirm_token(&token_hash(token)).await {
        Ok(c) => {
            let state = if c.expires_at.is_some_and(|e| e > ctx.clock.now_ms()) {
                LinkState::Open
            } else {
                LinkState::Expired
            };
            Ok((Some(c.record), state))
        }
        Err(crate::store::StoreError::NotFound) => Ok((None, LinkState::Unknown)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /confirm/{token}`: the requester's rating (one of 非常满意, 满意, 一般, 不满意) and
/// an optional comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub rating: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub comment: Option<String>,
}

impl Labels for Confirmation {
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("rating", "服务评价"), ("comment", "意见")];
}

/// Confirms and rates the record of a link, once, before it expires. `by` is the account
/// signed in on the confirming browser, if any: a requester account then sees the record
/// among its own (`GET /work-records`); an anonymous confirmation is nobody's.
pub async fn confirm(
    ctx: &Ctx,
    token: &str,
    c: Confirmation,
    by: Option<&AuthUser>,
) -> AppResult<RecordRow> {
    let mut errs = Vec::new();
    let rating = c.rating.trim().to_string();
    if !crate::domain::operations::RATINGS.contains(&rating.as_str()) {
        errs.push(FieldError::new(
            "rating",
            format!(
                "请选择评价：{}",
                crate::domain::operations::RATINGS.join("、")
            ),
        ));
    }
    let comment = c
        .comment
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if comment.as_ref().is_some_and(|s| s.chars().count() > 500) {
        errs.push(FieldError::new("comment", "意见不能超过 500 字"));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (_, state) = confirmation_view(ctx, token).await?;
    match state {
        LinkState::Open => {}
        LinkState::Expired => {
            return Err(AppError::Conflict(
                "确认链接已过期，请联系运营人员重新发送".into(),
            ));
        }
        LinkState::Unknown => return Err(AppError::NotFound),
    }
    let now_ms = ctx.clock.now_ms();
    let mut tx = ctx.store.write_tx().await?;
    let Some(id) = ctx
        .store
        .confirm_record(
            &mut tx,
            &token_hash(token),
            &rating,
            comment.as_deref(),
            by.map(|u| u.id),
            now_ms,
        )
        .await?
    else {
        // Used or expired between the look and the write.
        return Err(AppError::NotFound);
    };
    NewAuditEvent::of(
        "confirm",
        "work_records",
        id,
        format!("服务对象确认运营记录 #{id}，评价：{rating}"),
    )
    .after(json!({"rating": rating, "comment": comment}))
    .write(
        &mut tx,
        now_ms,
        &by.map_or_else(
            || AuthUser::system("confirmation-link").actor(),
            AuthUser::actor,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ctx.store.work_record(id).await?)
}
