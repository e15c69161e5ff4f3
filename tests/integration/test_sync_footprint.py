"""What an idle socket costs the server: the asyncio tasks it keeps alive.

A subscribed socket that sends no mutation runs the server's own task for the connection,
Channels' task reading its frames, and the consumer's writer: no mutation worker until its first
Mutation, and no Channels layer channel (nor the task waiting on it), which the consumer never
uses, even though the test settings configure a layer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

SOCKETS = 10
PER_SOCKET = 3  # the server's connection task, Channels' frame reader, the writer


@pytest.fixture
def db_name(django_db_setup: None) -> str:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    return str(name)


async def _tasks(server) -> int:
    r = await asyncio.to_thread(server.post, "/api/query", {"path": "testapp:listener_stats"})
    return int(r.json()["value"]["tasks"])


async def test_an_idle_subscribed_socket_keeps_three_tasks_and_a_mutation_adds_one(asgi_server):
    name = f"foot-{uuid.uuid4().hex[:10]}"
    # the first socket starts the process's listener (and its own tasks): count from after it
    first = await RawSync.connect(asgi_server.ws_url)
    await first.subscribe("testapp:counter_value", {"name": name})
    before = await _tasks(asgi_server)
    assert before > 0
    clients = [await RawSync.connect(asgi_server.ws_url) for _ in range(SOCKETS)]
    for client in clients:
        await client.subscribe("testapp:counter_value", {"name": name})
    assert await _tasks(asgi_server) - before <= PER_SOCKET * SOCKETS
    assert await clients[0].mutation("testapp/bench:bump", {"name": name}) == 1
    for client in clients:  # every socket is live: it gets the write
        await client.until(lambda c=client: c.results[0] == 1)
    # the socket that sent a mutation now has its worker; the others still have none
    assert await _tasks(asgi_server) - before <= PER_SOCKET * SOCKETS + 1
    for client in [first, *clients]:
        await client.close()


async def test_the_sync_engine_sets_the_collectors_threshold_and_freezes_start_up(asgi_server):
    """By default (SYNC.gc_threshold 50,000), once a socket has started the listener, young
    collections wait for that many new objects, and what was alive at start-up is frozen."""
    client = await RawSync.connect(asgi_server.ws_url)
    await client.subscribe("testapp:counter_value", {"name": f"gc-{uuid.uuid4().hex[:10]}"})
    r = await asyncio.to_thread(asgi_server.post, "/api/query", {"path": "testapp:listener_stats"})
    stats = r.json()["value"]
    assert stats["gc_threshold"] == 50_000
    assert stats["gc_frozen"] > 10_000  # Django and the project's modules, at least
    await client.close()


async def test_the_collector_is_left_alone_when_the_setting_is_none(
    db_name: str, tmp_path: Path
) -> None:
    """SYNC.gc_threshold None: the process keeps CPython's thresholds and freezes nothing."""
    server = start_server(
        db_name, tmp_path, env_extra={"REACTIVE_TEST_SYNC": json.dumps({"gc_threshold": None})}
    )
    try:
        client = await RawSync.connect(server.ws_url)
        await client.subscribe("testapp:counter_value", {"name": f"gc-{uuid.uuid4().hex[:10]}"})
        r = await asyncio.to_thread(server.post, "/api/query", {"path": "testapp:listener_stats"})
        stats = r.json()["value"]
        assert stats["gc_threshold"] == 700
        assert stats["gc_frozen"] == 0
        await client.close()
    finally:
        server.stop()
