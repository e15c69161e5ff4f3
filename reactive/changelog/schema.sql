-- The change log and the function every capture trigger calls, installed by reactive's
-- migration 0001. Every registered table has a row trigger that calls reactive_capture_v1
-- with the table name and the index-key columns of the old and new row. Rows are read back
-- by transaction visibility (DESIGN §4): the writer's xid8 is in each row.

-- name: create_change_log
CREATE TABLE IF NOT EXISTS reactive_change (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    tbl text NOT NULL,
    op char(1) NOT NULL,
    old jsonb,
    new jsonb,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reactive_change_xid ON reactive_change (xid);
CREATE OR REPLACE FUNCTION reactive_capture_v1(tbl text, op text, old jsonb, new jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reactive_change (tbl, op, old, new) VALUES (tbl, left(op, 1), old, new);
    -- NOTIFY takes a cluster-wide lock at commit; the executor wakes listeners itself and sets
    -- reactive.skip_notify when another channel (the Channels layer) reaches other processes.
    IF coalesce(current_setting('reactive.skip_notify', true), '') <> 'on' THEN
        PERFORM pg_notify('reactive_changes', tbl);
    END IF;
END
$$;

-- name: drop_change_log
DROP FUNCTION IF EXISTS reactive_capture_v1(text, text, jsonb, jsonb);
DROP TABLE IF EXISTS reactive_change;
