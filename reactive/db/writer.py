"""DatabaseWriter: `ctx.db` for mutations: the reader plus insert, patch, replace and delete.

Every write records a `DocWrite` with the row's index-key columns before and after, and charges
the call's budget. The writer knows nothing of rules, subscriptions or sockets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.db import models
from django.db.models import Model
from django.db.models.deletion import Collector

from .. import clock, ids
from ..errors import DocumentNotFound
from ..limits import approx_size
from ..readset import DocWrite, WriteSet
from . import row_cache, sql_cache
from .documents import apply_document, row_values
from .raw_reads import own_statements
from .reader import DatabaseReader
from .tables import Table, tables

#: Marks the id-only call forms, ``patch(id, fields)`` and ``replace(id, document)``.
_ID_ONLY: Any = object()


class DatabaseWriter(DatabaseReader):
    """``ctx.db`` inside a mutation."""

    def __init__(self, *, writes: WriteSet, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writes = writes

    @own_statements
    def insert(self, table: str, document: dict[str, Any]) -> str:
        """Insert a document; returns its new id."""
        t = self._table(table)
        obj = t.model()
        apply_document(t, obj, document, replace=True)
        if t.creation_field:
            # a concrete column (checked at registration), not a reverse relation
            field = cast("models.Field[Any, Any]", t.model._meta.get_field(t.creation_field))
            if getattr(obj, field.attname) is None and isinstance(field, models.FloatField):
                setattr(obj, field.attname, clock.now_ms())
        obj.save(force_insert=True, using=self._using)
        self._budget.charge_write(approx_size(document))
        self.writes.add(DocWrite(t.name, obj.pk, "insert", None, row_values(t, obj)))
        return ids.encode_id(t.name, obj.pk)

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = _ID_ONLY) -> None:
        """``patch(table, id, fields)`` or ``patch(id, fields)``: shallow-merge ``fields`` into
        the document; ``REMOVE`` resets a field."""
        if fields is _ID_ONLY:
            self._update("patch", table_or_id, None, id_or_fields, replace=False)
        else:
            self._update("patch", table_or_id, id_or_fields, fields, replace=False)

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = _ID_ONLY) -> None:
        """``replace(table, id, document)`` or ``replace(id, document)``: replace the whole
        document (system fields are kept)."""
        if document is _ID_ONLY:
            self._update("replace", table_or_id, None, id_or_document, replace=True)
        else:
            self._update("replace", table_or_id, id_or_document, document, replace=True)

    @own_statements
    def delete(self, table_or_id: str, id: str | None = None) -> None:
        """``delete(table, id)`` or ``delete(id)``: delete the document, and whatever Django's
        ``on_delete`` rules cascade from it.

        Every row the cascade deletes or updates (``SET_NULL``, ``SET_DEFAULT``) in a table is
        in the write set too, so reads of those tables see the change.
        """
        t, obj = self._load("delete", table_or_id, id)
        collector = Collector(using=self._using, origin=obj)
        # django-stubs' _IndexableCollection wants slicing to return Self, which no list does
        collector.collect([obj])  # pyright: ignore[reportArgumentType]
        writes = list(self._cascade_writes(collector))
        collector.delete()
        for _ in writes:
            self._budget.charge_write(0)
        for write in writes:
            self.writes.add(write)

    def _cascade_writes(self, collector: Collector) -> Iterator[DocWrite]:
        for model, instances in collector.data.items():
            table = tables.for_model(model)
            if table is not None:
                for inst in instances:
                    yield DocWrite(table.name, inst.pk, "delete", row_values(table, inst), None)
        for qs in collector.fast_deletes:
            table = tables.for_model(qs.model)
            if table is not None:
                for inst in qs:
                    yield DocWrite(table.name, inst.pk, "delete", row_values(table, inst), None)
        for (field, value), batches in collector.field_updates.items():
            table = tables.for_model(field.model)
            if table is None:
                continue
            # django-stubs says each batch is a Model; Django appends querysets and lists
            for batch in cast("list[Iterable[Model]]", batches):
                for inst in batch:
                    old = row_values(table, inst)
                    new = {**old, **({field.attname: value} if field.attname in old else {})}
                    yield DocWrite(table.name, inst.pk, "update", old, new)

    def _load(self, method: str, table_or_id: str, id: str | None) -> tuple[Table, models.Model]:
        t, pk = self._resolve(method, table_or_id, id)
        # a row this transaction has just read is not read again (a copy: the caller changes it)
        obj = row_cache.recall(self._using, t, pk)
        if obj is None:
            obj = row_cache.reading(lambda: self._scan.manager(t).filter(pk=pk).first())
        if obj is None:
            shown = table_or_id if id is None else id
            raise DocumentNotFound(f"ctx.db.{method}: no document {shown!r} in table {t.name!r}")
        return t, obj

    @own_statements
    def _update(
        self, method: str, table_or_id: str, id: str | None, doc: dict[str, Any], *, replace: bool
    ) -> None:
        t, obj = self._load(method, table_or_id, id)
        old = row_values(t, obj)
        touched = apply_document(t, obj, doc, replace=replace)
        # the UPDATE that save() would run, through its kept SQL (sql_cache) when nothing else
        # would happen in save()
        if touched and not sql_cache.update_row(obj, touched, self._using):
            obj.save(update_fields=touched, using=self._using)
        self._budget.charge_write(approx_size(doc))
        self.writes.add(DocWrite(t.name, obj.pk, "update", old, row_values(t, obj)))
