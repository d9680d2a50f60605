-- A ticket's in-app messages and outbox rows, found by the ticket (PostgreSQL rewrites them
-- by ticket when a new ticket gets its number, migrations/postgres/0038; here the demo's
-- reset and any per-ticket lookup use them).
CREATE INDEX user_messages_ticket ON user_messages(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX notification_outbox_ticket ON notification_outbox(ticket_id) WHERE ticket_id IS NOT NULL;
