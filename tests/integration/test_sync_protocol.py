"""The sync protocol over a real socket: versions, transitions, mutations, errors, limits."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import uuid

import pytest
import requests
import websockets

from reactive.sync.protocol import decode_ts
from tests.conftest import start_server
from tests.raw_ws import frame, open_ws
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_subscribe_mutate_and_read_your_writes(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    name = unique("ch")
    channel = await client.mutation("testapp:create_channel", {"name": name})
    qid = await client.subscribe("testapp/messages:list", {"channel": channel})
    first = client.transitions[-1]
    assert first["endVersion"]["querySet"] == 1
    (mod,) = first["modifications"]
    assert mod == {
        "type": "QueryUpdated",
        "queryId": qid,
        "value": [],
        "logLines": [],
        "journal": None,
    }
    await client.mutation("testapp/messages:send", {"channel": channel, "body": "hi"})
    # by the time the mutation is complete (response + Transition >= its ts), the write shows
    assert [m["body"] for m in client.results[qid]] == ["hi"]
    await client.close()


async def test_mutation_without_subscriptions_still_gets_a_transition(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url, path="/api/sync")
    response = await client.call("Mutation", "testapp:create_channel", {"name": unique("x")})
    assert response["success"] and set(response) >= {"ts", "logLines", "result"}
    assert client.saw_writes_of(0)
    # a mutation that writes nothing completes too
    response = await client.call("Mutation", "testapp:now_random")
    assert response["success"] and client.saw_writes_of(1)
    await client.close()


async def test_failed_mutation_and_actions(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    response = await client.call("Mutation", "testapp:write_then_fail", {"name": unique("f")})
    assert response["success"] is False
    assert response["errorData"] == {"code": "ROLLED_BACK"} and "logLines" in response
    response = await client.call("Action", "testapp:plain_action", {"x": 21})
    assert response["type"] == "ActionResponse" and response["result"] == {"doubled": 42.0}
    response = await client.call("Mutation", "testapp:secret")
    assert not response["success"]
    assert response["result"] == "Could not find public function for 'testapp:secret'"
    await client.close()


async def test_two_queries_update_in_one_transition_and_remove(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    a, b = unique("a"), unique("b")
    await client.mutation("testapp:create_channel", {"name": a})
    q1 = await client.subscribe("testapp:channel_names")
    q2 = await client.subscribe("testapp:counter_value", {"name": a})
    before = len(client.transitions)
    await client.mutation("testapp:create_channel", {"name": b})
    assert b in client.results[q1]
    changed = [m["queryId"] for t in client.transitions[before:] for m in t["modifications"]]
    assert changed.count(q1) == 1 and q2 not in changed  # unchanged results are not re-sent
    await client.unsubscribe(q2)
    await client.until(
        lambda: any(
            m == {"type": "QueryRemoved", "queryId": q2}
            for m in client.transitions[-1]["modifications"]
        )
    )
    await client.modify([])  # an empty change still moves the version
    await client.until(lambda: client.version["querySet"] == client.query_set)
    await client.close()


async def test_identity_from_the_django_session(asgi_server):
    session = requests.Session()
    session.get(asgi_server.url + "/test/login", params={"username": unique("ws-user")})
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    client = await RawSync.connect(asgi_server.ws_url, additional_headers={"Cookie": cookie})
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["issuer"] == "django"
    # Authenticate None keeps the session identity and moves the identity version
    await client.send({"type": "Authenticate", "tokenType": "None", "baseVersion": 0})
    await client.until(lambda: client.version["identity"] == 1)
    assert client.results[qid]["issuer"] == "django"
    await client.close()


async def test_token_authentication_is_refused_clearly(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    await client.send(
        {"type": "Authenticate", "tokenType": "User", "value": "x.y.z", "baseVersion": 0}
    )
    message = await client.recv()
    assert message["type"] == "AuthError" and message["baseVersion"] == 0
    assert message["authUpdateAttempted"] is True
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv(5)


async def test_resent_mutation_is_answered_not_run_again(asgi_server):
    session_id = str(uuid.uuid4())
    name = unique("once")
    first = await RawSync.connect(asgi_server.ws_url, session_id=session_id)
    r1 = await first.call("Mutation", "testapp:create_channel", {"name": name}, request_id=7)
    await first.close()
    again = await RawSync.connect(
        asgi_server.ws_url, session_id=session_id, connection_count=1
    )  # a reconnect, as the JS client sends
    r2 = await again.call("Mutation", "testapp:create_channel", {"name": name}, request_id=7)
    assert r1["success"] and r2["success"] and r2["result"] == r1["result"]
    # the replay's ts is that of the first snapshot seen to include the write: never earlier
    assert decode_ts(r2["ts"]) >= decode_ts(r1["ts"]) and again.saw_writes_of(7)
    other = await RawSync.connect(asgi_server.ws_url)  # another session: a real second call
    r3 = await other.call("Mutation", "testapp:create_channel", {"name": name}, request_id=7)
    assert not r3["success"] and "constraint" in r3["result"]
    for c in (again, other):
        await c.close()


async def test_pings_when_idle(asgi_server, tmp_path):
    from django.db import connection

    server = start_server(
        connection.settings_dict["NAME"],
        tmp_path,
        env_extra={"REACTIVE_TEST_SYNC": json.dumps({"ping_seconds": 0.3})},
    )
    try:
        client = await RawSync.connect(server.ws_url)
        assert (await client.recv(3)) == {"type": "Ping"}
        assert (await client.recv(3)) == {"type": "Ping"}
        await client.close()
    finally:
        server.stop()


async def test_too_many_queries_fail_individually(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    adds = [
        {"type": "Add", "queryId": i, "udfPath": "testapp:ping", "args": [{}]} for i in range(70)
    ]  # tests/settings.py allows 64 per socket
    await client.modify(adds)
    await client.until(lambda: len(client.results) + len(client.errors) == 70)
    assert len(client.results) == 64 and len(client.errors) == 6
    assert "Too many queries" in next(iter(client.errors.values()))["errorMessage"]
    await client.close()


BAD_FRAMES = [
    ("not json", "JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"type": "Nope"}), "unknown message type"),
    (
        json.dumps(
            {"type": "ModifyQuerySet", "baseVersion": 5, "newVersion": 6, "modifications": []}
        ),
        "BaseVersionMismatch",
    ),
    (
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [{"type": "Remove", "queryId": 3}],
            }
        ),
        "unknown query id",
    ),
    (
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": 1, "udfPath": "testapp:ping", "args": [{}]}
                ]
                * 2,
            }
        ),
        "Duplicate query id",
    ),
    (
        json.dumps({"type": "Mutation", "requestId": -1, "udfPath": "x:y", "args": [{}]}),
        "requestId",
    ),
    (
        json.dumps({"type": "Mutation", "requestId": 1, "udfPath": "x:y", "args": {}}),
        "one-element array",
    ),
    (json.dumps({"type": "Authenticate", "tokenType": "Bogus", "baseVersion": 0}), "tokenType"),
    (json.dumps({"type": "Authenticate", "tokenType": "None", "baseVersion": 4}), "baseVersion"),
    (b"\x00\x01binary", "binary"),
    ("x" * (1024 * 1024 + 10), "over the limit"),
]


@pytest.mark.parametrize(
    "frame, match", BAD_FRAMES, ids=[f"bad{i}" for i in range(len(BAD_FRAMES))]
)
async def test_bad_frames_get_a_fatal_error_and_a_close(asgi_server, frame, match):
    client = await RawSync.connect(asgi_server.ws_url)
    await client.ws.send(frame)
    message = await client.recv()
    assert message["type"] == "FatalError" and match in message["error"]
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv(5)
    healthy = await RawSync.connect(asgi_server.ws_url)  # the server carries on
    await healthy.subscribe("testapp:ping")
    assert healthy.results[0] == "pong"
    await healthy.close()


async def test_foreign_origins_are_refused(asgi_server):
    with pytest.raises(websockets.InvalidStatus) as exc:
        await websockets.connect(asgi_server.ws_url + "/api/sync", origin="http://evil.example")
    assert exc.value.response.status_code == 403
    client = await RawSync.connect(asgi_server.ws_url, origin="http://127.0.0.1")
    await client.subscribe("testapp:ping")
    await client.close()


async def test_unknown_and_internal_queries_fail_as_queries(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    q1 = await client.subscribe("testapp:nope")
    q2 = await client.subscribe("testapp:secret")
    q3 = await client.subscribe("testapp:fail_convex")
    assert "Could not find public function" in client.errors[q1]["errorMessage"]
    assert "Could not find public function" in client.errors[q2]["errorMessage"]
    assert client.errors[q3]["errorData"] == {"code": "NOPE", "n": {"$integer": "BwAAAAAAAAA="}}
    await client.close()


async def test_timestamps_never_go_backwards_across_sockets(asgi_server):
    a = await RawSync.connect(asgi_server.ws_url)
    b = await RawSync.connect(asgi_server.ws_url)
    await a.subscribe("testapp:channel_names")
    await b.subscribe("testapp:channel_names")
    for _ in range(3):
        await a.mutation("testapp:create_channel", {"name": unique("t")})
    await asyncio.sleep(0.2)
    ts = [decode_ts(t["endVersion"]["ts"]) for t in a.transitions]
    assert ts == sorted(ts)
    await a.close()
    await b.close()


async def test_gapless_pagination_with_journals(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    author = unique("pager")
    channel = await client.mutation("testapp:create_channel", {"name": unique("pg")})

    async def send(score: int) -> str:
        return await client.mutation(
            "testapp/messages:send",
            {"channel": channel, "body": f"s{score}", "author": author, "score": score},
        )

    for score in (10, 20, 30):
        await send(score)
    args = {"author": author, "paginationOpts": {"numItems": 2, "cursor": None, "id": 1}}
    p1 = await client.subscribe("testapp/messages:page_by_score", args)
    first = client.results[p1]
    assert [m["score"] for m in first["page"]] == [10, 20] and not first["isDone"]
    journal = client.journals[p1]
    assert journal and json.loads(journal)["endCursor"] == first["continueCursor"]
    p2 = await client.subscribe(
        "testapp/messages:page_by_score",
        {
            "author": author,
            "paginationOpts": {"numItems": 2, "cursor": first["continueCursor"], "id": 1},
        },
    )
    assert [m["score"] for m in client.results[p2]["page"]] == [30]
    assert client.results[p2]["isDone"]

    def scores(qid: int) -> list[float]:
        return [m["score"] for m in client.results[qid]["page"]]

    # rows inside page 1's range make page 1 grow; rows after it go to the last page
    await send(15)
    await send(40)
    assert scores(p1) == [10, 15, 20] and scores(p2) == [30, 40]
    # enough growth: the page offers a split point
    await send(12)
    grown = client.results[p1]
    assert len(grown["page"]) == 4 and grown["pageStatus"] == "SplitRecommended"
    assert grown["splitCursor"]
    # a client re-subscribing with the journal (after a reconnect) gets the same page end
    again = await RawSync.connect(asgi_server.ws_url)
    q = await again.subscribe("testapp/messages:page_by_score", args, journal=journal)
    assert [m["score"] for m in again.results[q]["page"]] == [10, 12, 15, 20]
    fresh = await again.subscribe(
        "testapp/messages:page_by_score",
        {"author": author, "paginationOpts": {"numItems": 2, "cursor": None, "id": 2}},
    )
    assert [m["score"] for m in again.results[fresh]["page"]] == [10, 12]
    for c in (client, again):
        await c.close()


async def test_split_required_page_over_the_sync_protocol(asgi_server):
    """maximumBytesRead (here 10 bytes: one document per page) stops a subscribed page early:
    SplitRequired with a split point and a continueCursor. The journaled page keeps its end and
    its status as rows arrive; the halves a client subscribes to (explicit endCursor) are never
    cut and cover the page; the continueCursor pages on without gaps or duplicates."""
    client = await RawSync.connect(asgi_server.ws_url)
    author = unique("bytes")
    channel = await client.mutation("testapp:create_channel", {"name": unique("pb")})

    async def send(score: int) -> None:
        await client.mutation(
            "testapp/messages:send",
            {"channel": channel, "body": f"s{score}", "author": author, "score": score},
        )

    def opts(**more: object) -> dict[str, object]:
        return {
            "author": author,
            "paginationOpts": {"numItems": 3, "maximumBytesRead": 10, "id": 1, **more},
        }

    def scores(qid: int) -> list[float]:
        return [m["score"] for m in client.results[qid]["page"]]

    for score in (10, 20, 30):
        await send(score)
    p1 = await client.subscribe("testapp/messages:page_by_score", opts(cursor=None))
    first = client.results[p1]
    assert scores(p1) == [10] and not first["isDone"]
    assert first["pageStatus"] == "SplitRequired" and first["splitCursor"]
    assert json.loads(client.journals[p1]) == {
        "endCursor": first["continueCursor"],
        "splitRequired": True,
    }
    await send(5)  # inside page 1's range: the journaled page grows, still to be split
    assert scores(p1) == [5, 10] and client.results[p1]["pageStatus"] == "SplitRequired"
    split = client.results[p1]["splitCursor"]
    low = await client.subscribe(
        "testapp/messages:page_by_score", opts(cursor=None, endCursor=split)
    )
    high = await client.subscribe(
        "testapp/messages:page_by_score", opts(cursor=split, endCursor=first["continueCursor"])
    )
    assert scores(low) + scores(high) == [5, 10]
    assert client.results[low]["pageStatus"] is None is client.results[high]["pageStatus"]
    seen, cursor = scores(p1), first["continueCursor"]
    while True:
        q = await client.subscribe("testapp/messages:page_by_score", opts(cursor=cursor))
        seen += scores(q)
        if client.results[q]["isDone"]:
            break
        cursor = client.results[q]["continueCursor"]
    assert seen == [5, 10, 20, 30]
    await client.close()


async def test_a_failing_subscription_recovers_when_its_data_changes(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    text = unique("note")
    first = await client.mutation("testapp:add_note", {"text": text})
    second = await client.mutation("testapp:add_note", {"text": text})
    qid = await client.subscribe("testapp:only_note", {"text": text})
    assert "more than one" in client.errors[qid]["errorMessage"]
    await client.mutation("testapp:remove_note", {"id": second})
    await client.until(lambda: qid in client.results)
    assert client.results[qid]["_id"] == first
    await client.close()


def _stalled_socket(url: str, frames: list[dict]) -> socket.socket:
    """A WebSocket client that sends ``frames`` and then never reads."""
    sock = open_ws(url)
    for message in frames:
        sock.sendall(frame(message))
    return sock


async def test_a_socket_too_slow_to_take_its_updates_is_dropped(asgi_server, tmp_path):
    """uvicorn applies TCP back-pressure to sends: a client that stops reading blocks them, and
    the server closes it after SYNC.slow_socket_seconds instead of buffering without end."""
    from django.db import connection

    server = start_server(
        connection.settings_dict["NAME"],
        tmp_path,
        server="uvicorn",
        env_extra={"REACTIVE_TEST_SYNC": json.dumps({"slow_socket_seconds": 1.0})},
    )
    try:
        name = unique("slow")
        stalled = _stalled_socket(
            server.url,
            [
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
                        }
                    ],
                },
            ],
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while "too slow" not in server.log():
            assert loop.time() < deadline, server.log()[-2000:]
            await asyncio.to_thread(
                requests.post,
                server.url + "/api/mutation",
                timeout=10,
                json={"path": "testapp:counter_inc", "args": {"name": name}},
            )
        stalled.close()
        healthy = await RawSync.connect(server.ws_url)  # the server is fine
        await healthy.subscribe("testapp:ping")
        await healthy.close()
    finally:
        server.stop()


async def test_a_slow_subscription_does_not_hold_up_the_others(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    slow = await client.subscribe("testapp:pg_sleep", {"seconds": 30}, wait=False)
    name = unique("fast")
    fast = await client.subscribe("testapp:counter_value", {"name": name}, wait=False)
    await client.until(lambda: slow in client.errors and fast in client.results, timeout=10)
    assert "execution time limit" in client.errors[slow]["errorMessage"]
    await client.mutation("testapp:counter_inc", {"name": name})
    assert client.results[fast] == 1
    await client.close()


async def test_a_subscription_failing_in_the_database_does_not_fail_the_others(asgi_server):
    """A tick's re-runs share its transaction without a savepoint each. One that leaves that
    transaction failed (a database error, raised or caught by the function) sends the tick round
    again with a savepoint per re-run: every other query in it still gets its right result, in
    this tick and in the next ones."""
    client = await RawSync.connect(asgi_server.ws_url)
    name = unique("dberr")
    await client.mutation("testapp:counter_inc", {"name": name})
    good = [await client.subscribe("testapp:counter_value", {"name": name}) for _ in range(2)]
    raised = await client.subscribe("testapp:counter_then_sql_error", {"name": name})
    caught = await client.subscribe(
        "testapp:counter_then_sql_error", {"name": name, "swallow": True}
    )
    assert raised in client.errors and caught in client.errors
    assert all(client.results[q] == 1 for q in good)
    for n in (2, 3):
        # each write re-runs all four in one tick (they all read the counter)
        await client.mutation("testapp:counter_inc", {"name": name})
        await client.until(lambda n=n: all(client.results.get(q) == n for q in good), timeout=10)
        # (the server's errors reach clients as "Server Error"; a caught database error
        # is an error too: the transaction it left failed is not a result)
        assert raised in client.errors and caught in client.errors
    await client.close()


async def test_max_observed_timestamp_is_never_gone_back_on(asgi_server):
    """Connect's maxObservedTimestamp (what a client saw from another server process): this
    socket's Transitions start at or past it, and its mutations still read their writes. One
    within a minute of the clock moves the server's clock; one further ahead is kept to its
    socket (a client cannot push every socket's timestamps far ahead)."""
    import time

    name = unique("ahead")
    for ahead_s in (30, 3600):
        seen = time.time_ns() + ahead_s * 1_000_000_000
        client = await RawSync.connect(asgi_server.ws_url, max_observed_ts=seen)
        qid = await client.subscribe("testapp:channel_names")
        assert decode_ts(client.transitions[0]["endVersion"]["ts"]) >= seen
        await client.mutation("testapp:create_channel", {"name": f"{name}-{ahead_s}"})
        assert f"{name}-{ahead_s}" in client.results[qid]
        assert decode_ts(client.responses[0]["ts"]) > seen
        bystander = await RawSync.connect(asgi_server.ws_url)
        await bystander.subscribe("testapp:channel_names")
        bystander_ts = decode_ts(bystander.transitions[0]["endVersion"]["ts"])
        if ahead_s == 30:
            assert bystander_ts >= seen  # the server's clock moved past it
        else:
            assert bystander_ts < seen  # not pushed by another socket's far-off value
        await client.close()
        await bystander.close()


async def test_max_observed_timestamp_beyond_i64_is_refused(asgi_server):
    ws = await websockets.connect(asgi_server.ws_url + "/api/1.48.0/sync")
    await ws.send(
        json.dumps(
            {
                "type": "Connect",
                "sessionId": str(uuid.uuid4()),
                "connectionCount": 1,
                "clientTs": 0,
                "maxObservedTimestamp": base64.b64encode(
                    (2**64 - 1).to_bytes(8, "little")
                ).decode(),
            }
        )
    )
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "FatalError"
    assert "maxObservedTimestamp" in message["error"]
    await ws.close()
