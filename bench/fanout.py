"""fanout: one write delivered to every subscriber of one query (10,000 by default).

`sockets` sockets, spread over `farms` `bench.farm` processes (one process's event loop would
make the farm, not the server, the bound), all subscribe to the same `bench:get(name)`. Then,
`writes` times, one `bench:bump(name)` over HTTP (through the executor); the time from sending
the request to the first, the median and the last subscriber's receipt of the new value (the
farms record deliveries with the machine's wall clock), and the server's CPU from the request
until every socket holds the value, less what the idle sockets cost in the same time (their
Pings: measured for a few seconds before the writes). The query runs once per write whatever
the number of sockets (`sync_dedup`), so what grows with the sockets is the Transition building
and the sends. Every socket must hold every write's value: a socket that misses one fails the
run.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from .servers import Farm, Server
from .sync import GET, bump, make_counters


def fanout(
    server: Server, sockets: int = 10_000, farms: int = 4, writes: int = 5
) -> dict[str, Any]:
    [name] = make_counters(server, "fanout", 1)
    per_farm = [sockets // farms + (1 if i < sockets % farms else 0) for i in range(farms)]
    t = time.perf_counter()
    with ThreadPoolExecutor(farms) as pool:
        opened = list(pool.map(lambda n: Farm(server, n, [(GET, {"name": name})], True), per_farm))
    connect_s = time.perf_counter() - t
    try:
        for farm in opened:
            farm.report()  # drop the first results
        rss = server.rss_kib()
        idle_cpu0, idle_t0 = server.cpu_seconds(), time.perf_counter()
        time.sleep(3.0)
        idle_rate = (server.cpu_seconds() - idle_cpu0) / (time.perf_counter() - idle_t0)
        session = requests.Session()
        first, median, last, cpu, missing = [], [], [], [], 0
        for _ in range(writes):
            cpu0 = server.cpu_seconds()
            sent = time.time()
            t0 = time.perf_counter()
            value = float(bump(session, server, name))
            arrivals: list[float] = []
            deadline = time.perf_counter() + 60
            while len(arrivals) < sockets and time.perf_counter() < deadline:
                time.sleep(0.02)
                for farm in opened:
                    arrivals += [at for _, v, at in farm.report()["deliveries"] if v == value]
            spent = time.perf_counter() - t0
            cpu.append(server.cpu_seconds() - cpu0 - idle_rate * spent)
            missing += sockets - len(arrivals)
            arrivals.sort()
            if arrivals:
                first.append(arrivals[0] - sent)
                median.append(arrivals[len(arrivals) // 2] - sent)
                last.append(arrivals[-1] - sent)
            time.sleep(0.5)
        errors = sum(len(farm.report()["errors"]) for farm in opened)
    finally:
        with ThreadPoolExecutor(farms) as pool:
            list(pool.map(lambda farm: farm.close(), opened))
    return {
        "sockets": sockets,
        "farms": farms,
        "writes": writes,
        "connect_per_s": sockets / connect_s,
        "rss_mib": rss / 1024,
        "missed_deliveries": missing,
        "errors": errors,
        "write_to_first_ms": statistics.median(first) * 1000,
        "write_to_median_ms": statistics.median(median) * 1000,
        "write_to_last_ms": statistics.median(last) * 1000,
        "server_cpu_ms_per_write": statistics.median(cpu) * 1000,
        "server_cpu_us_per_delivery": statistics.median(cpu) * 1e6 / sockets,
        "idle_cpu_share": idle_rate,
    }
