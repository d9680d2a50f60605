-- Appending an audit record in one call. The chain's head row is locked from the moment a
-- record takes its sequence number until the transaction commits, so every audited write
-- waits there for the one before it. Taking the head, hashing, inserting the record and
-- moving the head used to be three client round trips; as one function they are one, and a
-- ticket creation draws its number and appends its record in the same statement
-- (store/desk/tickets.rs, `finalize_ticket_number_pg`).
--
-- The hash is exactly the one `store::audit::record_hash` computes and `audit verify`
-- recomputes: SHA-256 (hex) of the compact JSON array
--   [prev_hash, seq, at, actor_id, actor_name, ip, action, entity_type, entity_id,
--    summary, before_json, after_json]
-- with strings escaped as serde_json escapes them (PostgreSQL's to_json escapes the same
-- characters the same way: \" \\ \b \f \n \r \t and \u00xx for other controls, lowercase).
-- SQLite appends in Rust and has no such function (migrations/sqlite/0035 is empty).
CREATE FUNCTION audit_append(p_at BIGINT, p_actor_id BIGINT, p_actor_name TEXT, p_ip TEXT,
    p_action TEXT, p_entity_type TEXT, p_entity_id TEXT, p_summary TEXT, p_before TEXT,
    p_after TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    s BIGINT;
    prev TEXT;
    h TEXT;
BEGIN
    UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash INTO s, prev;
    h := encode(sha256(convert_to(
        '[' || to_json(prev)::text
        || ',' || s::text
        || ',' || p_at::text
        || ',' || coalesce(p_actor_id::text, 'null')
        || ',' || to_json(p_actor_name)::text
        || ',' || coalesce(to_json(p_ip)::text, 'null')
        || ',' || to_json(p_action)::text
        || ',' || to_json(p_entity_type)::text
        || ',' || coalesce(to_json(p_entity_id)::text, 'null')
        || ',' || to_json(p_summary)::text
        || ',' || coalesce(to_json(p_before)::text, 'null')
        || ',' || coalesce(to_json(p_after)::text, 'null')
        || ']', 'UTF8')), 'hex');
    INSERT INTO audit_events (seq, at, actor_id, actor_name, ip, action, entity_type, entity_id,
        summary, before_json, after_json, prev_hash, hash)
    VALUES (s, p_at, p_actor_id, p_actor_name, p_ip, p_action, p_entity_type, p_entity_id,
        p_summary, p_before, p_after, prev, h);
    UPDATE audit_head SET hash = h WHERE id = 1;
    RETURN s;
END $$;
