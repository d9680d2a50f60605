-- Demo data (issue 15, item 10): every row the simulated demo history generated, by table
-- and id, so pages can badge it as 演示数据 and an admin can list or remove it later. The
-- contract's own facts (inventory, service lines, deliverables, policies) are not listed:
-- they are the seed, not a simulation.
CREATE TABLE demo_items (
    tbl TEXT NOT NULL,
    row_id BIGINT NOT NULL,
    PRIMARY KEY (tbl, row_id)
);
