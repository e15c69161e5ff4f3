"""The `ctx.db.query(...)` chain, compiled to Django querysets. Builds; the reader executes.

    ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channel", channel_id).gt("_creationTime", t))
        .order("desc")
        .filter(lambda q: q.neq(q.field("author"), "bot"))   # or a Django Q object
        .take(20)

An index range is zero or more `eq` on the index's fields in order, then at most one lower
(`gt`/`gte`) and one upper (`lt`/`lte`) bound on the next field, as in Convex; anything else is a
`QueryError`. Filters narrow the rows returned, not the range read (also as in Convex).

``with_search_index(name, lambda q: q.search(field, text).eq(...))`` makes a full-text search
instead (`reactive.search`): relevance order, no ``order()``.

A query's terminal operations (`collect`, `take`, `first`, `unique`, iteration, `paginate`) go
through the three public methods of the `QueryRunner` it holds, defined here so that this module
never names the reader: the reader implements them, and a wrapper of the reader may too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import Q

from ..errors import QueryError
from ..readset import Bound
from ..search.text_query import SearchFilterBuilder, TextSearch, compile_search
from ..search.text_sql import search_index
from .documents import column_value
from .filters import Expr, FilterBuilder

if TYPE_CHECKING:
    from .tables import Index, Table


# --- index ranges ---------------------------------------------------------------------------


class IndexRangeBuilder:
    """The ``q`` in ``with_index(name, lambda q: ...)``."""

    def __init__(self, table: Table, index: Index) -> None:
        self._table, self._index = table, index
        self.eqs: list[tuple[str, Any]] = []
        self.lower: tuple[str, Any, bool] | None = None
        self.upper: tuple[str, Any, bool] | None = None

    def _next_field(self, name: str, op: str) -> None:
        fields = self._index.fields
        tail = self._index.key_columns[len(self._index.columns) :]
        if (
            self._table.creation_field
            and "_creationTime" not in fields
            and self._table.column_for("_creationTime") in tail
        ):
            fields = (*fields, "_creationTime")  # the implicit key after the index's fields
        pos = len(self.eqs)
        if self.lower or self.upper:
            bounded = (self.lower or self.upper)[0]  # type: ignore[index]
            if op == "eq" or name != bounded:
                raise QueryError(
                    f"index range on {self._index.name!r}: {op}({name!r}) after a range on "
                    f"{bounded!r}; a range must be the last condition"
                )
            return
        if pos >= len(fields) or fields[pos] != name:
            want = fields[pos] if pos < len(fields) else None
            raise QueryError(
                f"index range on {self._index.name!r} (fields {list(fields)}): {op}({name!r}) is "
                f"out of order; the next field must be {want!r}"
            )

    def eq(self, name: str, value: Any) -> IndexRangeBuilder:
        self._next_field(name, "eq")
        self.eqs.append((name, value))
        return self

    def _bound(
        self, name: str, value: Any, op: str, lower: bool, inclusive: bool
    ) -> IndexRangeBuilder:
        self._next_field(name, op)
        if (self.lower if lower else self.upper) is not None:
            raise QueryError(f"index range on {self._index.name!r}: two {op}-style bounds")
        if lower:
            self.lower = (name, value, inclusive)
        else:
            self.upper = (name, value, inclusive)
        return self

    def gt(self, name: str, value: Any) -> IndexRangeBuilder:
        return self._bound(name, value, "gt", True, False)

    def gte(self, name: str, value: Any) -> IndexRangeBuilder:
        return self._bound(name, value, "gte", True, True)

    def lt(self, name: str, value: Any) -> IndexRangeBuilder:
        return self._bound(name, value, "lt", False, False)

    def lte(self, name: str, value: Any) -> IndexRangeBuilder:
        return self._bound(name, value, "lte", False, True)


@dataclass(frozen=True)
class CompiledRange:
    q: Q
    lower: Bound | None
    upper: Bound | None


def compile_range(table: Table, builder: IndexRangeBuilder) -> CompiledRange:
    q = Q()
    prefix: list[Any] = []
    for name, value in builder.eqs:
        col, val = table.column_for(name), column_value(table, name, value, where=f"eq({name!r})")
        q &= Q(**{f"{col}__isnull": True}) if val is None else Q(**{col: val})
        prefix.append(val)
    lower = upper = None
    if builder.eqs:
        lower = upper = Bound(tuple(prefix), True)
    for end, lookup_ops in ((builder.lower, ("gt", "gte")), (builder.upper, ("lt", "lte"))):
        if end is None:
            continue
        name, value, inclusive = end
        col = table.column_for(name)
        val = column_value(table, name, value, where=f"{lookup_ops[inclusive]}({name!r})")
        if val is None:
            raise QueryError(f"a range bound on {name!r} cannot be null")
        q &= Q(**{f"{col}__{lookup_ops[inclusive]}": val})
        bound = Bound((*prefix, val), inclusive)
        if end is builder.lower:
            lower = bound
        else:
            upper = bound
    if builder.lower and not builder.upper and builder.eqs:
        upper = Bound(tuple(prefix), True)
    if builder.upper and not builder.lower and builder.eqs:
        lower = Bound(tuple(prefix), True)
    return CompiledRange(q, lower, upper)


# --- the chain ------------------------------------------------------------------------------


class QueryRunner(Protocol):
    """What a query's terminal operations go through: every document a query returns passes
    through one of these three methods of its ``reader`` (the `DatabaseReader`, or a wrapper)."""

    def collect_query(self, query: Query, limit: int | None = None) -> list[dict[str, Any]]:
        """The documents of ``query`` in order, at most ``limit`` of them (``None``: all).
        ``collect`` passes None, ``take(n)`` n, ``first`` 1 and ``unique`` 2."""
        ...

    def iterate_query(self, query: Query) -> Iterator[dict[str, Any]]:
        """The documents of ``query`` in order, fetched in batches as the loop goes."""
        ...

    def paginate_query(self, query: Query, opts: Any) -> dict[str, Any]:
        """One page of ``query`` for Convex's ``paginationOpts``, in Convex's page shape."""
        ...


@dataclass
class Query:
    """A query over one table; terminal methods (`collect`, `take`, …) run it through
    ``reader``, the `QueryRunner` that built it (replace it to route them elsewhere)."""

    reader: QueryRunner
    table: Table
    index: Index
    range: CompiledRange = field(default_factory=lambda: CompiledRange(Q(), None, None))
    order_: str = "asc"
    filters: list[Q] = field(default_factory=list)
    #: Set by `with_search_index`: the rows come from a full-text search, in relevance order.
    search: TextSearch | None = None
    _indexed: bool = False
    _ordered: bool = False

    def with_index(
        self, name: str, range_fn: Callable[[IndexRangeBuilder], Any] | None = None
    ) -> Query:
        if self._indexed or self._ordered or self.filters:
            raise QueryError("with_index() must come first, and only once")
        index = self.table.indexes.get(name)
        if index is None:
            raise QueryError(
                f"table {self.table.name!r} has no index {name!r} "
                f"(indexes: {', '.join(sorted(self.table.indexes))})"
            )
        builder = IndexRangeBuilder(self.table, index)
        if range_fn is not None:
            result = range_fn(builder)
            if result is not builder and result is not None:
                raise QueryError("the index range function must return q (or None)")
        self.index, self.range, self._indexed = index, compile_range(self.table, builder), True
        return self

    def with_search_index(
        self, name: str, search_fn: Callable[[SearchFilterBuilder], Any]
    ) -> Query:
        """A full-text search (`reactive.search`): ``lambda q: q.search(field, text)``, then
        ``.eq(filter_field, value)``s; the results come in relevance order."""
        if self._indexed or self._ordered or self.filters:
            raise QueryError("with_search_index() must come first, and only once")
        self.search = compile_search(self.table, name, search_fn)
        self.index, self.order_, self._indexed = search_index(self.table, self.search), "desc", True
        return self

    def full_table_scan(self) -> Query:
        return self

    def order(self, direction: str) -> Query:
        if self.search is not None:
            raise QueryError(
                f"order() cannot follow with_search_index({self.search.spec.name!r}): search "
                "results always come in relevance order"
            )
        if direction not in ("asc", "desc"):
            raise QueryError(f"order must be 'asc' or 'desc', not {direction!r}")
        if self._ordered:
            raise QueryError("order() may be called only once")
        self.order_, self._ordered = direction, True
        return self

    def filter(self, predicate: Callable[[FilterBuilder], Expr] | Q) -> Query:
        if isinstance(predicate, Q):
            self.filters.append(predicate)
            return self
        builder = FilterBuilder(self.table)
        expr = builder.condition(predicate(builder))  # `lambda q: q.field("done")` too
        if not isinstance(expr, Expr):
            raise QueryError(
                "filter() takes a function returning q.eq(...)-style expressions, "
                "or a Django Q object"
            )
        compiled = expr.compile(self.table)
        self.filters.append(compiled if isinstance(compiled, Q) else Q(compiled))
        return self

    # terminal operations
    def collect(self) -> list[dict[str, Any]]:
        return self.reader.collect_query(self, None)

    def take(self, n: int) -> list[dict[str, Any]]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise QueryError(f"take() needs a non-negative integer, not {n!r}")
        return self.reader.collect_query(self, n)

    def first(self) -> dict[str, Any] | None:
        rows = self.take(1)
        return rows[0] if rows else None

    def unique(self) -> dict[str, Any] | None:
        rows = self.reader.collect_query(self, 2)
        if len(rows) > 1:
            raise QueryError(
                f"unique() found more than one document in {self.table.name!r}: "
                f"{rows[0]['_id']}, {rows[1]['_id']}"
            )
        return rows[0] if rows else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.reader.iterate_query(self)

    def paginate(self, opts: dict[str, Any]) -> dict[str, Any]:
        return self.reader.paginate_query(self, opts)
