"""Functions at `testapp/scheduling:<name>`, for the scheduler tests."""

from __future__ import annotations

import os
import time
from typing import Any

from django.db import OperationalError, connection

from reactive import ConvexError, action, internal, internal_mutation, mutation, query

BUMP = internal.testapp.scheduling.bump


def _bump(ctx: Any, name: str) -> int:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    if row is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@internal_mutation
def bump(ctx, name: str) -> int:
    """Count one committed run under ``name`` (a counters row)."""
    return _bump(ctx, name)


@query
def count(ctx, name: str) -> int:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    return 0 if row is None else row["value"]


@mutation
def schedule_bump(ctx, name: str, delay: float = 0, fail: bool = False) -> str:
    """Schedule a bump; with ``fail``, raise afterwards (nothing must be scheduled)."""
    job = ctx.scheduler.run_after(delay, BUMP, {"name": name})
    if fail:
        raise ConvexError("failed after scheduling")
    return job


@mutation
def schedule_at(ctx, name: str, at: float) -> str:
    return ctx.scheduler.run_at(at, BUMP, {"name": name})


@mutation
def schedule_ref(ctx, what: str, args: Any = None, delay: Any = 0) -> str:
    """Schedule something questionable, to check the errors."""
    from reactive import api

    refs = {
        "bump": BUMP,
        "public_bump": api.testapp.scheduling.bump,  # internal, referenced as api
        "unknown": internal.testapp.scheduling.nope,
        "query": internal.testapp.scheduling.count,
        "string": "testapp/scheduling:bump",
        "callable": bump,
        "module": internal.testapp,
    }
    return ctx.scheduler.run_after(delay, refs[what], {"name": "x"} if args is None else args)


@mutation
def schedule_many(ctx, name: str, n: int) -> int:
    for _ in range(n):
        ctx.scheduler.run_after(0, BUMP, {"name": name})
    return n


@mutation
def cancel(ctx, id: str) -> None:
    ctx.scheduler.cancel(id)


@mutation
def bump_and_schedule(ctx, name: str) -> str:
    """A write and a schedule in one transaction (for retried-mutation tests)."""
    _bump(ctx, name + ":writes")
    return ctx.scheduler.run_after(0, BUMP, {"name": name})


@internal_mutation
def bump_then_sleep(ctx, name: str, seconds: float) -> int:
    """Write, then hold the transaction open (a worker killed now must not commit it)."""
    value = _bump(ctx, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])
    return value


_flaky_calls: dict[str, int] = {}


@internal_mutation
def flaky_bump(ctx, name: str, failures: int) -> int:
    """Fail like a lost connection ``failures`` times (per process), then bump."""
    _flaky_calls[name] = _flaky_calls.get(name, 0) + 1
    if _flaky_calls[name] <= failures:
        raise OperationalError("server closed the connection unexpectedly (simulated)")
    return _bump(ctx, name)


@internal_mutation
def always_conflicts(ctx, name: str) -> None:
    """Conflict on every try, as a hot row would: each call ends in a write conflict."""
    from reactive.errors import RetryTransaction

    _bump(ctx, name)
    raise RetryTransaction("40001")


@internal_mutation
def broken(ctx, name: str) -> None:
    raise ConvexError({"why": "broken", "name": name})


@action
def slow_action(ctx, name: str, seconds: float) -> str:
    """Count the start, then take a while (a worker killed now leaves it failed)."""
    ctx.run_mutation(BUMP, {"name": name})
    marker = os.environ.get("REACTIVE_TEST_MARKER_DIR")
    if marker:
        with open(os.path.join(marker, f"{name}.started"), "w") as fh:
            fh.write(str(os.getpid()))
    time.sleep(seconds)
    return "done"


@action
def action_schedules(ctx, name: str, delay: float) -> str:
    """An action that schedules (not atomic: the row commits at once) then fails."""
    ctx.scheduler.run_after(delay, BUMP, {"name": name})
    raise ConvexError("the action failed after scheduling")


@action
def schedule_from_action(ctx, name: str) -> str:
    return ctx.scheduler.run_after(0, BUMP, {"name": name})


@internal_mutation
def fan_out(ctx, name: str, delay: float) -> None:
    """Scheduled itself, schedules a child (cancelling this one cancels the child)."""
    ctx.scheduler.run_after(delay, BUMP, {"name": name})


@query
def scheduled(ctx, name: str | None = None) -> Any:
    """The `_scheduled_functions` rows (optionally of one function), newest first."""
    q = ctx.db.system.query("_scheduled_functions").order("desc")
    if name is not None:
        q = q.filter(lambda f: f.eq(f.field("name"), name))
    return q.collect()


@query
def scheduled_one(ctx, id: str) -> Any:
    return ctx.db.system.get("_scheduled_functions", id)


@query
def pending_page(ctx, paginationOpts: dict[str, Any]) -> Any:
    return (
        ctx.db.system.query("_scheduled_functions")
        .filter(lambda f: f.eq(f.field("state.kind"), "pending"))
        .paginate(paginationOpts)
    )


@query
def read_system_wrongly(ctx, how: str) -> Any:
    if how == "db_query":
        return ctx.db.query("_scheduled_functions").collect()
    if how == "system_user_table":
        return ctx.db.system.query("messages").collect()
    if how == "unknown":
        return ctx.db.system.query("_nothing").collect()
    raise ValueError(how)


@mutation
def write_system(ctx, id: str) -> None:
    ctx.db.patch("_scheduled_functions", id, {"name": "x"})


@mutation
def schedule_action(ctx, name: str, seconds: float) -> str:
    """Schedule `slow_action` to run now."""
    from reactive import api

    return ctx.scheduler.run_after(
        0, api.testapp.scheduling.slow_action, {"name": name, "seconds": seconds}
    )


@mutation
def schedule_internal(ctx, fn: str, args: dict[str, Any], delay: float = 0) -> str:
    """Schedule internal.testapp.scheduling.<fn>(args)."""
    return ctx.scheduler.run_after(delay, getattr(internal.testapp.scheduling, fn), args)


@mutation
def schedule_fn(ctx, fn: str, args: Any, delay: float = 0) -> str:
    """Schedule ``internal.testapp.scheduling.<fn>(args)`` after ``delay`` ms."""
    return ctx.scheduler.run_after(delay, getattr(internal.testapp.scheduling, fn), args)


_conflicts: dict[str, int] = {}


@mutation
def schedule_then_conflict(ctx, name: str) -> str:
    """Schedule a bump, then fail the first attempt (per ``name``) with a serialization
    failure: the executor retries the mutation, which must schedule exactly once."""
    import psycopg

    job = ctx.scheduler.run_after(0, BUMP, {"name": name})
    _conflicts[name] = _conflicts.get(name, 0) + 1
    if _conflicts[name] == 1:
        raise psycopg.errors.SerializationFailure("could not serialize access (simulated)")
    return job


@query
def query_schedules(ctx) -> str:
    """A query may not schedule."""
    return ctx.scheduler.run_after(0, BUMP, {"name": "never"})


@action
def cancel_self_then_schedule(ctx, name: str) -> str:
    """Scheduled itself: schedule a bump, cancel its own (inProgress) row, then schedule
    another bump. The action carries on, but neither bump may run."""
    from reactive import api

    ctx.scheduler.run_after(0, BUMP, {"name": name})
    rows = ctx.run_query(
        api.testapp.scheduling.scheduled, {"name": "testapp/scheduling:cancel_self_then_schedule"}
    )
    (own,) = [r for r in rows if r["state"]["kind"] == "inProgress"]
    ctx.scheduler.cancel(own["_id"])
    ctx.scheduler.run_after(0, BUMP, {"name": name})
    return "carried on"


@internal_mutation
def stamp(ctx, key: str) -> None:
    """Record that a scheduled run started: a counters row whose _creationTime is then."""
    ctx.db.insert("counters", {"name": key, "value": 0})


@mutation
def schedule_stamp(ctx, key: str) -> str:
    return ctx.scheduler.run_after(0, internal.testapp.scheduling.stamp, {"key": key})
