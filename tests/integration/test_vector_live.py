"""Vector search in a live query, over the WebSocket: a write that can change the result re-runs
the subscription (a matching row inserted or deleted, a filter field moved across the filter, a
matching row's vector changed) and pushes the new result; a write that cannot (a row outside the
filter, another column of a row the search did not return) runs nothing. Counted with the
server's own execution counter (`testapp:listener_stats`), on a server of the test's own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import requests
from django.db import connection

from reactive.values import decode
from tests.conftest import start_server
from tests.embeddings import embed
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db(transaction=True)

V = "testapp/vectors:"


@pytest.fixture
def server(asgi_server, tmp_path):
    """A server of its own, so that execution counts are not disturbed by other tests."""
    live = start_server(connection.settings_dict["NAME"], tmp_path)
    yield live
    live.stop()


def stats(server) -> dict[str, Any]:
    r = requests.post(
        server.url + "/api/query", json={"path": "testapp:listener_stats", "args": {}}, timeout=10
    )
    return dict(decode(r.json()["value"]))


def mutate(server, path: str, args: dict[str, Any]) -> Any:
    r = requests.post(server.url + "/api/mutation", json={"path": path, "args": args}, timeout=30)
    body = r.json()
    assert body["status"] == "success", body
    return decode(body["value"])


async def settle(server, seconds: float = 0.3) -> int:
    """The execution count once the listener has been idle for a moment."""
    before = stats(server)["executions"]
    while True:
        await asyncio.sleep(seconds)
        now = stats(server)["executions"]
        if now == before:
            return int(now)
        before = now


async def test_only_writes_that_can_change_the_result_rerun_it(server) -> None:
    genre, other = f"g-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    cat, kitten, dog, stock, query = embed(
        [
            "A cat sleeps on the warm windowsill",
            "The kitten naps in a patch of sunlight",
            "A dog chases a ball across the park",
            "Stock markets fell sharply after the bank raised interest rates",
            "a sleepy kitty curled up in the sun",
        ]
    )
    ids = {
        title: mutate(server, V + "add_movie", {"title": title, "genre": g, "embedding": vec})
        for title, g, vec in (
            ("cat", genre, cat),
            ("kitten", genre, kitten),
            ("dog", genre, dog),
            ("stock", other, stock),
        )
    }
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe(
        V + "search_movies", {"vector": query, "limit": 2, "where": [["genre", genre]]}
    )

    def shown() -> list[str]:
        by_id = {v: k for k, v in ids.items()}
        return [by_id.get(h["_id"], "?") for h in client.results.get(qid, [])]

    await client.until(lambda: qid in client.results or qid in client.errors)
    assert qid not in client.errors, client.errors
    assert len(shown()) == 2, client.results
    assert set(shown()) == {"cat", "kitten"}

    async def runs(write: Any) -> int:
        before = await settle(server)
        write()
        return await settle(server) - before

    # cannot change it: rows outside the filter, other columns of a row not returned
    assert await runs(lambda: mutate(server, V + "add_movie", {"title": "x", "genre": other})) == 0
    assert (
        await runs(
            lambda: mutate(
                server, V + "patch_movie", {"id": ids["stock"], "fields": {"embedding": query}}
            )
        )
        == 0
    )
    # movies have a restricting read rule, pushed into the search's SQL: its columns are not
    # in the change log, so any update of a row inside the filter re-runs it (decision 123)
    assert (
        await runs(
            lambda: mutate(server, V + "patch_movie", {"id": ids["dog"], "fields": {"year": 1999}})
        )
        == 1
    )
    assert (
        await runs(
            lambda: mutate(
                server, V + "patch_movie", {"id": ids["stock"], "fields": {"title": "s"}}
            )
        )
        == 0
    )
    # can change it: a row entering the filter, a matching row's vector, an insert, a delete
    assert (
        await runs(
            lambda: mutate(
                server, V + "patch_movie", {"id": ids["stock"], "fields": {"genre": genre}}
            )
        )
        == 1
    )
    await client.until(lambda: shown()[:1] == ["stock"])  # its vector is the query's now
    assert (
        await runs(
            lambda: mutate(
                server, V + "patch_movie", {"id": ids["stock"], "fields": {"genre": other}}
            )
        )
        == 1
    )
    await client.until(lambda: set(shown()) == {"cat", "kitten"})
    assert (
        await runs(
            lambda: mutate(
                server, V + "patch_movie", {"id": ids["dog"], "fields": {"embedding": query}}
            )
        )
        == 1
    )
    await client.until(lambda: shown()[:1] == ["dog"])
    new = {}
    assert (
        await runs(
            lambda: new.update(
                id=mutate(
                    server, V + "add_movie", {"title": "n", "genre": genre, "embedding": query}
                )
            )
        )
        == 1
    )
    ids["new"] = new["id"]
    await client.until(lambda: "new" in shown())
    assert await runs(lambda: mutate(server, V + "delete_movie", {"id": new["id"]})) == 1
    await client.until(lambda: "new" not in shown())
    await client.close()


async def test_a_search_over_a_table_without_rules_follows_its_filter(server) -> None:
    tag, other = f"t-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    mutate(server, V + "add_point", {"vec": [1, 0, 0], "tag": tag})
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe(
        V + "search_points", {"index": "by_l2", "vector": [0, 1, 0], "tag": tag}
    )
    await client.until(lambda: len(client.results.get(qid, [])) == 1)
    before = await settle(server)
    mutate(server, V + "add_point", {"vec": [0, 1, 0], "tag": other})
    assert await settle(server) == before
    mutate(server, V + "add_point", {"vec": [0, 1, 0], "tag": tag})
    await client.until(lambda: len(client.results.get(qid, [])) == 2)
    assert client.results[qid][0]["_score"] == pytest.approx(0.0)
    assert await settle(server) == before + 1
    await client.close()
