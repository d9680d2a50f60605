-- A new ticket's final number and its creation's audit record, in one function. The
-- statement that draws the number runs in the commit's own round trip (store/lane.rs,
-- `Tx::run_at_commit`), which goes over the simple-query protocol and so has no prepared
-- statement: as one data-modifying WITH of seven parts it was parsed and planned again
-- for every ticket (a third of a lone creation's time). PL/pgSQL keeps the plans of a
-- function's statements for the session, so the call is the only thing planned.
--
-- It draws the day's next number, puts it in place of the provisional one (`p_prov`) in
-- the ticket, its timeline, its in-app messages, its outbox rows and its search entry,
-- appends the audit record (whose summary and `after` carry the number too) and answers
-- the number. The day's counter row and the audit chain's head are held from here to the
-- commit that follows in the same round trip.
CREATE FUNCTION ticket_finalize(p_day TEXT, p_prefix TEXT, p_id BIGINT, p_prov TEXT,
    p_at BIGINT, p_actor_id BIGINT, p_actor_name TEXT, p_ip TEXT, p_action TEXT,
    p_entity_type TEXT, p_entity_id TEXT, p_summary TEXT, p_before TEXT, p_after TEXT)
    RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    v_n BIGINT;
    v_num TEXT;
BEGIN
    INSERT INTO ticket_counters AS c (day, n) VALUES (p_day, 1)
        ON CONFLICT (day) DO UPDATE SET n = c.n + 1 RETURNING c.n INTO v_n;
    v_num := p_prefix || '-' || p_day || '-' || lpad(v_n::text, GREATEST(4, length(v_n::text)), '0');
    UPDATE tickets SET number = v_num WHERE id = p_id;
    UPDATE ticket_events SET summary = replace(summary, p_prov, v_num) WHERE ticket_id = p_id;
    UPDATE user_messages SET subject = replace(subject, p_prov, v_num),
        body = replace(body, p_prov, v_num) WHERE ticket_id = p_id;
    UPDATE notification_outbox SET subject = replace(subject, p_prov, v_num),
        body = replace(body, p_prov, v_num) WHERE ticket_id = p_id;
    UPDATE search_docs SET key = v_num WHERE kind = 'ticket' AND ref_id = p_id;
    PERFORM audit_append(p_at, p_actor_id, p_actor_name, p_ip, p_action, p_entity_type,
        p_entity_id, replace(p_summary, p_prov, v_num), p_before, replace(p_after, p_prov, v_num));
    RETURN v_num;
END $$;
