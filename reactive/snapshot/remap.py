"""Imported documents' ids: Convex ids become ids of new rows, and every reference follows.

`IdMap` holds the export's table numbers (``_tables``, and the numbers the documents' own
``_id``s carry) and, once `plan` has run, each Convex ``_id`` → the id of the row it becomes.
A document whose ``_id`` is one of ours (an old snapshot of ours) keeps its key and is not in
the map. A Convex id carrying a key (`convex_ids.pk_from_internal`: our own export, or a UUID
key) keeps that key; any other gets a key from the table's sequence, taken now, so that every
reference can be rewritten before a row is written (the foreign keys are checked at commit).

`rewrite` then replaces, anywhere in a document (a foreign key, a string field, inside JSON
objects and arrays, a record's keys), each string that *is* an imported document's old ``_id``:
exact equality to a 31-37 character id with a checksum, whose 16-byte internal id Convex drew
at random, so no other string is touched. A well-formed Convex id of an imported table that
names none of its documents (one deleted in Convex, which leaves the ids to it as they were)
stays an id naming nothing: a key it carries, or else a key taken from the sequence that no row
will have, the same for each copy of it; only a foreign key with a database constraint cannot
hold it, and `refused` names that field. One of a table not imported that carries its key (our
own export: ``import --table``) becomes our id of that key, and the database checks at commit
that a foreign key's row is there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections, models

from .. import ids
from ..db.tables import Table, tables
from . import convex_ids


def integer_key(model: type[models.Model]) -> bool | None:
    """True for an integer primary key, False for a UUID one, None for any other."""
    pk = model._meta.pk
    if isinstance(pk, (models.AutoField, models.IntegerField)):
        return True
    if isinstance(pk, models.UUIDField):
        return False
    return None


class IdMap:
    def __init__(
        self, numbers: dict[int, str], imported: Iterable[str], using: str = "default"
    ) -> None:
        self.numbers = dict(numbers)  # table number → table name, as the export gives them
        self.imported = set(imported)
        self.using = using
        self.new: dict[str, str] = {}  # an imported Convex id → our id of its row
        #: our id given to an id naming no document → (that id, its table)
        self.dangling: dict[str, tuple[str, str]] = {}

    def plan(
        self,
        table: Table,
        rows: list[tuple[str, dict[str, Any]]],
        errors: list[str],
        using: str = "default",
    ) -> None:
        """Map the Convex ``_id``s of ``rows`` (each with where it is, for messages) to keys
        of ``table``, taking new keys from its sequence."""
        integer = integer_key(table.model)
        kept: list[int] = []
        pending: dict[str, None] = {}  # in order, and quick to look up
        for where, doc in rows:
            old = doc.get("_id")
            ours = ids.pk_of(table.name, old)
            if old is None or ours is not None:
                kept += [ours] if isinstance(ours, int) else []
                continue  # a new document, or one of ours: the key is kept
            decoded = convex_ids.decode(old)
            if decoded is None:
                continue  # not an id: the document's check reports it
            problem = self._claim(table, old, decoded[0], integer, old in pending)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
            pk = convex_ids.pk_from_internal(decoded[1], bool(integer))
            if pk is None:
                pending[old] = None
            else:
                kept += [pk] if isinstance(pk, int) else []
                self.new[old] = ids.encode_id(table.name, pk)
        if pending:
            for old, pk in zip(pending, _new_keys(table, len(pending), kept, using), strict=True):
                self.new[old] = ids.encode_id(table.name, pk)

    def _claim(
        self, table: Table, old: str, number: int, integer: bool | None, pending: bool
    ) -> str | None:
        listed = self.numbers.setdefault(number, table.name)
        if listed != table.name:
            return (
                f"`_id` {old!r} is an id of table {listed!r} (number {number}), not {table.name!r}"
            )
        if integer is None:
            return (
                f"table {table.name!r} has a {type(table.model._meta.pk).__name__} primary key: "
                "documents with Convex ids go into tables with an integer or UUID key"
            )
        if pending or old in self.new:
            return f"`_id` {old!r} appears twice in the export"
        return None

    def rewrite(self, value: Any, path: str = "") -> Any:
        """``value`` with every imported old id replaced by its new one (ValueError naming the
        field for an id of the export that names no imported document)."""
        if isinstance(value, str):
            return self._string(value, path)
        if isinstance(value, list):
            return [self.rewrite(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {
                self._string(k, path): self.rewrite(v, f"{path}.{k}" if path else k)
                for k, v in value.items()
            }
        return value

    def _string(self, value: str, path: str) -> str:
        new = self.new.get(value)
        if new is not None:
            return new
        decoded = convex_ids.decode(value)
        if decoded is None or decoded[0] not in self.numbers:
            return value  # no id of this export (maybe no id at all): left as it is
        table = self.numbers[decoded[0]]
        if table not in self.imported:
            kept = self._kept(table, decoded[1])
            if kept is not None:
                return kept  # our own export's id: the row is (or is not) there already
            found = tables.find(table)
            hint = ", nor a table here" if found is None else f" (add --table {table})"
            hint = "" if found is not None and found.system else hint
            raise ValueError(
                f"`{path}` refers to {value!r} of table {table!r}, which is not imported{hint}"
            )
        return self._dangling(table, value, decoded[1], path)

    def _dangling(self, name: str, old: str, internal: bytes, path: str) -> str:
        """Our id for ``old``, an id of imported table ``name`` naming none of its documents:
        the key it carries, else a new one from the sequence, which no row will have."""
        table = tables.get(name)
        integer = integer_key(table.model)
        if integer is None:
            raise ValueError(
                f"`{path}` refers to {old!r} of table {name!r}, which is not in the export"
            )
        pk = convex_ids.pk_from_internal(internal, integer)
        if pk is None:
            pk = _new_keys(table, 1, [], self.using)[0]
        new = ids.encode_id(name, pk)
        self.new[old] = new
        self.dangling[new] = (old, name)
        return new

    def refused(self, table: Table, doc: dict[str, Any]) -> str | None:
        """Why ``doc`` (rewritten) cannot be written: a foreign key with a database constraint
        holding an id that names no document (None: it can)."""
        for key, field in table.fields.items():
            value = doc.get(key)
            found = self.dangling.get(value) if isinstance(value, str) else None
            if found and field.is_relation and getattr(field, "db_constraint", False):
                return (
                    f"`{key}` refers to {found[0]!r} of table {found[1]!r}, which is not in the "
                    "export: a foreign key with a database constraint cannot hold an id naming "
                    "no document (a field without one keeps it, as Convex does)"
                )
        return None

    @staticmethod
    def _kept(name: str, internal: bytes) -> str | None:
        """Our id of the key an id carries, for a table here (None: it carries none)."""
        table = tables.find(name)
        integer = integer_key(table.model) if table is not None else None
        if table is None or integer is None:
            return None
        pk = convex_ids.pk_from_internal(internal, integer)
        return None if pk is None else ids.encode_id(name, pk)


def _new_keys(table: Table, count: int, kept: list[int], using: str) -> list[int]:
    """``count`` fresh keys from the table's sequence, first moved past the keys kept."""
    connection = connections[using]
    meta = table.model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [connection.ops.quote_name(meta.db_table), meta.pk.column],
        )
        row = cursor.fetchone()
        if row is None or row[0] is None:
            raise ValueError(
                f"table {table.name!r}: its primary key has no sequence to number new documents"
            )
        sequence = row[0]
        if kept:
            cursor.execute(
                "SELECT setval(%s, GREATEST(nextval(%s), %s))", [sequence, sequence, max(kept)]
            )
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [r[0] for r in cursor.fetchall()]
