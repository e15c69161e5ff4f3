"""What a mutation costs over plain Django, on one server process (the executor path).

- mutation_overhead: ``POST /api/mutation`` of `testapp/bench:bump` (read a counter through its
  `by_name` index, patch ``value + 1``: a SERIALIZABLE transaction with retry, rules and triggers
  wrappers installed, write set, change capture) vs a plain Django view doing the same ORM write
  (`tests/testapp/urls.py: plain_bump`: select the counter row by name, save value + 1 in
  ``transaction.atomic()``), sequential keep-alive requests. The plain view runs at the
  database's default isolation, READ COMMITTED, which is what a plain Django view gets; the same
  view in a SERIALIZABLE transaction (no retry loop) is measured too, as ``plain_ser``: the ratio
  against it is the cost of reactive alone, without the isolation it chose.

  The three are interleaved in blocks of `BLOCK` requests, round after round, so that each sees
  the same machine; the server's CPU time is read around each block. Reported: p50/p99 of each,
  ``ratio_p50`` (ours ÷ plain), ``ratio_p50_serializable`` (ours ÷ plain_ser), and server CPU
  ms per request of each with their ratio (``cpu_ratio``).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from .servers import Server, pct

BUMP = "testapp/bench:bump"
#: Requests of one variant in a row; the server's CPU time is read around each block.
BLOCK = 50


def _ours(session: requests.Session, server: Server, name: str) -> Callable[[], None]:
    body = {"path": BUMP, "args": {"name": name}, "format": "json"}

    def call() -> None:
        r = session.post(server.url + "/api/mutation", json=body)
        assert r.json()["status"] == "success", r.text

    return call


def _plain(
    session: requests.Session, server: Server, name: str, serializable: bool
) -> Callable[[], None]:
    url = server.url + "/test/plain_bump" + ("?isolation=serializable" if serializable else "")

    def call() -> None:
        r = session.post(url, json={"name": name})
        assert r.status_code == 200 and isinstance(r.json()["value"], int), r.text

    return call


def mutation_overhead(server: Server, n: int = 1000) -> dict[str, Any]:
    session = requests.Session()
    name = f"mo-{uuid.uuid4().hex[:8]}"
    calls = {
        "mutation": _ours(session, server, name),
        "plain": _plain(session, server, name, serializable=False),
        "plain_ser": _plain(session, server, name, serializable=True),
    }
    calls["mutation"]()  # creates the counter the three update
    for call in calls.values():  # warm-up
        for _ in range(50):
            call()
    times: dict[str, list[float]] = {k: [] for k in calls}
    cpu: dict[str, float] = dict.fromkeys(calls, 0.0)
    for _ in range(max(1, n // BLOCK)):
        for key, call in calls.items():
            before = server.cpu_seconds()
            for _ in range(BLOCK):
                t = time.perf_counter()
                call()
                times[key].append((time.perf_counter() - t) * 1000)
            cpu[key] += server.cpu_seconds() - before
    figures: dict[str, Any] = {"requests_each": len(times["mutation"])}
    for key, values in times.items():
        figures[f"{key}_p50_ms"] = statistics.median(values)
        figures[f"{key}_p99_ms"] = pct(values, 99)
        figures[f"{key}_cpu_ms"] = cpu[key] * 1000 / len(values)
    figures["ratio_p50"] = figures["mutation_p50_ms"] / figures["plain_p50_ms"]
    figures["ratio_p50_serializable"] = figures["mutation_p50_ms"] / figures["plain_ser_p50_ms"]
    figures["cpu_ratio"] = figures["mutation_cpu_ms"] / figures["plain_cpu_ms"]
    return figures
