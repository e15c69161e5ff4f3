"""What a table's vector indexes are: `VectorSpec`, read from the model's ``Meta.indexes`` and
checked when the table is registered. No Django import, no queries.

A vector index is any index carrying ``vector_field`` (``reactive.search.VectorIndex``); the
registry (`db/tables.py`) calls `vector_specs` for each table it registers, so a mistake (a field
that is not a VectorField of that size, too many filter fields, a name taken) is a
`ConfigurationError` naming the table and the index when Django starts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

#: Django field types that hold a pgvector value: never an ordered index, never a filter.
VECTOR_TYPES = frozenset({"VectorField", "HalfVectorField", "SparseVectorField"})
#: Bounds of a vector index, as Convex's: dimensions 2..4096, at most 16 filter fields.
VECTOR_DIMENSIONS = (2, 4096)
MAX_FILTER_FIELDS = 16
DISTANCES = ("cosine", "l2", "ip")


@dataclass(frozen=True)
class VectorSpec:
    """A vector index of a table (declared by ``reactive.search.VectorIndex``)."""

    name: str
    field: str  # the document key of the vector
    column: str  # its model attname
    dimensions: int
    filter_fields: tuple[str, ...]  # document keys, in declaration order
    filter_columns: tuple[str, ...]  # their attnames
    distance: str  # "cosine" | "l2" | "ip"

    @property
    def digest_column(self) -> str:
        """The change-capture pseudo-column holding a digest of the vector (never the vector):
        a write that leaves the digest unchanged moved the row in no vector search."""
        return digest_column(self.column)


def digest_column(column: str) -> str:
    return f"{column}#digest"


def digest(value: Sequence[float] | None) -> str | None:
    """A short digest of a vector, for the write sets the writer records in process (the change
    log's triggers write Postgres' ``md5(vector::text)``; the two are never compared)."""
    if value is None:
        return None
    text = ",".join(repr(float(x)) for x in value)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def is_vector_field(field: Any) -> bool:
    return bool(field.get_internal_type() in VECTOR_TYPES)


def vector_specs(table: Any) -> dict[str, VectorSpec]:
    """Index name → `VectorSpec` for the vector indexes of ``table`` (a `db.tables.Table`),
    checked; an index named ``<table>_<short>`` also answers to ``<short>``."""
    found: dict[str, VectorSpec] = {}
    for index in table.model._meta.indexes:
        if not hasattr(index, "vector_field"):
            continue
        spec = _spec(table, index)
        if spec.name in found or spec.name in table.indexes:
            raise ConfigurationError(
                f"table {table.name!r}, vector index {spec.name!r}: the name is taken by another "
                "index"
            )
        found[spec.name] = spec
        short = spec.name.removeprefix(f"{table.name}_")
        if short != spec.name and short not in found:
            found[short] = spec
    return found


def _spec(table: Any, index: Any) -> VectorSpec:
    where = f"table {table.name!r}, vector index {index.name!r}"
    field = table.fields.get(index.vector_field)
    if field is None or not is_vector_field(field):
        raise ConfigurationError(
            f"{where}: vector_field {index.vector_field!r} is not a VectorField of the table "
            f"(fields: {', '.join(sorted(table.fields)) or 'none'})"
        )
    low, high = VECTOR_DIMENSIONS
    dims = index.dimensions
    if not isinstance(dims, int) or isinstance(dims, bool) or not low <= dims <= high:
        raise ConfigurationError(f"{where}: dimensions must be {low}..{high}, not {dims!r}")
    if getattr(field, "dimensions", None) != dims:
        raise ConfigurationError(
            f"{where}: dimensions={dims} but field {index.vector_field!r} is "
            f"VectorField(dimensions={getattr(field, 'dimensions', None)})"
        )
    if index.distance not in DISTANCES:
        raise ConfigurationError(
            f"{where}: distance must be one of {', '.join(DISTANCES)}, not {index.distance!r}"
        )
    filters = tuple(index.filter_fields)
    if len(filters) > MAX_FILTER_FIELDS:
        raise ConfigurationError(
            f"{where}: at most {MAX_FILTER_FIELDS} filter fields, not {len(filters)}"
        )
    for name in filters:
        if name not in table.fields or is_vector_field(table.fields[name]):
            raise ConfigurationError(
                f"{where}: filter field {name!r} is not a plain field of the table "
                f"(fields: {', '.join(sorted(table.fields))})"
            )
    return VectorSpec(
        name=index.name,
        field=index.vector_field,
        column=field.attname,
        dimensions=dims,
        filter_fields=filters,
        filter_columns=tuple(table.fields[n].attname for n in filters),
        distance=index.distance,
    )


#: pgvector stores 32-bit floats: a finite number beyond this becomes infinity, which it refuses.
FLOAT32_MAX = 3.4028234663852886e38


def vector_number_problem(x: object) -> str | None:
    """Why ``x`` cannot be one number of a stored or searched vector, or None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return f"{type(x).__name__}, not a number"
    try:
        value = float(x)
    except OverflowError:
        return "too large for a 32-bit float"
    if not math.isfinite(value):
        return f"{value!r}; a vector holds finite numbers only (no NaN or infinity)"
    if abs(value) > FLOAT32_MAX:
        return f"{value!r}, too large for a 32-bit float (pgvector stores 32-bit floats)"
    return None
