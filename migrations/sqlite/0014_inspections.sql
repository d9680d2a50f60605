-- Inspections (巡检): templates of check items, plans that schedule rounds of tasks over
-- targets, the tasks with their readings and review, and the findings that become tickets.
-- Keep in step with migrations/postgres/0014_inspections.sql.

CREATE TABLE inspection_templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    target_type TEXT NOT NULL,
    category TEXT,
    description TEXT,
    -- The ordered items as JSON (domain::inspection::template::Item).
    items TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE inspection_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    template_id BIGINT NOT NULL REFERENCES inspection_templates(id),
    -- 'listed' (target_ids), 'category' (every asset of the template's or plan's
    -- category), 'all' (every target of the template's type).
    target_mode TEXT NOT NULL,
    target_ids TEXT NOT NULL DEFAULT '[]',
    category TEXT,
    -- Cron in Beijing time: when a round starts.
    schedule TEXT NOT NULL,
    -- Minutes from a round's start to its tasks' due time.
    due_minutes BIGINT NOT NULL,
    -- 'assigned' (the target's staff from the inventory, else assignee_id) or 'user'.
    assignee_rule TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    active BIGINT NOT NULL DEFAULT 1,
    -- Rounds are generated up to this time (ms).
    generated_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE inspection_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id BIGINT REFERENCES inspection_plans(id) ON DELETE SET NULL,
    template_id BIGINT NOT NULL REFERENCES inspection_templates(id),
    -- The template's name and items when the task was made: later edits of the template
    -- do not change what was inspected.
    template_name TEXT NOT NULL,
    items TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    target_name TEXT NOT NULL,
    system_id BIGINT REFERENCES systems(id) ON DELETE SET NULL,
    round_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    readings TEXT NOT NULL DEFAULT '{}',
    started_at BIGINT,
    submitted_at BIGINT,
    reviewed_at BIGINT,
    reviewer_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    review_comment TEXT,
    findings BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- A round is generated once per plan, start time and target, whatever runs it.
CREATE UNIQUE INDEX inspection_tasks_round ON inspection_tasks(plan_id, round_at, target_type, target_id);
CREATE INDEX inspection_tasks_due ON inspection_tasks(due_at);
CREATE INDEX inspection_tasks_assignee ON inspection_tasks(assignee_id, due_at);
CREATE INDEX inspection_tasks_status ON inspection_tasks(status, due_at);

CREATE TABLE inspection_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES inspection_tasks(id) ON DELETE CASCADE,
    item_key TEXT NOT NULL,
    label TEXT NOT NULL,
    detail TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets(id) ON DELETE SET NULL,
    -- 'open' or 'rectified' (整改完成: the ticket was resolved).
    status TEXT NOT NULL DEFAULT 'open',
    created_at BIGINT NOT NULL,
    rectified_at BIGINT
);
-- One finding (and so one ticket) per task and item, however often it is submitted.
CREATE UNIQUE INDEX inspection_findings_item ON inspection_findings(task_id, item_key);
CREATE INDEX inspection_findings_ticket ON inspection_findings(ticket_id);
