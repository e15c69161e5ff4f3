"""The SQL of a repeated ``ctx.db`` read, built once by the ORM and run again with new values.

``ctx.db.query(t).with_index(i, lambda q: q.eq(...)...).unique()`` (or ``take``, ``first``,
``collect``) with no filter is the same SQL every time but for its values: building it through a
Django QuerySet (clone, filter, order, compile) costs more CPU than Postgres takes to answer it.
`rows` keeps, per *shape* (model, index range lookups and their value types, order, limit,
locking, database), the SQL and the column list Django produced the first time, and runs them
with the new values. Nothing is written by hand: the SQL is Django's, so it stays EXPLAIN-able and
the same as a QuerySet's.

A shape is kept only when Django's compilation proves it can be replayed: its parameters are
exactly the range's values, in order and of the same types (so Django converted none of them,
e.g. ``None``, which becomes ``IS NULL``), and no selected column has a converter (a field with
``from_db_value``). Anything else (a filter, a nested condition) is not a shape: the caller runs
its QuerySet. What is recorded as read is the caller's business, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, models

from .query import Query

#: Shapes kept at most; past it the cache starts over (shapes are few in a real project).
MAX_SHAPES = 1024


@dataclass(frozen=True)
class _Plan:
    sql: str
    attnames: tuple[str, ...]


_plans: dict[tuple[Any, ...], _Plan | None] = {}
_UNKNOWN = _Plan("", ())  # a shape not seen yet
_lock = threading.Lock()


def _range_values(query: Query) -> tuple[tuple[str, ...], list[Any]] | None:
    """The lookups and values of a query's range, if it is a plain AND of them and nothing else
    narrows the query."""
    q = query.range.q
    if query.filters or q.negated or q.connector != q.AND:
        return None
    names, values = [], []
    for child in q.children:
        if not isinstance(child, tuple) or len(child) != 2:
            return None
        names.append(child[0])
        values.append(child[1])
    return tuple(names), values


def rows(
    query: Query,
    queryset: Callable[[], models.QuerySet[Any]],
    cap: int,
    using: str,
    lock_rows: bool,
) -> list[models.Model] | None:
    """At most ``cap`` rows of ``query`` (``queryset()`` builds its QuerySet, in index order),
    through the kept SQL of its shape; None when the query has no replayable shape (run the
    QuerySet)."""
    found = _range_values(query)
    if found is None or cap <= 0:
        return None
    names, values = found
    model = query.table.model
    key = (
        model,
        query.index.key_columns,
        names,
        tuple(type(v) for v in values),
        query.order_,
        cap,
        lock_rows,
        using,
    )
    plan = _plans.get(key, _UNKNOWN)
    if plan is _UNKNOWN:
        plan = _plan(queryset()[:cap], values, using)
        with _lock:
            if len(_plans) >= MAX_SHAPES:
                _plans.clear()
            _plans[key] = plan
    if plan is None:
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(plan.sql, values)
        fetched = cursor.fetchall()
    return [model.from_db(using, plan.attnames, row) for row in fetched]


def _plan(qs: models.QuerySet[Any], values: list[Any], using: str) -> _Plan | None:
    """Django's SQL for ``qs`` if it can be run again with other values of the same types."""
    compiler = qs.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    params = list(params)
    if len(params) != len(values) or any(
        type(p) is not type(v) or p != v for p, v in zip(params, values, strict=True)
    ):
        return None
    model = qs.model
    concrete = [f.attname for f in model._meta.concrete_fields]
    selected = [getattr(col.target, "attname", None) for col, _, _ in compiler.select]
    if selected != concrete or compiler.get_converters([col for col, _, _ in compiler.select]):
        return None
    return _Plan(sql, tuple(concrete))
