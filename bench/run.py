"""Benchmarks: `python3 dev.py bench` (or `python -m bench.run`). Prints a table, writes JSON.

Every benchmark runs against live servers on the embedded Postgres (or DATABASE_URL), in one
run. Compared variants are interleaved request by request or phase by phase wherever they can
share a process, because these machines are shared and noisy: ratios are more trustworthy than
absolutes. Clients, servers and Postgres share the machine's cores: latencies include the
clients' own scheduling.

    python -m bench.run              # everything
    python -m bench.run sync_latency scale   # only these (names as in the table)
    python -m bench.run --root ../before sync_latency   # servers run another checkout's code

`--root DIR` runs every server under test from the checkout DIR (the benchmark itself, its
clients and its farms stay this checkout's): the same table for the code before a change, to
set beside the table after it. Steps that need server code DIR does not have fail there.

What each measures is in its module's docstring: overhead.py (http_overhead, ws_overhead),
sync.py (sync_latency, sync_precision, sync_dedup), write_path.py (write_path, notify_cost),
contention.py, scale.py (scale, scale_breakdown), fanout.py (fanout), queries.py
(held_queries), scheduler.py (scheduler_latency), guard.py (guard_cost), held_back.py
(held_back), rules.py (rules_cost), search.py (search), mutation.py (mutation_overhead),
processes.py (processes), floor.py (sync_floor), http_actions.py (http_action_overhead),
vectors.py (vector_search), storage.py (storage_throughput).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .servers import ROOT, Server, setup_database, start_server

RESULTS = ROOT / "bench" / "results"

# (benchmark, figure, target, "<=" or ">="): printed next to the figures
TARGETS = [
    ("sync_latency", "commit_to_sub_p50_ms", 5.0, "<="),
    ("sync_latency", "commit_to_sub_p99_ms", 25.0, "<="),
    ("sync_precision", "index_range_precision", 1.0, "<="),
    ("sync_dedup", "executions_per_commit_1_sockets", 1.0, "<="),
    ("sync_dedup", "executions_per_commit_100_sockets", 1.0, "<="),
    ("sync_dedup", "executions_per_commit_1000_sockets", 1.0, "<="),
    ("write_path", "ratio", 0.9, ">="),
    ("contention", "serializable_lost_updates", 0, "<="),
    ("contention", "serializable_failed_calls", 0, "<="),
    ("contention", "serializable_ratio", 0.5, ">="),
    ("contention", "select_for_update_lost_updates", 0, "<="),
    ("contention", "select_for_update_failed_calls", 0, "<="),
    ("contention", "select_for_update_ratio", 0.5, ">="),
    ("http_overhead", "ratio_p50", 1.3, "<="),
    ("ws_overhead", "ratio_p50", 1.3, "<="),
    ("mutation_overhead", "ratio_p50", 1.5, "<="),
    ("scale", "live_sockets", 5000, ">="),
    ("scale", "kib_per_socket", 50.0, "<="),
    ("fanout", "sockets", 10000, ">="),
    ("fanout", "missed_deliveries", 0, "<="),
    ("held_queries", "10000_held_executions_per_write", 1.0, "<="),
    ("held_queries", "cpu_ratio_10000_to_1_held", 1.5, "<="),
    ("held_back", "another_database_p99_ms", 100.0, "<="),
    ("held_back", "same_database_p99_ms", 100.0, "<="),
    ("processes", "highest_rate_p99_within_25_ms", 200.0, ">="),
    ("sync_floor", "daphne_10_p50_ms", 2.0, "<="),
    ("sync_floor", "uvicorn_10_p50_ms", 2.0, "<="),
    ("sync_floor", "daphne_200_cpu_ratio", 5.0, "<="),
    ("sync_floor", "uvicorn_200_cpu_ratio", 5.0, "<="),
    ("sync_floor", "uvicorn_no_deflate_10_p50_ms", 2.0, "<="),
    ("sync_floor", "uvicorn_no_deflate_200_cpu_ratio", 5.0, "<="),
    ("vector_search", "recall_at_10", 0.9, ">="),
    ("vector_search", "internal_p50_ms", 10.0, "<="),
]


def _conninfo(db: str) -> dict[str, Any]:
    from reactive.sync.wakeups import conninfo

    return {**conninfo("default"), "dbname": db}


def _with_server(
    kind: str,
    db: str,
    port: int,
    fn: Callable[[Server], dict[str, Any]],
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    server = start_server(db, port, kind, env)
    try:
        return fn(server)
    finally:
        server.stop()


def plan(db: str) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    from .auth import ws_auth_cost, ws_auth_env
    from .contention import contention
    from .fanout import fanout
    from .floor import sync_floor
    from .guard import guard_cost
    from .held_back import held_back
    from .http_actions import http_action_overhead
    from .mutation import mutation_overhead
    from .overhead import http_overhead, ws_overhead
    from .processes import dedup as processes_dedup
    from .processes import ladder as processes_ladder
    from .queries import held_queries
    from .rules import rules_cost
    from .scale import memory_breakdown, scale, start_variant
    from .scheduler import scheduler_latency
    from .search import search_latency
    from .storage import clean_media, storage_throughput
    from .sync import sync_dedup, sync_latency, sync_precision
    from .vectors import vector_search
    from .write_path import notify_cost, write_path

    info = _conninfo(db)
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("notify_cost", lambda: notify_cost(info))
    ]
    for kind, port in (("daphne", 8799), ("uvicorn", 8798)):

        def on(
            fn: Callable[[Server], dict[str, Any]], kind: str = kind, port: int = port
        ) -> Callable[[], dict[str, Any]]:
            return lambda: _with_server(kind, db, port, fn)

        steps += [
            (f"http_overhead.{kind}", on(http_overhead)),
            (f"ws_overhead.{kind}", on(ws_overhead)),
            (f"http_action_overhead.{kind}", on(http_action_overhead)),
            (f"mutation_overhead.{kind}", on(mutation_overhead)),
            (f"sync_latency.{kind}", on(sync_latency)),
            # the same at half the rate: below the process's CPU saturation
            (f"sync_latency_100.{kind}", on(lambda s: sync_latency(s, mutations=1000, rate=100.0))),
        ]

    def variant(
        name: str,
        fn: Callable[[Server], dict[str, Any]],
        env: dict[str, str] | None = None,
        app: str = "tests.asgi:application",
    ) -> Callable[[], dict[str, Any]]:
        def step() -> dict[str, Any]:
            server = start_variant(db, 8799, name, env=env, app=app)
            try:
                return fn(server)
            finally:
                server.stop()

        return step

    # the recommended server (uvicorn without permessage-deflate, docs/sync.md)
    steps += [
        ("sync_latency.uvicorn_no_deflate", variant("uvicorn_no_deflate", sync_latency)),
        (
            "sync_latency_100.uvicorn_no_deflate",
            variant("uvicorn_no_deflate", lambda s: sync_latency(s, mutations=1000, rate=100.0)),
        ),
    ]
    # memory per idle socket for each server and WebSocket implementation (bench/scale.py)
    for name in ("daphne", "uvicorn", "uvicorn_no_deflate", "uvicorn_wsproto_no_deflate"):
        steps.append((f"scale.{name}", variant(name, scale)))
    steps += [
        (
            "scale_breakdown.uvicorn_no_deflate",
            lambda: memory_breakdown(db, 8799, "uvicorn_no_deflate"),
        ),
        ("fanout.uvicorn_no_deflate", variant("uvicorn_no_deflate", fanout)),
        ("fanout.daphne", variant("daphne", fanout)),
        # the same with CPython's collector threshold (700) instead of SYNC.gc_threshold's
        # default 50,000: what collections cost at 10,000 sockets
        (
            "fanout.uvicorn_no_deflate_gc_700",
            variant(
                "uvicorn_no_deflate",
                fanout,
                {"REACTIVE_TEST_SYNC": json.dumps({"gc_threshold": None})},
            ),
        ),
        (
            "held_queries.uvicorn_no_deflate",
            variant("uvicorn_no_deflate", lambda s: held_queries(s, info)),
        ),
    ]
    # the same latency run with CPython's default GIL switch interval (5 ms), for the ratio
    default_gil = {"REACTIVE_TEST_SYNC": json.dumps({"gil_switch_interval_ms": None})}
    steps += [
        (
            "sync_latency.daphne_gil_5ms",
            lambda: _with_server("daphne", db, 8799, sync_latency, default_gil),
        ),
        ("sync_precision", lambda: _with_server("daphne", db, 8799, sync_precision)),
        ("sync_dedup", lambda: _with_server("daphne", db, 8799, sync_dedup)),
        ("write_path", lambda: _with_server("daphne", db, 8799, lambda s: write_path(s, info))),
        (
            "write_path.uvicorn_no_deflate",
            variant("uvicorn_no_deflate", lambda s: write_path(s, info)),
        ),
        ("contention", lambda: _with_server("daphne", db, 8799, lambda s: contention(s.url))),
        ("held_back", lambda: _with_server("daphne", db, 8799, lambda s: held_back(s, info))),
        ("scheduler_latency", lambda: scheduler_latency(db)),
        (
            "ws_auth",
            lambda: _with_server("daphne", db, 8799, ws_auth_cost, ws_auth_env()),
        ),
        ("guard_cost", guard_cost),
        ("sync_floor", lambda: sync_floor(db, info, 8799)),
        ("rules_cost", rules_cost),
        ("search", search_latency),
        ("vector_search", vector_search),
    ]

    def storage_step(kind: str) -> dict[str, Any]:
        try:
            return _with_server(kind, db, 8799, storage_throughput)
        finally:
            clean_media()

    steps += [
        (f"storage_throughput.{k}", lambda k=k: storage_step(k)) for k in ("daphne", "uvicorn")
    ]
    # several server processes: granian --workers N behind one port (uvicorn's workers and
    # channels_redis wake-ups for comparison), and N ports on one database
    for workers in (1, 2, 4):
        steps.append(
            (
                f"processes.granian_{workers}",
                lambda n=workers: processes_ladder(db, 8830, n, kind="granian"),
            )
        )
    steps.append(("processes.uvicorn_2", lambda: processes_ladder(db, 8830, 2)))
    steps.append(
        (
            "processes.granian_2_redis",
            lambda: processes_ladder(db, 8830, 2, layer="redis", kind="granian"),
        )
    )
    steps.append(("processes.dedup", lambda: processes_dedup(db, [8831, 8832, 8833, 8834])))
    return steps


def _verdict(name: str, figures: dict[str, Any]) -> dict[str, str]:
    out = {}
    for bench, figure, target, op in TARGETS:
        if name.split(".")[0] == bench and figure in figures:
            value = figures[figure]
            ok = value <= target if op == "<=" else value >= target
            out[figure] = f"{'ok  ' if ok else 'MISS'} {op} {target}"
    return out


def main(selected: list[str]) -> None:
    if selected[:1] == ["--root"]:
        if len(selected) < 2:
            sys.exit("bench.run: --root needs a checkout directory")
        os.environ["REACTIVE_BENCH_SERVER_ROOT"] = str(Path(selected[1]).resolve())
        selected = selected[2:]
    db = setup_database()
    results: dict[str, Any] = {}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "latest.json"
    for name, step in plan(db):
        if selected and name.split(".")[0] not in selected and name not in selected:
            continue
        t = time.perf_counter()
        print(f"running {name} …", file=sys.stderr, flush=True)
        results[name] = step()
        print(f"  {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        out.write_text(json.dumps(results, indent=2))  # a step's figures survive a later failure
    print(f"{'benchmark':<26} {'figure':<36} {'value':>12}  target")
    for name, figures in results.items():
        verdicts = _verdict(name, figures)
        for key, value in figures.items():
            shown = f"{value:>12.3f}" if isinstance(value, float) else f"{value!s:>12}"
            print(f"{name:<26} {key:<36} {shown}  {verdicts.get(key, '')}".rstrip())
    derived: dict[str, float] = {}
    for figure in ("ratio_p50", "commit_to_sub_p50_ms", "commit_to_sub_p99_ms", "kib_per_socket"):
        for bench in ("http_overhead", "ws_overhead", "sync_latency", "scale"):
            d, u = results.get(f"{bench}.daphne", {}), results.get(f"{bench}.uvicorn", {})
            if figure in d and figure in u:
                derived[f"uvicorn ÷ daphne: {bench}.{figure}"] = u[figure] / d[figure]
    gil, fast = results.get("sync_latency.daphne_gil_5ms"), results.get("sync_latency.daphne")
    if gil and fast:
        for figure in ("commit_to_sub_p50_ms", "commit_to_sub_p99_ms"):
            derived[f"GIL 5 ms ÷ 1 ms: sync_latency.{figure}"] = gil[figure] / fast[figure]
    if derived:
        print()
        for key, value in derived.items():
            print(f"{key:<63} {value:>12.3f}")
        results["ratios"] = derived
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
