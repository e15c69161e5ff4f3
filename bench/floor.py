"""The delivery floor: what forwarding a write to its subscribers costs with nothing else to do.

    python -m bench.floor serve PORT CONNINFO_JSON   # the floor server (started by sync_floor)

sync_floor measures, on one workload and in one run, a bare forwarding server and reactive:

- the floor: an asyncio `websockets` server, no framework. A trigger (installed for its turn
  only) NOTIFYs ``bench_floor`` with each updated counter's name and value; the server LISTENs
  and broadcasts a Transition carrying the value to the sockets that subscribed to that name.
  No snapshot, no re-run, no comparison: the least any server can do per write;
- reactive under daphne and under uvicorn (optionally also from another checkout, `root`): the
  change-log trigger's NOTIFY wakes the listener, which re-runs the touched subscription in a
  snapshot and sends each holder a Transition.

The workload is the same for each: 1,000 sockets (a `bench.farm` process) over 100 distinct
`testapp/bench:get` queries, 10 sockets each; writes are raw SQL ``UPDATE testapp_counter SET
value = value + 1 WHERE name = ...`` committed by psycopg in this (the benchmark's) process, round
robin over the names, at 10, 100 and 200 writes/s. Latency runs from the moment COMMIT returned
to the writer to each subscriber's receipt of the new value (p50, p99 over every delivery; both
clocks are this machine's). CPU per write is the server process's CPU time over the writes and
their deliveries ÷ writes; ``<label>_cpu_ratio_<rate>`` is that of a reactive server ÷ the
floor's at the same rate.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg

from .scale import start_variant
from .servers import ROOT, Farm, Server, pct

GET = "testapp/bench:get"
CHANNEL = "bench_floor"

INSTALL = f"""
CREATE OR REPLACE FUNCTION bench_floor_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.name || ':' || NEW.value);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS bench_floor_notify ON testapp_counter;
CREATE TRIGGER bench_floor_notify AFTER UPDATE ON testapp_counter
    FOR EACH ROW EXECUTE FUNCTION bench_floor_notify();
"""
UNINSTALL = "DROP TRIGGER IF EXISTS bench_floor_notify ON testapp_counter"


# -- the floor server ----------------------------------------------------------------------------


def _transition(query_id: int, value: float, ts: int) -> str:
    """A Transition carrying one QueryUpdated (enough for the farm and the official clients)."""
    version = {"querySet": 1, "identity": 0, "ts": "AAAAAAAAAAA="}
    return json.dumps(
        {
            "type": "Transition",
            "startVersion": version,
            "endVersion": version,
            "modifications": [
                {
                    "type": "QueryUpdated",
                    "queryId": query_id,
                    "value": value,
                    "logLines": [],
                    "journal": None,
                }
            ],
        },
        separators=(",", ":"),
    )


async def serve(port: int, conninfo: dict[str, Any]) -> None:
    import websockets
    from websockets.asyncio.server import ServerConnection

    subscribers: dict[str, set[ServerConnection]] = defaultdict(set)
    reader = await psycopg.AsyncConnection.connect(autocommit=True, **conninfo)
    read_lock = asyncio.Lock()

    async def current(name: str) -> float | None:
        async with read_lock:
            cur = await reader.execute("SELECT value FROM testapp_counter WHERE name = %s", [name])
            row = await cur.fetchone()
        return None if row is None else float(row[0])

    async def handler(ws: ServerConnection) -> None:
        held: list[str] = []
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") != "ModifyQuerySet":
                    continue
                for mod in message["modifications"]:
                    if mod.get("type") == "Add":
                        name = mod["args"][0]["name"]
                        subscribers[name].add(ws)
                        held.append(name)
                        value = await current(name)
                        await ws.send(_transition(mod["queryId"], value or 0.0, 0))
        finally:
            for name in held:
                subscribers[name].discard(ws)

    listen = await psycopg.AsyncConnection.connect(autocommit=True, **conninfo)
    await listen.execute(f"LISTEN {CHANNEL}")
    async with websockets.serve(
        handler, "127.0.0.1", port, max_size=None, ping_interval=None, backlog=4096
    ):
        print("ready", flush=True)
        async for note in listen.notifies():
            name, _, value = note.payload.rpartition(":")
            # every socket of the farm holds its query under id 0
            websockets.broadcast(subscribers.get(name, ()), _transition(0, float(value), 0))


class FloorServer(Server):
    """The floor server process (a `Server` for `cpu_seconds` and `stop`)."""

    @classmethod
    def start(cls, port: int, conninfo: dict[str, Any]) -> FloorServer:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.floor", "serve", str(port), json.dumps(conninfo)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"the floor server did not start: {line!r}")
        return cls("floor", f"http://127.0.0.1:{port}", proc)  # type: ignore[arg-type]


# -- the benchmark -------------------------------------------------------------------------------


def _counters(conninfo: dict[str, Any], n: int) -> list[str]:
    names = [f"floor-{uuid.uuid4().hex[:8]}-{i}" for i in range(n)]
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        conn.cursor().executemany(
            "INSERT INTO testapp_counter (creation_time, name, value) VALUES (%s, %s, 0)",
            [(time.time() * 1000, name) for name in names],
        )
    return names


def _values(conninfo: dict[str, Any], names: list[str]) -> list[float]:
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        rows = dict(
            conn.execute(
                "SELECT name, value FROM testapp_counter WHERE name = ANY(%s)", [names]
            ).fetchall()
        )
    return [float(rows[name]) for name in names]


def _write(
    conninfo: dict[str, Any], names: list[str], rate: float, count: int
) -> dict[tuple[int, int], float]:
    """``count`` raw-SQL increments round robin over ``names`` at ``rate``/s; returns
    {(query index, new value): wall time COMMIT returned}."""
    committed: dict[tuple[int, int], float] = {}
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        cur = conn.cursor()
        started = time.perf_counter()
        for n in range(count):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            q = n % len(names)
            cur.execute(
                "UPDATE testapp_counter SET value = value + 1 WHERE name = %s RETURNING value",
                [names[q]],
            )
            row = cur.fetchone()
            committed[(q, int(row[0]))] = time.time()  # type: ignore[index]
    return committed


def _drain(server: Server, quiet: float = 0.3, limit: float = 30.0) -> None:
    """Wait until the server has caught up with the writes: for ``quiet`` seconds it used less
    than a tenth of a core (a server behind its load is still delivering)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(quiet)
        if server.cpu_seconds() - before < quiet / 10:
            return


def _measure(
    server: Server,
    conninfo: dict[str, Any],
    rates: tuple[float, ...],
    seconds: float,
    sockets: int,
    queries: int,
) -> dict[str, dict[str, float]]:
    names = _counters(conninfo, queries)
    farm = Farm(server, sockets, [(GET, {"name": n}) for n in names], record=True)
    out: dict[str, dict[str, float]] = {}
    try:
        farm.report()  # drop the initial deliveries
        for rate in rates:
            count = max(queries, int(rate * seconds))
            cpu0 = server.cpu_seconds()
            committed = _write(conninfo, names, rate, count)
            _drain(server)
            cpu = server.cpu_seconds() - cpu0
            report = farm.report()
            latencies = [
                (at - committed[(q, int(value))]) * 1000
                for q, value, at in report["deliveries"]
                if (q, int(value)) in committed
            ]
            expected = count * sockets // queries
            final = _values(conninfo, names)
            behind = sum(
                n
                for q, held in report["latest"].items()
                for value, n in held.items()
                if json.loads(value) != final[int(q)]
            )
            out[f"{rate:g}"] = {
                "p50_ms": statistics.median(latencies) if latencies else float("nan"),
                "p99_ms": pct(latencies, 99) if latencies else float("nan"),
                # deliveries ÷ writes × holders: below 1 when a socket skipped a value
                # (coalesced) or a delivery came after the server caught up
                "delivered": len(latencies) / expected,
                # sockets not holding their counter's last value once the server caught up
                "sockets_behind": behind,
                "cpu_ms_per_write": cpu * 1000 / count,
            }
            if report["errors"]:
                print(f"  {server.kind}: {report['errors'][:3]}", file=sys.stderr)
    finally:
        farm.close()
    return out


def sync_floor(
    db: str,
    conninfo: dict[str, Any],
    port: int,
    variants: tuple[tuple[str, str, Path | None], ...] = (
        ("daphne", "daphne", None),
        ("uvicorn", "uvicorn", None),
        # the recommended server (docs/sync.md): uvicorn without permessage-deflate
        ("uvicorn_no_deflate", "uvicorn_no_deflate", None),
    ),
    rates: tuple[float, ...] = (10.0, 100.0, 200.0),
    seconds: float = 10.0,
    sockets: int = 1000,
    queries: int = 100,
) -> dict[str, Any]:
    """The floor, then each (label, server variant of `bench.scale.VARIANTS`, checkout root)
    of reactive."""
    conninfo = {**conninfo, "dbname": db}
    measured: dict[str, dict[str, dict[str, float]]] = {}
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        conn.execute(INSTALL)
    try:
        floor = FloorServer.start(port, conninfo)
        try:
            measured["floor"] = _measure(floor, conninfo, rates, seconds, sockets, queries)
        finally:
            floor.stop()
    finally:
        with psycopg.connect(autocommit=True, **conninfo) as conn:
            conn.execute(UNINSTALL)
    for label, variant, root in variants:
        server = start_variant(db, port, variant, root=root)
        try:
            measured[label] = _measure(server, conninfo, rates, seconds, sockets, queries)
        finally:
            server.stop()
    results: dict[str, Any] = {}
    for label, by_rate in measured.items():
        for rate, figures in by_rate.items():
            for figure, value in figures.items():
                results[f"{label}_{rate}_{figure}"] = value
            if label != "floor":
                floor_cpu = measured["floor"][rate]["cpu_ms_per_write"]
                results[f"{label}_{rate}_cpu_ratio"] = figures["cpu_ms_per_write"] / floor_cpu
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        asyncio.run(serve(int(sys.argv[2]), json.loads(sys.argv[3])))
    else:
        sys.exit(__doc__)
