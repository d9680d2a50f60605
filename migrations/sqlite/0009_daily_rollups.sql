-- Daily rollups (Beijing days) summed from the hourly ones, so a year of availability
-- reads 365 rows per monitor instead of 8,760.

CREATE TABLE monitor_daily (
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    up_ms BIGINT NOT NULL,
    down_ms BIGINT NOT NULL,
    maintenance_ms BIGINT NOT NULL,
    unknown_ms BIGINT NOT NULL,
    checks BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, day)
);
