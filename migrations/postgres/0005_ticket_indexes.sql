-- Ticket lists filtered by system and status, newest first.
CREATE INDEX tickets_system_status ON tickets(system_id, status, id);
CREATE INDEX tickets_status_id ON tickets(status, id);
