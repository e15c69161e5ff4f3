"""A cross-check of HTTP actions with Node's `fetch` (tests/interop/js/http_actions_fetch.mjs):
JSON in and out, CORS headers, the error shape, and a streamed body read chunk by chunk, on
daphne and uvicorn. The npm `convex` client has no HTTP action API; plain `fetch` is what
Convex users call HTTP actions with."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from tests.interop.node import run_node

pytestmark = pytest.mark.django_db


def test_http_actions_answer_node_fetch(any_server: LiveServer) -> None:
    result = run_node("http_actions_fetch.mjs", any_server.url, server=any_server)
    assert result["ok"], result
    assert set(result["checks"]) == {
        "json_in_json_out",
        "cors_simple_request",
        "error_shape",
        "stream_chunk_by_chunk",
    }
