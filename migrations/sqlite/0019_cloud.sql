-- Cloud resources (云资源, service line 4.2.14.3): one row per resource and month, imported
-- from the cloud platform's utilisation export; importing a month again replaces it.
CREATE TABLE cloud_resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- The inventory system the resource serves (no foreign key: a system removed from the
    -- inventory leaves its history readable).
    system_id BIGINT NOT NULL,
    -- YYYY-MM.
    period TEXT NOT NULL,
    vcpu BIGINT NOT NULL,
    memory_gb DOUBLE PRECISION NOT NULL,
    disk_gb DOUBLE PRECISION NOT NULL,
    -- Utilisation in percent (0-100).
    cpu_avg DOUBLE PRECISION NOT NULL,
    cpu_peak DOUBLE PRECISION NOT NULL,
    mem_avg DOUBLE PRECISION NOT NULL,
    mem_peak DOUBLE PRECISION NOT NULL,
    disk_used DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX cloud_resources_month ON cloud_resources(period, system_id, name);
CREATE INDEX cloud_resources_system ON cloud_resources(system_id, period);
