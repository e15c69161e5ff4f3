"""Every relative link in README.md and docs/ reaches a file that exists, and every `#anchor` a
heading (GitHub's slug of it) or an `<a id>` of that page: a renamed heading or page cannot leave
a dead link behind. Links inside code (fenced blocks, backticks) are not links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
EXPLICIT = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def prose(text: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation other than `-` and
    `_` removed, each space a `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    found: set[str] = set(EXPLICIT.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links() -> list[str]:
    broken = []
    for page in PAGES:
        text = page.read_text()
        for match in LINK.finditer(prose(text)):
            target = match[1]
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # http:, https:, mailto: ...
            where = f"{page.relative_to(ROOT)}: ({target})"
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / unquote(file_part)).resolve() if file_part else page
            if not linked.exists():
                broken.append(f"{where}: no file {file_part}")
            elif anchor and linked.suffix == ".md" and unquote(anchor) not in anchors(linked):
                broken.append(f"{where}: no heading or <a id> #{anchor} in {file_part or 'it'}")
    return broken


def test_slugs_are_githubs() -> None:
    assert slug("3. The database") == "3-the-database"
    assert slug("What `manage.py check` refuses") == "what-managepy-check-refuses"
    assert slug("Scheduler and crons (`ctx.scheduler`)") == "scheduler-and-crons-ctxscheduler"
    assert slug("Auth: OIDC, JWKS & secrets") == "auth-oidc-jwks--secrets"


def test_every_relative_link_and_anchor_resolves() -> None:
    assert broken_links() == []
