"""Reads that bypass ``ctx.db``: the ORM (``Message.objects.count()``) and raw SQL
(``connection.cursor().execute(...)``) inside a query or mutation.

The executor runs each attempt under `recording(reads)`, a Django ``execute_wrapper`` that sees
every statement on the call's connection. A statement that names a registered table where a
relation is read (see `sql_names`) records a whole-table `TableRead` of it, so the subscription
re-runs on any change to that table: reactive, only less precisely than ``ctx.db``. The methods
of ``ctx.db`` (and ``ctx.scheduler``) that run SQL are marked `own_statements`: ``ctx.db``
records its reads precisely itself, so those statements are skipped here. Tables that are not
registered (reactive's own bookkeeping, procrastinate's jobs, other models) are ignored.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..readset import ReadSet, TableRead
from .sql_names import read_names
from .tables import tables

F = TypeVar("F", bound=Callable[..., Any])

_own: contextvars.ContextVar[bool] = contextvars.ContextVar("reactive_own_sql", default=False)


def own_statements(method: F) -> F:
    """Decorator: the statements ``method`` runs are reactive's own (``ctx.db`` records their
    reads precisely; ``ctx.scheduler`` touches its own tables), not reads to record here."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _own.set(True)
        try:
            return method(*args, **kwargs)
        finally:
            _own.reset(token)

    return run  # type: ignore[return-value]


def recording(reads: ReadSet) -> Callable[..., Any]:
    """An execute_wrapper that records a whole-table read of each registered table that a
    statement outside ``ctx.db`` reads. Recorded before the statement runs: a statement that
    fails still made the call's outcome depend on those tables."""
    seen: set[str] = set()

    def record(execute_sql: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        if not _own.get():
            by_db_table = tables.by_db_table()
            for db_table in by_db_table.keys() & read_names(_text(sql, context)):
                name = by_db_table[db_table].name
                if name not in seen:
                    seen.add(name)
                    reads.add(TableRead(name))
        return execute_sql(sql, params, many, context)

    return record


def _text(sql: Any, context: Any) -> str:
    if isinstance(sql, str):
        return sql
    if isinstance(sql, bytes):
        return sql.decode("utf-8", "replace")
    as_string = getattr(sql, "as_string", None)  # psycopg.sql.Composed and friends
    if callable(as_string):
        return str(as_string(context["connection"].connection))
    return str(sql)
