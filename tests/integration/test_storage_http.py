"""File storage over real sockets: upload URLs (signed, expiring, single-use, size-limited,
CORS), file URLs (bytes, ETag, ranges, 404), and live subscriptions over `_storage`."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from reactive import ids
from reactive.storage.signing import make_token
from tests.conftest import LiveServer, start_server
from tests.storage_support import F, call, stored_files, upload
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server whose files may be at most LIMIT bytes: uvicorn, which passes a body on to the
    application as it arrives (daphne's Twisted reads it whole first)."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    env = {"REACTIVE_TEST_STORAGE": json.dumps({"max_file_bytes": LIMIT, "chunk_bytes": 4096})}
    server = start_server(name, tmp_path_factory.mktemp("small"), "uvicorn", env_extra=env)
    yield server
    server.stop()


def test_upload_then_fetch_the_file(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    assert url.startswith(asgi_server.url + "/api/storage/upload?token=")
    data = bytes(range(256)) * 40
    r = upload(url, data, "application/x-test")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    storage_id = r.json()["storageId"]
    assert list(r.json()) == ["storageId"] and ids.pk_of("_storage", storage_id) is not None

    file_url = call(asgi_server, "query", "url", {"id": storage_id})
    assert file_url == f"{asgi_server.url}/api/storage/{storage_id}"
    got = requests.get(file_url, timeout=30)
    assert got.status_code == 200 and got.content == data
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert got.headers["Content-Type"] == "application/x-test"
    assert got.headers["Content-Length"] == str(len(data))
    assert got.headers["ETag"] == f'"{sha}"' and got.headers["Accept-Ranges"] == "bytes"
    assert got.headers["Access-Control-Allow-Origin"] == "*"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert call(asgi_server, "query", "metadata", {"id": storage_id})["sha256"] == sha

    again = requests.get(file_url, headers={"If-None-Match": f'"{sha}"'}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    head = requests.head(file_url, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert head.content == b""


@pytest.mark.parametrize(
    "header, status, part, content_range",
    [
        ("bytes=0-9", 206, slice(0, 10), "bytes 0-9/10240"),
        ("bytes=10000-", 206, slice(10000, None), "bytes 10000-10239/10240"),
        ("bytes=-5", 206, slice(10235, None), "bytes 10235-10239/10240"),
        ("bytes=100-99999", 206, slice(100, None), "bytes 100-10239/10240"),
        ("bytes=0-1,5-6", 200, slice(None), None),  # several ranges: the whole file
        ("items=0-1", 200, slice(None), None),  # not bytes: ignored
        ("bytes=9-3", 200, slice(None), None),  # invalid: ignored
        ("bytes=10240-", 416, None, "bytes */10240"),
        ("bytes=-0", 416, None, "bytes */10240"),
    ],
)
def test_range_requests(
    asgi_server: LiveServer, header: str, status: int, part: Any, content_range: str | None
) -> None:
    data = bytes(range(256)) * 40
    url = call(asgi_server, "mutation", "generate_upload_url")
    storage_id = upload(url, data).json()["storageId"]
    got = requests.get(
        f"{asgi_server.url}/api/storage/{storage_id}", headers={"Range": header}, timeout=30
    )
    assert got.status_code == status, got.text
    assert got.headers.get("Content-Range") == content_range
    if part is not None:
        assert got.content == data[part]
        assert got.headers["Content-Length"] == str(len(data[part]))
    else:
        assert got.json()["code"] == "RangeNotSatisfiable"


def test_a_stale_if_range_gets_the_whole_file(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    storage_id = upload(url, b"0123456789").json()["storageId"]
    got = requests.get(
        f"{asgi_server.url}/api/storage/{storage_id}",
        headers={"Range": "bytes=0-1", "If-Range": '"another"'},
        timeout=30,
    )
    assert got.status_code == 200 and got.content == b"0123456789"


def test_unknown_and_deleted_files_are_404(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    storage_id = upload(url, b"short-lived").json()["storageId"]
    call(asgi_server, "mutation", "delete", {"id": storage_id})
    for path in (storage_id, ids.encode_id("_storage", 10**12), ids.encode_id("counters", 1)):
        got = requests.get(f"{asgi_server.url}/api/storage/{path}", timeout=30)
        assert got.status_code == 404 and got.json()["code"] == "NotFound", path
    assert requests.post(f"{asgi_server.url}/api/storage/{storage_id}", timeout=30).status_code


def test_an_upload_url_is_good_for_one_upload(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    assert upload(url, b"first").status_code == 200
    before = stored_files()
    second = upload(url, b"second")
    assert second.status_code == 409 and second.json()["code"] == "UploadUrlUsed"
    assert stored_files() == before


def _race(url: str, size: int) -> list[requests.Response]:
    """POST two different files of ``size`` bytes to ``url`` at the same moment."""
    start = threading.Barrier(2)
    answers: list[requests.Response] = []

    def post(data: bytes) -> None:
        start.wait()
        answers.append(upload(url, data))

    threads = [threading.Thread(target=post, args=(bytes([n]) * size,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.parametrize("size", [2_000_000, 1000])  # looked up first, and not
def test_two_uploads_racing_with_one_url_store_one_file(asgi_server: LiveServer, size: int) -> None:
    for _ in range(3):
        url = call(asgi_server, "mutation", "generate_upload_url")
        before = stored_files()
        answers = _race(url, size)
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        assert len(stored_files() - before) == 1


def test_expired_forged_and_missing_tokens_are_refused(asgi_server: LiveServer) -> None:
    before = stored_files()
    base = f"{asgi_server.url}/api/storage/upload"
    expired = upload(f"{base}?token={make_token(-1)}", b"x")
    assert expired.status_code == 410 and expired.json()["code"] == "UploadUrlExpired"
    good = make_token(60)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    tampered = upload(f"{base}?token={forged}", b"x")
    assert tampered.status_code == 403 and tampered.json()["code"] == "InvalidUploadUrl"
    missing = upload(base, b"x")
    assert missing.status_code == 400 and missing.json()["code"] == "InvalidUploadUrl"
    method = requests.get(f"{base}?token={good}", timeout=30)
    assert method.status_code == 405
    assert stored_files() == before
    assert upload(f"{base}?token={good}", b"x").status_code == 200  # the same token, unused


@pytest.fixture(scope="module")
def bare_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Like small_server, without UploadLimit: the view's own checks are all there is."""
    from django.db import connection

    env = {
        "REACTIVE_TEST_STORAGE": json.dumps({"max_file_bytes": LIMIT, "chunk_bytes": 4096}),
        "REACTIVE_TEST_BARE_HTTP": "1",
    }
    server = start_server(
        connection.settings_dict["NAME"], tmp_path_factory.mktemp("bare"), "uvicorn", env_extra=env
    )
    yield server
    server.stop()


def test_the_view_refuses_a_chunked_upload_while_storing_it(bare_server: LiveServer) -> None:
    """No Content-Length: the view counts while it writes (4 KiB pieces), stops past the limit
    and deletes what it wrote."""
    before = stored_files()
    url = call(bare_server, "mutation", "generate_upload_url")

    def chunked() -> Iterator[bytes]:
        for _ in range(LIMIT // 1000 + 10):
            yield b"y" * 1000

    streamed = upload(url, chunked())
    assert streamed.status_code == 413 and streamed.json()["code"] == "FileTooLarge"
    declared = upload(url, b"x" * (LIMIT + 1))
    assert declared.status_code == 413 and declared.json()["code"] == "FileTooLarge"
    assert stored_files() == before
    assert upload(url, b"z" * LIMIT).status_code == 200
    assert len(stored_files() - before) == 1


def test_too_large_files_are_refused_and_leave_nothing(small_server: LiveServer) -> None:
    before = stored_files()
    url = call(small_server, "mutation", "generate_upload_url")
    declared = upload(url, b"x" * (LIMIT + 1))  # Content-Length says it all
    assert declared.status_code == 413 and declared.json()["code"] == "FileTooLarge"

    def chunked() -> Iterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(LIMIT // 1000 + 10):
            yield b"y" * 1000

    streamed = upload(url, chunked())
    assert streamed.status_code == 413 and streamed.json()["code"] == "FileTooLarge"
    assert stored_files() == before
    exact = upload(url, b"z" * LIMIT)  # the URL was not used up by the refusals
    assert exact.status_code == 200, exact.text
    assert len(stored_files() - before) == 1


def test_a_huge_declared_upload_is_refused_before_its_body_is_read(
    small_server: LiveServer,
) -> None:
    """10 GiB announced, 1 KiB sent: the 413 comes at once (Django alone would wait for the
    whole body before running the view)."""
    url = call(small_server, "mutation", "generate_upload_url")
    target = urlsplit(url)
    with socket.create_connection((target.hostname, target.port), timeout=5) as conn:
        conn.sendall(
            f"POST {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {10 * 2**30}\r\n\r\n".encode()
            + b"x" * 1024
        )
        head = conn.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    assert "FileTooLarge" in head or "content-type: application/json" in head.lower()


def test_cors_preflight_and_cross_origin_upload(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    origin = {"Origin": "https://app.example.com"}
    pre = requests.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type"
    r = requests.post(
        url, data=b"from a browser", headers={**origin, "Content-Type": "image/png"}, timeout=30
    )
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


async def test_subscriptions_over_storage_update_live(asgi_server: LiveServer) -> None:
    sync = await RawSync.connect(asgi_server.ws_url)
    try:
        listed = await sync.subscribe(F + "listed")
        attached = await sync.subscribe(F + "attachments")
        known = {d["_id"] for d in sync.results[listed]}

        url = await sync.mutation(F + "generate_upload_url")
        assert url.startswith(asgi_server.url + "/api/storage/upload?token=")  # the socket's host
        r = await _post(url, b"live bytes")
        storage_id = r.json()["storageId"]
        await sync.until(lambda: storage_id in {d["_id"] for d in sync.results[listed]})
        doc = next(d for d in sync.results[listed] if d["_id"] == storage_id)
        assert doc["size"] == 10.0 and doc["contentType"] == "text/plain"

        name = f"att-{storage_id}"
        await sync.mutation(F + "attach", {"storageId": storage_id, "name": name})
        file_url = f"{asgi_server.url}/api/storage/{storage_id}"
        await sync.until(lambda: {"name": name, "url": file_url} in sync.results[attached])

        await sync.mutation(F + "delete", {"id": storage_id})
        await sync.until(lambda: storage_id not in {d["_id"] for d in sync.results[listed]})
        await sync.until(lambda: {"name": name, "url": None} in sync.results[attached])
        assert known <= {d["_id"] for d in sync.results[listed]}  # the others are still there
    finally:
        await sync.close()


async def _post(url: str, data: bytes) -> requests.Response:
    import asyncio

    return await asyncio.to_thread(upload, url, data)


def test_a_content_type_no_column_or_header_can_hold_is_refused(asgi_server: LiveServer) -> None:
    """Over 255 characters (the column), or with a line break (no response header could carry
    it back): a 400 before any byte is stored, and the URL is still good; `store` refuses it
    as clearly, instead of a "Server Error" or a file that can never be downloaded."""
    url = call(asgi_server, "mutation", "generate_upload_url")
    before = stored_files()
    r = upload(url, b"hello", "text/plain; x=" + "a" * 300)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidContentType" and "255" in r.json()["message"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert stored_files() == before
    assert upload(url, b"hello", "text/plain").status_code == 200

    body = asgi_server.post(
        "/api/action",
        {"path": F + "store_text", "args": {"text": "x", "contentType": "text/plain\nX: y"}},
    ).json()
    assert body["status"] == "error", body
    assert "content_type is refused" in body["errorMessage"]
    assert "control character" in body["errorMessage"]


def test_ranges_of_an_empty_file_and_of_absurd_positions(asgi_server: LiveServer) -> None:
    url = call(asgi_server, "mutation", "generate_upload_url")
    empty = upload(url, b"", "text/plain").json()["storageId"]
    file_url = call(asgi_server, "query", "url", {"id": empty})
    r = requests.get(file_url, headers={"Range": "bytes=-1"}, timeout=30)
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */0"

    url = call(asgi_server, "mutation", "generate_upload_url")
    data = b"0123456789"
    file_url = call(asgi_server, "query", "url", {"id": upload(url, data).json()["storageId"]})
    huge = "9" * 5000  # past Python's 4,300-digit limit on int()
    assert (
        requests.get(file_url, headers={"Range": f"bytes={huge}-"}, timeout=30).status_code == 416
    )
    for header, content in ((f"bytes=2-{huge}", data[2:]), (f"bytes=-{huge}", data)):
        r = requests.get(file_url, headers={"Range": header}, timeout=30)
        assert (r.status_code, r.content) == (206, content), header[:20]
    star = requests.get(file_url, headers={"If-None-Match": "*"}, timeout=30)
    assert star.status_code == 304
