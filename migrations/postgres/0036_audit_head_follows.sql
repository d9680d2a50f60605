-- SQLite moves the audit chain's head in a trigger (migrations/sqlite/0036); PostgreSQL
-- appends through audit_append (0035), which moves it already. This file keeps the two
-- schemas at the same version, which cross-backend restores compare.
SELECT 1;
