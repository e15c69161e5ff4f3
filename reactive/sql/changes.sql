-- Change capture and the change log. Every registered table has a row trigger that calls
-- reactive_capture_v1 with the table name and the index-key columns of the old and new row.
-- Rows are read back by transaction visibility (DESIGN §4): the writer's xid8 is in each row.

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

-- name: changes_since
-- Rows committed after `last` was taken and visible now (call inside the new snapshot).
SELECT tbl, op, old, new
FROM reactive_change
WHERE xid >= pg_snapshot_xmin(%(last)s::pg_snapshot)
  AND NOT pg_visible_in_snapshot(xid, %(last)s::pg_snapshot)
ORDER BY id;

-- name: current_snapshot
-- The tick's snapshot, kept to read the next tick's changes by visibility. (Its timestamp is not
-- derived from it: xmin is held back by any transaction on the server; see reactive.clock.)
SELECT pg_current_snapshot()::text;

-- name: prune_changes
-- Rows every live listener has passed, or (with no live listener) older than the retention.
-- (With no listener, any committed row may go: xmax, not xmin, which any transaction anywhere
-- on the server would hold back.)
DELETE FROM reactive_change
WHERE xid < coalesce(
    (SELECT min(pg_snapshot_xmin(snapshot::pg_snapshot)) FROM reactive_listener
     WHERE heartbeat > now() - make_interval(secs => %(stale_seconds)s)),
    pg_snapshot_xmax(pg_current_snapshot()))
  AND (EXISTS (SELECT 1 FROM reactive_listener
               WHERE heartbeat > now() - make_interval(secs => %(stale_seconds)s))
       OR created < now() - make_interval(secs => %(retention_seconds)s));

-- name: listener_heartbeat
INSERT INTO reactive_listener (id, snapshot, heartbeat) VALUES (%(id)s, %(snapshot)s, now())
ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, heartbeat = now();

-- name: listener_forget
DELETE FROM reactive_listener WHERE id = %(id)s OR heartbeat < now() - interval '1 hour';
