"""scale: idle subscribed sockets held by one server process, and memory per socket.

For one server configuration (a `VARIANTS` entry: daphne, or uvicorn with one of its WebSocket
implementations and flags), a fresh process: a farm of 100 sockets warms it up (imports, the
listener, 100 subscriptions) and its resident set size is read; then a second farm opens
`sockets` more, each subscribed to one of the same 100 `bench:get` queries (so the growth is
the sockets', not the queries'), and the RSS is read again once all have their first result.
Memory per socket = growth ÷ sockets. The farm's client offers permessage-deflate, as browsers
and the official clients do, so a server that accepts it pays for compression contexts. To show
the sockets are live and not just open, every counter is then bumped once and every socket must
hold its counter's new value; the time from the first bump to the last delivery is the fan-out
time.

`memory_breakdown` runs the same with `bench.memprobe` tracing Python allocations in the
server: the traced growth per socket by source line and the asyncio tasks per socket; the rest
of the RSS growth is C memory (zlib contexts, interpreter arenas) tracemalloc cannot see.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from .servers import Farm, Server, start_server
from .sync import GET, bump, make_counters

#: name: (server kind, its command-line flags). The farm's client offers permessage-deflate.
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "daphne": ("daphne", []),
    # uvicorn's default WebSocket implementation (websockets' sans-I/O protocol), deflate on
    "uvicorn": ("uvicorn", []),
    "uvicorn_no_deflate": ("uvicorn", ["--ws-per-message-deflate", "false"]),
    "uvicorn_wsproto": ("uvicorn", ["--ws", "wsproto"]),
    "uvicorn_wsproto_no_deflate": (
        "uvicorn",
        ["--ws", "wsproto", "--ws-per-message-deflate", "false"],
    ),
}


def start_variant(
    db: str,
    port: int,
    variant: str,
    root: Path | None = None,
    env: dict[str, str] | None = None,
    app: str = "tests.asgi:application",
) -> Server:
    kind, args = VARIANTS[variant]
    return start_server(db, port, kind, env, root=root, args=args, app=app)


def scale(server: Server, sockets: int = 5000, queries: int = 100) -> dict[str, Any]:
    names = make_counters(server, "scale", queries)
    subs = [(GET, {"name": n}) for n in names]
    warm = Farm(server, queries, subs)
    time.sleep(1.0)
    rss0 = server.rss_kib()
    before = _probe(server)  # under bench.memprobe: the baseline snapshot
    t = time.perf_counter()
    farm = Farm(server, sockets, subs)
    connect_s = time.perf_counter() - t
    try:
        time.sleep(2.0)
        rss1 = server.rss_kib()
        after = _probe(server) if before is not None else None
        session = requests.Session()
        t = time.perf_counter()
        expected = {
            str(i): {json.dumps(float(bump(session, server, n))): sockets // queries}
            for i, n in enumerate(names)
        }
        deadline = time.perf_counter() + 60
        while True:
            report = farm.report()
            if report["latest"] == expected or time.perf_counter() > deadline:
                break
            time.sleep(0.05)
        fan_out_s = time.perf_counter() - t
        live = sum(
            n
            for i, counts in report["latest"].items()
            for value, n in counts.items()
            if value in expected[i]
        )
    finally:
        farm.close()
        warm.close()
    out: dict[str, Any] = {
        "sockets": sockets,
        "live_sockets": live,
        "errors": len(report["errors"]),
        "connect_per_s": sockets / connect_s,
        "rss_before_mib": rss0 / 1024,
        "rss_after_mib": rss1 / 1024,
        "kib_per_socket": (rss1 - rss0) / sockets,
        "fan_out_all_s": fan_out_s,
    }
    if before is not None and after is not None:
        out["tasks_per_socket"] = (after["tasks"] - before["tasks"]) / sockets
        out["traced_kib_per_socket"] = after["traced_growth_kib"] / sockets
        # the largest sources, by file then by line: "kib_per_socket <where>" (flat, so that
        # bench/run.py prints them as figures)
        for key, entries in (("file", after["by_file"]), ("line", after["top"])):
            for entry in entries[:12]:
                where = entry["where"].rsplit("site-packages/", 1)[-1].rsplit("/lib/python", 1)
                out[f"{key} {where[-1]}"] = entry["kib"] / sockets
    return out


def _probe(server: Server) -> dict[str, Any] | None:
    """`bench.memprobe`'s answer, or None if the server does not trace."""
    r = requests.get(server.url + "/bench/tracemalloc", timeout=120)
    if r.status_code != 200 or not r.headers.get("content-type", "").startswith("application/json"):
        return None
    body: dict[str, Any] = r.json()
    return body


def memory_breakdown(db: str, port: int, variant: str, sockets: int = 1000) -> dict[str, Any]:
    """`scale` under tracemalloc (slower, and the traces themselves cost memory: the RSS figure
    of this run is not the one to quote)."""
    server = start_variant(
        db, port, variant, env={"REACTIVE_BENCH_TRACEMALLOC": "1"}, app="bench.memprobe:application"
    )
    try:
        return scale(server, sockets)
    finally:
        server.stop()
