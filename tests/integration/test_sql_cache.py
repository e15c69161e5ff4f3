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

from reactive.db import sql_cache
from tests.helpers import in_mutation, in_query
from tests.testapp.models import Channel, Counter, Message

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
