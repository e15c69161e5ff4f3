"""File storage through the executor: ctx.storage in each kind of function, `_storage`
documents, transactional deletes, and what each kind may not do (reactive.storage)."""

from __future__ import annotations

import base64
import contextvars
import hashlib
from typing import Any

import pytest

from reactive import ids
from reactive.errors import (
    ArgumentValidationError,
    DocumentNotFound,
    InvalidId,
    NotAllowedHere,
    RequestError,
)
from reactive.storage import files, origin, rows
from tests.storage_support import F, stored_files

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://files.example.com"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"base_url": BASE + "/"}}


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_store_in_an_action_then_read_it_every_way(client):
    before = stored_files()
    id = client.action(F + "store_text", {"text": "hello files", "contentType": "text/plain"})
    assert ids.pk_of("_storage", id) is not None
    assert len(stored_files() - before) == 1

    doc = client.query(F + "file_doc", {"id": id})
    assert set(doc) == {"_id", "_creationTime", "sha256", "size", "contentType"}
    assert doc["_id"] == id and doc["sha256"] == b64sha(b"hello files")
    assert doc["size"] == 11 and repr(doc["size"]) == "11"  # a float64 (not Int64), whole
    assert doc["contentType"] == "text/plain"
    assert client.query(F + "listed")[-1] == doc

    meta = {"storageId": id, "sha256": doc["sha256"], "size": 11.0, "contentType": "text/plain"}
    assert client.query(F + "metadata", {"id": id}) == meta
    assert client.query(F + "url", {"id": id}) == f"{BASE}/api/storage/{id}"
    assert client.action(F + "read", {"id": id}) == b"hello files"
    details = client.action(F + "action_details", {"id": id})
    assert details == {"url": f"{BASE}/api/storage/{id}", "metadata": meta}

    client.action(F + "action_delete", {"id": id})
    assert client.action(F + "read", {"id": id}) is None
    assert client.query(F + "url", {"id": id}) is None
    assert client.query(F + "metadata", {"id": id}) is None
    assert stored_files() == before


def test_storage_reads_go_through_the_ctxs_own_db(client):
    """A customization's ctx.db (here: rules hiding every file) is what ctx.storage reads."""
    id = client.action(F + "store_text", {"text": "hidden"})
    assert client.query(F + "hidden_details", {"id": id}) == {"url": None, "metadata": None}
    assert client.query(F + "url", {"id": id}) == f"{BASE}/api/storage/{id}"


def test_a_file_without_a_content_type_has_none(client):
    id = client.action(F + "store_text", {"text": ""})
    doc = client.query(F + "file_doc", {"id": id})
    assert "contentType" not in doc and doc["size"] == 0.0 and doc["sha256"] == b64sha(b"")
    assert client.query(F + "metadata", {"id": id})["contentType"] is None


def test_an_async_action_stores_and_reads(client):
    out = client.action(F + "store_async", {"text": "async bytes"})
    assert out["bytes"] == b"async bytes"
    assert client.query(F + "file_doc", {"id": out["id"]})["contentType"] == "text/plain"


def test_a_mutation_that_rolls_back_deletes_nothing(client):
    id = client.action(F + "store_text", {"text": "keep me"})
    name = rows.find(id).name
    out = client.call(F + "delete", {"id": id, "fail": True})
    assert out.error is not None and "rolled back after the delete" in out.error.message
    assert client.action(F + "read", {"id": id}) == b"keep me"
    assert name in {f"reactive-storage/{n}" for n in stored_files()}

    client.mutation(F + "delete", {"id": id})
    assert client.query(F + "file_doc", {"id": id}) is None
    assert name not in {f"reactive-storage/{n}" for n in stored_files()}
    out = client.call(F + "delete", {"id": id})
    assert isinstance(out.error, DocumentNotFound)
    assert f"testapp/files:delete: ctx.storage.delete: no file {id}" in out.error.message


def test_storage_ids_are_checked(client):
    other = ids.encode_id("counters", 1)
    out = client.call(F + "url", {"id": other})
    assert isinstance(out.error, ArgumentValidationError)
    assert "testapp/files:url" in out.error.message and "id" in out.error.message
    out = client.call(F + "metadata", {"id": other})
    assert isinstance(out.error, InvalidId)
    out = client.call(F + "metadata", {"id": "not-an-id"})
    assert isinstance(out.error, InvalidId)
    missing = ids.encode_id("_storage", 10**12)
    assert client.query(F + "metadata", {"id": missing}) is None
    assert client.query(F + "url", {"id": missing}) is None


@pytest.mark.parametrize(
    "path, what, message",
    [
        (
            "misuse_in_query",
            "upload_url",
            "ctx.storage.generate_upload_url is only available in mutations and actions",
        ),
        ("misuse_in_query", "delete", "ctx.storage.delete is only available in mutations"),
        ("misuse_in_query", "store", "ctx.storage.store is only available in actions"),
        ("misuse_in_mutation", "store", "ctx.storage.store is only available in actions"),
        ("misuse_in_mutation", "x", "ctx.storage.get is only available in actions"),
    ],
)
def test_each_kind_has_convexs_share_of_the_api(client, path, what, message):
    out = client.call(F + path, {"what": what})
    assert isinstance(out.error, NotAllowedHere), out.error
    assert out.error.message.startswith(f"testapp/files:{path}: {message}")


def test_an_upload_url_needs_an_origin(client, settings, monkeypatch):
    url = client.mutation(F + "generate_upload_url")
    assert url.startswith(f"{BASE}/api/storage/upload?token=")
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {}}
    monkeypatch.setattr(origin, "_last", [])  # no request seen by this process
    out = client.call(F + "generate_upload_url")
    assert isinstance(out.error, NotAllowedHere)
    assert 'set REACTIVE["STORAGE"]["base_url"]' in out.error.message


@pytest.mark.parametrize(
    "allowed, host, origin_seen",
    [
        (["api.example.com"], "api.example.com", "http://api.example.com"),
        ([".example.com"], "files.example.com:8000", "http://files.example.com:8000"),
        (["api.example.com"], "evil.example.net", None),  # Django would refuse it
        (["*"], "evil.example.net", None),  # any host passes "*": none is trusted
    ],
)
def test_only_a_host_allowed_hosts_names_becomes_the_origin(
    settings, monkeypatch, allowed, host, origin_seen
):
    from django.test import RequestFactory

    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {}}
    settings.ALLOWED_HOSTS = allowed
    monkeypatch.setattr(origin, "_last", [])

    def check() -> None:  # in a context of its own: the recorded origin stays in it
        origin.remember_request(RequestFactory().get("/", HTTP_HOST=host))
        if origin_seen is None:
            with pytest.raises(NotAllowedHere, match="base_url"):
                origin.base_url("f")
        else:
            assert origin.base_url("f") == origin_seen
        scope = {"type": "websocket", "scheme": "wss", "headers": [(b"host", host.encode())]}
        origin.remember_scope(scope)
        if origin_seen is not None:
            assert origin.base_url("f") == origin_seen.replace("http:", "https:")

    contextvars.copy_context().run(check)


def test_storage_settings_mistakes_are_named(client, settings):
    settings.DEBUG = True  # a ConfigurationError's message reaches the caller (else: logged)
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"base_url": "api.example.com"}}
    out = client.call(F + "generate_upload_url")
    assert 'REACTIVE["STORAGE"]["base_url"] is \'api.example.com\'' in out.error.message
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"storage": "nowhere"}}
    out = client.call(F + "store_text", {"text": "x"})
    assert 'REACTIVE["STORAGE"]["storage"] is \'nowhere\'' in out.error.message, out.error
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"max_file_bytes": -1}}
    out = client.call(F + "store_text", {"text": "x"})
    assert "REACTIVE['STORAGE']['max_file_bytes']: expected a positive integer" in str(out.error)


def test_store_refuses_what_is_not_bytes_and_what_is_too_big(client, settings):
    # pieces of 100 bytes: ten are written before the eleventh passes the limit
    settings.REACTIVE = {
        **settings.REACTIVE,
        "STORAGE": {"max_file_bytes": 1000, "chunk_bytes": 100},
    }
    before = stored_files()
    out = client.call(F + "store_zeros", {"size": 1001})
    assert out.error is not None and "over 1000 bytes" in out.error.message
    assert "testapp/files:store_zeros: ctx.storage.store" in out.error.message
    assert client.action(F + "store_zeros", {"size": 1000})
    assert len(stored_files() - before) == 1
    with pytest.raises(TypeError, match="expected bytes or a binary file-like"):
        files.write("text", "t")


def test_a_row_that_cannot_be_inserted_leaves_no_file():
    before = stored_files()
    first = files.write(b"one", "t")
    rows.insert(first, None, ("nonce-x", 1e15))
    second = files.write(b"two", "t")
    assert len(stored_files() - before) == 2
    with pytest.raises(RequestError) as caught:
        rows.insert(second, None, ("nonce-x", 1e15))  # the URL's nonce was used
    assert caught.value.status == 409
    assert len(stored_files() - before) == 1


def test_used_tokens_past_their_expiry_are_pruned():
    from reactive.models import UploadToken

    UploadToken.objects.create(nonce="old", expires=1.0)
    UploadToken.objects.create(nonce="live", expires=1e15)
    rows.prune_tokens()
    assert set(UploadToken.objects.values_list("nonce", flat=True)) == {"live"}
    assert rows.token_used("live") and not rows.token_used("old")


def test_a_storage_with_urls_of_its_own_is_redirected_to(client, settings):
    """``redirect`` (automatic for storages other than FileSystemStorage, e.g. S3): the file URL
    answers 302 to ``storage.url(name)`` (without it the bytes are served: test_storage_http)."""
    from django.test import Client

    id = client.action(F + "store_text", {"text": "elsewhere", "contentType": "text/plain"})
    name = rows.find(id).name
    web = Client()
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"redirect": True}}
    moved = web.get(f"/api/storage/{id}")
    assert moved.status_code == 302
    assert moved["Location"] == f"https://cdn.example.com/media/{name}"
    assert moved["Access-Control-Allow-Origin"] == "*"
