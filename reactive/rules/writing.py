"""`RulesWriter`: ``ctx.db`` in a mutation with row-level rules applied to every write, and to
every read as `RulesReader` applies them.

Each write is checked before it reaches the inner writer, so a refused write writes nothing even
when the function catches the error:

- ``insert``: the ``insert`` rule, on the document as passed;
- ``patch`` / ``replace``: the row is read through the rules first; one the caller may not read
  is `DocumentNotFound` with the message a missing row gets (existence is not revealed); a change
  naming a hidden field is refused; then ``modify(ctx, old, new)``, where ``new`` is the whole
  document as it would be stored (the fields applied to the stored row in memory, through the
  same conversion the writer uses). ``replace`` keeps the hidden fields' stored values;
- ``delete``: the ``delete`` rule, or else ``modify(ctx, old, None)``. Rows Django's
  ``on_delete`` would cascade to (deleted, or set null / default) are checked as if the caller
  wrote them: readable, and allowed by their table's ``delete`` (or ``modify``) rule; one that
  is not refuses the whole delete.

A refusal is `RuleDenied`, naming the table and the operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Model
from django.db.models.deletion import Collector

from .. import ids
from ..db import row_cache
from ..db.documents import apply_document, to_document
from ..db.interface import DocumentWriter
from ..db.raw_reads import own_statements
from ..db.tables import Table, tables
from ..errors import DocumentNotFound
from .evaluation import Checker
from .reading import RulesReader, table_of

Doc = dict[str, Any]

#: Marks the id-only call forms, ``patch(id, fields)`` and ``replace(id, document)``.
_ID_ONLY: Any = object()


class RulesWriter(RulesReader):
    """``inner`` (a `DocumentWriter`) under ``checker``'s rules."""

    def __init__(self, inner: DocumentWriter, checker: Checker) -> None:
        super().__init__(inner, checker)
        self._writer = inner

    def insert(self, table: str, document: dict[str, Any]) -> str:
        """Insert ``document`` if the ``insert`` rule allows it."""
        found = tables.find(table) if isinstance(table, str) else None
        if found is not None and isinstance(document, dict):
            if not self._checker.allows(found.name, "insert", dict(document)):
                raise self._checker.deny("insert", found.name, "this insert")
        return self._writer.insert(table, document)  # an unknown table: the writer's error

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = _ID_ONLY) -> None:
        """Shallow-merge ``fields`` if the caller may read the row and ``modify`` allows it."""
        if fields is _ID_ONLY:
            if not self._unruled(table_or_id, None):
                self._change("patch", table_or_id, None, id_or_fields, replace=False)
            self._writer.patch(table_or_id, id_or_fields)
        else:
            if not self._unruled(table_or_id, id_or_fields):
                self._change("patch", table_or_id, id_or_fields, fields, replace=False)
            self._writer.patch(table_or_id, id_or_fields, fields)

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = _ID_ONLY) -> None:
        """Replace the document (hidden fields kept) if the rules allow it."""
        if document is _ID_ONLY:
            kept = id_or_document
            if not self._unruled(table_or_id, None):
                kept = self._change("replace", table_or_id, None, id_or_document, replace=True)
            self._writer.replace(table_or_id, kept)
        else:
            kept = document
            if not self._unruled(table_or_id, id_or_document):
                kept = self._change("replace", table_or_id, id_or_document, document, replace=True)
            self._writer.replace(table_or_id, id_or_document, kept)

    def _unruled(self, table_or_id: Any, id: Any) -> bool:
        """Whether a patch or replace of this row can be neither refused nor changed by the
        rules: its table declares none and the set's default allows (`Checker.unruled`). Such a
        write goes straight to the inner writer, without reading the row first."""
        if id is None:
            decoded = ids.decode_id(table_or_id)
            table = tables.for_tag(decoded[0]) if decoded else None
        else:
            table = tables.find(table_or_id) if isinstance(table_or_id, str) else None
        return table is not None and self._checker.unruled(table.name)

    def delete(self, table_or_id: str, id: str | None = None) -> None:
        """Delete the document if the caller may read it and the rules allow the delete."""
        loaded = self._readable_row("delete", table_or_id, id)
        if loaded is not None:
            table, old = loaded
            if not self._checker.allows(table.name, "delete", old):
                raise self._checker.deny("delete", table.name, "this delete")
            self._check_cascade(table, old)
        self._writer.delete(table_or_id, id)

    # -- Django's on_delete cascades ----------------------------------------------------------
    def _check_cascade(self, table: Table, old: Doc) -> None:
        """Each row the delete would cascade to (deleted, or set null / default) must pass the
        same checks as a write the caller made: readable, and allowed by its table's
        ``delete`` (or ``modify``) rule. Otherwise the delete is refused, naming the table."""
        for other, before, after in self._cascaded(table, old):
            if other.name == table.name and before["_id"] == old["_id"]:
                continue
            rule = "delete" if after is None else "modify"
            args = (before,) if after is None else (before, after)
            if not self.may_read(other, before) or not self._checker.allows(
                other.name, rule, *args
            ):
                raise self._checker.deny(
                    "delete",
                    table.name,
                    f"this delete: it cascades to table {other.name!r}, whose rules refuse it",
                )

    @own_statements
    def _cascaded(self, table: Table, old: Doc) -> Iterator[tuple[Table, Doc, Doc | None]]:
        """(table, document, document after or None if deleted) for every registered row
        Django's collector would delete or update with ``old``'s row (nothing is changed)."""
        pk = ids.pk_of(table.name, old["_id"])
        obj = table.model._base_manager.using(self.using).get(pk=pk)
        collector = Collector(using=self.using, origin=obj)
        collector.collect([obj])  # pyright: ignore[reportArgumentType]
        deleted: list[Model] = [i for instances in collector.data.values() for i in instances]
        for qs in collector.fast_deletes:
            deleted.extend(qs)
        by_table: dict[str, tuple[Table, list[Any]]] = {}
        for inst in deleted:
            other = tables.for_model(type(inst))
            if other is not None:
                by_table.setdefault(other.name, (other, []))[1].append(inst.pk)
        for other, pks in by_table.values():
            # the collector loads only the columns it needs: the whole rows, one query a table
            for row in other.model._base_manager.using(self.using).filter(pk__in=pks):
                yield other, to_document(other, row), None
        for (field, value), batches in collector.field_updates.items():
            other = tables.for_model(field.model)
            if other is None:
                continue
            for batch in batches:
                for inst in batch:  # type: ignore[attr-defined]
                    before = to_document(other, inst)
                    setattr(inst, field.attname, value)
                    yield other, before, to_document(other, inst)

    # -- internals ---------------------------------------------------------------------------
    def _readable_row(
        self, method: str, table_or_id: str, id: str | None
    ) -> tuple[Table, Doc] | None:
        """The stored row, whole, if the caller may read it; None if there is none (the inner
        writer then raises its own `DocumentNotFound`); `DocumentNotFound`, worded as the
        writer words it, if the rules hide it."""
        old = self._inner.get(table_or_id, id)
        if old is None:
            return None
        table = table_of(old)
        if not self.may_read(table, old):
            shown = table_or_id if id is None else id
            raise DocumentNotFound(
                f"ctx.db.{method}: no document {shown!r} in table {table.name!r}"
            )
        return table, old

    def _change(
        self, method: str, table_or_id: str, id: str | None, doc: Any, *, replace: bool
    ) -> Any:
        """Check a patch or replace; returns the document to hand the inner writer."""
        loaded = self._readable_row(method, table_or_id, id)
        if loaded is None or not isinstance(doc, dict):
            return doc  # missing row, or not a document: the inner writer's error
        table, old = loaded
        hidden = self._checker.hidden(table)
        for name in sorted(hidden & doc.keys()):
            raise self._checker.deny(
                method, table.name, f"writing field `{name}`, which is hidden from this caller"
            )
        if replace and hidden:
            doc = {**doc, **{name: old[name] for name in hidden if name in old}}
        new = self._proposed(table, old, doc, replace=replace)
        if not self._checker.allows(table.name, "modify", old, new):
            raise self._checker.deny(method, table.name, "this change")
        return doc

    @own_statements
    def _proposed(self, table: Table, old: Doc, doc: Doc, *, replace: bool) -> Doc:
        """The document as it would be stored after the write: the stored row, changed in
        memory by the writer's own conversion (nothing is saved)."""
        pk = ids.pk_of(table.name, old["_id"])
        row = row_cache.recall(self.using, table, pk)  # `old` was read just now: not again
        if row is None:
            manager = table.model._base_manager.using(self.using)
            row = row_cache.reading(lambda: manager.get(pk=pk))
        apply_document(table, row, doc, replace=replace)
        return to_document(table, row)
