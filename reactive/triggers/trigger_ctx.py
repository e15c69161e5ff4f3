"""The ctx a trigger handler receives: the mutation's ctx, with a ``db`` that runs triggers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ..functions.context import MutationCtx

if TYPE_CHECKING:
    from ..db.interface import DocumentWriter


@dataclass
class TriggerCtx(MutationCtx):
    """``ctx`` in a trigger handler.

    ``db`` writes run their tables' triggers in turn (a cascade, bounded by
    `reactive.triggers.MAX_DEPTH`); ``inner_db`` is the same transaction's writer without
    triggers (convex-helpers' ``innerDb``), for writes that must not cascade. Everything else
    (``auth``, ``scheduler``, ``now``, ``random``, ``log``, ``run_query``, ``run_mutation``) is
    the mutation's own.
    """

    inner_db: DocumentWriter = field(default=None, repr=False)  # type: ignore[assignment]

    @classmethod
    def derive(cls, ctx: MutationCtx, db: DocumentWriter, inner_db: DocumentWriter) -> TriggerCtx:
        """A handler's ctx from the mutation's (which is left as it is)."""
        given: dict[str, Any] = {
            f.name: getattr(ctx, f.name) for f in fields(MutationCtx) if f.init
        }
        given.update(db=db, inner_db=inner_db)
        return cls(**given)
