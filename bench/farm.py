"""A farm of subscribed WebSocket clients in a process of its own (see bench/run.py).

    python -m bench.farm WS_URL SPEC_JSON      # or SPEC_JSON "-": read from the first input line

SPEC: {"sockets": N, "queries": [[path, args], ...], "record": bool, "per_socket": K}. Socket i
subscribes to query i % len(queries), or with K (default 1) to the K queries from i * K on
(modulo len(queries)), as query ids 0 to K - 1 of one ModifyQuerySet; its latest value is its
first query's. The farm connects in batches (the server's listen backlog is finite),
waits for every socket's first result, prints `ready` and then answers commands on stdin:

- `report`: one JSON line: messages received, every socket's latest value per query, and (with
  "record") each delivery as [query index, value, wall-clock time] for latency measurements;
- `close` (or end of input): close every socket and exit.

It runs apart from the benchmark's own process so that decoding thousands of deliveries a second
does not slow the load generator (both still share the machine with the server: see the note on
noise in bench/run.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

import websockets

from reactive.values import decode

BATCH = 200


class Socket:
    def __init__(self, index: int, queries: list[int]) -> None:
        self.index = index
        self.queries = queries  # query id j is the spec's query queries[j]
        self.query = queries[0]
        self.value: Any = None
        self.has_value = asyncio.Event()
        self.messages = 0
        self.ws: Any = None


class Farm:
    def __init__(self, url: str, spec: dict[str, Any]) -> None:
        self.url = url + "/api/1.48.0/sync"
        self.queries = spec["queries"]
        self.record = bool(spec.get("record"))
        k = int(spec.get("per_socket", 1))
        n = len(self.queries)
        self.sockets = [
            Socket(i, [(i * k + j) % n for j in range(k)] if k > 1 else [i % n])
            for i in range(spec["sockets"])
        ]
        self.deliveries: list[tuple[int, Any, float]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.errors: list[str] = []

    async def _open(self, sock: Socket) -> None:
        sock.ws = await websockets.connect(
            self.url, max_size=None, open_timeout=60, ping_interval=None
        )
        await sock.ws.send(
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
        await sock.ws.send(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 0,
                    "newVersion": 1,
                    "modifications": [
                        {
                            "type": "Add",
                            "queryId": j,
                            "udfPath": self.queries[q][0],
                            "args": [self.queries[q][1]],
                        }
                        for j, q in enumerate(sock.queries)
                    ],
                }
            )
        )
        self.tasks.append(asyncio.create_task(self._drain(sock)))

    async def _drain(self, sock: Socket) -> None:
        try:
            async for raw in sock.ws:
                now = time.time()
                sock.messages += 1
                message = json.loads(raw)
                if message["type"] != "Transition":
                    continue
                for mod in message["modifications"]:
                    if mod["type"] == "QueryUpdated":
                        value = decode(mod["value"])
                        if mod["queryId"] == 0:
                            sock.value = value
                        sock.has_value.set()
                        if self.record:
                            self.deliveries.append((sock.queries[mod["queryId"]], value, now))
                    elif mod["type"] == "QueryFailed":
                        self.errors.append(mod["errorMessage"])
        except websockets.ConnectionClosed as exc:
            if not self.closing:
                self.errors.append(f"socket {sock.index} closed: {exc}")

    closing = False

    async def open_all(self) -> None:
        for start in range(0, len(self.sockets), BATCH):
            await asyncio.gather(*(self._open(s) for s in self.sockets[start : start + BATCH]))
        await asyncio.wait_for(
            asyncio.gather(*(s.has_value.wait() for s in self.sockets)), timeout=120
        )

    def report(self) -> dict[str, Any]:
        latest: dict[int, Counter[str]] = {}
        for s in self.sockets:
            latest.setdefault(s.query, Counter())[json.dumps(s.value)] += 1
        return {
            "messages": sum(s.messages for s in self.sockets),
            "errors": self.errors[:10],
            "latest": {str(q): dict(c) for q, c in latest.items()},
            "deliveries": self.deliveries,
        }

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(
            *(s.ws.close() for s in self.sockets if s.ws is not None), return_exceptions=True
        )
        for task in self.tasks:
            task.cancel()


async def main() -> None:
    url = sys.argv[1]
    # "-": the spec is the first line of input (thousands of queries overflow an argument)
    spec = json.loads(sys.stdin.readline() if sys.argv[2] == "-" else sys.argv[2])
    farm = Farm(url, spec)
    await farm.open_all()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command = line.strip()
        if command == "report":
            print(json.dumps(farm.report()), flush=True)
            farm.deliveries = []
        else:
            break
    await farm.close()


if __name__ == "__main__":
    asyncio.run(main())
