-- Service desk: calendars, SLA policies, tickets with their timeline and SLA clock
-- events. Keep in step with migrations/postgres/0002_service_desk.sql.

CREATE TABLE calendars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    periods TEXT,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Exceptions to Monday–Friday: holidays (working = 0) and make-up working days (1).
CREATE TABLE calendar_days (
    calendar_id BIGINT NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    working BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (calendar_id, day)
);

CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority TEXT NOT NULL,
    system_id BIGINT REFERENCES systems(id) ON DELETE CASCADE,
    calendar_id BIGINT NOT NULL REFERENCES calendars(id),
    response_minutes BIGINT,
    onsite_minutes BIGINT,
    resolve_minutes BIGINT,
    warn_percent BIGINT NOT NULL DEFAULT 75,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sla_policies_match ON sla_policies(kind, priority, system_id);

CREATE TABLE ticket_counters (
    day TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    change_type TEXT,
    title TEXT NOT NULL,
    description TEXT,
    system_id BIGINT REFERENCES systems(id),
    asset_id BIGINT REFERENCES assets(id),
    category TEXT,
    source TEXT NOT NULL,
    requester_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    requester_name TEXT,
    requester_contact TEXT,
    reported_at BIGINT NOT NULL,
    impact TEXT NOT NULL,
    urgency TEXT NOT NULL,
    priority TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    pending_reason TEXT,
    sla_policy_id BIGINT REFERENCES sla_policies(id) ON DELETE SET NULL,
    calendar_id BIGINT REFERENCES calendars(id),
    response_due_at BIGINT,
    onsite_due_at BIGINT,
    resolve_due_at BIGINT,
    sla_breached BIGINT NOT NULL DEFAULT 0,
    first_response_at BIGINT,
    onsite_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    cancel_reason TEXT,
    reopen_count BIGINT NOT NULL DEFAULT 0,
    fault_report TEXT,
    resolution TEXT,
    satisfaction BIGINT,
    satisfaction_comment TEXT,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tickets_status ON tickets(status, priority);
CREATE INDEX tickets_requester ON tickets(requester_id, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, status);
CREATE INDEX tickets_system ON tickets(system_id, id);
CREATE INDEX tickets_reported ON tickets(reported_at);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT,
    internal BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

CREATE TABLE sla_clock_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    target_seconds BIGINT,
    reason TEXT NOT NULL
);
CREATE INDEX sla_clock_events_ticket ON sla_clock_events(ticket_id, id);

CREATE TABLE ticket_links (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    other_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, other_id, kind)
);

CREATE TABLE ticket_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_id BIGINT,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    internal BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments(ticket_id, id);

CREATE TABLE worklogs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id BIGINT,
    user_name TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    note TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX worklogs_ticket ON worklogs(ticket_id);

-- Row-set versions: bumped by every write to a listed table, so list totals can be
-- cached until the table changes (COUNT(*) over 100k rows dominated list requests).
CREATE TABLE row_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO row_versions (name, version) VALUES ('sites', 0);
INSERT INTO row_versions (name, version) VALUES ('assets', 0);
INSERT INTO row_versions (name, version) VALUES ('systems', 0);
INSERT INTO row_versions (name, version) VALUES ('staff', 0);
INSERT INTO row_versions (name, version) VALUES ('assignments', 0);
INSERT INTO row_versions (name, version) VALUES ('tickets', 0);
CREATE TRIGGER sites_version_insert AFTER INSERT ON sites
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'sites'; END;
CREATE TRIGGER sites_version_update AFTER UPDATE ON sites
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'sites'; END;
CREATE TRIGGER sites_version_delete AFTER DELETE ON sites
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'sites'; END;
CREATE TRIGGER assets_version_insert AFTER INSERT ON assets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assets'; END;
CREATE TRIGGER assets_version_update AFTER UPDATE ON assets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assets'; END;
CREATE TRIGGER assets_version_delete AFTER DELETE ON assets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assets'; END;
CREATE TRIGGER systems_version_insert AFTER INSERT ON systems
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'systems'; END;
CREATE TRIGGER systems_version_update AFTER UPDATE ON systems
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'systems'; END;
CREATE TRIGGER systems_version_delete AFTER DELETE ON systems
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'systems'; END;
CREATE TRIGGER staff_version_insert AFTER INSERT ON staff
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'staff'; END;
CREATE TRIGGER staff_version_update AFTER UPDATE ON staff
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'staff'; END;
CREATE TRIGGER staff_version_delete AFTER DELETE ON staff
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'staff'; END;
CREATE TRIGGER assignments_version_insert AFTER INSERT ON assignments
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assignments'; END;
CREATE TRIGGER assignments_version_update AFTER UPDATE ON assignments
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assignments'; END;
CREATE TRIGGER assignments_version_delete AFTER DELETE ON assignments
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'assignments'; END;
CREATE TRIGGER tickets_version_insert AFTER INSERT ON tickets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'tickets'; END;
CREATE TRIGGER tickets_version_update AFTER UPDATE ON tickets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'tickets'; END;
CREATE TRIGGER tickets_version_delete AFTER DELETE ON tickets
BEGIN UPDATE row_versions SET version = version + 1 WHERE name = 'tickets'; END;

CREATE INDEX assets_status ON assets(status, id);
CREATE INDEX assets_category_quantity ON assets(category, quantity);
