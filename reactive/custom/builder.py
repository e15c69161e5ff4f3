"""`custom_query`, `custom_mutation`, `custom_action`: decorators built over another one.

The built decorator is used exactly like `@query` (bare, or with ``args``, ``returns``,
``name``, ``path``, ``isolation``, plus options for the customization). It registers, through
the decorator it was built over, an ordinary `RegisteredFunction` at the handler's own path:
its arguments are the function's and the customization's, validated together by one
validator (so errors name the function and the field as usual), and its handler is a thin
wrapper that consumes the customization's arguments, runs ``input``, calls the user's handler
with the derived ctx and arguments, then ``on_success``. Builders compose: a builder over a
builder runs the inner customization first (its ctx additions are visible to the outer one).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from ..errors import ConfigurationError
from ..functions.context import run_off_loop
from ..functions.decorators import Registrar
from ..functions.registry import AnyFunction, Isolation, Kind, RegisteredFunction
from ..validators import CompiledArgs, Validator
from ..validators.builders import ObjectValidator
from .customization import Customization
from .derive import derive

P = ParamSpec("P")
R = TypeVar("R")

_INPUT_KEYS = frozenset({"ctx", "args", "on_success"})
_PLURAL = {Kind.QUERY: "queries", Kind.MUTATION: "mutations", Kind.ACTION: "actions"}


class CustomDecorator(Protocol):
    """The type of a built decorator: `FunctionDecorator`'s forms, plus customization options."""

    kind: Kind

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
        **options: Any,
    ) -> Registrar: ...


def _kind_of(base: Any) -> Kind | None:
    kind = getattr(base, "kind", None)
    if isinstance(kind, Kind):
        return kind
    name = str(getattr(base, "__name__", "")).removeprefix("internal_")
    return Kind(name) if name in {k.value for k in Kind} else None


class CustomBuilder:
    """A decorator that registers functions of ``kind`` through ``base``, customized."""

    def __init__(self, kind: Kind, base: Any, customization: Any) -> None:
        found = _kind_of(base)
        if found is not None and found is not kind:
            raise ConfigurationError(
                f"custom_{kind.value} builds {_PLURAL[kind]}: pass {kind.value} or "
                f"internal_{kind.value} (or a builder of {_PLURAL[kind]}), not a {found.value} "
                "decorator"
            )
        if not callable(base):
            raise ConfigurationError(f"custom_{kind.value}: {base!r} is not a decorator")
        self.kind = kind
        self.base = base
        self.customization = Customization.of(customization)
        if kind is not Kind.ACTION and self.customization.is_async:
            raise ConfigurationError(
                f"custom_{kind.value}: the customization's input is async; queries and "
                "mutations run in one transaction and are synchronous (only actions may be async)"
            )

    def __call__(
        self,
        handler: Callable[..., Any] | None = None,
        /,
        *,
        args: Any = None,
        returns: Any = None,
        name: str | None = None,
        path: str | None = None,
        isolation: str | Isolation = Isolation.SERIALIZABLE,
        **options: Any,
    ) -> Any:
        def wrap(h: Callable[..., Any]) -> AnyFunction:
            return self._define(h, args, returns, name, path, isolation, options)

        return wrap(handler) if handler is not None else wrap

    def __repr__(self) -> str:
        return f"<custom_{self.kind.value} over {self.base!r}>"

    def _define(
        self,
        handler: Callable[..., Any],
        args: Any,
        returns: Any,
        name: str | None,
        path: str | None,
        isolation: str | Isolation,
        options: dict[str, Any],
    ) -> AnyFunction:
        if not callable(handler):
            raise TypeError(f"custom_{self.kind.value} decorates a function, not {handler!r}")
        problems: list[str] = []
        refused = self.customization.refuses(options)
        if refused:
            problems.append(refused)
        consumed = dict(self.customization.args)
        declared = _declared_names(handler, args)
        clash = sorted(set(consumed) & declared)
        if clash:
            problems.append(
                f"argument(s) {clash} are declared by both the function and its customization, "
                "which consumes them; rename one (input can pass a value on through 'args')"
            )
            for key in clash:
                consumed.pop(key)
        wrapper = self._wrapper(handler, consumed, options)
        merged = _merged_args(args, consumed)
        fn: AnyFunction = self.base(
            wrapper, args=merged, returns=returns, name=name, path=path, isolation=isolation
        )
        if fn.kind is not self.kind:  # a base decorator _kind_of could not tell
            raise ConfigurationError(
                f"custom_{self.kind.value} was built over a {fn.kind.value} decorator"
            )
        if problems:
            fn.problems = (*fn.problems, *problems)
            fn.args = CompiledArgs(functools.partial(_refuse, fn), accepts_any=False)
        return fn

    def _wrapper(
        self, handler: Callable[..., Any], consumed: dict[str, Any], options: dict[str, Any]
    ) -> Callable[..., Any]:
        """The registered handler: the user's, behind the customization."""
        custom = self.customization
        keys = tuple(consumed)
        handler_async = inspect.iscoroutinefunction(
            handler.func if isinstance(handler, functools.partial) else handler
        )

        def split(ctx: Any, kwargs: dict[str, Any], added: Any) -> tuple[Any, dict[str, Any], Any]:
            changes = _checked_input(ctx, added)
            new_ctx = derive(ctx, changes.get("ctx"))
            new_args = {**kwargs, **dict(changes.get("args") or {})}
            return new_ctx, new_args, changes.get("on_success")

        if handler_async or custom.is_async:

            async def arun(ctx: Any, /, **kwargs: Any) -> Any:
                mine = {k: kwargs.pop(k, None) for k in keys}  # absent: optional
                added = custom.input(ctx, mine, **options)
                if inspect.isawaitable(added):
                    added = await added
                new_ctx, new_args, on_success = split(ctx, kwargs, added)
                if handler_async:
                    result = await handler(new_ctx, **new_args)
                else:  # a sync handler behind an async input: off the event loop
                    result = await run_off_loop(handler, new_ctx, **new_args)
                if on_success is not None:
                    done = on_success(ctx, kwargs, result)
                    if inspect.isawaitable(done):
                        await done
                return result

            wrapper: Callable[..., Any] = arun
        else:

            def run(ctx: Any, /, **kwargs: Any) -> Any:
                mine = {k: kwargs.pop(k, None) for k in keys}  # absent: optional
                added = _not_awaitable(ctx, "input", custom.input(ctx, mine, **options))
                new_ctx, new_args, on_success = split(ctx, kwargs, added)
                result = handler(new_ctx, **new_args)
                if on_success is not None:
                    _not_awaitable(ctx, "on_success", on_success(ctx, kwargs, result))
                return result

            wrapper = run
        functools.update_wrapper(wrapper, handler)
        wrapper.__signature__ = _signature(handler, consumed)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**getattr(handler, "__annotations__", {}), **consumed}
        return wrapper


def _not_awaitable(ctx: Any, what: str, value: Any) -> Any:
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if close is not None:
            close()  # never awaited: close it rather than leak a warning
        raise ConfigurationError(
            f"{getattr(ctx, 'path', '?')}: the customization's {what} returned an awaitable "
            "in a synchronous function; make the handler async (actions only)"
        )
    return value


def _checked_input(ctx: Any, added: Any) -> Mapping[str, Any]:
    if added is None:
        return {}
    path = getattr(ctx, "path", "?")
    if not isinstance(added, Mapping):
        raise ConfigurationError(
            f"{path}: a customization's input must return a dict with 'ctx', 'args' and/or "
            f"'on_success' (or None), not {type(added).__name__}"
        )
    unknown = set(added) - _INPUT_KEYS
    if unknown:
        raise ConfigurationError(
            f"{path}: a customization's input returned unknown key(s) {sorted(unknown)}; "
            "expected 'ctx', 'args', 'on_success'"
        )
    extra_args = added.get("args")
    if extra_args is not None and not isinstance(extra_args, Mapping):
        raise ConfigurationError(f"{path}: input's 'args' must be a dict, not {extra_args!r}")
    on_success = added.get("on_success")
    if on_success is not None and not callable(on_success):
        raise ConfigurationError(f"{path}: input's 'on_success' is not callable")
    return added


def _declared_names(handler: Callable[..., Any], args: Any) -> set[str]:
    """The argument names the function itself declares (``args=`` or its parameters)."""
    if isinstance(args, ObjectValidator):
        return set(args.fields)
    if isinstance(args, Mapping):
        return set(args)
    try:
        params = list(inspect.signature(handler).parameters.values())[1:]
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _merged_args(args: Any, consumed: dict[str, Any]) -> Any:
    """``args=`` with the customization's validators added (None stays None: type hints)."""
    if args is None or not consumed:
        return args
    if isinstance(args, ObjectValidator):
        return {**args.fields, **consumed}
    if isinstance(args, Mapping):
        return {**args, **consumed}
    return args  # not a dict: the base decorator reports it


def _signature(handler: Callable[..., Any], consumed: dict[str, Any]) -> inspect.Signature:
    """The handler's signature with a keyword-only parameter per consumed argument (annotated
    with its validator), so the base decorator validates them with the function's own."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return inspect.Signature()  # the base decorator reports an unreadable signature
    params = list(signature.parameters.values())
    tail = [p for p in params if p.kind is p.VAR_KEYWORD]
    head = [p for p in params if p.kind is not p.VAR_KEYWORD]
    added = [
        inspect.Parameter(
            key,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=validator,
            default=None if getattr(validator, "optional", False) else inspect.Parameter.empty,
        )
        for key, validator in consumed.items()
    ]
    return signature.replace(parameters=[*head, *added, *tail])


def _refuse(fn: AnyFunction, value: Any) -> dict[str, Any]:
    """Every call of a function defined wrongly fails (as the base decorators' do)."""
    first, *rest = fn.problems
    more = f" (and {len(rest)} more)" if rest else ""
    raise ConfigurationError(f"{fn.path}: {first}{more}; run manage.py check")


def custom_query(query: Any, customization: Any) -> CustomDecorator:
    """A decorator like ``query`` (or ``internal_query``, or another query builder) whose
    functions are customized: see `Customization`."""
    return CustomBuilder(Kind.QUERY, query, customization)


def custom_mutation(mutation: Any, customization: Any) -> CustomDecorator:
    """A decorator like ``mutation`` (or ``internal_mutation``, or another mutation builder)
    whose functions are customized: see `Customization`."""
    return CustomBuilder(Kind.MUTATION, mutation, customization)


def custom_action(action: Any, customization: Any) -> CustomDecorator:
    """A decorator like ``action`` (or ``internal_action``, or another action builder) whose
    functions are customized: see `Customization`."""
    return CustomBuilder(Kind.ACTION, action, customization)
