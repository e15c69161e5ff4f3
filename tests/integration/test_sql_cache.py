"""A repeated index-range read runs the SQL Django built for its shape the first time
(reactive/db/sql_cache.py): the same statement as a QuerySet's, with each call's own values, its
own limit and locking, and the right rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import pre_save

from reactive.db import sql_cache
from reactive.ids import encode_id
from tests.helpers import in_mutation, in_query
from tests.testapp.models import Channel, Counter, Message, Note

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def selects(table: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def wrapper(execute_sql: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        if str(sql).startswith("SELECT") and table in str(sql):
            seen.append(str(sql))
        return execute_sql(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def by_name(ctx: Any, name: str) -> Any:
    row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return None if row is None else row["value"]


def test_a_shape_runs_djangos_sql_with_each_calls_values() -> None:
    names = [unique("shape") for _ in range(3)]
    for i, name in enumerate(names):
        Counter.objects.create(name=name, value=i)
    sql_cache._plans.clear()
    with selects("testapp_counter") as seen:
        values = [in_query(lambda ctx, n=n: by_name(ctx, n)).unwrap() for n in names]
        missing = in_query(lambda ctx: by_name(ctx, "no such counter")).unwrap()
    assert values == [0, 1, 2] and missing is None
    assert len(seen) == 4 and len(set(seen)) == 1, seen  # one statement text, four runs
    built = Counter.objects.filter(name="x").order_by("name", "creation_time", "id")[:2]
    expected, _ = built.query.get_compiler(using="default").as_sql()
    assert seen[0] == expected
    assert [p.sql for p in sql_cache._plans.values() if p is not None] == [expected]


def test_limit_order_and_locking_are_part_of_the_shape() -> None:
    channel = Channel.objects.create(name=unique("shape"))
    for score in range(5):
        Message.objects.create(channel=channel, author="ann", body=str(score), score=score)

    def scores(ctx: Any, order: str, n: int) -> list[int]:
        q = ctx.db.query("messages").with_index(
            "by_author_score", lambda r: r.eq("author", "ann").gte("score", 1)
        )
        return [m["score"] for m in q.order(order).take(n)]

    assert in_query(lambda ctx: scores(ctx, "asc", 2)).unwrap() == [1, 2]
    assert in_query(lambda ctx: scores(ctx, "asc", 3)).unwrap() == [1, 2, 3]
    assert in_query(lambda ctx: scores(ctx, "desc", 2)).unwrap() == [4, 3]
    with selects("testapp_message") as seen:
        locked = in_mutation(
            lambda ctx: scores(ctx, "asc", 2), isolation="select_for_update"
        ).unwrap()
    assert locked == [1, 2]
    assert len(seen) == 1 and "FOR UPDATE" in seen[0]


def test_a_patch_runs_djangos_update_and_save_still_runs_when_it_would_do_more() -> None:
    """The UPDATE of a patch is the one `save(update_fields=...)` runs, kept per shape; with a
    `pre_save` receiver listening, `save` itself runs (and the receiver sees the change)."""
    name = unique("update")
    Counter.objects.create(name=name, value=1)
    sql_cache._plans.clear()

    def bump(ctx: Any) -> None:
        row = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
        ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})

    for _ in range(2):
        assert in_mutation(bump).error is None
    assert Counter.objects.get(name=name).value == 3
    updates = [p.sql for p in sql_cache._plans.values() if p is not None and "UPDATE" in p.sql]
    assert updates == [
        'UPDATE "testapp_counter" SET "value" = %s WHERE "testapp_counter"."id" = %s'
    ]

    seen: list[int] = []

    def receiver(sender: Any, instance: Counter, **kwargs: Any) -> None:
        seen.append(instance.value)

    pre_save.connect(receiver, sender=Counter)
    try:
        assert in_mutation(bump).error is None
    finally:
        pre_save.disconnect(receiver, sender=Counter)
    assert seen == [4] and Counter.objects.get(name=name).value == 4


def test_a_uuid_keyed_row_is_updated_by_its_own_key() -> None:
    notes = [Note.objects.create(text=f"before {i}") for i in range(2)]
    for i, note in enumerate(notes):
        doc_id = encode_id("notes", note.pk)
        done = in_mutation(lambda ctx, d=doc_id, i=i: ctx.db.patch("notes", d, {"text": f"{i}"}))
        assert done.error is None
    assert [Note.objects.get(pk=n.pk).text for n in notes] == ["0", "1"]
