-- Ticket list pages are found by an id-only scan first (store/desk.rs `ticket_rows`).
-- SQLite keeps rows in the id b-tree itself, so stepping over a deep offset there reads
-- every skipped row's page; this index holds ids only (about 25 times denser), and SQLite
-- takes it as a covering index for `ORDER BY id DESC LIMIT … OFFSET …`. PostgreSQL's
-- primary key index already serves that scan (index-only): see
-- migrations/postgres/0012_ticket_list_indexes.sql.
CREATE INDEX tickets_id ON tickets(id);
-- "Mine" lists (assignee_id = ?) newest first, without sorting all of an engineer's tickets.
CREATE INDEX tickets_assignee_id ON tickets(assignee_id, id);
