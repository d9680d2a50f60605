-- When the SLA monitor next needs to look at a ticket (a warning or due time); it only
-- reads tickets whose time has come instead of every open ticket.
ALTER TABLE tickets ADD COLUMN sla_next_check_at BIGINT;
UPDATE tickets SET sla_next_check_at = 0 WHERE status NOT IN ('closed', 'canceled');
CREATE INDEX tickets_sla_next_check ON tickets(sla_next_check_at);
