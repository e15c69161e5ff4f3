"""The change log's named SQL blocks (``-- name: x`` … in the .sql files here), loaded once.

`schema.sql` holds what reactive's migration 0001 installs (the log table and the
`reactive_capture_v1` function the triggers call); `changes.sql` the statements `changes.py`
runs to read the log back and prune it.
"""

from __future__ import annotations

import functools
import re
from importlib import resources


@functools.cache
def queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in resources.files(__name__.rpartition(".")[0]).iterdir():
        if entry.name.endswith(".sql"):
            for name, body in re.findall(
                r"^-- name: (\w+)\n(.*?)(?=^-- name: |\Z)", entry.read_text(), flags=re.S | re.M
            ):
                found[name] = body.strip()
    return found


def sql(name: str) -> str:
    return queries()[name]
