"""Relationship helpers over `ctx.db`: convex-helpers' getAll, getOneFrom, getManyFrom, getManyVia.

    get_all(db, "channels", ids)                              # [doc or None, ...]
    get_one_from(db, "profiles", "by_user", user_id)          # the one doc, or None
    get_many_from(db, "messages", "by_channel", channel_id)   # every doc of the index range
    get_many_via(db, "memberships", "channel", "by_user", user_id)   # follow a join table

Each takes ``db``, any `DocumentReader` (`interface.py`: ``ctx.db`` or a wrapper of it), and reads
only through its public methods (`get`, `query(...).with_index(...)` and a terminal operation).
So the reader records the read set as for any read, and a wrapper (row-level rules) sees, and
may hide, every document they return. ``field`` defaults to the index's first field (Convex's
convention names the index after it: ``by_channel`` on ``channel``). Unknown tables, indexes and
fields raise what a query raises; the ``_or_throw`` variants raise `DocumentNotFound` naming the
table and the missing id or value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import DocumentNotFound, QueryError
from .interface import DocumentReader
from .query import Query

__all__ = [
    "get_all",
    "get_all_or_throw",
    "get_many_from",
    "get_many_via",
    "get_many_via_or_throw",
    "get_one_from",
    "get_one_from_or_throw",
]

Doc = dict[str, Any]


def get_all(db: DocumentReader, table: str, ids: Iterable[str]) -> list[Doc | None]:
    """The document of each id of ``table``, in order; None where there is none."""
    return [db.get(table, id) for id in ids]


def get_all_or_throw(db: DocumentReader, table: str, ids: Iterable[str]) -> list[Doc]:
    """`get_all`, raising `DocumentNotFound` for the first id with no (visible) document."""
    docs = []
    for id in ids:
        doc = db.get(table, id)
        if doc is None:
            raise DocumentNotFound(f"get_all_or_throw: no document in table {table!r} with id {id}")
        docs.append(doc)
    return docs


def _by_value(db: DocumentReader, table: str, index: str, value: Any, field: str | None) -> Query:
    """``db.query(table).with_index(index, q.eq(field, value))``; ``field`` defaults to the
    index's first field."""
    query = db.query(table)
    if field is None:
        known = query.table.indexes.get(index)
        if known is not None and not known.fields:
            raise QueryError(f"index {index!r} of table {table!r} has no field: pass field=")
        field = known.fields[0] if known is not None else ""
    name = field
    return query.with_index(index, lambda q: q.eq(name, value))


def get_one_from(
    db: DocumentReader, table: str, index: str, value: Any, field: str | None = None
) -> Doc | None:
    """The one document of ``table`` whose ``field`` is ``value`` (read through ``index``), or
    None; more than one is a `QueryError` (`Query.unique`)."""
    return _by_value(db, table, index, value, field).unique()


def get_one_from_or_throw(
    db: DocumentReader, table: str, index: str, value: Any, field: str | None = None
) -> Doc:
    """`get_one_from`, raising `DocumentNotFound` when there is no such document."""
    doc = get_one_from(db, table, index, value, field)
    if doc is None:
        raise DocumentNotFound(
            f"get_one_from_or_throw: no document in table {table!r} with {index!r} = {value!r}"
        )
    return doc


def get_many_from(
    db: DocumentReader, table: str, index: str, value: Any, field: str | None = None
) -> list[Doc]:
    """Every document of ``table`` whose ``field`` is ``value``, in ``index`` order."""
    return _by_value(db, table, index, value, field).collect()


def _targets(
    db: DocumentReader, table: str, to_field: str, index: str, value: Any, field: str | None
) -> list[tuple[str | None, Doc | None]]:
    """(id, document) for each row of the join table: the id in ``to_field`` and its document."""
    query = _by_value(db, table, index, value, field)
    if to_field != "_id" and to_field not in query.table.fields:
        raise QueryError(
            f"table {table!r} has no field {to_field!r} "
            f"(fields: {', '.join(sorted(query.table.fields))})"
        )
    out: list[tuple[str | None, Doc | None]] = []
    for row in query.collect():
        target = row[to_field]
        out.append((target, None if target is None else db.get(target)))
    return out


def get_many_via(
    db: DocumentReader,
    table: str,
    to_field: str,
    index: str,
    value: Any,
    field: str | None = None,
) -> list[Doc | None]:
    """Many-to-many through a join table: the rows of ``table`` whose ``field`` is ``value``
    (through ``index``), each followed by the id in ``to_field``; None where it leads nowhere."""
    return [doc for _, doc in _targets(db, table, to_field, index, value, field)]


def get_many_via_or_throw(
    db: DocumentReader,
    table: str,
    to_field: str,
    index: str,
    value: Any,
    field: str | None = None,
) -> list[Doc]:
    """`get_many_via`, raising `DocumentNotFound` for the first id that leads to no document."""
    docs = []
    for target, doc in _targets(db, table, to_field, index, value, field):
        if doc is None:
            raise DocumentNotFound(
                f"get_many_via_or_throw: {table!r}.{to_field} = {target!r} leads to no document"
            )
        docs.append(doc)
    return docs
