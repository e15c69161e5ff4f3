"""Reading a full-text search through the reader's machinery, and recording what it read.

`SearchScanner` is the `db.scan.Scanner` of a search query: its queryset is `text_sql`'s
(match, ``eq``s, ``.filter()``s, relevance order), and what it records is a `SearchRead` of the
index's filtered rows, plus a `DocRead` of every row fetched, instead of an index range (a
rank is not a column a write carries, so no range of ranks can be placed). The reader's
``collect_query``, ``iterate_query`` and ``paginate_query`` (and so the page reader, the budget
and any wrapper of the reader such as row-level rules) run a search through it unchanged.

One read returns at most `MAX_RESULTS` (1024) documents, as Convex scans at most 1024 search
results: more is a `QueryError` naming the index (use ``take(n)`` or ``paginate``).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from ..db.query import Query
from ..db.scan import Scanner
from ..errors import QueryError
from ..readset import Bound, DocRead, SearchRead
from .text_query import MAX_RESULTS, TextSearch
from .text_sql import search_queryset


def _search(query: Query) -> TextSearch:
    assert query.search is not None, "a SearchScanner reads search queries only"
    return query.search


class SearchScanner(Scanner):
    """A `Scanner` for queries made by ``with_search_index``."""

    def queryset(self, query: Query) -> models.QuerySet[Any]:
        qs = search_queryset(self.manager(query.table), _search(query)).filter(*query.filters)
        self._record_joins(query.table, qs)
        return qs.order_by(*("-" + c for c in query.index.key_columns))

    def record_until(
        self, query: Query, start: Bound | None, last_key: tuple[Any, ...] | None
    ) -> None:
        """The search's filtered rows, whatever part of the ranking was read."""
        search = _search(query)
        table = query.table
        order = (table.column_for("_creationTime"),) if table.creation_field else ()
        self.reads.add(
            SearchRead(
                table.name,
                search.spec.name,
                search.filters,
                (search.spec.digest_column, *order, table.pk_column),
                any_column=bool(query.filters),
            )
        )

    def fetch(
        self, query: Query, qs: models.QuerySet[Any] | None, limit: int | None
    ) -> list[models.Model]:
        """As `Scanner.fetch`, at most `MAX_RESULTS` rows; each row fetched is a `DocRead`."""
        cap = MAX_RESULTS + 1 if limit is None else min(limit, MAX_RESULTS + 1)
        rows = super().fetch(query, qs, cap)
        # a limit of MAX_RESULTS + 1 is a page of MAX_RESULTS and the row that says isDone
        if len(rows) > MAX_RESULTS and (limit is None or limit > MAX_RESULTS + 1):
            raise self.too_many(query)
        for row in rows:
            self.reads.add(DocRead(query.table.name, row.pk))
        return rows

    def too_many(self, query: Query) -> QueryError:
        """The error of a read past `MAX_RESULTS` documents (recorded: it depends on what
        matched)."""
        self.record_until(query, None, None)
        return QueryError(
            f"with_search_index({_search(query).spec.name!r}) on table "
            f"{query.table.name!r}: more than {MAX_RESULTS} documents match; a search "
            f"returns at most {MAX_RESULTS} (use take(n) or paginate)"
        )

    def _rows(self, query: Query, qs: models.QuerySet[Any] | None, cap: int) -> list[models.Model]:
        return list((self.queryset(query) if qs is None else qs)[:cap])
