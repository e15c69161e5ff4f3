"""`Checker`: one call's view of a `Rules` set. It calls the rules, turns what they raise into
`RuleFailed`, and keeps, per table, the read filter and hidden fields (the identity does not
change within a call, so each is worked out once).

`reading` and `writing` ask it three things: may this caller read this row
(`readable`, the Python rule, and `read_q`, the filter added to SQL), which fields are hidden
(`hidden`), and may it insert, change or delete this row (`allows`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import FieldError
from django.db import DatabaseError
from django.db.models import F, Q

from ..db.documents import Document
from ..db.query import Query
from ..db.tables import Table, tables
from ..errors import ConvexError, LimitExceeded, QueryError, RuleDenied, RuleFailed
from .ruleset import Rules, TableRules

logger = logging.getLogger("reactive.rules")

Doc = dict[str, Any]

#: No row: Django answers a filter on an empty ``pk__in`` without asking the database.
NOTHING = Q(pk__in=[])

#: Errors a rule may raise that keep their meaning: the function's own error for its caller, an
#: exhausted limit, and database failures (a serialization failure must still be retried).
PASS_THROUGH = (ConvexError, LimitExceeded, DatabaseError)


def rule_ctx(ctx: Any, db: Any) -> Any:
    """A shallow copy of ``ctx`` whose ``db`` is ``db``: rules read through the unwrapped
    reader, so the rules do not apply to their own reads (as in convex-helpers)."""
    if ctx is None:
        return None
    twin = copy.copy(ctx)
    object.__setattr__(twin, "db", db)
    return twin


class Checker:
    """``rules`` evaluated for one call, with ``ctx`` (the rules' ctx) as the caller."""

    def __init__(self, ctx: Any, rules: Rules) -> None:
        self.ctx = ctx
        self.rules = rules
        self._q: dict[str, Q | bool] = {}
        self._hidden: dict[str, frozenset[str]] = {}

    # -- calling a rule ----------------------------------------------------------------------
    def call(self, table: str, rule: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(ctx, *args)``; anything it raises but `PASS_THROUGH` becomes `RuleFailed`."""
        try:
            return fn(self.ctx, *args)
        except PASS_THROUGH:
            raise
        except Exception as exc:
            logger.warning("rule %r of table %r raised", rule, table, exc_info=True)
            raise RuleFailed(
                f"rule `{rule}` of table {table!r} raised {type(exc).__name__}"
            ) from None

    def verdict(self, table: str, rule: str, fn: Callable[..., Any], *args: Any) -> bool:
        """A rule's bool; any other return value is a `RuleFailed`."""
        value = self.call(table, rule, fn, *args)
        if not isinstance(value, bool):
            raise RuleFailed(
                f"rule `{rule}` of table {table!r} returned {type(value).__name__}, not a bool"
            )
        return value

    def _declared(self, table: str) -> TableRules | None:
        return self.rules.get(table)

    def unruled(self, table: str) -> bool:
        """Whether no rule applies to ``table``: it declares none and the default allows. Its
        rows are all readable, none of its fields hidden, and every write to it is allowed
        (a delete may still cascade to tables that do declare rules)."""
        return self._declared(table) is None and self._allowed_by_default(table)

    def _allowed_by_default(self, table: str) -> bool:
        return self.rules.policy(table) == "allow"

    # -- reads -------------------------------------------------------------------------------
    def read_q(self, table: Table) -> Q | bool:
        """True (no filter), False (no row) or the Q every query of ``table`` adds to its SQL."""
        if table.name not in self._q:
            self._q[table.name] = self._read_q(table)
        return self._q[table.name]

    def _read_q(self, table: Table) -> Q | bool:
        declared = self._declared(table.name)
        if declared is None or (declared.read is None and declared.read_filter is None):
            return self._allowed_by_default(table.name)
        given = declared.read_filter
        if given is None:
            return True  # the Python `read` rule decides alone
        value = given if isinstance(given, Q) else self.call(table.name, "read_filter", given)
        if isinstance(value, bool):
            return value
        if not isinstance(value, Q):
            raise RuleFailed(
                f"rule `read_filter` of table {table.name!r} returned "
                f"{type(value).__name__}, not a Q or a bool"
            )
        return self._compiled(table, value)

    def _compiled(self, table: Table, q: Q) -> Q:
        """``q`` checked against the model now (a misspelt field fails here, as a rule error)
        and, when it joins other tables, moved into a ``pk IN (subquery)``: a join through a
        many-valued relation would otherwise return a row once per matching related row."""
        try:
            inner = table.model._base_manager.filter(q)
            sql_query = inner.query
            joined = [
                join.table_name
                for alias, join in sql_query.alias_map.items()
                if sql_query.alias_refcount.get(alias) and alias != sql_query.base_table
            ]
        except (FieldError, TypeError, ValueError) as exc:
            logger.warning("rule read_filter of table %r is malformed", table.name, exc_info=True)
            raise RuleFailed(
                f"rule `read_filter` of table {table.name!r} is not a valid filter of the "
                f"model ({type(exc).__name__})"
            ) from None
        for db_table in joined:
            if db_table != table.model._meta.db_table and tables.for_db_table(db_table) is None:
                # its changes are not captured: a subscriber would never re-run for them
                raise RuleFailed(
                    f"rule `read_filter` of table {table.name!r} joins {db_table!r}, which is "
                    f"not a registered table, so live queries could not follow its changes"
                )
        return Q(pk__in=inner.values("pk")) if joined else q

    def readable(self, table: Table, doc: Doc) -> bool:
        """The Python ``read`` rule on ``doc`` (True when the table declares none; the read
        filter and the default policy are `read_q`'s)."""
        declared = self._declared(table.name)
        if declared is None or declared.read is None:
            return True
        return self.verdict(table.name, "read", declared.read, doc)

    def has_python_read(self, table: Table) -> bool:
        declared = self._declared(table.name)
        return declared is not None and declared.read is not None

    def hidden(self, table: Table) -> frozenset[str]:
        """The fields of ``table`` this caller may not see."""
        if table.name not in self._hidden:
            declared = self._declared(table.name)
            given = declared.hide if declared is not None else None
            if given is None:
                names: Iterable[Any] = ()
            elif callable(given):
                names = self.call(table.name, "hide", given)
            else:
                names = given
            if isinstance(names, str) or not isinstance(names, Iterable):
                raise RuleFailed(
                    f"rule `hide` of table {table.name!r} returned {type(names).__name__}, "
                    f"not a list of field names"
                )
            found = frozenset(names)
            unknown = sorted(n for n in found if not isinstance(n, str) or n not in table.fields)
            if unknown:
                raise RuleFailed(f"rule `hide` of table {table.name!r} names unknown fields")
            self._hidden[table.name] = found
        return self._hidden[table.name]

    def mask(self, table: Table, doc: Doc) -> Doc:
        """``doc`` without the fields hidden from this caller."""
        hidden = self.hidden(table)
        return Document({k: v for k, v in doc.items() if k not in hidden}) if hidden else doc

    def refuse_hidden(self, where: str, query: Query) -> None:
        """A query that ranges, orders or filters on a hidden field would reveal it (the rows a
        filter keeps, the order an index gives): refused, naming the field, not its values."""
        hidden = self.hidden(query.table)
        if not hidden:
            return
        used = set(query.index.fields)
        for q in query.filters:
            used |= referenced_names(q)
        for name in sorted(hidden):
            field = query.table.fields[name]
            spellings = {name, field.name, field.attname, query.table.column_for(name)}
            if used & spellings:
                raise QueryError(
                    f"{where}: field `{name}` of table {query.table.name!r} is hidden from "
                    f"this caller; it cannot be used in an index range, an order or a filter"
                )

    def unrestricted(self, table: Table) -> bool:
        """Whether this caller may read every row and field of ``table``."""
        return (
            self.read_q(table) is True
            and not self.has_python_read(table)
            and not self.hidden(table)
        )

    def refuse_joins(self, where: str, query: Query) -> None:
        """A ``Q`` filter that follows a relation (``post__title=...``) reads the related
        table in SQL, around its rules: which rows a filter keeps would reveal that table's
        denied rows and hidden fields. Refused, naming the table, unless the caller may read
        all of it."""
        if not query.filters:
            return
        model = query.table.model
        try:
            sql_query = model._base_manager.filter(*query.filters).query
        except (FieldError, TypeError, ValueError):
            return  # a malformed filter: the inner reader reports it
        for alias, join in sql_query.alias_map.items():
            if alias == sql_query.base_table or not sql_query.alias_refcount.get(alias):
                continue
            other = tables.for_db_table(join.table_name)
            if other is None or not self.unrestricted(other):
                shown = other.name if other is not None else join.table_name
                raise QueryError(
                    f"{where}: a filter of table {query.table.name!r} joins table {shown!r}, "
                    f"whose rules restrict this caller; filter on {shown!r} through its own "
                    f"query instead"
                )

    # -- writes ------------------------------------------------------------------------------
    def allows(self, table: str, rule: str, *args: Any) -> bool:
        """Whether ``rule`` ("insert", "modify", "delete") lets this write through."""
        declared = self._declared(table)
        if rule == "delete" and declared is not None and declared.delete is None:
            if declared.modify is not None:
                return self.verdict(table, "modify", declared.modify, args[0], None)
        fn = getattr(declared, rule) if declared is not None else None
        if fn is None:
            return self._allowed_by_default(table)
        return self.verdict(table, rule, fn, *args)

    def deny(self, method: str, table: str, what: str) -> RuleDenied:
        return RuleDenied(f"ctx.db.{method}: the rules of table {table!r} do not allow {what}")


def referenced_names(node: Any) -> set[str]:
    """The first segment of every lookup (``owner__in`` → ``owner``) and every ``F`` name in a
    Q tree, including expressions used as values."""
    found: set[str] = set()
    if isinstance(node, Q):
        for child in node.children:
            if isinstance(child, tuple) and len(child) == 2:
                found.add(str(child[0]).split("__", 1)[0])
                found |= referenced_names(child[1])
            else:
                found |= referenced_names(child)
        return found
    if isinstance(node, F):
        found.add(node.name.split("__", 1)[0])
        return found
    flatten = getattr(node, "flatten", None)
    if callable(flatten) and not isinstance(node, (str, bytes)):
        for sub in flatten():
            if sub is not node:
                found |= referenced_names(sub)
    return found
