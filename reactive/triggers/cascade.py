"""The ``ctx.db`` that runs triggers: a `DocumentWriter` over the mutation's own writer.

Each write to a table with handlers reads the document before and after (through the inner
writer, in the transaction), and queues a `Change`. The outermost write (one the function made)
then runs the queue in order, breadth first as convex-helpers does: a handler's own writes go
through a writer of the same kind, so their changes join the queue behind the ones already
there, one level deeper. The write and everything its handlers do run in one savepoint: a handler
that raises undoes the write and the cascade, and the error leaves ``ctx.db.insert`` (or patch,
replace, delete); uncaught, it fails the mutation as any error does, and nothing is written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction

from ..errors import LimitExceeded
from . import table_handlers
from .change import Change
from .trigger_ctx import TriggerCtx

if TYPE_CHECKING:
    from ..db.interface import DocumentReader, DocumentWriter, TableView
    from ..db.query import Query
    from ..functions.context import MutationCtx

#: How many levels of handlers a cascade may run: handlers of the function's own writes are
#: level 1, handlers of their writes level 2, and so on. A change that would run handlers at
#: level ``MAX_DEPTH + 1`` fails the mutation with `LimitExceeded` naming the chain.
MAX_DEPTH = 8

#: Marks the id-only call forms, as in the inner writer.
_ID_ONLY: Any = object()

T = TypeVar("T")


class Cascade:
    """One mutation ctx's queue of changes whose handlers have not run yet."""

    def __init__(self, ctx: MutationCtx, inner: DocumentWriter) -> None:
        self.ctx, self.inner = ctx, inner
        self.queue: deque[tuple[Change, tuple[str, ...]]] = deque()
        self.draining = False

    def write(self, chain: tuple[str, ...], perform: Callable[[], tuple[T, Change]]) -> T:
        """Do one write (``perform`` returns its result and its change) and run or queue its
        handlers; ``chain`` names the changes whose handlers made this write."""
        if self.draining:
            result, change = perform()
            self.queue.append((change, chain))
            return result
        # the outermost write: it and its whole cascade in one savepoint
        using: str = getattr(self.inner, "using", "default")
        self.draining = True
        try:
            with transaction.atomic(using=using):
                result, change = perform()
                self.queue.append((change, chain))
                self._drain()
        finally:
            self.queue.clear()
            self.draining = False
        return result

    def _drain(self) -> None:
        while self.queue:
            change, chain = self.queue.popleft()
            here = (*chain, f"{change.table} {change.operation}")
            found = table_handlers.handlers(change.table)
            if found and len(here) > MAX_DEPTH:
                raise LimitExceeded(
                    f"{self.ctx.path}: triggers cascaded deeper than {MAX_DEPTH} levels: "
                    f"{' → '.join(here)}. A trigger that writes the table it watches must stop "
                    "when there is nothing left to change."
                )
            if not found:
                continue
            ctx = TriggerCtx.derive(self.ctx, db=TriggeringWriter(self, here), inner_db=self.inner)
            for handler in found:
                handler(ctx, change)


class TriggeringWriter:
    """``ctx.db`` in a mutation when triggers are registered (it meets `DocumentWriter`)."""

    def __init__(self, cascade: Cascade, chain: tuple[str, ...] = ()) -> None:
        self._cascade = cascade
        self._inner = cascade.inner
        self._chain = chain

    # ---- reads: the inner writer's, unchanged
    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        return self._inner.get(table_or_id, id)

    def query(self, table: str) -> Query:
        return self._inner.query(table)

    def normalize_id(self, table: str, id: str) -> str | None:
        return self._inner.normalize_id(table, id)

    @property
    def system(self) -> DocumentReader:
        return self._inner.system

    def table(self, name: str) -> TableView:
        return self._inner.table(name)

    def collect_query(self, query: Query, limit: int | None = None) -> list[dict[str, Any]]:
        return self._inner.collect_query(query, limit)

    def iterate_query(self, query: Query) -> Iterator[dict[str, Any]]:
        return self._inner.iterate_query(query)

    def paginate_query(self, query: Query, opts: Any) -> dict[str, Any]:
        return self._inner.paginate_query(query, opts)

    def __getattr__(self, name: str) -> Any:
        # anything else the inner writer offers (``using``, for the rate limiter)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    # ---- writes
    def insert(self, table: str, document: dict[str, Any]) -> str:
        inner = self._inner
        if not table_handlers.handlers(table):
            return inner.insert(table, document)

        def perform() -> tuple[str, Change]:
            new_id = inner.insert(table, document)
            new = inner.get(table, new_id)
            return new_id, Change(table, "insert", new_id, None, new)

        return self._cascade.write(self._chain, perform)

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = _ID_ONLY) -> None:
        if fields is _ID_ONLY:
            self._update("patch", None, table_or_id, id_or_fields)
        else:
            self._update("patch", table_or_id, id_or_fields, fields)

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = _ID_ONLY) -> None:
        if document is _ID_ONLY:
            self._update("replace", None, table_or_id, id_or_document)
        else:
            self._update("replace", table_or_id, id_or_document, document)

    def delete(self, table_or_id: str, id: str | None = None) -> None:
        inner = self._inner
        if id is None:
            table, doc_id = self._table_of(table_or_id), table_or_id
        else:
            table, doc_id = table_or_id, id
        if table is None or not table_handlers.handlers(table):
            inner.delete(table_or_id, id)
            return

        def perform() -> tuple[None, Change]:
            old = inner.get(table, doc_id)
            inner.delete(table, doc_id)  # raises DocumentNotFound when there is none
            assert old is not None
            return None, Change(table, "delete", old["_id"], old, None)

        self._cascade.write(self._chain, perform)

    def _update(self, method: str, table: str | None, doc_id: str, value: Any) -> None:
        inner = self._inner
        write = inner.patch if method == "patch" else inner.replace
        name = self._table_of(doc_id) if table is None else table
        if name is None or not table_handlers.handlers(name):
            if table is None:
                write(doc_id, value)
            else:
                write(table, doc_id, value)
            return

        def perform() -> tuple[None, Change]:
            old = inner.get(name, doc_id)
            write(name, doc_id, value)  # raises DocumentNotFound when there is none
            new = inner.get(name, doc_id)
            assert old is not None and new is not None
            return None, Change(name, "update", old["_id"], old, new)

        self._cascade.write(self._chain, perform)

    def _table_of(self, doc_id: str) -> str | None:
        """The table with handlers that ``doc_id`` belongs to (convex-helpers' way: ask each)."""
        for name in table_handlers.tables_with_handlers():
            if self._inner.normalize_id(name, doc_id) is not None:
                return name
        return None


if TYPE_CHECKING:

    def _meets_the_contract(writer: TriggeringWriter) -> DocumentWriter:
        return writer  # mypy checks that TriggeringWriter is a DocumentWriter
