"""A stored file's bytes, in and out, through Django's storage API (``storages[alias]``).

`write` streams a source (bytes, a file-like object, a request body) into the storage under a
new unique name, hashing and counting as it goes and stopping at the size limit: nothing is read
into memory whole, and a write that fails for any reason leaves no file behind. The rest reads,
serves and deletes by name. No database here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage, InvalidStorageError, Storage, storages

from ..conf import reactive_settings
from ..errors import ConfigurationError, LimitExceeded


def backend() -> Storage:
    """The Django storage that holds the files (``REACTIVE["STORAGE"]["storage"]``)."""
    alias = reactive_settings.STORAGE.storage
    try:
        return storages[alias]
    except InvalidStorageError:
        raise ConfigurationError(
            f'REACTIVE["STORAGE"]["storage"] is {alias!r}, which is not an alias of STORAGES'
        ) from None


def redirects() -> bool:
    """Whether a file is served by redirecting to the storage's own URL (``storage.url``)."""
    configured = reactive_settings.STORAGE.redirect
    if configured is not None:
        return bool(configured)
    return not isinstance(backend(), FileSystemStorage)


@dataclass(frozen=True)
class Written:
    name: str
    sha256: str  # base64, as Convex
    size: int


class _Hashing(io.RawIOBase):
    """Reads ``source`` forward once, hashing and counting; past ``limit`` bytes it raises."""

    def __init__(self, source: Any, limit: int, what: str) -> None:
        self.source, self.limit, self.what = source, limit, what
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0 and self.size == 0:
            return 0  # File.chunks() rewinds first: nothing read yet, nothing to do
        raise io.UnsupportedOperation("a stored file's source is read once, forward")

    def tell(self) -> int:
        return self.size

    def read(self, size: int | None = -1) -> bytes:
        piece = reactive_settings.STORAGE.chunk_bytes
        want = piece if size is None or size < 0 else min(size, piece)
        data = self.source.read(want)
        if not data:
            return b""
        if isinstance(data, str):
            raise TypeError(f"{self.what}: expected bytes, the file-like object gave text")
        self.size += len(data)
        if self.size > self.limit:
            raise LimitExceeded(f"{self.what}: the file is over {self.limit} bytes")
        self.digest.update(data)
        return bytes(data)


def write(source: Any, what: str, limit: int | None = None) -> Written:
    """Store ``source`` (bytes or a readable binary file-like object) under a new name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif not callable(getattr(source, "read", None)):
        raise TypeError(f"{what}: expected bytes or a binary file-like object, got {source!r:.60}")
    storage = backend()
    name = f"{reactive_settings.STORAGE.prefix}{uuid.uuid4().hex}"
    reader = _Hashing(
        source, reactive_settings.STORAGE.max_file_bytes if limit is None else limit, what
    )
    try:
        saved = storage.save(name, File(reader, name=name))  # type: ignore[arg-type]
    except BaseException:
        discard(name)  # a partial file (the name is new: nothing else can be there)
        raise
    digest = base64.b64encode(reader.digest.digest()).decode()
    return Written(name=saved, sha256=digest, size=reader.size)


def discard(name: str) -> None:
    """Delete the file ``name`` if it is there; a failure to delete is not raised."""
    try:
        backend().delete(name)
    except Exception:  # already gone, or the storage refused: nothing more to do
        pass


def read_all(name: str) -> bytes | None:
    """The whole file, or None if the storage no longer has it."""
    try:
        with backend().open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return bytes(data)


def opened(name: str, start: int, length: int) -> Generator[bytes]:
    """``length`` bytes of the file from ``start``, in pieces, from a file opened now (so a
    missing file raises `FileNotFoundError` here, before any byte is sent); the pieces are read
    as they are asked for, and the file is closed after the last one."""
    handle = backend().open(name, "rb")
    try:
        if start:
            handle.seek(start)
    except BaseException:
        handle.close()
        raise
    return _pieces(handle, length)


def _pieces(handle: Any, length: int) -> Generator[bytes]:
    piece = reactive_settings.STORAGE.chunk_bytes
    try:
        while length > 0:
            data = handle.read(min(piece, length))
            if not data:
                return
            length -= len(data)
            yield bytes(data)
    finally:
        handle.close()


def url(name: str) -> str:
    """The storage's own URL of the file (e.g. a signed S3 URL)."""
    return backend().url(name)
