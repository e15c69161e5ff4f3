"""Full-text search subscriptions over the WebSocket (a live server of its own, so execution
counts are this test's): a write that can change a search's result re-runs it, one that
cannot does not, and the pushed value always equals a fresh run.

The search: ``bodies(text="apple", channel=ch)`` over `articles` (search index `search_body`,
filter field `channel`). Its read set is the rows of channel ``ch`` (their text digest and tie
order) plus a `DocRead` of each row returned (decision 121).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from django.db import connection

from reactive.testing import ReactiveClient
from reactive.values import decode
from tests.conftest import start_server
from tests.integration.test_sync_invariants import settle
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db(transaction=True)

S = "testapp/search:"
reactive_client = ReactiveClient(as_client=True)


@pytest.fixture
def fresh_server(asgi_server, tmp_path):
    server = start_server(connection.settings_dict["NAME"], tmp_path)
    yield server
    server.stop()


def fresh(server, args: dict) -> list[str]:
    r = requests.post(
        server.url + "/api/query", json={"path": S + "bodies", "args": args}, timeout=30
    )
    body = r.json()
    assert body["status"] == "success", body
    return decode(body["value"])


async def test_a_search_re_runs_exactly_when_its_result_can_change(fresh_server):
    ch, other = f"ch-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    client = await RawSync.connect(fresh_server.ws_url)
    pie = await client.mutation(S + "add", {"body": "apple pie", "channel": ch})
    bread = await client.mutation(S + "add", {"body": "banana bread", "channel": ch})
    tart = await client.mutation(S + "add", {"body": "apple tart", "channel": other})
    args = {"text": "apple", "channel": ch}
    qid = await client.subscribe(S + "bodies", args)
    assert client.results[qid] == ["apple pie"]

    async def runs(path: str, write: dict) -> int:
        before = await settle(fresh_server)
        await client.mutation(S + path, write)  # returns once the Transition after it came
        after = await settle(fresh_server)
        assert client.results[qid] == fresh(fresh_server, args)  # the pushed value is right
        return int(after["executions"] - before["executions"])

    # cannot change the result: no re-run
    assert await runs("add", {"body": "apple strudel", "channel": other}) == 0
    assert await runs("patch", {"id": tart, "fields": {"body": "apple crumble"}}) == 0
    assert await runs("patch", {"id": bread, "fields": {"score": 5}}) == 0
    assert await runs("patch", {"id": bread, "fields": {"author": "zed"}}) == 0
    assert await runs("remove", {"id": tart}) == 0
    assert client.results[qid] == ["apple pie"]

    # can change it: one re-run each, and the new value arrives
    assert await runs("add", {"body": "apple cake", "channel": ch}) == 1
    assert sorted(client.results[qid]) == ["apple cake", "apple pie"]
    assert await runs("patch", {"id": bread, "fields": {"body": "banana apple bread"}}) == 1
    assert "banana apple bread" in client.results[qid]
    moved = await client.mutation(S + "add", {"body": "apple jam", "channel": other})
    assert await runs("patch", {"id": moved, "fields": {"channel": ch}}) == 1  # moves in
    assert "apple jam" in client.results[qid]
    assert await runs("patch", {"id": pie, "fields": {"channel": other}}) == 1  # moves out
    assert "apple pie" not in client.results[qid]
    assert await runs("patch", {"id": moved, "fields": {"score": 3}}) == 1  # a row returned
    assert await runs("patch", {"id": bread, "fields": {"body": "banana bread"}}) == 1
    assert "banana bread" not in client.results[qid]  # its text no longer matches
    assert await runs("remove", {"id": moved}) == 1
    assert sorted(client.results[qid]) == ["apple cake"]
    await client.close()


async def test_a_typeahead_subscription_sees_a_new_match_arrive(asgi_server):
    ch = f"ta-{uuid.uuid4().hex[:8]}"
    client = await RawSync.connect(asgi_server.ws_url)
    qid = await client.subscribe(S + "bodies", {"text": "quick bro", "channel": ch})
    assert client.results[qid] == []
    await client.mutation(S + "add", {"body": "The quick brown fox", "channel": ch})
    await client.until(lambda: client.results[qid] == ["The quick brown fox"])
    await client.close()


async def test_a_live_page_that_grows_past_the_search_cap_is_split_not_failed(
    asgi_server: Any,
) -> None:
    """A page's end is pinned by its first run; inserts inside it make it grow. Past the 1,024
    documents one search read returns, the page is cut there and offered a split (as a read
    limit does), instead of failing the subscription."""
    channel = "grow-" + uuid.uuid4().hex[:6]
    client = await RawSync.connect(asgi_server.ws_url)
    for _ in range(10):
        await client.mutation(S + "add_many", {"bodies": ["kumquat"] * 100, "channel": channel})
    await client.mutation(S + "add_many", {"bodies": ["kumquat"] * 50, "channel": channel})
    opts = {"numItems": 1000, "cursor": None}
    args = {"text": "kumquat", "eqs": [["channel", channel]], "paginationOpts": opts}
    qid = await client.subscribe(S + "page", args)
    await client.until(lambda: qid in client.results or qid in client.errors)
    assert len(client.results[qid]["page"]) == 1000
    # ranked above the first page's last row: inside the pinned page
    await client.mutation(S + "add_many", {"bodies": ["kumquat kumquat"] * 30, "channel": channel})
    await client.until(
        lambda: qid in client.errors or len(client.results[qid]["page"]) != 1000, timeout=10
    )
    try:
        assert qid not in client.errors, client.errors[qid]
        page = client.results[qid]
        assert len(page["page"]) == 1024 and page["isDone"] is False
    finally:
        await client.close()


def test_a_page_of_1024_is_a_search_read_of_1024() -> None:
    """numItems 1024 reads 1,025 rows (the one after the page says isDone): still one read."""
    channel = "cap-" + uuid.uuid4().hex[:6]
    for _ in range(11):
        reactive_client.mutation(S + "add_many", {"bodies": ["kumquat"] * 100, "channel": channel})
    args = {"text": "kumquat", "eqs": [["channel", channel]]}
    opts = {"numItems": 1024, "cursor": None}
    page = reactive_client.query(S + "page", {**args, "paginationOpts": opts})
    assert len(page["page"]) == 1024 and page["isDone"] is False
