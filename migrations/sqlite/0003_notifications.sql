-- Notifications: channels (secrets encrypted), rules, and the delivery outbox.
-- Keep in step with migrations/postgres/0003_notifications.sql.

CREATE TABLE notification_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    secret_enc TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE notification_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    channel_id BIGINT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    to_assignee BIGINT NOT NULL DEFAULT 0,
    to_requester BIGINT NOT NULL DEFAULT 0,
    priority TEXT,
    system_id BIGINT REFERENCES systems(id) ON DELETE CASCADE,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_rules_event ON notification_rules(event);

-- One row per message to deliver. The idempotency key makes enqueueing the same event
-- twice a no-op and travels with the message so receivers can drop a redelivery.
CREATE TABLE notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel_id BIGINT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    ticket_id BIGINT,
    recipient TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX notification_outbox_due ON notification_outbox(status, next_attempt_at);
