"""The rows a mutation's ``ctx.db`` has just read, so that writing one does not read it again.

A mutation typically reads a document, then patches it: ``ctx.db.patch`` needs the stored row
(its index keys before the write, and the model instance to save), and a row-level rule needs the
document before and after. Without this cache each of those is one more ``SELECT`` of a row the
transaction has just read.

While `caching` is active (the executor activates it for each attempt of a mutation, on the
attempt's connection), the rows ``ctx.db`` reads are kept by (table, primary key), and `recall`
hands back a fresh copy of one. The cache holds only while nothing but ``ctx.db``'s own reads has
run since: *any* other statement on the connection (a write through ``ctx.db`` or around it, a
savepoint taken, released or rolled back, raw SQL, the scheduler's and rate limiter's rows)
empties it, so it never answers with a row that the transaction, a database trigger or a rolled
back savepoint could have changed. A recalled row is what a new ``SELECT`` would return: the
snapshot is the transaction's (SERIALIZABLE), or the row is locked by the read that cached it
(``select_for_update``, whose reads all lock). Recalling records nothing: the reader records its
reads as it always does. Statements run on the raw psycopg connection, outside Django's cursor,
are not seen: as for `raw_reads`, they are outside ``ctx.db``'s contract.
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connections, models

from .tables import Table

T = TypeVar("T")

#: The cache of the attempt running in this context, if any.
_current: contextvars.ContextVar[RowCache | None] = contextvars.ContextVar(
    "reactive_row_cache", default=None
)
#: True while ``ctx.db`` runs one of its own plain reads (which keep the cache).
_reading: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "reactive_row_cache_read", default=False
)


class RowCache:
    """Rows read on connection ``using`` since its last statement that was not such a read."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.rows: dict[tuple[str, Any], models.Model] = {}

    def watch(self, execute_sql: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        """The connection's execute_wrapper: any statement but ``ctx.db``'s reads empties it."""
        if self.rows and not _reading.get():
            self.rows.clear()
        return execute_sql(sql, params, many, context)


@contextmanager
def caching(using: str) -> Iterator[RowCache]:
    """Keep the rows ``ctx.db`` reads on ``using`` for the duration of the block (an attempt)."""
    cache = RowCache(using)
    token = _current.set(cache)
    try:
        with connections[using].execute_wrapper(cache.watch):
            yield cache
    finally:
        _current.reset(token)


def reading(read: Callable[[], T]) -> T:
    """Run ``read()``, a plain ``SELECT`` of ``ctx.db`` that changes nothing: the cache keeps."""
    token = _reading.set(True)
    try:
        return read()
    finally:
        _reading.reset(token)


def remember(using: str, table: Table, rows: Iterable[models.Model]) -> None:
    """Keep ``rows`` of ``table``, just read on ``using`` by `reading`, if a cache is active."""
    cache = _current.get()
    if cache is None or cache.using != using:
        return
    for row in rows:
        cache.rows[(table.name, row.pk)] = row


def recall(using: str, table: Table, pk: Any) -> models.Model | None:
    """A fresh copy of the row of ``table`` with primary key ``pk``, as a ``SELECT`` would
    return it now, if the cache holds it; else None (read it)."""
    cache = _current.get()
    if cache is None or cache.using != using:
        return None
    row = cache.rows.get((table.name, pk))
    return None if row is None else _copy(row)


def _copy(row: models.Model) -> models.Model:
    """An independent instance with ``row``'s field values (what Django's pickling copies)."""
    fresh = row.__class__.__new__(row.__class__)
    state = row.__dict__.copy()
    state["_state"] = copy.copy(row._state)
    state["_state"].fields_cache = {}
    state.pop("_prefetched_objects_cache", None)
    fresh.__dict__.update(state)
    return fresh
