"""Helpers of the file storage tests: function paths, the files the storage holds, uploads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from tests.conftest import LiveServer

F = "testapp/files:"


def stored_files() -> set[str]:
    """The names of the files under the storage's directory (MEDIA_ROOT/prefix), recursively."""
    root = Path(settings.MEDIA_ROOT) / "reactive-storage"
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def call(server: LiveServer, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
    """A function over HTTP; its value, or an AssertionError with the error."""
    body = server.post(f"/api/{kind}", {"path": F + path, "args": args or {}, "format": "json"})
    data = body.json()
    assert data["status"] == "success", data
    return data["value"]


def upload(url: str, data: Any, content_type: str | None = "text/plain", **kw: Any) -> Any:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(url, data=data, headers=headers, timeout=30, **kw)


def media_root() -> str:
    return os.environ["REACTIVE_TEST_MEDIA_ROOT"]
