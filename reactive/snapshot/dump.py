"""Export: every row of the chosen tables as a Convex document, one JSON line each.

A document is what a query returns (`db.documents.to_document`: ``_id``, ``_creationTime`` and
the fields, foreign keys as ids) in Convex's export JSON, as its exports since the
``"uniform"`` marker in ``<table>/generated_schema.jsonl`` (``ValueFormat::ConvexExportJSON`` in
convex-backend's ``crates/value/src/export.rs``): an Int64 as a JSON integer, a float64 always
with a dot or tagged (``{"$float": base64}`` for NaN, ±Infinity, -0.0), bytes as
``{"$bytes": base64}``. Ids are written as Convex ids
(`convex_ids.internal_for_pk`), wherever they are: ``_id``, foreign keys, and any string of a
document that is an id of an exported table or of `_storage` (a string primary key keeps our
id form). Rows are read in primary-key order, in one REPEATABLE READ transaction, so the
snapshot is consistent across tables. The snapshot appears at its path only once complete: a
failed or interrupted export leaves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import connections, transaction

from .. import ids
from ..db.documents import to_document
from ..db.tables import Table
from ..storage.files_table import TABLE as STORAGE
from ..values import decode, encode
from . import convex_ids, stored
from .archive import README, README_TEXT, TABLES, SnapshotWriter, documents_path

#: Told (table, rows in it) when a table starts, then () after each row: a progress bar.
Progress = Callable[[Table, int], Callable[[], None]]


class ConvexIds:
    """Our ids of the exported tables → Convex ids (table numbers as ``_tables`` gives them)."""

    def __init__(self, numbers: dict[str, int]) -> None:
        self.by_tag = {ids.table_tag(name): number for name, number in numbers.items()}

    def __call__(self, value: str) -> str:
        decoded = ids.decode_id(value)
        if decoded is None or decoded[0] not in self.by_tag:
            return value
        internal = convex_ids.internal_for_pk(decoded[1])
        if internal is None:
            return value
        return convex_ids.encode(self.by_tag[decoded[0]], internal)

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.rewrite(v) for v in value]
        if isinstance(value, dict):
            return {self(k): self.rewrite(v) for k, v in value.items()}
        return value


def _lossless(value: Any) -> Any:
    """Convex's export JSON from its wire JSON: an Int64 as a JSON integer; bytes, NaN and
    ±Infinity stay tagged (``{"$bytes": ...}``, ``{"$float": ...}``); floats are written with
    a dot (``3.0``), so that an integer is never taken for a float64 or back."""
    if isinstance(value, dict):
        if list(value) == ["$integer"]:
            return int(decode(value))
        return {k: _lossless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lossless(v) for v in value]
    return value


def _lines(table: Table, convex: ConvexIds, tick: Callable[[], None]) -> Iterator[str]:
    for obj in table.model._default_manager.order_by("pk").iterator(chunk_size=2000):
        doc = convex.rewrite(_lossless(encode(to_document(table, obj))))
        yield json.dumps(doc, ensure_ascii=False)
        tick()


def export_tables(
    path: Path,
    chosen: list[Table],
    progress: Progress,
    using: str = "default",
    with_storage: bool = False,
) -> dict[str, int]:
    """Write ``chosen`` (and the stored files, ``with_storage``) into a new snapshot at
    ``path``; rows written per table."""
    writer = SnapshotWriter(path)
    numbers = {t.name: convex_ids.FIRST_TABLE_NUMBER + i for i, t in enumerate(chosen)}
    convex = ConvexIds(
        {**numbers, STORAGE: convex_ids.STORAGE_TABLE_NUMBER} if with_storage else numbers
    )
    counts: dict[str, int] = {}
    try:
        writer.lines(README, iter(README_TEXT.splitlines()))
        listed: list[Any] = [{"name": name, "id": number} for name, number in numbers.items()]
        writer.lines(TABLES, iter(json.dumps(entry) for entry in listed))
        with transaction.atomic(using=using):
            with connections[using].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for table in chosen:
                total = table.model._default_manager.count()
                tick = progress(table, total)
                counts[table.name] = total
                writer.lines(documents_path(table.name), _lines(table, convex, tick))
                writer.lines(f"{table.name}/generated_schema.jsonl", iter(['"uniform"']))
            if with_storage:
                counts[STORAGE] = stored.export_files(writer, convex)
        writer.commit()
    except BaseException:  # Ctrl-C too: no partial snapshot is left
        writer.discard()
        raise
    return counts
