"""Functions at `testapp/bench:<name>`: counters read through the `by_name` index, so that a write
touches exactly the subscriptions of its own name (the benchmarks' precise workload). The
`testapp:counter_*` functions filter the whole table instead: every counter write touches them."""

from __future__ import annotations

from typing import Any

from reactive import mutation, query


@query
def get(ctx, name: str) -> Any:
    row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return None if row is None else row["value"]


def _bump(ctx, name: str) -> int:
    row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    if row is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation
def bump(ctx, name: str) -> int:
    return _bump(ctx, name)


@mutation(isolation="select_for_update")
def bump_locked(ctx, name: str) -> int:
    return _bump(ctx, name)


@query
def get_scan(ctx, name: str) -> Any:
    """The same answer as `get`, read by scanning the whole table: its read set is the table,
    so every counter write re-runs it (table-level invalidation)."""
    rows = [r for r in ctx.db.query("counters").collect() if r["name"] == name]
    return rows[0]["value"] if rows else None


#: Test hook: called by `bump_in_step` between its read and its write (with the counter's name).
IN_STEP: dict[str, Any] = {}


@mutation
def bump_in_step(ctx, name: str) -> int:
    """`bump`, pausing between the read and the write when a test asks (`IN_STEP`), so that
    concurrent calls interleave the same way every time."""
    row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    hook = IN_STEP.get(name)
    if hook is not None:
        hook()
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1
