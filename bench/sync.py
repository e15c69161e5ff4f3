"""Sync-engine benchmarks against a live server (see bench/run.py).

- sync_latency: 1,000 sockets (a `bench.farm` process) over 100 distinct `testapp/bench:get`
  queries, 10 sockets each; another socket sends `testapp/bench:bump` mutations at a steady rate
  without waiting. Latency is measured from the arrival of a mutation's MutationResponse (the
  server sends it right after the commit) to each subscriber's receipt of the Transition that
  carries the new value; p50 and p99 over every delivery. Both clocks are this machine's wall
  clock (the farm is another process). `answered_mutations_per_s` is the rate the server
  answered at: below the offered rate, mutations queued before they committed, which the
  latency (counted from each answer) does not show.
- sync_precision: re-runs per write ÷ subscriptions whose read ranges the write touched. 100
  sockets each hold one `bench:get(name)` (an index range of one key); writes go one at a time,
  half to subscribed names (touching exactly one subscription) and half to names nobody holds
  (touching none). The baseline holds `bench:get_scan(name)` instead, the same answer read by
  scanning the whole table: its read set is the table, so every write re-runs every
  subscription, which is what table-level invalidation (signal-based Django tools) does to any
  query.
- sync_dedup: executions per commit of one query held by 1, 100 and 1,000 sockets.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from typing import Any

import requests
import websockets

from reactive.values import decode

from .servers import Farm, Server, pct

GET = "testapp/bench:get"
BUMP = "testapp/bench:bump"
GET_SCAN = "testapp/bench:get_scan"


def bump(session: requests.Session, server: Server, name: str) -> int:
    r = session.post(
        server.url + "/api/mutation",
        json={"path": BUMP, "args": {"name": name}, "format": "json"},
        timeout=60,
    )
    body = r.json()
    assert body["status"] == "success", body
    return int(body["value"])


def make_counters(server: Server, prefix: str, n: int) -> list[str]:
    session = requests.Session()
    names = [f"{prefix}-{uuid.uuid4().hex[:8]}-{i}" for i in range(n)]
    for name in names:
        bump(session, server, name)
    return names


async def _send_mutations(
    server: Server, names: list[str], count: int, rate: float, writers: int = 10
) -> tuple[dict[tuple[int, int], float], float]:
    """Send `count` bumps round-robin over `names` at `rate`/s, spread over `writers` sockets
    (one socket runs its mutations one at a time, as Convex's do); returns {(query index, new
    value): wall time its MutationResponse arrived} and the offered rate."""
    sockets = [
        await websockets.connect(server.ws + "/api/1.48.0/sync", max_size=None)
        for _ in range(writers)
    ]
    for ws in sockets:
        await ws.send(
            json.dumps(
                {
                    "type": "Connect",
                    "sessionId": str(uuid.uuid4()),
                    "connectionCount": 0,
                    "lastCloseReason": "InitialConnect",
                    "clientTs": 0,
                }
            )
        )
    which: dict[int, int] = {}
    answered: dict[tuple[int, int], float] = {}
    failed: list[str] = []
    done = asyncio.Event()

    async def receive(ws: Any) -> None:
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message["type"] == "MutationResponse":
                if message["success"]:
                    value = int(decode(message["result"]))
                    answered[(which[message["requestId"]], value)] = now
                else:
                    failed.append(str(message["result"])[:200])
                if len(answered) + len(failed) == count:
                    done.set()

    receivers = [asyncio.create_task(receive(ws)) for ws in sockets]
    started = time.perf_counter()
    for n in range(count):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        q = n % len(names)
        which[n] = q
        await sockets[n % writers].send(
            json.dumps(
                {"type": "Mutation", "requestId": n, "udfPath": BUMP, "args": [{"name": names[q]}]}
            )
        )
    offered = count / (time.perf_counter() - started)
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        for task in receivers:
            task.cancel()
        for ws in sockets:
            await ws.close()
    if failed:
        print(f"  {len(failed)} mutations failed, first: {failed[0]}", file=sys.stderr)
    return answered, offered


def sync_latency(
    server: Server,
    sockets: int = 1000,
    queries: int = 100,
    mutations: int = 2000,
    rate: float = 200.0,
) -> dict[str, Any]:
    names = make_counters(server, "lat", queries)
    farm = Farm(server, sockets, [(GET, {"name": n}) for n in names], record=True)
    try:
        farm.report()  # drop the initial deliveries
        cpu0, t0, wall0 = server.cpu_seconds(), time.perf_counter(), time.time()
        answered, offered = asyncio.run(_send_mutations(server, names, mutations, rate))
        cpu_used = server.cpu_seconds() - cpu0
        cpu = cpu_used / (time.perf_counter() - t0)
        time.sleep(1.0)
        report = farm.report()
    finally:
        farm.close()
    latencies = []
    for q, value, at in report["deliveries"]:
        sent = answered.get((q, int(value)))
        if sent is not None:
            latencies.append((at - sent) * 1000)
    expected = mutations * sockets // queries
    return {
        "sockets": sockets,
        "distinct_queries": queries,
        "mutations": mutations,
        "offered_mutations_per_s": offered,
        "answered_mutations": len(answered),
        # what the server kept up with: a server whose executor falls behind answers late, and
        # the latency below (from each answer) hides that; read the two together
        "answered_mutations_per_s": len(answered) / (max(answered.values()) - wall0),
        "deliveries": len(latencies),
        "deliveries_expected": expected,
        "commit_to_sub_p50_ms": statistics.median(latencies),
        "commit_to_sub_p99_ms": pct(latencies, 99),
        "commit_to_sub_max_ms": max(latencies),
        "server_cpu_share": cpu,
        # the server's CPU per mutation: the mutation, its re-run and its deliveries
        "server_cpu_ms_per_mutation": cpu_used * 1000 / mutations,
        "errors": len(report["errors"]),
    }


def _writes_and_reruns(
    server: Server, subscribed: list[str], unsubscribed: list[str], writes: int
) -> tuple[int, int]:
    """(subscriptions touched, re-runs) over `writes` sequential writes."""
    session = requests.Session()
    rng = random.Random(7)
    before = server.settle()["executions"]
    touched = 0
    for i in range(writes):
        if i % 2 == 0:
            bump(session, server, rng.choice(subscribed))
            touched += 1  # exactly the one subscription of that name reads its key
        else:
            bump(session, server, rng.choice(unsubscribed))
        server.settle()  # one write per tick: re-runs are not shared between writes
    return touched, server.settle()["executions"] - before


def sync_precision(server: Server, queries: int = 100, writes: int = 40) -> dict[str, Any]:
    names = make_counters(server, "prec", queries)
    others = make_counters(server, "prec-none", 20)
    results: dict[str, Any] = {"subscriptions": queries, "writes": writes}
    for label, path in (("index_range", GET), ("table_level_baseline", GET_SCAN)):
        farm = Farm(server, queries, [(path, {"name": n}) for n in names])
        try:
            touched, reruns = _writes_and_reruns(server, names, others, writes)
        finally:
            farm.close()
        results[f"{label}_reruns_per_write"] = reruns / writes
        results[f"{label}_precision"] = reruns / touched
    results["touched_per_write"] = (writes + 1) // 2 / writes
    return results


def sync_dedup(
    server: Server, holders: tuple[int, ...] = (1, 100, 1000), commits: int = 20
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    session = requests.Session()
    for n in holders:
        [name] = make_counters(server, "dedup", 1)
        farm = Farm(server, n, [(GET, {"name": name})])
        try:
            before = server.settle()["executions"]
            for _ in range(commits):
                value = bump(session, server, name)
                time.sleep(0.05)
            executions = server.settle()["executions"] - before
            latest = farm.report()["latest"]["0"]
        finally:
            farm.close()
        assert latest == {json.dumps(float(value)): n}, latest  # every holder got the last value
        results[f"executions_per_commit_{n}_sockets"] = executions / commits
    return results
