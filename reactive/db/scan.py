"""Scanner: runs a query's index range against the ORM for one call, and records what it read.

Every row a query returns comes through here: `fetch` runs the queryset (capped by the call's
document budget), `record_until` records the index range the rows covered (cut at the last row
when a limit stopped the read early), `documents` turns rows into charged documents. A Django Q
filter that joins another table or nests a subquery reads that table whole. The reader's
`collect_query` and `iterate_query` and the page reader of `pagination.py` build on it, so
neither needs the other's internals. In a `select_for_update` mutation every row is locked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.db import DatabaseError, models
from django.db.models.sql.query import Query as SqlQuery

from ..errors import LimitExceeded
from ..limits import Budget, approx_size
from ..readset import Bound, IndexRangeRead, ReadSet, TableRead
from . import row_cache, sql_cache
from .documents import to_document
from .query import Query
from .raw_reads import own_statements
from .tables import Table, tables


class Scanner:
    """The rows behind ``ctx.db``'s reads: one per reader, sharing its budget and read set."""

    def __init__(self, *, using: str, budget: Budget, reads: ReadSet, lock_rows: bool) -> None:
        self.using = using
        self.budget = budget
        self.reads = reads
        self.lock_rows = lock_rows

    def manager(self, table: Table) -> models.QuerySet[Any]:
        """All rows of ``table`` on this call's database (locked in a select_for_update call)."""
        qs = table.model._base_manager.using(self.using)
        return qs.select_for_update() if self.lock_rows else qs

    def queryset(self, query: Query) -> models.QuerySet[Any]:
        """The query's range and filters, in index order; the tables a filter joins are read."""
        qs = self.manager(query.table).filter(query.range.q, *query.filters)
        self._record_joins(query.table, qs)
        prefix = "-" if query.order_ == "desc" else ""
        return qs.order_by(*(prefix + c for c in query.index.key_columns))

    def _record_joins(self, table: Table, qs: models.QuerySet[Any]) -> None:
        """A Django Q filter may read other tables, through a join (``Q(channel__name="x")``)
        or a subquery (``__in=`` a queryset, ``Exists``): the result then depends on any row of
        those, which no index range describes, so each is a whole-table read."""
        for query in (qs.query, *_subqueries(qs.query.where)):
            for alias, join in query.alias_map.items():
                # Django sets up, then trims, a join for a plain `fk_id` lookup: count used ones
                used = query.alias_refcount.get(alias) or alias == query.base_table
                if used and join.table_name != table.model._meta.db_table:
                    joined = tables.for_db_table(join.table_name)
                    if joined is not None:
                        self.reads.add(TableRead(joined.name))

    @staticmethod
    def key(query: Query, obj: models.Model) -> tuple[Any, ...]:
        """The row's full key in the query's index (unique: it ends with the primary key)."""
        return tuple(getattr(obj, c) for c in query.index.key_columns)

    def _record(self, query: Query, lower: Bound | None, upper: Bound | None) -> None:
        self.reads.add(
            IndexRangeRead(
                query.table.name, query.index.name, query.index.key_columns, lower, upper
            )
        )

    def record_until(
        self, query: Query, start: Bound | None, last_key: tuple[Any, ...] | None
    ) -> None:
        """Record the range from ``start`` (or the range's own start) to ``last_key``."""
        lower, upper = query.range.lower, query.range.upper
        cut = Bound(last_key, True) if last_key is not None else None
        if query.order_ == "asc":
            lower = start or lower
            upper = cut or upper
        else:
            upper = start or upper
            lower = cut or lower
        self._record(query, lower, upper)

    @own_statements
    def fetch(
        self, query: Query, qs: models.QuerySet[Any] | None, limit: int | None
    ) -> list[models.Model]:
        """At most ``limit`` rows of ``qs`` (None: the query's own range, `queryset(query)`);
        more than the budget's documents left raises."""
        left = self.budget.docs_left()
        cap = left + 1 if limit is None else min(limit, left + 1)
        try:
            rows = row_cache.reading(lambda: self._rows(query, qs, cap))
        except DatabaseError:
            self.record_until(query, None, None)  # e.g. a timeout: the error depends on it
            raise
        try:
            self.budget.charge_read(len(rows), 0)  # raises if the cap was the budget
        except LimitExceeded:
            self.record_until(query, None, None)  # the error depends on the rows scanned
            raise
        row_cache.remember(self.using, query.table, rows)
        return rows

    def _rows(self, query: Query, qs: models.QuerySet[Any] | None, cap: int) -> list[models.Model]:
        if qs is None:
            # a plain index range: its SQL is built once per shape (sql_cache), not per call
            found = sql_cache.rows(
                query, lambda: self.queryset(query), cap, self.using, self.lock_rows
            )
            if found is not None:
                return found
            qs = self.queryset(query)
        return list(qs[:cap])

    def row(self, table: Table, pk: Any) -> models.Model | None:
        """The row of ``table`` with primary key ``pk`` (locked in a select_for_update call), or
        None; one this transaction has just read comes from `row_cache`, without a SELECT."""
        obj = row_cache.recall(self.using, table, pk)
        if obj is None:
            obj = row_cache.reading(lambda: self.manager(table).filter(pk=pk).first())
            if obj is not None:
                row_cache.remember(self.using, table, (obj,))
        return obj

    def documents(self, table: Table, rows: list[models.Model]) -> list[dict[str, Any]]:
        """The rows as documents (`Document`s), their sizes charged to the budget."""
        docs: list[dict[str, Any]] = [to_document(table, r) for r in rows]
        self.budget.charge_read(0, sum(approx_size(d) for d in docs))
        return docs


def _subqueries(node: Any) -> Iterator[Any]:
    """Every sql.Query nested in a where tree (``__in=`` querysets, Exists, Subquery)."""
    if node is None or isinstance(node, (str, bytes, int, float)):
        return
    if isinstance(node, SqlQuery):
        yield node
        yield from _subqueries(node.where)
        return
    inner = getattr(node, "query", None)
    if isinstance(inner, SqlQuery):
        yield from _subqueries(inner)
    for child in getattr(node, "children", None) or ():
        yield from _subqueries(child)
    for attr in ("lhs", "rhs"):
        if hasattr(node, attr):
            yield from _subqueries(getattr(node, attr))
    sources = getattr(node, "get_source_expressions", None)
    if callable(sources):
        for expr in cast("Iterable[Any]", sources()):
            yield from _subqueries(expr)
