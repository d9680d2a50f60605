-- Foundation schema (SQLite). Times are epoch milliseconds (UTC); booleans are 0/1 BIGINT
-- so that sqlx's Any driver decodes them on both backends. Keep in step with
-- migrations/postgres/0001_foundation.sql.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    password_hash TEXT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled BIGINT NOT NULL DEFAULT 0,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, created_at);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- One row: the head of the audit hash chain. Appending locks this row first, so the
-- chain is strictly sequential on both backends.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    purged_through BIGINT NOT NULL DEFAULT 0,
    purged_anchor TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, purged_through, purged_anchor)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
        '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    ip TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    summary TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id, seq);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor_name, seq);

-- Append-only: no update ever; deletion only of records older than 180 days (purge).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_keep_180_days BEFORE DELETE ON audit_events
WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 15552000000)
BEGIN SELECT RAISE(ABORT, 'audit_events younger than 180 days cannot be removed'); END;

CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    address TEXT,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE assets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id BIGINT REFERENCES sites(id),
    category TEXT NOT NULL,
    subsystem TEXT,
    name TEXT NOT NULL,
    brand_model TEXT,
    quantity BIGINT NOT NULL DEFAULT 1,
    unit TEXT,
    acquired TEXT,
    warranty_until TEXT,
    status TEXT NOT NULL DEFAULT 'good',
    serial_no TEXT,
    ip TEXT,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX assets_category ON assets(category, id);
CREATE INDEX assets_site ON assets(site_id);
CREATE INDEX assets_name ON assets(name);
CREATE INDEX assets_warranty ON assets(warranty_until);

-- Figures a source document declares (e.g. a table's subtotal), kept beside what is counted.
CREATE TABLE declared_counts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id BIGINT REFERENCES sites(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    label TEXT NOT NULL,
    declared BIGINT NOT NULL,
    source TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE systems (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT UNIQUE,
    name TEXT NOT NULL UNIQUE,
    owner_department TEXT,
    users_count BIGINT,
    data_volume_gb DOUBLE PRECISION,
    url TEXT,
    service_mode TEXT NOT NULL DEFAULT 'remote',
    stack TEXT,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    position TEXT,
    level TEXT,
    phone TEXT,
    email TEXT,
    work_mode TEXT NOT NULL DEFAULT 'remote',
    user_id BIGINT UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Staffing slots per system; staff_id NULL means the slot is not filled yet.
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id BIGINT NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
    duty TEXT NOT NULL,
    level TEXT,
    work_mode TEXT NOT NULL DEFAULT 'remote',
    staff_id BIGINT REFERENCES staff(id) ON DELETE SET NULL,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX assignments_system ON assignments(system_id);
CREATE INDEX assignments_staff ON assignments(staff_id);

CREATE TABLE system_assets (
    system_id BIGINT NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
    asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (system_id, asset_id)
);
CREATE INDEX system_assets_asset ON system_assets(asset_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
