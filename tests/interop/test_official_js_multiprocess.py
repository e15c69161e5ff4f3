"""The official JS `ConvexClient` moving between two server processes on one database: a
mutation whose response was lost on process A is re-sent to process B after the reconnect and
runs exactly once (B replays A's stored answer); the subscription goes on from B.
Driven through tests/interop/js/move_client.mjs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, start_server
from tests.interop.node import run_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_servers(django_db_setup: None, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    a = start_server(name, tmp_path)
    try:
        b = start_server(name, tmp_path)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_a_lost_mutation_response_is_replayed_by_another_process(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers
    name = f"js-move-{uuid.uuid4().hex[:10]}"
    result = run_node("move_client.mjs", a.url, b.url, name, server=b)
    assert result.get("ok"), json.dumps(result)[:2000]
    assert result["urls"][0].startswith(a.ws_url) and len(result["urls"]) == 2, result["urls"]
    assert result["urls"][1].startswith(b.ws_url), result["urls"]
    assert result["state"]["connectionCount"] == 2, result["state"]
    assert (result["first"], result["second"]) == (1, 2), result
    values = [v for v in result["values"] if v is not None]  # null: before the first bump
    assert values[-1] == 2 and sorted(values) == values, result
    # exactly once: the mutation committed on A (the script waited for it before dropping the
    # connection), and its re-sending to B returned A's answer without running it again
    value = b.post("/api/query", {"path": "testapp/bench:get", "args": {"name": name}}).json()
    assert value["value"] == 2, value
