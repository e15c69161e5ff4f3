"""What a custom function builder does to each call: a `Customization`, and `custom_ctx`.

A customization is convex-helpers' ``{args, input}``: ``args`` declares extra arguments (`v`
validators, or type hints) that clients send and the customization consumes; ``input(ctx, args)``
receives them and returns what to change, as a dict with any of

- ``"ctx"``: fields to add to ``ctx`` (or ``db`` to replace ``ctx.db``), visible to the handler;
- ``"args"``: arguments to pass on to the handler (added to, or replacing, its own);
- ``"on_success"``: ``on_success(ctx, args, result)``, called after the handler returned, in the
  mutation's transaction (with the original ``ctx`` and the handler's arguments).

Options given to the decorator beyond `@query`'s own (``@user_query(role="admin")``) reach
``input`` as keyword arguments: per-function configuration, convex-helpers' ``extra``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from ..errors import ConfigurationError


class CustomInput(TypedDict, total=False):
    """What ``input`` returns (every key optional; None means "change nothing")."""

    ctx: Mapping[str, Any]
    args: Mapping[str, Any]
    on_success: Callable[[Any, dict[str, Any], Any], object]


#: ``input(ctx, args, **extra)``: sync, or async in actions.
Input = Callable[..., "CustomInput | None | Awaitable[CustomInput | None]"]


def _no_input(ctx: Any, args: Mapping[str, Any], **extra: Any) -> None:
    return None


@dataclass(frozen=True)
class Customization:
    """Extra arguments consumed (``args``) and what to change in each call (``input``)."""

    args: Mapping[str, Any] = field(default_factory=dict)
    input: Input = _no_input
    #: custom_ctx's function: the one whose signature takes the options (after ctx).
    ctx_fn: Callable[..., Any] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, value: Customization | Mapping[str, Any]) -> Customization:
        """A `Customization`, or convex-helpers' spelling ``{"args": ..., "input": ...}``."""
        if isinstance(value, Customization):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"args", "input"}
            if unknown:
                raise ConfigurationError(
                    f"a customization has 'args' and 'input', not {sorted(unknown)}"
                )
            return cls(args=dict(value.get("args") or {}), input=value.get("input") or _no_input)
        raise ConfigurationError(
            f"expected a Customization (or custom_ctx(...)), not {type(value).__name__}"
        )

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.input)

    def refuses(self, options: Mapping[str, Any]) -> str | None:
        """Why ``input`` cannot take these per-function options, or None if it can."""
        target, leading = (self.ctx_fn, 1) if self.ctx_fn is not None else (self.input, 2)
        try:
            inspect.signature(target).bind(*([None] * leading), **options)
        except TypeError as exc:
            name = getattr(target, "__qualname__", repr(target))
            return f"the customization's {name} does not take the options {sorted(options)}: {exc}"
        except ValueError:  # no readable signature: the call will tell
            return None
        return None


def custom_ctx(
    fn: Callable[..., Mapping[str, Any] | Awaitable[Mapping[str, Any]]],
) -> Customization:
    """A customization that only adds to ``ctx``: ``fn(ctx, **extra)`` returns the fields.

    ::

        def with_user(ctx):
            user = ctx.auth.get_user_identity()
            if user is None:
                raise ConvexError("Unauthenticated")
            return {"user": user}

        user_query = custom_query(query, custom_ctx(with_user))
    """
    if inspect.iscoroutinefunction(fn):

        async def ainput(ctx: Any, args: Mapping[str, Any], **extra: Any) -> CustomInput:
            return {"ctx": await cast("Awaitable[Mapping[str, Any]]", fn(ctx, **extra))}

        return Customization(input=ainput, ctx_fn=fn)

    def input(ctx: Any, args: Mapping[str, Any], **extra: Any) -> CustomInput:
        return {"ctx": cast("Mapping[str, Any]", fn(ctx, **extra))}

    return Customization(input=input, ctx_fn=fn)
