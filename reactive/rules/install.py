"""Applying rules: `wrap_db` (explicit, for custom functions and internal code) and the wrapper
that applies the project's default set, `rules`, to every public query and mutation.

Internal functions are trusted server code and get the plain ``ctx.db``; they can wrap it
themselves with ``wrap_db(ctx, ctx.db, rules)``. The rules modules of installed apps
(``<app>/rules.py``, like ``admin.py``) are imported when Django starts (`discover`), before the
first call, so their declarations are in place for it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.apps import apps

from ..db.tables import tables
from ..errors import ConfigurationError
from ..functions import wrappers
from .evaluation import Checker, rule_ctx
from .reading import RulesReader
from .ruleset import Rules, rules
from .writing import RulesWriter

#: Where the rules wrapper sits among ``ctx.db`` wrappers: above triggers (10), so triggers see
#: only the writes the rules let through.
ORDER = 20

#: The module of each installed app that `discover` imports.
MODULE = "rules"


def wrap_db(ctx: Any, db: Any, rules: Rules) -> Any:
    """``db`` (a reader or a writer of the `db.interface` contract) under ``rules``, for the
    caller ``ctx``: a `RulesWriter` when ``db`` can write, else a `RulesReader`. The rules see
    ``ctx`` with its ``db`` set to ``db`` (rules do not apply to their own reads)."""
    if not isinstance(rules, Rules):
        raise ConfigurationError(f"wrap_db: `rules` must be a Rules, not {type(rules).__name__}")
    checker = Checker(rule_ctx(ctx, db), rules)
    if callable(getattr(type(db), "insert", None)):
        return RulesWriter(db, checker)
    return RulesReader(db, checker)


def _apply_default_rules(ctx: Any, fn: Any) -> Any:
    """The `wrappers` hook: public functions get ``ctx.db`` under `rules`."""
    if fn.internal or rules.inert:
        return None
    return wrap_db(ctx, ctx.db, rules)


def discover() -> None:
    """Import every installed app's rules module, check the tables named, install the wrapper."""
    for app in apps.get_app_configs():
        name = f"{app.name}.{MODULE}"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            continue
        if spec is not None:
            importlib.import_module(name)
    unknown = [name for name in rules if tables.find(name) is None]
    if unknown:
        raise ConfigurationError(
            f"rules are declared for {unknown[0]!r}, which is not a registered table"
        )
    wrappers.install("rules", _apply_default_rules, ORDER)
