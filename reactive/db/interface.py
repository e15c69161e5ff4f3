"""The public contract of `ctx.db`, for code that wraps it: `DocumentReader`, `DocumentWriter`.

Row-level rules, triggers and relationship helpers wrap `ctx.db` the way convex-helpers wraps a
Convex `ctx.db` (`wrapDatabaseReader` / `wrapDatabaseWriter`): every document a function reads
leaves the reader through `get` or one of the three `QueryRunner` methods a query's terminal
operations call (`collect_query` for collect/take/first/unique, `iterate_query` for a for-loop,
`paginate_query`), and `system` is a reader of the same kind; every write goes through `insert`,
`patch`, `replace` or `delete`. A wrapper that subclasses `DatabaseReader` / `DatabaseWriter`
overrides those methods; one that delegates implements these protocols and, in `query`, hands
back the inner query routed through itself: ``dataclasses.replace(inner.query(t), reader=self)``.
No method here starts with an underscore, and no wrapper needs one that does.
"""

from __future__ import annotations

from typing import Any, Protocol

from .query import Query, QueryRunner

__all__ = ["DocumentReader", "DocumentWriter", "QueryRunner", "TableView"]


class TableView(Protocol):
    """``ctx.db.table(name)``: `get` and `query` with the table already named."""

    def get(self, id: str) -> dict[str, Any] | None: ...

    def query(self) -> Query: ...


class DocumentReader(QueryRunner, Protocol):
    """``ctx.db`` in a query: every read method (the `QueryRunner` three included)."""

    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        """``get(table, id)`` or ``get(id)``: the document, or None."""
        ...

    def query(self, table: str) -> Query:
        """A query over ``table`` whose terminal operations call this reader's runner methods."""
        ...

    def normalize_id(self, table: str, id: str) -> str | None:
        """``id`` if it is an id of ``table``, else None (reads nothing)."""
        ...

    @property
    def system(self) -> DocumentReader:
        """The read-only system tables, read through a reader of the same contract."""
        ...

    def table(self, name: str) -> TableView:
        """A view of one table; its reads go through this reader's `get` and `query`."""
        ...


class DocumentWriter(DocumentReader, Protocol):
    """``ctx.db`` in a mutation: the reader, plus every write method."""

    def insert(self, table: str, document: dict[str, Any]) -> str:
        """Insert a document; returns its new id."""
        ...

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = ...) -> None:
        """``patch(table, id, fields)`` or ``patch(id, fields)``: shallow-merge ``fields``."""
        ...

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = ...) -> None:
        """``replace(table, id, document)`` or ``replace(id, document)``."""
        ...

    def delete(self, table_or_id: str, id: str | None = None) -> None:
        """``delete(table, id)`` or ``delete(id)``, with Django's ``on_delete`` cascades."""
        ...
