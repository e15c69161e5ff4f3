"""`_storage`: the `StoredFile` model as a read-only system table.

Documents have Convex's shape: ``_id`` (the storage id), ``_creationTime``, ``sha256`` (base64),
``size`` (a number of bytes) and ``contentType`` (absent when the upload gave none). Like any
table it has a change-capture trigger, so a query reading it re-runs when a file is stored or
deleted. Storage ids are the table's document ids (`reactive.ids`), so ``v.id("_storage")``
checks them.
"""

from __future__ import annotations

from typing import Any

from ..db.tables import tables
from ..values import whole

TABLE = "_storage"

KEYS = {"sha256": "sha256", "size": "size", "contentType": "content_type"}


def shape(doc: dict[str, Any], obj: Any) -> dict[str, Any]:
    doc["size"] = whole(float(obj.size))  # a float64 in Convex (not an Int64); prints as 7
    if doc.get("contentType") is None:
        doc.pop("contentType", None)
    return doc


def register(model: type) -> None:
    tables.register(model, TABLE, "creation_time", system=True, keys=KEYS, shape=shape)
