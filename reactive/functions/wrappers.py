"""`ctx.db` wrappers installed for every call of a kind: row-level rules, triggers.

A wrapper is ``wrapper(ctx, fn) -> db | None``: given the ctx a query or mutation is about to
receive (its ``db`` already the one wrappers installed before it left) and the registered function,
it returns the ``ctx.db`` to use instead, or None to leave it. Wrappers run in ``order``, lowest
first, so a lower order sits closer to the database: triggers (order 10) see every write a
function makes after the rules (order 20) let it through, and the rules see what the function
asked for. A wrapper returns an object meeting the `db.interface` contract (`DocumentReader` in a
query, `DocumentWriter` in a mutation).

`make_ctx` (`frames.py`) applies them; the packages that provide them (`reactive.rules`,
`reactive.triggers`) install theirs when Django starts. This module knows neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import QueryCtx
    from .registry import AnyFunction

#: ``wrapper(ctx, fn)``: the ``ctx.db`` to use instead of ``ctx.db``, or None to leave it.


_lock = threading.Lock()
_installed: dict[str, tuple[int, Callable[..., Any]]] = {}
_ordered: tuple[Callable[..., Any], ...] = ()


def install(name: str, wrapper: Callable[[QueryCtx, AnyFunction], Any], order: int) -> None:
    """Install (or replace) the wrapper called ``name``; lower ``order`` wraps first."""
    global _ordered
    with _lock:
        _installed[name] = (order, wrapper)
        _ordered = tuple(w for _, w in sorted(_installed.values(), key=lambda item: item[0]))


def uninstall(name: str) -> None:
    """Remove the wrapper called ``name`` (tests; a package switched off)."""
    global _ordered
    with _lock:
        _installed.pop(name, None)
        _ordered = tuple(w for _, w in sorted(_installed.values(), key=lambda item: item[0]))


def apply(ctx: QueryCtx, fn: AnyFunction) -> None:
    """Give ``ctx`` the ``db`` every installed wrapper makes of it, in order."""
    for wrapper in _ordered:
        db = wrapper(ctx, fn)
        if db is not None:
            ctx.db = db
