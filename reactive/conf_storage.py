"""The ``REACTIVE["STORAGE"]`` settings section (file storage): its defaults and typed view.

Kept apart from `conf` (which merges and checks it like every other section) so that each
module stays one screenful of settings. Documented in docs/settings.md and docs/storage.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STORAGE_DEFAULTS: dict[str, Any] = {
    "storage": "default",  # the alias in Django's STORAGES that holds the files' bytes
    "prefix": "reactive-storage/",  # names of the files in that storage start with this
    # The public origin of absolute URLs (generate_upload_url, get_url), e.g.
    # "https://api.example.com"; None: the origin of the request or socket making the call.
    "base_url": None,
    "upload_url_seconds": 3600.0,  # an upload URL expires this long after it was made
    "max_file_bytes": 20 * 1024 * 1024,  # largest file an upload URL or store() accepts
    # Serve get_url's URLs by redirecting to the storage's own URL (storage.url(name), e.g. a
    # signed S3 URL); None: redirect unless the storage is a FileSystemStorage.
    "redirect": None,
    "chunk_bytes": 256 * 1024,  # read and write files in pieces of this size
}


@dataclass(frozen=True)
class StorageSettings:
    storage: str
    prefix: str
    base_url: str | None
    upload_url_seconds: float
    max_file_bytes: int
    redirect: bool | None
    chunk_bytes: int
