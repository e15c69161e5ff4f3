"""DESIGN invariants 1–4 on live servers: consistency, one snapshot per Transition,
read-your-writes (see also test_sync_protocol), precise and deduplicated invalidation."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
import requests
from django.db import connection

from reactive.values import decode
from tests.conftest import start_server
from tests.helpers import orm
from tests.reliability.length import scaled
from tests.sync_client import RawSync
from tests.testapp.models import Channel, Counter, Message

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fresh_server(asgi_server, tmp_path):
    """A server of its own, so that execution counts are not disturbed by other tests."""
    server = start_server(connection.settings_dict["NAME"], tmp_path)
    yield server
    server.stop()


def stats(server) -> dict[str, float]:
    r = requests.post(
        server.url + "/api/query", json={"path": "testapp:listener_stats", "args": {}}, timeout=10
    )
    return decode(r.json()["value"])


def http_mutation(server, path: str, args: dict) -> object:
    r = requests.post(server.url + "/api/mutation", json={"path": path, "args": args}, timeout=30)
    body = r.json()
    assert body["status"] == "success", body
    return decode(body["value"])


async def settle(server, seconds: float = 0.3) -> dict[str, float]:
    """Counters once the listener has been idle for a moment."""
    before = stats(server)
    while True:
        await asyncio.sleep(seconds)
        now = stats(server)
        if now["executions"] == before["executions"]:
            return now
        before = now


async def test_writes_from_outside_the_executor_reach_subscribers(asgi_server):
    channel = await orm(lambda: Channel.objects.create(name=unique("orm")))
    from reactive import ids

    cid = ids.encode_id("channels", channel.pk)
    client = await RawSync.connect(asgi_server.ws_url)
    qid = await client.subscribe("testapp/messages:list", {"channel": cid})

    def bodies() -> list[str]:
        return sorted(m["body"] for m in client.results.get(qid, []))

    await orm(
        lambda: Message.objects.bulk_create(  # bulk_create
            [Message(channel=channel, author="bulk", body=f"b{i}") for i in range(3)]
        )
    )
    await client.until(lambda: bodies() == ["b0", "b1", "b2"])
    await orm(lambda: Message.objects.filter(channel=channel, body="b1").update(body="updated"))
    await client.until(lambda: bodies() == ["b0", "b2", "updated"])

    def raw_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM testapp_message WHERE body = 'b0' AND channel_id = %s", [channel.pk]
            )

    await orm(raw_sql)
    await client.until(lambda: bodies() == ["b2", "updated"])

    def save():  # what admin and `manage.py shell` do
        message = Message.objects.get(channel=channel, body="b2")
        message.body = "saved"
        message.save()

    await orm(save)
    await client.until(lambda: bodies() == ["saved", "updated"])
    await client.close()


async def test_precision_one_channel_write_reruns_only_its_subscription(fresh_server):
    client = await RawSync.connect(fresh_server.ws_url)
    channels = [
        await client.mutation("testapp:create_channel", {"name": unique("p")}) for _ in range(10)
    ]
    queries = [await client.subscribe("testapp/messages:list", {"channel": c}) for c in channels]
    before = await settle(fresh_server)
    await client.mutation("testapp/messages:send", {"channel": channels[3], "body": "x"})
    after = await settle(fresh_server)
    assert after["executions"] - before["executions"] == 1
    assert [m["body"] for m in client.results[queries[3]]] == ["x"]
    assert all(client.results[q] == [] for i, q in enumerate(queries) if i != 3)
    await client.close()


async def test_identical_subscriptions_run_once_per_commit(fresh_server):
    name = unique("dedup")
    http_mutation(fresh_server, "testapp:counter_inc", {"name": name})
    clients = [await RawSync.connect(fresh_server.ws_url) for _ in range(20)]
    for c in clients:
        await c.subscribe("testapp:counter_value", {"name": name})
    before = await settle(fresh_server)
    assert before["subscriptions"] >= 1
    http_mutation(fresh_server, "testapp:counter_inc", {"name": name})
    for c in clients:
        await c.until(lambda c=c: c.results.get(0) == 2)
    after = await settle(fresh_server)
    assert after["executions"] - before["executions"] == 1
    for c in clients:
        await c.close()


async def test_one_snapshot_per_transition_under_concurrent_transfers(asgi_server):
    a, b = unique("acct-a"), unique("acct-b")
    await orm(lambda: [Counter.objects.create(name=n, value=500) for n in (a, b)])
    client = await RawSync.connect(asgi_server.ws_url)
    qa = await client.subscribe("testapp:counter_value", {"name": a})
    qb = await client.subscribe("testapp:counter_value", {"name": b})

    def transfers(seed: int) -> None:
        for i in range(scaled(8, 300)):  # REACTIVE_LONG=1: the long version
            source, target = (a, b) if (i + seed) % 2 else (b, a)
            for _ in range(5):  # this test is about snapshots: a transfer that ran out of
                r = requests.post(
                    asgi_server.url + "/api/mutation",
                    timeout=30,
                    json={
                        "path": "testapp:transfer",  # conflict retries is simply sent again
                        "args": {"source": source, "target": target, "amount": 7 + seed},
                    },
                )
                body = r.json()
                if "write conflict" not in body.get("errorMessage", ""):
                    break
            assert body["status"] == "success", body

    threads = [threading.Thread(target=transfers, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        await asyncio.sleep(0.05)
        try:
            await client.recv(0.05)
        except TimeoutError:
            pass
    final = await orm(lambda: {n: Counter.objects.get(name=n).value for n in (a, b)})
    await client.until(lambda: (client.results[qa], client.results[qb]) == (final[a], final[b]))
    # Replay every Transition: no state the client ever held had a sum that never existed.
    seen: dict[int, float] = {}
    sums = []
    for t in client.transitions:
        for m in t["modifications"]:
            if m["type"] == "QueryUpdated" and m["queryId"] in (qa, qb):
                seen[m["queryId"]] = decode(m["value"])
        if len(seen) == 2:
            sums.append(seen[qa] + seen[qb])
    assert set(sums) == {1000}
    assert len(client.transitions) > 3
    await client.close()


async def test_no_invalidation_is_lost_when_listener_connections_die(asgi_server):
    name = unique("lost")
    await orm(lambda: Counter.objects.create(name=name, value=0))
    client = await RawSync.connect(asgi_server.ws_url)
    qid = await client.subscribe("testapp:counter_value", {"name": name})

    def write_and_kill(value):
        Counter.objects.filter(name=name).update(value=value)
        with connection.cursor() as cursor:  # every connection of the live server
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() "
                "AND application_name = 'reactive-test-server'"
            )

    for i in range(1, 8):
        await orm(write_and_kill, i)
        await asyncio.sleep(0.05)
    await orm(lambda: Counter.objects.filter(name=name).update(value=100))
    await client.until(lambda: client.results.get(qid) == 100, timeout=20)
    # and the server is healthy afterwards
    await client.mutation("testapp:counter_inc", {"name": name})
    assert client.results[qid] == 101
    await client.close()


async def test_two_processes_share_one_database(asgi_server, fresh_server):
    name = unique("multi")
    on_first = await RawSync.connect(asgi_server.ws_url)
    on_second = await RawSync.connect(fresh_server.ws_url)
    q1 = await on_first.subscribe("testapp:counter_value", {"name": name})
    q2 = await on_second.subscribe("testapp:counter_value", {"name": name})
    http_mutation(asgi_server, "testapp:counter_inc", {"name": name})  # through process 1
    await on_second.until(lambda: on_second.results.get(q2) == 1)
    await on_second.mutation("testapp:counter_inc", {"name": name})  # through process 2
    await on_first.until(lambda: on_first.results.get(q1) == 2)
    await orm(lambda: Counter.objects.filter(name=name).update(value=50))  # outside both
    await on_first.until(lambda: on_first.results.get(q1) == 50)
    await on_second.until(lambda: on_second.results.get(q2) == 50)
    await on_first.close()
    await on_second.close()
