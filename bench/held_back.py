"""held_back: official-client mutations beside a long transaction elsewhere on the server.

The official JS `ConvexClient` (tests/interop/js/sync_client.mjs, check
`mutations_beside_a_long_transaction`) sends `count` mutations one after another, each with an
optimistic update, while a subscription watches the rows. Three phases in one run, one server:
nothing else open; a transaction holding a transaction id in another database of the same
Postgres server; a writing transaction on an unrelated table of the same database. Figures: the
round trip of `await client.mutation()` (p50, p99, max, ms) per phase, the ratio of each blocked
phase's p99 to the free one's, and whether any value showed a message twice (optimistic and
real). Timestamps held back by such transactions made every mutation wait for them to end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import ExitStack
from typing import Any

from .servers import ROOT, Server

JS_DIR = ROOT / "tests" / "interop" / "js"


def _run(server: Server, count: int) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("held_back needs node and tests/interop/js/node_modules")
    proc = subprocess.run(
        [node, "sync_client.mjs", server.url, "mutations_beside_a_long_transaction"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MUTATION_COUNT": str(count)},
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    check = result["checks"]["mutations_beside_a_long_transaction"]
    if not check["ok"]:
        return {"ok": False, "detail": check["detail"]}
    return {"ok": True, **json.loads(check["detail"])}


def held_back(server: Server, info: dict[str, Any], count: int = 100) -> dict[str, Any]:
    from tests.helpers import hold_transaction

    figures: dict[str, Any] = {}
    for phase in ("free", "another_database", "same_database"):
        with ExitStack() as stack:
            if phase != "free":
                hold_transaction(stack, info, phase)
            run = _run(server, count)
        if not run["ok"]:
            figures[f"{phase}_failed"] = run["detail"][:200]
            continue
        for key in ("p50", "p99", "max"):
            figures[f"{phase}_{key}_ms"] = run[key]
    for phase in ("another_database", "same_database"):
        if f"{phase}_p99_ms" in figures and figures.get("free_p99_ms"):
            figures[f"{phase}_p99_ratio"] = figures[f"{phase}_p99_ms"] / figures["free_p99_ms"]
    return figures
