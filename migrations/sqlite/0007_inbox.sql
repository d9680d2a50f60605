-- In-app messages (站内消息): what the desk tells a user without any configured channel —
-- 督办 to the assignee and managers, SLA escalation to managers and the supervisor.
-- Keep in step with migrations/postgres/0007_inbox.sql.

CREATE TABLE user_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    ticket_id BIGINT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX user_messages_user ON user_messages(user_id, read_at, id);
