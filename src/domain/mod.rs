//! Pure types and rules per module: no HTTP, no SQL.

pub mod calendar;
pub mod desk_stats;
pub mod entity;
pub mod holidays;
pub mod inventory;
pub mod password;
pub mod roles;
pub mod sla;
pub mod text;
pub mod tickets;
