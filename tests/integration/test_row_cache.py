"""A mutation does not read again a row it has just read to write it (reactive/db/row_cache.py),
and never writes from a row that anything could have changed since: the ORM or raw SQL around
``ctx.db``, its own earlier write, a savepoint rolled back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from reactive import ConvexError, internal_mutation
from reactive.functions.executor import execute
from reactive.readset import DocWrite
from reactive.rules import Rules, TableRules, wrap_db
from tests.helpers import in_mutation
from tests.testapp.models import Counter

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement the block runs on the default connection, through Django's cursor."""
    seen: list[str] = []

    def wrapper(execute_sql: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        seen.append(str(sql))
        return execute_sql(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def counter_selects(seen: list[str]) -> int:
    return sum(1 for s in seen if s.startswith("SELECT") and "testapp_counter" in s)


def by_name(ctx: Any, name: str) -> dict[str, Any]:
    row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    assert row is not None
    return row


def update(outcome: Any) -> DocWrite:
    writes = [w for w in outcome.writes if w.op == "update"]
    assert len(writes) == 1, writes
    return writes[0]


def test_a_public_read_then_patch_reads_the_row_once() -> None:
    """`testapp/bench:bump` as a client calls it (rules and triggers wrappers installed, the
    counters table under neither): the settings, one SELECT, one UPDATE."""
    name = unique("once")
    Counter.objects.create(name=name, value=1)
    with statements() as seen:
        outcome = execute("testapp/bench:bump", {"name": name}, from_client=True)
    assert outcome.error is None and outcome.value == 2
    assert counter_selects(seen) == 1, seen
    assert [s.split()[0] for s in seen] == ["SET", "SELECT", "UPDATE"], seen
    assert Counter.objects.get(name=name).value == 2
    write = update(outcome)
    assert write.old is not None and write.new is not None
    assert write.old["name"] == write.new["name"] == name


def test_a_row_changed_around_ctx_db_is_read_again() -> None:
    """The ORM renames the row after ctx.db read it: the patch starts from the renamed row (its
    write set says so), and writes only its own field."""
    name, renamed = unique("orm"), unique("renamed")
    Counter.objects.create(name=name, value=1)

    def body(ctx: Any) -> None:
        row = by_name(ctx, name)
        Counter.objects.filter(name=name).update(name=renamed)
        ctx.db.patch("counters", row["_id"], {"value": 5})

    with statements() as seen:
        outcome = in_mutation(body)
    assert outcome.error is None
    assert counter_selects(seen) == 2, seen  # the query, then the row again
    write = update(outcome)
    assert write.old is not None and write.old["name"] == renamed
    assert Counter.objects.filter(name=renamed, value=5).count() == 1


def test_a_write_through_ctx_db_makes_the_next_write_read_again() -> None:
    name, second = unique("twice"), unique("second")
    Counter.objects.create(name=name, value=1)

    def body(ctx: Any) -> None:
        row = by_name(ctx, name)
        ctx.db.patch("counters", row["_id"], {"name": second})
        ctx.db.patch("counters", row["_id"], {"value": 7})

    outcome = in_mutation(body)
    assert outcome.error is None
    first, then = [w for w in outcome.writes if w.op == "update"]
    assert first.old is not None and first.old["name"] == name
    assert then.old is not None and then.old["name"] == second  # not the row read first
    assert Counter.objects.filter(name=second, value=7).count() == 1


@internal_mutation(path="rowcache:rename_then_fail")
def rename_then_fail(ctx: Any, id: str, name: str) -> None:
    ctx.db.patch("counters", id, {"name": name})
    assert ctx.db.get("counters", id)["name"] == name  # read after the write: kept, for now
    raise ConvexError("rolled back")


def test_rows_read_in_a_rolled_back_savepoint_are_not_kept() -> None:
    """A nested mutation renames the row, reads it, and fails: its savepoint rolls back, and the
    caller's patch starts from the row as stored, not from what the nested call read."""
    name = unique("savepoint")
    Counter.objects.create(name=name, value=1)

    def body(ctx: Any) -> None:
        row = by_name(ctx, name)
        try:
            ctx.run_mutation("rowcache:rename_then_fail", {"id": row["_id"], "name": "gone"})
        except ConvexError:
            pass
        ctx.db.patch("counters", row["_id"], {"value": 3})

    outcome = in_mutation(body)
    assert outcome.error is None
    write = update(outcome)
    assert write.old is not None and write.old["name"] == name
    assert write.new is not None and write.new["name"] == name
    assert Counter.objects.get(name=name).value == 3


def test_rules_see_the_row_as_stored_without_reading_it_again() -> None:
    """Under a `modify` rule, the rule gets the stored document and the proposed one, from the
    row the query read; after a change around ctx.db, from the row as changed."""
    name, renamed = unique("rules"), unique("rules-renamed")
    Counter.objects.create(name=name, value=1)
    seen_by_rule: list[tuple[Any, Any]] = []

    def modify(ctx: Any, old: dict[str, Any], new: dict[str, Any] | None) -> bool:
        seen_by_rule.append((old["name"], None if new is None else new["value"]))
        return True

    ruled = Rules({"counters": TableRules(modify=modify)})

    def body(ctx: Any, around: bool) -> None:
        db = wrap_db(ctx, ctx.db, ruled)
        row = db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
        if around:
            Counter.objects.filter(name=name).update(name=renamed)
        db.patch("counters", row["_id"], {"value": row["value"] + 1})

    with statements() as seen:
        outcome = in_mutation(lambda ctx: body(ctx, around=False))
    assert outcome.error is None
    assert counter_selects(seen) == 1, seen
    assert seen_by_rule == [(name, 2)]
    outcome = in_mutation(lambda ctx: body(ctx, around=True))
    assert outcome.error is None
    assert seen_by_rule[-1] == (renamed, 3)
    assert Counter.objects.get(name=renamed).value == 3
