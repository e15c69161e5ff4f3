"""Search over a table's rows: vector search (pgvector HNSW), as Convex's ``vectorIndex`` and
``ctx.vectorSearch`` (docs/vector-search.md).

``VectorIndex`` is declared in a model's ``Meta.indexes``; ``ctx.vector_search(...)`` runs a
search in an action (its own read-only snapshot) or a query (reactive: docs/vector-search.md).
"""

from __future__ import annotations

from .vector_index import VectorIndex
from .vector_spec import VectorSpec

__all__ = ["VectorIndex", "VectorSpec"]
