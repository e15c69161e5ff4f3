"""Named SQL blocks (``-- name: x`` … in the .sql files here), loaded once."""

from __future__ import annotations

import functools
import re
from importlib import resources


@functools.cache
def queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".sql"):
            for name, body in re.findall(
                r"^-- name: (\w+)\n(.*?)(?=^-- name: |\Z)", entry.read_text(), flags=re.S | re.M
            ):
                found[name] = body.strip()
    return found


def sql(name: str) -> str:
    return queries()[name]
