"""contention: many concurrent clients incrementing one counter, in both isolation modes.

For each mode, over HTTP against the live server: the counter's increments done serially by one
client (keep-alive), then by 50 concurrent clients (threads, one session each). Reported:
lost updates (increments acknowledged as successful minus the counter's actual growth; target
0), failed calls (target 0), concurrent ÷ serial throughput (target ≥ 0.5), and the concurrent
calls' latency (p50, p99).
Modes: `testapp:counter_inc` (SERIALIZABLE, retried on conflicts) and
`testapp:counter_inc_locked` (`isolation="select_for_update"`: row locks, READ COMMITTED).

Repeated runs, the check that no caller fails under contention, in one command (it starts its
own server on the benchmark database):

    python -m bench.contention --runs 10 --clients 50 --increments 100
    python -m bench.contention --runs 5 --compare ../other-checkout   # before/after, run by run
    python -m bench.contention --runs 2 --serial 300    # and each mode's uncontended cost first
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

MODES = {"serializable": "testapp:counter_inc", "select_for_update": "testapp:counter_inc_locked"}


ERRORS: list[str] = []


def _call(session: requests.Session, base: str, path: str, name: str) -> bool:
    r = session.post(
        base + "/api/mutation",
        json={"path": path, "args": {"name": name}, "format": "json"},
        timeout=60,
    )
    ok = r.status_code == 200 and r.json().get("status") == "success"
    if not ok:
        ERRORS.append(r.text[:300])
    return ok


def _value(session: requests.Session, base: str, name: str) -> int:
    r = session.post(
        base + "/api/query",
        json={"path": "testapp/scheduling:count", "args": {"name": name}, "format": "json"},
        timeout=30,
    )
    return int(r.json()["value"])


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _concurrent(base: str, path: str, name: str, clients: int, per_client: int) -> dict[str, Any]:
    """Acknowledged and failed calls, calls per second and latency of `clients` threads."""
    acknowledged = [0] * clients
    failed = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        s = requests.Session()
        barrier.wait()
        for _ in range(per_client):
            t = time.perf_counter()
            ok = _call(s, base, path, name)
            latencies[i].append(time.perf_counter() - t)
            if ok:
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
    elapsed = time.perf_counter() - t
    every = sorted(x for per in latencies for x in per)
    return {
        "acknowledged": sum(acknowledged),
        "failed": sum(failed),
        "per_s": clients * per_client / elapsed,
        "p50_ms": 1000 * _quantile(every, 0.5),
        "p99_ms": 1000 * _quantile(every, 0.99),
    }


def _fresh_counter(session: requests.Session, base: str, mode: str, path: str) -> str:
    name = f"contention-{mode}-{uuid.uuid4().hex[:6]}"
    assert _call(session, base, "testapp:counter_inc", name)  # create the row
    for _ in range(20):  # warm-up
        _call(session, base, path, name)
    return name


def contention(
    base: str, clients: int = 50, per_client: int = 20, serial: int = 300
) -> dict[str, Any]:
    results: dict[str, Any] = {"clients": clients, "increments_concurrent": clients * per_client}
    session = requests.Session()
    for mode, path in MODES.items():
        name = _fresh_counter(session, base, mode, path)
        start_value = _value(session, base, name)
        t = time.perf_counter()
        ok_serial = sum(_call(session, base, path, name) for _ in range(serial))
        serial_rate = serial / (time.perf_counter() - t)
        run = _concurrent(base, path, name, clients, per_client)
        grown = _value(session, base, name) - start_value
        results[f"{mode}_serial_per_s"] = serial_rate
        results[f"{mode}_concurrent_per_s"] = run["per_s"]
        results[f"{mode}_ratio"] = run["per_s"] / serial_rate
        results[f"{mode}_p50_ms"] = run["p50_ms"]
        results[f"{mode}_p99_ms"] = run["p99_ms"]
        results[f"{mode}_failed_calls"] = run["failed"] + (serial - ok_serial)
        results[f"{mode}_lost_updates"] = (ok_serial + run["acknowledged"]) - grown
    if ERRORS:
        results["first_error"] = ERRORS[0]
    return results


def _serial(base: str, mode: str, calls: int) -> dict[str, Any]:
    """One keep-alive client's calls/s and latency: the uncontended cost of a mode."""
    session = requests.Session()
    name = _fresh_counter(session, base, mode, MODES[mode])
    latencies = []
    for _ in range(calls):
        t = time.perf_counter()
        _call(session, base, MODES[mode], name)
        latencies.append(time.perf_counter() - t)
    every = sorted(latencies)
    return {
        "per_s": calls / sum(latencies),
        "p50_ms": 1000 * _quantile(every, 0.5),
        "p99_ms": 1000 * _quantile(every, 0.99),
    }


def repeated(
    bases: dict[str, str],
    runs: int,
    clients: int,
    per_client: int,
    modes: list[str],
    serial: int = 0,
) -> dict[str, Any]:
    """`runs` concurrent runs per mode and server (`bases`: label → URL), interleaved run by
    run because the machine is noisy; first `serial` uncontended calls per mode and server."""
    per_mode: dict[str, list[dict[str, Any]]] = {}
    serial_figures: dict[str, Any] = {}
    for mode in modes if serial else []:
        for label, base in bases.items():
            key = mode if len(bases) == 1 else f"{mode}.{label}"
            serial_figures[key] = figures = _serial(base, mode, serial)
            print(
                f"serial {key:<26} {figures['per_s']:7.1f} calls/s  "
                f"p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:7.1f} ms",
                file=sys.stderr,
                flush=True,
            )
    for i in range(runs):
        for mode in modes:
            for label, base in bases.items():
                session = requests.Session()
                path = MODES[mode]
                name = _fresh_counter(session, base, mode, path)
                start_value = _value(session, base, name)
                run = _concurrent(base, path, name, clients, per_client)
                run["lost"] = run["acknowledged"] - (_value(session, base, name) - start_value)
                key = mode if len(bases) == 1 else f"{mode}.{label}"
                per_mode.setdefault(key, []).append(run)
                print(
                    f"run {i + 1} {key:<26} failed {run['failed']:>3}  lost {run['lost']}  "
                    f"{run['per_s']:7.1f} calls/s  p50 {run['p50_ms']:6.1f} ms  "
                    f"p99 {run['p99_ms']:7.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    summary: dict[str, Any] = {"runs": runs, "clients": clients, "increments": per_client}
    for mode, results in per_mode.items():
        summary[mode] = {
            "failed_calls": sum(r["failed"] for r in results),
            "runs_with_failures": sum(1 for r in results if r["failed"]),
            "lost_updates": sum(r["lost"] for r in results),
            "per_s_median": statistics.median(r["per_s"] for r in results),
            "p50_ms_median": statistics.median(r["p50_ms"] for r in results),
            "p99_ms_median": statistics.median(r["p99_ms"] for r in results),
        }
    if serial_figures:
        summary["serial"] = serial_figures
    if ERRORS:
        summary["first_error"] = ERRORS[0]
    return summary


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.contention")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--increments", type=int, default=100, help="per client and run")
    parser.add_argument(
        "--mode",
        choices=sorted(MODES),
        action="append",
        help="only this isolation mode (repeatable; default both)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="run the server from this checkout (a before/after comparison)",
    )
    parser.add_argument(
        "--serial",
        type=int,
        default=0,
        help="first, this many uncontended calls per mode (one client)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="also run a server from this checkout, run by run with this one",
    )
    parser.add_argument("--port", type=int, default=8797)
    args = parser.parse_args(argv)
    from . import servers

    db = servers.setup_database(servers.DB_NAME + "_contention")  # its own: runs are long
    started = [("this", servers.start_server(db, args.port, root=args.root))]
    try:
        if args.compare is not None:
            started.append(("other", servers.start_server(db, args.port + 1, root=args.compare)))
        summary = repeated(
            {label: s.url for label, s in started},
            args.runs,
            args.clients,
            args.increments,
            args.mode or list(MODES),
            args.serial,
        )
    finally:
        for _, server in started:
            server.stop()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
