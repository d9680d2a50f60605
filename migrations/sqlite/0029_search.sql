-- Global search (issue 15, item 7): one row per searchable record (ticket, asset, system,
-- staff) with its text cut into CJK bigrams and latin/digit words by
-- domain::search::doc_terms, and an FTS5 index (unicode61 over those terms) kept in step
-- by triggers. Written in the same transaction as the record; rebuilt at start when empty.
-- Keep in step with migrations/postgres/0029_search.sql.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- ticket, asset, system or staff.
    kind TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    -- The ticket number (matched by prefix), else NULL.
    key TEXT,
    title TEXT NOT NULL,
    -- The text a snippet is cut from (a ticket's description), bounded.
    body TEXT,
    -- A resolved ticket's resolution (its knowledge), bounded.
    resolution TEXT,
    -- The requester of a ticket (a requester sees only their own).
    owner_id BIGINT,
    -- Filter tokens: kticket/kasset/ksystem/kstaff, o<owner id>, kb (knowledge).
    tags TEXT NOT NULL,
    -- The space-joined terms.
    terms TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX search_docs_key ON search_docs(key);

CREATE VIRTUAL TABLE search_fts USING fts5(
    tags, terms, content='search_docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 0'
);

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts(rowid, tags, terms) VALUES (new.id, new.tags, new.terms);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, tags, terms) VALUES ('delete', old.id, old.tags, old.terms);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE OF tags, terms ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, tags, terms) VALUES ('delete', old.id, old.tags, old.terms);
    INSERT INTO search_fts(rowid, tags, terms) VALUES (new.id, new.tags, new.terms);
END;
