"""What the protocol layers cost over plain Django, on one server process.

- http: a query over Convex's HTTP API (`POST /api/query`, `testapp/messages:latest`: the 10
  newest messages) vs a plain Django view doing the same ORM read, sequential keep-alive
  requests interleaved one by one.
- websocket: the same query over an open sync socket (ModifyQuerySet Add → the Transition with
  its result, then Remove, so that every Add runs it afresh) vs the same plain view.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import requests
import websockets

from .servers import Server, pct

QUERY = "testapp/messages:latest"


def _plain(session: requests.Session, server: Server) -> float:
    t = time.perf_counter()
    r = session.get(server.url + "/test/plain_latest")
    elapsed = (time.perf_counter() - t) * 1000
    assert len(r.json()["value"]) == 10
    return elapsed


def _figures(name: str, ours: list[float], plain: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": statistics.median(ours),
        f"{name}_p99_ms": pct(ours, 99),
        "plain_p50_ms": statistics.median(plain),
        "plain_p99_ms": pct(plain, 99),
        "ratio_p50": statistics.median(ours) / statistics.median(plain),
    }


def http_overhead(server: Server, n: int = 1000) -> dict[str, Any]:
    session = requests.Session()
    body = {"path": QUERY, "args": [{}], "format": "convex_encoded_json"}
    ours: list[float] = []
    plain: list[float] = []
    for i in range(n + 50):
        t = time.perf_counter()
        r = session.post(server.url + "/api/query", json=body)
        elapsed = (time.perf_counter() - t) * 1000
        assert r.json()["status"] == "success"
        p = _plain(session, server)
        if i >= 50:  # after warm-up
            ours.append(elapsed)
            plain.append(p)
    return {"requests_each": n, **_figures("http", ours, plain)}


async def _ws_overhead(server: Server, n: int) -> tuple[list[float], list[float]]:
    session = requests.Session()
    ws = await websockets.connect(server.ws + "/api/1.48.0/sync", max_size=None)
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
    version = 0
    ours: list[float] = []
    plain: list[float] = []

    async def modify(mod: dict[str, Any]) -> dict[str, Any]:
        nonlocal version
        await ws.send(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": version,
                    "newVersion": version + 1,
                    "modifications": [mod],
                }
            )
        )
        version += 1
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "Transition" and message["endVersion"]["querySet"] == version:
                return message

    for i in range(n + 50):
        t = time.perf_counter()
        message = await modify({"type": "Add", "queryId": i, "udfPath": QUERY, "args": [{}]})
        elapsed = (time.perf_counter() - t) * 1000
        assert message["modifications"][0]["type"] == "QueryUpdated", message
        await modify({"type": "Remove", "queryId": i})
        p = _plain(session, server)  # blocking the loop is fine: nothing else runs on it
        if i >= 50:
            ours.append(elapsed)
            plain.append(p)
    await ws.close()
    return ours, plain


def ws_overhead(server: Server, n: int = 1000) -> dict[str, Any]:
    ours, plain = asyncio.run(_ws_overhead(server, n))
    return {"queries_each": n, **_figures("ws", ours, plain)}
