"""Benchmarks: `python3 dev.py bench` (or `python -m bench.run`). Prints a table, writes JSON.

Every figure is measured side by side in one run, interleaving the compared variants request by
request, because these machines are shared and noisy: ratios are more trustworthy than absolutes.

Benchmarks so far:
- http_overhead: a trivial query over Convex's HTTP API (`POST /api/query`) vs a plain Django view
  doing the same ORM read, both served by the same daphne process, sequential keep-alive requests.
- sync_latency: 100 sockets over 10 distinct queries; mutations at a steady rate from another
  socket; latency from the mutation's response (just after its commit) to each subscriber's
  Transition carrying the new value; p50 and p99 over every delivery.
- sync_dedup: executions per commit of one query held by 1 and 100 sockets.
- contention: 50 concurrent clients incrementing one counter over HTTP, serializable and
  select_for_update: lost updates, failed calls, concurrent ÷ serial throughput.
- scheduler_latency: commit of a mutation calling run_after(0) → the scheduled mutation
  starting in a `manage.py reactive worker` process (p50, p99, max).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DB_NAME = "reactive_bench"


def setup_database() -> str:
    """Create (or reuse) the benchmark database and migrate it; returns the DATABASE_URL."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{DB_NAME}"')
    connection.close()
    settings.DATABASES["default"]["NAME"] = DB_NAME
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.testapp.models import Channel, Message

    if not Message.objects.exists():
        channel = Channel.objects.create(name="bench")
        Message.objects.bulk_create(
            Message(channel=channel, author=f"user{i % 7}", body=f"message {i}", score=i)
            for i in range(200)
        )
    return DB_NAME


def start_server(db_name: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings",
               REACTIVE_LIVE_DB_NAME=db_name)
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "--websocket-max-message-size", str(17 * 1024 * 1024),
                             "tests.asgi:application"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/test/plain_latest", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def http_overhead(base: str, n: int = 1000) -> dict[str, float]:
    session = requests.Session()
    query_body = {"path": "testapp/messages:latest", "args": [{}],
                  "format": "convex_encoded_json"}
    reactive_ms: list[float] = []
    plain_ms: list[float] = []
    for _ in range(50):  # warm-up
        session.post(base + "/api/query", json=query_body).raise_for_status()
        session.get(base + "/test/plain_latest").raise_for_status()
    for _ in range(n):
        t = time.perf_counter()
        r = session.post(base + "/api/query", json=query_body)
        reactive_ms.append((time.perf_counter() - t) * 1000)
        assert r.json()["status"] == "success"
        t = time.perf_counter()
        r = session.get(base + "/test/plain_latest")
        plain_ms.append((time.perf_counter() - t) * 1000)
        assert len(r.json()["value"]) == 10
    return {
        "requests_each": n,
        "reactive_p50_ms": statistics.median(reactive_ms),
        "reactive_p99_ms": pct(reactive_ms, 99),
        "plain_p50_ms": statistics.median(plain_ms),
        "plain_p99_ms": pct(plain_ms, 99),
        "ratio_p50": statistics.median(reactive_ms) / statistics.median(plain_ms),
    }


def main() -> None:
    import asyncio

    from bench.contention import contention
    from bench.scheduler import scheduler_latency
    from bench.sync import sync_dedup, sync_latency

    db = setup_database()
    port = 8799
    proc = start_server(db, port)
    try:
        base = f"http://127.0.0.1:{port}"
        results = {"http_overhead": http_overhead(base)}
        results["sync_latency"] = asyncio.run(sync_latency(base))
        results["sync_dedup"] = asyncio.run(sync_dedup(base))
        results["contention"] = contention(base)
        results["scheduler_latency"] = scheduler_latency(db)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{'benchmark':<16} {'figure':<28} {'value':>10}")
    for bench, figures in results.items():
        for key, value in figures.items():
            print(f"{bench:<16} {key:<28} {value:>10.3f}" if isinstance(value, float)
                  else f"{bench:<16} {key:<28} {value:>10}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
