"""Fault injection: Postgres restarts under a live server and worker, servers killed mid-writes.

Faults covered elsewhere and not repeated here: the listener's database connections terminated
(tests/integration/test_sync_invariants.py) and workers SIGKILLed mid-mutation, after commit and
mid-action (tests/integration/test_scheduler_worker.py).

The Postgres tests run on a private cluster of their own (tests/reliability/private_postgres.py):
the suite's shared embedded Postgres must never be restarted. The server-kill test runs on the
test database, with servers of its own.

    python3 dev.py test tests/reliability/test_faults.py               # fast
    REACTIVE_LONG=1 python3 dev.py test tests/reliability/test_faults.py   # more rounds
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
from django.db import connection

from reactive.models import ScheduledFunction
from reactive.values import decode
from tests.conftest import LiveServer, start_server
from tests.reliability.length import scaled
from tests.reliability.private_postgres import PrivatePostgres, start_cluster
from tests.sync_client import RawSync
from tests.testapp.models import Counter
from tests.worker import Worker, start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = Counter._meta.db_table
SCHEDULED = ScheduledFunction._meta.db_table


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def http(
    server: LiveServer, kind: str, path: str, args: dict[str, Any], timeout: float = 30
) -> dict[str, Any]:
    r = requests.post(
        f"{server.url}/api/{kind}", json={"path": path, "args": args}, timeout=timeout
    )
    r.raise_for_status()
    return r.json()


def call_ok(server: LiveServer, kind: str, path: str, args: dict[str, Any]) -> Any:
    body = http(server, kind, path, args)
    assert body["status"] == "success", (
        f"{kind} {path} failed: {body}\nserver log:\n{server.log()[-3000:]}"
    )
    return decode(body["value"])


async def converge(
    clients: list[tuple[RawSync, int]], expected: Any, what: str, timeout: float = 20.0
) -> None:
    for client, qid in clients:
        try:
            await client.until(lambda c=client, q=qid: c.results.get(q) == expected, timeout)
        except TimeoutError as exc:
            raise AssertionError(
                f"{what}: a subscriber did not converge to {expected!r}: {exc}"
            ) from None


# ---------------------------------------------------------------------------------------
# Postgres restarts (a private cluster)
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    pg = start_cluster()
    try:
        yield pg
    finally:
        pg.destroy()


@dataclass
class Stack:
    """Servers and workers on the private cluster, all stopped at the end of the test."""

    pg: PrivatePostgres
    tmp: Path
    servers: list[LiveServer] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def server(self, **sync: Any) -> LiveServer:
        env = self.pg.env()
        if sync:
            env["REACTIVE_TEST_SYNC"] = json.dumps(sync)
        server = start_server(self.pg.db_name, self.tmp, env_extra=env)
        self.servers.append(server)
        return server

    def worker(self, name: str) -> Worker:
        worker = start_worker(self.pg.db_name, self.tmp, env_extra=self.pg.env(), name=name)
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        parts = [f"--- server {s.url}:\n{s.log()[-4000:]}" for s in self.servers]
        parts += [f"--- worker {w.log_path.name}:\n{w.log()[-4000:]}" for w in self.workers]
        return "\n".join(parts + [f"--- postgres:\n{self.pg.log()}"])

    def close(self) -> None:
        try:
            if not self.pg.running():
                self.pg.start()  # a test that failed mid-outage: let the processes stop cleanly
        finally:
            for worker in self.workers:
                if worker.process.poll() is None:
                    try:
                        worker.terminate(timeout=10)
                    except Exception:
                        pass
                else:
                    worker._log.close()
            for server in self.servers:
                server.stop()


@pytest.fixture
def stack(cluster: PrivatePostgres, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(cluster, tmp_path)
    try:
        yield s
    finally:
        s.close()


def sql(pg: PrivatePostgres, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute(query, params).fetchall()


def counter(pg: PrivatePostgres, name: str) -> int | None:
    rows = sql(pg, f"SELECT value FROM {COUNTERS} WHERE name = %s", [name])
    return rows[0][0] if rows else None


def scheduled_rows(pg: PrivatePostgres, sids: dict[str, str]) -> dict[str, tuple[str, int]]:
    """counter name -> (state, attempts) of the scheduled bump writing it."""
    from reactive.ids import pk_of

    by_pk = {pk_of("_scheduled_functions", sid): n for n, sid in sids.items()}
    rows = sql(pg, f"SELECT id, state, attempts FROM {SCHEDULED} WHERE id = ANY(%s)", [list(by_pk)])
    return {by_pk[pk]: (state, attempts) for pk, state, attempts in rows}


_sleeps = iter(range(1, 1_000_000))


def sleep_seconds() -> float:
    """A duration for `bump_then_sleep` that no other call uses, to find that one call's
    transaction (it appears in pg_stat_activity's query text)."""
    return round(0.6 + next(_sleeps) / 10_000, 4)


def sleeping_in_a_mutation(pg: PrivatePostgres, seconds: float) -> bool:
    return bool(
        sql(
            pg,
            "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE %s AND pid <> pg_backend_pid()",
            [f"SELECT pg_sleep({seconds})%"],
        )
    )


async def test_postgres_restart_under_a_live_server_and_worker(stack: Stack) -> None:
    """Postgres stops (fast: sessions terminated; immediate: a crash) and comes back at the same
    address, repeatedly, while sockets are subscribed, a scheduled mutation holds an open
    transaction, and more scheduled mutations come due before, during and after the outage.

    Without restarting anything but Postgres, and with the listener's safety-net poll off (so
    that writes from other processes arrive through a LISTEN that reconnected): every
    subscriber converges to the fresh results, HTTP and WebSocket calls (new sockets, new
    subscriptions, mutations) work again at once, each scheduled mutation runs exactly once,
    and a mutation sent during the outage fails cleanly without being applied.
    """
    pg = stack.pg
    # No safety-net poll within the test's time: the writes of other processes (the worker's,
    # the test's own SQL) reach subscribers only if the LISTEN connection came back.
    server = stack.server(poll_seconds=120.0)
    worker = stack.worker("pg-restart")
    server_pid, worker_pid = server.process.pid, worker.process.pid
    name = unique("pgr")
    subs = [await RawSync.connect(server.ws_url) for _ in range(3)]
    watched = [(s, await s.subscribe("testapp:counter_value", {"name": name})) for s in subs]
    expected = await subs[0].mutation("testapp:counter_inc", {"name": name})
    assert expected == 1
    await converge(watched, 1, "before any restart")

    scheduled: dict[str, str] = {}  # counter name -> scheduled function id
    held: list[str] = []  # scheduled mutations whose transaction the restart killed
    sched_watch: list[tuple[RawSync, int, str]] = []
    rounds = scaled(2, 16)
    try:
        for r in range(rounds):
            mode = ("fast", "immediate")[r % 2]
            # Scheduled around the restart: due at once, due while Postgres is down, due
            # after it is back; and one holding its transaction open when Postgres goes down.
            for label, delay_ms in (("now", 0), ("down", 400), ("after", 1500)):
                n = f"{name}-{r}{label}"
                scheduled[n] = call_ok(
                    server,
                    "mutation",
                    "testapp/scheduling:schedule_bump",
                    {"name": n, "delay": delay_ms},
                )
            n, seconds = f"{name}-{r}held", sleep_seconds()
            scheduled[n] = call_ok(
                server,
                "mutation",
                "testapp/scheduling:schedule_internal",
                {"fn": "bump_then_sleep", "args": {"name": n, "seconds": seconds}},
            )
            held.append(n)
            wait_for(
                lambda s=seconds: sleeping_in_a_mutation(pg, s),
                "the scheduled mutation in pg_sleep",
                timeout=10,
                logs=stack.logs,
            )

            pg.stop(mode)
            # during the outage: a mutation fails cleanly (no hang, no crash, not applied) ...
            down_rid = 10_000 + r
            await subs[1].send(
                {
                    "type": "Mutation",
                    "requestId": down_rid,
                    "udfPath": "testapp:counter_inc",
                    "args": [{"name": name}],
                }
            )
            await subs[1].until(lambda rid=down_rid: rid in subs[1].responses, timeout=10)
            assert not subs[1].responses[down_rid]["success"], subs[1].responses[down_rid]
            # ... and so does an HTTP query
            body = await asyncio.to_thread(
                http, server, "query", "testapp:counter_value", {"name": name}, 10
            )
            assert body["status"] == "error", body
            await asyncio.sleep(0.8)  # the scheduled "down" bump comes due meanwhile
            pg.start()

            # the server answers at once: the first call after the restart succeeds (and the
            # mutation that failed during the outage was not applied)
            assert server.process.poll() is None, stack.logs()
            expected += 1
            assert (
                await asyncio.to_thread(
                    call_ok, server, "mutation", "testapp:counter_inc", {"name": name}
                )
                == expected
            )
            await converge(watched, expected, f"round {r} ({mode}): after an HTTP mutation")
            # a write from outside the executor: only NOTIFY (its LISTEN reconnected) tells
            expected += 10
            await asyncio.to_thread(
                sql,
                pg,
                f"UPDATE {COUNTERS} SET value = %s WHERE name = %s RETURNING value",
                [expected, name],
            )
            await converge(watched, expected, f"round {r} ({mode}): after an external write")
            # the old sockets take mutations and new subscriptions ...
            expected += 1
            assert await subs[r % 3].mutation("testapp:counter_inc", {"name": name}) == expected
            await converge(watched, expected, f"round {r} ({mode}): after a socket mutation")
            for label in ("now", "down", "after", "held"):
                n = f"{name}-{r}{label}"
                s = subs[(r + len(sched_watch)) % 3]
                sched_watch.append((s, await s.subscribe("testapp:counter_value", {"name": n}), n))
            # ... and new sockets work too
            fresh = await RawSync.connect(server.ws_url)
            q = await fresh.subscribe("testapp:counter_value", {"name": name})
            assert fresh.results[q] == expected
            expected += 1
            assert await fresh.mutation("testapp:counter_inc", {"name": name}) == expected
            await converge(watched, expected, f"round {r} ({mode}): after a new socket's write")
            await fresh.close()

        # every scheduled mutation ran, and its subscribers saw it
        for s, q, n in sched_watch:
            try:
                await s.until(lambda s=s, q=q: s.results.get(q) == 1, timeout=30)
            except TimeoutError:
                raise AssertionError(
                    f"scheduled bump {n} never reached its subscriber; rows "
                    f"{scheduled_rows(pg, scheduled)}\n{stack.logs()}"
                ) from None
        await asyncio.sleep(1.5)  # longer than a retry's backoff and a worker's poll
        rows = scheduled_rows(pg, scheduled)
        counts = {n: counter(pg, n) for n in scheduled}
        assert counts == dict.fromkeys(scheduled, 1), (counts, rows, stack.logs())
        assert all(state == "success" for state, _ in rows.values()), (rows, stack.logs())
        # the restart really did interrupt the held mutations (else this tested nothing)
        assert all(rows[n][1] >= 2 for n in held), (
            f"a held mutation was not interrupted: {[(n, rows[n]) for n in held]}\n{stack.logs()}"
        )
        leftover = sql(
            pg, "SELECT id, status FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        )
        assert not leftover, leftover
        for s, q in watched:
            assert s.results[q] == expected
        assert counter(pg, name) == expected
        # nothing was restarted but Postgres
        assert server.process.pid == server_pid and server.process.poll() is None
        assert worker.process.pid == worker_pid and worker.process.poll() is None
    finally:
        for s in subs:
            await s.close()


async def test_worker_killed_mid_job_while_postgres_restarts(stack: Stack) -> None:
    """A worker is SIGKILLed while a scheduled mutation holds its transaction; Postgres then
    crashes and comes back; a new worker recovers the job: it runs exactly once, and so does a
    mutation that came due during the outage."""
    pg = stack.pg
    server = stack.server()
    doomed = stack.worker("doomed")
    name, seconds = unique("wk"), sleep_seconds()
    sids = {
        f"{name}-held": call_ok(
            server,
            "mutation",
            "testapp/scheduling:schedule_internal",
            {"fn": "bump_then_sleep", "args": {"name": f"{name}-held", "seconds": seconds}},
        ),
    }
    wait_for(
        lambda: sleeping_in_a_mutation(pg, seconds),
        "the scheduled mutation in pg_sleep",
        timeout=10,
        logs=stack.logs,
    )
    doomed.kill9()
    sids[f"{name}-down"] = call_ok(
        server,
        "mutation",
        "testapp/scheduling:schedule_bump",
        {"name": f"{name}-down", "delay": 300},
    )
    pg.restart("immediate", down_seconds=0.6)
    rescuer = stack.worker("rescuer")
    wait_for(
        lambda: all(s == "success" for s, _ in scheduled_rows(pg, sids).values()),
        "both scheduled mutations succeeded",
        timeout=30,
        logs=stack.logs,
    )
    time.sleep(1.0)
    assert {n: counter(pg, n) for n in sids} == dict.fromkeys(sids, 1), stack.logs()
    assert "left running by a worker that stopped" in rescuer.log()
    assert rescuer.process.poll() is None


# ---------------------------------------------------------------------------------------
# A server process killed mid-writes (the test database, servers of its own)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[[], LiveServer]]:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    started: list[LiveServer] = []

    def start() -> LiveServer:
        server = start_server(name, tmp_path)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


async def orm(fn: Callable[[], Any]) -> Any:
    """ORM work in a thread whose connection is closed afterwards."""
    from django.db import connections

    def run() -> Any:
        try:
            return fn()
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def kill9(server: LiveServer) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


@dataclass
class Writer:
    """A client with one Convex session across connections, as the official clients keep it:
    request ids go on growing, and on reconnecting (connectionCount > 0) it re-sends every
    mutation it has no response for, with the same request id."""

    name: str  # its counter; counter_inc returns the new value
    names: list[str]  # every writer's counter, all subscribed
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    connections: int = 0
    next_rid: int = 0
    sent: list[int] = field(default_factory=list)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    sync: Any = None
    watched: list[tuple[RawSync, int]] = field(default_factory=list)

    async def connect(self, server: LiveServer) -> None:
        self.sync = await RawSync.connect(
            server.ws_url, session_id=self.session_id, connection_count=self.connections
        )
        self.connections += 1
        self.watched = [
            (self.sync, await self.sync.subscribe("testapp:counter_value", {"name": n}))
            for n in self.names
        ]
        # re-send what never got an answer, in order (Convex clients do the same)
        for rid in [r for r in self.sent if r not in self.answers]:
            response = await self.sync.call(
                "Mutation", "testapp:counter_inc", {"name": self.name}, request_id=rid
            )
            self.answers[rid] = response

    async def write_until_closed(self, acks: asyncio.Event, wanted: int) -> None:
        got = 0
        try:
            while True:
                await self.mutate(batch=2)
                got += 2
                if got >= wanted:
                    acks.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            # a response that arrived before the close (the Transition after it did not)
            for rid, response in self.sync.responses.items():
                if rid in self.sent:
                    self.answers.setdefault(rid, response)

    async def mutate(self, batch: int = 1) -> int:
        """``batch`` more mutations on this session, sent without waiting (as a client sends
        them); new request ids: ids are per session, and a reused one is answered from the
        stored response. The last one's result."""
        rids = list(range(self.next_rid, self.next_rid + batch))
        self.next_rid += batch
        for rid in rids:
            self.sent.append(rid)
            await self.sync.send(
                {
                    "type": "Mutation",
                    "requestId": rid,
                    "udfPath": "testapp:counter_inc",
                    "args": [{"name": self.name}],
                }
            )
        sync = self.sync
        await sync.until(lambda: all(rid in sync.responses for rid in rids))
        for rid in rids:
            assert sync.responses[rid]["success"], sync.responses[rid]
            self.answers[rid] = sync.responses[rid]
        await sync.until(lambda: sync.saw_writes_of(rids[-1]))  # read-your-writes
        return decode(sync.responses[rids[-1]]["result"])

    def values(self) -> list[int]:
        return sorted(decode(self.answers[rid]["result"]) for rid in self.sent)


async def test_server_killed_mid_writes(servers: Callable[[], LiveServer]) -> None:
    """Writers hammer one server over WebSockets while everyone is subscribed; the server is
    SIGKILLed. The clients reconnect to another server process on the same database with the
    same session and re-send what was unanswered: every mutation is applied exactly once (the
    ones that committed are answered from the stored response, with their original result),
    acknowledged ones are never lost, and all subscribers converge. Each round then starts a
    replacement server for the next kill."""
    victim, survivor, bystander = servers(), servers(), servers()
    names = [unique(f"kill{i}") for i in range(3)]
    writers = [Writer(n, names) for n in names]
    observer = await RawSync.connect(bystander.ws_url)  # on a server never killed
    observed = [
        (observer, await observer.subscribe("testapp:counter_value", {"name": n})) for n in names
    ]
    rng = random.Random()
    try:
        for w in writers:
            await w.connect(victim)
        for r in range(scaled(2, 10)):
            acks = [asyncio.Event() for _ in writers]
            tasks = [
                asyncio.create_task(w.write_until_closed(a, 3))
                for w, a in zip(writers, acks, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(a.wait() for a in acks)), 30)
            await asyncio.sleep(rng.uniform(0, 0.03))
            kill9(victim)
            await asyncio.wait_for(asyncio.gather(*tasks), 30)

            # Writer 0 loses its last answer (it committed: it was answered) as if the
            # socket died before the client read it.
            last = max(writers[0].answers)
            lost = writers[0].answers.pop(last)
            for w in writers:
                await w.connect(survivor)
            replayed = writers[0].answers[last]
            assert replayed["success"] and replayed["result"] == lost["result"], (lost, replayed)
            # answered, not run again (the result above); its ts is the new server's own

            finals = {}
            for w in writers:
                # each mutation ran once: counter_inc answered 1, 2, ..., n
                assert w.values() == list(range(1, len(w.sent) + 1)), (
                    f"round {r}: {w.name}: {len(w.sent)} mutations answered {w.values()}"
                )
                finals[w.name] = len(w.sent)
            db = dict(
                await orm(
                    lambda: list(
                        Counter.objects.filter(name__in=names).values_list("name", "value")
                    )
                )
            )
            assert db == finals, (db, finals)
            for w in writers:
                for (s, q), n in zip(w.watched, names, strict=True):
                    await converge([(s, q)], finals[n], f"round {r}: reconnected {n}")
            for (s, q), n in zip(observed, names, strict=True):
                await converge([(s, q)], finals[n], f"round {r}: observer {n}")
            # the killed server is replaced by a fresh process on the same database
            victim, survivor = survivor, servers()
        # the subscriptions stay live on the last server
        value = await writers[1].mutate()
        assert value == len(writers[1].sent)
        for w in writers:
            await converge([w.watched[1]], value, "after the last round")
        await converge([observed[1]], value, "after the last round")
    finally:
        for w in writers:
            if w.sync is not None:
                await w.sync.close()
        await observer.close()
