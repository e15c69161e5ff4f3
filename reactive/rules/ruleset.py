"""Declaring row-level rules: `TableRules` (one table's rules), `Rules` (a set of them, with a
default policy) and `rules`, the project's default set that every public query and mutation obeys.

    from django.db.models import Q
    from reactive.rules import rules

    def me(ctx):
        identity = ctx.auth.get_user_identity()
        return identity.subject if identity else None

    rules.table(
        "posts",
        read_filter=lambda ctx: Q(public=True) | Q(owner=me(ctx)),   # pushed into the SQL
        insert=lambda ctx, doc: doc.get("owner") == me(ctx),
        modify=lambda ctx, old, new: old["owner"] == me(ctx) and new is not None,
        hide=lambda ctx: () if is_admin(ctx) else ("secret",),
    )

A rule is a plain function of the call's ``ctx`` (whose ``db`` is the unwrapped one: rules do not
apply to the reads rules make). Every rule returns a bool, except ``read_filter`` (a ``Q``, or
``fn(ctx) -> Q | bool``) and ``hide`` (``fn(ctx) -> field names``, or the names themselves). A
declaration is checked when it is made: a bad one raises `ConfigurationError` naming the table and
the rule. This module reads nothing and imports no models.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from django.db.models import Q

from ..errors import ConfigurationError

__all__ = ["Policy", "Rules", "TableRules", "rules"]

Policy = Literal["allow", "deny"]
Doc = dict[str, Any]

#: The rules a table may declare, in the order they are documented.
RULE_NAMES = ("read", "read_filter", "insert", "modify", "delete", "hide")


@dataclass(frozen=True)
class TableRules:
    """One table's rules. Each one left out falls back on ``default`` (or, when that is None,
    the default of the `Rules` set holding it); a row is readable when every read rule declared
    (``read`` and ``read_filter``) passes.

    - ``read(ctx, doc) -> bool``: checked in Python on each row after it is read (pages may come
      back short; see docs/rules.md for the cost).
    - ``read_filter``: a Django ``Q``, or ``fn(ctx) -> Q | bool`` (True: every row, False: none),
      added to the SQL of every query of the table and checked on ``get``; it may follow
      relations (``Q(team__members__user=...)``), and a subscriber re-runs when those tables change.
    - ``insert(ctx, doc) -> bool``: the document as the function passed it.
    - ``modify(ctx, old, new) -> bool``: ``old`` as stored, ``new`` as it would be stored after
      the patch or replace (both whole documents); ``new`` is None for a delete when no
      ``delete`` rule is declared.
    - ``delete(ctx, doc) -> bool``: decides deletes instead of ``modify(ctx, doc, None)``.
    - ``hide``: ``fn(ctx) -> field names`` (or the names): fields removed from every document of
      the table this caller reads, which it may not filter, index or write on.
    """

    read: Callable[[Any, Doc], bool] | None = None
    read_filter: Q | Callable[[Any], Q | bool] | None = None
    insert: Callable[[Any, Doc], bool] | None = None
    modify: Callable[[Any, Doc, Doc | None], bool] | None = None
    delete: Callable[[Any, Doc], bool] | None = None
    hide: Callable[[Any], Iterable[str]] | Iterable[str] | None = None
    default: Policy | None = None

    def check(self, table: str) -> None:
        """Raise `ConfigurationError` naming ``table`` and the rule for a malformed declaration."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "default":
                _check_policy(value, f"rules of table {table!r}: `default`")
            elif f.name == "read_filter":
                if not (isinstance(value, Q) or callable(value)):
                    raise ConfigurationError(
                        f"rules of table {table!r}: `read_filter` must be a Django Q or "
                        f"fn(ctx) -> Q, not {type(value).__name__}"
                    )
            elif f.name == "hide":
                if not callable(value) and (
                    isinstance(value, str)
                    or not isinstance(value, Iterable)
                    or not all(isinstance(n, str) for n in value)
                ):
                    raise ConfigurationError(
                        f"rules of table {table!r}: `hide` must be fn(ctx) -> field names, "
                        f"or a list of field names"
                    )
            elif not callable(value):
                raise ConfigurationError(
                    f"rules of table {table!r}: `{f.name}` must be a function, "
                    f"not {type(value).__name__}"
                )


def _check_policy(value: Any, where: str) -> None:
    if value not in ("allow", "deny"):
        raise ConfigurationError(f'{where} must be "allow" or "deny", not {value!r}')


class Rules:
    """A set of per-table rules and the policy for everything they leave out.

    ``default`` ("allow", as in convex-helpers, or "deny") decides for a table with no rules and
    for each rule a table leaves out (unless the table sets its own ``default``).
    """

    def __init__(
        self, tables: Mapping[str, TableRules] | None = None, *, default: Policy = "allow"
    ) -> None:
        _check_policy(default, "Rules(default=...)")
        self._default: Policy = default
        self._tables: dict[str, TableRules] = {}
        self._lock = threading.Lock()
        for name, table_rules in (tables or {}).items():
            self.add(name, table_rules)

    @property
    def default(self) -> Policy:
        """The policy for tables, and rules of a table, that are not declared."""
        return self._default

    def configure(self, *, default: Policy) -> None:
        """Change the default policy (for the project's set: ``rules.configure(default="deny")``
        in a rules module)."""
        _check_policy(default, "Rules.configure(default=...)")
        self._default = default

    def table(self, name: str, **declared: Any) -> TableRules:
        """Declare the rules of table ``name`` (keywords as `TableRules`); returns them."""
        unknown = sorted(set(declared) - {*RULE_NAMES, "default"})
        if unknown:
            raise ConfigurationError(
                f"rules of table {name!r}: unknown rule {unknown[0]!r} "
                f"(rules: {', '.join(RULE_NAMES)}, and default)"
            )
        table_rules = TableRules(**declared)
        self.add(name, table_rules)
        return table_rules

    def add(self, name: str, table_rules: TableRules) -> None:
        """Add ``table_rules`` for table ``name``; a table is declared once per set."""
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a table name must be a non-empty string, not {name!r}")
        if not isinstance(table_rules, TableRules):
            raise ConfigurationError(
                f"rules of table {name!r} must be a TableRules, not {type(table_rules).__name__}"
            )
        table_rules.check(name)
        with self._lock:
            if name in self._tables:
                raise ConfigurationError(f"the rules of table {name!r} are declared twice")
            self._tables[name] = table_rules

    def remove(self, name: str) -> None:
        """Forget table ``name``'s rules (tests; a table dropped)."""
        with self._lock:
            self._tables.pop(name, None)

    def get(self, name: str) -> TableRules | None:
        """Table ``name``'s rules, or None when it declares none."""
        return self._tables.get(name)

    def policy(self, name: str) -> Policy:
        """What a rule table ``name`` leaves out decides."""
        table_rules = self._tables.get(name)
        if table_rules is not None and table_rules.default is not None:
            return table_rules.default
        return self._default

    @property
    def inert(self) -> bool:
        """True when the set can refuse nothing (no tables, default allow): nothing to wrap."""
        return not self._tables and self._default == "allow"

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._tables))

    def __contains__(self, name: object) -> bool:
        return name in self._tables


#: The project's rules: every public query and mutation obeys them (`install.py`).
rules = Rules()
