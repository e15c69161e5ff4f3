"""Import: JSON Lines of documents into tables, through each table's Django model, all or nothing.

Every line is parsed and checked first (JSON, an object, ``_id`` an id of the table, each field
through `db.documents.apply_document`, as a mutation's insert is), and every bad line is
reported with its file and line number, up to `MAX_ERRORS`, before anything is written. Then
one transaction writes every row with ``save()`` (so ids, foreign keys, signals and the change
capture behave as for any write: live queries see the import when it commits), keeping each
document's ``_id`` and ``_creationTime``, and moves the tables' id sequences past the imported
ids. ``replace`` deletes the tables' rows first, in the same transaction; without
``replace`` or ``append`` a table that has rows is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction

from ..db.documents import apply_document, column_value
from ..db.tables import Table
from ..errors import FunctionError

MAX_ERRORS = 20


@dataclass
class Source:
    """One table's lines: where they come from (for messages) and how to open them."""

    table: Table
    name: str  # the file, e.g. "snapshot.zip:messages/documents.jsonl"
    open: Callable[[], IO[str]]


def _parse(source: Source, errors: list[str]) -> list[tuple[int, models.Model]]:
    table = source.table
    rows: list[tuple[int, models.Model]] = []
    with source.open() as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if len(errors) >= MAX_ERRORS:
                return rows
            where = f"{source.name}:{number}"
            try:
                doc = json.loads(line)
            except ValueError as exc:
                errors.append(f"{where}: not JSON ({exc})")
                continue
            if not isinstance(doc, dict):
                errors.append(f"{where}: a document must be a JSON object")
                continue
            try:
                rows.append((number, _instance(table, doc)))
            except FunctionError as exc:
                errors.append(f"{where}: {exc.message}")
    return rows


def _instance(table: Table, doc: dict[str, Any]) -> models.Model:
    obj = table.model()
    apply_document(table, obj, doc, replace=True)
    if "_id" in doc:
        obj.pk = column_value(table, "_id", doc["_id"], where="_id")
    if table.creation_field and isinstance(doc.get("_creationTime"), (int, float)):
        setattr(
            obj, table.creation_field, column_value(table, "_creationTime", doc["_creationTime"])
        )
    return obj


def import_tables(
    sources: Iterable[Source],
    *,
    mode: str | None,
    progress: Callable[[Table, int], Callable[[], None]],
    using: str = "default",
) -> dict[str, int]:
    """Import every source in one transaction; rows written per table. ``mode`` is None,
    ``"append"`` or ``"replace"``. Raises ValueError (every reason) with nothing written."""
    sources = list(sources)
    errors: list[str] = []
    if mode is None:
        for s in sources:
            count = s.table.model._default_manager.using(using).count()
            if count:
                errors.append(
                    f"table {s.table.name!r} is not empty ({count} documents): pass --append "
                    "to add to it or --replace to replace its documents"
                )
        if errors:
            raise ValueError("\n".join(errors))
    parsed = [(s, _parse(s, errors)) for s in sources]
    if errors:
        more = " (stopped there)" if len(errors) >= MAX_ERRORS else ""
        raise ValueError(
            f"{len(errors)} bad line(s){more}; nothing was imported:\n" + "\n".join(errors)
        )
    counts: dict[str, int] = {}
    try:
        with transaction.atomic(using=using):
            if mode == "replace":
                for s in sources:
                    s.table.model._default_manager.using(using).all().delete()
            for source, rows in parsed:
                tick = progress(source.table, len(rows))
                for number, obj in rows:
                    try:
                        with transaction.atomic(using=using):
                            obj.save(using=using, force_insert=True)
                    except DatabaseError as exc:
                        first = str(exc).strip().splitlines()[0]
                        raise ValueError(
                            f"{source.name}:{number}: {first}; nothing was imported"
                        ) from None
                    tick()
                counts[source.table.name] = len(rows)
            _reset_sequences([s.table.model for s in sources], using)
    except DatabaseError as exc:  # e.g. a foreign key to a missing row, checked at commit
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"{first}; nothing was imported") from None
    return counts


def _reset_sequences(model_list: list[type[models.Model]], using: str) -> None:
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
