-- Monitoring and alerting: monitors with their persisted state, raw results, hourly
-- rollups, state changes, maintenance windows, alerts with their history, intake
-- integrations and the duty roster.
-- Keep in step with migrations/postgres/0008_monitoring.sql.

CREATE TABLE monitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    interval_s BIGINT NOT NULL DEFAULT 60,
    timeout_ms BIGINT NOT NULL,
    failures_before_down BIGINT NOT NULL DEFAULT 3,
    successes_before_up BIGINT NOT NULL DEFAULT 1,
    system_id BIGINT REFERENCES systems(id) ON DELETE SET NULL,
    asset_id BIGINT REFERENCES assets(id) ON DELETE SET NULL,
    depends_on BIGINT REFERENCES monitors(id) ON DELETE SET NULL,
    priority TEXT NOT NULL DEFAULT 'P2',
    config TEXT NOT NULL DEFAULT '{}',
    secret_enc TEXT,
    token TEXT UNIQUE,
    paused BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    base_state TEXT NOT NULL DEFAULT 'pending',
    state_since BIGINT NOT NULL,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    consecutive_successes BIGINT NOT NULL DEFAULT 0,
    last_check_at BIGINT,
    last_ok BIGINT,
    last_latency_ms DOUBLE PRECISION,
    last_phase TEXT,
    last_message TEXT,
    hb_last_ping_at BIGINT,
    hb_started_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX monitors_system ON monitors(system_id);
CREATE INDEX monitors_asset ON monitors(asset_id);

-- One row per probe (or heartbeat). `covers_ms` is how long the result stands for (the
-- interval, or the time to the heartbeat deadline), so availability never guesses.
CREATE TABLE monitor_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    covers_ms BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    class TEXT NOT NULL,
    latency_ms DOUBLE PRECISION,
    phase TEXT,
    message TEXT
);
CREATE INDEX monitor_results_monitor_at ON monitor_results(monitor_id, at);
CREATE INDEX monitor_results_at ON monitor_results(at);

-- Seconds per class and hour, kept for years.
CREATE TABLE monitor_rollups (
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    up_ms BIGINT NOT NULL,
    down_ms BIGINT NOT NULL,
    maintenance_ms BIGINT NOT NULL,
    unknown_ms BIGINT NOT NULL,
    checks BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    latency_avg_ms DOUBLE PRECISION,
    latency_max_ms DOUBLE PRECISION,
    PRIMARY KEY (monitor_id, hour)
);
CREATE INDEX monitor_rollups_hour ON monitor_rollups(hour);

CREATE TABLE monitor_state_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX monitor_state_changes_monitor ON monitor_state_changes(monitor_id, at);

-- Maintenance: one-off (starts_at..ends_at) or recurring (weekly days + daily window,
-- until `ends_at`). A window with no monitor and no system applies to everything.
CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT REFERENCES monitors(id) ON DELETE CASCADE,
    system_id BIGINT REFERENCES systems(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    owner TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    recurrence TEXT,
    created_by BIGINT,
    created_at BIGINT NOT NULL
);

-- One row per alert identity (dedup key); episodes reuse it.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    integration_id BIGINT,
    monitor_id BIGINT REFERENCES monitors(id) ON DELETE SET NULL,
    system_id BIGINT,
    asset_id BIGINT,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    labels TEXT,
    ticket_id BIGINT,
    episodes BIGINT NOT NULL DEFAULT 1,
    fire_count BIGINT NOT NULL DEFAULT 1,
    started_at BIGINT NOT NULL,
    last_fired_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at BIGINT,
    escalated_at BIGINT,
    silenced_until BIGINT,
    silence_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX alerts_status ON alerts(status, last_fired_at);
CREATE INDEX alerts_ticket ON alerts(ticket_id);

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    idempotency_key TEXT UNIQUE
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, at);

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    system_id BIGINT REFERENCES systems(id) ON DELETE SET NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    last_event_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- 值班表: who is on call when.
CREATE TABLE duty_shifts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    role TEXT NOT NULL DEFAULT 'primary',
    note TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX duty_shifts_time ON duty_shifts(starts_at, ends_at);
