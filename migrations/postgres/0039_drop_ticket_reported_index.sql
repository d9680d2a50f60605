-- tickets_reported (reported_at) is a prefix of tickets_reported_outcome (reported_at,
-- status, sla_breached, migration 0031), which serves every range on reported_at the
-- first one did (the ticket list's period filter, the statistics' and the homes' month
-- counts). Every ticket creation wrote both; now one (issue 9: pages per ticket).
DROP INDEX IF EXISTS tickets_reported;
