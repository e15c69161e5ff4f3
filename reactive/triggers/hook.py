"""The `functions.wrappers` hook: every mutation's ``ctx.db`` runs triggers (order 10, below
row-level rules, so handlers write with the mutation's own rights: rules do not apply to them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..functions.context import MutationCtx
from ..functions.registry import Kind
from ..functions.wrappers import install as install_wrapper
from . import table_handlers
from .cascade import Cascade, TriggeringWriter

if TYPE_CHECKING:
    from ..functions.context import QueryCtx
    from ..functions.registry import AnyFunction

NAME = "reactive.triggers"
ORDER = 10


def wrap(ctx: QueryCtx, fn: AnyFunction) -> TriggeringWriter | None:
    """A triggering writer over a mutation's ``ctx.db``; None (leave it) when no table has a
    handler, and in queries."""
    if fn.kind is not Kind.MUTATION or not table_handlers.tables_with_handlers():
        return None
    assert isinstance(ctx, MutationCtx)
    return TriggeringWriter(Cascade(ctx, ctx.db))


def install() -> None:
    """Install `wrap` for every call (idempotent)."""
    install_wrapper(NAME, wrap, order=ORDER)
