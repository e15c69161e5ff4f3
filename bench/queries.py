"""held_queries: the cost of a write against the number of distinct queries held.

At a fixed rate of `bench:bump` mutations through the executor (from sync sockets, as in
`sync_latency`), each write touches exactly one held query and has exactly one subscriber to
deliver to, while the number of distinct `bench:get(name)` queries held varies (1, 100, 10,000):

- the hot queries the writes go to, round-robin: min(held, 100), one recording socket each;
- the rest of the held queries, written by nobody, held `per_socket` to a socket by a second
  farm (a socket may hold up to `SYNC.max_queries_per_socket`).

Per phase: server CPU per write, commit→subscriber latency (from each MutationResponse's arrival
to the subscriber's receipt, as `sync_latency`), and the listener's executions per write. With
a precise read index the per-write figures stay flat as held queries grow: only the changed
query is looked up and re-run. Counters are created in one SQL statement (10,000 bumps over HTTP
would take most of the run).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import psycopg

from .servers import Farm, Server, pct
from .sync import GET, _send_mutations

HOT = 100


def _counters(conninfo: dict[str, Any], n: int) -> list[str]:
    prefix = f"held-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(n)]
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        conn.execute(
            "INSERT INTO testapp_counter (name, value, creation_time)"
            " SELECT unnest(%s::text[]), 1, extract(epoch from now()) * 1000",
            [names],
        )
    return names


def held_queries(
    server: Server,
    conninfo: dict[str, Any],
    held: tuple[int, ...] = (1, 100, 10_000),
    rate: float = 50.0,
    seconds: float = 10.0,
    per_socket: int = 50,
) -> dict[str, Any]:
    results: dict[str, Any] = {"write_rate": rate}
    names = _counters(conninfo, max(held))
    for n in held:
        hot = names[: min(n, HOT)]
        cold = names[len(hot) : n]
        recording = Farm(server, len(hot), [(GET, {"name": x}) for x in hot], record=True)
        idle = (
            Farm(
                server,
                -(-len(cold) // per_socket),
                [(GET, {"name": x}) for x in cold],
                per_socket=per_socket,
            )
            if cold
            else None
        )
        try:
            recording.report()  # drop the first results
            before = server.settle()["executions"]
            mutations = int(rate * seconds)
            cpu0 = server.cpu_seconds()
            answered, offered = asyncio.run(_send_mutations(server, hot, mutations, rate))
            cpu = server.cpu_seconds() - cpu0
            time.sleep(1.0)
            executions = server.settle()["executions"] - before
            report = recording.report()
        finally:
            recording.close()
            if idle is not None:
                idle.close()
        latencies = [
            (at - answered[(q, int(v))]) * 1000
            for q, v, at in report["deliveries"]
            if (q, int(v)) in answered
        ]
        results[f"{n}_held_offered_writes_per_s"] = offered
        results[f"{n}_held_deliveries"] = f"{len(latencies)}/{mutations}"
        results[f"{n}_held_executions_per_write"] = executions / mutations
        results[f"{n}_held_server_cpu_ms_per_write"] = cpu * 1000 / mutations
        results[f"{n}_held_p50_ms"] = statistics.median(latencies) if latencies else float("nan")
        results[f"{n}_held_p99_ms"] = pct(latencies, 99) if latencies else float("nan")
    first, last = held[0], held[-1]
    results[f"cpu_ratio_{last}_to_{first}_held"] = (
        results[f"{last}_held_server_cpu_ms_per_write"]
        / results[f"{first}_held_server_cpu_ms_per_write"]
    )
    return results
