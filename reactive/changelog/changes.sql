-- Reading the change log back by visibility (changes.py), pruning it, and the listeners'
-- heartbeats that bound the pruning.

-- name: changes_since
-- Rows committed after `last` was taken and visible now (call inside the new snapshot).
SELECT tbl, op, old, new
FROM reactive_change
WHERE xid >= pg_snapshot_xmin(%(last)s::pg_snapshot)
  AND NOT pg_visible_in_snapshot(xid, %(last)s::pg_snapshot)
ORDER BY id;

-- name: tick_start
-- A listener tick's first statement, one round trip: it takes the transaction's snapshot
-- (returned as text), sets the transaction's statement timeout for the statements after it,
-- and reads the rows committed after `last` was taken and visible in that snapshot (none when
-- `last` is null: a row of nulls beside the snapshot).
SELECT s.snapshot::text, s.timeout, c.tbl, c.op, c.old, c.new
FROM (SELECT pg_current_snapshot() AS snapshot,
             set_config('statement_timeout', %(timeout)s, true) AS timeout) AS s
LEFT JOIN reactive_change AS c
  ON c.xid >= pg_snapshot_xmin(%(last)s::pg_snapshot)
 AND NOT pg_visible_in_snapshot(c.xid, %(last)s::pg_snapshot)
ORDER BY c.id;

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
