"""What reactivity costs the write path.

- write_path: `testapp/bench:bump` over HTTP from 8 concurrent clients (keep-alive sessions, one
  thread each) for 2 s phases, alternating: reactive (1,000 sockets of a `bench.farm` process
  hold 100 `bench:get` queries, one per counter the writes hit, so every write re-runs a
  subscription and reaches 10 sockets) and off (the counters table's capture trigger disabled:
  no change-log row, nothing re-run or sent; the sockets stay open). Reported: mutations/s of
  each (median over rounds) and reactive ÷ off.
- notify_cost: the same one-row update as plain SQL transactions from 8 connections (no server,
  no Python executor), alternating 1 s phases: the capture trigger with NOTIFY (what writes
  from outside the executor do), the trigger without NOTIFY (`reactive.skip_notify`, what
  executor writes do when a cross-process Channels layer announces commits), and no trigger.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from typing import Any

import psycopg
import requests

from .servers import Farm, Server
from .sync import BUMP, GET, make_counters

CLIENTS = 8


def _trigger_name(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'testapp_counter'::regclass"
        " AND tgname LIKE 'pgtrigger_reactive_changes%'"
    ).fetchone()
    assert row is not None, "the counters table has no capture trigger"
    return str(row[0])


def _set_trigger(conn: psycopg.Connection[Any], name: str, enabled: bool) -> None:
    conn.execute(
        f'ALTER TABLE testapp_counter {"ENABLE" if enabled else "DISABLE"} TRIGGER "{name}"'
    )


def _load(fn: Any, clients: int, seconds: float) -> float:
    """Run fn(worker index, rng) in a loop from `clients` threads; returns calls per second."""
    stop = threading.Event()
    counts = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        rng = random.Random(i)
        barrier.wait()
        while not stop.is_set():
            fn(i, rng)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    barrier.wait()
    t = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join()
    return sum(counts) / (time.perf_counter() - t)


def write_path(
    server: Server,
    conninfo: dict[str, Any],
    sockets: int = 1000,
    queries: int = 100,
    rounds: int = 3,
    seconds: float = 2.0,
) -> dict[str, Any]:
    names = make_counters(server, "write", queries)
    sessions = [requests.Session() for _ in range(CLIENTS)]

    def call(i: int, rng: random.Random) -> None:
        r = sessions[i].post(
            server.url + "/api/mutation",
            json={"path": BUMP, "args": {"name": rng.choice(names)}, "format": "json"},
            timeout=60,
        )
        assert r.json()["status"] == "success", r.text

    farm = Farm(server, sockets, [(GET, {"name": n}) for n in names])
    rates: dict[str, list[float]] = {"reactive": [], "off": []}
    cpu_ms: dict[str, list[float]] = {"reactive": [], "off": []}
    messages = 0
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        trigger = _trigger_name(conn)
        try:
            _load(call, CLIENTS, 1.0)  # warm-up
            for _ in range(rounds):
                for mode in ("reactive", "off"):
                    _set_trigger(conn, trigger, mode == "reactive")
                    before = farm.report()["messages"]
                    cpu0 = server.cpu_seconds()
                    rate = _load(call, CLIENTS, seconds)
                    if mode == "reactive":
                        server.settle(0.2)  # its re-runs and deliveries count too
                        messages += farm.report()["messages"] - before
                    rates[mode].append(rate)
                    cpu_ms[mode].append((server.cpu_seconds() - cpu0) * 1000 / (rate * seconds))
        finally:
            _set_trigger(conn, trigger, True)
            farm.close()
    reactive, off = statistics.median(rates["reactive"]), statistics.median(rates["off"])
    return {
        "sockets": sockets,
        "subscriptions": queries,
        "clients": CLIENTS,
        "reactive_mutations_per_s": reactive,
        "off_mutations_per_s": off,
        "ratio": reactive / off,
        # the server's CPU per mutation: what reactivity adds is the difference
        "server_cpu_ms_per_mutation_reactive": statistics.median(cpu_ms["reactive"]),
        "server_cpu_ms_per_mutation_off": statistics.median(cpu_ms["off"]),
        "deliveries_per_s_reactive": messages / (rounds * seconds),
    }


def notify_cost(
    conninfo: dict[str, Any], rounds: int = 3, seconds: float = 1.0, rows: int = 100
) -> dict[str, Any]:
    conns = [psycopg.connect(autocommit=True, **conninfo) for _ in range(CLIENTS)]
    admin = psycopg.connect(autocommit=True, **conninfo)
    names = [f"notify-{i}" for i in range(rows)]
    admin.execute(
        "INSERT INTO testapp_counter (name, value, creation_time) "
        "SELECT unnest(%s::text[]), 0, 0 ON CONFLICT (name) DO NOTHING",
        [names],
    )
    trigger = _trigger_name(admin)

    def update(i: int, rng: random.Random) -> None:
        conns[i].execute(
            "UPDATE testapp_counter SET value = value + 1 WHERE name = %s", [rng.choice(names)]
        )

    rates: dict[str, list[float]] = {"notify": [], "no_notify": [], "no_trigger": []}
    try:
        _load(update, CLIENTS, 0.5)  # warm-up
        for _ in range(rounds):
            for mode in rates:
                _set_trigger(admin, trigger, mode != "no_trigger")
                skip = "on" if mode == "no_notify" else "off"
                for c in conns:
                    c.execute("SELECT set_config('reactive.skip_notify', %s, false)", [skip])
                rates[mode].append(_load(update, CLIENTS, seconds))
    finally:
        _set_trigger(admin, trigger, True)
        for c in [*conns, admin]:
            c.close()
    med = {mode: statistics.median(r) for mode, r in rates.items()}
    return {
        "connections": CLIENTS,
        "updates_per_s_trigger_notify": med["notify"],
        "updates_per_s_trigger_no_notify": med["no_notify"],
        "updates_per_s_no_trigger": med["no_trigger"],
        "notify_ratio": med["notify"] / med["no_notify"],
        "trigger_ratio": med["no_notify"] / med["no_trigger"],
    }
