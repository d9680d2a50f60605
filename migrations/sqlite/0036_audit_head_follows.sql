-- The audit chain's head takes the hash of the record just appended, in the INSERT's own
-- statement: on SQLite each statement is a round trip to sqlx's worker thread, and every
-- audited write appends a record (store/audit.rs). The condition keeps any other insert
-- (a restore copying old records) from moving the head: only the record whose sequence
-- number the head has just been given matches it.
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_events
WHEN NEW.seq = (SELECT seq FROM audit_head WHERE id = 1)
BEGIN UPDATE audit_head SET hash = NEW.hash WHERE id = 1; END;
