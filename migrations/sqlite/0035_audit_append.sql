-- PostgreSQL appends audit records through a function (migrations/postgres/0035); SQLite
-- appends them in Rust (store/audit.rs) and needs nothing. This file keeps the two
-- schemas at the same version, which cross-backend restores compare.
SELECT 1;
