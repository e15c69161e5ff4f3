"""The function registry: canonical path → registered function; resolving a reference to its
function, and checking a call's arguments and result against the function's validators. No
execution here (the executor runs calls; the scheduler resolves and checks what it schedules).

Paths follow Convex: a function `send` in app `chat`'s `functions` module is `"chat:send"`; in
`chat/functions/messages.py` it is `"chat/messages:send"`; a function named `default` answers to
`"chat"` as well. Every path that comes in (HTTP, WebSocket, references) is canonicalised with
`canonical_path` before lookup.
"""

from __future__ import annotations

import enum
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NoReturn, ParamSpec, TypeAlias, TypeVar

from pydantic import ValidationError

from ..conf import reactive_settings
from ..errors import (
    ArgumentValidationError,
    ConfigurationError,
    DuplicateFunction,
    FunctionNotFound,
    LimitExceeded,
    ReturnValidationError,
)
from ..limits import approx_size
from ..validators import describe_errors
from ..values import ValueEncodingError, encode
from .references import FunctionReference

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..validators import CompiledArgs, CompiledReturns

P = ParamSpec("P")
R = TypeVar("R")


class Kind(enum.StrEnum):
    QUERY = "query"
    MUTATION = "mutation"
    ACTION = "action"


class Isolation(enum.StrEnum):
    """How a mutation's transaction keeps concurrent writers apart."""

    #: SERIALIZABLE; conflicts (40001) and deadlocks (40P01) are retried.
    SERIALIZABLE = "serializable"
    #: READ COMMITTED with `SELECT … FOR UPDATE` on every row the mutation reads; deadlocks retried.
    SELECT_FOR_UPDATE = "select_for_update"


_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def canonical_path(path: str) -> str:
    """Convex's canonical form: ``"file"`` → ``"file:default"``; ``.js`` is stripped."""
    module, sep, name = path.rpartition(":")
    if not sep:
        module, name = path, "default"
    if module.endswith(".js"):
        module = module[:-3]
    return f"{module}:{name}"


def valid_path(path: str) -> bool:
    module, _, name = path.rpartition(":")
    parts = module.split("/")
    return (
        bool(module)
        and bool(_IDENT.match(name))
        and all(re.match(r"^[A-Za-z0-9_.\-]+$", part) for part in parts)
    )


@dataclass(eq=False)
class RegisteredFunction(Generic[P, R]):
    """One backend function. Call it through the executor, never directly.

    Generic over the handler's parameters ``P`` and result ``R``, so a decorated function keeps
    its signature for type checkers.
    """

    kind: Kind
    handler: Callable[P, R]
    internal: bool
    args: CompiledArgs
    returns: CompiledReturns
    isolation: Isolation = Isolation.SERIALIZABLE
    path: str | None = None
    is_async: bool = False
    #: Definition mistakes found at registration (one line each); system check reactive.E020
    #: lists them, and calls fail until they are fixed.
    problems: tuple[str, ...] = ()
    #: Tables named by the `v.id(...)` validators of the arguments and result.
    id_tables: frozenset[str | type] = frozenset()  # v.id tables (a model: unregistered)
    #: An HTTP action (`reactive.http`): it takes the request, not arguments, and runs only
    #: when a request reaches its route (never through /api, the WebSocket or ``ctx.run_*``).
    http: bool = False
    #: Not in the registry: a query a ctx method of an action runs through the executor
    #: (``ActionCtx.vector_search``); server callers only, under its ``path`` (the action's).
    inline: bool = False
    #: The ``args=`` and ``returns=`` given to the decorator, as written (None: the type hints
    #: declare them); what codegen reads to type the function for TypeScript.
    declared_args: Any = None
    declared_returns: Any = None

    @property
    def visibility(self) -> str:
        return "internal" if self.internal else "public"

    # Typed with the handler's parameters (editors show them) and NoReturn: a direct call always
    # raises, so a type checker must not believe it yields the handler's result.
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> NoReturn:
        raise TypeError(
            f"{self.path or self.handler.__qualname__} is a reactive {self.kind.value}; call it "
            "through the executor: ctx.run_query(api.x.y, {...}) / reactive.testing.call(...)"
        )

    def __repr__(self) -> str:
        return f"<{self.visibility} {self.kind.value} {self.path}>"


#: A registered function of any signature (what the registry and the executor handle).
AnyFunction: TypeAlias = "RegisteredFunction[..., Any]"


class FunctionRegistry:
    def __init__(self) -> None:
        self._by_path: dict[str, AnyFunction] = {}
        self._lock = threading.Lock()

    def register(self, fn: AnyFunction, path: str) -> None:
        path = canonical_path(path)
        if not valid_path(path):
            raise ConfigurationError(
                f"{path!r} is not a valid function path (module:name, names are identifiers)"
            )
        with self._lock:
            existing = self._by_path.get(path)
            if existing is not None and existing is not fn:
                if _same_definition(existing, fn):
                    self._by_path[path] = fn  # the same module imported again (e.g. reloaded)
                    fn.path = path
                    return
                raise DuplicateFunction(
                    f"Two functions are registered as {path!r}: {_where(existing)} and {_where(fn)}"
                )
            fn.path = path
            self._by_path[path] = fn

    def unregister(self, path: str) -> None:
        with self._lock:
            self._by_path.pop(canonical_path(path), None)

    def get(self, path: str) -> AnyFunction | None:
        return self._by_path.get(canonical_path(path))

    def __iter__(self) -> Iterator[AnyFunction]:
        return iter(sorted(self._by_path.values(), key=lambda f: f.path or ""))

    def __len__(self) -> int:
        return len(self._by_path)


def _where(fn: AnyFunction) -> str:
    return f"{fn.handler.__module__}.{fn.handler.__qualname__}"


def _same_definition(a: AnyFunction, b: AnyFunction) -> bool:
    return _where(a) == _where(b) and a.kind == b.kind


registry = FunctionRegistry()


def resolve(ref: FunctionReference | str, *, from_client: bool) -> tuple[str, AnyFunction]:
    """Find the function for a reference or path; internal ones only for server callers."""
    if isinstance(ref, RegisteredFunction) and ref.inline and not from_client:
        return ref.path or "", ref
    if isinstance(ref, FunctionReference):
        path, want_internal = ref.path, ref.internal
    elif isinstance(ref, str):
        path, want_internal = ref, not from_client
    elif isinstance(ref, RegisteredFunction) and ref.path:
        path, want_internal = ref.path, ref.internal and not from_client
    else:
        raise FunctionNotFound(f"{ref!r} is not a function reference (use api.x.y / internal.x.y)")
    fn = registry.get(path) if path else None
    if fn is None and isinstance(ref, FunctionReference) and path.endswith("_"):
        # api.messages.import_ for "messages:import" (the FUNCTIONS_ROOT layout drops the "_";
        # Python cannot spell a keyword as an attribute)
        fn = registry.get(path[:-1])
    if fn is None or (fn.internal and from_client):
        scope = "public " if from_client else ""
        raise FunctionNotFound(f"Could not find {scope}function for '{path}'")
    if fn.internal and not want_internal and isinstance(ref, FunctionReference):
        raise FunctionNotFound(f"{fn.path} is internal: refer to it as internal.{_dotted(fn)}")
    return fn.path or path, fn


def _dotted(fn: AnyFunction) -> str:
    return (fn.path or "").replace("/", ".").replace(":", ".")


def validate_args(fn: AnyFunction, path: str, args: Any) -> dict[str, Any]:
    """The arguments as the handler receives them; raises `ArgumentValidationError` or
    `LimitExceeded`."""
    limit = reactive_settings.LIMITS.argument_bytes
    size = approx_size(args)
    if size > limit:
        raise LimitExceeded(f"{path}: arguments are too large ({size} > {limit} bytes)")
    if not isinstance(args, dict):
        raise ArgumentValidationError(
            f"ArgumentValidationError in {path}: the arguments must be an object, "
            f"not {type(args).__name__}"
        )
    try:
        return fn.args(args)
    except ValidationError as exc:
        raise ArgumentValidationError(
            f"ArgumentValidationError in {path}: {describe_errors(exc)}"
        ) from None


def validate_result(fn: AnyFunction, path: str, value: Any) -> tuple[Any, Any]:
    """The handler's result checked against ``returns`` and encoded: (value, encoded value)."""
    try:
        value = fn.returns(value)
    except ValidationError as exc:
        raise ReturnValidationError(
            f"ReturnsValidationError in {path}: {describe_errors(exc)}"
        ) from None
    try:
        encoded = encode(value)
    except ValueEncodingError as exc:
        raise ReturnValidationError(
            f"{path} returned a value that is not a Convex value: {exc}"
        ) from None
    limit = reactive_settings.LIMITS.result_bytes
    if approx_size(encoded) > limit:
        raise LimitExceeded(f"{path}: the result is too large (> {limit} bytes)")
    return value, encoded
