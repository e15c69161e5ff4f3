"""`@query`, `@mutation`, `@action` and their `internal_*` twins. Build and register only.

Each decorator works bare or called with options::

    @query
    def list_messages(ctx, channel: v.id("channels"), limit: int = 50) -> list[dict]:
        ...

    @mutation(args={"body": v.string()}, returns=v.id("messages"), isolation="select_for_update")
    def send(ctx, body):
        ...

The function's path comes from its module: ``chat/functions.py: send`` is ``"chat:send"``; in the
``FUNCTIONS_ROOT`` package, laid out as Convex's ``convex/`` folder, ``messages.py: list_`` is
``"messages:list"``. Pass ``name=`` to export it under another name (``name="default"`` for
Convex's default export), or ``path=`` for a function defined outside a functions module.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from django.apps import apps

from ..conf import reactive_settings
from ..errors import ConfigurationError
from ..validators import CompiledArgs, CompiledReturns, Validator, compile_args, compile_returns
from ..validators.compile import inspect_declaration
from .registry import AnyFunction, Isolation, Kind, RegisteredFunction, registry

P = ParamSpec("P")
R = TypeVar("R")

_pending: list[tuple[AnyFunction, str | None, str | None]] = []
_pending_lock = threading.Lock()


def _module_path(module: str, name: str) -> str:
    root = reactive_settings.lenient.FUNCTIONS_ROOT
    if root and (module == root or module.startswith(root + ".")):
        # A Convex-style layout: the root is Convex's convex/ folder, so `<root>/messages.py:
        # list_` is "messages:list" (a trailing "_" avoids a Python keyword or builtin).
        inside = module[len(root) :].lstrip(".")
        if not inside:
            raise ConfigurationError(
                f"{module}.{name}: FUNCTIONS_ROOT {root!r} is the folder, as Convex's convex/; "
                'define functions in its modules (messages.py is "messages:...")'
            )
        exported = name[:-1] if name.endswith("_") and not name.endswith("__") else name
        return inside.replace(".", "/") + ":" + exported
    app = apps.get_containing_app_config(module)
    if app is None:
        raise ConfigurationError(
            f"{module}.{name}: the module is not inside an installed app; pass path='module:name'"
        )
    rest = module[len(app.name) :].lstrip(".").split(".") if module != app.name else []
    functions_module = reactive_settings.lenient.FUNCTIONS_MODULE
    if not rest or rest[0] != functions_module:
        raise ConfigurationError(
            f"{module}.{name}: functions live in an app's "
            f"{functions_module!r} module or package; pass path='module:name' "
            "to register one elsewhere"
        )
    return "/".join([app.label, *rest[1:]]) + ":" + name


def _register(fn: AnyFunction, name: str | None, path: str | None) -> None:
    if path is None and not apps.apps_ready:
        with _pending_lock:
            _pending.append((fn, name, path))
        return
    handler = fn.handler
    registry.register(fn, path or _module_path(handler.__module__, name or handler.__name__))


def register_pending() -> None:
    """Register functions whose modules were imported before the app registry was ready."""
    with _pending_lock:
        items = list(_pending)
        _pending.clear()
    for fn, name, path in items:
        _register(fn, name, path)


def _build(
    kind: Kind,
    internal: bool,
    handler: Callable[..., Any],
    *,
    args: Any,
    returns: Any,
    name: str | None,
    path: str | None,
    isolation: str | Isolation,
) -> AnyFunction:
    if not callable(handler):
        raise TypeError(f"@{kind.value} decorates a function, not {handler!r}")
    # Definition mistakes are recorded, not raised: functions modules are imported while
    # Django starts, and `manage.py check` then lists every mistake in one line each.
    found = inspect_declaration(handler, args, returns)
    problems = found.problems
    target = handler.func if isinstance(handler, functools.partial) else handler
    is_async = inspect.iscoroutinefunction(target)
    if is_async and kind is not Kind.ACTION:
        problems.append(
            "queries and mutations are synchronous (they run in one database "
            "transaction); only actions may be async"
        )
    try:
        mode = Isolation(isolation)
    except ValueError:
        mode = Isolation.SERIALIZABLE
        problems.append(
            f"isolation={isolation!r} is not one of {', '.join(repr(m.value) for m in Isolation)}"
        )
    compiled_args: CompiledArgs | None = None
    compiled_returns = CompiledReturns(None)
    if not problems:
        where = f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"
        try:
            compiled_args = compile_args(handler, args, where)
            compiled_returns = compile_returns(handler, returns)
        except Exception as exc:  # pydantic refusing a type: keep its first line only
            compiled_args = None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"its validators cannot be built: {first}")
    if compiled_args is None:
        compiled_args = CompiledArgs(lambda value: _refuse(fn), accepts_any=False)
    fn = RegisteredFunction(
        kind=kind,
        handler=handler,
        internal=internal,
        args=compiled_args,
        returns=compiled_returns,
        isolation=mode,
        is_async=is_async,
        problems=tuple(problems),
        id_tables=frozenset(found.id_tables),
        declared_args=args,
        declared_returns=returns,
    )
    functools.update_wrapper(fn, handler)
    _register(fn, name, path)
    return fn


def _refuse(fn: AnyFunction) -> dict[str, Any]:
    """The argument validator of a function defined wrongly: every call fails, server-side."""
    first, *rest = fn.problems
    more = f" (and {len(rest)} more)" if rest else ""
    raise ConfigurationError(f"{fn.path}: {first}{more}; run manage.py check")


class Registrar(Protocol):
    """What ``@query(...)`` returns: applied to a handler, it registers it."""

    def __call__(self, handler: Callable[P, R], /) -> RegisteredFunction[P, R]: ...


class FunctionDecorator(Protocol):
    """The type of `query`, `mutation`, `action` and their `internal_*` twins (bare or called)."""

    @overload
    def __call__(self, handler: Callable[P, R], /) -> RegisteredFunction[P, R]: ...

    @overload
    def __call__(
        self,
        handler: None = None,
        /,
        *,
        args: Mapping[str, Any] | Validator | None = None,
        returns: Any = None,
        name: str | None = None,
        path: str | None = None,
        isolation: str | Isolation = Isolation.SERIALIZABLE,
    ) -> Registrar: ...


def _decorator(kind: Kind, internal: bool) -> FunctionDecorator:
    def decorate(
        handler: Callable[..., Any] | None = None,
        /,
        *,
        args: Any = None,
        returns: Any = None,
        name: str | None = None,
        path: str | None = None,
        isolation: str | Isolation = Isolation.SERIALIZABLE,
    ) -> Any:
        if kind is not Kind.MUTATION and isolation != Isolation.SERIALIZABLE:
            raise TypeError("isolation= applies to mutations only")

        def wrap(h: Callable[..., Any]) -> AnyFunction:
            return _build(
                kind,
                internal,
                h,
                args=args,
                returns=returns,
                name=name,
                path=path,
                isolation=isolation,
            )

        return wrap(handler) if handler is not None else wrap

    decorate.__name__ = ("internal_" if internal else "") + kind.value
    decorate.__doc__ = (
        f"Register a{'n internal' if internal else ' public'} {kind.value}. "
        "See the module docstring for the options."
    )
    # `decorate` implements both overloads of FunctionDecorator (its result is Any).
    return decorate


query = _decorator(Kind.QUERY, internal=False)
mutation = _decorator(Kind.MUTATION, internal=False)
action = _decorator(Kind.ACTION, internal=False)
internal_query = _decorator(Kind.QUERY, internal=True)
internal_mutation = _decorator(Kind.MUTATION, internal=True)
internal_action = _decorator(Kind.ACTION, internal=True)
