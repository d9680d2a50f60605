-- A requester confirms and rates a work record through a link, without an account: the
-- link's token is stored as its SHA-256 hash, used once, and expires.
ALTER TABLE work_records ADD COLUMN confirm_token_hash TEXT;
ALTER TABLE work_records ADD COLUMN confirm_expires_at BIGINT;
CREATE UNIQUE INDEX work_records_confirm_token ON work_records(confirm_token_hash);
