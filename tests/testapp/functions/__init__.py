"""Functions at `testapp:<name>` used across the tests."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

from reactive import (
    ConvexError,
    Int64,
    action,
    api,
    internal,
    internal_mutation,
    internal_query,
    mutation,
    query,
    v,
)
from tests.testapp.models import Channel


@query
def ping(ctx) -> str:
    return "pong"


@query(name="default")
def default_export(ctx) -> str:
    return "default export"


@query
def echo(ctx, **args: Any) -> Any:
    return args


@query
def typed(
    ctx,
    s: str,
    n: int,
    f: float,
    b: bool,
    i: v.int64(),
    by: bytes,
    opt: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    return {"s": s, "n": n, "f": f, "b": b, "i": i, "by": by, "opt": opt, "tags": tags}


@query(
    args={
        "name": v.string(),
        "count": v.number(),
        "big": v.int64(),
        "flag": v.boolean(),
        "nothing": v.null(),
        "blob": v.bytes(),
        "channel": v.id("channels"),
        "items": v.array(v.object({"k": v.string(), "n": v.optional(v.number())})),
        "scores": v.record(v.string(), v.number()),
        "choice": v.union(v.literal("a"), v.literal("b")),
        "maybe": v.optional(v.string()),
        "anything": v.any(),
    },
    returns=v.object({"ok": v.boolean(), "big": v.int64()}),
)
def v_style(ctx, **args: Any) -> dict[str, Any]:
    return {"ok": True, "big": args["big"]}


@query(returns=v.string())
def bad_return(ctx) -> Any:
    return 42


@query
def fail_convex(ctx) -> None:
    raise ConvexError({"code": "NOPE", "n": Int64(7)})


@query
def fail_convex_string(ctx) -> None:
    raise ConvexError("plain message")


@query
def boom(ctx) -> None:
    raise RuntimeError("secret internal detail")


@query
def logs(ctx) -> str:
    ctx.log("hello", 1)
    ctx.log.warn("careful")
    import logging

    logging.getLogger("reactive.fn.tests").error("from logging")
    return "ok"


@query
def big_int(ctx) -> Any:
    return {"i": Int64(2**62), "neg": Int64(-1), "f": 1.5, "n": 3}


@query
def bytes_echo(ctx, data: bytes) -> bytes:
    return data[::-1]


@query
def whoami(ctx) -> Any:
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity.as_dict()


@query
def my_identity(ctx) -> Any:
    return ctx.auth.get_user_identity()  # the Identity itself, encoded as Convex's UserIdentity


@query
def channel_name(ctx, channel: v.id(Channel)) -> str:
    return ctx.db.get(channel)["name"]


@query(args={"channels": v.array(v.id(Channel))})
def channel_names_by_id(ctx, channels: list[str]) -> list[str]:
    return [ctx.db.get("channels", c)["name"] for c in channels]


@internal_query
def secret(ctx) -> str:
    return "internal only"


@internal_mutation
def internal_touch(ctx, name: str) -> str:
    return ctx.db.insert("counters", {"name": name, "value": 1})


@query
def net(ctx) -> str:
    socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    return "connected"


@mutation
def create_channel(ctx, name: str, topic: str = "") -> str:
    return ctx.db.insert("channels", {"name": name, "topic": topic})


@mutation
def write_then_fail(ctx, name: str) -> None:
    ctx.db.insert("channels", {"name": name})
    raise ConvexError({"code": "ROLLED_BACK"})


@mutation
def counter_inc(ctx, name: str) -> int:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).unique()
    if row is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation(isolation="select_for_update")
def counter_inc_locked(ctx, name: str) -> int:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).unique()
    if row is None:
        raise ConvexError("no such counter")
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation
def nested_partial(ctx, name: str) -> dict[str, Any]:
    """Insert one channel, then call a mutation that inserts and fails; keep the first."""
    first = ctx.db.insert("channels", {"name": name})
    try:
        ctx.run_mutation(api.testapp.write_then_fail, {"name": name + "-inner"})
    except ConvexError as exc:
        caught = exc.data
    return {"first": first, "caught": caught}


@mutation
def mutation_calls_action(ctx) -> Any:
    return ctx.run_action(api.testapp.plain_action, {})


@query
def query_calls_mutation(ctx) -> Any:
    return ctx.run_mutation(api.testapp.create_channel, {"name": "nope"})


@query
def query_calls_query(ctx) -> Any:
    return {
        "inner": ctx.run_query(api.testapp.ping),
        "secret": ctx.run_query(internal.testapp.secret),
    }


@mutation
def now_random(ctx) -> dict[str, float]:
    return {"now": ctx.now, "random": ctx.random.random()}


@action
def plain_action(ctx, x: float = 1.0) -> dict[str, Any]:
    return {"doubled": x * 2}


@action
def action_calls(ctx, name: str) -> dict[str, Any]:
    channel = ctx.run_mutation(api.testapp.create_channel, {"name": name})
    listed = ctx.run_query(api.testapp.channel_names)
    secret = ctx.run_query(internal.testapp.secret)
    return {
        "channel": channel,
        "names": listed,
        "secret": secret,
        "doubled": ctx.run_action(api.testapp.plain_action, {"x": 2}),
    }


@action
async def async_action(ctx, name: str) -> dict[str, Any]:
    channel = await ctx.arun_mutation(api.testapp.create_channel, {"name": name})
    return {"channel": channel, "names": await ctx.arun_query(api.testapp.channel_names)}


@action
def action_uses_db(ctx) -> Any:
    return ctx.db.query("channels").collect()


@query
def channel_names(ctx) -> list[str]:
    return [c["name"] for c in ctx.db.query("channels").collect()]


@query
def slow(ctx, seconds: float) -> str:
    import time

    time.sleep(seconds)
    ctx.db.query("channels").first()
    return "done"


@action
async def async_logs(ctx) -> str:
    ctx.log("from an async action")
    return await ctx.arun_query(api.testapp.logs)


@query
def pg_sleep(ctx, seconds: float, times: int = 1) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        for _ in range(times):
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
    ctx.db.query("channels").first()  # a ctx.db call: where the time limits are checked
    return "slept"


@query
def counter_then_sql_error(ctx, name: str, swallow: bool = False) -> Any:
    """Reads a counter, then runs SQL that fails in the database (the transaction it runs in is
    left failed); with ``swallow`` the function catches the error and returns normally."""
    from django.db import DatabaseError, connection

    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / (%s - %s)", [1, 1])
    except DatabaseError:
        if not swallow:
            raise
    return None if row is None else row["value"]


@query
def listener_stats(ctx) -> dict[str, Any]:
    """This process's subscription engine counters (for tests that count re-runs)."""
    from reactive.sync.listener import Listener

    listeners = list(Listener._instances.values())
    return {
        # asyncio tasks alive on the process's event loop (read from this worker thread: a
        # count for tests of what each socket costs, not an exact census)
        "tasks": sum(len(asyncio.all_tasks(x.loop)) for x in listeners),
        "ticks": sum(x.ticks for x in listeners),
        "executions": sum(x.executions for x in listeners),
        "subscriptions": sum(len(x.manager.subs) for x in listeners),
        # the cyclic collector as the sync engine left it (SYNC.gc_threshold)
        "gc_threshold": gc.get_threshold()[0],
        "gc_frozen": gc.get_freeze_count(),
    }


@query
def counter_value(ctx, name: str) -> Any:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    return None if row is None else row["value"]


@mutation
def transfer(ctx, source: str, target: str, amount: int) -> None:
    """Move `amount` between two counters in one transaction (for the snapshot invariant)."""
    rows = {
        r["name"]: r for r in ctx.db.query("counters").collect() if r["name"] in (source, target)
    }
    ctx.db.patch("counters", rows[source]["_id"], {"value": rows[source]["value"] - amount})
    ctx.db.patch("counters", rows[target]["_id"], {"value": rows[target]["value"] + amount})


@query
def only_note(ctx, text: str) -> Any:
    """Fails (unique() on two rows) while two notes share the text."""
    return ctx.db.query("notes").filter(lambda q: q.eq(q.field("text"), text)).unique()


@mutation
def add_note(ctx, text: str) -> str:
    return ctx.db.insert("notes", {"text": text})


@mutation
def remove_note(ctx, id: v.id("notes")) -> None:
    ctx.db.delete("notes", id)


@query
def big_counter(ctx, name: str) -> dict[str, Any]:
    """A large result that changes with the counter (for back-pressure tests)."""
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    value = 0 if row is None else row["value"]
    return {"value": value, "padding": "x" * 400_000}


@query
def note_texts(ctx) -> list[str]:
    return sorted(n["text"] for n in ctx.db.query("notes").collect())


@query
def user_names(ctx) -> list[str]:
    """The `users` table: auth.User, captured through a proxy model of this app."""
    return sorted(u["username"] for u in ctx.db.query("users").collect())
