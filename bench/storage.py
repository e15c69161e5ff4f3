"""File storage throughput: our upload URL and file URL against plain Django views doing the
same with the same storage, on one server, interleaved request by request.

- ``upload_*``: POST a file's bytes to an upload URL (``/api/storage/upload?token=…``, made
  beforehand by `testapp/files:generate_upload_url`: the token check, the streamed write with
  its SHA-256, the `_storage` row and the used token in one transaction) vs ``/test/plain_upload``
  (``default_storage.save`` of the raw body in a worker thread);
- ``download_*``: GET the file (``/api/storage/<id>``: the row, then the bytes streamed in
  pieces, each read in a worker thread) vs ``/test/plain_file/<name>`` (Django's
  ``FileResponse``, which ASGI serves by reading the whole file in one worker thread);
- ``large``: LARGE_FILES files of LARGE_BYTES (MB/s); ``small``: SMALL_FILES files of
  SMALL_BYTES (files/s); ``generate_url_per_s``: the mutation making upload URLs, over HTTP.

Ratios are ours ÷ plain (throughput: below 1 is slower). Sequential requests on keep-alive
sessions: the figures are per-request costs, not the server's capacity.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import requests

from .servers import Server

LARGE_FILES, LARGE_BYTES = 12, 4 * 1024 * 1024
SMALL_FILES, SMALL_BYTES = 300, 1024
GENERATE = {"path": "testapp/files:generate_upload_url", "args": {}, "format": "json"}


def _urls(session: requests.Session, server: Server, n: int) -> tuple[list[str], float]:
    started = time.perf_counter()
    urls = [
        session.post(server.url + "/api/mutation", json=GENERATE).json()["value"] for _ in range(n)
    ]
    return urls, time.perf_counter() - started


def _timed(method: Any, url: str, **kwargs: Any) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    response = method(url, **kwargs)
    return response, time.perf_counter() - started


def _round(server: Server, session: requests.Session, n: int, size: int) -> dict[str, Any]:
    """Upload then download ``n`` files of ``size`` bytes both ways, interleaved one by one."""
    urls, _ = _urls(session, server, n)
    ours_up = plain_up = ours_down = plain_down = 0.0
    ids: list[str] = []
    names: list[str] = []
    for url in urls:
        data = os.urandom(size)
        r, t = _timed(session.post, url, data=data, headers={"Content-Type": "x/y"})
        assert r.status_code == 200, r.text
        ids.append(r.json()["storageId"])
        ours_up += t
        r, t = _timed(session.post, server.url + "/test/plain_upload", data=data)
        assert r.status_code == 200, r.text
        names.append(r.json()["name"].removeprefix("plain-bench/"))
        plain_up += t
    for id, name in zip(ids, names, strict=True):
        r, t = _timed(session.get, f"{server.url}/api/storage/{id}")
        assert r.status_code == 200 and len(r.content) == size
        ours_down += t
        r, t = _timed(session.get, f"{server.url}/test/plain_file/{name}")
        assert r.status_code == 200 and len(r.content) == size
        plain_down += t
    return {"up": (ours_up, plain_up), "down": (ours_down, plain_down)}


def storage_throughput(server: Server) -> dict[str, Any]:
    session = requests.Session()
    _round(server, session, 3, 64 * 1024)  # warm-up: connections, imports, caches
    large = _round(server, session, LARGE_FILES, LARGE_BYTES)
    small = _round(server, session, SMALL_FILES, SMALL_BYTES)
    _, generate = _urls(session, server, 200)
    mb = LARGE_FILES * LARGE_BYTES / 1e6
    out: dict[str, Any] = {
        "large_file_mib": LARGE_BYTES / 2**20,
        "small_file_bytes": SMALL_BYTES,
        "generate_url_per_s": 200 / generate,
    }
    for way in ("up", "down"):
        ours, plain = large[way]
        name = "upload" if way == "up" else "download"
        out[f"{name}_large_mb_per_s"] = mb / ours
        out[f"{name}_large_plain_mb_per_s"] = mb / plain
        out[f"{name}_large_ratio"] = plain / ours
        ours, plain = small[way]
        out[f"{name}_small_files_per_s"] = SMALL_FILES / ours
        out[f"{name}_small_plain_files_per_s"] = SMALL_FILES / plain
        out[f"{name}_small_ratio"] = plain / ours
    return out


def clean_media() -> None:
    """Remove the files this run stored (the run's MEDIA_ROOT, see tests/settings.py)."""
    root = os.environ.get("REACTIVE_TEST_MEDIA_ROOT")
    if root and Path(root).parent.name == ".test-media":
        shutil.rmtree(root, ignore_errors=True)
