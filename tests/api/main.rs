//! Black-box tests: the real application over HTTP, on SQLite or (TEST_DATABASE_URL)
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod audit;
mod auth;
mod backup;
mod browser;
mod cloud;
mod contract;
mod deliverables;
mod demo;
mod desk;
mod durability;
mod hardening;
mod headers;
mod holidays;
mod import_export;
mod inspection_photos;
mod inspections;
mod inventory;
mod load;
mod monitor_hardening;
mod monitoring;
mod notify;
mod om_report;
mod operations;
mod operations_docs;
mod ops;
mod recovery;
mod requirements;
mod roles;
mod team;
mod ticket_paging;
mod tls_trust;
mod ui;
