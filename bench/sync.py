"""Sync-engine benchmarks against a live server (see bench/run.py)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import requests

from tests.sync_client import RawSync


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _stats(base: str) -> dict[str, Any]:
    r = requests.post(base + "/api/query", json={"path": "testapp:listener_stats", "args": {}},
                      timeout=10)
    return r.json()["value"]


async def _drain(client: RawSync, stop: asyncio.Event, on_message: Any) -> None:
    while not stop.is_set():
        try:
            message = await client.recv(0.2)
        except TimeoutError:
            continue
        on_message(client, message, time.perf_counter())


async def sync_latency(base: str, sockets: int = 100, queries: int = 10,
                       mutations: int = 400, rate: float = 100.0) -> dict[str, Any]:
    """Commit→subscriber latency. Mutations are sent at a fixed rate without waiting; each
    subscriber's first sight of a new value is timed against that mutation's send and against
    the arrival of its MutationResponse (which the server sends right after the commit)."""
    ws = "ws" + base.removeprefix("http")
    names = [f"lat-{uuid.uuid4().hex[:8]}-{i}" for i in range(queries)]
    writer = await RawSync.connect(ws)
    for name in names:
        await writer.mutation("testapp:counter_inc", {"name": name})
    clients: list[tuple[RawSync, int]] = []
    for i in range(sockets):
        client = await RawSync.connect(ws)
        await client.subscribe("testapp:counter_value", {"name": names[i % queries]})
        clients.append((client, i % queries))
    owner = {id(c): q for c, q in clients}
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    request_of: dict[tuple[int, float], int] = {}  # (query, value) -> request id
    seen: dict[tuple[int, float], list[float]] = {}

    def on_message(client: RawSync, message: dict[str, Any], now: float) -> None:
        if client is writer:
            if message["type"] == "MutationResponse":
                answered.setdefault(message["requestId"], now)
            return
        if message["type"] == "Transition":
            key = (owner[id(client)], client.results.get(0))
            seen.setdefault(key, []).append(now)

    stop = asyncio.Event()
    drains = [asyncio.create_task(_drain(c, stop, on_message)) for c, _ in clients]
    drains.append(asyncio.create_task(_drain(writer, stop, on_message)))
    values = {q: 1.0 for q in range(queries)}
    started = time.perf_counter()
    for n in range(mutations):
        q = n % queries
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        values[q] += 1
        request_id = 1000 + n
        request_of[(q, values[q])] = request_id
        sent[request_id] = time.perf_counter()
        await writer.send({"type": "Mutation", "requestId": request_id,
                           "udfPath": "testapp:counter_inc", "args": [{"name": names[q]}]})
    sending = time.perf_counter() - started
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*drains)
    from_response, from_send = [], []
    for key, times in seen.items():
        rid = request_of.get(key)
        if rid is None or rid not in answered:
            continue
        for t in times:
            from_send.append((t - sent[rid]) * 1000)
            from_response.append(max(0.0, t - answered[rid]) * 1000)
    for c, _ in clients:
        await c.close()
    await writer.close()
    return {
        "sockets": sockets, "distinct_queries": queries, "mutations": mutations,
        "offered_mutations_per_s": mutations / sending,
        "answered_mutations": len(answered),
        "deliveries_measured": len(from_send),
        "commit_to_sub_p50_ms": statistics.median(from_response),
        "commit_to_sub_p99_ms": _pct(from_response, 99),
        "send_to_sub_p50_ms": statistics.median(from_send),
        "send_to_sub_p99_ms": _pct(from_send, 99),
    }


async def sync_dedup(base: str) -> dict[str, Any]:
    ws = "ws" + base.removeprefix("http")
    results: dict[str, Any] = {}
    for holders in (1, 100):
        name = f"dedup-{uuid.uuid4().hex[:8]}"
        writer = await RawSync.connect(ws)
        await writer.mutation("testapp:counter_inc", {"name": name})
        clients = [await RawSync.connect(ws) for _ in range(holders)]
        for c in clients:
            await c.subscribe("testapp:counter_value", {"name": name})
        await asyncio.sleep(0.5)
        before = _stats(base)["executions"]
        commits = 20
        for _ in range(commits):
            await writer.mutation("testapp:counter_inc", {"name": name})
            for c in clients:
                await c.until(lambda c=c: c.results.get(0) is not None)
        await asyncio.sleep(0.5)
        executions = _stats(base)["executions"] - before
        results[f"executions_per_commit_{holders}_sockets"] = executions / commits
        for c in clients:
            await c.close()
        await writer.close()
    return results
