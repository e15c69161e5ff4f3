"""Export: every row of the chosen tables as a Convex document, one JSON line each.

A document is what a query returns (`db.documents.to_document`: ``_id``, ``_creationTime`` and
the fields, foreign keys as ids) in Convex's JSON export encoding (`values.encode(clean=True)`:
an int64 as a decimal string, bytes as base64). Rows are read in primary-key order, in one
REPEATABLE READ transaction, so the snapshot is consistent across tables. The snapshot appears
at its path only once complete: a failed or interrupted export leaves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import connections, transaction

from ..db.documents import to_document
from ..db.tables import Table
from ..values import encode
from .archive import TABLES, SnapshotWriter, documents_path

#: Told (table, rows in it) when a table starts, then () after each row: a progress bar.
Progress = Callable[[Table, int], Callable[[], None]]


def _lines(table: Table, tick: Callable[[], None]) -> Iterator[str]:
    for obj in table.model._default_manager.order_by("pk").iterator(chunk_size=2000):
        yield json.dumps(encode(to_document(table, obj), clean=True), ensure_ascii=False)
        tick()


def export_tables(
    path: Path, chosen: list[Table], progress: Progress, using: str = "default"
) -> dict[str, int]:
    """Write ``chosen`` into a new snapshot at ``path``; rows written per table."""
    writer = SnapshotWriter(path)
    counts: dict[str, int] = {}
    try:
        with transaction.atomic(using=using):
            with connections[using].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for table in chosen:
                total = table.model._default_manager.count()
                tick = progress(table, total)
                counts[table.name] = total
                writer.lines(documents_path(table.name), _lines(table, tick))
        listed: list[Any] = [{"name": t.name, "id": 10001 + i} for i, t in enumerate(chosen)]
        writer.lines(TABLES, iter(json.dumps(entry) for entry in listed))
        writer.commit()
    except BaseException:  # Ctrl-C too: no partial snapshot is left
        writer.discard()
        raise
    return counts
