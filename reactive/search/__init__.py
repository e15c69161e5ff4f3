"""Search over tables: full-text search indexes and queries (``text_*`` modules).

``SearchIndex`` is declared in a model's ``Meta.indexes``; migrations name it by this path.
"""

from __future__ import annotations

from .text_index import SearchIndex

__all__ = ["SearchIndex"]
