"""A memory probe around the test ASGI application, for bench/scale.py's breakdown.

    uvicorn bench.memprobe:application      # or daphne

With ``REACTIVE_BENCH_TRACEMALLOC=1`` the server traces Python allocations from start-up;
``GET /bench/tracemalloc`` snapshots them: the first call keeps the snapshot as the baseline,
each later one answers (JSON) the total traced growth since the baseline and its largest
sources by line and by file, and the number of asyncio tasks alive. What tracemalloc cannot see (C
allocations, the interpreter's own arenas and what fragments them) is the rest of the process's
RSS growth. ``REACTIVE_BENCH_GC`` sets the cyclic garbage collector's thresholds ("700,10,10",
`gc.set_threshold`) or turns it off ("off"), to measure what collections cost a process holding
thousands of sockets. Everything else goes to the application unchanged.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import tracemalloc
from typing import Any

from tests.asgi import application as inner

TRACING = os.environ.get("REACTIVE_BENCH_TRACEMALLOC") == "1"
if TRACING:
    tracemalloc.start(1)
# REACTIVE_BENCH_GC="700,10,10": the collector's thresholds (gc.set_threshold), "off": disabled
if os.environ.get("REACTIVE_BENCH_GC") == "off":
    gc.disable()
elif os.environ.get("REACTIVE_BENCH_GC"):
    gc.set_threshold(*(int(x) for x in os.environ["REACTIVE_BENCH_GC"].split(",")))

_baseline: list[tracemalloc.Snapshot] = []


def _report(top: int = 25) -> dict[str, Any]:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    tasks = len(asyncio.all_tasks())
    if not _baseline:
        _baseline.append(snapshot)
        return {"baseline": True, "tasks": tasks}
    stats = snapshot.compare_to(_baseline[0], "lineno")
    files = snapshot.compare_to(_baseline[0], "filename")
    return {
        "tasks": tasks,
        "traced_growth_kib": sum(s.size_diff for s in stats) / 1024,
        "top": [
            {
                "where": f"{s.traceback[0].filename}:{s.traceback[0].lineno}",
                "kib": s.size_diff / 1024,
                "blocks": s.count_diff,
            }
            for s in stats[:top]
        ],
        "by_file": [
            {"where": s.traceback[0].filename, "kib": s.size_diff / 1024} for s in files[:top]
        ],
    }


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/bench/tracemalloc" and TRACING:
        body = json.dumps(_report()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await inner(scope, receive, send)
