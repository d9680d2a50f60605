//! Pure types and rules per module: no HTTP, no SQL.

pub mod acceptance;
pub mod backup;
pub mod backup_drill;
pub mod backup_eval;
pub mod calendar;
pub mod cloud;
pub mod contract;
pub mod deliverables;
pub mod demo;
pub mod desk_stats;
pub mod entity;
pub mod field_error;
pub mod history;
pub mod holidays;
pub mod home;
pub mod input;
pub mod inspection;
pub mod inventory;
pub mod monitor;
pub mod om;
pub mod operations;
pub mod password;
pub mod requirements;
pub mod roles;
pub mod search;
pub mod sla;
pub mod team;
pub mod text;
pub mod tickets;

pub use field_error::FieldError;
