"""File storage with the official PyPI `convex` clients: the upload URL from a mutation (over
the WebSocket client and the HTTP client), the file POSTed with requests, get_url fetched back."""

from __future__ import annotations

import hashlib

import pytest
import requests
from convex import ConvexClient
from convex.http_client import ConvexHttpClient

pytestmark = [pytest.mark.interop, pytest.mark.django_db]

F = "testapp/files:"


@pytest.mark.parametrize("kind", ["websocket", "http"])
def test_upload_and_fetch_with_the_python_clients(asgi_server, kind) -> None:
    client = ConvexClient(asgi_server.url) if kind == "websocket" else None
    http = ConvexHttpClient(asgi_server.url)
    caller = client if client is not None else http
    data = hashlib.sha256(kind.encode()).digest() * 5000
    post_url = caller.mutation(F + "generate_upload_url")
    assert post_url.startswith(asgi_server.url + "/api/storage/upload?token=")
    answer = requests.post(
        post_url, data=data, headers={"Content-Type": "audio/x-test"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    storage_id = answer.json()["storageId"]
    caller.mutation(F + "attach", {"storageId": storage_id, "name": f"py-{kind}"})
    file_url = caller.query(F + "url", {"id": storage_id})
    got = requests.get(file_url, timeout=30)
    assert got.content == data and got.headers["Content-Type"] == "audio/x-test"
    meta = caller.query(F + "metadata", {"id": storage_id})
    assert meta["size"] == len(data) and meta["contentType"] == "audio/x-test"
    stored = caller.action(F + "read", {"id": storage_id})
    assert bytes(stored) == data
