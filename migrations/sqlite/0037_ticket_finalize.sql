-- PostgreSQL draws a new ticket's number in a function (migrations/postgres/0037); SQLite,
-- with its one writer, draws it first and needs nothing. This file keeps the two schemas
-- at the same version, which cross-backend restores compare.
SELECT 1;
