-- The role homes (src/homes.rs): open tickets by resolve time (SLA at risk); the latest
-- 督办 steps; audit highlights by action; SLA compliance of a month from the index alone.
-- The partial index's condition is repeated word for word by the queries (store/homes.rs
-- `OPEN`): SQLite uses a partial index only then.
CREATE INDEX tickets_open_assignee_due ON tickets(assignee_id, resolve_due_at) WHERE status IN ('new','assigned','in_progress','pending');
CREATE INDEX tickets_open_due ON tickets(resolve_due_at) WHERE status IN ('new','assigned','in_progress','pending');
CREATE INDEX ticket_events_kind ON ticket_events(kind, id);
CREATE INDEX audit_events_action ON audit_events(action, seq);
CREATE INDEX tickets_reported_outcome ON tickets(reported_at, status, sla_breached);
