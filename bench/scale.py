"""scale: idle subscribed sockets held by one server process, and memory per socket.

For each server (daphne, uvicorn), a fresh process: a farm of 100 sockets warms it up (imports,
the listener, 100 subscriptions) and its resident set size is read; then a second farm opens
`sockets` more, each subscribed to one of the same 100 `bench:get` queries (so the growth is the
sockets', not the queries'), and the RSS is read again once all have their first result. Memory
per socket = growth ÷ sockets. To show they are live and not just open, every counter is then
bumped once and every socket must hold its counter's new value; the time from the first bump to
the last delivery is the fan-out time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from .servers import Farm, Server
from .sync import GET, bump, make_counters


def scale(server: Server, sockets: int = 5000, queries: int = 100) -> dict[str, Any]:
    names = make_counters(server, "scale", queries)
    subs = [(GET, {"name": n}) for n in names]
    warm = Farm(server, queries, subs)
    time.sleep(1.0)
    rss0 = server.rss_kib()
    t = time.perf_counter()
    farm = Farm(server, sockets, subs)
    connect_s = time.perf_counter() - t
    try:
        time.sleep(2.0)
        rss1 = server.rss_kib()
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
    return {
        "sockets": sockets,
        "live_sockets": live,
        "errors": len(report["errors"]),
        "connect_per_s": sockets / connect_s,
        "rss_before_mib": rss0 / 1024,
        "rss_after_mib": rss1 / 1024,
        "kib_per_socket": (rss1 - rss0) / sockets,
        "fan_out_all_s": fan_out_s,
    }
