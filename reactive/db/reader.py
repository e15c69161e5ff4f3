"""DatabaseReader: `ctx.db` for queries. Reads through the ORM and records every read.

Each `get` records the id it looked up; each query records the index range it scanned, cut at the
last row returned when a limit stopped it early (a full-text search: its `SearchRead`, through
`search.text_reads`' scanner); anything else is a whole-table read. The reader
also charges the call's `Budget`. In a `select_for_update` mutation every row read is locked.

Every document a function reads leaves through a public method: `get`, or one of the three a
query's terminal operations call (`collect_query`, `iterate_query`, `paginate_query`, the
`QueryRunner` of `query.py`), or the same on `system`. A wrapper (row-level rules, triggers)
overrides those, or delegates to them (`interface.py` holds the contract); the row work itself is
`scan.py`'s `Scanner`, and a page `pagination.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import ids
from ..errors import InvalidId, NotAllowedHere, QueryError, UnknownTable
from ..limits import Budget, approx_size
from ..readset import Bound, DocRead, ReadSet
from ..search.text_query import MAX_RESULTS
from ..search.text_reads import SearchScanner
from .cursors import after_key
from .documents import to_document
from .pagination import PageReader, pagination_opts
from .query import Query
from .raw_reads import own_statements
from .scan import Scanner
from .tables import Table, tables

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
        self._scan = Scanner(using=using, budget=budget, reads=reads, lock_rows=lock_rows)
        self._search_scan = SearchScanner(
            using=using, budget=budget, reads=reads, lock_rows=lock_rows
        )
        self._paginated = False
        self._journal = journal
        #: After paginate(): the page's end, kept by a subscription so that re-runs end the page
        #: at the same place (Convex's query journal; gapless reactive pagination).
        self.page_journal: dict[str, Any] | None = None

    # -- public API --------------------------------------------------------------------------
    @property
    def using(self) -> str:
        """The database alias this reader reads (and a writer writes) through."""
        return self._using

    @own_statements
    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        """The document with this id, or None. ``get(table, id)`` or the id-only ``get(id)``."""
        table, pk = self._resolve("get", table_or_id, id)
        self._budget.charge_range()
        self.reads.add(DocRead(table.name, pk))
        obj = self._scan.row(table, pk)
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
        """``ctx.db.table("messages")``: ``get(id)`` and ``query()`` on one table."""
        return _TableReader(self, name)

    # -- what a query's terminal operations call (query.QueryRunner) ---------------------------
    def collect_query(self, query: Query, limit: int | None = None) -> list[dict[str, Any]]:
        """The documents of ``query`` in order, at most ``limit`` (collect, take, first, unique)."""
        scan = self._scanner(query)
        self._budget.charge_range()
        rows = scan.fetch(query, None, limit)
        stopped = limit is not None and len(rows) >= limit and limit > 0
        last = scan.key(query, rows[-1]) if stopped else None
        if limit == 0:
            return []
        scan.record_until(query, None, last)
        return scan.documents(query.table, rows)

    def iterate_query(self, query: Query) -> Iterator[dict[str, Any]]:
        """The documents of ``query`` in order, ``ITERATION_BATCH`` rows per fetch (a search's:
        at most `MAX_RESULTS`)."""
        scan = self._scanner(query)
        returned = 0
        self._budget.charge_range()
        qs = scan.queryset(query)
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
            rows = scan.fetch(query, batch_qs, ITERATION_BATCH)
            returned += len(rows)
            if query.search is not None and returned > MAX_RESULTS:
                raise self._search_scan.too_many(query)
            full = len(rows) == ITERATION_BATCH
            last = scan.key(query, rows[-1]) if full else None
            scan.record_until(query, Bound(start.prefix, False) if start else None, last)
            yield from scan.documents(query.table, rows)
            if not full:
                return
            start = Bound(scan.key(query, rows[-1]), False)

    def paginate_query(self, query: Query, opts: Any) -> dict[str, Any]:
        """One page of ``query`` (Convex's paginationOpts and page shape); one per call."""
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
        result = PageReader(self._scanner(query)).read(
            query, num, cursor, end_cursor, max_rows, max_bytes, required
        )
        self.page_journal = {"endCursor": result["continueCursor"]}
        if result["pageStatus"] == "SplitRequired":
            self.page_journal["splitRequired"] = True
        return result

    def __getattr__(self, name: str) -> Any:
        if name in ("insert", "patch", "replace", "delete"):
            raise NotAllowedHere(
                f"ctx.db.{name} is not available in a query: queries are "
                "read-only; write from a mutation"
            )
        raise AttributeError(name)

    # -- internals ---------------------------------------------------------------------------
    def _scanner(self, query: Query) -> Scanner:
        return self._scan if query.search is None else self._search_scan

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
