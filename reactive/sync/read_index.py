"""Which subscriptions a write may touch, without testing every subscription of its table.

Each subscription's reads are filed under buckets:

- a document read, under (table, primary key);
- an index range whose bounds fix the first indexed field to one value (`eq("channel", c)`, with
  or without further bounds), under (table, field, that value): every key in such a range has
  that first value, because range bounds compare key prefixes in order;
- a full-text search with ``eq`` filters, under (table, its first filter column, that value): a
  row outside that value is outside the search's filtered rows;
- anything else (whole-table reads, open ranges), under its table, to be tested on every write.

`candidates(write)` gathers the buckets the write's old and new rows fall into: a superset of the
subscriptions it touches, which `ReadSet.overlaps` then tests exactly. A row that lacks a bucketed
field, or holds an unhashable value there, conservatively takes every subscription bucketed on
that field. Pure module: no Django, no database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from ..readset import DocRead, DocWrite, IndexRangeRead, ReadSet, SearchRead, order_key

Bucket = tuple[Any, ...]
K = TypeVar("K", bound=Hashable)  # what is filed: a subscription


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _first_value(read: IndexRangeRead | SearchRead) -> tuple[bool, Any]:
    """(True, v) if every key in the range (every row of the search) has first field v."""
    if isinstance(read, SearchRead):
        if not read.filters or not _hashable(read.filters[0][1]):
            return False, None
        return True, read.filters[0][1]
    lower, upper = read.lower, read.upper
    if lower is None or upper is None or not lower.prefix or not upper.prefix:
        return False, None
    low, high = lower.prefix[0], upper.prefix[0]
    if not (_hashable(low) and order_key(low) == order_key(high)):
        return False, None
    return True, low


class ReadIndex(Generic[K]):
    def __init__(self) -> None:
        self._scan: dict[str, set[K]] = defaultdict(set)
        self._docs: dict[tuple[str, Any], set[K]] = defaultdict(set)
        # (table, first field) -> order_key(value) -> subscriptions
        self._eq: dict[tuple[str, str], dict[Any, set[K]]] = defaultdict(lambda: defaultdict(set))
        self._eq_fields: dict[str, set[str]] = defaultdict(set)
        self._filed: dict[K, list[Bucket]] = {}

    def add(self, sub: K, reads: ReadSet) -> None:
        self.remove(sub)
        filed: list[Bucket] = []
        for read in reads.reads:
            if isinstance(read, DocRead) and _hashable(read.pk):
                self._docs[(read.table, read.pk)].add(sub)
                filed.append(("doc", read.table, read.pk))
                continue
            if isinstance(read, IndexRangeRead | SearchRead):
                fixed, value = _first_value(read)
                if fixed:
                    first = (
                        read.fields[0] if isinstance(read, IndexRangeRead) else read.filters[0][0]
                    )
                    field, key = first, order_key(value)
                    self._eq[(read.table, field)][key].add(sub)
                    self._eq_fields[read.table].add(field)
                    filed.append(("eq", read.table, field, key))
                    continue
            self._scan[read.table].add(sub)
            filed.append(("scan", read.table))
        self._filed[sub] = filed

    def remove(self, sub: K) -> None:
        for bucket in self._filed.pop(sub, ()):
            if bucket[0] == "doc":
                key = (bucket[1], bucket[2])
                self._docs[key].discard(sub)
                if not self._docs[key]:
                    del self._docs[key]
            elif bucket[0] == "eq":
                _, table, field, value = bucket
                values = self._eq[(table, field)]
                values[value].discard(sub)
                if not values[value]:
                    del values[value]
                if not values:
                    del self._eq[(table, field)]
                    self._eq_fields[table].discard(field)
            else:
                self._scan[bucket[1]].discard(sub)

    def candidates(self, write: DocWrite) -> set[K]:
        table = write.table
        found = set(self._scan.get(table, ()))
        if _hashable(write.pk):
            found |= self._docs.get((table, write.pk), set())
        else:  # never expected; stay sound
            for (t, _), subs in self._docs.items():
                if t == table:
                    found |= subs
        for field in self._eq_fields.get(table, ()):
            values = self._eq[(table, field)]
            for row in (write.old, write.new):
                if row is None:
                    continue
                value = row.get(field, _MISSING)
                if value is _MISSING or not _hashable(value):
                    for subs in values.values():
                        found |= subs
                else:
                    found |= values.get(order_key(value), set())
        return found


_MISSING = object()
