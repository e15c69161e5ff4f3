"""Which handlers run for which table: ``register(table, handler)`` and ``@trigger(table)``.

Handlers are registered when their module is imported: an app's ``triggers`` module (imported
at start-up, like its ``functions`` module) or a functions module. Registration order is the
order handlers of one table run in.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps

from ..db.tables import tables
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from .change import Change

#: ``handler(ctx, change)``: runs inside the mutation's transaction; its return value is ignored.
Handler = Callable[[Any, "Change"], object]
H = TypeVar("H", bound=Callable[..., Any])

_lock = threading.Lock()
_by_table: dict[str, tuple[Handler, ...]] = {}


def _name(handler: Callable[..., Any]) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)!s}"


def register(table: str, handler: H) -> H:
    """Run ``handler(ctx, change)`` for every write through ``ctx.db`` to ``table``.

    Registering the same handler twice for one table registers it once (a module imported
    again). Raises `ConfigurationError` for an unknown table or a handler that cannot be called
    with ``(ctx, change)``.
    """
    where = f"trigger {_name(handler)} on {table!r}"
    if not callable(handler):
        raise ConfigurationError(f"{where}: the handler is not callable ({handler!r})")
    if inspect.iscoroutinefunction(handler):
        raise ConfigurationError(
            f"{where}: handlers run inside the mutation's transaction and must be synchronous"
        )
    try:
        inspect.signature(handler).bind(None, None)
    except TypeError:
        raise ConfigurationError(f"{where}: the handler must take (ctx, change)") from None
    except ValueError:  # no signature to read (some builtins): let the call decide
        pass
    if apps.models_ready and tables.find(table) is None:
        raise ConfigurationError(f"{where}: there is no table {table!r}")
    with _lock:
        present = _by_table.get(table, ())
        if not any(_name(h) == _name(handler) for h in present):
            _by_table[table] = (*present, handler)
    return handler


def trigger(table: str) -> Callable[[H], H]:
    """Decorator form of `register`::

    @trigger("messages")
    def count_messages(ctx, change): ...
    """

    def wrap(handler: H) -> H:
        return register(table, handler)

    return wrap


def unregister(table: str, handler: Callable[..., Any] | None = None) -> None:
    """Remove ``handler`` from ``table`` (every handler of the table when None)."""
    with _lock:
        if handler is None:
            _by_table.pop(table, None)
            return
        kept = tuple(h for h in _by_table.get(table, ()) if _name(h) != _name(handler))
        if kept:
            _by_table[table] = kept
        else:
            _by_table.pop(table, None)


def handlers(table: str) -> tuple[Handler, ...]:
    """The handlers of ``table``, in registration order."""
    return _by_table.get(table, ())


def tables_with_handlers() -> tuple[str, ...]:
    """The tables that have at least one handler (empty: triggers cost nothing)."""
    return tuple(_by_table)
