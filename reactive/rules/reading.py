"""`RulesReader`: ``ctx.db`` with row-level rules applied to every read (the `DocumentReader`
contract of `db/interface.py`, around any reader of it).

Every document leaves through `get` or one of the three `QueryRunner` methods (on ``ctx.db`` and
on ``ctx.db.system``), so relationship helpers, iteration and pages obey the rules too:

- the table's read filter (a ``Q``) is added to the query's filters before the inner reader runs
  it: the SQL returns only readable rows, pages are full, and the tables a filter joins are
  recorded as read (the inner scanner does it), so a subscriber re-runs when they change;
- the Python ``read`` rule is checked on each row the inner reader returns: ``take``, ``first``
  and ``unique`` read on (by iteration) until they have enough readable rows, a page keeps its
  cursors and may come back short;
- ``get`` returns None for a row the caller may not read, as if there were none (the read filter
  is checked with a one-row query on ``by_id``);
- hidden fields are removed from every document returned, and a query that ranges, orders or
  filters on one is refused, as is a ``Q`` filter that joins a table whose rules restrict the
  caller (the join would read that table around its rules).

The read set stays the inner reader's: what was scanned, whatever the rules kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from .. import ids
from ..db.documents import Document
from ..db.interface import DocumentReader, TableView
from ..db.query import Query
from ..db.tables import Table, tables
from .evaluation import NOTHING, Checker

Doc = dict[str, Any]

WRITES = ("insert", "patch", "replace", "delete")


class RulesReader:
    """``inner`` (a `DocumentReader`), showing only what ``checker``'s rules let its caller see."""

    def __init__(self, inner: DocumentReader, checker: Checker) -> None:
        self._inner = inner
        self._checker = checker

    # -- the DocumentReader contract ---------------------------------------------------------
    @property
    def using(self) -> str:
        """The database alias of the reader underneath (the rate limiter reads it)."""
        return str(getattr(self._inner, "using"))  # noqa: B009  (not in the Protocol)

    def get(self, table_or_id: str, id: str | None = None) -> Doc | None:
        """The document, or None when there is none or the rules hide it."""
        doc = self._inner.get(table_or_id, id)
        if doc is None:
            return None
        table = table_of(doc)
        return self._checker.mask(table, doc) if self.may_read(table, doc) else None

    def query(self, table: str) -> Query:
        """The inner reader's query, its terminal operations routed through these rules."""
        return dataclasses.replace(self._inner.query(table), reader=self)

    def normalize_id(self, table: str, id: str) -> str | None:
        return self._inner.normalize_id(table, id)

    @property
    def system(self) -> RulesReader:
        """The system tables, under the same rules (keyed by their names, e.g.
        ``_scheduled_functions``)."""
        return RulesReader(self._inner.system, self._checker)

    def table(self, name: str) -> TableView:
        return _TableView(self, name)

    # -- the QueryRunner methods -------------------------------------------------------------
    def collect_query(self, query: Query, limit: int | None = None) -> list[Doc]:
        inner = self._prepared("collect", query)
        table, checker = query.table, self._checker
        if not checker.has_python_read(table) or limit is None or limit == 0:
            docs = self._inner.collect_query(inner, limit)
            return [checker.mask(table, d) for d in docs if checker.readable(table, d)]
        kept: list[Doc] = []
        for doc in self._inner.iterate_query(inner):  # read on until `limit` rows are readable
            if checker.readable(table, doc):
                kept.append(checker.mask(table, doc))
                if len(kept) >= limit:
                    break
        return kept

    def iterate_query(self, query: Query) -> Iterator[Doc]:
        inner = self._prepared("iterate", query)
        table, checker = query.table, self._checker
        return (
            checker.mask(table, d)
            for d in self._inner.iterate_query(inner)
            if checker.readable(table, d)
        )

    def paginate_query(self, query: Query, opts: Any) -> dict[str, Any]:
        inner = self._prepared("paginate", query)
        table, checker = query.table, self._checker
        page = self._inner.paginate_query(inner, opts)
        kept = [checker.mask(table, d) for d in page["page"] if checker.readable(table, d)]
        return Document({**page, "page": kept})

    # -- for searches (``ctx.vector_search`` asks before reading rows by id) -------------------
    def unrestricted(self, table: str) -> bool:
        """Whether the caller may read every row and field of ``table``."""
        return self._checker.unrestricted(tables.get(table))

    def read_filter(self, table: str) -> Q | bool:
        """The read rule of ``table`` as a ``Q`` (True: every row, False: none), so that a
        search can leave out the rows the caller may not read before it ranks them."""
        return self._checker.read_q(tables.get(table))

    def hidden_fields(self, table: str) -> frozenset[str]:
        """The fields of ``table`` hidden from the caller (a search may not filter on them)."""
        return self._checker.hidden(tables.get(table))

    def __getattr__(self, name: str) -> Any:
        if name in WRITES:  # in a query: the inner reader's NotAllowedHere
            return getattr(self._inner, name)
        raise AttributeError(name)

    # -- the rules ---------------------------------------------------------------------------
    def may_read(self, table: Table, doc: Doc) -> bool:
        """Whether the caller may read ``doc`` (a whole document of ``table``)."""
        if not self._checker.readable(table, doc):
            return False
        q = self._checker.read_q(table)
        if isinstance(q, bool):
            return q
        found = (
            self._inner.query(table.name)
            .with_index("by_id", lambda r: r.eq("_id", doc["_id"]))
            .filter(q)
            .first()
        )
        return found is not None

    def _prepared(self, how: str, query: Query) -> Query:
        """``query`` for the inner reader: hidden fields refused, the read filter added."""
        where = f"ctx.db.query({query.table.name!r}).{how}"
        self._checker.refuse_hidden(where, query)
        self._checker.refuse_joins(where, query)
        q = self._checker.read_q(query.table)
        filters = list(query.filters)
        if q is False:
            filters.append(NOTHING)
        elif q is not True:
            filters.append(q)
        return dataclasses.replace(query, reader=self._inner, filters=filters)


def table_of(doc: Doc) -> Table:
    """The table a document read from ``ctx.db`` belongs to (its id says)."""
    decoded = ids.decode_id(doc["_id"])
    table = tables.for_tag(decoded[0]) if decoded else None
    assert table is not None, "a document from ctx.db carries an id of a registered table"
    return table


class _TableView:
    """``ctx.db.table(name)`` under the rules."""

    def __init__(self, db: RulesReader, name: str) -> None:
        self._db, self._name = db, name

    def get(self, id: str) -> Doc | None:
        return self._db.get(self._name, id)

    def query(self) -> Query:
        return self._db.query(self._name)
