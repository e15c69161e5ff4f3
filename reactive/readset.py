"""Read sets and write sets: what a function read and wrote, as data the sync engine consumes.

A read is one of: a document by id (`DocRead`), a range of an index (`IndexRangeRead`), a
full-text search (`SearchRead`), a vector search (`VectorRead`), or a whole table (`TableRead`,
for reads the range model cannot describe). Index keys are tuples of column values in index
order, always ending with the creation time (when the table has one) and the primary key, so
every key is unique. A range bound is a key *prefix* plus inclusivity, compared against the
same-length prefix of a row's key. A write (`DocWrite`) carries the row's index-column values
before and after; it overlaps a read if either key falls in the range.

Ordering follows Postgres' default for ascending b-tree indexes: NULL sorts after every value.
Pure module: no Django, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def order_key(value: Any) -> tuple[Any, ...]:
    """A sort key for one column value that matches Postgres' ascending order (NULLs last)."""
    if value is None:
        return (1,)
    if isinstance(value, float) and value != value:  # NaN: Postgres sorts it above all numbers
        return (0.5,)
    return (0, value)


def key_of(values: Iterable[Any]) -> tuple[tuple[Any, ...], ...]:
    return tuple(order_key(v) for v in values)


@dataclass(frozen=True)
class Bound:
    """One end of an index range: a key prefix, and whether keys equal to it are inside."""

    prefix: tuple[Any, ...]
    inclusive: bool

    def below(self, key: tuple[Any, ...]) -> bool:
        """True if ``key`` is at or past this bound when it is a *lower* bound."""
        head, mine = key_of(key[: len(self.prefix)]), key_of(self.prefix)
        return head > mine or (self.inclusive and head == mine)

    def above(self, key: tuple[Any, ...]) -> bool:
        """True if ``key`` is at or before this bound when it is an *upper* bound."""
        head, mine = key_of(key[: len(self.prefix)]), key_of(self.prefix)
        return head < mine or (self.inclusive and head == mine)


@dataclass(frozen=True)
class DocRead:
    table: str
    pk: Any


@dataclass(frozen=True)
class IndexRangeRead:
    """Rows of ``table`` whose key over ``fields`` lies between ``lower`` and ``upper``."""

    table: str
    index: str
    fields: tuple[str, ...]
    lower: Bound | None = None
    upper: Bound | None = None

    def contains(self, key: tuple[Any, ...]) -> bool:
        return (self.lower is None or self.lower.below(key)) and (
            self.upper is None or self.upper.above(key)
        )


@dataclass(frozen=True)
class TableRead:
    table: str


@dataclass(frozen=True)
class SearchRead:
    """A full-text search of ``table``'s search index ``index``: the rows whose columns equal
    ``filters`` (column, value pairs: the search's ``eq``s) are the rows it may have matched.

    The write log carries no text, so which of those rows match the terms is unknown: a write
    touches the search when a row enters or leaves the filtered rows, is inserted or deleted
    among them, or changes a ``watched`` column there (the md5 of the searched text and the
    columns of the tie order). With ``any_column`` (the query also had ``.filter()``s, whose
    columns decide too) any update of a filtered row does. The rows returned are recorded
    apart, as `DocRead`s: any change of one touches the result.
    """

    table: str
    index: str
    filters: tuple[tuple[str, Any], ...]
    watched: tuple[str, ...]
    any_column: bool = False

    def _inside(self, row: Mapping[str, Any] | None) -> bool | None:
        """Whether ``row`` has the filter values (None: a column is not in the row)."""
        if row is None:
            return False
        if any(column not in row for column, _ in self.filters):
            return None
        return all(key_of((row[c],)) == key_of((v,)) for c, v in self.filters)

    def touched_by(self, write: DocWrite) -> bool:
        before, after = self._inside(write.old), self._inside(write.new)
        if before is None or after is None:
            return True  # a row this read cannot place is assumed to be inside
        if not (before or after):
            return False
        if before != after or write.old is None or write.new is None or self.any_column:
            return True  # moved in or out, inserted or deleted inside, or any column counts
        old, new = write.old, write.new
        if any(c not in old or c not in new for c in self.watched):
            return True
        return any(key_of((old[c],)) != key_of((new[c],)) for c in self.watched)


@dataclass(frozen=True)
class VectorRead:
    """A vector search of ``table``: its result depends on which rows pass ``clauses`` (an OR
    of ``column == value``; none: every row) and on those rows' vectors, seen through the
    ``digest`` pseudo-column (a digest of the vector that the change capture carries).

    A write changes it when a row enters or leaves the filter (an insert or delete of a
    matching row, an update of a filter column across it) or a matching row's vector changes;
    an update of other columns, or of rows outside the filter, does not. A row lacking a
    column the test needs counts as a change (conservative)."""

    table: str
    index: str
    digest: str
    clauses: tuple[tuple[str, Any], ...] = ()
    #: Rows were also chosen by columns the change log may not carry (a read rule's ``Q``
    #: pushed into the search): any update of a row passing ``clauses`` may change the result.
    any_column: bool = False

    def _matches(self, row: Mapping[str, Any]) -> bool | None:
        if not self.clauses:
            return True
        for column, value in self.clauses:
            if column not in row:
                return None
            if row[column] == value:
                return True
        return False

    def changed_by(self, write: DocWrite) -> bool:
        if write.whole_table:
            return True
        before = False if write.old is None else self._matches(write.old)
        after = False if write.new is None else self._matches(write.new)
        if before is None or after is None:
            return True
        if write.old is None or write.new is None:  # an insert or a delete
            return before or after
        if before != after:
            return True
        if not before:
            return False
        if self.any_column:
            return True
        if self.digest not in write.old or self.digest not in write.new:
            return True
        return bool(write.old[self.digest] != write.new[self.digest])


Read = DocRead | IndexRangeRead | TableRead | SearchRead | VectorRead


@dataclass(frozen=True)
class DocWrite:
    """A row inserted, updated or deleted; ``old``/``new`` map column names to values."""

    table: str
    pk: Any
    op: str  # "insert" | "update" | "delete"
    old: Mapping[str, Any] | None = None
    new: Mapping[str, Any] | None = None
    #: A change that cannot be located (unknown columns): it overlaps every read of its table.
    whole_table: bool = False

    def keys_for(self, fields: tuple[str, ...]) -> list[tuple[Any, ...]] | None:
        """The row's keys over ``fields`` before and after; None if a column is unknown."""
        keys = []
        for row in (self.old, self.new):
            if row is None:
                continue
            if any(f not in row for f in fields):
                return None
            keys.append(tuple(row[f] for f in fields))
        return keys


@dataclass
class ReadSet:
    reads: list[Read] = field(default_factory=list)

    def add(self, read: Read) -> None:
        self.reads.append(read)

    def tables(self) -> set[str]:
        return {r.table for r in self.reads}

    def overlaps(self, write: DocWrite) -> bool:
        for read in self.reads:
            if read.table != write.table:
                continue
            if isinstance(read, TableRead) or write.whole_table:
                return True
            if isinstance(read, DocRead):
                if read.pk == write.pk:
                    return True
                continue
            if isinstance(read, SearchRead):
                if read.touched_by(write):
                    return True
                continue
            if isinstance(read, VectorRead):
                if read.changed_by(write):
                    return True
                continue
            keys = write.keys_for(read.fields)
            if keys is None or any(read.contains(k) for k in keys):
                return True  # an unknown key is assumed to be anywhere
        return False

    def overlaps_any(self, writes: Iterable[DocWrite]) -> bool:
        return any(self.overlaps(w) for w in writes)

    def __len__(self) -> int:
        return len(self.reads)


@dataclass
class WriteSet:
    writes: list[DocWrite] = field(default_factory=list)

    def add(self, write: DocWrite) -> None:
        self.writes.append(write)

    def extend(self, other: WriteSet) -> None:
        self.writes.extend(other.writes)

    def __len__(self) -> int:
        return len(self.writes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.writes)
