-- A ticket's in-app messages and outbox rows, found by the ticket. A new ticket's number
-- replaces the provisional one in them (ticket_finalize, 0037) while the day's counter and
-- the audit chain's head are held; without these indexes each creation scanned both tables
-- whole, so every ticket made the next one slower and held those two rows longer.
CREATE INDEX user_messages_ticket ON user_messages(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX notification_outbox_ticket ON notification_outbox(ticket_id) WHERE ticket_id IS NOT NULL;
