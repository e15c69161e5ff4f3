"""docs/index.md is the map of the documentation: every page under docs/ is linked from it, so a
page added without a row there cannot go unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text()
    linked = {link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", index)}
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")} - {"index.md"}
    assert sorted(pages - linked) == []
