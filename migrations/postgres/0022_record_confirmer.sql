-- Who confirmed a work record, when the requester was signed in while confirming through
-- the link (anonymous confirmations leave it empty): a requester account sees exactly the
-- records it confirmed.
ALTER TABLE work_records ADD COLUMN confirmed_by BIGINT REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX work_records_confirmed_by ON work_records(confirmed_by);
