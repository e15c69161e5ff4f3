"""Import: JSON Lines of documents into tables, through each table's Django model, all or nothing.

Every line is parsed and checked first (JSON, an object, ``_id`` an id of the table, each field
through `db.documents.apply_document`, as a mutation's insert is), and every bad line is
reported with its file and line number, up to `MAX_ERRORS`, before anything is written. Then
one transaction writes every row (`insert`: with ``save()``, or in batches where ``save()``
would do no more; ids, foreign keys, signals and the change capture behave as for any write:
live queries see the import when it commits), keeping each
document's ``_creationTime`` and its ``_id`` when it is one of ours; a Convex ``_id`` becomes
a new row's id, and every reference to it follows (`remap`). The export's `_storage` files are
stored after the rows (`stored`). Then the tables' id sequences move past the imported ids.
``replace`` deletes the tables' rows first, in the same transaction, and no other table's (a
row elsewhere left pointing at a deleted row refuses the import); without ``replace`` or
``append`` a table that has rows is refused. Columns ``save()`` would set to
now (``auto_now``, ``auto_now_add``) keep their imported values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db import DatabaseError, connections, models, transaction

from ..db.documents import apply_document, column_value
from ..db.tables import Table
from ..errors import DocumentValidationError, FunctionError
from ..storage import files
from ..storage.files_table import TABLE as STORAGE
from ..values import ValueEncodingError, decode
from . import stored
from .archive import SnapshotReader, read_lines, too_long
from .insert import insert_rows
from .remap import IdMap

MAX_ERRORS = 20


@dataclass
class Source:
    """One table's lines: where they come from (for messages) and how to open them."""

    table: Table
    name: str  # the file, e.g. "snapshot.zip:messages/documents.jsonl"
    open: Callable[[], IO[bytes]]


def _lines(f: IO[bytes], name: str, errors: list[str]) -> Iterator[tuple[int, str]]:
    """Numbered lines, decoded one by one: a line that is not UTF-8 is an error."""
    for number, raw in enumerate(read_lines(f), 1):
        if raw is None:
            errors.append(f"{name}:{number}: {too_long()}")
            continue
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{name}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})")


def _read(source: Source, errors: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """The documents of ``source`` by line number (each line that is not one, an error)."""
    docs: list[tuple[int, dict[str, Any]]] = []
    with source.open() as f:
        for number, line in _lines(f, source.name, errors):
            if not line.strip():
                continue
            if len(errors) >= MAX_ERRORS:
                return docs
            where = f"{source.name}:{number}"
            try:
                doc = json.loads(line)
            except ValueError as exc:
                errors.append(f"{where}: not JSON ({exc})")
                continue
            if not isinstance(doc, dict):
                errors.append(f"{where}: a document must be a JSON object")
                continue
            docs.append((number, doc))
    return docs


def _parse(
    source: Source, docs: list[tuple[int, dict[str, Any]]], idmap: IdMap, errors: list[str]
) -> list[tuple[int, Row]]:
    rows: list[tuple[int, Row]] = []
    for number, doc in docs:
        if len(errors) >= MAX_ERRORS:
            break
        where = f"{source.name}:{number}"
        try:
            doc = idmap.rewrite(doc)
            problem = idmap.refused(source.table, doc)
            if problem:
                raise ValueError(problem)
            rows.append((number, _instance(source.table, doc)))
        except FunctionError as exc:
            errors.append(f"{where}: {exc.message}")
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    return rows


def _refuse(errors: list[str]) -> None:
    if errors:
        more = " (stopped there)" if len(errors) >= MAX_ERRORS else ""
        raise ValueError(
            f"{len(errors)} bad line(s){more}; nothing was imported:\n" + "\n".join(errors)
        )


#: A model instance to insert, and the `auto_now` / `auto_now_add` columns' imported values
#: (``save()`` sets those to now: they are written again after it).
Row = tuple[models.Model, dict[str, Any]]


_TAGGED = (["$float"], ["$bytes"], ["$integer"])


def _tagged(table: Table, doc: dict[str, Any]) -> dict[str, Any]:
    """A field's value in Convex's tagged form, as Convex's export (``"uniform"``) writes
    bytes (``{"$bytes": base64}``) and non-finite floats, and an Int64 may be: decoded. A JSON
    field keeps what it holds."""
    special = {
        k: decode(value, path=k)
        for k, value in doc.items()
        if isinstance(value, dict)
        and list(value) in _TAGGED
        and k in table.fields
        and not isinstance(table.fields[k], models.JSONField)
    }
    return {**doc, **special} if special else doc


def _instance(table: Table, doc: dict[str, Any]) -> Row:
    obj = table.model()
    try:
        doc = _tagged(table, doc)
    except ValueEncodingError as exc:
        raise DocumentValidationError(str(exc)) from None
    apply_document(table, obj, doc, replace=True)
    if "_id" in doc:
        obj.pk = column_value(table, "_id", doc["_id"], where="_id")
    created = doc.get("_creationTime")
    if created is not None and (isinstance(created, bool) or not isinstance(created, (int, float))):
        raise DocumentValidationError(f"`_creationTime` must be a number (ms), not {created!r}")
    if table.creation_field and created is not None:
        setattr(
            obj, table.creation_field, column_value(table, "_creationTime", doc["_creationTime"])
        )
    kept = {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        and getattr(obj, f.attname) is not None
    }
    return obj, kept


def import_tables(
    sources: Iterable[Source],
    *,
    mode: str | None,
    progress: Callable[[Table, int], Callable[[], None]],
    using: str = "default",
    numbers: dict[int, str] | None = None,
    snapshot: SnapshotReader | None = None,
) -> dict[str, int]:
    """Import every source in one transaction; rows written per table. ``mode`` is None,
    ``"append"`` or ``"replace"``; ``numbers`` are the export's table numbers (``_tables``);
    the files of ``snapshot``'s ``_storage`` are imported too, when given.
    Raises ValueError (every reason) with nothing written."""
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
    entries = stored.read_entries(snapshot, errors) if snapshot is not None else []
    if mode is None and entries:
        count = stored.storage_table().model._default_manager.using(using).count()
        if count:
            raise ValueError(
                f"table {STORAGE!r} is not empty ({count} files): pass --append to add the "
                "export's files to them or --replace to replace them"
            )
    read = [(s, _read(s, errors)) for s in sources]
    imported = [s.table.name for s in sources] + ([STORAGE] if entries else [])
    idmap = IdMap(numbers or {}, imported, using)
    if entries:
        idmap.plan(stored.storage_table(), [(e.where, e.doc) for e in entries], errors, using)
    for s, docs in read:
        idmap.plan(s.table, [(f"{s.name}:{n}", doc) for n, doc in docs], errors, using)
    parsed = [(s, _parse(s, docs, idmap, errors)) for s, docs in read]
    _refuse(errors)
    written: list[str] = []  # stored files' bytes: deleted again if the import fails
    replaced: list[str] = []  # replaced files' bytes: deleted once the import commits
    counts: dict[str, int] = {}
    try:
        with transaction.atomic(using=using):
            if mode == "replace":
                _delete_rows([s.table.model for s in sources], using)
                if entries:
                    replaced = stored.delete_files(entries, idmap, using)
            for source, rows in parsed:
                tick = progress(source.table, len(rows))
                insert_rows(source.table.model, source.name, rows, tick, using)
                counts[source.table.name] = len(rows)
            if snapshot is not None and entries:  # last: a refused row stores no bytes, and
                # only a process killed while files are stored leaves bytes without a row
                tick = progress(stored.storage_table(), len(entries))
                counts[STORAGE] = stored.import_entries(
                    snapshot, entries, idmap, written, tick, using
                )
            written_models = [s.table.model for s in sources]
            if entries:
                written_models.append(stored.storage_table().model)
            _reset_sequences(written_models, using)
    except DatabaseError as exc:  # e.g. a foreign key to a missing row, checked at commit
        _discard(written)
        lines = str(exc).strip().splitlines()
        raise ValueError(f"{' '.join(lines[:2])}; nothing was imported") from None
    except BaseException:
        _discard(written)
        raise
    _discard(replaced)
    return counts


def _discard(names: list[str]) -> None:
    for name in names:
        files.discard(name)


def _delete_rows(model_list: list[type[models.Model]], using: str) -> None:
    """Delete every row of these tables and nothing else: no cascade into the tables that
    refer to them (Django's ``delete()`` would empty those silently). The foreign keys are
    checked at commit, so a row elsewhere still pointing at a deleted row that the import does
    not bring back refuses the whole import. The capture triggers see the deletes."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for model in model_list:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _reset_sequences(model_list: list[type[models.Model]], using: str) -> None:
    """Move each table's id sequence past its highest key, never back: keys handed out for ids
    naming no document (`remap`), and the keys of rows ``replace`` deleted, are never reused
    (Django's ``sequence_reset_sql`` would set it to the highest key there now)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in model_list:
            meta = model._meta
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", [quote(meta.db_table), meta.pk.column]
            )
            row = cursor.fetchone()
            if row is None or row[0] is None:
                continue  # no sequence (a UUID key)
            cursor.execute(
                f"SELECT setval(%s, GREATEST(nextval(%s), COALESCE(MAX({quote(meta.pk.column)}),"
                f" 0) + 1), false) FROM {quote(meta.db_table)}",
                [row[0], row[0]],
            )
