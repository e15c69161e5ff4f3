"""Search over tables: full-text search (``text_*`` modules, docs/search.md) and vector search
on pgvector HNSW (``vector_*`` modules, docs/vector-search.md), as Convex's ``searchIndex`` /
``withSearchIndex`` and ``vectorIndex`` / ``ctx.vectorSearch``.

``SearchIndex`` and ``VectorIndex`` are declared in a model's ``Meta.indexes``; migrations name
them by these paths. ``ctx.vector_search(...)`` runs a search in an action (its own read-only
snapshot) or a query (reactive).
"""

from __future__ import annotations

from .text_index import SearchIndex
from .vector_index import VectorIndex
from .vector_spec import VectorSpec

__all__ = ["SearchIndex", "VectorIndex", "VectorSpec"]
