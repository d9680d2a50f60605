-- "Mine" lists (assignee_id = ?) newest first, without sorting all of an engineer's tickets.
-- (SQLite also gets an ids-only index for deep list offsets here; PostgreSQL's primary key
-- index already serves that scan index-only: see migrations/sqlite/0012_ticket_list_indexes.sql.)
CREATE INDEX tickets_assignee_id ON tickets(assignee_id, id);
