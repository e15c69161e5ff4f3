"""Timestamps against the clients' rules, in the races that break them: a slow tick in flight
while a mutation commits (the Python and Rust clients complete a mutation on the first
Transition after its response), a socket blocked in send while later ticks run (uvicorn's
back-pressure), reconnects with maxObservedTimestamp (fresh processes, made-up values)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
import requests

from reactive.sync.protocol import MAX_TS, decode_ts
from tests.conftest import start_server
from tests.raw_ws import frame, open_ws, read_message
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_first_transition_after_response_shows_the_write(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    names = await client.subscribe("testapp:channel_names")
    # a slow subscription (any socket's) makes every tick that re-runs it long
    await client.subscribe("testapp:slow", {"seconds": 0.7})
    # another writer starts a tick N (its snapshot is taken right away, then slow runs 0.7 s)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(
        None,
        lambda: asgi_server.post(
            "/api/mutation", {"path": "testapp:create_channel", "args": {"name": unique("other")}}
        ),
    )
    await asyncio.sleep(0.2)
    mine = unique("mine")
    rid = 0
    await client.send(
        {
            "type": "Mutation",
            "requestId": rid,
            "udfPath": "testapp:create_channel",
            "args": [{"name": mine}],
        }
    )
    await client.until(lambda: rid in client.responses)
    resp_ts = decode_ts(client.responses[rid]["ts"])
    n_before = client.arrived[rid]
    while len(client.transitions) <= n_before:
        await client.recv()
    first = client.transitions[n_before]
    first_ts = decode_ts(first["endVersion"]["ts"])
    # Python/Rust rule: the mutation resolves now; its write must be visible
    assert first_ts >= resp_ts and mine in client.results[names], (
        f"first Transition after MutationResponse: ts {first_ts - resp_ts:+} ns vs the "
        f"mutation's, own write shown: {mine in client.results[names]}"
    )
    await client.close()


def test_official_python_client_reads_its_write(asgi_server):
    from convex import ConvexClient

    client = ConvexClient(asgi_server.url)
    names_sub = client.subscribe("testapp:channel_names")
    next(names_sub)
    slow_sub = client.subscribe("testapp:slow", {"seconds": 0.7})
    next(slow_sub)
    failures = 0
    for _ in range(3):
        # another writer starts a tick whose snapshot predates our mutation
        threading.Thread(
            target=asgi_server.post,
            args=(
                "/api/mutation",
                {"path": "testapp:create_channel", "args": {"name": unique("other")}},
            ),
        ).start()
        time.sleep(0.25)
        mine = unique("mine")
        client.mutation("testapp:create_channel", {"name": mine})  # resolved
        seen = client.query("testapp:channel_names")  # served from the live subscription
        failures += mine not in seen
        time.sleep(1.0)
    assert failures == 0, f"{failures}/3 mutations did not read their own write"


async def test_a_transition_never_carries_results_newer_than_its_ts(tmp_path):
    """A socket blocked in send (uvicorn applies back-pressure) keeps the results of the tick it
    was last given, with that tick's ts, even after later ticks (one showing its own mutation)
    updated the shared subscriptions."""
    from django.db import connection

    server = start_server(
        connection.settings_dict["NAME"],
        tmp_path,
        server="uvicorn",
        env_extra={"REACTIVE_TEST_SYNC": json.dumps({"slow_socket_seconds": 120.0})},
    )
    try:
        name = f"c-{uuid.uuid4().hex[:8]}"

        def inc() -> dict:
            return requests.post(
                server.url + "/api/mutation",
                timeout=10,
                json={"path": "testapp:counter_inc", "args": {"name": name}},
            ).json()

        await asyncio.to_thread(inc)
        sock = open_ws(server.url)
        for f in (
            {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0},
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {
                        "type": "Add",
                        "queryId": 0,
                        "udfPath": "testapp:big_counter",
                        "args": [{"name": name}],
                    },
                    {
                        "type": "Add",
                        "queryId": 1,
                        "udfPath": "testapp:counter_value",
                        "args": [{"name": name}],
                    },
                ],
            },
        ):
            sock.sendall(frame(f))
        for _ in range(25):  # fill the pipe: the socket's writer ends up blocked in send
            await asyncio.to_thread(inc)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(inc)  # tick N: ready=(N, L_N)
        await asyncio.sleep(0.5)
        sock.sendall(
            frame(
                {
                    "type": "Mutation",
                    "requestId": 0,
                    "udfPath": "testapp:counter_inc",
                    "args": [{"name": name}],
                }
            )
        )
        await asyncio.sleep(1.0)  # m commits; later ticks see it while its response is blocked
        # now drain everything
        sock.settimeout(5)
        msgs = []
        try:
            while True:
                msgs.append(await asyncio.to_thread(read_message, sock))
        except (TimeoutError, EOFError):
            pass
        resp = next(m for m in msgs if m["type"] == "MutationResponse")
        m_ts, m_val = decode_ts(resp["ts"]), resp["result"]
        bad = []
        for i, m in enumerate(msgs):
            if m["type"] != "Transition":
                continue
            ts = decode_ts(m["endVersion"]["ts"])
            vals = [mod.get("value") for mod in m["modifications"] if mod["queryId"] == 1]
            if vals and vals[0] >= m_val and ts < m_ts:
                bad.append((i, ts - m_ts, vals[0]))
        assert not bad, f"Transitions showing the mutation's write below its ts: {bad}"
        sock.close()
    finally:
        server.stop()


async def test_the_first_transition_after_a_reconnect_is_not_below_max_observed(asgi_server):
    other = await RawSync.connect(asgi_server.ws_url)  # holds the shared query + a slow one
    await other.subscribe("testapp:channel_names")
    await other.subscribe("testapp:slow", {"seconds": 0.7})
    a = await RawSync.connect(asgi_server.ws_url)
    await a.subscribe("testapp:channel_names")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(
        None,
        lambda: asgi_server.post(
            "/api/mutation",
            {"path": "testapp:create_channel", "args": {"name": f"o-{uuid.uuid4().hex[:8]}"}},
        ),
    )
    await asyncio.sleep(0.15)  # tick L is running the slow query
    await a.send(
        {
            "type": "Mutation",
            "requestId": 0,
            "udfPath": "testapp:create_channel",
            "args": [{"name": f"m-{uuid.uuid4().hex[:8]}"}],
        }
    )
    await a.until(lambda: 0 in a.responses)
    observed = max(
        [decode_ts(a.responses[0]["ts"])]
        + [decode_ts(t["endVersion"]["ts"]) for t in a.transitions]
    )
    await a.close()
    b = await RawSync.connect(
        asgi_server.ws_url, session_id=a.session_id, connection_count=1, max_observed_ts=observed
    )
    await b.subscribe("testapp:channel_names")
    first = decode_ts(b.transitions[0]["endVersion"]["ts"])
    assert first >= observed
    for c in (b, other):
        await c.close()


async def test_a_clock_ahead_is_honoured_without_drifting_across_restarts(tmp_path):
    """A client that saw a server clock 2 minutes ahead reconnects to fresh processes (a deploy)
    again and again: each honours it, none drifts further ahead than the difference."""
    from django.db import connection

    seen = time.time_ns() + 120 * 10**9
    for i in range(3):
        server = start_server(connection.settings_dict["NAME"], tmp_path)
        try:
            c = await RawSync.connect(server.ws_url, max_observed_ts=seen, connection_count=i + 1)
            await c.subscribe("testapp:ping")
            got = decode_ts(c.transitions[-1]["endVersion"]["ts"])
            assert seen <= got < time.time_ns() + 180 * 10**9, (i, got - seen)
            seen = got
            await c.close()
        finally:
            server.stop()


async def test_a_made_up_max_observed_timestamp_cannot_push_timestamps_past_i64(asgi_server):
    c = await RawSync.connect(
        asgi_server.ws_url, max_observed_ts=MAX_TS - 1_000_000, connection_count=1
    )
    await c.subscribe("testapp:channel_names")
    await c.mutation("testapp:create_channel", {"name": unique("huge")})
    sent = [decode_ts(t["endVersion"]["ts"]) for t in c.transitions]
    sent.append(decode_ts(c.responses[0]["ts"]))
    assert max(sent) < time.time_ns() + 60 * 10**9  # not honoured: days ahead of any clock
    await c.close()
