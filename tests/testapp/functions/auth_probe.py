"""Functions at `testapp/auth_probe:<name>`, for the token tests over the WebSocket: results
that depend on who calls, calls that record who they ran as."""

from __future__ import annotations

from typing import Any

from reactive import action, internal, internal_action, internal_mutation, mutation, query


def _subject(ctx: Any) -> str | None:
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity.subject


def _counter(ctx: Any, name: str) -> Any:
    return ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).unique()


@query
def seen(ctx, name: str) -> dict[str, Any]:
    """Who is asking, beside a counter's value: the result depends on the identity and on
    writes, so a result computed for one identity can be told from another's."""
    row = _counter(ctx, name)
    return {"subject": _subject(ctx), "value": 0 if row is None else row["value"]}


@mutation
def bump(ctx, name: str) -> int:
    row = _counter(ctx, name)
    if row is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation
def record(ctx, name: str) -> str | None:
    """A channel named ``name`` whose topic is the caller's subject (or "anonymous")."""
    subject = _subject(ctx)
    ctx.db.insert("channels", {"name": name, "topic": subject or "anonymous"})
    return subject


@action
def record_from_action(ctx, name: str) -> str | None:
    return ctx.run_mutation(internal.testapp.auth_probe.record_internal, {"name": name})


@internal_mutation
def record_internal(ctx, name: str) -> str | None:
    subject = _subject(ctx)
    ctx.db.insert("channels", {"name": name, "topic": subject or "anonymous"})
    return subject


@mutation
def schedule_record(ctx, name: str) -> str | None:
    """Schedule `record_internal` now; returns the caller's subject (the scheduled run has
    none: scheduled functions run with no identity, as in Convex)."""
    ctx.scheduler.run_after(0, internal.testapp.auth_probe.record_internal, {"name": name})
    return _subject(ctx)


@query
def topic(ctx, name: str) -> str | None:
    row = ctx.db.query("channels").filter(lambda q: q.eq(q.field("name"), name)).unique()
    return None if row is None else row["topic"]


@internal_action
def record_from_internal_action(ctx, name: str) -> str | None:
    """Writes through an internal mutation: no client may reach it (test_security.py)."""
    return ctx.run_mutation(internal.testapp.auth_probe.record_internal, {"name": name})


@query
def claim(ctx, name: str) -> Any:
    """One raw claim of the caller's identity (`identity.claims`), as a function may read it."""
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity.claims.get(name)
