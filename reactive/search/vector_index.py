"""`VectorIndex`: a vector index declared in a model's ``Meta.indexes``, as Convex's
``.vectorIndex()`` in a schema. It is pgvector's HNSW index over the vector column, so
``makemigrations`` creates it; the table registry reads its filter fields and distance
(`vector_spec`). Declares only: no queries.

Example::

    from pgvector.django import VectorField
    from reactive.search import VectorIndex

    @table("movies")
    class Movie(ReactiveModel):
        genre = models.CharField(max_length=32)
        embedding = VectorField(dimensions=384)

        class Meta:
            indexes = [
                VectorIndex(name="by_embedding", vector_field="embedding", dimensions=384,
                            filter_fields=["genre"]),
            ]

The migration that creates the table needs the ``vector`` extension first: put
``pgvector.django.VectorExtension()`` at the top of its operations (docs/vector-search.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pgvector.django import HnswIndex

from ..errors import ConfigurationError
from .vector_spec import DISTANCES

#: Distance → pgvector's operator class for the HNSW index and its distance operator.
OPCLASSES = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"}
OPERATORS = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}


class VectorIndex(HnswIndex):
    """An HNSW index over ``vector_field`` for ``ctx.vector_search``.

    Args:
        name: The index name (Postgres wants it unique per schema; ``"<table>_<short>"`` also
            answers to ``short``, as the table's other indexes).
        vector_field: The model's ``VectorField``.
        dimensions: Its size (2 to 4096), the same as the field's.
        filter_fields: Up to 16 fields that ``vector_search``'s ``filter`` may compare with
            ``q.eq`` (Convex's ``filterFields``).
        distance: ``"cosine"`` (default, as Convex), ``"l2"`` or ``"ip"`` (inner product).
        m, ef_construction: pgvector's HNSW build parameters (its defaults when omitted).
    """

    def __init__(
        self,
        *,
        name: str,
        vector_field: str,
        dimensions: int,
        filter_fields: Sequence[str] = (),
        distance: str = "cosine",
        m: int | None = None,
        ef_construction: int | None = None,
        db_tablespace: str | None = None,
    ) -> None:
        if distance not in DISTANCES:
            raise ConfigurationError(
                f"VectorIndex {name!r}: distance must be one of {', '.join(DISTANCES)}, "
                f"not {distance!r}"
            )
        if isinstance(filter_fields, str):
            raise ConfigurationError(
                f"VectorIndex {name!r}: filter_fields is a list of field names, not a string"
            )
        self.vector_field = vector_field
        self.dimensions = dimensions
        self.filter_fields = list(filter_fields)
        self.distance = distance
        super().__init__(
            fields=[vector_field],
            name=name,
            opclasses=[OPCLASSES[distance]],
            m=m,
            ef_construction=ef_construction,
            db_tablespace=db_tablespace,
        )

    def deconstruct(self) -> tuple[Any, Any, Any]:
        path, args, kwargs = super().deconstruct()
        kwargs.pop("fields", None)
        kwargs.pop("opclasses", None)
        kwargs["vector_field"] = self.vector_field
        kwargs["dimensions"] = self.dimensions
        if self.filter_fields:
            kwargs["filter_fields"] = list(self.filter_fields)
        if self.distance != "cosine":
            kwargs["distance"] = self.distance
        return "reactive.search.VectorIndex", args, kwargs
