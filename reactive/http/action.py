"""`@http_action`: a handler ``(ctx, request) -> HttpResponse`` registered as an action.

Convex's ``httpAction``. The handler is registered in the function registry as an internal
action marked ``http`` (so the executor runs it as an action: no transaction, not retried, its
logs captured, its time limit applied, its errors mapped), but no caller can reach it as a
function: clients do not see internal functions, and the executor refuses a call that does not
come with a request (`functions.executor._http_kwargs`), and scheduling one is refused at once
(its argument validator refuses every call). Its path is derived from where it is
defined (``"shop/http:stripe_webhook"`` for ``shop/http.py``'s ``stripe_webhook``): it names the
handler in logs and errors.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
from collections.abc import Callable
from typing import Any, TypeAlias

from django.http import HttpRequest, HttpResponseBase

from ..errors import ConfigurationError, FunctionNotFound, ReturnValidationError
from ..functions.registry import AnyFunction, Kind, RegisteredFunction, registry
from ..validators.compile import CompiledArgs, CompiledReturns

#: What `HttpRouter.route` accepts as a handler: a registered HTTP action or a plain function.
Handler: TypeAlias = "AnyFunction | Callable[..., Any]"

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")
_anonymous = itertools.count(1)


def _default_path(handler: Callable[..., Any]) -> str:
    """``module/path:name``; a lambda, a closure, a partial or a callable object gets a number
    too, since several of them share one qualified name and each must keep its own path (the
    executor finds the function by path)."""
    module = getattr(handler, "__module__", None) or "http"
    qualname = getattr(handler, "__qualname__", None)
    name = _NOT_IDENT.sub("_", qualname or type(handler).__name__)
    name = name if name[:1].isalpha() else f"h_{name}"
    if qualname is None or "<" in qualname:
        name = f"{name[:50]}_{next(_anonymous)}"
    return module.replace(".", "/") + ":" + name[:64]


def _refuse_args(fn: AnyFunction, args: Any) -> dict[str, Any]:
    """Its argument validator: whoever checks arguments for it (the scheduler, a cron) is told
    that it takes none (the executor refuses such calls before validating)."""
    raise FunctionNotFound(
        f"{fn.path} is an HTTP action: it runs when a request reaches its route, "
        "not as a function call"
    )


def _checked(handler: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    """The handler as registered: the same call, its result checked to be a response."""
    where = getattr(handler, "__qualname__", repr(handler))

    def check(path: str, value: Any) -> Any:
        if not isinstance(value, HttpResponseBase):
            raise ReturnValidationError(
                f"{path}: the HTTP action {where} returned {type(value).__name__} "
                f"({value!r:.80}), not a django.http.HttpResponse"
            )
        return value

    if is_async:

        async def run_async(ctx: Any, request: HttpRequest) -> Any:
            return check(ctx.path, await handler(ctx, request))

        return functools.wraps(handler)(run_async)

    def run(ctx: Any, request: HttpRequest) -> Any:
        return check(ctx.path, handler(ctx, request))

    return functools.wraps(handler)(run)


def http_action(handler: Callable[..., Any] | None = None, /, *, path: str | None = None) -> Any:
    """Register ``handler(ctx, request)`` as an HTTP action (bare or ``@http_action(path=...)``).

    ``ctx`` is an `ActionCtx` (``run_query`` / ``run_mutation`` / ``run_action`` and their
    ``arun_*`` twins, ``scheduler``, ``auth``); ``request`` is the Django `HttpRequest`. It
    returns a Django `HttpResponse` (or `StreamingHttpResponse`). Route it with
    `HttpRouter.route`.
    """

    def wrap(h: Callable[..., Any]) -> AnyFunction:
        if isinstance(h, RegisteredFunction):
            if h.http:
                return h
            raise ConfigurationError(
                f"{h.path}: a {h.kind.value} cannot be routed; an HTTP action is a plain "
                "function (ctx, request) -> HttpResponse"
            )
        if not callable(h):
            raise ConfigurationError(f"http_action decorates a function, not {h!r}")
        target = h.func if isinstance(h, functools.partial) else h
        is_async = inspect.iscoroutinefunction(target)
        fn: AnyFunction = RegisteredFunction(
            kind=Kind.ACTION,
            handler=_checked(h, is_async),
            internal=True,
            args=CompiledArgs(lambda args: args, accepts_any=False),  # replaced below
            returns=CompiledReturns(None),
            is_async=is_async,
            http=True,
        )
        fn.args = CompiledArgs(functools.partial(_refuse_args, fn), accepts_any=False)
        functools.update_wrapper(fn, h)
        registry.register(fn, path or _default_path(h))
        return fn

    return wrap(handler) if handler is not None else wrap
