"""`_storage` in a snapshot: the files' metadata and their bytes, out and back in.

Convex's export (``crates/exports/src/export_storage.rs``) writes ``_storage/documents.jsonl``,
one ``{"_id", "_creationTime", "sha256" (base64), "size", "contentType", "internalId"}`` a line,
and each file as ``_storage/<_id>`` plus an extension guessed from its content type. Import
checks every line and that its file is there before anything is written, then stores each file
through reactive's storage (`storage.files`) with a `StoredFile` row, in the import's
transaction; if the import fails, the bytes written so far are deleted again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections

from .. import ids
from ..db.tables import Table, tables
from ..errors import LimitExceeded
from ..storage import files
from ..storage.files_table import TABLE
from ..storage.rows import content_type_problem
from . import convex_ids
from .archive import SnapshotReader, SnapshotWriter, read_lines, text, too_long
from .remap import IdMap

MEMBER = f"{TABLE}/documents.jsonl"


@dataclass
class Entry:
    where: str  # "export.zip:_storage/documents.jsonl:3"
    doc: dict[str, Any]
    member: str  # the file's bytes: "_storage/<id>.png"


def _model() -> Any:
    from ..models import StoredFile  # deferred: reactive's models need the app registry

    return StoredFile


def storage_table() -> Table:
    return tables.get(TABLE)


def read_entries(reader: SnapshotReader, errors: list[str]) -> list[Entry]:
    """The export's stored files, checked (each bad line an error); none if it has none. A
    file without a metadata line is imported too, as Convex's import does, by the id its name
    gives (no content type)."""
    found: dict[str, str] = {}
    for member in reader.members(f"{TABLE}/"):
        stem = member[len(TABLE) + 1 :].split(".", 1)[0]
        if member == MEMBER or not stem or "/" in stem:
            continue
        if stem in found:
            errors.append(f"{reader.path}:{member}: a second file for {TABLE} id {stem!r}")
        found[stem] = member
    entries = []
    taken: set[str] = set()
    if reader.exists(MEMBER):
        with reader.open(MEMBER) as f:
            for number, raw in enumerate(read_lines(f), 1):
                where = f"{reader.path}:{MEMBER}:{number}"
                problem, doc = _checked(raw, number) if raw is not None else (too_long(), {})
                if problem is None and doc and doc["_id"] in taken:
                    problem = f"`_id` {doc['_id']!r} appears twice"
                elif problem is None and doc and doc["_id"] not in found:
                    problem = f"its file {TABLE}/{doc['_id']} is not in the export"
                if problem:
                    errors.append(f"{where}: {problem}")
                elif doc:
                    taken.add(doc["_id"])
                    entries.append(Entry(where, doc, found.pop(doc["_id"])))
    for stem, member in found.items():  # files without a line
        where = f"{reader.path}:{member}"
        if not _storage_id(stem):
            errors.append(f"{where}: {stem!r} (the file's name) is not a storage id")
        else:
            entries.append(Entry(where, {"_id": stem}, member))
    return entries


def _storage_id(value: str) -> bool:
    return convex_ids.decode(value) is not None or ids.pk_of(TABLE, value) is not None


def _checked(raw: bytes, number: int) -> tuple[str | None, dict[str, Any]]:
    if not raw.strip():
        return None, {}
    try:
        doc = json.loads(text(raw, number))
    except ValueError:
        return "not JSON", {}
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
        return 'expected {"_id": "<storage id>", ...}', {}
    old = doc["_id"]
    if not _storage_id(old):
        return f"`_id` {old!r} is not a storage id", {}
    for key, kinds in (("_creationTime", (int, float)), ("size", (int, float))):
        value = doc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            return f"`{key}` must be a number, not {value!r}", {}
    content_type = doc.get("contentType")
    if content_type is not None and not isinstance(content_type, str):
        return f"`contentType` must be a string, not {content_type!r}", {}
    problem = content_type_problem(content_type)
    if problem:
        return f"`contentType` cannot be a Content-Type: {problem}", {}
    return None, doc


def _pk(entry: Entry, idmap: IdMap) -> Any:
    return ids.pk_of(TABLE, idmap.new.get(entry.doc["_id"], entry.doc["_id"]))


def delete_files(entries: list[Entry], idmap: IdMap, using: str = "default") -> list[str]:
    """``--replace`` of a snapshot with stored files, as Convex replaces its `_storage`: delete
    every file's row but those the export restores unchanged (same key and SHA-256: our own
    backup, not stored twice), with plain SQL (no cascade: a foreign key still pointing at a
    deleted file refuses the import at commit); the names of their bytes, to delete once the
    import has committed."""
    model = _model()
    same = {(_pk(e, idmap), e.doc.get("sha256")) for e in entries}
    rows = model.objects.using(using).values_list("pk", "sha256", "name")
    gone = [(pk, name) for pk, sha256, name in rows if (pk, sha256) not in same]
    if gone:
        connection = connections[using]
        meta = model._meta
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(meta.db_table)} "
                f"WHERE {connection.ops.quote_name(meta.pk.column)} = ANY(%s)",
                [[pk for pk, _ in gone]],
            )
    return [name for _, name in gone]


def import_entries(
    reader: SnapshotReader,
    entries: list[Entry],
    idmap: IdMap,
    written: list[str],
    tick: Callable[[], None],
    using: str = "default",
) -> int:
    """Store each entry's file and row (keys as `idmap` planned); each file written is added
    to ``written`` at once, so that the caller can delete them if the import fails."""
    model = _model()
    count = 0
    for entry in entries:
        doc = entry.doc
        pk = _pk(entry, idmap)
        existing = model.objects.using(using).filter(pk=pk).first()
        if existing is not None and existing.sha256 == doc.get("sha256"):
            tick()  # this very file is stored already (our own backup, restored)
            continue
        with reader.open(entry.member) as source:
            try:
                stored = files.write(source, entry.where)
            except LimitExceeded as exc:
                raise ValueError(str(exc)) from None
        written.append(stored.name)
        if doc.get("sha256") not in (None, stored.sha256):
            raise ValueError(f"{entry.where}: the file's SHA-256 is not the `sha256` given")
        row = model(
            pk=pk,
            sha256=stored.sha256,
            size=stored.size,
            content_type=doc.get("contentType") or None,
            name=stored.name,
        )
        if doc.get("_creationTime") is not None:
            row.creation_time = float(doc["_creationTime"])
        row.save(using=using, force_insert=True)
        count += 1
        tick()
    return count


def export_files(writer: SnapshotWriter, convex_id: Callable[[str], str]) -> int:
    """Write every stored file and its metadata line; the number of files."""
    rows = list(_model().objects.order_by("pk"))

    def lines() -> Iterator[str]:
        for row in rows:
            doc: dict[str, Any] = {
                "_id": convex_id(ids.encode_id(TABLE, row.pk)),
                "_creationTime": row.creation_time,
                "sha256": row.sha256,
                "size": row.size,
            }
            if row.content_type:
                doc["contentType"] = row.content_type
            yield json.dumps(doc, ensure_ascii=False)

    writer.lines(MEMBER, lines())
    for row in rows:
        with files.backend().open(row.name, "rb") as source:
            writer.copy(f"{TABLE}/{convex_id(ids.encode_id(TABLE, row.pk))}", source)
    return len(rows)
