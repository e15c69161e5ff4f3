"""What a trigger handler receives: one `Change` to one document of one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: What happened to the document (``patch`` and ``replace`` are both ``"update"``, as in Convex).
Operation = Literal["insert", "update", "delete"]


@dataclass(frozen=True)
class Change:
    """One write through ``ctx.db``, as convex-helpers' triggers describe it.

    ``old_doc`` is None for an insert, ``new_doc`` None for a delete; both are whole documents
    (``_id``, ``_creationTime`` and every field), read in the mutation's transaction just before
    and just after the write.
    """

    table: str
    operation: Operation
    id: str
    old_doc: dict[str, Any] | None
    new_doc: dict[str, Any] | None
