//! `FieldError`: one problem with one field (or one cell of an import), with a Chinese
//! message that says what to fix. Validation in the domain returns these; the HTTP edge
//! (`crate::error::AppError::Validation`) turns a list of them into a 422.

use serde::Serialize;

/// One problem with one field (or one cell of an import).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
