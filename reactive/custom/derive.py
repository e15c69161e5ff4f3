"""The ctx a custom function's handler receives: the call's ctx plus what ``input`` returned.

The call's own ctx is left as it is (``on_success`` receives it); the handler gets a shallow copy
with the new fields set. A customization may replace ``ctx.db`` (in queries and mutations: a
wrapped reader or writer) and add fields of its own; setting any other built-in field (``auth``,
``scheduler``, ``run_query``, …) is a mistake reported at the call, naming the function and the
field, since the handler would silently lose what reactive put there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from ..errors import ConfigurationError
from ..functions.context import ActionCtx

#: Built-in ctx names a customization may replace.
REPLACEABLE = frozenset({"db"})
#: Names that are built in whatever the kind (``scheduler`` exists in mutations and actions).
_ALWAYS_BUILT_IN = frozenset({"scheduler", "db"})


_built_in: dict[type, frozenset[str]] = {}


def built_in(cls: type) -> frozenset[str]:
    """Every field, method and property a ctx class has."""
    found = _built_in.get(cls)
    if found is None:
        names = {n for n in dir(cls) if not n.startswith("__")}
        if is_dataclass(cls):
            names.update(f.name for f in fields(cls))
        found = _built_in[cls] = frozenset(names | _ALWAYS_BUILT_IN)
    return found


def derive(ctx: Any, additions: Any) -> Any:
    """``ctx`` with ``additions`` set (a new object), after checking every name."""
    if additions is None:
        return ctx
    path = getattr(ctx, "path", "?")
    if not isinstance(additions, Mapping):
        raise ConfigurationError(
            f"{path}: a customization's input returned ctx={additions!r}; "
            "it must be a dict of fields to add"
        )
    if not additions:
        return ctx
    taken = built_in(type(ctx))
    for name in additions:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ConfigurationError(
                f"{path}: a customization's input adds ctx field {name!r}; "
                "fields are public identifiers"
            )
        if name == "db" and isinstance(ctx, ActionCtx):
            raise ConfigurationError(
                f"{path}: a customization's input sets ctx.db in an action; actions have no "
                "ctx.db (they read and write through ctx.run_query / ctx.run_mutation)"
            )
        if name in taken and name not in REPLACEABLE:
            raise ConfigurationError(
                f"{path}: a customization's input sets ctx.{name}, which is built in; "
                f"only ctx.db may be replaced: give the field another name"
            )
    derived = copy.copy(ctx)
    for name, value in additions.items():
        setattr(derived, name, value)
    return derived
