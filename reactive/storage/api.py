"""``ctx.storage``: Convex's file storage API, split by function kind as Convex splits it.

| ctx             | get_url, get_metadata | generate_upload_url, delete | store, get |
|-----------------|-----------------------|-----------------------------|------------|
| QueryCtx        | yes (a read)          | —                           | —          |
| MutationCtx     | yes (a read)          | yes (delete: transactional) | —          |
| ActionCtx       | yes                   | yes (delete: at once)       | yes        |

In a query or mutation, reading a file's metadata or URL reads its `_storage` document through
the ctx's ``ctx.db`` (given as ``reader``), so the read joins the call's read set (a subscription
re-runs when the file is deleted) and row-level rules or a custom function's ``db`` apply.
Deleting from a mutation deletes the row in the mutation's transaction and the bytes after it
commits (`rows.remove`). Async actions use the ``a``-prefixed forms.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from ..conf import reactive_settings
from ..db.documents import Document
from ..errors import DocumentNotFound, DocumentValidationError, InvalidId, NotAllowedHere
from ..values import whole
from . import files, rows
from .files_table import TABLE
from .origin import base_url
from .signing import make_token

UPLOAD_PATH = "/api/storage/upload"
SERVE_PATH = "/api/storage/"

_WHERE = {
    "generate_upload_url": "mutations and actions",
    "delete": "mutations and actions",
    "store": "actions",
    "get": "actions",
}


def _off_loop(fn: Any) -> Any:
    """``fn`` as a coroutine function run in a worker thread, whose connections are closed
    around it as Django closes them around a request (stale or past ``CONN_MAX_AGE``)."""

    def run(*args: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


class StorageReader:
    """``ctx.storage`` in a query: ``get_url`` and ``get_metadata``."""

    def __init__(self, path: str, reader: Any, using: str) -> None:
        self._path, self._reader, self._using = path, reader, using

    def __getattr__(self, name: str) -> Any:
        plain = name[1:] if name.startswith("a") and name[1:] in _WHERE else name
        if plain in _WHERE:
            raise NotAllowedHere(
                f"{self._path}: ctx.storage.{name} is only available in {_WHERE[plain]}"
            )
        raise AttributeError(name)

    def _document(self, storage_id: Any) -> dict[str, Any] | None:
        if self._reader is not None:  # a query or mutation: a recorded read
            doc: dict[str, Any] | None = self._reader.system.get(TABLE, storage_id)
            return doc
        if rows.storage_pk(storage_id) is None:
            raise InvalidId(f"{self._path}: {storage_id!r:.80} is not an id of table '_storage'")
        row = rows.find(storage_id, self._using)
        if row is None:
            return None
        doc = {"_id": storage_id, "sha256": row.sha256, "size": whole(float(row.size))}
        if row.content_type:
            doc["contentType"] = row.content_type
        return doc

    def get_url(self, storage_id: str) -> str | None:
        """A URL that serves the file (anyone holding it may read it), or None if there is no
        such file."""
        doc = self._document(storage_id)
        if doc is None:
            return None
        return f"{base_url(self._path)}{SERVE_PATH}{doc['_id']}"

    def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """``{storageId, sha256, size, contentType}`` (contentType None if unknown), or None."""
        doc = self._document(storage_id)
        if doc is None:
            return None
        return Document(  # `meta.size`, as Convex code reads it
            storageId=doc["_id"],
            sha256=doc["sha256"],
            size=doc["size"],
            contentType=doc.get("contentType"),
        )


class StorageWriter(StorageReader):
    """``ctx.storage`` in a mutation: also ``generate_upload_url`` and ``delete``."""

    def generate_upload_url(self) -> str:
        """An absolute URL, good for one upload (a POST of the file's bytes) within
        ``REACTIVE["STORAGE"]["upload_url_seconds"]``; the answer is ``{"storageId": …}``."""
        token = make_token(reactive_settings.STORAGE.upload_url_seconds)
        return f"{base_url(self._path)}{UPLOAD_PATH}?token={token}"

    def delete(self, storage_id: str) -> None:
        """Delete the file. In a mutation, only if the mutation commits."""
        if rows.storage_pk(storage_id) is None:
            raise InvalidId(f"{self._path}: {storage_id!r:.80} is not an id of table '_storage'")
        if not rows.remove(storage_id, self._using):
            raise DocumentNotFound(f"{self._path}: ctx.storage.delete: no file {storage_id}")


class ActionStorage(StorageWriter):
    """``ctx.storage`` in an action: also ``store`` and ``get``, and async forms of each."""

    def store(self, data: Any, content_type: str | None = None) -> str:
        """Store ``data`` (bytes or a binary file-like object); return its storage id."""
        if content_type is not None and not isinstance(content_type, str):
            raise TypeError(f"{self._path}: ctx.storage.store: content_type must be a string")
        problem = rows.content_type_problem(content_type)
        if problem is not None:
            raise DocumentValidationError(
                f"{self._path}: ctx.storage.store: content_type is refused: {problem}"
            )
        written = files.write(data, f"{self._path}: ctx.storage.store")
        return rows.insert(written, content_type, using=self._using)

    def get(self, storage_id: str) -> bytes | None:
        """The file's bytes, or None if there is no such file."""
        if rows.storage_pk(storage_id) is None:
            raise InvalidId(f"{self._path}: {storage_id!r:.80} is not an id of table '_storage'")
        row = rows.find(storage_id, self._using)
        return None if row is None else files.read_all(row.name)

    async def astore(self, data: Any, content_type: str | None = None) -> str:
        return str(await _off_loop(self.store)(data, content_type))

    async def aget(self, storage_id: str) -> bytes | None:
        result: bytes | None = await _off_loop(self.get)(storage_id)
        return result

    async def aget_url(self, storage_id: str) -> str | None:
        url: str | None = await _off_loop(self.get_url)(storage_id)
        return url

    async def aget_metadata(self, storage_id: str) -> dict[str, Any] | None:
        meta: dict[str, Any] | None = await _off_loop(self.get_metadata)(storage_id)
        return meta

    async def agenerate_upload_url(self) -> str:
        return str(await _off_loop(self.generate_upload_url)())

    async def adelete(self, storage_id: str) -> None:
        await _off_loop(self.delete)(storage_id)
