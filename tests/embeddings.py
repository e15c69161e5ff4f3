"""Real sentence embeddings for the tests, offline: WordLlama's bundled 256-dimensional model
(the `wordllama` wheel ships its weights and tokenizer; nothing is downloaded).

WordLlama looks for its files in a cache folder laid out as ``tokenizers/`` and ``weights/``,
which is exactly how its own package folder is laid out, so it is pointed there with downloads
disabled: a missing file is an error, never a download.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

DIMENSIONS = 256


@functools.cache
def model() -> Any:
    import wordllama  # heavy: loaded by the tests that embed only

    folder = Path(wordllama.__file__).parent
    return wordllama.WordLlama.load(dim=DIMENSIONS, cache_dir=folder, disable_download=True)


def embed(texts: list[str]) -> list[list[float]]:
    """Unit vectors, one per text."""
    return [[float(x) for x in row] for row in model().embed(texts, norm=True)]
