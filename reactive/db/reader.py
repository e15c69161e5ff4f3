"""DatabaseReader: `ctx.db` for queries. Reads through the ORM and records every read.

Each `get` records the id it looked up; each query records the index range it scanned, cut at the
last row returned when a limit stopped it early; anything else is a whole-table read. The reader
also charges the call's `Budget`. In a `select_for_update` mutation every row read is locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, models

from .. import ids
from ..errors import InvalidId, LimitExceeded, NotAllowedHere, QueryError, UnknownTable
from ..limits import approx_size
from ..readset import Bound, DocRead, IndexRangeRead, ReadSet, TableRead
from .cursors import after_key
from .documents import to_document
from .pagination import PageReader, pagination_opts
from .query import Query
from .raw_reads import own_statements
from .tables import Table, tables

if TYPE_CHECKING:
    from ..limits import Budget

ITERATION_BATCH = 128


class DatabaseReader:
    """The read half of ``ctx.db``."""

    #: True for the view behind ``ctx.db.system``: it reads system tables and nothing else.
    _system = False

    def __init__(
        self,
        *,
        using: str,
        budget: Budget,
        reads: ReadSet,
        lock_rows: bool = False,
        journal: dict[str, Any] | None = None,
    ) -> None:
        self._using = using
        self._budget = budget
        self.reads = reads
        self._lock_rows = lock_rows
        self._paginated = False
        self._journal = journal
        #: After paginate(): the page's end, kept by a subscription so that re-runs end the page
        #: at the same place (Convex's query journal; gapless reactive pagination).
        self.page_journal: dict[str, Any] | None = None

    # -- public API --------------------------------------------------------------------------
    @own_statements
    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        """The document with this id, or None. ``get(table, id)`` or the id-only ``get(id)``."""
        table, pk = self._resolve("get", table_or_id, id)
        self._budget.charge_range()
        self.reads.add(DocRead(table.name, pk))
        obj = self._manager(table).filter(pk=pk).first()
        if obj is None:
            return None
        doc = to_document(table, obj)
        self._budget.charge_read(1, approx_size(doc))
        return doc

    def query(self, table: str) -> Query:
        """Start a query over ``table`` (all rows in ``_creationTime`` order until narrowed)."""
        t = self._table(table)
        return Query(reader=self, table=t, index=t.indexes["by_creation_time"])

    def normalize_id(self, table: str, id: str) -> str | None:
        """``id`` if it is an id of ``table``, else None."""
        self._table(table)
        return id if ids.pk_of(table, id) is not None else None

    @property
    def system(self) -> SystemReader:
        """Read-only system tables (``_scheduled_functions``): ``get``, ``query``, paginate."""
        view = SystemReader(
            using=self._using, budget=self._budget, reads=self.reads, journal=self._journal
        )
        return view

    def table(self, name: str) -> _TableReader:
        return _TableReader(self, name)

    def __getattr__(self, name: str) -> Any:
        if name in ("insert", "patch", "replace", "delete"):
            raise NotAllowedHere(
                f"ctx.db.{name} is not available in a query: queries are "
                "read-only; write from a mutation"
            )
        raise AttributeError(name)

    # -- internals ---------------------------------------------------------------------------
    def _table(self, name: str) -> Table:
        if not isinstance(name, str):
            raise QueryError(f"a table name must be a string, not {type(name).__name__}")
        try:
            return self._check_system(tables.get(name))
        except UnknownTable as exc:
            if self._system:
                raise QueryError(f"there is no system table {name!r}") from None
            raise QueryError(str(exc)) from None

    def _check_system(self, table: Table) -> Table:
        if table.system and not self._system:
            raise QueryError(
                f"{table.name!r} is a system table: read it through "
                f"ctx.db.system.get / ctx.db.system.query; it cannot be written"
            )
        if self._system and not table.system:
            raise QueryError(f"{table.name!r} is not a system table: use ctx.db")
        return table

    def _resolve(self, method: str, table_or_id: str, id: str | None) -> tuple[Table, Any]:
        """The table and primary key named by ``(table, id)``, or by ``id`` alone (its table
        is the one the id was made for). Errors name the method and the argument."""
        where = f"{self._name}.{method}"
        if id is None:
            table = self._table_of_id(table_or_id)
            if table is None:
                what = (
                    "a table name, not a document id: pass the id too"
                    if isinstance(table_or_id, str) and tables.find(table_or_id)
                    else "not a document id"
                )
                raise InvalidId(f"{where}: argument `id` ({_short(table_or_id)}) is {what}")
            decoded = ids.decode_id(table_or_id)
            assert decoded is not None
            return self._check_system(table), decoded[1]
        table = self._table(table_or_id)
        pk = ids.pk_of(table.name, id)
        if pk is None:
            other = self._table_of_id(id)
            what = (
                f"an id of table {other.name!r}, not of table {table.name!r}"
                if other
                else f"not an id of table {table.name!r}"
            )
            raise InvalidId(f"{where}: argument `id` ({_short(id)}) is {what}")
        return table, pk

    @staticmethod
    def _table_of_id(value: Any) -> Table | None:
        decoded = ids.decode_id(value)
        return tables.for_tag(decoded[0]) if decoded else None

    @property
    def _name(self) -> str:
        return "ctx.db.system" if self._system else "ctx.db"

    def _manager(self, table: Table) -> models.QuerySet[Any]:
        qs = table.model._base_manager.using(self._using)
        return qs.select_for_update() if self._lock_rows else qs

    def _queryset(self, query: Query) -> models.QuerySet[Any]:
        qs = self._manager(query.table).filter(query.range.q, *query.filters)
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
    def _key(query: Query, obj: models.Model) -> tuple[Any, ...]:
        return tuple(getattr(obj, c) for c in query.index.key_columns)

    def _record(self, query: Query, lower: Bound | None, upper: Bound | None) -> None:
        self.reads.add(
            IndexRangeRead(
                query.table.name, query.index.name, query.index.key_columns, lower, upper
            )
        )

    def _record_until(
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
    def _fetch(
        self, query: Query, qs: models.QuerySet[Any], limit: int | None
    ) -> list[models.Model]:
        left = self._budget.docs_left()
        cap = left + 1 if limit is None else min(limit, left + 1)
        try:
            rows = list(qs[:cap])
        except DatabaseError:
            self._record_until(query, None, None)  # e.g. a timeout: the error depends on it
            raise
        try:
            self._budget.charge_read(len(rows), 0)  # raises if the cap was the budget
        except LimitExceeded:
            self._record_until(query, None, None)  # the error depends on the rows scanned
            raise
        return rows

    def _docs(self, table: Table, rows: list[models.Model]) -> list[dict[str, Any]]:
        docs = [to_document(table, r) for r in rows]
        self._budget.charge_read(0, sum(approx_size(d) for d in docs))
        return docs

    def _run(self, query: Query, limit: int | None) -> list[dict[str, Any]]:
        self._budget.charge_range()
        rows = self._fetch(query, self._queryset(query), limit)
        stopped = limit is not None and len(rows) >= limit and limit > 0
        last = self._key(query, rows[-1]) if stopped else None
        if limit == 0:
            return []
        self._record_until(query, None, last)
        return self._docs(query.table, rows)

    def _iterate(self, query: Query) -> Iterator[dict[str, Any]]:
        self._budget.charge_range()
        qs = self._queryset(query)
        cols = query.index.key_columns
        start: Bound | None = None
        while True:
            batch_qs = (
                qs
                if start is None
                else qs.filter(
                    after_key(cols, start.prefix, desc=query.order_ == "desc", inclusive=False)
                )
            )
            rows = self._fetch(query, batch_qs, ITERATION_BATCH)
            full = len(rows) == ITERATION_BATCH
            last = self._key(query, rows[-1]) if full else None
            self._record_until(query, Bound(start.prefix, False) if start else None, last)
            yield from self._docs(query.table, rows)
            if not full:
                return
            start = Bound(self._key(query, rows[-1]), False)

    def _paginate(self, query: Query, opts: Any) -> dict[str, Any]:
        if self._paginated:
            raise QueryError("This function ran multiple paginated queries; only one is allowed")
        self._paginated = True
        num, cursor, end_cursor, max_rows, max_bytes = pagination_opts(opts)
        required = False
        if end_cursor is None and self._journal and isinstance(self._journal.get("endCursor"), str):
            end_cursor = self._journal["endCursor"]  # a re-run keeps the page's first end
            # ...and says SplitRequired again if the first run did, so a re-run on unchanged
            # data gives the same result (the client has split that page, or will)
            required = self._journal.get("splitRequired") is True
        self._budget.charge_range()
        result = PageReader(self).read(
            query, num, cursor, end_cursor, max_rows, max_bytes, required
        )
        self.page_journal = {"endCursor": result["continueCursor"]}
        if result["pageStatus"] == "SplitRequired":
            self.page_journal["splitRequired"] = True
        return result


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _TableReader:
    """``ctx.db.table("messages")``: a reader scoped to one table."""

    def __init__(self, reader: DatabaseReader, name: str) -> None:
        self._reader, self._name = reader, name

    def get(self, id: str) -> dict[str, Any] | None:
        return self._reader.get(self._name, id)

    def query(self) -> Query:
        return self._reader.query(self._name)


class SystemReader(DatabaseReader):
    """``ctx.db.system``: the read-only system tables (``_scheduled_functions``).

    It shares the function's budget and read set, so a query reading a system table is
    re-run when its rows change, like any other. It never locks rows and has no writes.
    """

    _system = True

    def __getattr__(self, name: str) -> Any:
        if name in ("insert", "patch", "replace", "delete"):
            raise NotAllowedHere(
                f"ctx.db.system.{name} does not exist: system tables are "
                "read-only (cancel scheduled functions with "
                "ctx.scheduler.cancel)"
            )
        raise AttributeError(name)


def _subqueries(node: Any) -> Iterator[Any]:
    """Every sql.Query nested in a where tree (``__in=`` querysets, Exists, Subquery)."""
    from django.db.models.sql.query import Query as SqlQuery

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
        for expr in sources():
            yield from _subqueries(expr)
