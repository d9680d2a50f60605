//! Backup oversight (issue 14) as a service: policies with their secret report URLs
//! (`policies`), the runs reported through them or recorded by hand (`runs`), restore
//! drills (`drills`) and the evidence files of drills and runs (`evidence`).
//!
//! Roles (`domain::backup`): the engineer, the manager and the admin write; everyone but
//! requesters reads; the report URL needs no login, its token authenticates.

pub mod alerts;
pub mod coverage;
pub mod drills;
pub mod evidence;
pub mod policies;
pub mod runs;
pub mod scheduled;
pub mod success;

use crate::accounts::AuthUser;
use crate::domain::backup::{may_read, may_write};
use crate::error::{AppError, AppResult};

/// SHA-256 (hex) of a report token, as stored.
pub(crate) fn token_hash(token: &str) -> String {
    crate::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()))
}

/// A new random report token (64 hex digits) and its hash.
pub(crate) fn new_token() -> (String, String) {
    let mut raw = [0u8; 32];
    password_hash::rand_core::RngCore::fill_bytes(&mut password_hash::rand_core::OsRng, &mut raw);
    let token = crate::store::audit::hex(&raw);
    let hash = token_hash(&token);
    (token, hash)
}

pub(crate) fn need_read(u: &AuthUser) -> AppResult<()> {
    if may_read(u.role) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub(crate) fn need_write(u: &AuthUser) -> AppResult<()> {
    if may_write(u.role) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}
