"""Pagination: one page of a query from paginationOpts, as convex-backend reads pages.

`pagination_opts` checks the options object; `PageReader(scan).read(...)` reads a page through the
reader's `Scanner` (so every row is fetched, charged and recorded as the reader's other reads
are), honouring `endCursor` (gapless re-runs), `maximumRowsRead` and `maximumBytesRead`, and says
when the client should split it (`pageStatus`, `splitCursor`). The reader's `paginate_query`
keeps the one-page-per-call rule and the subscription's journal.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from django.db import models

from ..errors import QueryError
from ..limits import approx_size
from ..readset import Bound
from ..search.text_query import MAX_RESULTS
from .cursors import AT_START, after_key, before_key, decode_cursor, encode_cursor
from .documents import Document, to_document
from .query import Query
from .scan import Scanner
from .tables import Table


class PageReader:
    """Reads one page through ``scan``."""

    def __init__(self, scan: Scanner) -> None:
        self.scan = scan

    def read(
        self,
        query: Query,
        num: int,
        cursor: str | None,
        end_cursor: str | None,
        max_rows: int | None,
        max_bytes: int | None,
        required: bool = False,
    ) -> dict[str, Any]:
        order, cols = query.order_, query.index.key_columns
        desc = order == "desc"
        if query.search is not None:  # one read of a search returns at most MAX_RESULTS rows:
            # a page past it (a big numItems, a pinned page that grew) is cut there and split
            max_rows = MAX_RESULTS if max_rows is None else min(max_rows, MAX_RESULTS)
        qs = self.scan.queryset(query)
        start_key: tuple[Any, ...] | None = None
        if cursor is not None:
            decoded = decode_cursor(query.table, query.index, order, cursor)
            if decoded is None:  # the end sentinel: nothing after it
                self.scan.record_until(query, None, None)
                return page_result([], True, encode_cursor(query.index.name, order, None))
            if isinstance(decoded, tuple):  # not AT_START
                start_key = decoded
                qs = qs.filter(after_key(cols, start_key, desc=desc, inclusive=False))
        end_key: tuple[Any, ...] | None = None
        if end_cursor is not None:
            decoded_end = decode_cursor(query.table, query.index, order, end_cursor)
            if decoded_end is AT_START:  # a journaled empty first page: it stays empty
                return page_result([], False, end_cursor)
            end_key = decoded_end if isinstance(decoded_end, tuple) else None
            if end_key is not None:
                qs = qs.filter(before_key(cols, end_key, desc=desc))
        start = Bound(start_key, False) if start_key is not None else None
        if end_cursor is not None:
            limit = max_rows if max_rows is not None else None
            rows = self.scan.fetch(query, qs, None if limit is None else limit + 1)
            capped = limit is not None and len(rows) > limit
            peeked = self.scan.key(query, rows[limit]) if capped else None  # type: ignore[index]
            rows = rows[:limit] if capped else rows
            if capped:
                last = self.scan.key(query, rows[-1])
                self.scan.record_until(query, start, peeked)  # `capped` depends on that row
                return page_result(
                    self.scan.documents(query.table, rows),
                    False,
                    encode_cursor(query.index.name, order, last),
                )
            self.scan.record_until(query, start, end_key)
            # an endCursor page is never cut by maximumBytesRead (as in Convex: it must cover
            # its whole range to stay gapless); one that grew large is offered a split
            return self.finish(
                query,
                rows,
                self.scan.documents(query.table, rows),
                end_key is None,
                end_cursor,
                num,
                max_rows,
                max_bytes,
                required=required and bool(rows),
            )
        limit = num if max_rows is None else min(num, max_rows)
        fetched = self.scan.fetch(query, qs, limit + 1)
        more = len(fetched) > limit
        rows = fetched[:limit]
        docs, cut = self.cut_at_bytes(query.table, rows, max_bytes)
        if cut or (more and rows):
            last = self.scan.key(query, rows[len(docs) - 1])
            # isDone depends on the row after the page, which was read to know there is one
            self.scan.record_until(query, start, self.scan.key(query, fetched[len(docs)]))
            # a read limit stopped the page before numItems: SplitRequired
            required = cut or (max_rows is not None and max_rows < num)
            return self.finish(
                query,
                rows[: len(docs)],
                docs,
                False,
                encode_cursor(query.index.name, order, last),
                num,
                max_rows,
                max_bytes,
                required=required,
            )
        if more:  # numItems 0: an empty page that is not the end; continue where it started
            # isDone depends on whether any row follows the cursor: read up to the first one
            upto = self.scan.key(query, fetched[0])
            self.scan.record_until(query, start, upto)
            cont = encode_cursor(query.index.name, order, start_key, start=start_key is None)
            return page_result([], False, cont)
        self.scan.record_until(query, start, None)
        return self.finish(
            query,
            rows,
            docs,
            True,
            encode_cursor(query.index.name, order, None),
            num,
            max_rows,
            max_bytes,
        )

    def finish(
        self,
        query: Query,
        rows: list[models.Model],
        docs: list[dict[str, Any]],
        done: bool,
        cont: str,
        num: int,
        max_rows: int | None,
        max_bytes: int | None,
        *,
        required: bool = False,
    ) -> dict[str, Any]:
        """The page, with Convex's pageStatus and splitCursor.

        SplitRequired (a read limit stopped the page) always carries a split point, so the
        official clients' split goes ahead: after the first half, or after the only row (the
        halves are then that row and an empty page). SplitRecommended (a page of twice
        numItems, or past three quarters of a read limit) needs two rows to split.
        """
        if required:
            return page_result(docs, done, cont, self.split_cursor(query, rows), "SplitRequired")
        if len(rows) >= 2 and (
            len(rows) >= 2 * max(num, 1)
            or _near(len(rows), max_rows)
            or _near(sum(map(approx_size, docs)), max_bytes)
        ):
            return page_result(docs, done, cont, self.split_cursor(query, rows), "SplitRecommended")
        return page_result(docs, done, cont)

    def cut_at_bytes(
        self, table: Table, rows: list[models.Model], max_bytes: int | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The page's documents, stopped after the one that reaches ``max_bytes`` (Convex's
        maximumBytesRead: a page always holds at least one document), and whether that cut
        rows off."""
        if max_bytes is None:
            return self.scan.documents(table, rows), False
        docs: list[dict[str, Any]] = []
        total = 0
        for row in rows:
            doc = to_document(table, row)
            docs.append(doc)
            total += approx_size(doc)
            if total >= max_bytes:
                break
        self.scan.budget.charge_read(0, total)
        return docs, len(docs) < len(rows)

    def split_cursor(self, query: Query, rows: list[models.Model]) -> str:
        """The cursor after the first half of ``rows`` (after the only row of a 1-row page)."""
        middle = rows[(len(rows) - 1) // 2]
        return encode_cursor(query.index.name, query.order_, self.scan.key(query, middle))


def page_result(
    docs: list[dict[str, Any]],
    done: bool,
    cont: str,
    split: str | None = None,
    status: str | None = None,
) -> Document:
    """Convex's ``PaginationResult``; like a document, it reads as ``result.page`` too."""
    return Document(
        page=docs,
        isDone=done,
        continueCursor=cont,
        splitCursor=split,
        pageStatus=status,
    )


def _near(used: int, limit: int | None) -> bool:
    """Past three quarters of a read limit: Convex then recommends splitting the page."""
    return limit is not None and used > limit * 3 // 4


def pagination_opts(opts: Any) -> tuple[int, str | None, str | None, int | None, int | None]:
    if not isinstance(opts, dict):
        raise QueryError(
            "paginate() takes the paginationOpts object "
            "({numItems, cursor, endCursor?, maximumRowsRead?, "
            "maximumBytesRead?})"
        )
    allowed = {"numItems", "cursor", "endCursor", "maximumRowsRead", "maximumBytesRead", "id"}
    extra = set(opts) - allowed
    if extra:
        raise QueryError(f"paginationOpts has unknown field(s): {sorted(extra)}")
    num = opts.get("numItems")
    if not _count(num) or num < 0:
        raise QueryError(f"paginationOpts.numItems must be a non-negative integer, not {num!r}")
    cursor, end = opts.get("cursor"), opts.get("endCursor")
    for name, value in (("cursor", cursor), ("endCursor", end)):
        if value is not None and not isinstance(value, str):
            raise QueryError(f"paginationOpts.{name} must be a string or null")
    max_rows, max_bytes = (
        _positive(opts, name) for name in ("maximumRowsRead", "maximumBytesRead")
    )
    return int(num), cursor, end, max_rows, max_bytes


def _positive(opts: dict[str, Any], name: str) -> int | None:
    value = opts.get(name)
    if value is None:
        return None
    if not _count(value) or value < 1:
        raise QueryError(f"paginationOpts.{name} must be a positive integer, not {value!r}")
    return int(value)


def _count(value: Any) -> TypeGuard[int | float]:
    """A whole number (NaN and ±Infinity, which a client may send, are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or value.is_integer()
