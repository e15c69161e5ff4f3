"""The official npm `convex` WebSocket client subscribed to a full-text search: a new matching
document arrives in the subscription (tests/interop/js/search_client.mjs)."""

from __future__ import annotations

import uuid

import pytest

from tests.interop.node import run_node

pytestmark = [pytest.mark.interop, pytest.mark.django_db]


def test_a_search_subscription_sees_a_new_matching_document(asgi_server) -> None:
    channel = f"js-{uuid.uuid4().hex[:8]}"
    result = run_node("search_client.mjs", asgi_server.url, channel, server=asgi_server)
    assert result.get("ok") is True, result
    values = result["values"]
    assert values[0] == []  # nothing matched at first
    assert values[-1] == ["Zebra stripes, seen"]  # the match arrived; "a horse" never did
    assert all("a horse" not in v for v in values)
