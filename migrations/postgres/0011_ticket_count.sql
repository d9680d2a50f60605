-- The number of tickets kept by triggers, so the unfiltered list never counts 100k rows
-- after each write. Keep in step with migrations/sqlite/0011_ticket_count.sql.
ALTER TABLE row_versions ADD COLUMN row_count BIGINT;
UPDATE row_versions SET row_count = (SELECT COUNT(*) FROM tickets) WHERE name = 'tickets';
CREATE FUNCTION count_tickets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_versions SET row_count = row_count + (SELECT COUNT(*) FROM new_rows) WHERE name = 'tickets';
    RETURN NULL;
END $$;
CREATE FUNCTION count_tickets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_versions SET row_count = row_count - (SELECT COUNT(*) FROM old_rows) WHERE name = 'tickets';
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION count_tickets_inserted();
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION count_tickets_deleted();
