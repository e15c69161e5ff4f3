"""contention: 50 concurrent clients incrementing one counter, in both isolation modes.

For each mode, over HTTP against the live server: the counter's increments done serially by one
client (keep-alive), then by 50 concurrent clients (threads, one session each). Reported:
lost updates (increments acknowledged as successful minus the counter's actual growth; target
0), failed calls (target 0), and concurrent ÷ serial throughput (target ≥ 0.5).
Modes: `testapp:counter_inc` (SERIALIZABLE, retried on conflicts) and
`testapp:counter_inc_locked` (`isolation="select_for_update"`: row locks, READ COMMITTED).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests

MODES = {"serializable": "testapp:counter_inc", "select_for_update": "testapp:counter_inc_locked"}


ERRORS: list[str] = []


def _call(session: requests.Session, base: str, path: str, name: str) -> bool:
    r = session.post(base + "/api/mutation", json={"path": path, "args": {"name": name},
                                                   "format": "json"}, timeout=60)
    ok = r.status_code == 200 and r.json().get("status") == "success"
    if not ok:
        ERRORS.append(r.text[:300])
    return ok


def _value(session: requests.Session, base: str, name: str) -> int:
    r = session.post(base + "/api/query", json={"path": "testapp/scheduling:count",
                                                "args": {"name": name}, "format": "json"},
                     timeout=30)
    return int(r.json()["value"])


def _concurrent(base: str, path: str, name: str, clients: int, per_client: int
                ) -> tuple[int, int, float]:
    """(acknowledged, failed, calls per second) for `clients` threads of `per_client` calls."""
    acknowledged = [0] * clients
    failed = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        s = requests.Session()
        barrier.wait()
        for _ in range(per_client):
            if _call(s, base, path, name):
                acknowledged[i] += 1
            else:
                failed[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    barrier.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    return sum(acknowledged), sum(failed), clients * per_client / (time.perf_counter() - t)


def contention(base: str, clients: int = 50, per_client: int = 20, serial: int = 300
               ) -> dict[str, Any]:
    results: dict[str, Any] = {"clients": clients, "increments_concurrent": clients * per_client}
    session = requests.Session()
    for mode, path in MODES.items():
        name = f"contention-{mode}-{uuid.uuid4().hex[:6]}"
        assert _call(session, base, "testapp:counter_inc", name)  # create the row
        for _ in range(20):  # warm-up
            _call(session, base, path, name)
        start_value = _value(session, base, name)
        t = time.perf_counter()
        ok_serial = sum(_call(session, base, path, name) for _ in range(serial))
        serial_rate = serial / (time.perf_counter() - t)
        acknowledged, failed, concurrent_rate = _concurrent(base, path, name, clients,
                                                            per_client)
        grown = _value(session, base, name) - start_value
        results[f"{mode}_serial_per_s"] = serial_rate
        results[f"{mode}_concurrent_per_s"] = concurrent_rate
        results[f"{mode}_ratio"] = concurrent_rate / serial_rate
        results[f"{mode}_failed_calls"] = failed + (serial - ok_serial)
        results[f"{mode}_lost_updates"] = (ok_serial + acknowledged) - grown
    if ERRORS:
        results["first_error"] = ERRORS[0]
    return results
