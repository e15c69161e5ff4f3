"""Import's writes: one table's checked rows inserted, named by their line when refused.

A model whose ``save()`` is Django's own with no ``pre_save``/``post_save`` receiver
(`db.sql_cache._plain_save`, the test the executor's own shortcut uses) gets its rows in
multi-row INSERTs (``bulk_create``, which runs each field's ``pre_save`` as ``save()`` does): the
same rows, the same capture triggers and constraints, a round trip per batch instead of per row.
Any other model is written with ``save()`` row by row. A batch the database refuses is rolled
back to its savepoint and written again row by row, so the refused row is named by its line.
``auto_now`` / ``auto_now_add`` columns get their imported values back after the insert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, models, transaction

from ..db.sql_cache import _plain_save

#: A line number, the model instance to insert and its `auto_now` columns' imported values.
Row = tuple[int, tuple[models.Model, dict[str, Any]]]

#: Rows per INSERT (fewer for a wide table: Postgres takes at most 65535 parameters).
BATCH = 500


def insert_rows(
    model: type[models.Model], name: str, rows: list[Row], tick: Callable[[], None], using: str
) -> None:
    """Insert ``rows`` of ``name`` (a file, for messages); ValueError naming the line of a row
    the database refuses."""
    if not _plain_save(model):
        _one_by_one(name, rows, tick, using)
        return
    size = max(1, min(BATCH, 60000 // max(1, len(model._meta.concrete_fields))))
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        try:
            with transaction.atomic(using=using):  # a savepoint per batch
                model._base_manager.using(using).bulk_create([obj for _, (obj, _) in batch])
                _restore_kept(model, batch, using)
        except DatabaseError:
            _one_by_one(name, batch, lambda: None, using)  # names the refused row's line
        for _ in batch:
            tick()


def _restore_kept(model: type[models.Model], batch: list[Row], using: str) -> None:
    kept = [(obj, values) for _, (obj, values) in batch if values]
    fields = sorted({name for _, values in kept for name in values})
    if not kept:
        return
    for obj, values in kept:
        for attname, value in values.items():
            setattr(obj, attname, value)
    model._base_manager.using(using).bulk_update([obj for obj, _ in kept], fields)


def _one_by_one(name: str, rows: list[Row], tick: Callable[[], None], using: str) -> None:
    for number, (obj, kept) in rows:
        try:  # no savepoint per row: a refused row ends the whole import
            obj.save(using=using, force_insert=True)
            if kept:
                type(obj)._base_manager.using(using).filter(pk=obj.pk).update(**kept)
        except DatabaseError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ValueError(f"{name}:{number}: {first}; nothing was imported") from None
        tick()
