"""Regression tests for races between a socket's messages and the listener's tick, and for
database faults in the middle of a tick (each was reproduced against a live server first)."""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest

from reactive.sync.wakeups import conninfo
from tests.conftest import start_server
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def terminate(where: str) -> list[int]:
    """Terminate the test database's backends matching a pg_stat_activity condition."""
    async with await psycopg.AsyncConnection.connect(
        autocommit=True, **conninfo("default")
    ) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            f"AND application_name = 'reactive-test-server' AND {where}"
        )
        pids = [row[0] for row in await cur.fetchall()]
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        return pids


async def test_a_query_removed_and_re_added_during_a_tick_gets_its_result(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    add = {"type": "Add", "queryId": 0, "udfPath": "testapp:slow", "args": [{"seconds": 0.6}]}
    await client.modify([add])
    await asyncio.sleep(0.3)  # the tick has taken this query and is running it
    await client.modify([{"type": "Remove", "queryId": 0}])
    await client.modify([add])
    await client.until(lambda: client.version["querySet"] == 3 and client.results.get(0) == "done")
    await client.close()


async def test_an_add_cancelled_in_the_same_message(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    await client.modify(
        [
            {"type": "Add", "queryId": 7, "udfPath": "testapp:ping", "args": [{}]},
            {"type": "Remove", "queryId": 7},
        ]
    )
    await client.until(lambda: client.version["querySet"] == 1)
    assert not any(m["type"] == "FatalError" for m in client.others)
    await client.subscribe("testapp:ping")  # the socket is healthy
    await client.close()


async def test_identity_change_keeps_refused_queries_refused(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    await client.modify(
        [
            {"type": "Add", "queryId": i, "udfPath": "testapp:echo", "args": [{"i": i}]}
            for i in range(66)
        ]
    )  # the limit is 64
    await client.until(lambda: len(client.results) + len(client.errors) == 66)
    await client.send({"type": "Authenticate", "tokenType": "None", "baseVersion": 0})
    await client.until(lambda: client.version["identity"] == 1)
    await asyncio.sleep(0.3)
    assert len(client.errors) == 2 and len(client.results) == 64
    await client.close()


async def test_a_failed_tick_does_not_lose_what_it_owed(asgi_server, tmp_path):
    from django.db import connection

    server = start_server(connection.settings_dict["NAME"], tmp_path)
    try:
        name = unique("ft")
        writer = await RawSync.connect(server.ws_url)
        await writer.mutation("testapp:counter_inc", {"name": name})
        first = await RawSync.connect(server.ws_url)
        await first.subscribe("testapp:counter_value", {"name": name})
        second = await RawSync.connect(server.ws_url)
        await asyncio.sleep(0.3)
        # idle backends include the listener's persistent connection: its next tick fails
        await terminate("state = 'idle' AND query NOT LIKE 'LISTEN%%'")
        # a query the first socket already holds needs no new run: only the tick delivers it
        await second.subscribe("testapp:counter_value", {"name": name}, wait=False)
        await second.until(lambda: second.results.get(0) == 1, timeout=8)
        for c in (writer, first, second):
            await c.close()
    finally:
        server.stop()


async def test_a_connection_lost_mid_tick_publishes_no_errors(asgi_server, tmp_path):
    from django.db import connection

    server = start_server(connection.settings_dict["NAME"], tmp_path)
    try:
        names = [unique("k") for _ in range(4)]
        client = await RawSync.connect(server.ws_url)

        async def kill_the_sleeper() -> None:
            for _ in range(300):
                if await terminate("state = 'active' AND query LIKE 'SELECT pg_sleep%%'"):
                    return
                await asyncio.sleep(0.02)

        killer = asyncio.create_task(kill_the_sleeper())
        await client.modify(
            [
                {
                    "type": "Add",
                    "queryId": i,
                    "udfPath": "testapp:counter_value",
                    "args": [{"name": n}],
                }
                for i, n in enumerate(names)
            ]
            + [
                {
                    "type": "Add",
                    "queryId": 99,
                    "udfPath": "testapp:pg_sleep",
                    "args": [{"seconds": 0.5}],
                }
            ]
        )
        await killer
        await client.until(lambda: len(client.results) + len(client.errors) == 5, timeout=10)
        assert not any("Server Error" in e["errorMessage"] for e in client.errors.values()), (
            json.dumps(client.errors)
        )
        writer = await RawSync.connect(server.ws_url)
        for n in names:
            await writer.mutation("testapp:counter_inc", {"name": n})
        await client.until(lambda: all(client.results.get(i) == 1 for i in range(4)))
        for c in (client, writer):
            await c.close()
    finally:
        server.stop()


async def test_a_reused_query_id_removed_again_is_removed(asgi_server):
    """Remove + re-Add of one id, then Remove again before the re-Add's Transition: the second
    removal must not be dropped with the first (found by the stateful model test)."""
    client = await RawSync.connect(asgi_server.ws_url)
    await client.subscribe("testapp:ping")  # query 0, version 1
    await client.modify(
        [
            {"type": "Remove", "queryId": 0},  # version 2: id 0 reused, slow
            {"type": "Add", "queryId": 0, "udfPath": "testapp:slow", "args": [{"seconds": 0.5}]},
        ]
    )
    await asyncio.sleep(0.2)
    await client.unsubscribe(0)  # version 3
    await client.until(lambda: client.version["querySet"] == 3)
    await client.until(lambda: 0 not in client.results, timeout=3)
    await client.close()
