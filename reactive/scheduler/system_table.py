"""`_scheduled_functions`: the `ScheduledFunction` model as a read-only system table.

Documents have Convex's shape: ``name``, ``args`` (a one-element list holding the arguments),
``scheduledTime``, ``completedTime`` (once finished) and ``state`` (``{"kind": "pending"}``, …,
``{"kind": "failed", "error": "…"}``). Filters may name ``state.kind``. Like any table it has a
change-capture trigger, so queries reading it are re-run when a row changes.
"""

from __future__ import annotations

from typing import Any

from ..db.documents import Document
from ..db.tables import tables
from ..values import decode
from .states import State

TABLE = "_scheduled_functions"

KEYS = {
    "name": "name",
    "args": "args",
    "scheduledTime": "scheduled_time",
    "completedTime": "completed_time",
    "state.kind": "state",
}


def shape(doc: dict[str, Any], obj: Any) -> dict[str, Any]:
    state = Document(kind=doc.pop("state.kind"))  # `job.state.kind`, as Convex code reads it
    if state["kind"] == State.FAILED:
        state["error"] = obj.error
    doc["state"] = state
    doc["args"] = decode(doc["args"])
    if doc.get("completedTime") is None:
        doc.pop("completedTime", None)
    return doc


def register(model: type) -> None:
    tables.register(model, TABLE, "creation_time", system=True, keys=KEYS, shape=shape)
