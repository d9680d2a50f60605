-- Every ticket write bumps the `tickets` row of row_versions (the list caches' version and
-- the table's size). As statement triggers that ran at the write, the row stayed locked from
-- a transaction's first ticket write to its commit, so all ticket writes ran one at a time.
-- As deferred constraint triggers they run at commit: the row is held only while committing.
-- SQLite has a single writer and needs no such change.
DROP TRIGGER tickets_version ON tickets;
DROP TRIGGER tickets_count_insert ON tickets;
DROP TRIGGER tickets_count_delete ON tickets;
CREATE FUNCTION bump_tickets_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_versions SET version = version + 1,
        row_count = row_count + CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 ELSE 0 END
    WHERE name = 'tickets';
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER tickets_version AFTER INSERT OR UPDATE OR DELETE ON tickets
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_tickets_version();
