-- A monitor may resolve its alert's ticket by itself when the target recovers.
ALTER TABLE monitors ADD COLUMN auto_resolve BIGINT NOT NULL DEFAULT 0;
