"""File storage with the official npm `convex` clients (1.48.0) and Node's fetch, as the Convex
docs' upload flow: generate_upload_url from a mutation, POST the file, store the storageId,
fetch get_url back (tests/interop/js/storage_client.mjs)."""

from __future__ import annotations

import pytest

from tests.interop.node import run_node

pytestmark = [pytest.mark.interop, pytest.mark.django_db]

CHECKS = ["upload_over_websocket", "upload_over_http"]


def test_the_official_clients_upload_and_fetch_files(any_server) -> None:
    result = run_node("storage_client.mjs", any_server.url, server=any_server)
    assert "fatal" not in result, result
    assert sorted(result["checks"]) == sorted(CHECKS)
    failed = {n: c["detail"] for n, c in result["checks"].items() if not c["ok"]}
    assert not failed, failed
    assert result["returncode"] == 0
