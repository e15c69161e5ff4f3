"""docs/reference/api.md is what tools/gen_api_reference.py writes from the docstrings of
`reactive.__all__` today: a docstring changed without `python3 dev.py docs` fails here."""

from __future__ import annotations

import reactive
from tools.gen_api_reference import TARGET, render


def test_committed_api_reference_is_up_to_date() -> None:
    assert TARGET.read_text() == render(), "docs/reference/api.md is stale: python3 dev.py docs"


def test_every_public_name_has_a_section() -> None:
    text = TARGET.read_text()
    missing = [name for name in reactive.__all__ if f"### `{name}`" not in text]
    assert missing == []
