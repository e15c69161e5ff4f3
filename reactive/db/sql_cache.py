"""The SQL of a repeated ``ctx.db`` read or update, built once by the ORM and run again with new
values.

``ctx.db.query(t).with_index(i, lambda q: q.eq(...)...).unique()`` (or ``take``, ``first``,
``collect``) with no filter is the same SQL every time but for its values: building it through a
Django QuerySet (clone, filter, order, compile) costs more CPU than Postgres takes to answer it.
`rows` keeps, per *shape* (model, index range lookups and their value types, order, limit,
locking, database), the SQL and the column list Django produced the first time, and runs them
with the new values. Nothing is written by hand: the SQL is Django's, so it stays EXPLAIN-able and
the same as a QuerySet's.

A shape is kept only when Django's compilation proves it can be replayed: its parameters are
exactly the range's values, in order and of the same types (so Django converted none of them,
e.g. ``None``, which becomes ``IS NULL``), every column ranged on is one of Django's own field
classes (a custom field may prepare values in ways one call cannot show), and no selected column
has a converter (a field with ``from_db_value``). Anything else (a filter, a nested condition)
is not a shape: the caller runs its QuerySet. What is recorded as read is the caller's business,
unchanged.

`update_row` does the same for the ``UPDATE`` of ``obj.save(update_fields=...)`` (a patch or
replace), where Django would build a QuerySet and an UpdateQuery per call. It does only what
`Model.save` would do for that call: each field's ``pre_save`` (``auto_now``) and
``get_db_prep_save``, the update under `mark_for_rollback_on_error`, the same error when no row was
updated. Whenever ``save`` could do more (the model overrides ``save`` or its steps, has parents
or a custom base manager, a ``pre_save``/``post_save`` receiver listens, a related object is
cached, a value is an expression, a field is not one of Django's own classes), it declines and
the caller calls ``save``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.db import DatabaseError, connections, models, transaction
from django.db.models import signals
from django.db.models.sql import UpdateQuery

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


def _kept(key: tuple[Any, ...], build: Callable[[], _Plan | None]) -> _Plan | None:
    """The plan kept for shape ``key`` (None: the shape declined), built on its first call."""
    plan = _plans.get(key, _UNKNOWN)
    if plan is _UNKNOWN:
        plan = build()
        with _lock:
            if len(_plans) >= MAX_SHAPES:
                _plans.clear()
            _plans[key] = plan
    return plan


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
    plan = _kept(key, lambda: _plan(queryset()[:cap], names, values, using))
    if plan is None:
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(plan.sql, values)
        fetched = cursor.fetchall()
    return [model.from_db(using, plan.attnames, row) for row in fetched]


def _django_field(field: Any) -> bool:
    """Whether ``field`` is one of Django's own field classes, whose preparation of a value
    keeps its type and depends on nothing but it (a custom field's might not)."""
    return isinstance(field, models.Field) and type(field).__module__.startswith(
        "django.db.models.fields"
    )


def _plan(
    qs: models.QuerySet[Any], names: tuple[str, ...], values: list[Any], using: str
) -> _Plan | None:
    """Django's SQL for ``qs`` if it can be run again with other values of the same types."""
    by_attname = {f.attname: f for f in qs.model._meta.concrete_fields}
    if not all(_django_field(by_attname.get(name.split("__")[0])) for name in names):
        return None
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


_Model = models.Model
#: `Model` methods whose override means `save` may do more than `update_row` does.
_SAVE_STEPS = ("save", "save_base", "_save_parents", "_save_table", "_do_update")
_updatable: dict[type[models.Model], bool] = {}


def _plain_save(cls: type[models.Model]) -> bool:
    """Whether ``cls``'s ``save`` is Django's own, with nothing around it (checked per call for
    signal receivers, which come and go)."""
    plain = _updatable.get(cls)
    if plain is None:
        meta = cls._meta
        plain = (
            all(getattr(cls, step) is getattr(_Model, step) for step in _SAVE_STEPS)
            and not meta.parents
            and not meta.auto_created
            and type(cls._base_manager) is models.Manager
        )
        _updatable[cls] = plain
    return plain and not (
        signals.pre_save.has_listeners(cls) or signals.post_save.has_listeners(cls)
    )


def update_row(obj: models.Model, attnames: list[str], using: str) -> bool:
    """``obj.save(update_fields=attnames, using=using)`` through the kept SQL of its shape; False
    (nothing done) when ``save`` might do more than that SQL: call it instead."""
    cls = type(obj)
    if (
        not attnames
        or not _plain_save(cls)
        or obj._state.fields_cache
        or not _django_field(cls._meta.pk)
    ):
        return False
    by_attname = {f.attname: f for f in cls._meta.concrete_fields}
    found = [by_attname.get(name) for name in attnames]
    fields = [
        f
        for f in found
        if f is not None and not f.primary_key and not f.generated and _django_field(f)
    ]
    if len(fields) != len(attnames):
        return False
    connection = connections[using]
    raw = [f.pre_save(obj, False) for f in fields]
    if any(hasattr(v, "resolve_expression") for v in raw):
        return False
    values = [f.get_db_prep_save(v, connection) for f, v in zip(fields, raw, strict=True)]
    params = [*values, obj.pk]
    key = ("update", cls, tuple(attnames), tuple(type(v) for v in params), using)
    plan = _kept(key, lambda: _update_plan(cls, fields, raw, params, using))
    if plan is None:
        return False
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        updated = cursor.rowcount
    if updated < 1:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = using
    obj._state.adding = False
    return True


def _update_plan(
    cls: type[models.Model],
    fields: list[models.Field[Any, Any]],
    raw: list[Any],
    params: list[Any],
    using: str,
) -> _Plan | None:
    """Django's UPDATE for this save (what `QuerySet._update` compiles), if its parameters are
    exactly ``params``."""
    qs = cls._base_manager.using(using).filter(pk=params[-1])
    query = cast("UpdateQuery", qs.query.chain(UpdateQuery))
    query.add_update_fields([(f, None, v) for f, v in zip(fields, raw, strict=True)])
    query.annotations = {}
    sql, compiled = query.get_compiler(using=using).as_sql()
    compiled = list(compiled)
    if len(compiled) != len(params) or any(
        type(p) is not type(v) or p != v for p, v in zip(compiled, params, strict=True)
    ):
        return None
    return _Plan(sql, ())
