-- Display links (issue 15): a read-only link to the wall display (大屏) that an admin
-- creates and revokes. The link's secret token is stored only as its SHA-256; opening it
-- needs no login and creates no session.
CREATE TABLE display_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT,
    token_hash TEXT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by BIGINT,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX display_links_token ON display_links(token_hash);
