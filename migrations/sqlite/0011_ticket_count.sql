-- The number of tickets kept by triggers, so the unfiltered list never counts 100k rows
-- after each write. Keep in step with migrations/postgres/0011_ticket_count.sql.
ALTER TABLE row_versions ADD COLUMN row_count BIGINT;
UPDATE row_versions SET row_count = (SELECT COUNT(*) FROM tickets) WHERE name = 'tickets';
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets
BEGIN UPDATE row_versions SET row_count = row_count + 1 WHERE name = 'tickets'; END;
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets
BEGIN UPDATE row_versions SET row_count = row_count - 1 WHERE name = 'tickets'; END;
