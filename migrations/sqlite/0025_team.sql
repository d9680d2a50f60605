-- Team compliance and personnel changes (issue 13, items 3 and 4).
-- Staff records gain their team role, key-staff flag, qualifications, years of experience
-- and of project management, and whether they are still on the team.
ALTER TABLE staff ADD COLUMN team_role TEXT;
ALTER TABLE staff ADD COLUMN key_staff TEXT NOT NULL DEFAULT 'no';
ALTER TABLE staff ADD COLUMN qualifications TEXT;
ALTER TABLE staff ADD COLUMN years_experience BIGINT;
ALTER TABLE staff ADD COLUMN pm_years BIGINT;
-- active or left; left_on is the day the member left (YYYY-MM-DD).
ALTER TABLE staff ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE staff ADD COLUMN left_on TEXT;

-- A member's certificates (证书), each with its expiry (YYYY-MM-DD, NULL: does not expire).
CREATE TABLE staff_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    number TEXT,
    issued_on TEXT,
    expires_on TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_certificates_staff ON staff_certificates(staff_id);

-- A member's documents: employment_proof (社保证明) or confidentiality (保密协议), the file
-- stored under the data directory, valid from/until (YYYY-MM-DD).
CREATE TABLE staff_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    uploaded_by BIGINT,
    uploaded_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_documents_staff ON staff_documents(staff_id, kind);

-- Personnel changes (人员变更): a written request from the contractor
-- (contractor_request) or the purchaser's request to replace the manager
-- (purchaser_request, due within two weeks). requested -> approved | refused; staffing
-- changes only on approval.
CREATE TABLE personnel_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    leaving_staff_id BIGINT NOT NULL REFERENCES staff(id),
    -- An existing member who joins, or (joining_data, JSON) a new one created on approval.
    joining_staff_id BIGINT REFERENCES staff(id),
    joining_data TEXT,
    reason TEXT NOT NULL,
    justification TEXT,
    -- The comparison of the incoming member's qualifications with the outgoing one's (JSON).
    comparison TEXT,
    less_qualified BIGINT NOT NULL DEFAULT 0,
    -- JSON array of the status changes: {from, to, comment, at, by}.
    history TEXT NOT NULL DEFAULT '[]',
    -- purchaser_request: when the replacement is due (epoch ms).
    due_at BIGINT,
    decided_at BIGINT,
    decided_by BIGINT,
    decision_comment TEXT,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX personnel_changes_status ON personnel_changes(status, created_at);
CREATE INDEX personnel_changes_leaving ON personnel_changes(leaving_staff_id);
