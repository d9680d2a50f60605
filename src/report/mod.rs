//! Documents the contract asks for, rendered in Chinese: DOCX through docx-rs.

pub mod docx;
pub mod fault;
pub mod xlsx;
